# t/sqlite_read_only.t — the SQLite file made read-only for httpd's user while Apache
# runs (issue 16; a chmod, a restore as root), then the nightly graceful restart of log
# rotation: the new children's connections can only read. Every write answers the JSON
# 503 database_unavailable and keeps nothing; the log says so in one PM00652 line per
# child (chown the files to httpd's user), not one line per write and per delivery
# worker pass (every 100 ms); once the files are writable again, writes work again
# without a restart. (At startup, t/schema_check.t.) Throwaway httpd
# (PortalTest::Standalone), run as a user to whom file modes apply.
# PostgreSQL has no such file: the file says so and skips on that run.
use strict;
use warnings;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use Test::More;
use Time::HiRes qw(sleep time);
use PortalTest qw(answer_of expect_log_ids);
use PortalTest::Env ();
use PortalTest::Delivery qw(new_client wait_until);
use PortalTest::Standalone;

plan skip_all => 'a read-only database file is an SQLite case' if PortalTest::db_driver() ne 'sqlite3';
plan skip_all => 'as root, file modes do not stop httpd (its children would run as another user)' if $> == 0;

# the read-only file (PM00652)
expect_log_ids(qw(PM00652));

my $sa = PortalTest::Standalone->new(name => 'readonly');
my $started = eval { $sa->start; 1 };
ok($started, 'a throwaway server on SQLite started') or diag $@;

SKIP: {
    skip 'no server', 7 unless $started;
    my $dbh = $sa->db;
    my @c = map { new_client(dbh => $dbh) } 0 .. 9;
    $dbh->disconnect;
    my $file = $sa->{db_file};
    my @files = grep { -e } $file, "$file-wal", "$file-shm";
    # the log from here: a new child's worker may meet the read-only file (and say so,
    # once a minute) before the requests below (the sanitizer's build, slower to start)
    my $from = -s $sa->error_log;
    is(chmod(0444, @files), scalar(@files), 'the database files made read-only');
    $sa->graceful;
    sleep 1.5;                                   # the new generation's children are up
    my $t0 = time;
    my @got = map { my $r = $sa->staff(POST => "/clients/$c[$_]/invitations"); answer_of($r) } 1 .. 5;
    is(scalar(grep { $_ eq '503 database_unavailable' } @got), 5, 'read-only: each invite answers the JSON 503')
        or diag "answers: @got";
    sleep 2.5 - (time - $t0) if time - $t0 < 2.5;    # 25 worker passes
    my $log = substr(PortalTest::Env::slurp($sa->error_log), $from);
    my @errors = grep { /:error\]/ } $log =~ /^.*readonly database.*$/mg;
    cmp_ok(scalar(@errors), '<=', scalar($sa->children),
           'read-only: at most one error line per child in 2.5 s of worker passes and requests ('
           . scalar(@errors) . ')');
    like($errors[0] // '', qr/PM00652: .*readonly database \(the SQLite file, .*not writable by the user httpd runs as: chown/,
         'PM00652 says to chown the files to httpd\'s user');
    $dbh = $sa->db;
    is(($dbh->selectrow_array('SELECT count(*) FROM invitations'))[0], 0, 'read-only: no invitation kept');
    $dbh->disconnect;

    chmod 0644, @files;
    my $res;
    my $back = time;
    ok(wait_until(sub { $res = $sa->staff(POST => "/clients/$c[6]/invitations"); $res->code == 201 }, 20),
       'writable again: an invite 201 without a restart (' . sprintf('%.1f', time - $back) . ' s)')
        or diag $res->code . ' ' . $res->decoded_content;
}

$sa->stop if $started;
done_testing();
