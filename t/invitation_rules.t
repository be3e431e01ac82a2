# t/invitation_rules.t — what ends an invitation and what may never be re-armed
# (issue 10, item 2): an email change and "client declined" end a locked invitation too;
# resend never re-arms a locked invitation and never sends to an address that is no
# longer on file, while the client has declined, or to someone who has an account; and
# invite/resend read the client inside their transaction, so a racing email change or
# "client declined" never leaves a pending invitation behind (many parallel requests).
use strict;
use warnings;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use Test::More;
use PortalTest;
use PortalTest::Invite;

sub client { new_client(prefix => 'rules', visible_to => ['clin1'], @_) }

sub invite {
    my ($c) = @_;
    my $inv = json_ok(staff(POST => "/clients/$c->{id}/invitations"), 201, "invite client $c->{id}");
    return ($inv->{id}, next_token($c->{email}));
}

sub lock_invitation {
    my ($id) = @_;
    tdb()->do("UPDATE invitations SET status = 'locked', verify_failures = 5 WHERE id = ?", undef, $id);
}

sub cool_down {
    my ($id) = @_;
    tdb()->do('UPDATE outbox SET created_at = created_at - 86400 WHERE invitation_id = ?', undef, $id);
}

sub queued_for {
    my ($id) = @_;
    my ($n) = tdb()->selectrow_array('SELECT count(*) FROM outbox WHERE invitation_id = ?', undef, $id);
    return $n;
}

# --- an email change ends a locked invitation (it is superseded, never re-armed) -------------
{
    my $c = client(first_name => 'Lena');
    my ($inv_id, $token) = invite($c);
    lock_invitation($inv_id);
    my $new = unique_email('rules-new');
    json_ok(staff(PUT => "/clients/$c->{id}/email", json => { email => $new }), 200, 'change the email');
    is(invitation_row($inv_id)->{status}, 'superseded', 'the locked invitation is superseded');
    cool_down($inv_id);
    my $before = queued_for($inv_id);
    error_ok(staff(POST => "/invitations/$inv_id/resend"), 409, 'not_pending',
             'resend of the superseded invitation is refused');
    is(queued_for($inv_id), $before, 'nothing queued to the old address');
    error_ok(rcpt(lookup => { token => $token }), 410, 'address_changed', 'the old link is dead (the address changed)');
}

# --- "client declined" ends a locked invitation --------------------------------------------------
{
    my $c = client(first_name => 'Dee');
    my ($inv_id, $token) = invite($c);
    lock_invitation($inv_id);
    json_ok(staff(POST => "/clients/$c->{id}/declined", json => { note => 'no portal' }), 200,
            'client declined');
    is(invitation_row($inv_id)->{status}, 'revoked', 'the locked invitation is revoked');
    cool_down($inv_id);
    error_ok(staff(POST => "/invitations/$inv_id/resend"), 409, 'not_pending',
             'resend after "client declined" is refused');
    error_ok(rcpt(lookup => { token => $token }), 410, 'revoked', 'the link answers revoked');
}

# --- a representative's email change ends their locked invitation ----------------------------------
{
    my $c = client(first_name => 'Ray');
    my $email = unique_email('rules-rep');
    my $d = json_ok(staff(POST => "/clients/$c->{id}/representatives",
                          json => { email => $email, first_name => 'Rita', last_name => 'Rep' }),
                    201, 'a representative');
    my $inv_id = $d->{invitation}{id};
    next_token($email);
    lock_invitation($inv_id);
    json_ok(staff(PUT => "/representatives/$d->{representative}{id}",
                  json => { email => unique_email('rules-rep-new') }), 200, "change the representative's email");
    is(invitation_row($inv_id)->{status}, 'superseded', "the representative's locked invitation is superseded");
}

# --- resend checks the recipient as it is now ---------------------------------------------------
{
    # the address on file changed without the API (another program, or a race)
    my $c = client(first_name => 'Adam');
    my ($inv_id) = invite($c);
    cool_down($inv_id);
    tdb()->do('UPDATE clients SET email = ? WHERE id = ?', undef, unique_email('rules-moved'), $c->{id});
    my $before = queued_for($inv_id);
    error_ok(staff(POST => "/invitations/$inv_id/resend"), 409, 'address_changed',
             'resend to an address no longer on file is refused');
    is(queued_for($inv_id), $before, 'nothing queued');

    # the client declined (written as a racing request would leave it)
    my $c2 = client(first_name => 'Dora');
    my ($inv2) = invite($c2);
    cool_down($inv2);
    tdb()->do("UPDATE clients SET declined_at = 1, declined_by = 'clin1' WHERE id = ?", undef, $c2->{id});
    error_ok(staff(POST => "/invitations/$inv2/resend"), 409, 'client_declined',
             'resend while the client has declined is refused');

    # the recipient already has an account
    my $c3 = client(first_name => 'Acco');
    my ($inv3) = invite($c3);
    cool_down($inv3);
    tdb()->do("INSERT INTO portal_accounts (username, password_hash, client_id, status, created_at) "
              . "VALUES (?, 'x', ?, 'active', 0)", undef, "rules.acct.$$", $c3->{id});
    error_ok(staff(POST => "/invitations/$inv3/resend"), 409, 'already_active',
             'resend to someone with an active account is refused');

    # a pending invitation with attempts used keeps them after a resend
    my $c4 = client(first_name => 'Kept');
    my ($inv4) = invite($c4);
    cool_down($inv4);
    tdb()->do('UPDATE invitations SET verify_failures = 3 WHERE id = ?', undef, $inv4);
    json_ok(staff(POST => "/invitations/$inv4/resend"), 200, 'resend of a pending invitation');
    is(invitation_row($inv4)->{verify_failures}, 3, 'a resend gives no fresh attempts');
}

# --- races: invite against an email change, invite against "client declined" ------------------
# 12 clients each get both requests at the same moment (24 parallel requests per round).
for my $race (['email change', sub { my $c = shift;
                                     staff(PUT => "/clients/$c->{id}/email",
                                           json => { email => unique_email('rules-race') },
                                           timeout => 60) }],
              ['client declined', sub { my $c = shift;
                                        staff(POST => "/clients/$c->{id}/declined", json => {},
                                              timeout => 60) }]) {
    my ($what, $change) = @$race;
    my @c = map { client(first_name => 'Racy') } 1 .. 12;
    my @out = run_concurrently(24, sub {
        my $i = shift;
        my $cl = $c[($i - 1) % 12];
        my $res = $i <= 12 ? staff(POST => "/clients/$cl->{id}/invitations", timeout => 60)
                           : $change->($cl);
        return $res->code;
    });
    is(scalar(grep { !/^(200|201|409)$/ } @out), 0, "$what race: every answer 200, 201 or 409")
        or diag "@out";
    my $bad = 0;
    for my $cl (@c) {
        my $row = tdb()->selectrow_hashref('SELECT email, declined_at FROM clients WHERE id = ?',
                                           undef, $cl->{id});
        my $pending = tdb()->selectall_arrayref(
            "SELECT email FROM invitations WHERE client_id = ? AND representative_id IS NULL "
            . "AND status = 'pending'", { Slice => {} }, $cl->{id});
        for my $p (@$pending) {
            $bad++ if defined $row->{declined_at} || lc $p->{email} ne lc($row->{email} // '');
        }
    }
    is($bad, 0, "$what race: no pending invitation to an old address or for a declined client");
}

done_testing();
