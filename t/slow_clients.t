# t/slow_clients.t — slow clients from one address do not keep staff waiting (issue 16):
# a server with the sample's slow-clients section (mod_qos's per-address cap,
# mod_reqtimeout) and 500 connections from 127.0.0.1 that send half a request line and
# then nothing; a staff request from another address (127.0.0.2) is answered within 2 s,
# every time. The server has 150 worker threads, so without the cap the 500 connections
# hold every one of them (checked below on the same server without the section).
use strict;
use warnings;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use Test::More;
use IO::Socket::INET ();
use Time::HiRes qw(sleep time);
use LWP::UserAgent ();
use MIME::Base64 ();
use PortalTest::Env ();
use PortalTest::Delivery qw(new_client);
use PortalTest::Standalone;

my $top = PortalTest::Env::top_dir();
my $qos = '/usr/lib/apache2/modules/mod_qos.so';
-f $qos or BAIL_OUT("$qos is missing: scripts/lib/install-deps.sh installs libapache2-mod-qos");

my $section = qx{python3 $top/scripts/lib/httpd-conf.py --part slow-clients};
like($section, qr/QS_SrvMaxConnPerIP/, "the sample's slow-clients section names the cap");

# staff GETs from 127.0.0.2: [codes], slowest seconds
sub staff_from_other_address {
    my ($sa, $cid, $n, $timeout) = @_;
    my $ua = LWP::UserAgent->new(timeout => $timeout, local_address => '127.0.0.2');
    my $auth = 'Basic ' . MIME::Base64::encode_base64('admin:' . PortalTest::Env::password_for('admin'), '');
    my ($max, @codes) = (0);
    for (1 .. $n) {
        my $t0 = time;
        my $res = $ua->get($sa->base_url . "/portal-manager/api/clients/$cid", Authorization => $auth);
        my $dt = time - $t0;
        $max = $dt if $dt > $max;
        push @codes, $res->code;
        sleep 0.2;
    }
    return (\@codes, $max);
}

# 500 connections from 127.0.0.1, each with half a request line
sub open_slow {
    my ($sa, $n) = @_;
    my @socks;
    for (1 .. $n) {
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $sa->port,
                                      LocalAddr => '127.0.0.1', Timeout => 2) or last;
        syswrite $s, "GET /portal-manager/api/me HT";
        push @socks, $s;
    }
    return @socks;
}

sub run_case {
    my ($label, $extra, $n, $timeout) = @_;
    my $sa = PortalTest::Standalone->new(name => "slow-$label", extra_conf => $extra);
    my $ok = eval { $sa->start; 1 };
    ok($ok, "$label: server started") or return diag $@;
    my $cid = new_client(dbh => $sa->db);
    my @socks = open_slow($sa, 500);
    sleep 1;
    my ($codes, $max) = staff_from_other_address($sa, $cid, $n, $timeout);
    close $_ for @socks;
    $sa->stop;
    return ($codes, $max, scalar @socks);
}

# Debian 12's mod_qos needs libpcre loaded first (its package does not link it; see README)
my $with = "LoadFile /usr/lib/x86_64-linux-gnu/libpcre.so.3\nLoadModule qos_module $qos\nLoadModule reqtimeout_module modules/mod_reqtimeout.so\n$section";
my ($codes, $max, $opened) = run_case('cap', $with, 5, 30);
is($opened, 500, 'cap: 500 slow connections opened from 127.0.0.1 (the cap refuses '
   . 'the ones over 50 after accepting them)');
is(join(',', @$codes), '200,200,200,200,200', 'cap: 5 staff requests from 127.0.0.2, each 200');
cmp_ok($max, '<', 2, sprintf('cap: each answered within 2 s (slowest %.3f s)', $max));

# the same server without the section: the slow connections hold every thread
my ($codes0, $max0) = run_case('none', "LoadModule reqtimeout_module modules/mod_reqtimeout.so\n"
                                      . "RequestReadTimeout handshake=5 header=10-20,MinRate=500\n",
                           1, 6);
cmp_ok($max0, '>', 2, sprintf('without the cap the same staff requests wait (slowest %.1f s): '
       . 'the case above measures the cap', $max0));

done_testing();
