# t/store_fresh_connection.t — writes work on a database connection nothing has used yet.
#
# The <VirtualHost portal_fresh_db> talks to the test database through a connection pool
# of its own, so the requests below are the first each of its connections serves. On
# SQLite, DBDInitSQL "PRAGMA foreign_keys = ON" (docs/configuration.md) runs after mod_dbd prepared
# the statements and expires them; every statement is then re-prepared at its first use.
# Inside a transaction that must work too (apr_dbd_sqlite3 remembers a transaction's
# first error and refuses every later statement, the retry included). And a new
# connection must not fail because another one holds a lock (see below).
# Uses client 29 (clin1's).
use strict;
use warnings;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use Test::More;
use JSON::PP ();
use PortalTest;
use PortalTest::Clients;
use PortalTest::Env ();
use POSIX ();

my @vh = (vhost => 'portal_fresh_db', user => 'clin1');

# --- a new connection while another one holds a lock --------------------------------------
# A new connection reads the schema with its first prepare, and SQLite (no busy_timeout)
# answers it at once with "database is locked" while a writer holds an exclusive lock
# in rollback-journal mode: the module tries again briefly, where a 503 would have been
# the answer. Here another connection holds the lock for 1.5 s
# while the vhost opens its first connection: the request must wait and succeed.
{
    my $pid = fork;
    die "fork: $!" unless defined $pid;
    if ($pid == 0) {
        my $dbh = db();
        if (db_driver() eq 'sqlite3') {
            $dbh->do('BEGIN EXCLUSIVE');
        }
        else {
            $dbh->begin_work;
            $dbh->do('LOCK TABLE staff IN ACCESS EXCLUSIVE MODE');
        }
        open my $fh, '>', PortalTest::Env::runtime_dir() . '/lock-held' or die $!;
        close $fh;
        select undef, undef, undef, 1.5;
        $dbh->commit;
        $dbh->disconnect;
        POSIX::_exit(0);
    }
    my $flag = PortalTest::Env::runtime_dir() . '/lock-held';
    for (1 .. 100) { last if -e $flag; select undef, undef, undef, 0.05 }
    ok(-e $flag, 'another connection holds a lock');
    my $res = staff(GET => '/me', @vh, timeout => 15);
    is($res->code, 200, 'first request on a new connection while the database is locked: waits, then 200')
        or diag $res->status_line . ' ' . $res->content;
    waitpid $pid, 0;
    unlink $flag;
}

# each route's statements run for the first time on a fresh connection
my $view = json_ok(staff(PUT => '/clients/29/preferences', @vh,
                         json => { statement_notifications => JSON::PP::false() }),
                   200, 'fresh connection: PUT preferences');
is(client_row(29)->{statement_notifications}, 0, 'fresh connection: preference stored');

json_ok(staff(PUT => '/clients/29/email', @vh, json => { email => 'pat.fresh2@example.test' }),
        200, 'fresh connection: PUT email');
is(client_row(29)->{email}, 'pat.fresh2@example.test', 'fresh connection: email stored');

json_ok(staff(POST => '/clients/29/declined', @vh, json => { note => 'first' }),
        200, 'fresh connection: POST declined');
ok(defined client_row(29)->{declined_at}, 'fresh connection: declined stored');

json_ok(staff(DELETE => '/clients/29/declined', @vh), 200, 'fresh connection: DELETE declined');
ok(!defined client_row(29)->{declined_at}, 'fresh connection: declined cleared');

my $inv = json_ok(staff(POST => '/clients/29/invitations', @vh), 201,
                  'fresh connection: POST invitations');
is(scalar(@{ invitation_rows(29) }), 1, 'fresh connection: invitation stored');

# and the same again, now that the statements have been used once
for my $n (1 .. 5) {
    my $res = staff(PUT => '/clients/29/preferences', @vh,
                    json => { statement_notifications => ($n % 2 ? JSON::PP::true() : JSON::PP::false()) });
    is($res->code, 200, "fresh-pool vhost, write $n: 200") or diag $res->content;
}

done_testing();
