# t/restart.t — a graceful restart (what log rotation and `apachectl graceful` do) ends
# the old children cleanly: no child dies on a signal. The delivery worker polls the
# database every PortalOutboxInterval (100 ms here), so a child often exits while the
# worker holds a mod_dbd connection; mod_dbd's pool must not be destroyed under it
# (apr_reslist asserts "rl->ntotal == 0" and the child aborts with a core dump). On
# PostgreSQL the worker used to spend most of each tick inside apr_dbd_get_row's 0.1 s
# sleep on an empty result (see t/store_empty_results.t), so nearly every restart hit it.
use strict;
use warnings;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use Test::More;
use Time::HiRes qw(sleep time);
use PortalTest;
use PortalTest::Env ();

# provoked on purpose: each restart repeats the configtest warning for the test config's
# /portal-manager/api2 and /noauth/api mounts, which have no admin section on purpose
expect_log_ids(qw(PM00102));

my $top = PortalTest::Env::top_dir();
my $pidfile = "$top/t/logs/httpd.pid";
my $error_log = "$top/t/logs/error_log";

sub log_size { PortalTest::Env::log_size($error_log) }
sub log_since { PortalTest::Env::log_since($error_log, shift) }

sub wait_up {
    my $deadline = time + 20;
    while (time < $deadline) {
        my $res = staff(GET => '/me', user => 'clin1', timeout => 5);
        return 1 if $res->code == 200;
        sleep 0.1;
    }
    return 0;
}

my $pid = do { open my $fh, '<', $pidfile or die "$pidfile: $!"; local $/; <$fh> };
chomp $pid;
ok($pid =~ /^\d+$/ && kill(0, $pid), "httpd parent is running (pid $pid)");

my $start = log_size();
my $restarts = 8;
for my $n (1 .. $restarts) {
    # some traffic for the database, then the restart
    staff(GET => '/clients?limit=5', user => 'admin') for 1 .. 3;
    my $before = log_size();
    kill 'USR1', $pid or die "kill USR1 $pid: $!";
    my $deadline = time + 20;
    sleep 0.1 while log_since($before) !~ /AH00493|resuming normal operations/ && time < $deadline;
    ok(wait_up(), "graceful restart $n: the server answers again");
    sleep 0.4 + rand(0.4);
}
sleep 3;    # the old children finish and exit

my @bad = grep { /exit signal|Assertion|dumped core|AH00051/ } split /\n/, log_since($start);
is(scalar @bad, 0, "$restarts graceful restarts: no child died on a signal")
    or diag join "\n", @bad[0 .. ($#bad < 9 ? $#bad : 9)];
json_ok(staff(GET => '/clients?limit=1', user => 'clin1'), 200, 'the API works after the restarts');

done_testing();
