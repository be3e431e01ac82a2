# t/clients_permissions.t — who may see and change which client (issue 3):
# two clinicians with different caseloads (clin1, clin2) and an all-clients user (admin),
# every client route × own / foreign / missing client id. A client the user may not see
# answers exactly like a missing one (404), writes an audit row with result "denied" and
# changes nothing else in the database. Inactive and unknown staff get 403 everywhere.
# State-changing cases use clients 21 (clin1's), 22 (clin2's) and 23 (admin only).
use strict;
use warnings;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use Test::More;
use JSON::PP ();
use PortalTest;
use PortalTest::Clients;

# provoked on purpose: /noauth/api: the staff handler without authentication
expect_log_ids(qw(PM00031));

my $MISSING = 99999;

# route => [method, path template, body (or undef), action in the audit log, success status]
my @ROUTES = (
    [GET    => '/clients/%d',             undef,                               'client.view',             200],
    [GET    => '/clients/%d/audit',       undef,                               'client.audit_view',       200],
    [GET    => '/clients/%d/emails',      undef,                               'client.emails_view',      200],
    [PUT    => '/clients/%d/email',       { email => 'perm-%s@example.test' }, 'client.email_change',     200],
    [POST   => '/clients/%d/declined',    { note => 'declined, asked by %s' }, 'client.declined',         200],
    [DELETE => '/clients/%d/declined',    undef,                               'client.declined_cleared', 200],
    [PUT    => '/clients/%d/preferences', { statement_notifications => JSON::PP::false() }, 'client.preferences', 200],
    [POST   => '/clients/%d/invitations', undef,                               'invitation.create',       201],
);

my %CASES = (
    clin1 => { own => [21, 1, 3],    foreign => [22, 6, 23, 9] },
    clin2 => { own => [22, 6],       foreign => [21, 1, 23, 10] },
    admin => { own => [21, 22, 23, 9], foreign => [] },
);

sub body_for {
    my ($body, $user) = @_;
    return undef unless $body;
    my %b = %$body;
    for (values %b) { $_ = sprintf($_, $user) unless ref }
    return \%b;
}

sub request {
    my ($route, $id, $user) = @_;
    my ($method, $tmpl, $body) = @$route;
    my $b = body_for($body, $user);
    return staff($method => sprintf($tmpl, $id), user => $user, ($b ? (json => $b) : ()));
}

# --- the list: exactly the caseload --------------------------------------------------------
for my $user (qw(clin1 clin2 admin)) {
    my @want = expected_ids($user);
    my $data = whole_list($user);
    my @got = map { $_->{id} } @{ $data->{clients} || [] };
    is_deeply(\@got, \@want, "$user: the list is exactly the caseload, in order")
        or diag explain { got => \@got, want => \@want };
}
{
    my %clin1 = map { $_ => 1 } visible_client_ids('clin1');
    my %clin2 = map { $_ => 1 } visible_client_ids('clin2');
    ok(!grep({ $clin2{$_} } keys %clin1), 'seed: clin1 and clin2 share no client');
    ok($clin1{21} && $clin2{22} && !$clin1{23} && !$clin2{23}, 'seed: 21 is clin1\'s, 22 clin2\'s, 23 nobody\'s');
    is(scalar(visible_client_ids('admin')), scalar(keys %{ client_rows() }), 'seed: admin sees every client');

    # a search never reaches past the caseload: Émile Zola is clin2's
    my $data = json_ok(list_clients('clin1', q => 'zola'), 200, 'clin1 searches zola');
    is_deeply($data->{clients}, [], 'clin1: a foreign client is not found by name');
    $data = json_ok(list_clients('clin2', q => 'zola'), 200, 'clin2 searches zola');
    is_deeply([map { $_->{id} } @{ $data->{clients} }], [6], 'clin2: finds their own Zola');
}

# --- own clients: every route answers -----------------------------------------------------
for my $user (qw(clin1 clin2 admin)) {
    for my $id (@{ $CASES{$user}{own} }) {
        for my $route (@ROUTES) {
            my ($method, $tmpl, undef, $action, $status) = @$route;
            my $name = "$user $method " . sprintf($tmpl, $id) . ' (visible)';
            # change-routes only on the per-test clients; 1, 3, 6, 9 are read-only here
            next if $method ne 'GET' && $id < 21;
            my $mark = audit_mark();
            my $res = request($route, $id, $user);
            my $data = json_ok($res, $status, $name);
            if ($action eq 'invitation.create') {
                is($data->{status}, 'pending', "$name: a pending invitation");
                # one pending invitation per client: a second invite reaches the client too
                error_ok(request($route, $id, $user), 409, 'invitation_pending', "$name again");
            }
            elsif ($tmpl =~ m{/(audit|emails)$}) {
                ok(ref $data->{entries} eq 'ARRAY', "$name: $1 entries");
            }
            else {
                is($data->{id}, $id, "$name: the client's view");
            }
            my @rows = grep { $_->{action} eq $action } audit_since($mark);
            audit_row_ok(\@rows, $res, { action => $action, username => $user, client_id => $id,
                                         result => 'ok' }, $name);
        }
    }
}
{
    my $c = client_row(21);
    is($c->{email}, 'perm-admin@example.test', 'client 21: the last email change (admin\'s) stuck');
    ok(!defined $c->{declined_at}, 'client 21: declined, then cleared');
    is($c->{statement_notifications}, 0, 'client 21: preference changed');
}

# --- foreign and missing clients: 404, audited, nothing changed -----------------------------
my $missing_body;
for my $user (qw(clin1 clin2)) {
    for my $id (@{ $CASES{$user}{foreign} }, $MISSING) {
        my $kind = $id == $MISSING ? 'missing' : 'foreign';
        for my $route (@ROUTES) {
            my ($method, $tmpl, undef, $action) = @$route;
            my $name = "$user $method " . sprintf($tmpl, $id) . " ($kind)";
            my $before = snapshot();
            my $mark = audit_mark();
            my $res = request($route, $id, $user);
            my $err = error_ok($res, 404, 'not_found', $name);
            is($err->{request_id}, $res->header('X-Request-Id'), "$name: request_id = X-Request-Id");
            unchanged_ok($before, $name);
            audit_row_ok([audit_since($mark)], $res, { action => $action, username => $user,
                         client_id => $id, result => 'denied', detail => undef }, $name);
            # the same answer as for a client that does not exist (but for the request id)
            my %e = %{ $err->{error} || {} };
            $missing_body->{"$method $tmpl"} //= \%e;
            is_deeply(\%e, $missing_body->{"$method $tmpl"}, "$name: reads like any other 404");
            unlike($res->content, qr/Matrix|Zola|Chen|Miller|Anderson|example\.test/i,
                   "$name: no client data in the answer");
        }
    }
}
for my $route (@ROUTES) {
    my ($method, $tmpl) = @$route;
    my $res = request($route, $MISSING, 'admin');
    error_ok($res, 404, 'not_found', "admin $method " . sprintf($tmpl, $MISSING) . ' (missing)');
}

# ids the routes do not take: not found, for everyone
for my $path ('/clients/0', '/clients/abc', '/clients/-1', '/clients/1.0', '/clients/01',
              '/clients/1234567890123456') {
    error_ok(staff(GET => $path, user => 'admin'), 404, 'not_found', "GET $path");
}

# --- invitations of a foreign client: resend and revoke are refused the same way -------------
{
    my $dbh = db();
    my ($inv) = $dbh->selectrow_array(
        "SELECT id FROM invitations WHERE client_id = 21 AND status = 'pending'");
    $dbh->disconnect;
    ok($inv, 'clin1 invited client 21') or diag 'no pending invitation on client 21';
    for my $what (qw(resend revoke)) {
        my $before = snapshot();
        my $mark = audit_mark();
        my $res = staff(POST => "/invitations/$inv/$what", user => 'clin2');
        error_ok($res, 404, 'not_found', "clin2 POST /invitations/{clin1's}/$what");
        unchanged_ok($before, "clin2 $what of a foreign invitation");
        audit_row_ok([audit_since($mark)], $res, { action => "invitation.$what", username => 'clin2',
                     object_id => $inv, result => 'denied' }, "clin2 $what of a foreign invitation");
    }
}

# --- inactive and unknown staff: 403 on every route, nothing changed ------------------------
for my $user (qw(inactive nobody_staff)) {
    for my $id (1, 21) {    # 1 is in inactive's staff_clients
        for my $route (@ROUTES) {
            my ($method, $tmpl) = @$route;
            my $name = "$user $method " . sprintf($tmpl, $id);
            my $before = snapshot();
            my $res = request($route, $id, $user);
            error_ok($res, 403, 'not_staff', $name);
            unchanged_ok($before, $name);
        }
    }
    error_ok(staff(GET => '/clients', user => $user), 403, 'not_staff', "$user GET /clients");
    my $res = list_clients($user, q => 'a');
    error_ok($res, 403, 'not_staff', "$user POST /clients/search");
    unlike($res->content, qr/Anderson/, "$user: no client in the answer");
}
{
    my $res = staff(GET => '/clients/1', user => undef);
    error_ok($res, 401, 'not_authenticated', 'no credentials: 401, in the JSON envelope');
    like($res->header('WWW-Authenticate') // '', qr/^Basic /, 'no credentials: the Basic prompt stays');
    unlike($res->content // '', qr/Anderson/, 'no credentials: no client data');
    error_ok(staff(GET => '/clients/1', user => 'clin1', password => 'not-the-password'), 401,
             'not_authenticated', 'a wrong password: 401, in the JSON envelope');
    $res = staff(HEAD => '/clients/1', user => undef);
    is($res->code, 401, 'HEAD without credentials: 401');
    is($res->content // '', '', 'HEAD without credentials: no body');
    $res = http_request(GET => '/noauth/api/clients/1');
    ok($res->code == 401 || $res->code == 403, 'Location without auth: 401 or 403')
        or diag $res->status_line;
    unlike($res->content // '', qr/Anderson/, 'Location without auth: no client data');
}

done_testing();
