# t/audit_export_fault.t — the audit trail's CSV export when the database fails before its
# first page: 503 database_unavailable, not a 200 that looks like a whole export (a byte
# order mark and the header line, then nothing: a champion kept it as the practice's trail).
# Another connection holds clients (every page names each row's client) locked past
# PortalDBTimeout while the export runs; the module cuts the page's statement after 2 s.
# A later page that fails cuts the download short instead (no last chunk, the connection
# closed): a test would need the first page's 1,000 rows to block in the socket, which
# loopback's buffers do not do on demand; that path is the same statement's failure.
#
# PostgreSQL only: a SQLite reader in WAL mode is never blocked by a lock.
use strict;
use warnings;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use Test::More;
use POSIX ();
use Time::HiRes ();
use JSON::PP ();
use PortalTest;
use PortalTest::Env ();

if (PortalTest::db_driver() ne 'pgsql') {
    plan skip_all => 'a statement cut by the module (PortalDBTimeout) is a PostgreSQL case; '
                   . 'SQLite readers are never blocked';
}

# the cut statement (PM00540) and the executor's report of it (PM00013); a connection the
# pool opens while clients is locked cannot prepare its statements (they name clients), so
# the delivery worker's pass in that window may find no connection (PM00017), or wait out
# another thread's connect that is blocked so (PM00547)
expect_log_ids(qw(PM00540 PM00013 PM00017 PM00547));

my $rt = runtime();
my $log = PortalTest::Env::top_dir() . '/t/logs/error_log';

# the export, run in a child while clients stays locked until it has answered
sub export_while_clients_locked {
    my $dbh = PortalTest::PgKeep::handle_for($rt->{db_params}, ';application_name=lock_holder');
    $dbh->{AutoCommit} = 0;
    $dbh->do('LOCK TABLE clients IN ACCESS EXCLUSIVE MODE');
    pipe(my $r, my $w) or die "pipe: $!";
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        close $r;
        my $t0 = Time::HiRes::time();
        my $res = staff(GET => '/admin/audit?format=csv&action=client.view', timeout => 20);
        syswrite $w, JSON::PP->new->encode({ code => $res->code, type => scalar $res->content_type,
                                             body => $res->content,
                                             seconds => Time::HiRes::time() - $t0 });
        POSIX::_exit(0);
    }
    close $w;
    my $out = do { local $/; <$r> };
    waitpid $pid, 0;
    $dbh->rollback;
    $dbh->{AutoCommit} = 1;
    return JSON::PP->new->decode($out || '{}');
}

my $offset = PortalTest::Env::log_size($log);
my $got = export_while_clients_locked();
is($got->{code}, 503, 'the first page cannot be read: 503, not a 200 with the header alone')
    or diag explain $got;
like($got->{body} // '', qr/"code"\s*:\s*"database_unavailable"/, 'the answer is the JSON error');
unlike($got->{body} // '', qr/^\xEF\xBB\xBFid,at,/, 'no CSV header was sent');
like(PortalTest::Env::log_since($log, $offset), qr/PM00540/, 'the module cut the statement (PM00540)');

# the database answers again: the export is whole
sleep 2;            # past the second in which the child answers 503 at once
my $res = staff(GET => '/admin/audit?format=csv&action=client.view');
is($res->code, 200, 'the lock gone: the export answers 200');
like($res->content, qr/^\xEF\xBB\xBFid,at,username,action,/, 'and starts with its header');

done_testing();
