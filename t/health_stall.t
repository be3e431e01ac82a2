# t/health_stall.t — GET …/api/health answers 503 when the delivery worker stops making
# passes. On a throwaway httpd (t/lib/PortalTest/Standalone.pm) with a short interval and
# mail timeout (stalled after 5 x 100 ms + 1 s), each child in turn is stopped (SIGSTOP):
# stopping the one that runs the worker (a mod_watchdog singleton) turns health to 503 as
# seen from the other child; stopping the other leaves it 200; SIGCONT brings 200 back.
use strict;
use warnings;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use Test::More;
use LWP::UserAgent ();
use Time::HiRes qw(sleep);
use PortalTest qw(expect_log_ids);
use PortalTest::Env ();
use PortalTest::Delivery qw(wait_until);
use PortalTest::Standalone;

sub health {
    my $sa = shift;
    my $ua = LWP::UserAgent->new(keep_alive => 0, timeout => 10);
    return $ua->get($sa->base_url . '/portal-manager/api/health')->code;
}

sub children {
    my $sa = shift;
    my $parent = PortalTest::Env::slurp("$sa->{dir}/httpd.pid");
    chomp $parent;
    my @kids = grep { /^\d+$/ } split ' ', qx{pgrep -P $parent};
    return @kids;
}

my $sa = PortalTest::Standalone->new(name => 'stall',
    portal => { PortalOutboxInterval => 100, PortalMailTimeout => 1 },
    extra_conf => "MinSpareThreads 25");
if (ok(eval { $sa->start; 1 }, 'standalone server started') || diag $@) {
    ok(wait_until(sub { health($sa) == 200 }, 10), 'health 200 while the worker runs');
    my @kids = children($sa);
    cmp_ok(scalar @kids, '>=', 2, 'at least two children') or diag "@kids";
    my %seen;
    for my $pid (@kids) {
        kill 'STOP', $pid;
        sleep 2.5;                     # more than 5 intervals + PortalMailTimeout
        $seen{$pid} = health($sa);
        kill 'CONT', $pid;
        ok(wait_until(sub { health($sa) == 200 }, 10), "child $pid continued: health 200 again");
    }
    is(scalar(grep { $_ == 503 } values %seen), 1, 'stopping the worker\'s child: 503')
        or diag explain \%seen;
    is(scalar(grep { $_ == 200 } values %seen), @kids - 1, 'stopping any other child: 200')
        or diag explain \%seen;
    $sa->stop;
}

done_testing();
