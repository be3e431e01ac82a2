package PortalTest::Run;
# PortalTest::Run — Apache::TestRun for mod_portal_manager (used by t/TEST.PL).
#
# What it adds to Apache::TestRun:
#  - defaults when it starts a server: -httpd /usr/sbin/apache2 -apxs /usr/bin/apxs, a
#    minimal generated -httpd_conf (t/conf/portal_base.conf, the modules of
#    conf/httpd-portal.conf.in: Debian's apache2.conf needs env vars), a free port
#    (-port select), and so a fresh configuration every time;
#  - before the server starts: a fresh runtime (PortalTest::Env: database from schema
#    and seed, htpasswd/groups, the loopback SMTP catcher, t/conf/portal_runtime.conf);
#  - a server that fails to start is a failure (Apache::TestRun exits 0 there);
#  - tests run with TAP::Harness; the totals are printed as
#    "apache-test (DRIVER): passed=N failed=N skipped=N" and written to $PM_TAP_SUMMARY if set;
#    the exit status is non-zero when anything failed;
#  - root: Apache::Test refuses it (httpd children can't serve as root and the tree may
#    not be readable by another user). scripts/lib/apache-tests.sh runs the suite as an
#    unprivileged user on a copy of the tree; we point there instead of the stock message.
use strict;
use warnings;

use parent 'Apache::TestRun';

use Apache::TestConfig ();
use Apache::TestHarness ();
use Apache::TestTrace;
use File::Spec::Functions qw(catfile);
use TAP::Harness ();
use PortalTest::Env ();

our $HTTPD = $ENV{PM_HTTPD} || '/usr/sbin/apache2';
our $APXS  = $ENV{PM_APXS}  || '/usr/bin/apxs';

# The base config Apache::Test inherits (ServerRoot, LoadModule, TypesConfig): the
# modules of conf/httpd-portal.conf.in (part "modules"); extra.conf.in adds ours.
sub base_conf_file { catfile(PortalTest::Env::top_dir(), qw(t conf portal_base.conf)) }

sub write_base_conf {
    my $file = base_conf_file();
    PortalTest::Env::httpd_conf($file,
        part => 'modules', caller => 't/lib/PortalTest/Run.pm (the base config Apache::Test inherits)');
    return $file;
}

sub module_file {
    $ENV{PM_MODULE} || catfile(PortalTest::Env::top_dir(), '.libs', 'mod_portal_manager.so');
}

# @PortalModule@ in extra.conf.in
sub new_test_config {
    my $self = shift;
    my $config = $self->SUPER::new_test_config(@_);
    $config->{vars}{portalmodule} = module_file();
    return $config;
}

sub run {
    my ($self, @argv) = @_;
    my %has = map { /^--?([\w-]+)/ ? (lc $1 => 1) : () } @argv;
    # Starting a server (the default run, or -start-httpd): pass our defaults, which makes
    # Apache::TestRun regenerate its config, so no stale t/conf/httpd.conf survives a
    # change of driver or tree. Talking to a running server (-run-tests, -stop-httpd...):
    # reuse the saved config, which knows the port that server listens on.
    my $saved = -f catfile(PortalTest::Env::top_dir(), qw(t conf apache_test_config.pm));
    my $starting = $has{'start-httpd'}
        || !grep { $has{$_} } qw(run-tests stop-httpd ping clean get post head help);
    my @defaults;
    if ($starting || !$saved) {
        push @defaults, -httpd => $HTTPD unless $has{httpd};
        push @defaults, -apxs => $APXS unless $has{apxs};
        push @defaults, -httpd_conf => write_base_conf() unless $has{httpd_conf};
        push @defaults, -port => 'select' unless $has{port} || $ENV{APACHE_TEST_PORT};
    }
    local @ARGV = (@defaults, @argv);
    $self->SUPER::run(@defaults, @argv);
    return $self->{pm_failed} ? 1 : 0;
}

sub check_runtime_user {
    my $self = shift;
    if ($> == 0) {
        error "Apache::Test can't run the suite as root: httpd children must run as "
            . "another user, who must be able to read the tree and write the database.";
        error "As root, run: scripts/lib/apache-tests.sh [sqlite3|pgsql]  "
            . "(runs t/TEST.PL as an unprivileged user on a copy of the tree)";
        $self->record_totals(0, 1, 0);
        Apache::TestRun::exit_perl(0);
    }
    return 1;
}

sub start {
    my $self = shift;
    my $opts = $self->{opts};
    my $server = $self->{server};
    $self->check_runtime_user;

    if ($opts->{'start-httpd'}) {
        my $port = $self->{test_config}{vars}{port};
        my $rt = eval { PortalTest::Env->setup(port => $port) };
        if (!$rt) {
            error "test runtime setup failed: $@";
            PortalTest::Env->teardown;
            $self->record_totals(0, 1, 0);
            Apache::TestRun::exit_perl(0);
        }
        info "database: $rt->{db_driver}, smtp catcher on 127.0.0.1:$rt->{smtp_port}";
        my $failed_start = sub {
            error "httpd failed to start; see t/logs/error_log";
            $self->dump_error_log;
            PortalTest::Env->teardown;
            $self->record_totals(0, 1, 0);
            CORE::exit(1);
        };
        # Apache::TestServer signals itself (SIGTERM) when httpd dies while starting
        local $SIG{TERM} = $failed_start;
        $server->start or $failed_start->();
    }
    elsif ($opts->{'run-tests'}) {
        my $is_up = $server->ping
            || (exists $opts->{ping} && $opts->{ping} eq 'block'
                && $server->wait_till_is_up(Apache::TestRun::STARTUP_TIMEOUT()));
        unless ($is_up) {
            error "server is not ready yet, try again.";
            $self->record_totals(0, 1, 0);
            Apache::TestRun::exit_perl(0);
        }
    }
}

sub stop {
    my $self = shift;
    return unless $self->{opts}{'stop-httpd'};
    my $rv = $self->{server}->stop;
    PortalTest::Env->teardown;
    return $rv;
}

# Apache::TestRun handles a lone -stop-httpd here (and exits): stop the SMTP catcher too.
sub try_exit_opts {
    my $self = shift;
    PortalTest::Env->teardown if $self->{opts}{'stop-httpd'} && !$self->{opts}{'start-httpd'};
    return $self->SUPER::try_exit_opts(@_);
}

sub dump_error_log {
    my $self = shift;
    my $log = catfile(PortalTest::Env::top_dir(), qw(t logs error_log));
    return unless -f $log;
    my @lines = split /\n/, PortalTest::Env::slurp($log);
    @lines = @lines[-40 .. -1] if @lines > 40;
    print STDERR "--- last lines of t/logs/error_log ---\n", map("$_\n", @lines), "---\n";
}

sub record_totals {
    my ($self, $passed, $failed, $skipped) = @_;
    $self->{pm_failed} = 1 if $failed;
    my $db = $ENV{PM_DB_DRIVER} || 'sqlite3';
    print "apache-test ($db): passed=$passed failed=$failed skipped=$skipped\n";
    if (my $f = $ENV{PM_TAP_SUMMARY}) {
        PortalTest::Env::spew($f, "passed=$passed\nfailed=$failed\nskipped=$skipped\n");
    }
}

sub run_tests {
    my $self = shift;
    my $opts = $self->{opts};
    return $self->SUPER::run_tests(@_) if grep { exists $opts->{$_} } qw(get post head);
    return unless $opts->{'run-tests'};

    my @tests = Apache::TestHarness->get_tests({
        tests => $self->{tests}, order => $opts->{order}, subtests => $self->{subtests} || [],
    });
    if (my @subtests = @{ $self->{subtests} || [] }) {
        $ENV{HTTPD_TEST_SUBTESTS} = "@subtests";
    }
    my $harness = TAP::Harness->new({
        verbosity => $opts->{verbose} ? 1 : 0,
        lib       => [catfile(PortalTest::Env::top_dir(), qw(t lib))],
        color     => 0,
        timer     => 1,
        merge     => 0,
    });
    my $agg = $harness->runtests(@tests);

    my ($passed, $failed, $skipped) = (0, 0, 0);
    for my $desc ($agg->descriptions) {
        my ($p) = $agg->parsers($desc);
        if ($p->skip_all) { $skipped++; next }
        my $skips = scalar $p->skipped;
        my $fail = scalar $p->failed;
        my $missing = ($p->tests_planned // 0) - $p->tests_run;
        $fail += $missing if $missing > 0;
        $fail ||= 1 if $p->has_problems;     # died, bad plan, non-zero exit
        $failed += $fail;
        $skipped += $skips;
        $passed += scalar($p->passed) - $skips;
    }
    $failed ||= 1 unless @tests;             # no test at all is not a pass
    $self->record_totals($passed, $failed, $skipped);
}

1;
