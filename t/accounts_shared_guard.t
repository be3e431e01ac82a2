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
#  - a reset is written into the history of every client the login reaches;
#  - the login turned off whole from A's card (it reaches nothing else any more): B's
#    card, whose access ended before, shows it off, when and by whom, not the reason
#    typed on A's card about A (found by a reviewer, 2026-12-07: it did, to a clinician
#    who may not see A); A's card shows it (migration 034, disabled_client_id).
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
my $why = 'Avery reported Robin threatened them; police report filed';
json_ok(account_post($aid, 'disable', 'admin', { client_id => $A->{id}, reason => $why }),
        200, 'a champion turns the login off (it reaches only A now)');
is(account_status($aid), 'disabled', 'the login is off');

# --- the reason typed on A's card stays on A's card ------------------------------------------
sub on_card {
    my ($client, $who) = @_;
    my $v = client_view($client->{id}, $who);
    my ($a) = grep { $_->{id} == $aid } @{ ($v && $v->{accounts}) || [] };
    return ($a, JSON::PP->new->canonical->encode($v // {}));
}
sub set_disabled_client {
    my $to = shift;
    return eval { tdb()->do('UPDATE portal_accounts SET disabled_client_id = ? WHERE id = ?',
                            undef, $to, $aid); 1 };
}
{
    my ($onB, $viewB) = on_card($B, 'clin1');
    ok($onB, 'B\'s card (clin1) still lists the login');
    is_deeply([map { $onB && $onB->{$_} } qw(status access_here)], ['disabled', 'ended'],
              'B\'s card: the login is off, its access here ended');
    ok($onB && $onB->{disabled_at} && $onB->{disabled_by}, 'B\'s card: when and by whom it was turned off');
    ok($onB && exists $onB->{disabled_reason} && !defined $onB->{disabled_reason},
       'B\'s card: disabled_reason null (it was typed on A\'s card)')
        or diag explain $onB;
    unlike($viewB, qr/police report/, 'the reason is nowhere in B\'s view for clin1');
    my (undef, $viewB_admin) = on_card($B, 'admin');
    unlike($viewB_admin, qr/police report/, 'nor in B\'s view for a champion, who sees A too');
    my ($onA) = on_card($A, 'clin2');
    is($onA && $onA->{disabled_reason}, $why, 'A\'s card (clin2), where it was typed: the reason');
    is((tdb()->selectrow_array('SELECT disabled_reason FROM portal_accounts WHERE id = ?', undef, $aid))[0],
       $why, 'the row keeps the reason');
    my $at = eval { (tdb()->selectrow_array('SELECT disabled_client_id FROM portal_accounts WHERE id = ?',
                                            undef, $aid))[0] };
    is($at, $A->{id}, 'disabled_client_id: A');

    # a login disabled before migration 034 (no disabled_client_id) that reached two clients:
    # which card the reason was typed on is not known, so no card shows it
    ok(set_disabled_client(undef), 'as if disabled before 034: disabled_client_id NULL');
    ($onA) = on_card($A, 'clin2');
    ($onB, $viewB) = on_card($B, 'clin1');
    ok($onA && !defined $onA->{disabled_reason} && $onA->{status} eq 'disabled',
       'before 034, a login that reached B too: A\'s card shows no reason, the login off');
    unlike($viewB, qr/police report/, 'and B\'s card none');
    set_disabled_client($A->{id});
}
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
is_deeply(scalar eval { tdb()->selectrow_arrayref('SELECT disabled_reason, disabled_client_id FROM portal_accounts '
                                           . 'WHERE id = ?', undef, $aid) }, [undef, undef],
          'turned on: the reason and its client are cleared');

done_testing();
