# t/health_writes.t — GET …/api/health answers 503 while the module's audited writes
# fail. Found by a report-only review: after a bad manual move to PostgreSQL every audited
# request answered 503 (PM00013 duplicate key on audit_log) while health said ok, so
# monitoring stayed green. On a throwaway httpd (t/lib/PortalTest/Standalone.pm) a
# trigger makes every INSERT into audit_log fail (real database, both drivers):
#   - one or two failures leave health 200 (a transient failure does not flap it), and a
#     success in between starts the count again;
#   - the third in a row turns it 503 {"status":"unavailable","reason":"writes_failing"},
#     nothing else in the body, and one PM00706 line says why;
#   - the trigger gone, health stays 503 until a write succeeds, then 200 again.
use strict;
use warnings;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use Test::More;
use LWP::UserAgent ();
use PortalTest qw(expect_log_ids);
use PortalTest::Env ();
use PortalTest::Delivery qw(wait_until);
use PortalTest::Standalone;

# provoked on purpose: the audit rows refused by the trigger
expect_log_ids(qw(PM00013 PM00040 PM00706));

sub health {
    my $sa = shift;
    my $ua = LWP::UserAgent->new(keep_alive => 0, timeout => 10);
    my $res = $ua->get($sa->base_url . '/portal-manager/api/health');
    return ($res->code, $res->content);
}

sub log_count {
    my ($sa, $re) = @_;
    my $log = eval { PortalTest::Env::slurp($sa->error_log) } // '';
    return scalar(() = $log =~ /$re/g);
}

# every audit row refused by the database, as a broken audit_log would
sub audit_fails {
    my $sa = shift;
    my $db = $sa->db;
    if ($sa->{driver} eq 'sqlite3') {
        $db->do(q{CREATE TRIGGER pm_test_audit_fails BEFORE INSERT ON audit_log
                  BEGIN SELECT RAISE(ABORT, 'test: audit writes fail'); END});
        return;
    }
    $db->do(q{CREATE FUNCTION pm_test_audit_fails() RETURNS trigger LANGUAGE plpgsql AS
              $$ BEGIN RAISE EXCEPTION 'test: audit writes fail'; END $$});
    $db->do(q{CREATE TRIGGER pm_test_audit_fails BEFORE INSERT ON audit_log
              FOR EACH ROW EXECUTE FUNCTION pm_test_audit_fails()});
}

sub audit_works {
    my $sa = shift;
    my $db = $sa->db;
    if ($sa->{driver} eq 'sqlite3') {
        $db->do('DROP TRIGGER pm_test_audit_fails');
        return;
    }
    $db->do('DROP TRIGGER pm_test_audit_fails ON audit_log');
    $db->do('DROP FUNCTION pm_test_audit_fails()');
}

# an audited request (client.view, group-committed)
sub view { $_[0]->staff(GET => '/clients/1')->code }

my $sa = PortalTest::Standalone->new(name => 'hwrite');
if (ok(eval { $sa->start; 1 }, 'standalone server started') || diag $@) {
    ok(wait_until(sub { (health($sa))[0] == 200 }, 10), 'health 200');
    is(view($sa), 200, 'a client view (audited) 200');

    audit_fails($sa);
    is(view($sa), 503, 'audit rows refused: the view 503');
    is(view($sa), 503, 'again 503');
    is((health($sa))[0], 200, 'two failures: health still 200 (a transient failure does not flap it)');
    audit_works($sa);
    is(view($sa), 200, 'audit rows kept again: the view 200');
    audit_fails($sa);
    is(view($sa), 503, 'refused again: 503');
    is(view($sa), 503, 'and 503');
    is((health($sa))[0], 200, 'two failures since a success: health 200');
    is(log_count($sa, qr/PM00706/), 0, 'no PM00706 yet');

    is(view($sa), 503, 'the third failure in a row: 503');
    my ($code, $body) = health($sa);
    is($code, 503, 'three audited writes failed in a row: health 503');
    like($body, qr/^\{"status":"unavailable","reason":"writes_failing"\}\n?\z/,
         'the body says unavailable and the reason code, nothing else') or diag $body;
    view($sa) for 1 .. 3;
    ok(wait_until(sub { log_count($sa, qr/:error\].* PM00706: the last 3 audited writes failed and none succeeded since .*health check answers 503 writes_failing/) >= 1 }, 5),
       'PM00706 says why health is 503');
    is(log_count($sa, qr/PM00706/), 1, 'once, not per failed write');

    audit_works($sa);
    is((health($sa))[0], 503, 'the cause gone: health 503 until a write succeeds');
    is(view($sa), 200, 'an audited view 200');
    ($code, $body) = health($sa);
    is($code, 200, 'a write succeeded: health 200 again');
    like($body, qr/^\{"status":"ok"\}\n?\z/, 'the body is {"status":"ok"}') or diag $body;
    $sa->stop;
}

done_testing();
