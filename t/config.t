# t/config.t — configuration errors stop `apache2 -t` (configtest) with a line naming the
# directive. Each case is the good configuration below with one directive changed; the good
# configuration itself must pass. Needs no running server (only the built module).
use strict;
use warnings;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Test::More;
use File::Temp ();
use PortalTest::Env ();

my $HTTPD  = $ENV{PM_HTTPD} || '/usr/sbin/apache2';
my $MODULE = $ENV{PM_MODULE} || PortalTest::Env::top_dir() . '/.libs/mod_portal_manager.so';

unless (-f $MODULE) {
    plan tests => 1;
    fail("the module is built: $MODULE is missing (run make)");
    exit 0;
}

my $dir = File::Temp->newdir('pm-config-XXXXXX', TMPDIR => 1);
my $secret = "$dir/mail.secret";
PortalTest::Env::spew($secret, "s3cret\n", 0600);
my $blank_secret = "$dir/blank.secret";
PortalTest::Env::spew($blank_secret, (' ' x 40) . "\n", 0600);
my $unreadable = "$dir/unreadable.secret";
PortalTest::Env::spew($unreadable, "s3cret\n", 0000);

# name => value, in this order; a case replaces (or with undef removes) some of them
my @GOOD = (
    PortalAllowInsecureURLs => 'On',
    PortalInvitationURL     => 'http://127.0.0.1:8529/portal/invitation/',
    PortalLoginURL          => 'http://127.0.0.1:8529/portal/account/',
    PortalMailServer        => 'smtp://127.0.0.1:2525',
    PortalMailTLS           => 'none',
    PortalMailUser          => 'portal',
    PortalMailPasswordFile  => $secret,
    PortalAllowInsecureMail => 'On',    # SMTP AUTH with PortalMailTLS none (loopback tests)
    PortalMailFrom          => '"Riverside Counseling <no-reply@riverside-counseling.test>"',
    PortalMailTimeout       => '30',
    PortalOutboxInterval    => '500',
    PortalOutboxMaxAttempts => '8',
    PortalCatalogDir        => PortalTest::Env::top_dir() . '/htdocs/invitation/i18n',
);

my $n = 0;
sub configtest {
    my (%args) = @_;
    my %set = (@GOOD);
    my @order = do { my $i = 0; grep { $i++ % 2 == 0 } @GOOD };
    while (my ($k, $v) = each %{ $args{set} || {} }) {
        push @order, $k unless exists $set{$k};
        $set{$k} = $v;
    }
    @order = @{ $args{order} } if $args{order};
    my $body_size = $args{body_size} // '65536';
    $n++;
    my $conf = "$dir/case-$n.conf";    # no directive names in file names: the output is grepped
    my $port = PortalTest::Env::free_port();
    PortalTest::Env::spew($conf, join '', map { "$_\n" }
        'ServerRoot /usr/lib/apache2',
        'ServerName 127.0.0.1',
        "PidFile $dir/httpd-$n.pid",
        "ErrorLog $dir/error-$n.log",
        "Listen 127.0.0.1:$port",
        'LoadModule mpm_event_module modules/mod_mpm_event.so',
        'LoadModule authz_core_module modules/mod_authz_core.so',
        'LoadModule dbd_module modules/mod_dbd.so',
        qq{LoadModule portal_manager_module "$MODULE"},
        @{ $args{dbd} // ['DBDriver sqlite3', "DBDParams $dir/portal.db"] },
        (map { defined $set{$_} ? "$_ $set{$_}" : () } @order),
        '<Location /portal-manager/api>',
        '    SetHandler portal-manager',
        "    PortalMaxBodySize $body_size",
        '</Location>',
        '<Location /portal/invitation/api>',
        '    SetHandler portal-invitation',
        '</Location>',
        @{ $args{extra} || [] });
    local %ENV = (%ENV, %{ $args{env} || {} });
    my $out = qx{$HTTPD -t -f $conf 2>&1};
    return ($? >> 8, $out, $conf);
}

# --- the good configuration -------------------------------------------------------------
{
    my ($rc, $out) = configtest();
    is($rc, 0, 'good configuration passes configtest') or diag $out;
    like($out, qr/Syntax OK/, 'good configuration: Syntax OK');
}
{
    my ($rc, $out) = configtest(set => {
        PortalAllowInsecureURLs => 'Off',
        PortalInvitationURL => 'https://portal.riverside-counseling.com/portal/invitation/',
        PortalLoginURL => 'https://portal.riverside-counseling.com/portal/account/',
        PortalMailServer => 'smtps://mail.riverside-counseling.com:465',
        PortalMailTLS => 'required',
        PortalMailFrom => '"Riverside Counseling <no-reply@riverside-counseling.com>"',
    });
    is($rc, 0, 'https URLs without PortalAllowInsecureURLs pass') or diag $out;
}

# --- the sample's unedited values: reserved example domains -------------------------------
# The sample ships example.org values marked EDIT; configtest names every one still there
# (one line each) unless PortalAllowInsecureURLs On (development), and never the address.
{
    my %real = (
        PortalAllowInsecureURLs => undef,
        PortalInvitationURL => 'https://portal.riverside-counseling.com/portal/invitation/',
        PortalLoginURL      => 'https://portal.riverside-counseling.com/portal/account/',
        PortalStaffURL      => 'https://portal.riverside-counseling.com/portal-manager/',
        PortalMailServer    => 'smtps://mail.riverside-counseling.com:465',
        PortalMailFrom      => '"Riverside Counseling <no-reply@riverside-counseling.com>"',
    );
    my %example = (
        PortalInvitationURL => ['https://portal.example.org/portal/invitation/', 'portal.example.org'],
        PortalLoginURL      => ['https://portal.example.com/portal/account/', 'portal.example.com'],
        PortalStaffURL      => ['https://staff.example.net/portal-manager/', 'staff.example.net'],
        PortalMailServer    => ['smtp://mail.example.net:587', 'mail.example.net'],
        PortalMailFrom      => ['"Riverside Counseling <no-reply@example.org>"', 'example.org'],
    );
    my $unedited = sub {
        my ($out, $directive) = @_;
        grep { /PM00300: mod_portal_manager: \Q$directive\E is unedited: \Q$example{$directive}[1]\E is a reserved example domain/
               && /PortalAllowInsecureURLs/ } split /\n/, $out;
    };
    for my $directive (sort keys %example) {
        my ($rc, $out, $conf) = configtest(set => { %real, $directive => $example{$directive}[0] });
        isnt($rc, 0, "$directive with an example domain: configtest fails") or diag "config: $conf\n$out";
        is(scalar(() = $unedited->($out, $directive)), 1, "$directive with an example domain: one line names it")
            or diag $out;
        unlike($out, qr/Syntax OK/, "$directive with an example domain: no 'Syntax OK'");
    }
    my %all = (%real, map { $_ => $example{$_}[0] } keys %example);
    my ($rc, $out) = configtest(set => \%all);
    isnt($rc, 0, 'all five unedited: configtest fails');
    is(scalar(() = $unedited->($out, $_)), 1, "all five unedited: one line names $_") or diag $out
        for sort keys %example;
    unlike($out, qr/no-reply\@/, 'the lines name the domain, never the From address');
    # PortalAllowInsecureURLs On (development) waives the URLs' example domains only: the
    # mail server and the From address are never example.org/.com/.net, even then
    ($rc, $out) = configtest(set => { %all, PortalAllowInsecureURLs => 'On' });
    isnt($rc, 0, 'example domains with PortalAllowInsecureURLs On: configtest still fails');
    is(scalar(() = $unedited->($out, $_)), 1, "PortalAllowInsecureURLs On: one line still names $_")
        or diag $out for qw(PortalMailServer PortalMailFrom);
    like($out, qr/PortalMailServer is unedited: .*PortalAllowInsecureURLs does not waive this/,
         'and says the flag does not waive it') or diag $out;
    is(scalar(() = $unedited->($out, $_)), 0, "PortalAllowInsecureURLs On: $_ not named")
        or diag $out for qw(PortalInvitationURL PortalLoginURL PortalStaffURL);
    unlike($out, qr/Syntax OK/, 'PortalAllowInsecureURLs On with the sample\'s mail values: no Syntax OK');
    my %dev_mail = (PortalMailServer => 'smtp://mail.portal.test:2525',
                    PortalMailFrom => '"Riverside Counseling <no-reply@portal.test>"');
    ($rc, $out) = configtest(set => { %all, %dev_mail, PortalAllowInsecureURLs => 'On' });
    is($rc, 0, 'PortalAllowInsecureURLs On: example URLs and a .test mail server and From pass') or diag $out;
    like($out, qr/PM00670: mod_portal_manager: PortalAllowInsecureURLs On: .*plain http:\/\//,
         'PortalAllowInsecureURLs On: a warning says links may go out over plain http://') or diag $out;
    ($rc, $out) = configtest(set => \%real);
    unlike($out, qr/PM00670/, 'PortalAllowInsecureURLs unset: no such warning') or diag $out;
    ($rc, $out) = configtest(set => { %all, PortalMailServer => 'smtp://localhost:25',
                                      PortalMailFrom => 'no-reply@riverside-counseling.com' });
    is(scalar(() = $unedited->($out, 'PortalMailServer')) + scalar(() = $unedited->($out, 'PortalMailFrom')), 0,
       'smtp://localhost and a real domain are not example values') or diag $out;
    my $vhost_port = PortalTest::Env::free_port();
    ($rc, $out) = configtest(set => { %all, %dev_mail, PortalAllowInsecureURLs => 'On' }, extra => [
        "Listen 127.0.0.1:$vhost_port", "<VirtualHost 127.0.0.1:$vhost_port>",
        '    ServerName portal.riverside-counseling.com', '    PortalAllowInsecureURLs Off',
        '    PortalInvitationURL https://portal.riverside-counseling.com/other/invitation/',
        '    PortalLoginURL https://portal.riverside-counseling.com/other/account/', '</VirtualHost>']);
    is($rc, 0, 'a <VirtualHost> is not blamed for the main server\'s values') or diag $out;
    # a virtual host that turns the development allowance off keeps the main server's http://
    # URLs: it fails, and the line says where the URL comes from
    ($rc, $out) = configtest(extra => [
        "Listen 127.0.0.1:$vhost_port", "<VirtualHost 127.0.0.1:$vhost_port>",
        '    ServerName portal.riverside-counseling.com', '    PortalAllowInsecureURLs Off', '</VirtualHost>']);
    isnt($rc, 0, 'a <VirtualHost> with PortalAllowInsecureURLs Off and the main server\'s http:// URL fails');
    like($out, qr{PortalInvitationURL http://\S+ must use https://.*, set in the main server configuration and inherited by this virtual host},
         'and says the URL is the main server\'s') or diag $out;
}
{
    my ($rc, $out) = configtest(set => {
        PortalMailUser => undef, PortalMailPasswordFile => undef,
        PortalMailFrom => 'no-reply@riverside-counseling.test',
    });
    is($rc, 0, 'no SMTP AUTH, bare From address pass') or diag $out;
}
{
    my ($rc, $out) = configtest(set => { PortalAllowInsecureMail => undef, PortalMailTLS => 'required' });
    is($rc, 0, 'SMTP AUTH with PortalMailTLS required passes') or diag $out;
    ($rc, $out) = configtest(set => { PortalAllowInsecureMail => undef, PortalMailTLS => undef });
    is($rc, 0, 'SMTP AUTH with PortalMailTLS unset (required) passes') or diag $out;
    ($rc, $out) = configtest(set => { PortalAllowInsecureMail => 'Off', PortalMailTLS => 'none',
                                      PortalMailServer => 'smtps://mail.example.test:465' });
    is($rc, 0, 'SMTP AUTH over smtps:// passes whatever PortalMailTLS says') or diag $out;
}
# the relay's CA: a PEM bundle or a directory; an EHLO name
my $ca = "$dir/relay-ca.pem";
my $ca_out = qx{openssl req -x509 -newkey rsa:2048 -nodes -keyout $dir/relay-ca.key -out $ca -days 1 -subj /CN=relay-ca 2>&1};
ok(-s $ca, 'a throwaway CA certificate') or diag $ca_out;
PortalTest::Env::spew("$dir/not-a-cert.pem", "just text\n", 0644);
{
    my ($rc, $out) = configtest(set => { PortalMailCAFile => $ca, PortalMailTLS => 'required' });
    is($rc, 0, 'PortalMailCAFile with a PEM CA certificate passes') or diag $out;
    ($rc, $out) = configtest(set => { PortalMailCAPath => $dir });
    is($rc, 0, 'PortalMailCAPath with a directory passes') or diag $out;
    ($rc, $out) = configtest(set => { PortalMailHelo => 'portal.example.org' });
    is($rc, 0, 'PortalMailHelo with a host name passes') or diag $out;
    ($rc, $out) = configtest(set => { PortalMailHelo => '[192.0.2.1]' });
    is($rc, 0, 'PortalMailHelo with an address literal passes') or diag $out;
    my $token_secret = "$dir/token.secret";
    PortalTest::Env::spew($token_secret, ('t' x 40) . "\n", 0600);
    ($rc, $out) = configtest(set => { PortalMailBounceAddress => 'bounces@practice.org',
                                      PortalTokenSecretFile => $token_secret });
    is($rc, 0, 'PortalMailBounceAddress with PortalTokenSecretFile passes') or diag $out;
    unlike($out, qr/PM00605/, 'a secret file of mode 0600: no warning');
    my $shared_secret = "$dir/shared.secret";
    PortalTest::Env::spew($shared_secret, ('t' x 40) . "\n", 0644);
    ($rc, $out) = configtest(set => { PortalTokenSecretFile => $shared_secret });
    is($rc, 0, 'a token secret file readable by others still passes');
    like($out, qr/PM00605: PortalTokenSecretFile: '\Q$shared_secret\E' is readable by users other than its owner: chmod 600/,
         'and configtest warns, naming the file and the fix');
}

# SMTP AUTH that could go out in clear: one line naming both directives and the way out
for my $case (['none', undef], ['try', undef], ['none', 'Off']) {
    my ($tls, $allow) = @$case;
    my $name = "PortalMailUser with PortalMailTLS $tls, PortalAllowInsecureMail "
             . ($allow // 'unset');
    my ($rc, $out, $conf) = configtest(set => { PortalMailTLS => $tls, PortalAllowInsecureMail => $allow });
    isnt($rc, 0, "$name: configtest fails") or diag "config: $conf\n$out";
    my @lines = grep { /PortalMailUser/ && /PortalMailTLS \Q$tls\E/ && /unencrypted/
                       && /PortalAllowInsecureMail On/ } split /\n/, $out;
    is(scalar @lines, 1, "$name: one line names PortalMailUser, PortalMailTLS $tls and the way out")
        or diag $out;
    unlike($out, qr/Syntax OK/, "$name: no 'Syntax OK'");
}
{
    my ($rc, $out) = configtest(set => { PortalRecipientIPLimit => '0', PortalRecipientTokenLimit => '0',
                                         PortalRecipientRateWindow => '86400' });
    is($rc, 0, 'recipient rate limits off (0) and a one-day window pass') or diag $out;
    ($rc, $out) = configtest(set => { PortalRecipientIPLimit => '30', PortalRecipientTokenLimit => '10',
                                      PortalRecipientRateWindow => '60' });
    is($rc, 0, 'the default recipient rate limits, written out, pass') or diag $out;
}
{
    my @order = grep { $_ ne 'PortalAllowInsecureURLs' } do { my $i = 0; grep { $i++ % 2 == 0 } @GOOD };
    my ($rc, $out) = configtest(order => [@order, 'PortalAllowInsecureURLs']);
    is($rc, 0, 'PortalAllowInsecureURLs On may follow the http:// URLs') or diag $out;
}

# --- the admin routes need a section of their own (the champions' Require) ---------------
{
    my ($rc, $out) = configtest();
    is($rc, 0, 'no admin Location: configtest still passes') or diag $out;
    like($out, qr{SetHandler portal-manager .*no <Location /portal-manager/api/admin>},
         'no admin Location: configtest warns, naming the Location to add') or diag $out;
    ($rc, $out) = configtest(extra => ['<Location /portal-manager/api/admin>',
                                       '    Require all denied', '</Location>']);
    is($rc, 0, 'with an admin Location: passes') or diag $out;
    unlike($out, qr/no <Location/, 'with an admin Location: no warning') or diag $out;
    ($rc, $out) = configtest(extra => ['<LocationMatch "^/portal-manager/api/admin(/|$)">',
                                       '    Require all denied', '</LocationMatch>']);
    unlike($out, qr/no <Location/, 'a <LocationMatch> covering /admin counts too') or diag $out;
    ($rc, $out) = configtest(extra => ['<Location /second/api>', '    SetHandler portal-manager',
                                       '</Location>', '<Location /portal-manager/api/admin>',
                                       '    Require all denied', '</Location>']);
    like($out, qr{no <Location /second/api/admin>}, 'a second mount without its own admin Location: warned')
        or diag $out;
    unlike($out, qr{no <Location /portal-manager/api/admin>}, 'the covered mount: not warned') or diag $out;
}

# --- mail and outbox settings belong to the main server ---------------------------------
# The delivery worker sends with the main server's settings only: inside a <VirtualHost>
# they would be ignored without a word, so configtest refuses them with one line.
{
    my $vhost_port = PortalTest::Env::free_port();
    my $vhost = sub { ("Listen 127.0.0.1:$vhost_port", "<VirtualHost 127.0.0.1:$vhost_port>",
                       '    ServerName vhost.example.org', (map { "    $_" } @_), '</VirtualHost>') };
    my ($rc, $out) = configtest(extra => [$vhost->('PortalRecipientIPLimit 5',
        'PortalInvitationURL http://127.0.0.1:8529/other/invitation/')]);
    is($rc, 0, 'a <VirtualHost> with per-host Portal directives passes') or diag $out;
    my %in_vhost = (
        PortalMailServer        => 'smtp://127.0.0.1:2526',
        PortalMailTLS           => 'required',
        PortalMailUser          => 'other',
        PortalMailPasswordFile  => $secret,
        PortalMailFrom          => '"Other <no-reply@example.net>"',
        PortalMailTimeout       => '10',
        PortalAllowInsecureMail => 'On',
        PortalOutboxInterval    => '100',
        PortalMailConnections   => '2',
        PortalSweepInterval     => '2',
        PortalOutboxMaxAttempts => '3',
        PortalOutboxRetryDelay  => '5',
    );
    for my $directive (sort keys %in_vhost) {
        my ($rc2, $out2, $conf) = configtest(extra => [$vhost->("$directive $in_vhost{$directive}")]);
        isnt($rc2, 0, "$directive inside <VirtualHost>: configtest fails") or diag "config: $conf\n$out2";
        my @lines = grep { /^\Q$directive\E is not allowed inside <VirtualHost>/
                           && /main server/ } split /\n/, $out2;
        is(scalar @lines, 1, "$directive inside <VirtualHost>: one line names it and says why")
            or diag $out2;
        unlike($out2, qr/Syntax OK/, "$directive inside <VirtualHost>: no 'Syntax OK'");
    }
}

# --- the database of the main server: the delivery worker's --------------------------------
# The delivery worker opens the main server's mod_dbd pool: DBD lines only inside a
# <VirtualHost> (the whole portal block moved into the 443 host) passed configtest, then
# no invitation email was ever sent; a virtual host on another database neither.
{
    my $vhost_port = PortalTest::Env::free_port();
    my @main_db = ('DBDriver sqlite3', "DBDParams $dir/portal.db");
    my $vhost = sub { ("Listen 127.0.0.1:$vhost_port", "<VirtualHost 127.0.0.1:$vhost_port>",
                       '    ServerName portal.riverside-counseling.com', (map { "    $_" } @_),
                       '</VirtualHost>') };
    my $lines = sub { grep { /PM00671: mod_portal_manager: / } split /\n/, $_[0] };

    my ($rc, $out) = configtest(dbd => [], extra => [$vhost->(@main_db,
        '<Location /portal-manager/api>', '    SetHandler portal-manager', '</Location>')]);
    isnt($rc, 0, 'DBDriver/DBDParams only inside a <VirtualHost>: configtest fails');
    my @l = $lines->($out);
    is(scalar @l, 1, 'one line') or diag $out;
    like($l[0] // '', qr/no DBDParams in the main server configuration: the delivery worker .*outside any <VirtualHost>/,
         'it says the main server needs DBDParams, outside any <VirtualHost>');
    unlike($out, qr/Syntax OK/, 'no Syntax OK');

    ($rc, $out) = configtest(dbd => []);
    isnt($rc, 0, 'no DBDriver/DBDParams at all: configtest fails');
    is(scalar(() = $lines->($out)), 1, 'no DBD lines: one line') or diag $out;

    ($rc, $out) = configtest(dbd => ['<IfModule dbd_module>', '<IfDefine !NO_SUCH_DEFINE>', @main_db,
                                     '</IfDefine>', '</IfModule>']);
    is($rc, 0, 'DBD lines in <IfModule>/<IfDefine> at top level count for the main server') or diag $out;

    ($rc, $out) = configtest(extra => [$vhost->('DBDriver sqlite3', "DBDParams $dir/other.db")]);
    isnt($rc, 0, 'a <VirtualHost> of the module\'s on another database: configtest fails');
    @l = $lines->($out);
    is(scalar @l, 1, 'one line') or diag $out;
    like($l[0] // '', qr/<VirtualHost 127\.0\.0\.1:$vhost_port> .*names a database .*other than the main server's: .*never be sent/,
         'it names the <VirtualHost> and says its emails would never be sent');

    ($rc, $out) = configtest(extra => [$vhost->('DBDriver sqlite3', qq{DBDParams "$dir/portal.db"}, 'DBDExptime 59')]);
    is($rc, 0, 'a <VirtualHost> with the main server\'s database (a pool of its own) passes') or diag $out;

    ($rc, $out) = configtest(extra => [$vhost->('DBDriver sqlite3', "DBDParams $dir/other.db",
                                                'PortalAllowOtherDatabase On')]);
    is($rc, 0, 'another database with PortalAllowOtherDatabase On (testing) passes') or diag $out;
}

# --- a client portal login query kept from before the timing fix (PM00705) ----------------
# An upgrade keeps the admin's edited configuration: a login query on portal_accounts that
# answers nothing for an unknown user name lets a refusal's time tell which names have an
# account. configtest (and every start) warns, once per such query; the sample's passes.
{
    my $vhost_port = PortalTest::Env::free_port();
    my $old = q{"SELECT password_hash FROM portal_accounts WHERE lower(username) = lower(%s) AND status = 'active'"};
    my $sample = q{"SELECT coalesce((SELECT password_hash FROM portal_accounts WHERE lower(username) = lower(%s) AND status = 'active'), '$2y$11$0iT32NHI4Xfb6AE.guB4Tex0VecncT8ghzsNjRZxsrKSafSCFdGqi')"};
    my $login = sub { ('LoadModule authn_core_module modules/mod_authn_core.so',
                       'LoadModule authn_dbd_module modules/mod_authn_dbd.so',
                       '<Location /portal/account>', "    AuthDBDUserPWQuery $_[0]", '</Location>') };
    my $lines = sub { grep { /PM00705: mod_portal_manager: / } split /\n/, $_[0] };

    my ($rc, $out, $conf) = configtest(extra => [$login->($old)]);
    is($rc, 0, 'a login query without the fallback: configtest still passes') or diag $out;
    my @l = $lines->($out);
    is(scalar @l, 1, 'a login query without the fallback: one warning') or diag $out;
    like($l[0] // '', qr/AuthDBDUserPWQuery at \Q$conf\E:\d+ reads portal_accounts but answers nothing for an unknown user name.*dummy bcrypt hash/,
         'it names the query\'s place and what to use instead');

    ($rc, $out) = configtest(extra => [$login->($sample)]);
    is($rc, 0, 'the sample\'s login query passes') or diag $out;
    is(scalar(() = $lines->($out)), 0, 'the sample\'s login query: no warning') or diag $out;

    ($rc, $out) = configtest(extra => [$login->(q{"SELECT coalesce(password_hash, '') FROM portal_accounts WHERE username = %s"})]);
    is(scalar(() = $lines->($out)), 1, 'a coalesce without a bcrypt hash to answer: warned') or diag $out;

    ($rc, $out) = configtest(extra => [$login->(q{"SELECT hash FROM other_users WHERE name = %s"})]);
    is(scalar(() = $lines->($out)), 0, 'a login query on another table: not this module\'s business') or diag $out;

    ($rc, $out) = configtest(extra => [($login->($sample))[0, 1], "Listen 127.0.0.1:$vhost_port",
        "<VirtualHost 127.0.0.1:$vhost_port>", '<Location /portal/account>',
        "    AuthDBDUserPWQuery $old", '</Location>', '</VirtualHost>']);
    is(scalar(() = $lines->($out)), 1, 'an old login query inside a <VirtualHost>: warned too') or diag $out;
}

# --- bad values: [directive named in the output, description, %configtest args] ---------
my @BAD = (
    [PortalInvitationURL => 'not a URL', set => { PortalInvitationURL => 'not-a-url' }],
    [PortalInvitationURL => 'relative URL', set => { PortalInvitationURL => '/portal/invitation/' }],
    [PortalInvitationURL => 'ftp URL', set => { PortalInvitationURL => 'ftp://portal.example.org/x/' }],
    [PortalInvitationURL => 'http:// without PortalAllowInsecureURLs On',
        set => { PortalAllowInsecureURLs => undef,
                 PortalLoginURL => 'https://portal.example.org/portal/account/' }],
    [PortalInvitationURL => 'http:// with PortalAllowInsecureURLs Off',
        set => { PortalAllowInsecureURLs => 'Off',
                 PortalLoginURL => 'https://portal.example.org/portal/account/' }],
    [PortalLoginURL => 'not a URL', set => { PortalLoginURL => 'not-a-url' }],
    [PortalLoginURL => 'http:// without PortalAllowInsecureURLs On',
        set => { PortalAllowInsecureURLs => undef,
                 PortalInvitationURL => 'https://portal.example.org/portal/invitation/' }],
    [PortalStaffURL => 'not a URL', set => { PortalStaffURL => 'not-a-url' }],
    [PortalStaffURL => 'http:// without PortalAllowInsecureURLs On',
        set => { PortalAllowInsecureURLs => undef, PortalStaffURL => 'http://staff.example.org/pm/',
                 PortalInvitationURL => 'https://portal.example.org/portal/invitation/',
                 PortalLoginURL => 'https://portal.example.org/portal/account/' }],
    [PortalAllowInsecureURLs => 'not On/Off', set => { PortalAllowInsecureURLs => 'maybe' }],
    [PortalMailServer => 'not a URL', set => { PortalMailServer => 'mail.example.org' }],
    [PortalMailServer => 'not smtp/smtps', set => { PortalMailServer => 'http://mail.example.org' }],
    [PortalMailServer => 'host:port without a scheme',
        set => { PortalMailServer => 'mail.riverside-counseling.com:587' }],
    [PortalMailTLS => 'bogus', set => { PortalMailTLS => 'bogus' }],
    [PortalMailTimeout => 'negative', set => { PortalMailTimeout => '-1' }],
    [PortalMailTimeout => 'not a number', set => { PortalMailTimeout => 'ten' }],
    [PortalOutboxInterval => 'negative', set => { PortalOutboxInterval => '-5' }],
    [PortalOutboxInterval => 'not a number', set => { PortalOutboxInterval => '5ms' }],
    [PortalMailConnections => 'zero', set => { PortalMailConnections => '0' }],
    [PortalSweepInterval => 'zero', set => { PortalSweepInterval => '0' }],
    [PortalSweepInterval => 'more than an hour', set => { PortalSweepInterval => '3601' }],
    [PortalMailConnections => 'more than 20', set => { PortalMailConnections => '21' }],
    [PortalOutboxMaxAttempts => 'negative', set => { PortalOutboxMaxAttempts => '-1' }],
    [PortalOutboxMaxAttempts => 'not a number', set => { PortalOutboxMaxAttempts => 'many' }],
    [PortalAllowInsecureMail => 'not On/Off', set => { PortalAllowInsecureMail => 'yes please' }],
    [PortalRecipientIPLimit => 'negative', set => { PortalRecipientIPLimit => '-1' }],
    [PortalRecipientIPLimit => 'rate syntax', set => { PortalRecipientIPLimit => '30/min' }],
    [PortalRecipientTokenLimit => 'not a number', set => { PortalRecipientTokenLimit => 'ten' }],
    [PortalRecipientTokenLimit => 'too large', set => { PortalRecipientTokenLimit => '1000001' }],
    [PortalRecipientRateWindow => 'zero', set => { PortalRecipientRateWindow => '0' }],
    [PortalRecipientRateWindow => 'more than a day', set => { PortalRecipientRateWindow => '86401' }],
    [PortalMaxBodySize => 'negative', body_size => '-1'],
    [PortalMaxBodySize => 'not a number', body_size => '64k'],
    [PortalMailPasswordFile => 'missing file', set => { PortalMailPasswordFile => "$dir/no-such-file" }],
    [PortalMailPasswordFile => 'a directory', set => { PortalMailPasswordFile => "$dir" }],
    ($> != 0
        ? [PortalMailPasswordFile => 'unreadable file (mode 000)',
              set => { PortalMailPasswordFile => $unreadable }]
        : ()),
    [PortalTokenSecretFile => 'missing file', set => { PortalTokenSecretFile => "$dir/no-such-secret" }],
    [PortalTokenSecretFile => 'shorter than 32 characters', set => { PortalTokenSecretFile => $secret }],
    [PortalTokenSecretFile => '40 spaces', set => { PortalTokenSecretFile => $blank_secret }],
    [PortalMailBounceAddress => 'not an address', set => { PortalMailBounceAddress => 'bounces' }],
    [PortalMailBounceAddress => 'without PortalTokenSecretFile',
        set => { PortalMailBounceAddress => 'bounces@practice.org' }],
    [PortalCatalogDir => 'missing directory', set => { PortalCatalogDir => "$dir/no-such-i18n" }],
    [PortalMailCAFile => 'missing file', set => { PortalMailCAFile => "$dir/no-such-ca.pem" }],
    [PortalMailCAFile => 'no PEM certificate in it', set => { PortalMailCAFile => "$dir/not-a-cert.pem" }],
    [PortalMailCAFile => 'a directory', set => { PortalMailCAFile => "$dir" }],
    [PortalMailCAPath => 'a file, not a directory', set => { PortalMailCAPath => $ca }],
    [PortalMailCAPath => 'missing directory', set => { PortalMailCAPath => "$dir/no-such-dir" }],
    [PortalMailHelo => 'not a host name', set => { PortalMailHelo => 'bad_name!' }],
    [PortalMailHelo => 'empty label', set => { PortalMailHelo => 'a..example.org' }],
    [PortalMailFrom => 'address without @', set => { PortalMailFrom => '"Foo <bar>"' }],
    [PortalMailFrom => 'unclosed angle bracket',
        set => { PortalMailFrom => '"Foo <bar@example.org"' }],
    [PortalMailFrom => 'bare word', set => { PortalMailFrom => 'nobody' }],
    # httpd expands ${VAR} from the environment, so a value can carry a newline or a CR
    [PortalMailFrom => 'newline (header injection)',
        set => { PortalMailFrom => '"${PM_TEST_FROM}"' },
        env => { PM_TEST_FROM => "A <a\@example.org>\nBcc: victim\@example.net" }],
    [PortalMailFrom => 'carriage return',
        set => { PortalMailFrom => '"${PM_TEST_FROM}"' },
        env => { PM_TEST_FROM => "A <a\@example.org>\rBcc: victim\@example.net" }],
);

# --- a mail server written without its scheme: the hint names the mail schemes -----------
{
    my ($rc, $out) = configtest(set => { PortalMailServer => 'mail.riverside-counseling.com:587' });
    isnt($rc, 0, 'PortalMailServer host:port: configtest fails');
    my @lines = grep { /PortalMailServer/ } split /\n/, $out;
    is(scalar(grep { m{smtp:// or smtps://} } @lines), 1, 'PortalMailServer host:port: the hint says smtp:// or smtps://')
        or diag $out;
    is(scalar(grep { m{https://} } @lines), 0, 'and never https://') or diag $out;
}

# --- the catalogs: every key en.json has, in every language -------------------------------
{
    my $catalogs = "$dir/i18n";
    mkdir $catalogs or die "$catalogs: $!";
    my $en = PortalTest::Env::slurp(PortalTest::Env::top_dir() . '/htdocs/invitation/i18n/en.json');
    PortalTest::Env::spew("$catalogs/en.json", $en);
    (my $fr = $en) =~ s/"language": "en"/"language": "fr"/;
    PortalTest::Env::spew("$catalogs/fr.json", $fr);
    my ($rc, $out) = configtest(set => { PortalCatalogDir => $catalogs });
    is($rc, 0, 'a complete third catalog passes') or diag $out;

    (my $lacking = $fr) =~ s/\s*"client_subject": "[^"]*",//;
    PortalTest::Env::spew("$catalogs/fr.json", $lacking);
    ($rc, $out) = configtest(set => { PortalCatalogDir => $catalogs });
    isnt($rc, 0, 'a catalog lacking a key: configtest fails');
    my @lines = grep { /PM00420/ } split /\n/, $out;
    is(scalar @lines, 1, 'one line') or diag $out;
    like($lines[0] // '', qr{fr\.json lacks key "email\.client_subject" \(en\.json has it\).*PortalCatalogDir},
         'the line names the file, the key and the directive');
    unlike($out, qr/Syntax OK/, 'a catalog lacking a key: no Syntax OK');

    PortalTest::Env::spew("$catalogs/fr.json", '{"language": "fr", "email": {');
    ($rc, $out) = configtest(set => { PortalCatalogDir => $catalogs });
    isnt($rc, 0, 'an unparsable catalog: configtest fails');
    like($out, qr{PM00420.*fr\.json cannot be read}, 'the line names the file') or diag $out;
}

for my $case (@BAD) {
    my ($directive, $what, %args) = @$case;
    my ($rc, $out, $conf) = configtest(%args);
    my $name = "$directive $what";
    isnt($rc, 0, "$name: configtest fails") or diag "config: $conf\n$out";
    my @naming = grep { /\Q$directive\E/ && !/^\s*$/ } split /\n/, $out;
    ok(scalar @naming, "$name: the output names $directive") or diag $out;
    unlike($out, qr/Syntax OK/, "$name: no 'Syntax OK'");
}

done_testing();
