# t/audit_parallel.t — audited reads under a burst, on both databases: 40 staff pages at
# once, each opening a client (client.view) and reading a page of the list
# (client.search), all answered 200 with every audit row written. On SQLite every one of
# these reads is a write, and the module's writers take turns on its writer mutex
# (src/httpd/pm_writer.c): a turn that is never given back (a missed leave on any path) shows
# here as 503s after the 5 s wait. Before the mutex this passed too, through APR's
# retry sleeps; what the mutex buys is latency, measured by bench/run, not asserted.
# Rows written outside a transaction are group-committed (src/httpd/pm_audit_group.c): each
# answer's X-Request-Id must own exactly one row, with its own action and client, so a
# row lost, doubled or written with another request's values in a group fails here.
# And all of them must form one hash chain (issue 15), whichever child wrote them.
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
# PostgreSQL: the chain's own transactions commit without waiting for the disk and each
# writer then commits its flush slot synchronously (migration 021); count those commits
sub flushes { db_driver() eq 'pgsql' ? db()->selectrow_array('SELECT coalesce(sum(flushes), 0) FROM audit_flush') : 0 }
my $flushes0 = flushes();
my (%codes, %asked);
for my $line (run_concurrently($KIDS, sub {
    my $k = shift;
    my @codes;
    for my $round (1 .. $ROUNDS) {
        my $id = $IDS[($k + $round) % @IDS];
        my $view = staff(GET => "/clients/$id", user => 'admin');
        my $page = list_clients('admin', q => 'a', limit => 5);
        push @codes, join(',', $view->code, 'client.view', $id, $view->header('X-Request-Id') // '-'),
                     join(',', $page->code, 'client.search', '', $page->header('X-Request-Id') // '-');
    }
    return join ' ', @codes;
})) {
    for my $answer (split / /, $line) {
        my ($code, $action, $client, $rid) = split /,/, $answer, 4;
        $codes{$code}++;
        $asked{$rid} = "$action/" . ($client // '') if $code == 200;
    }
}
my $want = $KIDS * $ROUNDS * 2;
is_deeply(\%codes, { 200 => $want }, "$want audited reads at once: every one answered 200")
    or diag explain \%codes;

my @rows = grep { $_->{username} eq 'admin' } audit_since($mark);
is(scalar(grep { $_->{action} eq 'client.view' } @rows), $KIDS * $ROUNDS,
   'one client.view row per opening');
is(scalar(grep { $_->{action} eq 'client.search' } @rows), $KIDS * $ROUNDS,
   'one client.search row per page');
my %written;
$written{$_->{request_id}} .= ($written{$_->{request_id}} ? ' ' : '')
    . "$_->{action}/" . ($_->{client_id} // '') for @rows;
is_deeply(\%written, \%asked, "each answer's request id owns one row, with its action and client")
    or diag explain [ scalar(keys %written), scalar(keys %asked) ];

# the hash chain (src/core/pm_audit_chain.c) held under the burst: every group
# commit of every child took its own consecutive places, each row linked to the
# one before (checked again in Perl, not by the C code that wrote it)
is(scalar(grep { !defined $_->{chain_seq} } @rows), 0, 'every row of the burst is chained');
my @broken = audit_chain_problems($mark);
is_deeply(\@broken, [], "the burst's rows form one unbroken hash chain") or diag explain \@broken;

SKIP: {
    skip 'the flush slots are PostgreSQL only', 1 unless db_driver() eq 'pgsql';
    my $n = flushes() - $flushes0;
    ok($n >= 1 && $n <= $want, "each group commit of the burst was flushed by its writer "
       . "($n flush commits for $want rows)");
}

# a staff name beyond ASCII (two-byte letters): its rows hash the name's bytes, as
# the Perl check does (PostgreSQL computes the hash in SQL: octet_length, not length)
{
    require Encode;
    my $bytes = $PortalTest::Env::UTF8_USER;
    my $name = Encode::decode_utf8($bytes);
    my $dbh = db();
    $dbh->do('INSERT INTO staff (username, display_name, all_clients, active) VALUES (?, ?, 1, 1)',
             undef, $name, "Zo\x{eb} N\x{fa}\x{f1}ez")
        unless $dbh->selectrow_array('SELECT count(*) FROM staff WHERE username = ?', undef, $name);
    $dbh->disconnect;
    my $from = audit_mark();
    is(staff(GET => "/clients/$IDS[0]", user => $bytes)->code, 200, 'the UTF-8 named staff member views a client');
    is(staff(GET => '/clients?limit=5', user => $bytes)->code, 200, '... and a page of the list');
    my @mine = grep { ($_->{username} // '') eq $name } audit_since($from);
    is(scalar(@mine), 2, 'two rows under the UTF-8 name, the name as sent') or diag explain [audit_since($from)];
    my @bad = audit_chain_problems($from);
    is_deeply(\@bad, [], 'rows with a UTF-8 name chain like the rest') or diag explain \@bad;
}

done_testing();
