package PortalTest::PgKeep;
# PortalTest::PgKeep — the tests' PostgreSQL handles, kept for the next caller.
#
#   my $dbh = PortalTest::PgKeep::handle($dsn, $user, $password);   # as DBI->connect
#   my $dbh = PortalTest::PgKeep::handle_for('host=... dbname=... user=...', ';options=...');
#   ... $dbh->disconnect;                                            # or just drop it
#
# A connect costs about 20 ms (a backend started, SCRAM), and the suites asked for
# thousands (a snapshot of the tables before and after each case, a poll every 50 ms):
# t/clients_csrf.t took 25 s on PostgreSQL against 4 s on SQLite. So each test process
# keeps one connection per DSN and hands it out again once its last user let go of it
# (called disconnect, or holds no reference any more), after rolling back what that
# user left open and resetting the session (settings, cursors, locks, temporary
# tables), as a new connection would start. A handle() while it is still held gets a
# fresh connection of its own, so two handles in use at once are still two sessions.
# A forked child never gets its parent's connection (AutoInactiveDestroy keeps the
# child from closing it, too).
use strict;
use warnings;

use B ();
use DBI ();

my %KEPT;                       # "pid dsn user" => the kept handle

sub handle {
    my ($dsn, $user, $password) = @_;
    my $key = join ' ', $$, $dsn, $user // '';
    my $kept = $KEPT{$key};
    # held by nobody but %KEPT and $kept: its user dropped it without disconnect
    if ($kept && ($kept->{private_pm_free} || B::svref_2object($kept)->REFCNT <= 2)) {
        return $kept if session_reset($kept);
        delete $KEPT{$key};                     # the server went away meanwhile
        $kept = undef;
    }
    my $dbh = DBI->connect($dsn, $user, $password,
        { RaiseError => 1, AutoCommit => 1, pg_enable_utf8 => 1, PrintWarn => 0,
          AutoInactiveDestroy => 1, RootClass => 'PortalTest::PgKeep::DBI' });
    $dbh->{private_pm_free} = 0;
    $dbh->{private_pm_kept} = $kept ? '' : $key;
    $KEPT{$key} = $dbh unless $kept;
    return $dbh;
}

# handle() for libpq-style "key=value ..." parameters (what DBDParams and the
# test harness hold), with $more appended to the DSN
sub handle_for {
    my ($params, $more) = @_;
    my %p = map { split /=/, $_, 2 } split ' ', $params;
    my $user = delete $p{user};
    my $password = delete $p{password};
    my $dsn = 'dbi:Pg:' . join(';', map { "$_=$p{$_}" } sort keys %p) . ($more // '');
    return handle($dsn, $user, $password);
}

# The kept handle as a new connection would be; false if the server does not answer.
sub session_reset {
    my $dbh = shift;
    my $ok = eval {
        local $dbh->{PrintError} = 0;
        $dbh->rollback unless $dbh->{AutoCommit};
        # DISCARD ALL but its DEALLOCATE ALL, which DBD::Pg's statements would not know of
        $dbh->do('RESET ALL; CLOSE ALL; UNLISTEN *; SELECT pg_advisory_unlock_all(); '
                 . 'DISCARD TEMP; DISCARD SEQUENCES');
        1;
    };
    $dbh->{private_pm_free} = 0 if $ok;
    return $ok;
}

# The handles' class: disconnect of the kept one rolls back and makes it free.
package PortalTest::PgKeep::DBI;
our @ISA = ('DBI');
package PortalTest::PgKeep::DBI::st;
our @ISA = ('DBI::st');
package PortalTest::PgKeep::DBI::db;
our @ISA = ('DBI::db');

sub disconnect {
    my $dbh = shift;
    return $dbh->SUPER::disconnect(@_) unless $dbh->{private_pm_kept};
    my $ok = eval { local $dbh->{PrintError} = 0; $dbh->rollback unless $dbh->{AutoCommit}; 1 };
    $dbh->{private_pm_free} = 1;             # reset (or found broken) by the next handle()
    return $ok ? 1 : $dbh->SUPER::disconnect(@_);
}

1;
