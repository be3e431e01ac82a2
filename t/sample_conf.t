# t/sample_conf.t — the sample configuration is the one the tests run: conf/portal_manager.conf
# is conf/httpd-portal.conf.in's part "sample" as scripts/lib/httpd-conf.py renders it
# (regenerate it with `scripts/lib/httpd-conf.py --part sample > conf/portal_manager.conf`).
# As a Debian admin loads it (conf/portal_manager.load, and only the modules its
# "# Depends:" line makes a2enmod enable): unedited, configtest fails with one line for
# each example.org value marked EDIT; edited, it says Syntax OK. Needs no running server
# (only the built module).
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

# the values marked EDIT, each on the line after its mark
my @edit = $sample =~ /^\s*# EDIT:\n\s*(\w+)\s/mg;
is_deeply([sort @edit], [sort qw(PortalInvitationURL PortalLoginURL PortalStaffURL PortalMailServer
                                 PortalMailFrom)],
          'the sample marks the five example.org values EDIT');

my $load = PortalTest::Env::slurp("$top/conf/portal_manager.load");
my ($depends) = $load =~ /\A# Depends:[ \t]+(.*?)\s*$/m;
ok($depends, 'portal_manager.load starts with a Debian "# Depends:" line (a2enmod reads it)');
$load =~ s{^LoadModule portal_manager_module \S+}{LoadModule portal_manager_module "$MODULE"}m;

# configtest CONF_TEXT: as Debian would load it: the MPM and authz_core (always enabled),
# then the modules a2enmod enables from the Depends line, then the module and the sample
sub configtest {
    my ($conf, $name) = @_;
    my $port = PortalTest::Env::free_port();
    my @modules = ('mpm_event', 'authz_core', split ' ', $depends // '');
    PortalTest::Env::spew("$dir/$name.conf", join "\n",
        'ServerRoot /usr/lib/apache2',
        (map { "LoadModule ${_}_module modules/mod_$_.so" } @modules),
        'TypesConfig /etc/mime.types',
        'ServerName 127.0.0.1', "Listen 127.0.0.1:$port", "PidFile $dir/httpd.pid",
        "ErrorLog $dir/error_log", $load, $conf, '');
    my $out = qx{$HTTPD -t -f $dir/$name.conf 2>&1};
    return ($? >> 8, $out);
}

# the catalogs are installed under the sample's htdocs; here they are the source tree's
(my $runnable = $sample) =~ s{^(\s*PortalCatalogDir\s+)"[^"]*"}{$1"$top/htdocs/invitation/i18n"}m;

SKIP: {
    ok(-f $MODULE, "the module is built ($MODULE)") or skip 'no module', 1;
    my ($rc, $out) = configtest($runnable, 'unedited');
    isnt($rc, 0, 'configtest refuses the unedited sample') or diag $out;
    unlike($out, qr/Syntax OK/, 'unedited: no Syntax OK');
    for my $directive (@edit) {
        my @lines = grep { /PM00300: mod_portal_manager: \Q$directive\E is unedited: \S*example\.org is a reserved example domain/ }
                    split /\n/, $out;
        is(scalar @lines, 1, "unedited: one line names $directive") or diag $out;
    }
    unlike($out, qr/Invalid command|not allowed here/,
           'unedited: every directive is known (the Depends line loads what the sample uses)') or diag $out;

    (my $edited = $runnable) =~ s/example\.org/riverside-counseling.com/g;
    ($rc, $out) = configtest($edited, 'edited');
    is($rc, 0, 'configtest accepts the sample with its EDIT values filled in') or diag $out;
    like($out, qr/Syntax OK/, 'edited: Syntax OK');
}

done_testing();
