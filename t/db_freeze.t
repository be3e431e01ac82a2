# t/db_freeze.t — a PostgreSQL server that stops answering (SIGSTOP of every process
# of its cluster: what a network partition looks like to libpq) never hangs httpd
# (issue 16): staff requests that need the database answer 503 within PortalDBTimeout
# (2 s) plus the reconnect's connect_timeout, a page that needs no database is served
# all along, and once the server answers again (SIGCONT) the API answers 200 again
# without a restart. The case runs on a throwaway cluster of its own, so freezing it
# touches no other test's database. SQLite has no server to freeze: the file says so
# and skips on that run.
use strict;
use warnings;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use Test::More;
use Time::HiRes qw(sleep time);
use POSIX ();
use PortalTest qw(expect_log_ids);
use PortalTest::Env ();
use PortalTest::Delivery qw(new_client);
use PortalTest::PgCluster ();
use PortalTest::Standalone;

if (PortalTest::db_driver() ne 'pgsql') {
    plan skip_all => 'a frozen database server is a PostgreSQL case (SQLite has no server)';
}

# the cut statements (PM00540), what each of those requests logs on the way to its 503
# (the executor's failure, a transaction that could not start, no connection, the audit
# row not written and health turned by it (PM00706), the worker's pass)
expect_log_ids(qw(PM00706 PM00540 PM00011 PM00012 PM00013 PM00014 PM00015 PM00016 PM00017 PM00546 PM00547 PM00040 PM00041
                  PM00330 PM00331 PM00332 PM00333 PM00334 PM00337 PM00338));

my $pg = PortalTest::PgCluster->start;
END { $pg->stop if $pg }

sub signal_cluster { $pg->signal(@_) }

# GET of a staff URL in a child process; its status and seconds land in $file
sub timed_get_in_child {
    my ($sa, $path, $file) = @_;
    my $pid = fork // die "fork: $!";
    return $pid if $pid;
    my $t0 = time;
    $sa->{ua} = LWP::UserAgent->new(timeout => 20);
    my $res = $sa->staff(GET => $path);
    open my $fh, '>', $file or POSIX::_exit(1);
    printf $fh "%d %.3f\n", $res->code, time - $t0;
    close $fh;
    POSIX::_exit(0);
}

local $ENV{PM_DB_PARAMS} = "$pg->{PM_DB_PARAMS} connect_timeout=2";
my $sa = PortalTest::Standalone->new(name => 'freeze');
my $started = eval { $sa->start; 1 };
ok($started, 'a server on a cluster of its own started') or diag $@;

SKIP: {
    skip 'no server', 10 unless $started;
    my $cid = new_client(dbh => $sa->db);
    open my $fh, '>', "$sa->{dir}/docroot/plain.txt" or die "plain.txt: $!";
    print $fh "no database here\n";
    close $fh;
    is($sa->staff(GET => "/clients/$cid")->code, 200, 'before the freeze: GET /clients/{id} 200');
    # every child of the server holds a connection it has used (the pool's idle ones)
    $sa->staff(GET => "/clients/$cid") for 1 .. 20;

    ok(signal_cluster('STOP') >= 2, 'every PostgreSQL process of the cluster stopped (SIGSTOP)');
    my $dir = "$sa->{dir}/freeze";
    mkdir $dir;
    my $n = 40;
    my @kids = map { timed_get_in_child($sa, "/clients/$cid", "$dir/$_") } 1 .. $n;
    sleep 0.5;
    my $ua = LWP::UserAgent->new(timeout => 20);
    my ($static_ok, $static_max) = (0, 0);
    for (1 .. 5) {
        my $t0 = time;
        my $res = $ua->get($sa->base_url . '/plain.txt');
        my $dt = time - $t0;
        $static_max = $dt if $dt > $static_max;
        $static_ok++ if $res->code == 200;
        sleep 0.3;
    }
    waitpid $_, 0 for @kids;
    my @got = map { PortalTest::Env::slurp("$dir/$_") // '' } 1 .. $n;
    my @codes = map { (split ' ')[0] // 0 } @got;
    my @secs = map { (split ' ')[1] // 99 } @got;
    my ($max) = sort { $b <=> $a } @secs;
    is(scalar(grep { $_ == 503 } @codes), $n, "frozen: all $n staff requests answered 503")
        or diag "codes: @codes";
    cmp_ok($max, '<', 6, "frozen: the slowest answered within 6 s (PortalDBTimeout 2 s "
           . '+ connect_timeout 2 s + slack; measured ' . sprintf('%.2f', $max) . ' s)');
    is($static_ok, 5, 'frozen: a page that needs no database was served every time');
    cmp_ok($static_max, '<', 1, 'frozen: ... each within 1 s ('
           . sprintf('%.3f', $static_max) . ' s)');
    my $t0 = time;
    my $res = $sa->staff(GET => "/clients/$cid");
    cmp_ok(time - $t0, '<', 6, 'frozen: a request after the burst is answered too, in time');
    is($res->code, 503, '... with 503');

    ok(signal_cluster('CONT') >= 2, 'the cluster runs again (SIGCONT)');
    my $back = time;
    my $code = 0;
    while (time - $back < 15) {
        $code = $sa->staff(GET => "/clients/$cid")->code;
        last if $code == 200;
        sleep 0.2;
    }
    is($code, 200, 'after the freeze: GET /clients/{id} 200 again, no restart ('
       . sprintf('%.2f', time - $back) . ' s after SIGCONT)');
    # and stays so: every pooled connection, the cut ones too (mod_dbd reconnects a cut
    # connection in place: a new session that has none of the old one's prepared
    # statements), serves its next requests
    my @after = map { $sa->staff(GET => "/clients/$cid")->code } 1 .. 60;
    is(scalar(grep { $_ != 200 } @after), 0, 'after the freeze: the next 60 requests all 200')
        or diag "codes: @after";

    # every server process of the pooled connections ended (pg_terminate_backend: what a
    # PostgreSQL restart or a cut does to them): mod_dbd reconnects each in place, a new
    # session without the module's prepared statements, which the module must prepare
    # again instead of failing "prepared statement ... does not exist" until the child exits
    my $log_from = -s $sa->error_log;
    my $dbh = $sa->db;
    my $ended = $dbh->selectcol_arrayref(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
      . "WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()");
    cmp_ok(scalar(grep { $_ } @$ended), '>=', 2, 'the pooled connections\' server processes ended ('
           . scalar(@$ended) . ')');
    my @codes = map { $sa->staff(GET => "/clients/$cid")->code } 1 .. 60;
    my $bad = grep { $_ != 200 } @codes[5 .. $#codes];
    is($bad, 0, 'backends ended: after the first few (each cut connection answers 503 once), '
       . 'every request 200') or diag "codes: @codes";
    sleep 1.5;                                    # the delivery worker's passes too
    my $log = PortalTest::Env::slurp($sa->error_log);
    my $since = substr($log, $log_from);
    unlike($since, qr/prepared statement "pm_\w+" does not exist/,
           'no statement used on a session that never prepared it');
    like($since, qr/PM00606: a database connection was re-established/,
         'PM00606 says the session was set up again');
}

$sa->stop if $started;
done_testing();
