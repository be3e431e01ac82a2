# t/admin_guard.t — the admin routes do not rest on the <Location …/admin> block alone
# (issue 10, item 11): a second "SetHandler portal-manager" mount without an admin
# Location of its own (t/conf/extra.conf.in: /portal-manager/api2) serves the staff
# routes, but its admin routes answer 403 admin_not_configured for everyone, champions
# included, and /me there says admin: false. The protected mount works as before.
use strict;
use warnings;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use Test::More;
use PortalTest;

# provoked on purpose: the admin routes of /portal-manager/api2 are refused
expect_log_ids(qw(PM00101));

my @ADMIN = ([GET => '/admin/settings'], [PUT => '/admin/settings', { practice_name => 'Hijacked' }],
             [POST => '/admin/settings/preview', { kind => 'client' }],
             [POST => '/admin/settings/test-email', { kind => 'client', to => 'x@example.test' }],
             [GET => '/admin/outbox'], [GET => '/admin/audit'], [GET => '/admin/audit?format=csv']);

{
    local $PortalTest::STAFF_BASE = '/portal-manager/api2';
    json_ok(staff(GET => '/clients/1', user => 'clin1'), 200, 'the second mount serves staff routes');
    for my $user (qw(clin1 admin)) {
        my $me = json_ok(staff(GET => '/me', user => $user), 200, "$user: /me on the second mount");
        ok(!$me->{admin}, "$user: not an admin on the second mount");
        for my $r (@ADMIN) {
            my ($method, $path, $body) = @$r;
            error_ok(staff($method => $path, user => $user, ($body ? (json => $body) : ())), 403,
                     'admin_not_configured', "$user $method $path on the second mount");
        }
    }
    my ($name) = db()->selectrow_array("SELECT value FROM settings WHERE name = 'practice_name'");
    ok(!defined $name || $name !~ /Hijacked/, 'the settings were not changed');
}

# the protected mount: champions in, others out, as before
json_ok(staff(GET => '/admin/settings', user => 'admin'), 200, 'admin GET /admin/settings on the real mount');
my $res = staff(GET => '/admin/settings', user => 'clin1');
is($res->code, 403, 'clin1 GET /admin/settings on the real mount: 403');
ok(json_ok(staff(GET => '/me', user => 'admin'), 200, 'admin /me on the real mount')->{admin},
   'admin is an admin on the real mount');

done_testing();
