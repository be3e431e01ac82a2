# t/sample_conf.t — the sample configuration is the one the tests run: conf/portal_manager.conf
# is conf/httpd-portal.conf.in's part "sample" as scripts/lib/httpd-conf.py renders it
# (regenerate it with `scripts/lib/httpd-conf.py --part sample > conf/portal_manager.conf`),
# and httpd's configtest accepts it as a Debian admin would load it (conf/portal_manager.load
# after the template's modules). Needs no running server (only the built module).
use strict;
use warnings;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Test::More;
use File::Temp ();
use PortalTest::Env ();

my $top = PortalTest::Env::top_dir();
my $HTTPD = $ENV{PM_HTTPD} || '/usr/sbin/apache2';
my $MODULE = $ENV{PM_MODULE} || "$top/.libs/mod_portal_manager.so";

my $sample = PortalTest::Env::slurp("$top/conf/portal_manager.conf");
my $dir = File::Temp->newdir('pm-sample-XXXXXX', TMPDIR => 1);
PortalTest::Env::httpd_conf("$dir/sample.conf", part => 'sample');
my $rendered = PortalTest::Env::slurp("$dir/sample.conf");
ok($rendered eq $sample, 'conf/portal_manager.conf is the rendered sample')
    or diag "render it again: scripts/lib/httpd-conf.py --part sample > conf/portal_manager.conf";
unlike($sample, qr/^\s*DBDInitSQL/m, 'the sample runs no DBDInitSQL (README: SQLite notes)');
unlike($sample, qr/^\s*PortalAllowInsecure/m, 'the sample allows no insecure URL or mail');

{
    ok(-f $MODULE, "the module is built ($MODULE)") or last;
    (my $load = PortalTest::Env::slurp("$top/conf/portal_manager.load"))
        =~ s{^LoadModule portal_manager_module \S+}{LoadModule portal_manager_module "$MODULE"}m;
    my $port = PortalTest::Env::free_port();
    PortalTest::Env::httpd_conf("$dir/modules.conf", part => 'modules');
    PortalTest::Env::spew("$dir/httpd.conf", join "\n",
        PortalTest::Env::slurp("$dir/modules.conf"),
        'ServerName 127.0.0.1', "Listen 127.0.0.1:$port", "PidFile $dir/httpd.pid",
        "ErrorLog $dir/error_log", $load, $sample, '');
    my $out = qx{$HTTPD -t -f $dir/httpd.conf 2>&1};
    is($?, 0, 'configtest accepts the sample') or diag $out;
    like($out, qr/Syntax OK/, 'configtest says Syntax OK');
}

done_testing();
