# t/accounts_reset.t — password reset for portal accounts (issue 14): staff's POST
# /accounts/{id}/password-reset (404 outside the caseload, audited without the address,
# CSRF, 409 account_disabled / no_email, 429 cooldown with Retry-After, the send limit,
# a second request sends the open link again), the email at the catcher, the recipient's
# /lookup (kind reset, the username) and POST /reset (the date-of-birth lock, the
# password rules, single use, wrong kind of link refused both ways), and the client
# portal's login through stock mod_authn_dbd: the new password works at once and the
# old one fails. A representative's account too; disabling an account withdraws its
# open link.
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

my $client = new_client(prefix => 'reset', first_name => 'Morgan', date_of_birth => '1979-03-14',
                        visible_to => ['clin1']);
my $cid = $client->{id};
my $user = "morgan.reset.$$";
my $old_password = 'first long password';
my $new_password = 'second long password';

sub view { json_ok(staff(GET => "/clients/$cid", user => 'clin1'), 200, $_[0]) }
sub account_in {
    my ($v, $id) = @_;
    my ($a) = grep { $_->{id} == $id } @{ $v->{accounts} || [] };
    return $a;
}
sub reset_post {
    my ($id, %opt) = @_;
    $opt{user} //= 'clin1';
    return staff(POST => "/accounts/$id/password-reset", %opt);
}
sub snapshot { table_snapshot(qw(invitations outbox portal_accounts superseded_tokens)) }
sub reset_rows {
    my $id = shift;
    return @{ tdb()->selectall_arrayref(
        "SELECT * FROM invitations WHERE account_id = ? AND kind = 'reset' ORDER BY id",
        { Slice => {} }, $id) };
}
sub last_audit {
    my ($action) = @_;
    my @rows = audit_rows(client_id => $cid, action => $action);
    return $rows[-1];
}

# --- an account to reset ---------------------------------------------------------------------------
json_ok(staff(POST => "/clients/$cid/invitations", user => 'clin1'), 201, 'invite the client');
my $invite_token = next_token($client->{email});
json_ok(rcpt(accept => { token => $invite_token, date_of_birth => $client->{date_of_birth},
                         username => $user, password => $old_password }), 201, 'accept');
my $aid = view('view with the account')->{accounts}[0]{id};
ok($aid, 'the account id');
isnt(login_code($user, $old_password), 401, 'the first password works');

# --- refused before anything is sent ------------------------------------------------------------------
{
    my $before = snapshot();
    error_ok(reset_post($aid, user => 'clin2'), 404, 'not_found',
             'reset an account of a client clin2 may not view');
    my @denied = grep { $_->{username} eq 'clin2' && $_->{result} eq 'denied'
                        && $_->{object_id} == $aid } audit_rows(action => 'account.password_reset');
    ok(scalar @denied, 'the refusal is audited as denied');
    error_ok(reset_post(999999999), 404, 'not_found', 'an account that does not exist');
    error_ok(reset_post($aid, csrf => 0), 403, 'csrf', 'no X-Requested-With');
    error_ok(reset_post($aid, headers => { 'Sec-Fetch-Site' => 'cross-site' }), 403, 'csrf',
             'a cross-site request');
    error_ok(reset_post($aid, json => { email => 'x@example.test' }), 400, 'unknown_field',
             'no fields accepted');
    error_ok(staff(GET => "/accounts/$aid/password-reset", user => 'clin1'), 405,
             'method_not_allowed', 'GET is not allowed');
    is(snapshot(), $before, 'none of these changed anything');
}

# --- staff send a reset link ------------------------------------------------------------------------------
my $t1;
{
    my $invitations_before = scalar @{ view('view before the reset')->{invitations} };
    my $after = json_ok(reset_post($aid), 202, 'reset password');
    is($after->{id}, $cid, 'answers with the client view');
    my $a = account_in($after, $aid);
    like($a->{reset_expires_at} // '', $RFC3339, 'the account shows the open link until when');
    is($a->{status}, 'active', 'the account stays active meanwhile');
    is($after->{portal_status}, 'active', 'portal_status stays active');
    is(scalar @{ $after->{invitations} }, $invitations_before,
       'the reset link is not an invitation in the view');
    my ($row) = reset_rows($aid);
    ok($row, 'a reset row');
    is($row->{status}, 'pending', 'pending');
    is(lc $row->{email}, lc $client->{email}, "to the client's address");
    my $ttl = $row->{expires_at} - $row->{created_at};
    is($ttl, 24 * 3600, 'valid for 24 hours (shorter than the 168-hour invitation)');
    error_ok(staff(POST => "/invitations/$row->{id}/resend", user => 'clin1'), 404, 'not_found',
             'the invitation routes do not reach a reset link');

    my $audit = last_audit('account.password_reset');
    ok($audit && $audit->{result} eq 'ok' && $audit->{object_id} == $aid && $audit->{username} eq 'clin1',
       'audited account.password_reset: ok, the account, who');
    is_deeply($JSON->decode($audit->{detail} // '{}'),
              { kind => 'client', resend => JSON::PP::false() }, 'audit detail: no address');

    my $p;
    ($t1, $p) = next_token($client->{email});
    ok($t1, 'the reset email arrived with a link');
    like($p->{subject} // '', qr/reset your portal password/i, 'subject says what it is');
    my ($text) = map { $_->{text} } grep { $_->{content_type} eq 'text/plain' } @{ $p->{parts} || [] };
    like($text // '', qr/Hello Morgan,/, 'greets the first name');
    like($text // '', qr/new password/, 'says it is for a new password');
    unlike($text // '', qr/\Q$client->{last_name}\E|\Q$client->{date_of_birth}\E/,
           'no last name or date of birth in the email');
    isnt(login_code($user, $old_password), 401, 'sending a link changes nothing yet');
}

# --- the cooldown ------------------------------------------------------------------------------------------
{
    my $before = snapshot();
    my $res = reset_post($aid);
    error_ok($res, 429, 'resend_too_soon', 'a second request within the cooldown');
    like($res->header('Retry-After') // '', qr/^\d+$/, 'Retry-After seconds');
    is(snapshot(), $before, 'cooldown: nothing changed');
}

# --- the recipient: lookup, wrong kinds, password rules, the date of birth -------------------------------
{
    my $res = rcpt(lookup => { token => $t1 });
    my $l = json_ok($res, 200, 'lookup the reset link');
    is($l->{kind}, 'reset', 'kind reset');
    is($l->{username}, $user, 'the username it resets');
    is($l->{for}, 'client', "the client's own account");
    is($l->{recipient_first_name}, 'Morgan', 'first name');
    like($l->{expires_at} // '', $RFC3339, 'expires_at');
    private_ok($res, $client, 'lookup');

    my $before = snapshot();
    error_ok(rcpt(accept => { token => $t1, date_of_birth => $client->{date_of_birth},
                              username => "other.$$", password => 'another long password' }),
             409, 'wrong_kind', 'a reset link cannot accept an invitation');
    error_ok(rcpt(decline => { token => $t1 }), 409, 'wrong_kind', 'nor decline one');
    error_ok(rcpt(reset => { token => $t1, date_of_birth => $client->{date_of_birth},
                             password => 'short' }), 422, 'weak_password', 'too short');
    error_ok(rcpt(reset => { token => $t1, date_of_birth => $client->{date_of_birth},
                             password => uc($user) }), 422, 'weak_password', 'the username');
    error_ok(rcpt(reset => { token => $t1, date_of_birth => $client->{date_of_birth},
                             password => ' ' x 14 }), 422, 'weak_password', 'one character repeated');
    error_ok(rcpt(reset => { token => $t1, date_of_birth => $client->{date_of_birth},
                             password => 'x' x 73 }), 422, 'password_too_long', 'over 72 bytes');
    error_ok(rcpt(reset => { token => $t1, date_of_birth => $client->{date_of_birth},
                             password => $new_password, username => 'x' }), 400, 'unknown_field',
             'no username field');
    is(snapshot(), $before, 'none of these changed anything or counted an attempt');

    my $other = new_client(prefix => 'reset-other', visible_to => ['clin1']);
    json_ok(staff(POST => "/clients/$other->{id}/invitations", user => 'clin1'), 201,
            'an invitation to another client');
    my $inv_token = next_token($other->{email});
    error_ok(rcpt(reset => { token => $inv_token, date_of_birth => $other->{date_of_birth},
                             password => $new_password }), 409, 'wrong_kind',
             'an invitation link cannot reset a password');
    error_ok(rcpt(reset => { token => fake_token(), date_of_birth => '2000-01-01',
                             password => $new_password }), 404, 'invalid_token', 'an unknown token');
    # an accepted invitation is no earlier link a reset replaces: its person has a login
    error_ok(rcpt(lookup => { token => $invite_token }), 409, 'already_used',
             'the accepted invitation link still answers already_used');

    my $err = error_ok(rcpt(reset => { token => $t1, date_of_birth => '2001-01-01',
                                       password => $new_password }), 422, 'verification_failed',
                       'a wrong date of birth');
    like($err->{error}{message}, qr/4 tries left/, 'four tries left');
    my $denied = last_audit('account.password_reset_verify_failed');
    ok($denied && $denied->{result} eq 'denied', 'the wrong date is audited as denied');
    is(login_code($user, $new_password), 401, 'the new password does not work yet');
}

# --- the reset works once; the old password fails at once -------------------------------------------
{
    my $ok = json_ok(rcpt(reset => { token => $t1, date_of_birth => $client->{date_of_birth},
                                     password => $new_password }), 200, 'reset with the right date');
    is($ok->{username}, $user, 'answers the username');
    is($ok->{login_url}, login_url(), 'and where to sign in');
    isnt(login_code($user, $new_password), 401, 'mod_authn_dbd: the new password works');
    is(login_code($user, $old_password), 401, 'mod_authn_dbd: the old password fails');
    my $done = last_audit('account.password_reset_done');
    ok($done && $done->{result} eq 'ok' && $done->{object_id} == $aid,
       'audited account.password_reset_done for the account');
    unlike($done->{detail} // '', qr/password|\$2y\$|\@/, 'audit detail: no password, no address');
    my ($row) = reset_rows($aid);
    is($row->{status}, 'accepted', 'the link is used up');

    my $before = snapshot();
    error_ok(rcpt(reset => { token => $t1, date_of_birth => $client->{date_of_birth},
                             password => 'a third long password' }), 409, 'already_used',
             'the link works once');
    error_ok(rcpt(lookup => { token => $t1 }), 409, 'already_used', 'lookup: already used');
    is(snapshot(), $before, 'nothing changed');
    isnt(login_code($user, $new_password), 401, 'the new password still works');
    ok(!defined account_in(view('view after the reset'), $aid)->{reset_expires_at},
       'no open link shown');
}

# --- a new link, sent again; the send limit ------------------------------------------------------------
my $t3;
{
    set_setting(resend_cooldown_minutes => 0);
    json_ok(reset_post($aid), 202, 'a new reset link');
    my $t2 = next_token($client->{email});
    json_ok(reset_post($aid), 202, 'again while it is open: sent again');
    $t3 = next_token($client->{email});
    isnt($t3, $t2, 'a new token');
    my @rows = grep { $_->{status} eq 'pending' } reset_rows($aid);
    is(scalar @rows, 1, 'still one open link');
    is_deeply($JSON->decode(last_audit('account.password_reset')->{detail}),
              { kind => 'client', resend => JSON::PP::true() }, 'audited as a resend');
    error_ok(rcpt(lookup => { token => $t2 }), 410, 'superseded', 'the earlier token: superseded');
    json_ok(rcpt(lookup => { token => $t3 }), 200, 'the newest token works');

    set_setting(max_sends_per_invitation => 2);
    my $before = snapshot();
    error_ok(reset_post($aid), 409, 'send_limit_reached', 'sent as often as allowed');
    is(snapshot(), $before, 'send limit: nothing changed');
    clear_setting('max_sends_per_invitation');
}

# --- the date-of-birth lock ------------------------------------------------------------------------------
{
    for my $i (1 .. 4) {
        error_ok(rcpt(reset => { token => $t3, date_of_birth => "1990-01-0$i",
                                 password => 'a third long password' }), 422,
                 'verification_failed', "wrong date #$i");
    }
    error_ok(rcpt(reset => { token => $t3, date_of_birth => '1990-01-05',
                             password => 'a third long password' }), 423, 'locked',
             'the fifth wrong date locks the link');
    error_ok(rcpt(reset => { token => $t3, date_of_birth => $client->{date_of_birth},
                             password => 'a third long password' }), 423, 'locked',
             'locked: the right date no longer helps');
    isnt(login_code($user, $new_password), 401, 'locked: the password is unchanged');
    is(login_code($user, 'a third long password'), 401, 'locked: the attempted one never worked');
}

# --- a disabled account, an account without an address ---------------------------------------------------
{
    json_ok(reset_post($aid), 202, 'a new link after the locked one');
    my $t4 = next_token($client->{email});
    json_ok(staff(POST => "/accounts/$aid/disable", user => 'clin1'), 200, 'disable the account');
    my $e = error_ok(rcpt(lookup => { token => $t4 }), 410, 'revoked', 'disabling withdrew the open link');
    ok(JSON::PP::is_bool($e->{reset}) && $e->{reset},
       'revoked: the refusal says it is a password reset link (the page words it as one)');

    my $before = snapshot();
    error_ok(reset_post($aid), 409, 'account_disabled', 'resetting a disabled account');
    is(snapshot(), $before, 'account_disabled: nothing changed');
    json_ok(staff(POST => "/accounts/$aid/enable", user => 'clin1'), 200, 'enable it again');

    json_ok(reset_post($aid), 202, 'a link for the enabled account');
    my $t5 = next_token($client->{email});
    tdb()->do("UPDATE portal_accounts SET status = 'disabled' WHERE id = ?", undef, $aid);
    error_ok(rcpt(lookup => { token => $t5 }), 410, 'revoked',
             'lookup: a link whose account was disabled another way answers revoked');
    error_ok(rcpt(reset => { token => $t5, date_of_birth => $client->{date_of_birth},
                             password => 'a fourth long password' }), 410, 'revoked',
             'a link whose account was disabled another way (roster) is refused');
    tdb()->do("UPDATE portal_accounts SET status = 'active' WHERE id = ?", undef, $aid);
    isnt(login_code($user, $new_password), 401, 'the password is unchanged');

    my $nomail = new_client(prefix => 'reset-nomail', visible_to => ['clin1']);
    json_ok(staff(POST => "/clients/$nomail->{id}/invitations", user => 'clin1'), 201,
            'invite a client who will lose the address');
    json_ok(rcpt(accept => { token => scalar next_token($nomail->{email}),
                             date_of_birth => $nomail->{date_of_birth},
                             username => "nomail.$$", password => 'nomail long password' }),
            201, 'accept');
    my ($nid) = tdb()->selectrow_array('SELECT id FROM portal_accounts WHERE username = ?', undef,
                                       "nomail.$$");
    tdb()->do('UPDATE clients SET email = NULL WHERE id = ?', undef, $nomail->{id});
    $before = snapshot();
    error_ok(reset_post($nid), 409, 'no_email', 'no address on file');
    is(snapshot(), $before, 'no_email: nothing changed');
}

# --- an email change withdraws an open link ------------------------------------------------------------
{
    my $res = reset_post($aid);
    is($res->code, 202, 'an open link (the one before is sent again or a new one)');
    my $t6 = next_token($client->{email});
    my $new_email = unique_email('reset-moved');
    json_ok(staff(PUT => "/clients/$cid/email", user => 'clin1', json => { email => $new_email }),
            200, 'the client has a new address');
    error_ok(rcpt(lookup => { token => $t6 }), 410, 'address_changed',
             'the link to the old address stops working');
    json_ok(reset_post($aid), 202, 'reset again');
    my $t7 = next_token($new_email);
    ok($t7, 'the new link goes to the new address');
    json_ok(rcpt(reset => { token => $t7, date_of_birth => $client->{date_of_birth},
                            password => 'a fifth long password' }), 200, 'and works');
    isnt(login_code($user, 'a fifth long password'), 401, 'new password works');
    is(login_code($user, $new_password), 401, 'the previous one fails');
    $client->{email} = $new_email;
}

# --- a representative's account ------------------------------------------------------------------------------
{
    my $rep_email = unique_email('reset-rep');
    my $created = json_ok(staff(POST => "/clients/$cid/representatives", user => 'clin1',
                                json => { email => $rep_email, first_name => 'Riley',
                                          last_name => 'Resetrep', relationship => 'guardian' }),
                          201, 'invite a representative');
    my $rep_user = "riley.rep.$$";
    json_ok(rcpt(accept => { token => scalar next_token($rep_email),
                             date_of_birth => $client->{date_of_birth},
                             username => $rep_user, password => 'riley long password' }),
            201, 'the representative accepts');
    my ($ra) = grep { ($_->{kind} // '') eq 'representative' } @{ view('view with a rep account')->{accounts} };
    json_ok(reset_post($ra->{id}), 202, "reset the representative's password");
    is_deeply($JSON->decode(last_audit('account.password_reset')->{detail}),
              { kind => 'representative', resend => JSON::PP::false() }, 'audit: kind representative');
    my $rt = next_token($rep_email);
    my $l = json_ok(rcpt(lookup => { token => $rt }), 200, 'lookup');
    is($l->{kind}, 'reset', 'kind reset');
    is($l->{for}, 'representative', "a representative's account");
    is($l->{username}, $rep_user, 'their username');
    is($l->{recipient_first_name}, 'Riley', "the representative's first name");
    json_ok(rcpt(reset => { token => $rt, date_of_birth => $client->{date_of_birth},
                            password => 'riley new password' }), 200, "reset with the client's date");
    isnt(login_code($rep_user, 'riley new password'), 401, 'the new password works');
    is(login_code($rep_user, 'riley long password'), 401, 'the old one fails');
    is(rep_in_view(view('view after the rep reset'), $created->{representative}{id})->{portal_status},
       'active', "the representative's portal_status stays active");
}

clear_setting('resend_cooldown_minutes');
done_testing();
