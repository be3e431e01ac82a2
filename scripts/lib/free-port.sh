#!/usr/bin/env bash
# free-port.sh — print a TCP port that is free on 127.0.0.1 right now.
set -euo pipefail
exec perl -MIO::Socket::INET -e '
    my $s = IO::Socket::INET->new(LocalAddr => "127.0.0.1", LocalPort => 0,
                                  Proto => "tcp", Listen => 1, ReuseAddr => 1)
        or die "free-port: $!\n";
    print $s->sockport, "\n";'
