package PortalTest::PgCluster;
# PortalTest::PgCluster — a throwaway PostgreSQL cluster of a test's own
# (scripts/lib/pg-cluster.sh), for faults that must not touch the suite's database:
#   my $pg = PortalTest::PgCluster->start;     # dies when it cannot
#   $pg->{PM_DB_PARAMS}; $pg->signal('STOP');  # every process of the cluster
#   $pg->restart;                              # pg_ctl restart -m fast
#   $pg->stop;                                 # (also at the object's end)
use strict;
use warnings;

use PortalTest::Env ();

my $PGBIN = $ENV{PM_PGBIN} || '/usr/lib/postgresql/15/bin';

sub start {
    my $class = shift;
    my $top = PortalTest::Env::top_dir();
    my $out = qx{$top/scripts/lib/pg-cluster.sh start};
    die "pg-cluster.sh start failed\n" if $?;
    my %e = (top => $top, owner => $$);
    $out =~ s/^export //;
    chomp $out;
    # NAME=value pairs, separated by unescaped spaces (printf %q quoting)
    while ($out =~ /(\w+)=((?:\\.|[^\s\\])*)/g) {
        my ($k, $v) = ($1, $2);
        $v =~ s/\\(.)/$1/g;
        $e{$k} = $v;
    }
    return bless \%e, $class;
}

# every process of the cluster: the postmaster (first line of postmaster.pid) and its children
sub pids {
    my $self = shift;
    open my $fh, '<', "$self->{PM_PG_DIR}/data/postmaster.pid" or return ();
    my $pm = <$fh>;
    chomp $pm;
    my @kids = split ' ', qx{pgrep -P $pm};
    return ($pm, @kids);
}

sub signal {
    my ($self, $sig) = @_;
    return kill $sig, $self->pids;
}

# a fast shutdown (open sessions ended, in-flight transactions rolled back) and a start;
# true when the cluster answers again
sub restart {
    my $self = shift;
    return system("$PGBIN/pg_ctl", '-D', "$self->{PM_PG_DIR}/data", '-l', "$self->{PM_PG_DIR}/server.log",
                  '-m', 'fast', '-w', '-t', '60', 'restart') == 0;
}

sub stop {
    my $self = shift;
    return unless $self->{PM_PG_DIR} && $self->{owner} == $$;
    $self->signal('CONT');
    system("$self->{top}/scripts/lib/pg-cluster.sh", 'stop', delete $self->{PM_PG_DIR});
}

sub DESTROY { local ($@, $?); $_[0]->stop }

1;
