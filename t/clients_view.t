# t/clients_view.t — the Client Portal Manager view (GET /clients/{id}) and the status
# logic behind it: declined_by_client {at, by, note} and its undo; invite; an email
# change supersedes a pending client invitation (not when only the case differs);
# "client declined" revokes one; portal_status in the order of docs/product.md (active,
# invited, declined_by_client, declined, expired, failed, revoked, not_invited), the
# same in the list as in the view; statement_notifications round trip.
# Uses clients 27 and 28 (clin1's).
use strict;
use warnings;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use Test::More;
use JSON::PP ();
use Time::HiRes qw(sleep);
use PortalTest;
use PortalTest::Clients;

my $RFC3339 = qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;

sub view {
    my ($id, $name) = @_;
    return json_ok(staff(GET => "/clients/$id", user => 'clin1'), 200, $name);
}

# the status in the view and in the list row agree, and are $want
sub status_is {
    my ($id, $want, $name) = @_;
    my $v = view($id, "$name: view");
    is($v->{portal_status}, $want, "$name: portal_status $want");
    my $c = client_row($id);
    my $list = decode_json_body(list_clients('clin1', q => $c->{last_name}, limit => 100));
    my ($row) = grep { $_->{id} == $id } @{ $list->{clients} || [] };
    is($row && $row->{portal_status}, $want, "$name: the list says $want too");
    return $v;
}

sub epoch_of {
    my $t = shift // '';
    my ($Y, $M, $D, $h, $m, $s) = $t =~ /^(\d+)-(\d+)-(\d+)T(\d+):(\d+):(\d+)Z$/ or return 0;
    require Time::Local;
    return Time::Local::timegm($s, $m, $h, $D, $M - 1, $Y);
}

sub set_db {
    my ($sql, @bind) = @_;
    my $dbh = db();
    $dbh->do($sql, undef, @bind);
    $dbh->disconnect;
}

# --- the view's shape ----------------------------------------------------------------------------
{
    my $v = view(27, 'client 27');
    is_deeply([sort keys %$v],
              [qw(accounts active date_of_birth declined_by_client email external_id first_name id invitations last_name
                  minor portal_status preferred_language representatives statement_notifications
                  turns_18_on)], 'view: its fields');
    is_deeply({ map { $_ => $v->{$_} } qw(id first_name last_name date_of_birth email) },
              { id => 27, first_name => 'Pat', last_name => 'Status', date_of_birth => '1980-02-07',
                email => 'pat.status@example.test' }, 'view: identity and email');
    ok(exists $v->{declined_by_client} && !defined $v->{declined_by_client}, 'view: declined_by_client null');
    ok(JSON::PP::is_bool($v->{statement_notifications}) && $v->{statement_notifications},
       'view: statement_notifications true (JSON boolean)');
    is_deeply($v->{invitations}, [], 'view: no invitations');
    is_deeply($v->{representatives}, [], 'view: no representatives');
    is($v->{portal_status}, 'not_invited', 'view: not_invited');
    my $nomail = json_ok(staff(GET => '/clients/2', user => 'clin1'), 200, 'client 2');
    ok(exists $nomail->{email} && !defined $nomail->{email}, 'a client without email: email null');
}

# --- client declined, and its undo ------------------------------------------------------------------
{
    my $t0 = time;
    my $v = json_ok(staff(POST => '/clients/27/declined', user => 'clin1', json => { note => 'Prefers paper statements' }),
                    200, 'POST declined');
    my $d = $v->{declined_by_client};
    is_deeply([sort keys %{ $d || {} }], [qw(at by by_name note)], 'declined_by_client: at, by, by_name, note');
    is($d->{by_name}, 'Casey Clinician', 'declined_by_client.by_name: the colleague\'s display name');
    like($d->{at}, $RFC3339, 'declined_by_client.at: RFC 3339 UTC');
    cmp_ok(abs(epoch_of($d->{at}) - $t0), '<', 60, 'declined_by_client.at: now');
    is($d->{by}, 'clin1', 'declined_by_client.by: who pressed it');
    is($d->{note}, 'Prefers paper statements', 'declined_by_client.note');
    is($v->{portal_status}, 'declined_by_client', 'POST declined: answers the new status');
    my $c = client_row(27);
    cmp_ok(abs($c->{declined_at} - $t0), '<', 60, 'db: declined_at is now (Unix seconds)');
    is($c->{declined_by}, 'clin1', 'db: declined_by');
    status_is(27, 'declined_by_client', 'declined');

    error_ok(staff(POST => '/clients/27/invitations', user => 'clin1'), 409, 'client_declined', 'invite while declined');
    is(scalar @{ invitation_rows(27) }, 0, 'invite while declined: no invitation');

    $v = json_ok(staff(POST => '/clients/27/declined', user => 'admin'), 200, 'POST declined again, by admin, no note');
    is($v->{declined_by_client}{by}, 'admin', 'declined again: by admin');
    ok(!defined $v->{declined_by_client}{note}, 'declined again: no note');

    $v = json_ok(staff(DELETE => '/clients/27/declined', user => 'clin1'), 200, 'DELETE declined');
    ok(exists $v->{declined_by_client} && !defined $v->{declined_by_client}, 'undo: declined_by_client null');
    $c = client_row(27);
    ok(!defined $c->{declined_at} && !defined $c->{declined_by} && !defined $c->{declined_note}, 'undo: db cleared');
    status_is(27, 'not_invited', 'undone');
    json_ok(staff(DELETE => '/clients/27/declined', user => 'clin1'), 200, 'DELETE declined when not declined');
}

# --- invite; "client declined" revokes the pending invitation --------------------------------------
my $first;
{
    my $inv = json_ok(staff(POST => '/clients/27/invitations', user => 'clin1'), 201, 'invite');
    is($inv->{status}, 'pending', 'invite: pending');
    is($inv->{email}, 'pat.status@example.test', 'invite: to the client\'s email');
    ok(exists $inv->{representative_id} && !defined $inv->{representative_id}, 'invite: to the client');
    is($inv->{created_by}, 'clin1', 'invite: created_by');
    is($inv->{created_by_name}, 'Casey Clinician', 'invite: created_by_name, the display name');
    like($inv->{expires_at}, $RFC3339, 'invite: expires_at');
    $first = $inv->{id};
    my $v = status_is(27, 'invited', 'invited');
    is($v->{invitations}[0]{id}, $first, 'view: the invitation is listed');
    error_ok(staff(POST => '/clients/27/invitations', user => 'clin1'), 409, 'invitation_pending', 'invite twice');

    my $mark = audit_mark();
    $v = json_ok(staff(POST => '/clients/27/declined', user => 'clin1', json => { note => 'Called to say no' }),
                 200, 'declined while invited');
    is($v->{invitations}[0]{status}, 'revoked', 'declined while invited: the invitation is revoked');
    is(invitation_rows(27)->[0]{status}, 'revoked', 'db: invitation revoked');
    is($v->{portal_status}, 'declined_by_client', 'declined while invited: declined_by_client');
    my ($row) = grep { $_->{action} eq 'client.declined' } audit_since($mark);
    is_deeply(JSON::PP->new->decode($row->{detail} // '{}'), { has_note => JSON::PP::true(), revoked_invitations => 1, disabled_accounts => 0 },
              'audit detail: one invitation revoked');
    json_ok(staff(DELETE => '/clients/27/declined', user => 'clin1'), 200, 'undo');
    status_is(27, 'revoked', 'undone after the revoke: the latest invitation was revoked');
}

# --- an email change supersedes the pending invitation ---------------------------------------------
{
    my $inv = json_ok(staff(POST => '/clients/27/invitations', user => 'clin1'), 201, 'invite again');
    my $second = $inv->{id};
    cmp_ok($second, '>', $first, 'a new invitation');
    my $v = status_is(27, 'invited', 'invited again');
    is_deeply([map { $_->{id} } @{ $v->{invitations} }], [$second, $first], 'invitations: newest first');

    # the same address, other case: not a change of recipient
    $v = json_ok(staff(PUT => '/clients/27/email', user => 'clin1', json => { email => 'Pat.Status@Example.TEST' }),
                 200, 'email: only the case changes');
    is($v->{email}, 'Pat.Status@Example.TEST', 'email stored as typed');
    is($v->{invitations}[0]{status}, 'pending', 'case change: the invitation stays pending');
    is(invitation_rows(27)->[1]{status}, 'pending', 'db: still pending');

    my $mark = audit_mark();
    $v = json_ok(staff(PUT => '/clients/27/email', user => 'clin1', json => { email => 'pat.new@example.test' }),
                 200, 'email change');
    is($v->{email}, 'pat.new@example.test', 'email change: the new address');
    is($v->{invitations}[0]{id}, $second, 'email change: same invitation list');
    is($v->{invitations}[0]{status}, 'address_changed', 'email change: the pending invitation ended by the address change');
    my %db = map { $_->{id} => $_ } @{ invitation_rows(27) };
    is($db{$second}{status}, 'superseded', 'db: invitation superseded');
    is($db{$first}{status}, 'revoked', 'db: the older one untouched');
    is($db{$second}{email}, 'pat.status@example.test', 'db: the superseded invitation keeps its address');
    my ($row) = grep { $_->{action} eq 'client.email_change' } audit_since($mark);
    is_deeply(JSON::PP->new->decode($row->{detail} // '{}'), { superseded_invitations => 1 },
              'audit detail: one invitation superseded');
    status_is(27, 'address_changed', 'after the email change (not "not invited")');

    $inv = json_ok(staff(POST => '/clients/27/invitations', user => 'clin1'), 201, 'invite to the new address');
    is($inv->{email}, 'pat.new@example.test', 'the new invitation goes to the new address');
    $v = status_is(27, 'invited', 'invited at the new address');
    is_deeply([map { $_->{status} } @{ $v->{invitations} }], [qw(pending address_changed revoked)],
              'invitations: newest first, each with its status');
}

# --- statement_notifications round trip -------------------------------------------------------------
for my $value (JSON::PP::false(), JSON::PP::false(), JSON::PP::true(), JSON::PP::false()) {
    my $name = 'statement_notifications ' . ($value ? 'true' : 'false');
    my $v = json_ok(staff(PUT => '/clients/28/preferences', user => 'clin1', json => { statement_notifications => $value }),
                    200, $name);
    ok(JSON::PP::is_bool($v->{statement_notifications}) && !!$v->{statement_notifications} == !!$value,
       "$name: answered");
    is(client_row(28)->{statement_notifications}, $value ? 1 : 0, "$name: stored");
    my $again = view(28, "$name: read back");
    is(!!$again->{statement_notifications}, !!$value, "$name: read back");
}

# --- the rest of the status order, arranged in the database ---------------------------------------
{
    my $inv = json_ok(staff(POST => '/clients/28/invitations', user => 'clin1'), 201, 'client 28: invite');
    my $id = $inv->{id};
    status_is(28, 'invited', 'client 28');

    # delivery failed (wait for the worker to finish with it first)
    my $deadline = time + 15;
    my $out;
    while (time < $deadline) {
        my $dbh = db();
        ($out) = $dbh->selectrow_array('SELECT status FROM outbox WHERE invitation_id = ? ORDER BY id DESC', undef, $id);
        $dbh->disconnect;
        last if defined $out && $out ne 'queued';
        sleep 0.1;
    }
    is($out, 'sent', 'client 28: the worker sent the invitation');
    # delivery delayed: the card can say why and when the next try is
    my $next = time + 600;
    set_db("UPDATE outbox SET status = 'queued', last_error = '451 4.7.1 greylisted', next_attempt_at = ? "
           . "WHERE invitation_id = ?", $next, $id);
    my $d = view(28, 'delivery delayed')->{invitations}[0];
    is($d->{delivery}, 'queued', 'delivery delayed: still queued');
    is($d->{delivery_error}, '451 4.7.1 greylisted', 'delivery delayed: the server\'s reason');
    is(epoch_of($d->{next_attempt_at}), $next, 'delivery delayed: next_attempt_at');
    set_db("UPDATE outbox SET status = 'failed', last_error = 'test' WHERE invitation_id = ?", $id);
    my $v = status_is(28, 'failed', 'delivery failed');
    is($v->{invitations}[0]{delivery}, 'failed', 'delivery failed: the invitation says so');
    ok(!defined $v->{invitations}[0]{next_attempt_at}, 'delivery failed: no next try');
    set_db("UPDATE outbox SET status = 'sent', last_error = NULL WHERE invitation_id = ?", $id);

    # expired: pending, but past expires_at
    set_db('UPDATE invitations SET expires_at = ? WHERE id = ?', time - 10, $id);
    $v = status_is(28, 'expired', 'past expires_at');
    is($v->{invitations}[0]{status}, 'expired', 'expired: the invitation says so');
    # expired comes before revoked/not_invited, after declined
    set_db("UPDATE invitations SET status = 'declined', responded_at = ? WHERE id = ?", time, $id);
    $v = status_is(28, 'declined', 'the recipient declined');
    is($v->{invitations}[0]{status}, 'declined', 'declined: the invitation says so');
    json_ok(staff(POST => '/clients/28/declined', user => 'clin1'), 200, 'client 28: client declined too');
    status_is(28, 'declined_by_client', 'declined by client beats declined by recipient');
    json_ok(staff(DELETE => '/clients/28/declined', user => 'clin1'), 200, 'client 28: undo');
    status_is(28, 'declined', 'back to declined');

    # an active account beats everything
    set_db("INSERT INTO portal_accounts (username, password_hash, client_id, representative_id, status, created_at) "
           . "VALUES ('pat.status2', '\$2y\$05\$abcdefghijklmnopqrstuuQ3mYyBxwlKsNyUXl0wBcq9mJ5dR1y9W', 28, NULL, 'active', ?)", time);
    status_is(28, 'active', 'an active account');
    my $active = sub { my $d = db(); my ($n) = $d->selectrow_array(
        "SELECT count(*) FROM portal_accounts WHERE client_id = 28 AND status = 'active'"); $d->disconnect; $n };
    error_ok(staff(POST => '/clients/28/declined', user => 'clin1', json => { note => 'No portal' }),
             409, 'account_active', 'client declined with an active account: refused');
    ok(!defined client_row(28)->{declined_at}, 'refused: the client is not marked declined');
    is($active->(), 1, 'refused: the account stays active');
    error_ok(staff(POST => '/clients/28/declined', user => 'clin1', json => { disable_account => JSON::PP::false() }),
             409, 'account_active', 'disable_account false: refused');
    error_ok(staff(POST => '/clients/28/declined', user => 'clin1', json => { disable_account => 'yes' }),
             422, 'invalid_disable_account', 'disable_account must be a boolean');
    error_ok(staff(POST => '/clients/28/invitations', user => 'clin1'), 409, 'already_active', 'invite with an account');
    my $mark = audit_mark();
    $v = json_ok(staff(POST => '/clients/28/declined', user => 'clin1',
                          json => { note => 'Closed the portal', disable_account => JSON::PP::true() }),
                    200, 'client declined, disabling the account');
    is($active->(), 0, 'db: the account is disabled');
    ok(defined client_row(28)->{declined_at}, 'db: the client is marked declined');
    is($v->{portal_status}, 'declined_by_client', 'answers declined_by_client');
    my ($row) = grep { $_->{action} eq 'client.declined' } audit_since($mark);
    is_deeply(JSON::PP->new->decode($row->{detail} // '{}'),
              { has_note => JSON::PP::true(), revoked_invitations => 0, disabled_accounts => 1 },
              'audit detail: one account disabled');
    json_ok(staff(DELETE => '/clients/28/declined', user => 'clin1'), 200, 'client 28: undo');
    status_is(28, 'declined', 'a disabled account does not count');
    json_ok(staff(POST => '/clients/28/declined', user => 'clin1', json => { disable_account => JSON::PP::true() }),
            200, 'disable_account without an account: fine');
    json_ok(staff(DELETE => '/clients/28/declined', user => 'clin1'), 200, 'client 28: undo again');
}

done_testing();
