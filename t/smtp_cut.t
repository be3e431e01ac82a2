# t/smtp_cut.t — the mail relay closes the connection at the end of DATA without a reply
# (a relay restarted or a firewall timing out mid-send; t/smtp/catcher.py "DATA close")
# (issue 16). The worker cannot tell whether the message went out: the attempt is a
# temporary failure (retrying, PM00052), the email is sent again with the same link and
# goes out once (the relay kept nothing), and the next email opens a new connection
# instead of failing on the closed one. Throwaway httpd (PortalTest::Standalone).
use strict;
use warnings;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use Test::More;
use Time::HiRes qw(sleep);
use PortalTest qw(expect_log_ids);
use PortalTest::Delivery qw(new_client wait_until);
use PortalTest::Standalone;

# the cut attempt (PM00052)
expect_log_ids(qw(PM00052));

my $sa = PortalTest::Standalone->new(name => 'smtpcut');
my $started = eval { $sa->start; 1 };
ok($started, 'a throwaway server started') or diag $@;

sub mails_to { my ($to) = @_; scalar grep { grep { $_ eq $to } @{ $_->{rcpt_tos} || [] } } $sa->mails }
sub outbox_of {
    my ($dbh, $client) = @_;
    return $dbh->selectrow_hashref('SELECT o.* FROM outbox o JOIN invitations i ON i.id = o.invitation_id '
                                 . 'WHERE i.client_id = ? ORDER BY o.id DESC', undef, $client);
}

SKIP: {
    skip 'no server', 6 unless $started;
    my $dbh = $sa->db;
    my @c = map { new_client(dbh => $dbh) } 0 .. 1;
    my %email = map { $_ => $dbh->selectrow_array('SELECT email FROM clients WHERE id = ?', undef, $_) } @c;
    $sa->mail_replies('DATA close');
    is($sa->staff(POST => "/clients/$c[0]/invitations")->code, 201, 'an invite');
    my $row;
    ok(wait_until(sub { $row = outbox_of($dbh, $c[0]); $row->{status} eq 'sent' }, 15),
       'its email is sent after the cut attempt') or diag explain $row;
    is($row->{attempts}, 2, '... on the second attempt (the cut one counted, retried)');
    is(mails_to($email{ $c[0] }), 1, '... and went out once');
    is($sa->staff(POST => "/clients/$c[1]/invitations")->code, 201, 'the next invite');
    ok(wait_until(sub { $row = outbox_of($dbh, $c[1]); $row->{status} eq 'sent' && $row->{attempts} == 1 }, 10),
       'its email is sent on the first attempt') or diag explain $row;
}

$sa->stop if $started;
done_testing();
