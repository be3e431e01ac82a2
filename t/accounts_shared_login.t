# t/accounts_shared_login.t — one login per person, a representative of several clients
# (issue 14), four holes a reviewer found:
#  A. linking matched the invitation's address with the login's home representative only:
#     a login linked to a second client whose representative's address staff then changed
#     could not be linked at that address (422 verification_failed with the right password,
#     a try spent); a removed home representative's address still linked it;
#  B. a password reset of a shared login took only its home client's date of birth; a
#     representative's wrong date now says the invitation is for one person's records;
#  C. a representative's access ended by its dates still showed access_here "active" on
#     the card, and a password reset went out (202, not 409 access_ended);
#  D. a password reset made the ALREADY-ACCEPTED invitation link answer 410 superseded
#     ("a newer invitation email has been sent") instead of 409 already_used.
use strict;
use warnings;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use Test::More;
use POSIX qw(strftime);
use PortalTest;
use PortalTest::Invite;

my $PW = 'shared login password';

sub invite_rep {
    my ($client, $email, $first) = @_;
    my $d = json_ok(staff(POST => "/clients/$client->{id}/representatives", user => 'clin1',
                          json => { email => $email, first_name => $first, last_name => 'Gray',
                                    relationship => 'parent' }), 201, "invite $first for client $client->{id}");
    return ($d->{representative}{id}, scalar next_token($email));
}
sub accept_as {
    my ($token, $client, $user, %opt) = @_;
    return rcpt(accept => { token => $token, date_of_birth => $opt{dob} // $client->{date_of_birth},
                            username => $user, password => $opt{password} // $PW,
                            ($opt{existing} ? (existing_login => JSON::PP::true) : ()) });
}
sub reaches {
    my $user = shift;
    my $rows = tdb()->selectcol_arrayref('SELECT DISTINCT client_id FROM portal_grants '
                                         . 'WHERE lower(username) = lower(?) ORDER BY client_id',
                                         undef, $user);
    return join ' ', @$rows;
}
sub ids { join ' ', sort { $a <=> $b } map { $_->{id} } @_ }
sub account_in_view {
    my ($cid, $user) = @_;
    my ($a) = grep { lc $_->{username} eq lc $user } @{ client_view($cid, 'clin1')->{accounts} || [] };
    return $a;
}
sub new_kid { new_client(prefix => 'shared', first_name => $_[0], visible_to => ['clin1']) }

# --- A: linking through any live representative record of the login ---------------------------------
{
    my ($Bo, $Cy, $Di, $Ed, $Fay) = map { new_kid($_) } qw(Bo Cy Di Ed Fay);
    my $gray = unique_email('ann.gray');
    my $new = unique_email('ann.new');
    my $user = "anngray.$$";
    my ($repBo, $tBo) = invite_rep($Bo, $gray, 'Ann');
    json_ok(accept_as($tBo, $Bo, $user), 201, 'A: Ann accepts for Bo: her login');
    my ($repCy, $tCy) = invite_rep($Cy, $gray, 'Ann');
    ok(json_ok(accept_as($tCy, $Cy, $user, existing => 1), 201, 'A: invited for Cy, she links it')->{linked},
       'A: linked');
    json_ok(staff(PUT => "/representatives/$repCy", user => 'clin1',
                  json => { email => $new, notify_old_address => JSON::PP::false }), 200,
            'A: staff change Cy\'s representative address to her new one');

    my (undef, $tDi) = invite_rep($Di, $new, 'Ann');
    my $d = json_ok(accept_as($tDi, $Di, $user, existing => 1), 201,
                    'A: invited for Di at the new address: the right password links the login '
                    . '(Cy\'s record has that address)');
    ok($d->{linked}, 'A: linked: true');
    is(reaches($user), ids($Bo, $Cy, $Di), 'A: the one login reaches Bo, Cy and Di');
    is(tdb()->selectrow_array('SELECT count(*) FROM audit_log WHERE action = ? AND client_id = ?',
                              undef, 'invitation.link_failed', $Di->{id}), 0, 'A: no try spent');

    # the home representative removed: its address vouches for nothing any more
    json_ok(staff(DELETE => "/representatives/$repBo", user => 'clin1'), 200, 'A: Bo\'s representative removed');
    is(reaches($user), ids($Cy, $Di), 'A: the login reaches Cy and Di');
    my (undef, $tEd) = invite_rep($Ed, $gray, 'Ann');
    my $e = error_ok(accept_as($tEd, $Ed, $user, existing => 1), 422, 'verification_failed',
                     'A: invited for Ed at the removed home representative\'s address: no login to link');
    is($e->{error}{field}, 'password', 'A: field password (a wrong guess, as with no such login)');
    is(reaches($user), ids($Cy, $Di), 'A: Ed not linked');
    my (undef, $tFay) = invite_rep($Fay, $new, 'Ann');
    ok(json_ok(accept_as($tFay, $Fay, $user, existing => 1), 201,
               'A: invited for Fay at the new address: still links (Cy\'s and Di\'s records)')->{linked},
       'A: linked');
    is(reaches($user), ids($Cy, $Di, $Fay), 'A: the login reaches Cy, Di and Fay');
}

# --- B: a shared login's password reset takes any reached client's date of birth --------------------
{
    my ($Hu, $Ivo, $Jan) = map { new_kid($_) } qw(Hu Ivo Jan);
    my $em = unique_email('gil');
    my $user = "gil.$$";
    my (undef, $tHu) = invite_rep($Hu, $em, 'Gil');

    # the wrong date of a representative's invitation: it is for one person's records
    my $e = error_ok(accept_as($tHu, $Hu, $user, dob => $Ivo->{date_of_birth}), 422, 'verification_failed',
                     'B: a representative gives another child\'s date of birth');
    like($e->{error}{message}, qr/the person this invitation is for.*each invitation is for one of them/,
         'B: the message says the invitation is for one person\'s records');
    unlike($e->{error}{message}, qr/\Q$Hu->{first_name}\E|\Q$Hu->{last_name}\E|\Q$Hu->{date_of_birth}\E|\d{4}-\d\d/,
           'B: naming nobody, no date');
    like($e->{error}{message}, qr/\(4 tries left\)/, 'B: the tries left still said');
    {
        my $own = new_kid('Kim');
        json_ok(staff(POST => "/clients/$own->{id}/invitations", user => 'clin1'), 201, 'B: a client\'s own invitation');
        my $t = next_token($own->{email});
        my $o = error_ok(accept_as($t, $own, "kim.$$", dob => '1930-01-01'), 422, 'verification_failed',
                         'B: a client gives a wrong date');
        unlike($o->{error}{message}, qr/invitation is for/, 'B: a client\'s own invitation keeps its words');
    }

    json_ok(accept_as($tHu, $Hu, $user), 201, 'B: Gil accepts for Hu');
    my (undef, $tIvo) = invite_rep($Ivo, $em, 'Gil');
    ok(json_ok(accept_as($tIvo, $Ivo, $user, existing => 1), 201, 'B: and links Ivo')->{linked}, 'B: linked');
    my $aid = account_in_view($Hu->{id}, $user)->{id};

    json_ok(staff(POST => "/accounts/$aid/password-reset", user => 'clin1'), 202, 'B: a reset for the shared login');
    my $t1 = next_token($em);
    my $home = tdb()->selectrow_array("SELECT client_id FROM invitations WHERE account_id = ? AND kind = 'reset'",
                                      undef, $aid);
    is($home, $Hu->{id}, 'B: the reset link is Hu\'s (the login\'s own client)');
    error_ok(rcpt(reset => { token => $t1, date_of_birth => $Jan->{date_of_birth}, password => 'new shared password' }),
             422, 'verification_failed', 'B: the date of a client the login does not reach');
    json_ok(rcpt(reset => { token => $t1, date_of_birth => $Ivo->{date_of_birth},
                            password => 'new shared password' }), 200,
            'B: the date of Ivo, whom the login reaches too, resets it');
    isnt(login_code($user, 'new shared password'), 401, 'B: the new password works');

    # Ivo's access ended: his date no longer opens the login
    json_ok(staff(POST => "/accounts/$aid/disable", user => 'clin1', json => { client_id => $Ivo->{id} }),
            200, 'B: the login turned off from Ivo\'s card (his access ends)');
    json_ok(staff(POST => "/accounts/$aid/password-reset", user => 'clin1'), 202, 'B: another reset');
    my $t2 = next_token($em);
    error_ok(rcpt(reset => { token => $t2, date_of_birth => $Ivo->{date_of_birth}, password => 'third shared password' }),
             422, 'verification_failed', 'B: Ivo\'s date no longer: the login does not reach him');
    json_ok(rcpt(reset => { token => $t2, date_of_birth => $Hu->{date_of_birth}, password => 'third shared password' }),
            200, 'B: Hu\'s date does');
}

# --- C: a representative's access ended by its dates --------------------------------------------------
{
    my $Lu = new_kid('Lu');
    my $em = unique_email('jo');
    my $user = "jo.$$";
    my ($rep, $t) = invite_rep($Lu, $em, 'Jo');
    json_ok(accept_as($t, $Lu, $user), 201, 'C: Jo accepts for Lu');
    my $acct = account_in_view($Lu->{id}, $user);
    is($acct->{access_here}, 'active', 'C: access_here active while the days last');
    my $past = strftime('%Y-%m-%d', gmtime(time - 3 * 86400));
    json_ok(staff(PUT => "/representatives/$rep", user => 'clin1', json => { ends_at => $past }), 200,
            "C: the representative's last day set to $past");
    my $v = client_view($Lu->{id}, 'clin1');
    is(rep_in_view($v, $rep)->{portal_status}, 'access_ended', 'C: the representative: access_ended');
    $acct = account_in_view($Lu->{id}, $user);
    is($acct->{status}, 'active', 'C: the login itself stays active');
    is($acct->{access_here}, 'ended', 'C: the card: access_here ended');
    is($acct->{access_ended} && $acct->{access_ended}{reason}, 'dates', 'C: access_ended.reason dates');
    like($acct->{access_ended} && $acct->{access_ended}{at} // '', qr/^\d{4}-\d\d-\d\dT/, 'C: access_ended.at: when');
    my $before = tdb()->selectrow_array("SELECT count(*) FROM invitations WHERE kind = 'reset' AND account_id = ?",
                                        undef, $acct->{id});
    error_ok(staff(POST => "/accounts/$acct->{id}/password-reset", user => 'clin1'), 409, 'access_ended',
             'C: no password reset for a login whose access ended by its dates');
    is(tdb()->selectrow_array("SELECT count(*) FROM invitations WHERE kind = 'reset' AND account_id = ?",
                              undef, $acct->{id}), $before, 'C: no reset link made');
}

# --- D: a password reset leaves the accepted invitation's link answering already_used -----------------
{
    my $Mo = new_kid('Mo');
    json_ok(staff(POST => "/clients/$Mo->{id}/invitations", user => 'clin1'), 201, 'D: invite Mo');
    my $t = next_token($Mo->{email});
    json_ok(accept_as($t, $Mo, "mo.$$"), 201, 'D: Mo accepts');
    my $aid = account_in_view($Mo->{id}, "mo.$$")->{id};
    json_ok(staff(POST => "/accounts/$aid/password-reset", user => 'clin1'), 202, 'D: a password reset for Mo');
    next_token($Mo->{email});
    my $e = error_ok(rcpt(lookup => { token => $t }), 409, 'already_used',
                     'D: the accepted invitation link still answers already_used');
    ok($e->{login_url}, 'D: with the sign-in page');
    error_ok(accept_as($t, $Mo, "mo2.$$"), 409, 'already_used', 'D: and at /accept');
}

done_testing();
