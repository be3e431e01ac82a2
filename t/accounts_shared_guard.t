# t/accounts_shared_guard.t — a login that reaches two clients (a parent of two children
# seen by different clinicians) cannot be taken over, or turned on again, from the card
# of one of them (found by an outside review, 2026-12-07):
#  - a password reset goes out only while every client's records give the login's person
#    the same address, so a clinician who changes the representative's address on their
#    own client cannot have the reset link mailed to themselves (409 addresses_differ);
#  - a reset or "turn on" needs a grant that still reaches the caller's client: once the
#    login's access to it has ended, 409 access_ended (before: 202 / 200);
#  - turning a login on again needs the caller to see every client it reaches
#    (409 reaches_other_clients), a champion can;
#  - a reset is written into the history of every client the login reaches.
use strict;
use warnings;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use Test::More;
use JSON::PP ();
use PortalTest;
use PortalTest::Invite;

my $PW = 'a long family password';
# A: clin2's client (clin1 may not see it); B: clin1's
my $A = new_client(prefix => 'guard', first_name => 'Avery', visible_to => ['clin2']);
my $B = new_client(prefix => 'guard', first_name => 'Blair', visible_to => ['clin1']);
my $email = unique_email('guard-parent');
my $evil = unique_email('guard-insider');
my $user = "guard.parent.$$";

sub rep_for {
    my ($client, $who) = @_;
    my $d = json_ok(staff(POST => "/clients/$client->{id}/representatives", user => $who,
                          json => { email => $email, first_name => 'Robin', last_name => 'Guard',
                                    relationship => 'parent' }), 201,
                    "$who invites the parent for client $client->{id}");
    return ($d->{representative}{id}, scalar next_token($email));
}
sub account_post {
    my ($id, $what, $who, $json) = @_;
    return staff(POST => "/accounts/$id/$what", user => $who, json => $json // {});
}
sub account_status {
    (tdb()->selectrow_array('SELECT status FROM portal_accounts WHERE id = ?', undef, $_[0]))[0];
}
sub resets_to {
    my $addr = shift;
    return scalar(@{ tdb()->selectall_arrayref(
        "SELECT id FROM invitations WHERE kind = 'reset' AND lower(email) = lower(?)", undef, $addr) });
}

# --- the parent's one login reaches both children ------------------------------------------
my (undef, $tA) = rep_for($A, 'admin');
json_ok(rcpt(accept => { token => $tA, date_of_birth => $A->{date_of_birth}, username => $user,
                         password => $PW }), 201, 'the parent makes a login for A');
my ($repB, $tB) = rep_for($B, 'clin1');
my $d = json_ok(rcpt(accept => { token => $tB, date_of_birth => $B->{date_of_birth}, username => $user,
                                 password => $PW, existing_login => JSON::PP::true }), 201,
                'and adds B to it');
ok($d->{linked}, 'linked');
my ($aid) = tdb()->selectrow_array('SELECT id FROM portal_accounts WHERE lower(username) = lower(?)',
                                   undef, $user);

# --- a changed address on one client's records: no reset link goes out ------------------------
json_ok(staff(PUT => "/representatives/$repB", user => 'clin1', json => { email => $evil }), 200,
        'clin1 changes the representative\'s address on B');
my $before = resets_to($evil);
my $e = error_ok(account_post($aid, 'password-reset', 'clin1'), 409, 'addresses_differ',
                 'clin1\'s reset of the shared login: refused');
unlike($e->{error}{message}, qr/\Q$email\E|\Q$evil\E/i, 'the refusal names no address');
is(resets_to($evil), $before, 'no reset link for the changed address');
error_ok(account_post($aid, 'password-reset', 'admin'), 409, 'addresses_differ',
         'not from a champion either, while the addresses differ');
json_ok(staff(PUT => "/representatives/$repB", user => 'clin1', json => { email => $email }), 200,
        'the address on B back to the parent\'s');

# --- the addresses agree: the reset goes to the parent and shows on both clients ----------------
json_ok(account_post($aid, 'password-reset', 'clin1'), 202, 'clin1\'s reset now goes out');
is(resets_to($email), 1, 'one reset link, to the parent');
is(resets_to($evil), 0, 'none to the other address');
my @onA = audit_rows(client_id => $A->{id}, action => 'account.password_reset');
is(scalar @onA, 1, 'the reset is in A\'s history too');
like($onA[-1]{detail} // '', qr/"from_another_client":true/, 'as sent from another client\'s card');
my @onB = audit_rows(client_id => $B->{id}, action => 'account.password_reset');
like($onB[-1]{detail} // '', qr/"other_clients":1/, 'B\'s row counts the other client');

# --- the login's access to B ended: clin1 can neither reset nor turn it on -------------------------
json_ok(account_post($aid, 'disable', 'clin1', { client_id => $B->{id}, reason => 'moved away' }), 200,
        'clin1 turns the login off for B only');
is(account_status($aid), 'active', 'the login stays on for A');
error_ok(account_post($aid, 'password-reset', 'clin1'), 409, 'access_ended',
         'a reset from B\'s card, where the login no longer reaches');
json_ok(account_post($aid, 'disable', 'admin', { client_id => $A->{id}, reason => 'suspected misuse' }),
        200, 'a champion turns the login off (it reaches only A now)');
is(account_status($aid), 'disabled', 'the login is off');
error_ok(account_post($aid, 'enable', 'clin1'), 409, 'access_ended',
         'clin1 cannot turn it on again from B\'s ended access');
is(account_status($aid), 'disabled', 'still off');

# --- a login off while it still reaches both: only who sees both turns it on ---------------------
tdb()->do("UPDATE account_grants SET status = 'active', ended_at = NULL, ended_by = NULL, "
        . "end_reason = NULL, end_note = NULL WHERE account_id = ?", undef, $aid);
error_ok(account_post($aid, 'enable', 'clin1'), 409, 'reaches_other_clients',
         'clin1 sees B only: refused');
is(account_status($aid), 'disabled', 'still off');
json_ok(account_post($aid, 'enable', 'admin'), 200, 'a champion turns it on');
is(account_status($aid), 'active', 'on again');

done_testing();
