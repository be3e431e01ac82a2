# t/me.t — GET /me and the behaviour every staff API route shares:
# who may use the API (401/403 not_staff), unknown paths (404), wrong methods (405 + Allow),
# the error envelope, the security headers, and a database that is down (503).
use strict;
use warnings;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use Test::More;
use JSON::PP ();
use LWP::UserAgent ();
use PortalTest;
use PortalTest::Env ();

# provoked on purpose: /noauth/api; the portal_db_down vhost
expect_log_ids(qw(PM00031 PM00011));

sub is_json_bool { JSON::PP::is_bool($_[0]) }

# --- authenticated active staff ------------------------------------------------------
{
    my $me = json_ok(staff(GET => '/me', user => 'admin'), 200, 'GET /me as admin');
    is($me->{username}, 'admin', 'admin: username');
    is($me->{display_name}, 'Ada Admin', 'admin: display_name');
    ok(is_json_bool($me->{admin}), 'admin: "admin" is a JSON boolean')
        or diag explain $me;
    ok($me->{admin}, 'admin: admin is true (a sub-request for PUT /admin/settings is allowed)');
    ok(is_json_bool($me->{representatives_enabled}), 'admin: representatives_enabled is a JSON boolean');
    like($me->{max_sends_per_invitation} // '', qr/^\d+$/, 'admin: max_sends_per_invitation is a number');
    is_deeply([sort keys %$me], [qw(admin default_language display_name email
                                    max_sends_per_invitation notify representative_scopes
                                    representatives_enabled time_zone username)],
              'admin: exactly the documented fields')
        or diag explain $me;
    is($me->{default_language}, 'en', 'admin: default_language, the setting\'s default (en)');
    is(staff(PUT => '/admin/settings', user => 'admin', json => { default_language => 'es' })->code, 200,
       'default_language es');
    is(json_ok(staff(GET => '/me', user => 'clin1'), 200, 'GET /me')->{default_language}, 'es',
       'GET /me answers the practice\'s default language, which the staff page names');
    is(staff(PUT => '/admin/settings', user => 'admin', json => { default_language => undef })->code, 200,
       'default_language back to its default');
    like($me->{time_zone} // '', qr{^[A-Za-z_]+(?:/[A-Za-z_+\-]+)*$},
         "admin: time_zone, the server's zone while the setting is unset ($me->{time_zone})");
    # the pages show times on the practice's clock: the setting, when a champion sets it
    is(staff(PUT => '/admin/settings', user => 'admin', json => { time_zone => 'America/Chicago' })->code, 200,
       'time_zone America/Chicago');
    is(json_ok(staff(GET => '/me', user => 'clin1'), 200, 'GET /me')->{time_zone}, 'America/Chicago',
       'GET /me answers the practice\'s time_zone');
    is(staff(PUT => '/admin/settings', user => 'admin', json => { time_zone => undef })->code, 200,
       'time_zone back to the server\'s');
}
{
    # the question "may clin1 administer?" is a sub-request; its "no" is not an
    # authorization failure in the error log (it used to be one AH01631 line per page a
    # colleague opened), while a real refusal still is
    my $log = PortalTest::Env::top_dir() . '/t/logs/error_log';
    my $from = -s $log || 0;
    my $me = json_ok(staff(GET => '/me', user => 'clin1'), 200, 'GET /me as clin1');
    my @failures = grep { /authorization failure/ }
        PortalTest::LogCheck::read_new({ file => $log, offset => $from });
    is(scalar @failures, 0, 'clin1: asking about the admin settings logs no authorization failure')
        or diag join "\n", @failures;
    is(staff(PUT => '/admin/settings', user => 'clin1', json => {})->code, 403,
       'clin1: PUT /admin/settings itself is refused');
    @failures = grep { /AH01631: user clin1: authorization failure/ }
        PortalTest::LogCheck::read_new({ file => $log, offset => $from });
    is(scalar @failures, 1, 'and that refusal is logged, once');
    is($me->{username}, 'clin1', 'clin1: username');
    is($me->{display_name}, 'Casey Clinician', 'clin1: display_name');
    ok(is_json_bool($me->{admin}) && !$me->{admin}, 'clin1: admin is JSON false')
        or diag explain $me;
    ok(exists $me->{email} && !defined $me->{email}, 'clin1: email null (none set)');
    is($me->{notify}, 'daily', 'clin1: notify daily (the default)');
}
{
    my $res = staff(HEAD => '/me', user => 'clin2');
    is($res->code, 200, 'HEAD /me: 200');
    is($res->content, '', 'HEAD /me: no body');
    security_headers_ok($res, 'HEAD /me');
}

# --- who is not allowed ---------------------------------------------------------------
{
    my $res = staff(GET => '/me', user => undef);
    is($res->code, 401, 'no credentials: 401');
    like($res->header('WWW-Authenticate') // '', qr/^Basic\b/i, 'no credentials: Basic challenge');

    $res = staff(GET => '/me', user => 'clin1', password => 'wrong');
    is($res->code, 401, 'wrong password: 401');
}
{
    # a Location with SetHandler portal-manager and no authentication configured
    my $res = http_request(GET => '/noauth/api/me');
    ok($res->code == 401 || $res->code == 403, 'no auth configured: 401 or 403')
        or diag $res->status_line;
    unlike($res->content // '', qr/display_name/, 'no auth configured: no staff data');
}
{
    # anyone's requests without a user: under the public health check (the sample's
    # <Location /portal-manager/api/health> opened the whole subtree, each request a
    # WARN PM00031 "protect this Location"), and on a Location left open. One
    # connection, so one child: at most one PM00031 line for 100 requests (issue 16).
    my $log = PortalTest::Env::top_dir() . '/t/logs/error_log';
    my $from = -s $log;
    my $ua = LWP::UserAgent->new(keep_alive => 1, timeout => 30);
    my $health = Apache::TestRequest::resolve_url('/portal-manager/api/health');
    my %codes;
    $codes{ $ua->get("$health/clients/$_")->code }++ for 1 .. 50;
    is_deeply(\%codes, { 401 => 50 }, '50 anonymous requests under /health/: each 401 (Apache asks for a sign-in)')
        or diag explain \%codes;
    is($ua->get($health)->code, 200, '/health itself: 200 without a sign-in');
    my $noauth = Apache::TestRequest::resolve_url('/noauth/api/me');
    %codes = ();
    $codes{ $ua->get($noauth)->code }++ for 1 .. 50;
    is_deeply(\%codes, { 403 => 50 }, '50 requests on a Location left open: each 403') or diag explain \%codes;
    my $lines = () = substr(PortalTest::Env::slurp($log), $from) =~ /PM00031/g;
    cmp_ok($lines, '<=', 1, "100 anonymous requests: at most one PM00031 line ($lines)");
}
error_ok(staff(GET => '/me', user => 'inactive'), 403, 'not_staff', 'inactive staff');
error_ok(staff(GET => '/me', user => 'nobody_staff'), 403, 'not_staff', 'user not in staff');

# --- unknown paths -------------------------------------------------------------------
error_ok(staff(GET => '/nope', user => 'clin1'), 404, 'not_found', 'GET /nope');
error_ok(staff(GET => '/api/nope', user => 'clin1'), 404, 'not_found', 'GET /api/nope');
error_ok(staff(GET => '/me/extra', user => 'clin1'), 404, 'not_found', 'GET /me/extra');

# --- wrong methods -------------------------------------------------------------------
for my $method (qw(POST PUT DELETE PATCH)) {
    my $res = staff($method => '/me', user => 'clin1', json => {});
    error_ok($res, 405, 'method_not_allowed', "$method /me");
    my %allow = map { uc($_) => 1 } grep { length } split /\s*,\s*/, ($res->header('Allow') // '');
    is_deeply([sort keys %allow], [qw(GET HEAD)], "$method /me: Allow: GET, HEAD")
        or diag 'Allow: ' . ($res->header('Allow') // '(missing)');
}

# --- TRACE: httpd would echo the request, credentials included, before any login ----------
for my $path (PortalTest::staff_path('/me'), PortalTest::recipient_path('/lookup')) {
    my $res = http_request(TRACE => $path, user => 'clin1');
    is($res->code, 405, "TRACE $path: 405 (TraceEnable Off)");
    unlike($res->content // '', qr/Authorization|Basic /i, "TRACE $path: nothing of the request echoed");
}

# --- the error envelope ------------------------------------------------------------------
{
    my $a = decode_json_body(staff(GET => '/nope', user => 'clin1'));
    my $b = decode_json_body(staff(GET => '/nope', user => 'clin1'));
    ok($a && $b && $a->{request_id} ne $b->{request_id}, 'request_id differs per request');
}

# --- a database that is down (the portal_db_down vhost) --------------------------------
{
    my $res = staff(GET => '/me', user => 'admin', vhost => 'portal_db_down');
    error_ok($res, 503, 'database_unavailable', 'database down');
    cmp_ok($res->{pm_elapsed}, '<', 30, 'database down: answered, no hang')
        or diag "took $res->{pm_elapsed} s";
    $res = staff(GET => '/me', user => 'nobody_staff', vhost => 'portal_db_down');
    error_ok($res, 503, 'database_unavailable', 'database down, user not in staff');

    # the healthy server is unaffected
    my $me = json_ok(staff(GET => '/me', user => 'clin1'), 200, 'GET /me after the 503s');
    is($me && $me->{username}, 'clin1', 'healthy server still answers');
}

done_testing();
