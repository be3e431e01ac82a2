# t/audit_parallel.t — audited reads under a burst, on both databases: 40 staff pages at
# once, each opening a client (client.view) and reading a page of the list
# (client.search), all answered 200 with every audit row written. On SQLite every one of
# these reads is a write, and the module's writers take turns on its writer mutex
# (src/httpd/pm_writer.c): a turn that is never given back (a missed leave on any path) shows
# here as 503s after the 5 s wait. Before the mutex this passed too, through APR's
# retry sleeps; what the mutex buys is latency, measured by bench/run, not asserted.
use strict;
use warnings;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use Test::More;
use PortalTest;
use PortalTest::Clients;
use PortalTest::Invite qw(run_concurrently);

my $KIDS = 40;
my $ROUNDS = 3;
my @IDS = (1 .. 20);

# one request first: the children inherit Apache::Test's loaded configuration
is(staff(GET => '/me', user => 'admin')->code, 200, 'signed in');
my $mark = audit_mark();
my %codes;
for my $line (run_concurrently($KIDS, sub {
    my $k = shift;
    my @codes;
    for my $round (1 .. $ROUNDS) {
        my $id = $IDS[($k + $round) % @IDS];
        push @codes, staff(GET => "/clients/$id", user => 'admin')->code;
        push @codes, list_clients('admin', q => 'a', limit => 5)->code;
    }
    return join ' ', @codes;
})) {
    $codes{$_}++ for split / /, $line;
}
my $want = $KIDS * $ROUNDS * 2;
is_deeply(\%codes, { 200 => $want }, "$want audited reads at once: every one answered 200")
    or diag explain \%codes;

my @rows = grep { $_->{username} eq 'admin' } audit_since($mark);
is(scalar(grep { $_->{action} eq 'client.view' } @rows), $KIDS * $ROUNDS,
   'one client.view row per opening');
is(scalar(grep { $_->{action} eq 'client.search' } @rows), $KIDS * $ROUNDS,
   'one client.search row per page');

done_testing();
