# t/sqlite_root_dir.t — the SQLite database's directory owned by root (or not writable by
# httpd's user for another reason): httpd cannot create the -wal and -shm files beside the
# file, so no connection passes the schema check ("attempt to write a readonly database").
# The delivery worker meets it every pass (100 ms here) and every request too: the log says
# so once a minute per child (PM00603, throttled as the other outage lines), and names the
# remedy (chown the directory and file to httpd's user), not DBDriver/DBDParams (issue 16).
# Throwaway httpd (PortalTest::Standalone). PostgreSQL has no such directory: skipped there.
use strict;
use warnings;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use Test::More;
use File::Path qw(make_path remove_tree);
use Time::HiRes qw(sleep);
use PortalTest qw(answer_of expect_log_ids);
use PortalTest::Env ();
use PortalTest::Standalone;

plan skip_all => 'a database directory is an SQLite case' if PortalTest::db_driver() ne 'sqlite3';

# provoked on purpose: the schema check cannot run, so no connection
expect_log_ids(qw(PM00011 PM00017 PM00603 PM00652));

my $db_dir = PortalTest::Env::top_dir() . "/t/logs/sqlite-root-dir-$$";
make_path($db_dir);
my $sa = PortalTest::Standalone->new(name => 'rootdir', db_dir => $db_dir);
my $started = eval { $sa->start; 1 };
ok($started, 'a throwaway server on SQLite started') or diag $@;

SKIP: {
    skip 'no server', 7 unless $started;
    $sa->stop_httpd;                             # the last connection removes -wal and -shm
    my $file = $sa->{db_file};
    ok(!-e "$file-wal" && !-e "$file-shm", 'no -wal or -shm file beside the database');
    # as root the children run as another user: the directory given back to root does it;
    # otherwise the directory's write bit taken away
    if ($> == 0) { chown 0, 0, $db_dir; chmod 0755, $db_dir }
    else         { chmod 0555, $db_dir }
    # root's own connection (portal-manager-admin run as root, say) holds -wal and -shm
    my $root_dbh = $> == 0 ? $sa->db : undef;
    $root_dbh->do('SELECT count(*) FROM clients') if $root_dbh;
    $sa->start_httpd(keep_owner => 1);
    my @got = map { answer_of($sa->staff(GET => '/me')) } 1 .. 5;
    is(scalar(grep { /^503/ } @got), 5, 'each request answers 503') or diag "answers: @got";
    sleep 3;                                     # 30 delivery worker passes
    my $log = PortalTest::Env::slurp($sa->error_log);
    my @unread = grep { /:error\]/ } $log =~ /^.*PM00603.*$/mg;
    my $kids = () = $sa->children;
    # (here mod_dbd itself fails to prepare, AH00632, before the schema check: PM00603 is
    # the line when the connection opens and the schema read meets the read-only file)
    cmp_ok(scalar(@unread), '<=', $kids + 1,
           'PM00603 at error level at most once per child in 3 s of passes and requests ('
           . scalar(@unread) . " lines, $kids children)") or diag join "\n", @unread[0 .. 3];
    is(scalar(grep { !/chown -R www-data/ } @unread), 0, 'each PM00603 line names the remedy: chown -R to httpd\'s user');
    my @away = grep { /:error\]/ } $log =~ /^.*PM000(?:11|17):.*$/mg;
    ok(@away && !grep({ /DBDriver/ || !/directory and file must be owned by the user httpd runs as.*chown -R www-data/ } @away),
       'the "no database connection" lines name the chown, not DBDriver/DBDParams')
        or diag join "\n", @away[0 .. 1];
    cmp_ok(scalar(@away), '<=', 2 * ($kids + 1), 'and at most one per child and kind (' . scalar(@away) . ')');
    $sa->stop_httpd;
    $root_dbh->disconnect if $root_dbh;
}

chmod 0755, $db_dir;
$sa->stop if $started;
remove_tree($db_dir);
done_testing();
