# t/store_empty_results.t — a query that finds no rows costs no more than one that does.
#
# apr_dbd_pgsql's sequential (non-random) result mode sleeps 0.1 s in apr_dbd_get_row
# when a result set is empty ("wait a mo, try again"), so every SELECT that returns no
# rows would add 100 ms to a request: the client view runs two (no invitations, no
# representatives), a 404 one. The store must not use that mode. Medians of several
# requests, with a generous bound (a request here takes a few ms).
use strict;
use warnings;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use Test::More;
use PortalTest;

my $BOUND = 0.09;    # seconds; an empty result alone costs 0.1 s in the slow mode

sub median_time {
    my (@req) = @_;
    my @t;
    for (1 .. 7) {
        my $res = staff(@req);
        return (undef, $res) unless $res->code =~ /^(200|404)$/;
        push @t, $res->{pm_elapsed};
    }
    @t = sort { $a <=> $b } @t;
    return ($t[3], undef);
}

# warm up: connections made, statements prepared
staff(GET => '/clients/9', user => 'admin') for 1 .. 5;

for my $case (
    ['GET /me (one row)',                              GET => '/me'],
    ['GET /clients/9 (no invitations, no representatives)', GET => '/clients/9'],
    ['GET /clients/99999 (no such client)',            GET => '/clients/99999'],
    ['GET /clients?q=zz (no match)',                   GET => '/clients?q=zz'],
    ['GET /clients/9/audit',                           GET => '/clients/9/audit'],
) {
    my ($name, @req) = @$case;
    my ($median, $bad) = median_time(@req, user => 'admin');
    ok(defined $median, "$name: answered") or diag $bad->status_line;
    cmp_ok($median // 99, '<', $BOUND, sprintf('%s: median under %d ms', $name, $BOUND * 1000))
        or diag sprintf('median %.0f ms', ($median // 0) * 1000);
}

done_testing();
