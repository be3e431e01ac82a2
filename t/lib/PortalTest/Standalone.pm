package PortalTest::Standalone;
# PortalTest::Standalone — a second, throwaway httpd with its own database, its own SMTP
# catcher and its own server-level Portal* directives. Its httpd.conf is the one template
# (conf/httpd-portal.conf.in: the staff API, the recipient API and pages, as deployed)
# with this server's lines after it (see _write_conf). For what the main test server
# cannot do (a vhost cannot change PortalMailTLS or the outbox settings, and the delivery
# worker is per server): PortalMailTLS required, SMTP AUTH, a mail server that stays down
# for a while; and for bench/mail_latency.
#
#   my $sa = PortalTest::Standalone->new(name => 'tls',
#       portal  => { PortalMailTLS => 'required' },       # over the defaults below
#       catcher => ['--tls-cert', $crt, '--tls-key', $key]);
#   $sa->start;                                          # catcher + httpd
#   my $res = $sa->staff(POST => '/clients/1/invitations');
#   my @m = $sa->mails;  my $dbh = $sa->db;
#   $sa->stop_smtp; $sa->start_smtp;                     # same port again
#   $sa->stop;                                           # httpd, catcher, pg schema
#   $sa->graceful;  $sa->kill_children('KILL');           # httpd -k graceful; signal its children
#   my $res = $sa->recipient(lookup => { token => $t });   # the public recipient API
#   my $b = PortalTest::Standalone->new(name => 'b', share => $sa);  # a second httpd on
#                                        # $sa's database and catcher (stop() leaves them)
#   my $f = PortalTest::Standalone->new(name => 'full', db_dir => $mnt);  # SQLite: the file
#                                        # in $mnt (a small filesystem the test mounted)
#   my $m = PortalTest::Standalone->new(name => 'mta', smtp_port => $port, no_catcher => 1);
#                                        # mail goes to a real MTA on $port (t/mta/run.pl)
#
# Database: the driver of the suite ($PM_DB_DRIVER / the test runtime). SQLite: a new
# file in the run dir. PostgreSQL: a new schema pm_sa_<pid>_<n> in the suite's database,
# used through search_path (DBDParams options=-csearch_path=...), dropped by stop().
# Schema and t/fixtures seed are loaded as for the main server.
# Run as root (bench/): httpd children run as $PM_TEST_USER (default pmtest).
# Its error_log is judged with the main server's by the test file (PortalTest::LogCheck).
use strict;
use warnings;

use Cwd qw(abs_path);
use File::Path qw(make_path remove_tree);
use HTTP::Request ();
use IO::Socket::INET ();
use JSON::PP ();
use LWP::UserAgent ();
use MIME::Base64 qw(encode_base64);
use POSIX ();
use Time::HiRes qw(sleep time);
use PortalTest::Env ();
use PortalTest::LogCheck ();
use PortalTest::PgKeep ();

my $seq = 0;

sub new {
    my ($class, %o) = @_;
    my $top = PortalTest::Env::top_dir();
    my $name = $o{name} || 'sa';
    $seq++;
    my $self = bless {
        name    => $name,
        top     => $top,
        dir     => $o{dir} || "$top/t/logs/standalone-$name-$$-$seq",
        driver  => $o{driver} || $ENV{PM_DB_DRIVER} || _runtime_driver() || 'sqlite3',
        portal  => $o{portal} || {},
        catcher => $o{catcher} || [],
        extra   => $o{extra_conf} || '',
        module  => $ENV{PM_MODULE} || "$top/.libs/mod_portal_manager.so",
        httpd   => $ENV{PM_HTTPD} || '/usr/sbin/apache2',
        smtp_port => $o{smtp_port},
        owner   => $$,
        share   => $o{share},
        no_catcher => $o{no_catcher},
        db_dir  => $o{db_dir},
    }, $class;
    $self->{mail_dir} = "$self->{dir}/mail";
    return $self;
}

sub _runtime_driver {
    my $rt = eval { PortalTest::Env::load() };
    return $rt ? $rt->{db_driver} : undef;
}

sub _base_pg_params {
    return $ENV{PM_DB_PARAMS} if $ENV{PM_DB_PARAMS};
    my $rt = eval { PortalTest::Env::load() };
    return $rt ? $rt->{db_params} : die "pgsql: PM_DB_PARAMS is not set\n";
}

sub run_user {
    return undef unless $> == 0;
    return $ENV{PM_TEST_USER} || 'pmtest';
}

sub port { $_[0]{port} }
sub base_url { "http://127.0.0.1:$_[0]{port}" }
sub invitation_url { $_[0]->base_url . '/portal/invitation/' }
sub error_log { "$_[0]{dir}/error_log" }
sub access_log { "$_[0]{dir}/access_log" }

# --- database -------------------------------------------------------------------------

sub _setup_db {
    my $self = shift;
    if ($self->{driver} eq 'sqlite3') {
        $self->{db_file} = ($self->{db_dir} || $self->{dir}) . '/portal.db';
        PortalTest::Env::load_database({ db_driver => 'sqlite3', db_file => $self->{db_file} });
        $self->{dbd_params} = $self->{db_file};
        return;
    }
    my $base = _base_pg_params();
    my $schema = "pm_sa_${$}_$seq";
    $self->{pg_base} = $base;
    $self->{pg_schema} = $schema;
    my @psql = ('psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', $base);
    local $ENV{PGOPTIONS} = "--client-min-messages=warning -csearch_path=$schema";
    PortalTest::Env::run_cmd('creating the schema', @psql,
        '-c', "DROP SCHEMA IF EXISTS $schema CASCADE", '-c', "CREATE SCHEMA $schema");
    for my $f (PortalTest::Env::schema_file('pgsql'), PortalTest::Env::migration_files('pgsql'),
                PortalTest::Env::seed_files('pgsql')) {
        PortalTest::Env::run_cmd("loading $f", @psql, '-f', $f);
    }
    PortalTest::Env::run_cmd('schema version', @psql, '-c', PortalTest::Env::schema_version_sql('pgsql'));
    $self->{dbd_params} = "$base options=-csearch_path=$schema";
}

# a DBI handle on this server's database (PostgreSQL: kept for the next call, PortalTest::PgKeep)
sub db {
    my $self = shift;
    require DBI;
    if ($self->{driver} eq 'sqlite3') {
        my $dbh = DBI->connect("dbi:SQLite:dbname=$self->{db_file}", '', '',
            { RaiseError => 1, AutoCommit => 1, sqlite_unicode => 1 });
        $dbh->do('PRAGMA busy_timeout = 5000');
        return $dbh;
    }
    return PortalTest::PgKeep::handle_for($self->{pg_base},
                                          ";options=-csearch_path=$self->{pg_schema}");
}

# --- SMTP catcher ---------------------------------------------------------------------

sub start_smtp {
    my ($self, @extra) = @_;
    my $dir = $self->{mail_dir};
    make_path($dir);
    $self->{smtp_port} ||= PortalTest::Env::free_port();
    my $pidfile = "$self->{dir}/smtp.pid";
    unlink "$dir/ready";
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        POSIX::setsid();
        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', "$self->{dir}/smtp.log";
        open STDERR, '>&', \*STDOUT;
        exec $PortalTest::Env::PYTHON, "$self->{top}/t/smtp/catcher.py",
            '--listen', "127.0.0.1:$self->{smtp_port}", '--dir', $dir, '--pidfile', $pidfile,
            @{ $self->{catcher} }, @extra
            or POSIX::_exit(127);
    }
    my $deadline = time + 15;
    until (-s "$dir/ready") {
        if (waitpid($pid, POSIX::WNOHANG()) == $pid || time > $deadline) {
            die "standalone $self->{name}: the SMTP catcher did not start:\n"
                . (eval { PortalTest::Env::slurp("$self->{dir}/smtp.log") } // '');
        }
        sleep 0.02;
    }
    $self->{smtp_pid} = $pid;
    return $self;
}

sub stop_smtp {
    my $self = shift;
    my $pid = $self->{smtp_pid} or return;
    if (kill 'TERM', $pid) {
        for (1 .. 200) { last if waitpid($pid, POSIX::WNOHANG()) == $pid; sleep 0.025 }
        if (kill 0, $pid) { kill 'KILL', $pid; waitpid($pid, 0) }
    }
    delete $self->{smtp_pid};
    # the port is free again when a connect is refused
    for (1 .. 100) {
        my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$self->{smtp_port}", Timeout => 1);
        last unless $s;
        close $s;
        sleep 0.02;
    }
}

sub mails {
    my $self = shift;
    my $dir = "$self->{mail_dir}/new";
    opendir my $dh, $dir or return ();
    my @out;
    for my $f (sort grep { /^\d+\.eml$/ } readdir $dh) {
        (my $meta = $f) =~ s/\.eml$/.json/;
        my $m = eval { JSON::PP->new->decode(PortalTest::Env::slurp("$dir/$meta")) } || {};
        push @out, { %$m, file => "$dir/$f", raw => PortalTest::Env::slurp("$dir/$f") };
    }
    return @out;
}

sub mail_count {
    my $self = shift;
    opendir my $dh, "$self->{mail_dir}/new" or return 0;
    return scalar grep { /^\d+\.eml$/ } readdir $dh;
}

sub mail_replies {
    my ($self, @lines) = @_;
    make_path("$self->{mail_dir}/control");
    PortalTest::Env::spew("$self->{mail_dir}/control/replies", join('', map { "$_\n" } @lines));
}

# --- httpd ----------------------------------------------------------------------------

# httpd.conf: conf/httpd-portal.conf.in (part "full") sized as httpd's defaults but 2
# servers of 25 threads, at most 150; then this server's own lines: file mutexes in its
# run dir, the pool and outbox timings of the main test server (PortalTest::Env) with this
# server's Portal* values over them, and $self->{extra}
sub _write_conf {
    my $self = shift;
    my $dir = $self->{dir};
    my %portal = (
        PortalMailTLS => 'none',
        (map { split / /, $_, 2 } @PortalTest::Env::OUTBOX),
        %{ $self->{portal} },
    );
    my $tls = delete $portal{PortalMailTLS};
    my @order = qw(PortalMailUser PortalMailPasswordFile PortalMailTimeout PortalOutboxInterval
                   PortalOutboxMaxAttempts PortalOutboxRetryDelay);
    my %seen;
    my @portal = map { $seen{$_}++ || !defined $portal{$_} ? () : "$_ $portal{$_}" }
                 (@order, sort keys %portal);
    my $user = run_user();
    make_path("$dir/docroot");
    PortalTest::Env::httpd_conf("$dir/httpd.conf",
        caller => 't/lib/PortalTest/Standalone.pm',
        values => {
            MODULE => $self->{module}, PORT => $self->{port}, RUNTIME_DIR => $dir,
            ERROR_LOG => $self->error_log, ACCESS_LOG => $self->access_log,
            ($user ? (CHILD_USER => $user) : ()),
            START_SERVERS => 2, SERVER_LIMIT => 16, THREADS_PER_CHILD => 25,
            MAX_REQUEST_WORKERS => 150, MIN_SPARE_THREADS => 75, MAX_SPARE_THREADS => 250,
            DOCROOT => "$dir/docroot",
            DB_DRIVER => $self->{driver}, DB_PARAMS => $self->{dbd_params},
            BASE_URL => $self->base_url,
            MAIL_SERVER => "smtp://127.0.0.1:$self->{smtp_port}", MAIL_TLS => $tls,
            MAIL_FROM => $PortalTest::Env::MAIL_FROM,
            AUTH_USER_FILE => "$dir/staff.htpasswd", AUTH_GROUP_FILE => "$dir/staff.groups",
        },
        extra => [
            "Mutex file:$dir default",
            PortalTest::Env::init_sql_lines($self->{driver}),
            @PortalTest::Env::POOL,
            @portal,
            grep { length } $self->{extra},
        ]);
}

# everything: run dir, database, auth files, catcher, httpd
sub start {
    my $self = shift;
    PortalTest::LogCheck::watch($self->error_log, 1);   # judged by the test file's done_testing
    remove_tree($self->{dir});
    make_path($self->{dir});
    chmod 0755, $self->{dir};
    $self->{port} = PortalTest::Env::free_port();
    if (my $o = $self->{share}) {
        $self->{$_} = $o->{$_} for qw(driver db_file dbd_params pg_base smtp_port mail_dir);
        $self->{pg_schema_shared} = $o->{pg_schema};
    }
    else {
        $self->_setup_db;
    }
    PortalTest::Env::write_auth_files({ htpasswd => "$self->{dir}/staff.htpasswd",
                                        groups => "$self->{dir}/staff.groups" });
    $self->start_smtp unless $self->{share} || $self->{no_catcher};
    $self->_write_conf;
    return $self->start_httpd;
}

# httpd alone (again), on the same database and catcher: see stop_httpd
# keep_owner => 1: the files keep the owners a test gave them (a root-owned directory)
sub start_httpd {
    my ($self, %o) = @_;
    if (!$o{keep_owner} and my $u = run_user()) {
        my ($uid, $gid) = (getpwnam $u)[2, 3];
        die "no user $u\n" unless defined $uid;
        system('chown', '-R', "$uid:$gid", $self->{dir}, $self->{db_dir} // ()) == 0
            or die "chown failed\n";
    }
    my $out = qx{$self->{httpd} -f $self->{dir}/httpd.conf -k start 2>&1};
    die "standalone $self->{name}: httpd did not start: $out\n" if $?;
    my $up = 0;
    for (1 .. 200) {
        my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$self->{port}", Timeout => 1);
        if ($s && -s "$self->{dir}/httpd.pid") { close $s; $up = 1; last }
        sleep 0.05;
    }
    die "standalone $self->{name}: httpd is not listening:\n"
        . (eval { PortalTest::Env::slurp($self->error_log) } // '') unless $up;
    $self->{started} = 1;
    return $self;
}

# httpd only; the database and the catcher stay
sub stop_httpd {
    my $self = shift;
    return unless $self->{started};
    my $pid = eval { PortalTest::Env::slurp("$self->{dir}/httpd.pid") } // '';
    chomp $pid;
    if ($pid =~ /^\d+$/ && kill 'TERM', $pid) {
        for (1 .. 200) { last unless kill 0, $pid; sleep 0.05 }
        kill 'KILL', $pid if kill 0, $pid;
    }
    for (1 .. 100) {                     # the port is free again
        my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$self->{port}", Timeout => 1);
        last unless $s;
        close $s;
        sleep 0.05;
    }
    delete $self->{started};
}

# httpd -k graceful: the children of the old generation finish, a new one starts
sub graceful {
    my $self = shift;
    my $out = qx{$self->{httpd} -f $self->{dir}/httpd.conf -k graceful 2>&1};
    die "standalone $self->{name}: graceful restart failed: $out\n" if $?;
}

sub httpd_pid {
    my $self = shift;
    my $pid = eval { PortalTest::Env::slurp("$self->{dir}/httpd.pid") } // '';
    chomp $pid;
    return $pid =~ /^\d+$/ ? $pid : undef;
}

# the pids of this server's httpd children
sub children {
    my $self = shift;
    my $parent = $self->httpd_pid or return ();
    return grep { /^\d+$/ } map { s/\s+//gr } split /\n/, qx{ps -o pid= --ppid $parent};
}

# send SIGNAL to every child (the parent forks new ones); returns how many
sub kill_children {
    my ($self, $signal) = @_;
    my @pids = $self->children;
    return kill $signal, @pids;
}

sub stop {
    my $self = shift;
    $self->stop_httpd;
    $self->stop_smtp;
    if ($self->{pg_schema}) {
        local $ENV{PGOPTIONS} = '--client-min-messages=warning';
        eval { PortalTest::Env::run_cmd('dropping the schema', 'psql', '-X', '-q',
            $self->{pg_base}, '-c', "DROP SCHEMA IF EXISTS $self->{pg_schema} CASCADE") };
        delete $self->{pg_schema};
    }
}

# only the process that made it stops it (not a forked child going away)
sub DESTROY { local ($@, $?); $_[0]->stop if $_[0]{owner} == $$ }

# --- requests -------------------------------------------------------------------------

# staff(METHOD, '/path', user => NAME (admin), json => REF) against this server's staff API
sub staff {
    my ($self, $method, $path, %opt) = @_;
    my $user = exists $opt{user} ? $opt{user} : 'admin';
    my $req = HTTP::Request->new($method => $self->base_url . '/portal-manager/api' . $path);
    $req->header(Authorization => 'Basic '
        . encode_base64("$user:" . PortalTest::Env::password_for($user), '')) if defined $user;
    my $body = exists $opt{json} ? JSON::PP->new->utf8->encode($opt{json}) : '';
    $req->content($body);
    $req->header('Content-Type' => 'application/json') if length $body;
    $req->header('Content-Length' => length $body) unless $method =~ /^(GET|HEAD)$/;
    $req->header('X-Requested-With' => 'portal-manager') unless $method =~ /^(GET|HEAD)$/;
    $self->{ua} ||= LWP::UserAgent->new(keep_alive => 4, timeout => 30);
    return $self->{ua}->request($req);
}

# recipient(ACTION, \%body): POST /portal/invitation/api/ACTION as the invitation page does
sub recipient {
    my ($self, $action, $body) = @_;
    my $req = HTTP::Request->new(POST => $self->invitation_url . "api/$action");
    my $json = JSON::PP->new->utf8->encode($body);
    $req->content($json);
    $req->header('Content-Type' => 'application/json', 'Content-Length' => length $json,
                 'X-Requested-With' => 'portal-manager');
    $self->{ua} ||= LWP::UserAgent->new(keep_alive => 4, timeout => 30);
    return $self->{ua}->request($req);
}

1;
