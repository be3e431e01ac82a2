# t/db_busy_line.t — a busy PostgreSQL is waited for, a stuck one is not. Threads of a
# child take turns for mod_dbd's pool (src/httpd/pm_db_guard.c); a thread gives up with 503
# when the line has not moved for PortalDBTimeout (2 s), i.e. no statement of its child
# was answered in that time. Here the database answers every statement, but slowly: a
# trigger of this server's own schema holds each audit row 0.3 s, and each child has one
# pooled connection (DBDMax 1), so a burst of 20 audited reads forms a line of about 6 s
# whose every step is an answer. All 20 must answer 200. (Before the line was judged by
# its movement, a thread gave up 2 s after it began to wait: CI saw 5 of t/audit_parallel.t's
# 240 reads answer 503 on a loaded machine.) The other side, a database that does not
# answer, is t/db_freeze.t. SQLite takes no turns (a file cannot freeze): skipped there.
use strict;
use warnings;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use Test::More;
use Time::HiRes qw(time);
use PortalTest;
use PortalTest::Invite qw(run_concurrently);
use PortalTest::Standalone;

if (db_driver() ne 'pgsql') {
    plan skip_all => 'acquire turns are taken on PostgreSQL only (SQLite has none)';
}

my $N = 20;
my $HOLD = 0.3;
my $sa = PortalTest::Standalone->new(name => 'busyline', extra_conf => "DBDMax 1\nDBDKeep 1");
ok(eval { $sa->start; 1 }, 'a server with one pooled connection a child started') or diag $@;
is($sa->staff(GET => '/clients/1')->code, 200, 'GET /clients/1 before the burst');

my $dbh = $sa->db;
$dbh->do(<<"SQL");
CREATE FUNCTION slow_audit_row() RETURNS trigger LANGUAGE plpgsql AS \$\$
BEGIN PERFORM pg_sleep($HOLD); RETURN NEW; END \$\$
SQL
$dbh->do('CREATE TRIGGER slow_audit_row BEFORE INSERT ON audit_log '
       . 'FOR EACH ROW EXECUTE FUNCTION slow_audit_row()');
my ($before) = $dbh->selectrow_array("SELECT count(*) FROM audit_log WHERE action = 'client.view'");

my $t0 = time;
my @answers = run_concurrently($N, sub {
    my $k = shift;
    delete $sa->{ua};              # a connection of its own, not the parent's kept-alive one
    my $t = time;
    my $res = $sa->staff(GET => '/clients/' . (1 + $k % 10));
    return sprintf '%d %.2f', $res->code, time - $t;
});
my $took = time - $t0;
my %codes;
$codes{(split ' ', $_)[0] // 'none'}++ for @answers;
my ($slowest) = sort { $b <=> $a } map { (split ' ', $_)[1] // 0 } @answers;
is_deeply(\%codes, { 200 => $N }, "$N audited reads through one connection a child: every one "
          . sprintf('answered 200 (the slowest after %.1f s, the burst %.1f s)', $slowest, $took))
    or diag "code and seconds of each: @answers";
cmp_ok($slowest, '>', 2, 'the line was longer than PortalDBTimeout (else this proves nothing)');
my ($after) = $dbh->selectrow_array("SELECT count(*) FROM audit_log WHERE action = 'client.view'");
is($after - $before, $N, 'one client.view row per answer');

$dbh->do('DROP TRIGGER slow_audit_row ON audit_log');
$dbh->disconnect;
$sa->stop;
done_testing();
