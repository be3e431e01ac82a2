# t/sqlite_replaced.t — the SQLite file replaced under a running httpd (issue 16): an
# admin's careless restore moves a backup over portal.db while Apache runs. Each child's
# pooled connections still hold the old file: their writes answered 201 and a checkpoint
# then wrote them into the file no longer at the path (lost), while the next connection
# reads the new one. Now a request on such a connection answers the JSON 503
# database_unavailable, one PM00651 line per child says what happened and to restart
# Apache (restore with Apache stopped), every 201 is in the file at the path, and after
# `apachectl graceful` the API writes there again. Throwaway httpd (PortalTest::Standalone).
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

plan skip_all => 'a file replaced under httpd is an SQLite case' if PortalTest::db_driver() ne 'sqlite3';

# the replaced file (PM00651); and the worker's pass that sent an invitation just as the
# file moved or Apache restarted gracefully: its outcome is written again (PM00331, seen
# once on a loaded machine)
expect_log_ids(qw(PM00651 PM00331));

# every commit checkpoints (SQLite's default is every 1000 pages): what a busy day does
# sooner or later, here at once
my $sa = PortalTest::Standalone->new(name => 'replaced',
    extra_conf => 'DBDInitSQL "PRAGMA wal_autocheckpoint = 1"');
my $started = eval { $sa->start; 1 };
ok($started, 'a throwaway server on SQLite started') or diag $@;

SKIP: {
    skip 'no server', 9 unless $started;
    my $dbh = $sa->db;
    my @c = map { new_client(dbh => $dbh) } 0 .. 12;
    my $file = $sa->{db_file};
    $sa->staff(GET => "/clients/$c[0]") for 1 .. 20;      # every child holds a connection
    $dbh->sqlite_backup_to_file("$file.restore");
    $dbh->disconnect;
    my $from = -s $sa->error_log;
    ok(rename("$file.restore", $file), 'a backup moved over portal.db while httpd runs');

    my %got = map { my $r = $sa->staff(POST => "/clients/$c[$_]/invitations"); ($c[$_] => answer_of($r)) } 1 .. 10;
    my @odd = grep { $got{$_} !~ /^(201 |503 database_unavailable)$/ } sort keys %got;
    is("@odd", '', 'each invite answers 201 (a connection on the new file) or the JSON 503 database_unavailable')
        or diag explain \%got;
    my @refused = grep { $got{$_} =~ /^503/ } keys %got;
    cmp_ok(scalar(@refused), '>=', 1, 'the connections on the old file are refused ('
           . scalar(@refused) . ' of 10)');
    sleep 0.5;                                           # the worker's passes meet it too
    my $log = substr(PortalTest::Env::slurp($sa->error_log), $from);
    my @lines = grep { /:error\]/ } $log =~ /^.*PM00651.*$/mg;
    like($lines[0] // '', qr/PM00651: the SQLite file \Q$file\E was removed or replaced while httpd runs: .*restart Apache now \(apachectl graceful\).*only with Apache stopped/,
         'PM00651 says the file was replaced and to restart Apache');
    cmp_ok(scalar(@lines), '<=', scalar($sa->children), 'at most one such error line per child ('
           . scalar(@lines) . ')');

    $sa->graceful;
    my $res;
    ok(wait_until(sub { $res = $sa->staff(POST => "/clients/$c[11]/invitations"); $res->code == 201 }, 15),
       'after apachectl graceful: an invite 201') or diag $res->code . ' ' . $res->decoded_content;
    $dbh = $sa->db;
    my @lost = grep { $got{$_} =~ /^201/
                      && !($dbh->selectrow_array('SELECT count(*) FROM invitations WHERE client_id = ?', undef, $_))[0] }
               sort keys %got;
    is("@lost", '', 'every invite answered 201 after the replace is in the file at the path (none went to the old file)');
    is(($dbh->selectrow_array('SELECT count(*) FROM invitations WHERE client_id = ?', undef, $c[11]))[0], 1,
       '... nor the one after the restart');
    $dbh->disconnect;
}

$sa->stop if $started;
done_testing();
