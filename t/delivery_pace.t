# t/delivery_pace.t — the delivery worker's pace (setting max_emails_per_minute, issue 15):
# a burst of invitations goes out at most that many per minute, counted over every worker
# on the database, the rest waiting queued; a pace used up is not a stalled worker (health
# stays 200); a higher setting takes effect on the next pass. A server of its own (fresh
# database and catcher), so the minute's count starts at zero. Then two servers on one
# database and a slow relay: the emails one server holds claimed count against the
# pace the other reads (before, each counted only what had been sent: both spent the
# whole minute's pace, 8 emails for a pace of 4).
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

# Two servers on one database, a relay that keeps each message a second: server A's
# senders hold its four emails for seconds, and B's passes (every 100 ms) must count
# them as spent.
my $sa2 = PortalTest::Standalone->new(name => 'pace-a', catcher => ['--delay', '1.0']);
my $sb = PortalTest::Standalone->new(name => 'pace-b', share => $sa2);
my $both = eval { $sa2->start; $sb->start; 1 };
ok($both, 'two servers started on one database') or diag $@;
if ($both) {
    is($sa2->staff(PUT => '/admin/settings', json => { max_emails_per_minute => 4 })->code, 200,
       'two servers: the champion sets max_emails_per_minute 4');
    my @codes = map { $sa2->staff(POST => "/clients/$_/invitations")->code } @CLIENTS;
    is(join(',', @codes), join(',', ('201') x @CLIENTS), 'two servers: eight invitations queued');
    wait_until(sub { $sa2->mail_count >= 4 }, 20);
    sleep 3;                                 # B passes every 100 ms meanwhile
    is($sa2->mail_count, 4, 'two servers: four emails in the first minute, not four each');
    my ($sent, $queued) = $sa2->db->selectrow_array(
        "SELECT sum(CASE WHEN status = 'sent' THEN 1 ELSE 0 END), "
      . "sum(CASE WHEN status = 'queued' THEN 1 ELSE 0 END) FROM outbox");
    is("$sent/$queued", '4/4', 'two servers: the other four wait queued');
    is($sa2->staff(PUT => '/admin/settings', json => { max_emails_per_minute => 100 })->code, 200,
       'two servers: the champion raises the pace to 100');
    ok(wait_until(sub { $sa2->mail_count >= @CLIENTS }, 20), 'two servers: the rest go out');
}
$sb->stop;
$sa2->stop;

done_testing();
