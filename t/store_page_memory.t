# t/store_page_memory.t — SQLite's page memory per connection is set before SQLite is
# first used (src/httpd/pm_store.c): each connection then reads its pages into one
# allocation it keeps, instead of a malloc per page that glibc gives back to the kernel
# after every request that read more than a few dozen pages (bench/run: the search at
# 100,000 clients). SQLite accepts the setting only before its first use in the process,
# so a hook order that let anything open SQLite first would silently lose it; the
# module says which happened at debug level (PM00544 it did, PM00666 it did not), at start and after a graceful
# restart, and the server answers on SQLite either way.
use strict;
use warnings;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use Test::More;
use PortalTest::Delivery qw(wait_until);
use PortalTest::Env ();
use PortalTest::Standalone;

sub pm00544 {
    my $sa = shift;
    my $log = eval { PortalTest::Env::slurp($sa->error_log) } // '';
    return $log =~ /PM00544: ([^\n]*)/g;
}

my $sa = PortalTest::Standalone->new(name => 'pagemem',
                                     extra_conf => 'LogLevel warn portal_manager:debug');
if (ok(eval { $sa->start; 1 }, 'standalone server started') || diag $@) {
    my @lines = pm00544($sa);
    ok(@lines >= 1, 'PM00544 logged at start') or diag 'no PM00544 line';
    is(scalar(grep { /keep 64 pages of memory each/ } @lines), scalar @lines,
       'every PM00544 line: SQLite took the page memory setting')
        or diag explain \@lines;

    my $res = $sa->staff(GET => '/clients?limit=50');
    is($res->code, 200, 'client list answers with the setting in place') or diag $res->content;

    my $before = @lines;
    $sa->graceful;
    ok(wait_until(sub { my @now = pm00544($sa); @now > $before }, 15),
       'PM00544 logged again after a graceful restart');
    @lines = pm00544($sa);
    is(scalar(grep { /keep 64 pages of memory each/ } @lines[$before .. $#lines]),
       @lines - $before, 'after the restart too: SQLite took the setting')
        or diag explain \@lines;
    ok(wait_until(sub { $sa->staff(GET => '/clients?limit=50')->code == 200 }, 15),
       'client list answers after the restart');
    unlike(eval { PortalTest::Env::slurp($sa->error_log) } // '', qr/PM00666/,
           'no PM00666: no start or restart allocated page by page');
    $sa->stop;
}

done_testing();
