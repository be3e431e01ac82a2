# t/token_restore.t — a database restored from a backup hands out again the invitation
# and outbox ids of the emails sent after the backup was taken. An email's link was
# derived from the server's secret and those two ids alone, so the next invitation after
# a restore carried exactly the link already in another client's mailbox: that client's
# click opened the new client's invitation (first name shown; decline without a date of
# birth; five wrong dates locked it). Found by a report-only security review. Each
# queued email now has a random part of its own (outbox.token_nonce, migration 032).
#
# The restore is played by removing the newest invitation and its email, so that the
# database gives their ids out again, as the restored file would.
use strict;
use warnings;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use Test::More;
use PortalTest;
use PortalTest::Invite;
use PortalTest::Admin ();

my @made;
END { eval { PortalTest::Admin::cleanup_clients(map { $_->{id} } @made); 1 } or warn "cleanup: $@" }
sub client { my $c = new_client(prefix => 'restore', visible_to => ['clin1'], @_); push @made, $c; $c }

sub invite {
    my $c = shift;
    my $d = json_ok(staff(POST => "/clients/$c->{id}/invitations", user => 'clin1'), 201,
                    "invite client $c->{id}");
    my ($outbox) = tdb()->selectrow_array('SELECT id FROM outbox WHERE invitation_id = ?',
                                          undef, $d->{id});
    return ($d->{id}, $outbox, scalar next_token($c->{email}));
}

# what the database would give out next after the rows of invitation $inv are gone
sub forget_invitation {
    my ($inv) = @_;
    my $dbh = tdb();
    $dbh->do('DELETE FROM outbox WHERE invitation_id = ?', undef, $inv);
    $dbh->do('DELETE FROM superseded_tokens WHERE invitation_id = ?', undef, $inv);
    $dbh->do('DELETE FROM invitations WHERE id = ?', undef, $inv);
    return if db_driver() ne 'pgsql';
    # PostgreSQL's sequences do not go back by themselves; a restored dump's do
    for my $t (qw(invitations outbox)) {
        $dbh->do("SELECT setval(pg_get_serial_sequence('$t', 'id'), "
               . "(SELECT coalesce(max(id), 0) + 1 FROM $t), false)");
    }
}

my $ana = client(first_name => 'Anaïs');
my $ben = client(first_name => 'Benedikt');

my ($inv_a, $out_a, $token_a) = invite($ana);
ok(defined $token_a, 'the first client got a link');
my ($nonce_a) = tdb()->selectrow_array('SELECT token_nonce FROM outbox WHERE id = ?', undef, $out_a);
like($nonce_a // '', qr/\A[0-9a-f]{32}\z/, 'the queued email has a random part of its own (32 hex)');

forget_invitation($inv_a);
my ($inv_b, $out_b, $token_b) = invite($ben);
is($inv_b, $inv_a, 'the "restored" database gave the invitation id out again');
is($out_b, $out_a, '... and the email id');
isnt($token_b, $token_a, "the second client's link is not the first client's");

my $res = rcpt(lookup => { token => $token_a });
error_ok($res, 404, 'invalid_token', "the first client's link opens nothing");
unlike($res->content, qr/Benedikt/, "... and never names the second client");
my $d = json_ok(rcpt(lookup => { token => $token_b }), 200, "the second client's link works");
is($d->{recipient_first_name}, 'Benedikt', '... for the second client');

# a repeated attempt of the same email (its outcome never recorded) keeps its link:
# the row's random part is read back, not made again
my ($nonce_b) = tdb()->selectrow_array('SELECT token_nonce FROM outbox WHERE id = ?', undef, $out_b);
isnt($nonce_b, $nonce_a, 'each queued email has its own random part');
tdb()->do("UPDATE outbox SET status = 'queued', next_attempt_at = 0, lease_until = NULL "
        . "WHERE id = ?", undef, $out_b);
my $again = next_token($ben->{email});
is($again, $token_b, 'the same email sent again carries the same link');
json_ok(rcpt(lookup => { token => $token_b }), 200, 'and that link still works');

done_testing();
