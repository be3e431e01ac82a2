package PortalTest::Env;
# PortalTest::Env — the runtime a test httpd needs, made fresh before each server start:
#
#   t/logs/pm/                  runtime dir (RUNTIME below)
#     staff.htpasswd, staff.groups   Basic auth users (password "secret-<user>") and groups
#     portal.db                 SQLite database (driver sqlite3), schema + t/fixtures seed
#     mail/new/*.eml,*.json     what the loopback SMTP server (t/smtp/catcher.py) received
#     mail/control/replies      failure injection for the SMTP server (see catcher.py)
#     mail.secret               a PortalMailPasswordFile for tests that need one
#     token.secret              the main server's PortalTokenSecretFile (bounce MACs, t/bounces.t)
#     env.json                  all of the above for the .t files (PortalTest::runtime)
#   t/conf/portal_runtime.conf  the module's configuration for this run (Included by extra.conf):
#                               conf/httpd-portal.conf.in's part "portal", plus the pool
#                               and outbox timings below
#   t/conf/portal_db_down.conf  DBD* for the <VirtualHost portal_db_down>: a dead database
#   t/conf/portal_fresh_db.conf DBD* for the <VirtualHost portal_fresh_db>: the same database
#                               through a connection pool of its own (t/store_fresh_connection.t)
#
# The database driver comes from the environment:
#   PM_DB_DRIVER=sqlite3 (default)  a fresh SQLite file in RUNTIME
#   PM_DB_DRIVER=pgsql PM_DB_PARAMS="host=127.0.0.1 port=N dbname=portal user=portal password=..."
#                                    the database is emptied (schema public dropped) and reloaded
use strict;
use warnings;

use Cwd qw(abs_path);
use File::Path qw(make_path remove_tree);
use File::Spec::Functions qw(catfile catdir);
use IO::Socket::INET ();
use JSON::PP ();
use POSIX ();
use Time::HiRes qw(sleep time);

# champion2: a second champion (the test-email limit is per champion); champion4: one
# whose hour of test emails only the parallel burst of t/admin_settings.t spends; FORMULA_USER: a
# staff name a spreadsheet would run as a formula (the audit CSV must neutralise it);
# ehrsync: an EHR integration account, let into PUT /admin/roster only (t/conf/extra.conf.in);
# champion5: a champion who sees only a caseload (t/admin_outbox.t gives it its staff row)
# champion6: a champion with a caseload whom t/admin_roster.t refuses the roster sync
our $FORMULA_USER = "=cmd|' /C calc'!A0";
# UTF8_USER: a staff name beyond ASCII, as a directory may hand one to Basic auth (its
# UTF-8 bytes, as the browser sends them); its audit rows must chain like any other
our $UTF8_USER = "zo\xc3\xab.n\xc3\xba\xc3\xb1ez";
our @USERS = (qw(admin clin1 clin2 inactive nobody_staff champion2 champion3 champion4 champion5 champion6 ehrsync), $FORMULA_USER,
              $UTF8_USER);
our %GROUPS = ('portal-admins' => ['admin', 'champion2', 'champion3', 'champion4', 'champion5', 'champion6'], 'portal-integrations' => ['ehrsync']);
our $PYTHON = '/usr/bin/python3';

sub password_for { "secret-$_[0]" }

sub top_dir {
    my $t = abs_path(catdir(__FILE__ =~ m{^(.*)/lib/PortalTest/Env\.pm$} ? $1 : 't'));
    return abs_path("$t/..");
}

sub runtime_dir { catdir(top_dir(), qw(t logs pm)) }

# A loopback port nothing listens on, for a server a test starts a moment later: below
# the kernel's range for outgoing connections (net.ipv4.ip_local_port_range). A port the
# kernel hands out from that range (LocalPort => 0) can be an outgoing connection's own by
# the time httpd binds it; a CI run lost t/delivery_standalone.t to that ("Address already
# in use" for a standalone httpd while PostgreSQL had many connections open).
sub free_port {
    my ($low) = eval { split ' ', slurp('/proc/sys/net/ipv4/ip_local_port_range') };
    my $top = ($low && $low > 20001 ? $low : 32768) - 1;
    for (1 .. 500) {
        my $port = 20000 + int(rand($top - 20000 + 1));
        my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => $port,
                                      Proto => 'tcp', Listen => 1, ReuseAddr => 1) or next;
        close $s;
        return $port;
    }
    die "free_port: no free loopback port from 20000 to $top\n";
}

sub slurp {
    my $f = shift;
    open my $fh, '<:raw', $f or die "open $f: $!";
    local $/;
    return scalar <$fh>;
}

# a log file's size now, and what was written to it from an offset (a graceful restart's
# lines, a worker's): log_since($path, log_size($path))
sub log_size { -s $_[0] || 0 }

sub log_since {
    my ($f, $offset) = @_;
    open my $fh, '<', $f or return '';
    seek $fh, $offset, 0;
    local $/;
    return scalar <$fh> // '';
}

sub spew {
    my ($f, $content, $mode) = @_;
    open my $fh, '>:raw', $f or die "write $f: $!";
    print $fh $content;
    close $fh or die "close $f: $!";
    chmod $mode, $f if defined $mode;
}

sub run_cmd {
    my ($what, @cmd) = @_;
    my $out = qx{@{[ join ' ', map { shell_quote($_) } @cmd ]} 2>&1};
    die "$what failed (exit " . ($? >> 8) . "): @cmd\n$out" if $?;
    return $out;
}

sub shell_quote {
    my $s = shift;
    return $s if $s =~ m{^[\w./:=+,@%-]+$};
    $s =~ s/'/'\\''/g;
    return "'$s'";
}

sub schema_file {
    my $driver = shift;
    my $f = catfile(top_dir(), 'conf', 'schema', $driver eq 'pgsql' ? 'postgresql.sql' : 'sqlite.sql');
    die "schema file $f is missing\n" unless -f $f;
    return $f;
}

# the numbered migrations of conf/schema/migrations/DRIVER, in order (as
# portal-manager-admin init applies them on top of the version-1 schema)
sub migration_files {
    my $driver = shift;
    my $dir = catfile(top_dir(), 'conf', 'schema', 'migrations', $driver);
    opendir(my $dh, $dir) or return ();
    my @f = sort grep { /^\d{3}-.*\.sql$/ } readdir $dh;
    closedir $dh;
    return map { catfile($dir, $_) } @f;
}

# the statement that records the newest migration as the schema's version, as
# portal-manager-admin init does (the module refuses a database older than it needs)
sub schema_version_sql {
    my $driver = shift;
    my ($newest) = map { /(\d{3})-[^\/]*\.sql$/ ? $1 + 0 : () } reverse migration_files($driver);
    return "UPDATE schema_version SET version = " . ($newest // 1);
}

sub seed_files {
    my $driver = shift;
    my @f = (catfile(top_dir(), qw(t fixtures seed.sql)));
    push @f, catfile(top_dir(), qw(t fixtures seed-pg.sql)) if $driver eq 'pgsql';
    return grep { -f } @f;
}

# Empty the database and load schema + seed. Returns nothing; dies on error.
sub load_database {
    my ($rt) = @_;
    my $driver = $rt->{db_driver};
    if ($driver eq 'sqlite3') {
        unlink $rt->{db_file}, "$rt->{db_file}-wal", "$rt->{db_file}-shm", "$rt->{db_file}-journal";
        for my $f (schema_file($driver), migration_files($driver), seed_files($driver)) {
            run_cmd("loading $f", 'sh', '-c', 'sqlite3 -bail "$1" < "$2"', 'sh', $rt->{db_file}, $f);
        }
        # as portal-manager-admin init does: write-ahead logging, persistent in the file
        run_cmd('schema version', 'sqlite3', $rt->{db_file}, schema_version_sql($driver));
        run_cmd('WAL mode', 'sh', '-c', 'sqlite3 "$1" "PRAGMA journal_mode = WAL" >/dev/null',
                'sh', $rt->{db_file});
    }
    elsif ($driver eq 'pgsql') {
        my @psql = ('psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', $rt->{db_params});
        local $ENV{PGOPTIONS} = '--client-min-messages=warning';
        run_cmd('resetting the database', @psql,
                '-c', 'DROP SCHEMA IF EXISTS public CASCADE', '-c', 'CREATE SCHEMA public');
        for my $f (schema_file($driver), migration_files($driver), seed_files($driver)) {
            run_cmd("loading $f", @psql, '-f', $f);
        }
        run_cmd('schema version', @psql, '-c', schema_version_sql($driver));
    }
    else {
        die "PM_DB_DRIVER must be sqlite3 or pgsql, not '$driver'\n";
    }
}

sub write_auth_files {
    my ($rt) = @_;
    unlink $rt->{htpasswd};
    for my $u (@USERS) {
        # bcrypt at the lowest cost: real hashes, but Basic auth stays fast per request
        run_cmd('htpasswd', 'htpasswd', '-b', '-B', '-C', '4', (-e $rt->{htpasswd} ? () : '-c'),
                $rt->{htpasswd}, $u, password_for($u));
    }
    spew($rt->{groups}, join('', map { "$_: @{ $GROUPS{$_} }\n" } sort keys %GROUPS));
}

sub start_smtp {
    my ($rt) = @_;
    my $dir = $rt->{mail_dir};
    make_path($dir);
    my $port = free_port();
    my $pidfile = catfile($rt->{dir}, 'smtp.pid');
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        POSIX::setsid();
        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', catfile($rt->{dir}, 'smtp.log');
        open STDERR, '>&', \*STDOUT;
        exec $PYTHON, catfile(top_dir(), qw(t smtp catcher.py)),
            '--listen', "127.0.0.1:$port", '--dir', $dir, '--pidfile', $pidfile
            or POSIX::_exit(127);
    }
    my $deadline = time + 15;
    until (-s catfile($dir, 'ready')) {
        if (waitpid($pid, POSIX::WNOHANG()) == $pid || time > $deadline) {
            die "the SMTP catcher did not start:\n" . (eval { slurp(catfile($rt->{dir}, 'smtp.log')) } // '');
        }
        sleep 0.05;
    }
    $rt->{smtp_port} = $port;
    $rt->{smtp_pid} = $pid;
}

sub stop_smtp {
    my $dir = runtime_dir();
    my $pidfile = catfile($dir, 'smtp.pid');
    return unless -f $pidfile;
    chomp(my $pid = slurp($pidfile));
    return unless $pid =~ /^\d+$/;
    if (kill 'TERM', $pid) {
        for (1 .. 100) { last unless kill 0, $pid; sleep 0.05 }
        kill 'KILL', $pid if kill 0, $pid;
    }
    unlink $pidfile;
}

sub conf_quote { my $v = shift; $v =~ s/(["\\])/\\$1/g; qq{"$v"} }

# DBDInitSQL lines of a test server: none on SQLite (conf/httpd-portal.conf.in says why);
# PM_SQLITE_INIT_SQL (one statement a line) sets some there for an experiment.
sub init_sql_lines {
    my $driver = shift;
    return () unless $driver eq 'sqlite3' && defined $ENV{PM_SQLITE_INIT_SQL};
    return map { 'DBDInitSQL ' . conf_quote($_) } grep { /\S/ } split /\n/, $ENV{PM_SQLITE_INIT_SQL};
}

# The mod_dbd pool of a test server and the outbox timings the tests expect (the rest of
# the module's configuration is conf/httpd-portal.conf.in): extra lines for httpd_conf
our @POOL = ('DBDPersist On', 'DBDMin 0', 'DBDKeep 2', 'DBDMax 10', 'DBDExptime 60');
our $MAIL_FROM = 'Riverside Counseling <no-reply@example.test>';
our $BOUNCE_ADDRESS = 'bounces@practice.test';
our @OUTBOX = ('PortalMailTimeout 10', 'PortalOutboxInterval 100', 'PortalSweepInterval 1',
               'PortalOutboxMaxAttempts 3', 'PortalOutboxRetryDelay 1');

# httpd_conf(FILE, part => 'full'|'portal'|'modules', caller => NAME,
#            values => {NAME => VALUE}, extra => [lines]): writes FILE, conf/httpd-portal.conf.in
#            rendered by scripts/lib/httpd-conf.py (the extra lines go through a pipe)
sub httpd_conf {
    my ($file, %o) = @_;
    my $values = $o{values} || {};
    my @extra = @{ $o{extra} || [] };
    my @cmd = ($PYTHON, catfile(top_dir(), qw(scripts lib httpd-conf.py)),
               '--part', $o{part} || 'full', ($o{caller} ? ('--caller', $o{caller}) : ()),
               (@extra ? ('--extra', '-') : ()), '-o', $file,
               map { "$_=$values->{$_}" } sort keys %$values);
    open(my $to, '|-', @cmd) or die "httpd-conf.py: $!\n";
    print $to map { "$_\n" } @extra;
    close $to or die "rendering conf/httpd-portal.conf.in into $file failed (exit " . ($? >> 8) . ")\n";
}

sub write_runtime_conf {
    my ($rt, $port) = @_;
    my $conf_dir = catdir(top_dir(), qw(t conf));
    my $q = \&conf_quote;
    httpd_conf(catfile($conf_dir, 'portal_runtime.conf'),
        part => 'portal', caller => 't/lib/PortalTest/Env.pm for this run',
        values => {
            DB_DRIVER => $rt->{db_driver}, DB_PARAMS => $rt->{db_params},
            BASE_URL => "http://127.0.0.1:$port",
            MAIL_SERVER => "smtp://127.0.0.1:$rt->{smtp_port}", MAIL_FROM => $MAIL_FROM,
            AUTH_USER_FILE => $rt->{htpasswd}, AUTH_GROUP_FILE => $rt->{groups},
        },
        extra => [init_sql_lines($rt->{db_driver}), @POOL, @OUTBOX,
                  # bounces come back to a VERP address naming the email (t/bounces.t)
                  'PortalTokenSecretFile ' . $q->($rt->{token_secret}),
                  "PortalMailBounceAddress $BOUNCE_ADDRESS"]);

    # the same database, but a pool of its own: its connections are new when a test
    # first talks to that vhost. (mod_dbd shares one pool among servers whose driver,
    # params and pool sizes are all equal: DBDExptime differs on purpose.)
    spew(catfile($conf_dir, 'portal_fresh_db.conf'), join("\n",
        '# generated by t/lib/PortalTest/Env.pm: the test database, a pool of its own',
        "DBDriver $rt->{db_driver}", 'DBDParams ' . $q->($rt->{db_params}),
        init_sql_lines($rt->{db_driver}),
        'DBDPersist On', 'DBDMin 0', 'DBDKeep 2', 'DBDMax 10', 'DBDExptime 59', ''));

    # a database that cannot be reached: a closed loopback port, or a file in a missing dir
    my $dead_port = free_port();
    my @dead = $rt->{db_driver} eq 'sqlite3'
        ? ("DBDriver sqlite3", "DBDParams " . $q->("$rt->{dir}/no-such-dir/portal.db"))
        : ("DBDriver pgsql",
           "DBDParams " . $q->("host=127.0.0.1 port=$dead_port dbname=portal user=portal password=x connect_timeout=2"));
    spew(catfile($conf_dir, 'portal_db_down.conf'), join("\n",
        '# generated by t/lib/PortalTest/Env.pm: a database that is down', @dead, 'DBDPersist On',
        # (a database other than the main server's is refused unless said so: PM00671)
        'PortalAllowOtherDatabase On', ''));
}

# Make everything fresh; $port is the main server's port (for the URLs). Returns the runtime hash.
sub setup {
    my ($class, %args) = @_;
    my $dir = runtime_dir();
    stop_smtp();
    remove_tree($dir);
    make_path($dir);

    my $driver = $ENV{PM_DB_DRIVER} || 'sqlite3';
    my $rt = {
        dir       => $dir,
        top_dir   => top_dir(),
        db_driver => $driver,
        htpasswd  => catfile($dir, 'staff.htpasswd'),
        groups    => catfile($dir, 'staff.groups'),
        mail_dir  => catfile($dir, 'mail'),
        mail_secret => catfile($dir, 'mail.secret'),
        token_secret => catfile($dir, 'token.secret'),
        users     => { map { $_ => password_for($_) } @USERS },
        port      => $args{port},
    };
    if ($driver eq 'sqlite3') {
        $rt->{db_file} = catfile($dir, 'portal.db');
        $rt->{db_params} = $rt->{db_file};
    }
    elsif ($driver eq 'pgsql') {
        $rt->{db_params} = $ENV{PM_DB_PARAMS}
            or die "PM_DB_DRIVER=pgsql needs PM_DB_PARAMS (see scripts/lib/pg-cluster.sh)\n";
    }
    else {
        die "PM_DB_DRIVER must be sqlite3 or pgsql, not '$driver'\n";
    }

    load_database($rt);
    write_auth_files($rt);
    spew($rt->{mail_secret}, "mail-password\n", 0600);
    spew($rt->{token_secret}, "test-token-secret-0123456789abcdef0123456789\n", 0600);
    start_smtp($rt);
    write_runtime_conf($rt, $args{port});
    spew(catfile($dir, 'env.json'), JSON::PP->new->canonical->pretty->encode($rt));
    return $rt;
}

sub teardown { stop_smtp() }

# The runtime written by setup, for the .t files.
sub load {
    my $f = catfile(runtime_dir(), 'env.json');
    die "no test runtime ($f): start the server with t/TEST.PL\n" unless -f $f;
    return JSON::PP->new->decode(slurp($f));
}

1;
