# t/accounts.t — portal accounts in the staff API (issue 14, first part): the client
# view's `accounts`, POST /accounts/{id}/disable and /enable (audited, CSRF, 404 for an
# account of a client the user may not view, 409 for the wrong state and for a person
# who may not have an account now: representative removed, client declined or
# discharged, another active account), and the client portal's login through stock
# mod_authn_dbd with the sample config's query: a disabled account is refused at once,
# a re-enabled one admitted, and JSmith / jsmith / JSMITH are one user (the query
# matches lower(username) and uses the unique index portal_accounts_username).
use strict;
use warnings;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use Test::More;
use JSON::PP ();
use PortalTest;
use PortalTest::Invite;

my $RFC3339 = qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;
my $JSON = JSON::PP->new->utf8->canonical;

my $client = new_client(prefix => 'acct', first_name => 'Jordan', date_of_birth => '1984-06-02',
                        visible_to => ['clin1']);
my $cid = $client->{id};
my $user = "JSmith.$$";                 # as typed; the login below tries other cases
my $password = 'correct horse staple';
my $rep_email = unique_email('acct-rep');

sub view { json_ok(staff(GET => "/clients/$cid", user => 'clin1'), 200, $_[0]) }
sub account_in {
    my ($v, $id) = @_;
    my ($a) = grep { $_->{id} == $id } @{ $v->{accounts} || [] };
    return $a;
}
sub account_row {
    my $id = shift;
    my $dbh = tdb();
    return $dbh->selectrow_hashref('SELECT * FROM portal_accounts WHERE id = ?', undef, $id);
}
sub post_account {
    my ($id, $what, %opt) = @_;
    $opt{user} //= 'clin1';
    return staff(POST => "/accounts/$id/$what", %opt);
}
sub last_audit {
    my ($action) = @_;
    my @rows = audit_rows(client_id => $cid, action => $action);
    return $rows[-1];
}

# --- no account yet; the client accepts an invitation ----------------------------------------
{
    my $v = view('view before any account');
    is_deeply($v->{accounts}, [], 'accounts: empty before anyone accepted');
}
json_ok(staff(POST => "/clients/$cid/invitations", user => 'clin1'), 201, 'invite the client');
my $token = next_token($client->{email});
json_ok(rcpt(accept => { token => $token, date_of_birth => $client->{date_of_birth},
                         username => $user, password => $password }), 201, "accept as $user");

my $v = view('view with an account');
is(scalar @{ $v->{accounts} }, 1, 'one account');
my $acct = $v->{accounts}[0];
my $aid = $acct->{id};
is_deeply([sort keys %$acct],
          [qw(access_ended access_here created_at disabled_at disabled_by disabled_reason grant_id id
              kind other_clients representative_id reset_expires_at review review_due status
              username)], 'account: its fields');
is($acct->{access_here}, 'active', 'account: reaches this client');
is($acct->{other_clients}, 0, 'account: and no other');
is($acct->{username}, $user, 'username kept as typed');
is($acct->{kind}, 'client', 'kind client');
ok(!defined $acct->{representative_id}, 'representative_id null');
is($acct->{status}, 'active', 'status active');
like($acct->{created_at} // '', $RFC3339, 'created_at RFC 3339');
ok(!defined $acct->{disabled_at} && !defined $acct->{disabled_by}, 'not disabled');
unlike(staff(GET => "/clients/$cid", user => 'clin1')->content, qr/password|\$2y\$/,
       'the view carries no password hash');

# --- usernames without regard to case ---------------------------------------------------------
isnt(login_code($user, $password), 401, 'login as typed');
isnt(login_code(lc $user, $password), 401, 'login in lower case: the same user');
isnt(login_code(uc $user, $password), 401, 'login in upper case: the same user');
is(login_code(lc $user, 'not the password'), 401, 'wrong password: 401');
{
    my $other = new_client(prefix => 'acct2', visible_to => ['clin1']);
    json_ok(staff(POST => "/clients/$other->{id}/invitations", user => 'clin1'), 201,
            'invite a second client');
    my $t2 = next_token($other->{email});
    error_ok(rcpt(accept => { token => $t2, date_of_birth => $other->{date_of_birth},
                              username => lc $user, password => 'another long password' }),
             409, 'username_taken', 'the same username in lower case is taken');
    my ($n) = tdb()->selectrow_array('SELECT count(*) FROM portal_accounts WHERE lower(username) = ?',
                                     undef, lc $user);
    is($n, 1, 'one account for JSmith/jsmith');
}

# the sample config's login query uses the unique index on lower(username)
{
    my $conf = PortalTest::Env::slurp(PortalTest::Env::top_dir() . '/conf/httpd-portal.conf.in');
    my ($query) = $conf =~ /AuthDBDUserPWQuery\s+"([^"]+)"/;
    ok($query, 'the sample has an AuthDBDUserPWQuery') or diag($conf);
    (my $sql = $query // '') =~ s/%s/?/g;
    my $dbh = tdb();
    my $plan;
    if (db_driver() eq 'sqlite3') {
        $plan = join "\n", map { $_->[-1] }
            @{ $dbh->selectall_arrayref("EXPLAIN QUERY PLAN $sql", undef, lc $user) };
    }
    else {
        $dbh->begin_work;
        $dbh->do('SET LOCAL enable_seqscan = off');
        $plan = join "\n", map { $_->[0] } @{ $dbh->selectall_arrayref("EXPLAIN $sql", undef, lc $user) };
        $dbh->rollback;
    }
    like($plan, qr/portal_accounts_username/, 'the login query uses portal_accounts_username')
        or diag($plan);
    my ($hash) = $dbh->selectrow_array($sql, undef, uc $user);
    like($hash // '', qr/^\$2y\$/, 'the login query finds JSMITH');
}

# --- disable ------------------------------------------------------------------------------------
{
    my $reason = 'Client asked to close the portal';
    my $res = post_account($aid, 'disable', json => { reason => $reason });
    my $after = json_ok($res, 200, 'disable');
    is($after->{id}, $cid, 'disable answers with the client view');
    my $a = account_in($after, $aid);
    is($a->{status}, 'disabled', 'status disabled');
    is($a->{disabled_by}, 'Casey Clinician', "disabled_by: the colleague's display name");
    like($a->{disabled_at} // '', $RFC3339, 'disabled_at RFC 3339');
    is($a->{disabled_reason}, $reason, 'the reason is kept');
    is(account_row($aid)->{disabled_client_id}, $cid, 'disabled_client_id: the card it was typed on');
    # a login disabled before migration 034 (disabled_client_id NULL) that never reached
    # another client: its reason still shows on its client's card
    eval { tdb()->do('UPDATE portal_accounts SET disabled_client_id = NULL WHERE id = ?', undef, $aid) };
    is(account_in(json_ok(staff(GET => "/clients/$cid", user => 'clin1'), 200, 'the card again'),
                  $aid)->{disabled_reason}, $reason, 'disabled before 034, one client only: the reason shows');
    is($after->{portal_status}, 'account_disabled', 'portal_status: the account is turned off '
       . '(not "not invited")');
    is(login_code($user, $password), 401, 'disabled: the portal login is refused at once');
    is(login_code(lc $user, $password), 401, 'disabled: in lower case too');
    my $row = last_audit('account.disable');
    ok($row, 'audited account.disable');
    is($row->{username}, 'clin1', 'audit: who');
    is($row->{object_id}, $aid, 'audit: the account');
    is($row->{result}, 'ok', 'audit: ok');
    is_deeply($JSON->decode($row->{detail} // '{}'),
              { has_reason => JSON::PP::true(), kind => 'client' }, 'audit detail: no reason text');

    my $before = account_row($aid);
    error_ok(post_account($aid, 'disable', json => { reason => 'again' }), 409, 'already_disabled',
             'disable a disabled account');
    is_deeply(account_row($aid), $before, 'already disabled: nothing changed');
}

# --- enable ------------------------------------------------------------------------------------
{
    my $after = json_ok(post_account($aid, 'enable'), 200, 'enable');
    my $a = account_in($after, $aid);
    is($a->{status}, 'active', 'status active again');
    ok(!defined $a->{disabled_at} && !defined $a->{disabled_by} && !defined $a->{disabled_reason},
       'enabled: the disabled fields are cleared');
    is($after->{portal_status}, 'active', 'portal_status active');
    isnt(login_code($user, $password), 401, 're-enabled: the portal login is admitted');
    my $row = last_audit('account.enable');
    ok($row && $row->{object_id} == $aid && $row->{result} eq 'ok', 'audited account.enable');
    my $before = account_row($aid);
    error_ok(post_account($aid, 'enable'), 409, 'already_enabled', 'enable an active account');
    is_deeply(account_row($aid), $before, 'already active: nothing changed');
}

# --- who may, and bad input ------------------------------------------------------------------------
{
    my $before = account_row($aid);
    error_ok(post_account($aid, 'disable', user => 'clin2'), 404, 'not_found',
             'disable an account of a client clin2 may not view');
    error_ok(post_account($aid, 'enable', user => 'clin2'), 404, 'not_found', 'enable: the same');
    my @denied = grep { $_->{username} eq 'clin2' && $_->{result} eq 'denied' && $_->{object_id} == $aid }
                 audit_rows(action => 'account.disable');
    ok(scalar @denied, 'the refusal is audited as denied');
    error_ok(post_account(999999999, 'disable'), 404, 'not_found', 'an account that does not exist');
    error_ok(post_account($aid, 'disable', csrf => 0), 403, 'csrf', 'no X-Requested-With');
    error_ok(post_account($aid, 'disable', headers => { 'Sec-Fetch-Site' => 'cross-site' }), 403,
             'csrf', 'a cross-site request');
    error_ok(post_account($aid, 'disable', json => { reason => 42 }), 422, 'invalid_reason',
             'reason not text');
    error_ok(post_account($aid, 'disable', json => { reason => 'x' x 501 }), 422, 'invalid_reason',
             'reason over 500 characters');
    error_ok(post_account($aid, 'disable', json => { note => 'x' }), 400, 'unknown_field',
             'an unknown field');
    error_ok(post_account($aid, 'enable', json => { reason => 'x' }), 400, 'unknown_field',
             'enable takes no fields');
    error_ok(post_account($aid, 'disable', json => '{"reason":'), 400, 'invalid_json', 'bad JSON');
    error_ok(staff(GET => "/accounts/$aid/disable", user => 'clin1'), 405, 'method_not_allowed',
             'GET is not allowed');
    is_deeply(account_row($aid), $before, 'none of these changed the account');
    isnt(login_code($user, $password), 401, 'and the login still works');
}

# --- a representative's account; removing the representative disables it for good ---------------
{
    my $created = json_ok(staff(POST => "/clients/$cid/representatives", user => 'clin1',
                                json => { email => $rep_email, first_name => 'Robin',
                                          last_name => 'Acctrep', relationship => 'parent' }),
                          201, 'invite a representative');
    my $rep_id = $created->{representative}{id};
    my $rt = next_token($rep_email);
    json_ok(rcpt(accept => { token => $rt, date_of_birth => $client->{date_of_birth},
                             username => "robin.rep.$$", password => 'robin long password' }),
            201, 'the representative accepts');
    my ($ra) = grep { ($_->{kind} // '') eq 'representative' } @{ view('view with two accounts')->{accounts} };
    ok($ra, 'the representative account is listed');
    is($ra->{representative_id}, $rep_id, 'representative_id');
    is($ra->{status}, 'active', 'active');

    json_ok(staff(DELETE => "/representatives/$rep_id", user => 'clin1'), 200, 'remove the representative');
    my $gone = account_in(view('view after the removal'), $ra->{id});
    is($gone->{status}, 'disabled', 'removal disabled the account');
    is($gone->{disabled_by}, 'Casey Clinician', 'removal: disabled_by recorded');
    like($gone->{disabled_at} // '', $RFC3339, 'removal: disabled_at recorded');
    error_ok(post_account($ra->{id}, 'enable'), 409, 'representative_removed',
             'enable the account of a removed representative');
    is(account_row($ra->{id})->{status}, 'disabled', 'it stays disabled');
    is(login_code("robin.rep.$$", 'robin long password'), 401, 'and cannot log in');
}

# --- client declined, discharged, another active account: enable refused ---------------------------
{
    json_ok(staff(POST => "/clients/$cid/declined", user => 'clin1',
                  json => { disable_account => JSON::PP::true() }), 200,
            'client declined, disabling the account');
    my $a = account_in(view('view after declined'), $aid);
    is($a->{status}, 'disabled', 'declined: the account is disabled');
    is($a->{disabled_by}, 'Casey Clinician', 'declined: disabled_by recorded');
    error_ok(post_account($aid, 'enable'), 409, 'client_declined', 'enable while the client declined');
    json_ok(staff(DELETE => "/clients/$cid/declined", user => 'clin1'), 200, 'undo client declined');

    tdb()->do('UPDATE clients SET active = 0 WHERE id = ?', undef, $cid);
    error_ok(post_account($aid, 'enable'), 409, 'client_discharged', 'enable for a discharged client');
    tdb()->do('UPDATE clients SET active = 1 WHERE id = ?', undef, $cid);

    tdb()->do("INSERT INTO portal_accounts (username, password_hash, client_id, status, created_at) "
              . "VALUES (?, ?, ?, 'active', ?)", undef, "second.$$",
              '$2y$05$abcdefghijklmnopqrstuuQ3mYyBxwlKsNyUXl0wBcq9mJ5dR1y9W', $cid, time);
    error_ok(post_account($aid, 'enable'), 409, 'already_active',
             'enable while the client has another active account');
    is(account_row($aid)->{status}, 'disabled', 'refusals: still disabled');
    tdb()->do("UPDATE portal_accounts SET status = 'disabled' WHERE username = ?", undef, "second.$$");
    json_ok(post_account($aid, 'enable'), 200, 'enable once nothing stands in the way');
    isnt(login_code($user, $password), 401, 'admitted again');
}

done_testing();
