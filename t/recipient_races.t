# t/recipient_races.t — a recipient's link while staff act on the same person at the same
# moment (issue 14, found by the concurrency review): accepts racing resends and revokes
# never deadlock (PostgreSQL: the recipient side takes the client's row lock first, as
# staff do); an accept or a reset racing an email change is answered what the link now
# is (410), never "already used" when no account exists; a login linked by
# existing_login is never one that was disabled a moment before; and turning an account
# on again while an invitation to the same person is open, or accepting an invitation
# while the person has an active account, is refused: one person, one active account.
use strict;
use warnings;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use Test::More;
use Time::HiRes ();
use PortalTest;
use PortalTest::Invite;

my $PW = 'race horse battery';
my $ROUNDS = 10;

sub client { new_client(prefix => 'race', visible_to => ['clin1'], @_) }
sub code_of {
    my $res = shift;
    my $e = eval { decode_json_body($res)->{error}{code} };
    return $res->code . ($e ? " $e" : '');
}
sub invite {
    my $c = shift;
    my $d = json_ok(staff(POST => "/clients/$c->{id}/invitations", user => 'clin1'), 201,
                    "invite client $c->{id}");
    return ($d->{id}, scalar next_token($c->{email}));
}
sub accept_new {
    my ($token, $c, $user, %opt) = @_;
    return rcpt(accept => { token => $token, date_of_birth => $c->{date_of_birth},
                            username => $user, password => $PW }, %opt);
}
sub accounts_of {
    my ($cid, $status) = @_;
    return (tdb()->selectrow_array('SELECT count(*) FROM portal_accounts WHERE client_id = ? '
                                   . 'AND representative_id IS NULL AND status = ?',
                                   undef, $cid, $status))[0];
}
sub account_status {
    return (tdb()->selectrow_array('SELECT status FROM portal_accounts WHERE id = ?', undef,
                                   $_[0]))[0];
}
sub account_id_of {
    my $user = shift;
    return (tdb()->selectrow_array('SELECT id FROM portal_accounts WHERE lower(username) = '
                                   . 'lower(?)', undef, $user))[0];
}
# a random moment in the first $max seconds (the race lands at a different step each round)
sub jitter { Time::HiRes::sleep(rand shift) }

set_setting(resend_cooldown_minutes => 0);
set_setting(max_sends_per_invitation => 20);

# --- 3. accepts with the right date racing resends and revokes: no deadlock, no 503 -------------
# (the recipient reserved its attempt on the invitation row, then the client's; a resend
# locks the client, then the invitation: PostgreSQL found a deadlock and one side got 503)
{
    my (%seen, @bad);
    for my $round (1 .. $ROUNDS) {
        my $c = client(first_name => 'Ray');
        my ($inv_id, $token) = invite($c);
        # a wrong date first: the client's budget is not zero, so the accept writes the
        # client's row again when it consumes the link
        error_ok(rcpt(accept => { token => $token, date_of_birth => '1901-01-01',
                                  username => "rw$$.$round", password => $PW }), 422,
                 'verification_failed', "round $round: a wrong date of birth");
        my @out = run_concurrently(12, sub {
            my $i = shift;
            if ($i <= 6) {
                my $what = $i == 6 && $round % 2 ? 'revoke' : 'resend';
                jitter(0.03) if $i % 2;  # spread over the accepts' first steps
                return "$what " . code_of(staff(POST => "/invitations/$inv_id/$what",
                                                user => 'clin1', timeout => 60));
            }
            return 'accept ' . code_of(accept_new($token, $c, "ray.$$.$round.$i", timeout => 60));
        });
        $seen{$_}++ for @out;
        push @bad, map { "round $round: $_" } grep { /^\w+ 5\d\d/ } @out;
        cmp_ok(accounts_of($c->{id}, 'active'), '<=', 1, "round $round: at most one account");
    }
    is_deeply(\@bad, [], "$ROUNDS rounds of 6 accepts racing 6 resends (or 5 and a revoke): "
              . 'no 5xx answer') or diag explain \%seen;
    note explain \%seen;
}

# --- 6. an accept racing an email change: 201 or what the link now is, never already_used ------
{
    my (%seen, @bad);
    for my $round (1 .. $ROUNDS) {
        my $c = client(first_name => 'Eli');
        my (undef, $token) = invite($c);
        my $new = unique_email('race-moved');
        my ($accept, $email) = run_concurrently(2, sub {
            my $i = shift;
            return code_of(accept_new($token, $c, "eli.$$.$round", timeout => 60)) if $i == 1;
            jitter(0.35);
            return code_of(staff(PUT => "/clients/$c->{id}/email", user => 'clin1',
                                 json => { email => $new }, timeout => 60));
        });
        $seen{"accept $accept"}++;
        is($email, 200, "round $round: the email change is saved");
        my $accounts = accounts_of($c->{id}, 'active');
        push @bad, "round $round: accept $accept with $accounts account(s)"
            unless ($accept eq '201' && $accounts == 1)
                || ($accept eq '410 address_changed' && $accounts == 0);
    }
    is_deeply(\@bad, [], "$ROUNDS accepts racing an email change: 201 with an account, or 410 "
              . 'address_changed with none') or diag explain \%seen;
    note explain \%seen;
}

# --- 6. a password reset racing an email change: the same ----------------------------------------
{
    my (%seen, @bad);
    for my $round (1 .. $ROUNDS) {
        my $c = client(first_name => 'Rhea');
        my (undef, $token) = invite($c);
        json_ok(accept_new($token, $c, "rhea.$$.$round"), 201, "round $round: an account");
        my $aid = account_id_of("rhea.$$.$round");
        json_ok(staff(POST => "/accounts/$aid/password-reset", user => 'clin1'), 202,
                "round $round: a reset link");
        my $reset = next_token($c->{email});
        my $new_pw = "another fine password $round";
        my ($answer, $email) = run_concurrently(2, sub {
            my $i = shift;
            return code_of(rcpt(reset => { token => $reset, date_of_birth => $c->{date_of_birth},
                                           password => $new_pw }, timeout => 60)) if $i == 1;
            jitter(0.35);
            return code_of(staff(PUT => "/clients/$c->{id}/email", user => 'clin1',
                                 json => { email => unique_email('race-moved') }, timeout => 60));
        });
        $seen{"reset $answer"}++;
        is($email, 200, "round $round: the email change is saved");
        my $changed = login_code("rhea.$$.$round", $new_pw) != 401;
        push @bad, "round $round: reset $answer, password " . ($changed ? 'changed' : 'kept')
            unless ($answer eq '200' && $changed)
                || ($answer eq '410 address_changed' && !$changed);
    }
    is_deeply(\@bad, [], "$ROUNDS resets racing an email change: 200 with the new password, or "
              . '410 address_changed with the old one') or diag explain \%seen;
    note explain \%seen;
}

# --- 7. existing_login racing "disable" of that login: never linked to a disabled login -----------
{
    my (%seen, @bad);
    for my $round (1 .. $ROUNDS) {
        my $A = client(first_name => 'Ann');
        my $B = client(first_name => 'Bo');
        my $email = unique_email('race-parent');
        my $user = "parent.$$.$round";
        my %tok;
        for my $c ($A, $B) {
            json_ok(staff(POST => "/clients/$c->{id}/representatives", user => 'clin1',
                          json => { email => $email, first_name => 'Pat', last_name => 'Race',
                                    relationship => 'parent' }), 201,
                    "round $round: a representative of client $c->{id}");
            $tok{$c->{id}} = next_token($email);
            next if $c == $B;
            json_ok(rcpt(accept => { token => $tok{$A->{id}}, date_of_birth => $A->{date_of_birth},
                                     username => $user, password => $PW }), 201,
                    "round $round: the parent's login");
        }
        my $aid = account_id_of($user);
        my ($link, $off) = run_concurrently(2, sub {
            my $i = shift;
            return code_of(rcpt(accept => { token => $tok{$B->{id}}, date_of_birth => $B->{date_of_birth},
                                            username => $user, password => $PW,
                                            existing_login => JSON::PP::true() }, timeout => 60))
                if $i == 1;
            jitter(0.35);
            return code_of(staff(POST => "/accounts/$aid/disable", user => 'clin1',
                                 json => { client_id => $A->{id} }, timeout => 60));
        });
        $seen{"link $link / disable $off"}++;
        my ($grants) = tdb()->selectrow_array(
            'SELECT count(*) FROM account_grants WHERE account_id = ? AND client_id = ?', undef,
            $aid, $B->{id});
        my ($pending) = tdb()->selectrow_array(
            "SELECT count(*) FROM invitations WHERE client_id = ? AND status = 'pending'", undef,
            $B->{id});
        my $status = account_status($aid);
        push @bad, "round $round: link $link, disable $off, login $status, grants $grants, "
                   . "pending $pending"
            unless ($link eq '201' && $status eq 'active' && $grants == 1 && $pending == 0)
                || ($link eq '422 verification_failed' && $status eq 'disabled' && $grants == 0
                    && $pending == 1);
    }
    is_deeply(\@bad, [], "$ROUNDS links racing a disable: linked to an active login, or refused "
              . 'as for a disabled one with the invitation unused') or diag explain \%seen;
    note explain \%seen;
}

# --- 4. one person, one active account: enable while an invitation is open; accept while an
# account is active -----------------------------------------------------------------------------
{
    my $c = client(first_name => 'Nia');
    my (undef, $t1) = invite($c);
    json_ok(accept_new($t1, $c, "nia.one.$$"), 201, 'the client accepts');
    my $a1 = account_id_of("nia.one.$$");
    json_ok(staff(POST => "/accounts/$a1/disable", user => 'clin1', json => {}), 200, 'disable it');
    my ($inv2, $t2) = invite($c);
    my $e = error_ok(staff(POST => "/accounts/$a1/enable", user => 'clin1'), 409,
                     'invitation_pending', 'enable while an invitation to the person is open');
    like($e->{error}{message}, qr/open invitation.*revoke it/i, '... says what to do');
    is(account_status($a1), 'disabled', '... the account stays off');
    is(scalar(grep { $_->{result} eq 'ok' } audit_rows(action => 'account.enable', client_id => $c->{id})),
       0, '... no account.enable audited');

    # the state an earlier version could leave: the account on, the invitation open
    tdb()->do("UPDATE portal_accounts SET status = 'active', disabled_at = NULL, disabled_by = NULL "
              . 'WHERE id = ?', undef, $a1);
    my $before = accounts_of($c->{id}, 'active');
    my $d = error_ok(accept_new($t2, $c, "nia.two.$$"), 409, 'already_active',
                     'accept while the person has an active account');
    ok($d->{login_url}, '... with the sign-in address');
    is(accounts_of($c->{id}, 'active'), $before, '... no second account');
    ok(!account_id_of("nia.two.$$"), '... the new username was not created');
    is(invitation_row($inv2)->{status}, 'pending', '... the invitation is not consumed');

    # the account off again: revoking the invitation lets it on
    tdb()->do("UPDATE portal_accounts SET status = 'disabled' WHERE id = ?", undef, $a1);
    json_ok(staff(POST => "/invitations/$inv2/revoke", user => 'clin1'), 200, 'revoke the invitation');
    json_ok(staff(POST => "/accounts/$a1/enable", user => 'clin1'), 200, 'then enable works');
    is(accounts_of($c->{id}, 'active'), 1, 'one active account');
}
{
    my $c = client(first_name => 'Tess');
    my $email = unique_email('race-rep');
    my $d = json_ok(staff(POST => "/clients/$c->{id}/representatives", user => 'clin1',
                          json => { email => $email, first_name => 'Rob', last_name => 'Race' }),
                    201, 'a representative');
    my $rep = $d->{representative}{id};
    json_ok(rcpt(accept => { token => scalar next_token($email), date_of_birth => $c->{date_of_birth},
                             username => "rob.one.$$", password => $PW }), 201, 'the representative accepts');
    my $a1 = account_id_of("rob.one.$$");
    json_ok(staff(POST => "/accounts/$a1/disable", user => 'clin1', json => {}), 200, 'disable it');
    json_ok(staff(POST => "/representatives/$rep/invitations", user => 'clin1'), 201,
            'reinvite the representative');
    my $t2 = next_token($email);
    error_ok(staff(POST => "/accounts/$a1/enable", user => 'clin1'), 409, 'invitation_pending',
             'enable the representative\'s account while their invitation is open');
    json_ok(rcpt(accept => { token => $t2, date_of_birth => $c->{date_of_birth},
                             username => "rob.two.$$", password => $PW }), 201,
            'the representative accepts the new invitation');
    error_ok(staff(POST => "/accounts/$a1/enable", user => 'clin1'), 409, 'already_active',
             'then the old account cannot come on (as before)');
    my ($active) = tdb()->selectrow_array("SELECT count(*) FROM portal_accounts WHERE "
                                          . "representative_id = ? AND status = 'active'", undef, $rep);
    is($active, 1, 'one active account for the representative');
}

clear_setting('resend_cooldown_minutes');
clear_setting('max_sends_per_invitation');

done_testing();
