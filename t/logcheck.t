# t/logcheck.t — the error-log check every test file runs at done_testing
# (PortalTest::LogCheck) fails a file on an undeclared PMnnnnn warning or error, and only then.
# Needs no server: it judges log files it writes itself.
use strict;
use warnings;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Test::More;
use File::Temp ();
use PortalTest::Env ();
use PortalTest::LogCheck ();

my $dir = File::Temp->newdir('pm-logcheck-XXXXXX', TMPDIR => 1);
my $stamp = '[Wed Dec 02 02:33:53.519473 2026]';
sub line { my ($level, $text) = @_; "$stamp [$level] [pid 1:tid 2] $text\n" }

# a test file of its own: watches LOG, declares EXPECT, runs one passing test
sub run_file {
    my ($log, @expect) = @_;
    my $t = "$dir/case.t";
    PortalTest::Env::spew($t, join "\n",
        'use strict; use warnings; use Test::More;',
        "use lib '$FindBin::Bin/lib';",
        'use PortalTest::LogCheck ();',
        "PortalTest::LogCheck::watch('$log', 1);",
        'PortalTest::LogCheck::hook_done_testing();',
        "PortalTest::LogCheck::expect_log_ids(qw(@expect));",
        "pass('the test itself');",
        'done_testing();', '');
    my $out = qx{$^X $t 2>&1};
    return ($? >> 8, $out);
}

my $log = "$dir/error_log";
PortalTest::Env::spew($log, join '',
    line('portal_manager:info', 'PM00020: 404 not_found (request x)'),
    line('dbd:error', 'AH00629: Error initializing dbd pool'),
    line('portal_manager:error', 'PM00053: outbox 2: delivery failed after 1 attempt(s)'),
    line('portal_manager:warn', 'PM00031: no authenticated user'));

{
    my ($rc, $out) = run_file($log, qw(PM00053 PM00031));
    is($rc, 0, 'declared ids, info lines and lines without a PM id: the file passes') or diag $out;
    like($out, qr/^ok 2 - error logs: no unexpected/m, 'the check is a test of its own');
}
{
    my ($rc, $out) = run_file($log, qw(PM00053));
    isnt($rc, 0, 'an undeclared [warn] PM00031: the file fails');
    like($out, qr/^not ok 2 - error logs: no unexpected/m, 'the check is the failing test') or diag $out;
    like($out, qr/PM00031: no authenticated user/, 'the output shows the line') or diag $out;
    unlike($out, qr/PM00053: outbox/, 'the declared line is not shown') or diag $out;
}
{
    PortalTest::Env::spew("$dir/crit_log", line('portal_manager:crit', 'PM00099: something bad'));
    my ($rc, $out) = run_file("$dir/crit_log");
    isnt($rc, 0, 'an undeclared [crit] line fails the file too') or diag $out;
}
{
    # watch() from now: only lines written after it count
    my $later = "$dir/later_log";
    PortalTest::Env::spew($later, line('portal_manager:error', 'PM00011: before the file started'));
    PortalTest::LogCheck::watch($later);
    is(scalar(PortalTest::LogCheck::unexpected_lines()), 0, 'lines from before the watch are not judged');
    open my $fh, '>>', $later or die $!;
    print $fh line('portal_manager:error', 'PM00011: during the file');
    close $fh;
    my @bad = PortalTest::LogCheck::unexpected_lines();
    is(scalar @bad, 1, 'a line written after the watch is judged');
    like($bad[0] // '', qr/during the file/, '... that line');
}

done_testing();
