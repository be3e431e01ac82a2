# t/schema_check.t — the module checks the database's schema version on each new
# connection (src/httpd/pm_store.c). On a throwaway httpd (PortalTest::Standalone), the
# database is set back as an upgrade without `portal-manager-admin init` leaves it, then
# stripped of its schema_version table, then set ahead as after a downgrade:
#   - behind: every staff request 503 with the JSON envelope, health 503, one PM00601 line
#     per child naming both versions and `portal-manager-admin init`, no statement errors
#     (PM00013) on the way; once the version is right, 200 again with no restart;
#   - no schema table: the same with PM00600;
#   - ahead: served (200) with one PM00602 warning per child;
#   - SQLite, a file httpd's user cannot write: the log line says to chown it.
use strict;
use warnings;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use Test::More;
use LWP::UserAgent ();
use Time::HiRes qw(sleep);
use PortalTest qw(decode_json_body expect_log_ids);
use PortalTest::Env ();
use PortalTest::Delivery qw(wait_until);
use PortalTest::Standalone;

# provoked on purpose: a database behind, without, and ahead of the module's schema, and
# the worker's and the requests' "no database connection" while it is so
expect_log_ids(qw(PM00011 PM00013 PM00015 PM00016 PM00017 PM00547 PM00600 PM00601 PM00602 PM00652));   # (PM00604 is a notice)

my ($newest) = PortalTest::Env::schema_version_sql('sqlite3') =~ /(\d+)$/;

sub health {
    my $sa = shift;
    my $ua = LWP::UserAgent->new(keep_alive => 0, timeout => 10);
    return $ua->get($sa->base_url . '/portal-manager/api/health')->code;
}

sub log_count {
    my ($sa, $re) = @_;
    my $log = eval { PortalTest::Env::slurp($sa->error_log) } // '';
    return scalar(() = $log =~ /$re/g);
}

# the database as the admin left it, then httpd started on it (new connections)
sub restart_with {
    my ($sa, @sql) = @_;
    $sa->stop_httpd;
    my $db = $sa->db;
    $db->do($_) for @sql;
    $sa->start_httpd;
}

my $sa = PortalTest::Standalone->new(name => 'schema');
if (ok(eval { $sa->start; 1 }, 'standalone server started') || diag $@) {
    ok(wait_until(sub { health($sa) == 200 }, 10), "schema $newest: health 200");
    is($sa->staff(GET => '/me')->code, 200, "schema $newest: GET /me 200");

    # --- behind: the package upgraded, init not run
    my $behind = $newest - 8;
    restart_with($sa, "UPDATE schema_version SET version = $behind");
    my $before13 = log_count($sa, qr/PM00013/);
    for my $i (1 .. 12) {
        my $res = $sa->staff(GET => '/me');
        is($res->code, 503, "schema $behind: GET /me 503 ($i)") if $i <= 3;
    }
    my $res = $sa->staff(POST => '/clients/1/invitations', json => {});
    is($res->code, 503, "schema $behind: an invite 503");
    my $body = decode_json_body($res) || {};
    is($body->{error}{code}, 'database_unavailable', 'the JSON envelope, database_unavailable')
        or diag explain $body;
    is(health($sa), 503, "schema $behind: health 503");
    sleep 1.5;                                   # the delivery worker's passes meanwhile
    my $lines = log_count($sa, qr/:error\].* PM00601: the database schema is version $behind, this module needs $newest: .*portal-manager-admin init/);
    my @kids = $sa->children;
    cmp_ok($lines, '>=', 1, "schema $behind: PM00601 names both versions and the command");
    cmp_ok($lines, '<=', scalar(@kids) + 1, "schema $behind: once per child ($lines lines, "
           . scalar(@kids) . ' children), not per request or pass');
    is(log_count($sa, qr/PM00013/) - $before13, 0, "schema $behind: no statement failed on the way");
    # the outage lines point at init, not at DBDriver/DBDParams (PM00601 is the cause)
    my @outage = grep { /PM000(11|17):/ } (eval { PortalTest::Env::slurp($sa->error_log) } // '') =~ /^.*\n/mg;
    ok(@outage && !grep({ /DBDriver/ } @outage), "schema $behind: no outage line sends the admin to DBDriver/DBDParams")
        or diag @outage;
    ok(@outage && !grep({ !/schema is older than this module's: run portal-manager-admin init/ } @outage),
       "schema $behind: each outage line names init") or diag @outage;
    my $away = log_count($sa, qr/:error\].* PM000(11|17):/);
    cmp_ok($away, '<=', 2 * (scalar(@kids) + 1),
           "schema $behind: \"no database connection\" at error level once per child and kind "
           . "($away lines for 13 requests and the worker's passes), not per request or pass");
    # init ran (the version is right again): served again without a restart
    $sa->db->do("UPDATE schema_version SET version = $newest");
    ok(wait_until(sub { health($sa) == 200 }, 10), 'version right again: health 200, no restart');
    is($sa->staff(GET => '/me')->code, 200, 'version right again: GET /me 200');
    ok(wait_until(sub { log_count($sa, qr/PM00604: the database answers again/) >= 1 }, 5),
       'version right again: PM00604 says the database answers again');
    # SQLite: stock mod_authn_dbd's prepared login query fails ("database schema has
    # changed") until a reload; the line that says the database answers again says so
    my $reload = qr/PM00604: the database answers again .*reload Apache now \(systemctl reload apache2\), the client portal's login \(mod_authn_dbd\) answers 500 until then/;
    if ($sa->{driver} eq 'sqlite3') {
        ok(wait_until(sub { log_count($sa, $reload) >= 1 }, 5),
           'SQLite, schema upgraded while serving: PM00604 says to reload Apache for the portal login');
    }
    else {
        is(log_count($sa, $reload), 0, 'PostgreSQL: PM00604 asks for no reload (the login query is prepared again)');
    }

    # --- no schema_version table at all (a database not made by portal-manager-admin)
    restart_with($sa, 'DROP TABLE schema_version');
    is($sa->staff(GET => '/me')->code, 503, 'no schema_version: GET /me 503');
    is(health($sa), 503, 'no schema_version: health 503');
    ok(wait_until(sub { log_count($sa, qr/PM00600: the database has no Client Portal Manager schema .*portal-manager-admin init/) >= 1 }, 5),
       'no schema_version: PM00600 says to run portal-manager-admin init')
        or diag join '', grep { /PM006/ } (eval { PortalTest::Env::slurp($sa->error_log) } // '') =~ /^.*\n/mg;

    # --- ahead: an older module on a newer database is served, with a warning
    my $ahead = $newest + 1;
    restart_with($sa, 'CREATE TABLE schema_version (version integer NOT NULL)',
                 "INSERT INTO schema_version (version) VALUES ($ahead)");
    ok(wait_until(sub { health($sa) == 200 }, 10), "schema $ahead: health 200");
    is($sa->staff(GET => '/me')->code, 200, "schema $ahead: GET /me 200");
    ok(wait_until(sub { log_count($sa, qr/PM00602: the database schema is version $ahead, newer than this module's $newest/) >= 1 }, 5),
       "schema $ahead: PM00602 warns");
    restart_with($sa, "UPDATE schema_version SET version = $newest");

    # --- SQLite: a file httpd's user cannot write (root made it, say): the log says what to do
    if ($sa->{driver} eq 'sqlite3') {
        $sa->stop_httpd;
        chmod 0444, $sa->{db_file};
        $sa->start_httpd;
        is($sa->staff(POST => '/clients/1/invitations', json => {})->code, 503,
           'a read-only SQLite file: an invite 503');
        ok(wait_until(sub { log_count($sa, qr/readonly database \(the SQLite file, .*not writable by the user httpd runs as: chown/) >= 1 }, 5),
           'a read-only SQLite file: the log line says to chown it to httpd\'s user');
        $sa->stop_httpd;
        chmod 0644, $sa->{db_file};
        $sa->start_httpd;
    }
    $sa->stop;
}

done_testing();
