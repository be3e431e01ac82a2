# t/admin_audit_head_log.t — the audit chain's head leaves the database: the delivery worker
# writes "PM00625: audit chain head: seq N, hash H" to the error log at its start (and
# hourly), the place and hash of the last committed audit row and nothing of its content;
# portal-manager-admin audit verify --anchors-from reads those lines back (issue 15).
use strict;
use warnings;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use Test::More;
use Time::HiRes qw(sleep time);
use PortalTest;
use PortalTest::Env ();

# Its last check verifies the whole trail of the suite's database, which holds only chained
# rows until t/admin_settings.t, t/admin_views.t and t/clients_audit.t add rows by hand (as a
# tamperer would; verify rightly names them): so this file's name sorts before theirs.

# each restart repeats the configtest warning for the test config's mounts without an
# admin section (as t/restart.t says)
expect_log_ids(qw(PM00102));

my $top = PortalTest::Env::top_dir();
my $error_log = "$top/t/logs/error_log";
my $rt = runtime();

sub log_size { PortalTest::Env::log_size($error_log) }
sub log_since { PortalTest::Env::log_since($error_log, shift) }

sub head_lines { grep { /PM00625/ } split /\n/, shift }

my @startup = head_lines(log_since(0));
ok(@startup >= 1, 'the worker logged the head when it started') or diag "no PM00625 line in $error_log";
like($startup[0] // '', qr/\[portal_manager:notice\] .*PM00625: audit chain head: seq \d+, hash [0-9a-f]{64}$/,
     'at notice level: a place and a hash, nothing more');

# audited requests move the head
for my $i (1 .. 3) {
    json_ok(staff(GET => '/admin/audit?limit=1', user => 'admin'), 200, "audited read $i");
}
my $dbh = db();
my ($seq_before) = $dbh->selectrow_array('SELECT seq FROM audit_chain WHERE id = 1');
ok($seq_before >= 3, "the chain's head moved with the audited reads (place $seq_before)");

# a graceful restart: the new generation's worker starts and logs the head it finds
my $pid = do { open my $fh, '<', "$top/t/logs/httpd.pid" or die "httpd.pid: $!"; local $/; <$fh> };
chomp $pid;
my $offset = log_size();
kill 'USR1', $pid or die "kill USR1 $pid: $!";
my $deadline = time + 30;
my @lines;
while (time < $deadline) {
    last if @lines = head_lines(log_since($offset));
    sleep 0.2;
}
ok(scalar @lines, 'after a graceful restart the new worker logged the head');
my ($seq, $hash) = ($lines[0] // '') =~ /PM00625: audit chain head: seq (\d+), hash ([0-9a-f]{64})$/;
ok(defined $seq && $seq >= $seq_before, "the logged place is the head's at least ($seq_before)")
    or diag $lines[0] // '';
my ($row_hash) = $dbh->selectrow_array('SELECT row_hash FROM audit_log WHERE chain_seq = ?',
                                       undef, $seq // -1);
is($hash // 'none', $row_hash, "the logged hash is the audit row's at that place");
unlike(join("\n", @lines), qr/admin|audit\.view|client/, 'no user, action or client in the line');

# the error log as anchors: the chain still holds every head it logged
for (1 .. 100) { last if staff(GET => '/me', user => 'clin1', timeout => 5)->code == 200; sleep 0.1 }
my ($by_hand) = $dbh->selectrow_array('SELECT count(*) FROM audit_log WHERE chain_seq IS NULL AND id > '
                                       . '(SELECT min(id) FROM audit_log WHERE chain_seq IS NOT NULL)');
my $out = qx{'$top/portal-manager-admin' --driver $rt->{db_driver} --params '$rt->{db_params}' audit verify --anchors-from '$error_log' 2>&1};
is($? >> 8, 0, 'audit verify --anchors-from the error log: exit 0')
    or diag $out . ($by_hand ? "(another test file added $by_hand audit rows by hand before this one ran)" : '');
my $n = () = head_lines(log_since(0));
like($out, qr/; anchors: $n held$/, "every logged head ($n) is held");

done_testing();
