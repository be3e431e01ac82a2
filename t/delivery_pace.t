# t/delivery_pace.t — the delivery worker's pace (setting max_emails_per_minute, issue 15):
# a burst of invitations goes out at most that many per minute, counted over every worker
# on the database, the rest waiting queued; a pace used up is not a stalled worker (health
# stays 200); a higher setting takes effect on the next pass. A server of its own (fresh
# database and catcher), so the minute's count starts at zero.
use strict;
use warnings;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use Test::More;
use Time::HiRes qw(sleep);
use PortalTest qw(decode_json_body);
use PortalTest::Delivery qw(wait_until);
use PortalTest::Standalone;

my @CLIENTS = (1, 3, 4, 5, 6, 7, 8, 9);     # seed clients with an email address

my $sa = PortalTest::Standalone->new(name => 'pace');
my $started = eval { $sa->start; 1 };
ok($started, 'standalone server started') or diag $@;
if ($started) {
    is($sa->staff(PUT => '/admin/settings', json => { max_emails_per_minute => 3 })->code, 200,
       'the champion sets max_emails_per_minute 3');
    my @codes = map { $sa->staff(POST => "/clients/$_/invitations")->code } @CLIENTS;
    is(join(',', @codes), join(',', ('201') x @CLIENTS), 'eight invitations queued');
    wait_until(sub { $sa->mail_count >= 3 }, 15);
    sleep 3;                                 # six more passes at the 500 ms interval
    is($sa->mail_count, 3, 'max_emails_per_minute 3: three emails in the first minute');
    my ($sent, $queued) = $sa->db->selectrow_array(
        "SELECT sum(CASE WHEN status = 'sent' THEN 1 ELSE 0 END), "
      . "sum(CASE WHEN status = 'queued' THEN 1 ELSE 0 END) FROM outbox");
    is("$sent/$queued", '3/5', 'the other five wait queued');
    my ($charged) = $sa->db->selectrow_array(
        "SELECT count(*) FROM outbox WHERE status = 'queued' AND attempts > 0");
    is($charged, 0, 'no attempt is charged to an email the pace holds back');
    is($sa->staff(GET => '/health', user => undef)->code, 200,
       'a pace used up is not a stalled worker: health 200');
    my $res = $sa->staff(PUT => '/admin/settings', json => { max_emails_per_minute => 100 });
    is($res->code, 200, 'the champion raises the pace to 100');
    wait_until(sub { $sa->mail_count >= @CLIENTS }, 15);
    is($sa->mail_count, scalar @CLIENTS, 'the rest go out on the next passes');
    $sa->stop;
}

done_testing();
