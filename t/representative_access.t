# t/representative_access.t — what a representative may reach (issue 14): scopes
# (messages, billing, forms, appointments; only those whose module is on) and optional
# start and end days in the practice's time zone, on the representative and on its
# account's grant; editing changes the grant at once (audited before/after); the
# portal_grants view a client portal reads (active account, active grant, inside its
# dates). Bad input: a JSON error with a code, nothing changed.
use strict;
use warnings;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use Test::More;
use JSON::PP ();
use Time::Local qw(timegm);
use PortalTest;
use PortalTest::Invite;

my $A = new_client(prefix => 'access', first_name => 'Ada', visible_to => ['clin1']);
my $ALL = [qw(messages billing forms appointments)];

sub create_rep {
    my (%body) = @_;
    $body{email} //= unique_email('access-rep');
    $body{first_name} //= 'Remy';
    $body{last_name} //= 'Access';
    return staff(POST => "/clients/$A->{id}/representatives", user => 'clin1', json => \%body);
}
sub rep_row { tdb()->selectrow_hashref('SELECT * FROM representatives WHERE id = ?', undef, $_[0]) }
sub grant_of {
    tdb()->selectrow_hashref('SELECT g.* FROM account_grants g JOIN portal_accounts a '
                             . 'ON a.id = g.account_id WHERE a.username = ?', undef, $_[0]);
}
sub view_scopes {        # the portal_grants view: the scopes $user may use on client $cid now
    my ($user, $cid) = @_;
    my $rows = tdb()->selectcol_arrayref('SELECT scope FROM portal_grants WHERE username = ? '
                                         . 'AND client_id = ? ORDER BY scope', undef, $user, $cid);
    return join ' ', @$rows;
}
sub count_reps {
    (tdb()->selectrow_array('SELECT count(*) FROM representatives WHERE client_id = ?', undef,
                            $A->{id}))[0];
}
sub put_rep { staff(PUT => "/representatives/$_[0]", user => 'clin1', json => $_[1]) }
# the sample config's /portal/billing: stock mod_authn_dbd + mod_authz_dbd on portal_grants
sub billing_code {
    http_request(GET => '/portal/billing/', user => $_[0], password => $_[1])->code;
}

set_setting(time_zone => 'America/Chicago');
clear_setting('modules');

# --- defaults: every enabled scope, no dates ---------------------------------------------------
{
    my $d = json_ok(create_rep(), 201, 'create without scopes');
    is_deeply($d->{representative}{scopes}, $ALL, 'answer: every scope (every module is on)');
    ok(!defined $d->{representative}{starts_at} && !defined $d->{representative}{ends_at},
       'answer: no dates');
    my $row = rep_row($d->{representative}{id});
    is($row->{scopes}, 'messages billing forms appointments', 'row: every scope');
    ok(!defined $row->{access_starts_at} && !defined $row->{access_ends_at}, 'row: no dates');

    is_deeply(json_ok(staff(GET => '/me', user => 'clin1'), 200, 'GET /me')->{representative_scopes},
              $ALL, '/me: every scope may be given while every module is on');
    set_setting(modules => { messaging => JSON::PP::false, forms => JSON::PP::false });
    is_deeply(json_ok(staff(GET => '/me', user => 'clin1'), 200, 'GET /me')->{representative_scopes},
              [qw(billing appointments)], '/me: only the scopes whose module is on');
    $d = json_ok(create_rep(), 201, 'create with messaging and forms off');
    is_deeply($d->{representative}{scopes}, [qw(billing appointments)],
              'the default leaves out the scopes of modules that are off');
    my $before = count_reps();
    error_ok(create_rep(scopes => ['messages']), 422, 'invalid_scopes',
             'a scope whose module is off is refused');
    is(count_reps(), $before, 'nothing was created');
    clear_setting('modules');
}

# --- scopes and dates given; the days are the practice's (America/Chicago) -------------------------
my ($rep, $rep_email) = (undef, unique_email('access-dated'));
{
    my $d = json_ok(create_rep(email => $rep_email, scopes => [qw(forms messages)],
                               starts_at => '2026-01-01', ends_at => '2099-06-30'),
                    201, 'create with scopes and dates');
    $rep = $d->{representative}{id};
    is_deeply($d->{representative}{scopes}, [qw(messages forms)], 'scopes, in canonical order');
    is($d->{representative}{starts_at}, '2026-01-01', 'starts_at echoed');
    is($d->{representative}{ends_at}, '2099-06-30', 'ends_at echoed');
    my $row = rep_row($rep);
    is($row->{scopes}, 'messages forms', 'row: scopes');
    is($row->{access_starts_at}, timegm(0, 0, 6, 1, 0, 2026), 'row: starts at Chicago midnight (06:00 UTC)');
    is($row->{access_ends_at}, timegm(0, 0, 5, 1, 6, 2099),
       'row: ends at the first second after the last day (05:00 UTC in summer)');
    my $v = rep_in_view(client_view($A->{id}, 'clin1'), $rep);
    is_deeply([$v->{scopes}, $v->{starts_at}, $v->{ends_at}],
              [[qw(messages forms)], '2026-01-01', '2099-06-30'], 'the client view shows them');
    json_ok(create_rep(scopes => [], starts_at => '12/24/2099', ends_at => '12/24/2099'), 201,
            'no scopes, and a one-day grant written MM/DD/YYYY, are accepted');
}

# --- bad input: a code each, nothing changed ----------------------------------------------------
{
    my $before = count_reps();
    my $snap = table_snapshot('representatives');
    error_ok(create_rep(scopes => ['payroll']), 422, 'invalid_scopes', 'an unknown scope');
    error_ok(create_rep(scopes => [qw(forms forms)]), 422, 'invalid_scopes', 'a repeated scope');
    error_ok(create_rep(scopes => 'forms'), 422, 'invalid_scopes', 'scopes not a list');
    error_ok(create_rep(starts_at => '2026-02-30'), 422, 'invalid_dates', 'not a real date');
    error_ok(create_rep(ends_at => 20260101), 422, 'invalid_dates', 'a number for a date');
    error_ok(create_rep(starts_at => '2027-01-02', ends_at => '2027-01-01'), 422, 'invalid_dates',
             'ends before it starts');
    error_ok(put_rep($rep, { ends_at => '2025-12-31' }), 422, 'invalid_dates',
             'an edit that ends the access before its start');
    error_ok(put_rep($rep, { scopes => ['payroll'] }), 422, 'invalid_scopes', 'an edit, unknown scope');
    is(count_reps(), $before, 'no representative was created');
    is(table_snapshot('representatives'), $snap, 'and none changed');
}

# --- accept: the grant carries the representative's access; the view lists it ------------------
my $user = "access.rep.$$";
{
    my $token = next_token($rep_email);
    json_ok(rcpt(accept => { token => $token, date_of_birth => $A->{date_of_birth},
                             username => $user, password => 'a long enough password' }),
            201, 'the representative accepts');
    my $g = grant_of($user);
    is($g->{scopes}, 'messages forms', 'grant: the representative\'s scopes');
    is($g->{representative_id}, $rep, 'grant: as the representative');
    is($g->{starts_at}, timegm(0, 0, 6, 1, 0, 2026), 'grant: starts_at');
    is($g->{ends_at}, timegm(0, 0, 5, 1, 6, 2099), 'grant: ends_at');
    is(view_scopes($user, $A->{id}), 'forms messages', 'portal_grants: forms and messages');
    is(view_scopes(uc $user, $A->{id}), '', 'portal_grants keeps the username as typed '
       . '(a portal compares it case-insensitively, as the login does)');
    isnt(login_code($user, 'a long enough password'), 401, 'the account logs in to the portal');
    is(billing_code($user, 'a long enough password'), 401,
       'mod_authz_dbd: /portal/billing refuses an account without the billing scope');
}

# --- edit: the grant changes at once, audited before/after ------------------------------------------
{
    my $d = json_ok(put_rep($rep, { scopes => [qw(billing)] }), 200, 'edit the scopes');
    is_deeply(rep_in_view($d, $rep)->{scopes}, ['billing'], 'the answer shows the new scopes');
    is(grant_of($user)->{scopes}, 'billing', 'the grant changed with it');
    is(view_scopes($user, $A->{id}), 'billing', 'portal_grants: billing only, at once');
    isnt(billing_code(uc $user, 'a long enough password'), 401,
         'mod_authz_dbd: /portal/billing admits it at once (username in any case)');
    my @a = audit_rows(action => 'representative.update', object_id => $rep);
    my $detail = JSON::PP::decode_json($a[-1]{detail} // '{}');
    is_deeply($detail->{access}, {
        before => { scopes => [qw(messages forms)], starts_at => '2026-01-01', ends_at => '2099-06-30' },
        after  => { scopes => ['billing'], starts_at => '2026-01-01', ends_at => '2099-06-30' } },
        'audit: the access before and after');
    is($detail->{grants_changed}, 1, 'audit: one grant changed');

    json_ok(put_rep($rep, { first_name => 'Remington' }), 200, 'an edit that leaves the access');
    @a = audit_rows(action => 'representative.update', object_id => $rep);
    $detail = JSON::PP::decode_json($a[-1]{detail} // '{}');
    ok(!exists $detail->{access}, 'audit: no access change noted when there was none');
    is(grant_of($user)->{scopes}, 'billing', 'and the grant kept its scopes');

    json_ok(put_rep($rep, { starts_at => '2020-01-01', ends_at => '2020-12-31' }), 200,
            'an access that ended in 2020');
    is(view_scopes($user, $A->{id}), '', 'portal_grants: nothing outside the dates');
    is(billing_code($user, 'a long enough password'), 401,
       'mod_authz_dbd: /portal/billing refuses it outside the dates');
    is(rep_in_view(client_view($A->{id}, 'clin1'), $rep)->{portal_status}, 'access_ended',
       'the view: access_ended once the last day has passed, not active');
    json_ok(put_rep($rep, { starts_at => '2099-01-01', ends_at => undef }), 200,
            'an access that starts in 2099');
    is(view_scopes($user, $A->{id}), '', 'portal_grants: nothing before the start');
    my $v = rep_in_view(client_view($A->{id}, 'clin1'), $rep);
    is_deeply([$v->{starts_at}, $v->{ends_at}], ['2099-01-01', undef], 'a null ends_at clears it');
    json_ok(put_rep($rep, { starts_at => undef, scopes => $ALL }), 200, 'open again, every scope');
    is(view_scopes($user, $A->{id}), 'appointments billing forms messages',
       'portal_grants: every scope');
    is(rep_in_view(client_view($A->{id}, 'clin1'), $rep)->{portal_status}, 'active',
       'the view: active again');
}

# --- access that has already ended: no invitation ------------------------------------------------------
# An invitation would bring the person an account that reaches nothing. The end day is
# included, so a day two days back (UTC) is over in any practice time zone.
{
    my @t = gmtime(time - 2 * 86400);
    my $past = sprintf('%04d-%02d-%02d', $t[5] + 1900, $t[4] + 1, $t[3]);
    my $before = count_reps();
    my ($inv_before) = tdb()->selectrow_array('SELECT count(*) FROM invitations');
    my $d = error_ok(create_rep(ends_at => $past), 422, 'access_ended',
                     "a new representative whose access ended on $past");
    is($d->{error}{field}, 'ends_at', 'the error names the end day');
    is(count_reps(), $before, 'no representative was created');
    my ($inv_after) = tdb()->selectrow_array('SELECT count(*) FROM invitations');
    is($inv_after, $inv_before, 'and no invitation');

    my $c = json_ok(create_rep(email => unique_email('ended-rep')), 201, 'a representative with open access');
    my $rid = $c->{representative}{id};
    tdb()->do("UPDATE invitations SET status = 'declined', responded_at = 1 WHERE representative_id = ?",
              undef, $rid);
    json_ok(put_rep($rid, { ends_at => $past }), 200, 'an edit that ends the access (allowed)');
    my ($n_before) = tdb()->selectrow_array('SELECT count(*) FROM invitations WHERE representative_id = ?',
                                            undef, $rid);
    error_ok(staff(POST => "/representatives/$rid/invitations", user => 'clin1', json => {}), 409,
             'access_ended', 'reinviting a representative whose access ended');
    my ($n_after) = tdb()->selectrow_array('SELECT count(*) FROM invitations WHERE representative_id = ?',
                                           undef, $rid);
    is($n_after, $n_before, 'no invitation was made');
    json_ok(put_rep($rid, { ends_at => undef }), 200, 'the access opened again');
    json_ok(staff(POST => "/representatives/$rid/invitations", user => 'clin1', json => {}), 201,
            'and the reinvite goes through');
}

# --- an edit that ends the access withdraws the pending invitation ---------------------------------------
# Its link would otherwise bring an account that reaches nothing; the same for an access
# whose last day passes while the invitation waits (the link answers revoked then too).
{
    my @t = gmtime(time - 2 * 86400);
    my $past = sprintf('%04d-%02d-%02d', $t[5] + 1900, $t[4] + 1, $t[3]);
    my $email = unique_email('ending-rep');
    my $c = json_ok(create_rep(email => $email), 201, 'a representative, invited');
    my $rid = $c->{representative}{id};
    my $token = next_token($email);
    json_ok(rcpt(lookup => { token => $token }), 200, 'the link works while the access is open');
    json_ok(put_rep($rid, { ends_at => $past }), 200, 'an edit that ends the access');
    my ($status) = tdb()->selectrow_array('SELECT status FROM invitations WHERE representative_id = ?',
                                          undef, $rid);
    is($status, 'revoked', 'the pending invitation was withdrawn in the same edit');
    my @rows = audit_rows(action => 'representative.update', object_id => $rid);
    my $detail = JSON::PP::decode_json(@rows ? $rows[-1]{detail} // '{}' : '{}');
    is($detail->{revoked_invitations}, 1, 'the audit row counts the withdrawn invitation');
    error_ok(rcpt(lookup => { token => $token }), 410, 'revoked', 'and its link answers revoked');

    my $email2 = unique_email('lapsing-rep');
    my $c2 = json_ok(create_rep(email => $email2), 201, 'another representative, invited');
    my $rid2 = $c2->{representative}{id};
    my $token2 = next_token($email2);
    tdb()->do('UPDATE representatives SET access_ends_at = ? WHERE id = ?', undef, time - 60, $rid2);
    my $accounts = tdb()->selectrow_array('SELECT count(*) FROM portal_accounts');
    error_ok(rcpt(lookup => { token => $token2 }), 410, 'revoked',
             'a pending link whose access ran out since answers revoked');
    error_ok(rcpt(accept => { token => $token2, date_of_birth => $A->{date_of_birth},
                              username => "lapsed.$$", password => 'a long enough password' }),
             410, 'revoked', 'and cannot be accepted');
    is(tdb()->selectrow_array('SELECT count(*) FROM portal_accounts'), $accounts, 'no account was made');
}

# --- a disabled account, or an ended grant, reaches nothing -------------------------------------------
{
    my ($aid) = tdb()->selectrow_array('SELECT id FROM portal_accounts WHERE username = ?', undef, $user);
    json_ok(staff(POST => "/accounts/$aid/disable", user => 'clin1', json => { reason => 'test' }),
            200, 'disable the representative\'s account');
    is(view_scopes($user, $A->{id}), '', 'portal_grants: nothing for a disabled account');
    json_ok(staff(POST => "/accounts/$aid/enable", user => 'clin1', json => {}), 200, 're-enable it');
    is(view_scopes($user, $A->{id}), 'appointments billing forms messages', 'and it is back');
    tdb()->do("UPDATE account_grants SET status = 'ended' WHERE account_id = ?", undef, $aid);
    is(view_scopes($user, $A->{id}), '', 'portal_grants: nothing for an ended grant');
    json_ok(put_rep($rep, { scopes => ['forms'] }), 200, 'an edit after the grant ended');
    is(grant_of($user)->{scopes}, 'messages billing forms appointments',
       'does not touch the ended grant');
}

# --- the client's own account: every scope, no dates -----------------------------------------------------
{
    json_ok(staff(POST => "/clients/$A->{id}/invitations", user => 'clin1', json => {}), 201,
            'invite the client');
    my $token = next_token($A->{email});
    my $own = "access.client.$$";
    json_ok(rcpt(accept => { token => $token, date_of_birth => $A->{date_of_birth},
                             username => $own, password => 'another long password' }),
            201, 'the client accepts');
    is(view_scopes($own, $A->{id}), 'appointments billing forms messages',
       'portal_grants: the client reaches every scope of its own record');
    my ($n) = tdb()->selectrow_array('SELECT count(*) FROM portal_grants WHERE username = ? '
                                     . 'AND client_id <> ?', undef, $own, $A->{id});
    is($n, 0, 'and no other client');
}

clear_setting('time_zone');
clear_setting('modules');
done_testing();
