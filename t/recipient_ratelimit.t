# t/recipient_ratelimit.t — the recipient API's rate limits (issue 10, item 16), on a
# throwaway httpd of its own (t/lib/PortalTest/Standalone.pm) with small limits and many
# small children, so a burst is spread over several processes:
#   - a parallel burst of lookups from one client address gets 429 rate_limited with
#     Retry-After once the limit is used up, and the limit holds across all children;
#   - another address, another server (a vhost with the limit off) and the staff API
#     are unaffected; after Retry-After seconds the address may ask again;
#   - one token is limited however many addresses use it (lookup and accept), and the
#     limited requests change nothing; another token is unaffected;
#   - graceful restarts: the limiter works in the new generation, and the parent does
#     not collect shared memory (its mappings do not grow).
# Requests come from loopback addresses of our choice (127.0.0.0/8 is all local).
use strict;
use warnings;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use Test::More;
use HTTP::Request ();
use JSON::PP ();
use LWP::UserAgent ();
use MIME::Base64 qw(encode_base64);
use Time::HiRes qw(sleep time);
use PortalTest qw(decode_json_body error_ok parse_mail);
use PortalTest::Env ();
use PortalTest::Delivery qw(wait_until link_tokens);
use PortalTest::Invite qw(run_concurrently fake_token);
use PortalTest::Standalone;

# a long window, so that refills (one every 10 s per address, every 20 s per token) stay
# rare even on a slow machine; the checks allow for those that happen
my ($IP_LIMIT, $TOKEN_LIMIT, $WINDOW) = (6, 3, 60);
my $IP_STEP = $WINDOW / $IP_LIMIT;
my $TOKEN_STEP = $WINDOW / $TOKEN_LIMIT;

my $sa = PortalTest::Standalone->new(name => 'ratelimit', portal => {
    PortalRecipientIPLimit    => $IP_LIMIT,
    PortalRecipientTokenLimit => $TOKEN_LIMIT,
    PortalRecipientRateWindow => $WINDOW,
});
my $other_port = PortalTest::Env::free_port();
my $pid_log = "$sa->{dir}/pid_log";
$sa->{extra} = join "\n",
    # many children of two threads each: a burst is served by several processes
    'StartServers 6', 'ServerLimit 16', 'ThreadsPerChild 2', 'MinSpareThreads 12',
    'MaxSpareThreads 32', 'MaxRequestWorkers 32',
    'LogFormat "%P %a %>s" pm_pid',
    "CustomLog $pid_log pm_pid",
    # another server: its own counts, and here the per-address limit is off
    "Listen 127.0.0.1:$other_port",
    "<VirtualHost 127.0.0.1:$other_port>",
    '    PortalRecipientIPLimit 0',
    '</VirtualHost>';

unless (eval { $sa->start; 1 }) {
    fail("the standalone httpd starts: $@");
    done_testing();
    exit 0;
}

my $JSON = JSON::PP->new->utf8->canonical;

# req($from_address, METHOD, URL, json => \%body, user => NAME): one request, no keep-alive
sub req {
    my ($ip, $method, $url, %o) = @_;
    my $req = HTTP::Request->new($method => $url);
    if ($o{json}) {
        $req->content($JSON->encode($o{json}));
        $req->header('Content-Type' => 'application/json');
        $req->header('X-Requested-With' => 'portal-manager');
    }
    $req->header(Authorization => 'Basic '
        . encode_base64("$o{user}:" . PortalTest::Env::password_for($o{user}), '')) if $o{user};
    my $ua = LWP::UserAgent->new(local_address => $ip, keep_alive => 0, timeout => 30);
    return $ua->request($req);
}

sub rcpt_from {
    my ($ip, $action, $body, %o) = @_;
    my $base = $o{base} // $sa->base_url;
    return req($ip, POST => "$base/portal/invitation/api/$action", json => $body);
}

# the same request again until it is refused (at most $max times): a refill since the
# last 429 gives the address one more
sub until_limited {
    my ($ip, $action, $body, $max) = @_;
    my $res;
    for (1 .. $max) {
        $res = rcpt_from($ip, $action => $body->());
        last if $res->code == 429;
    }
    return $res;
}

sub code_of { my $d = decode_json_body($_[0]); ref $d eq 'HASH' && ref $d->{error} eq 'HASH' ? $d->{error}{code} // '' : '' }

# a 429 as docs/api.md describes it, and a Retry-After a recipient can act on
sub limited_ok {
    my ($res, $max_wait, $words, $name) = @_;
    error_ok($res, 429, 'rate_limited', $name);
    my $ra = $res->header('Retry-After') // '';
    ok($ra =~ /^\d+$/ && $ra >= 1 && $ra <= $max_wait, "$name: Retry-After $ra is 1 to $max_wait s");
    my $msg = eval { decode_json_body($res)->{error}{message} } // '';
    like($msg, qr/\Q$words\E.*wait \Q$ra\E seconds? and try again/, "$name: the message says why and how long");
    return $ra;
}

# --- a parallel burst from one address ---------------------------------------------------
my $burst = 40;
my @out = map { $JSON->decode($_) } run_concurrently($burst, sub {
    my $t0 = time;
    my $res = rcpt_from('127.0.0.2', lookup => { token => fake_token() });
    return $JSON->encode({ code => $res->code, error => code_of($res), t0 => $t0, t1 => time,
                           retry => $res->header('Retry-After') // '' });
});
# from the first request sent to the last answer received
my ($first) = sort { $a <=> $b } map { $_->{t0} } @out;
my ($last) = sort { $b <=> $a } map { $_->{t1} } @out;
my $elapsed = $last - $first;
my @allowed = grep { $_->{code} == 404 && $_->{error} eq 'invalid_token' } @out;
my @limited = grep { $_->{code} == 429 && $_->{error} eq 'rate_limited' } @out;
is(@allowed + @limited, $burst, "burst of $burst: every answer is 404 invalid_token or 429 rate_limited")
    or diag $JSON->encode(\@out);
my $max_allowed = $IP_LIMIT + int($elapsed / $IP_STEP);
ok(@allowed >= $IP_LIMIT && @allowed <= $max_allowed,
   sprintf('burst of %d in %.2f s: %d answered (limit %d, at most %d with refills)',
           $burst, $elapsed, scalar @allowed, $IP_LIMIT, $max_allowed));
is(scalar(grep { $_->{retry} =~ /^\d+$/ && $_->{retry} >= 1 && $_->{retry} <= $IP_STEP } @limited),
   scalar @limited, "every 429 of the burst has Retry-After 1..$IP_STEP");
my %pids;
wait_until(sub {
    %pids = ();
    open my $fh, '<', $pid_log or return 0;
    my $n = 0;
    while (<$fh>) { my ($pid, $ip) = split; if ($ip eq '127.0.0.2') { $pids{$pid}++; $n++ } }
    return $n >= $burst;
}, 10);
cmp_ok(scalar keys %pids, '>=', 2, 'the burst was served by ' . scalar(keys %pids)
       . ' children (the limit above holds across them)');

limited_ok(until_limited('127.0.0.2', lookup => sub { { token => fake_token() } }, 3), $IP_STEP,
           'Too many requests came from your network', 'more lookups from the address');
limited_ok(until_limited('127.0.0.2', accept => sub { { token => fake_token(), date_of_birth => '2000-01-01',
                                                       username => 'someone', password => 'long enough pw' } }, 2),
           $IP_STEP, 'network', 'accept from the address');
my $wait = limited_ok(until_limited('127.0.0.2', decline => sub { { token => fake_token() } }, 2),
                      $IP_STEP, 'network', 'decline from the address');

# --- who is not affected ---------------------------------------------------------------
error_ok(rcpt_from('127.0.0.3', lookup => { token => fake_token() }), 404, 'invalid_token',
         'another address is not limited');
{
    my @codes = map { rcpt_from('127.0.0.2', lookup => { token => fake_token() },
                                base => "http://127.0.0.1:$other_port")->code } 1 .. 10;
    is_deeply(\@codes, [(404) x 10], 'another server (limit off there): 10 lookups from the address answered');
    @codes = map { req('127.0.0.2', GET => $sa->base_url . '/portal-manager/api/me', user => 'clin1')->code } 1 .. 10;
    is_deeply(\@codes, [(200) x 10], 'the staff API from the address: not limited');
}

# --- the address may ask again after Retry-After -----------------------------------------
sleep $wait + 0.2;
error_ok(rcpt_from('127.0.0.2', lookup => { token => fake_token() }), 404, 'invalid_token',
         "after Retry-After ($wait s): the address is answered again");
limited_ok(rcpt_from('127.0.0.2', lookup => { token => fake_token() }), $IP_STEP, 'network',
           "and then limited again (one request per $IP_STEP s)");

# --- per token: many addresses, one token -------------------------------------------------
{
    my $inv = decode_json_body($sa->staff(POST => '/clients/1/invitations')) || {};
    ok($inv->{id}, 'an invitation for client 1') or diag explain $inv;
    my @m;
    wait_until(sub { @m = $sa->mails; @m >= 1 }, 20);
    my $token = @m ? link_tokens(parse_mail($m[-1]), $sa->invitation_url)->{text}[0] : undef;
    ok(defined $token, 'its token came by email');
    $token //= fake_token();
    my $row = sub { $sa->db->selectrow_hashref(
        'SELECT status, verify_failures FROM invitations WHERE id = ?', undef, $inv->{id} // 0) };
    my @codes = map { rcpt_from("127.0.1.$_", lookup => { token => $token })->code } 1 .. $TOKEN_LIMIT;
    is_deeply(\@codes, [(200) x $TOKEN_LIMIT], "$TOKEN_LIMIT lookups of the token from $TOKEN_LIMIT addresses");
    limited_ok(rcpt_from('127.0.1.100', lookup => { token => $token }), $TOKEN_STEP,
               'This invitation link has been tried too many times', 'the next lookup of the token');
    limited_ok(rcpt_from('127.0.1.101', accept => { token => $token, date_of_birth => '1900-01-01',
                                                    username => 'someone', password => 'long enough pw' }),
               $TOKEN_STEP, 'invitation link', 'an accept with the token (wrong date of birth)');
    my $r = $row->() || {};
    is($r->{status}, 'pending', 'the limited requests changed nothing: still pending');
    is($r->{verify_failures}, 0, 'and no verification failure was counted');
    error_ok(rcpt_from('127.0.1.102', lookup => { token => fake_token() }), 404, 'invalid_token',
             'another token is not limited');
}

# --- graceful restarts ----------------------------------------------------------------------
{
    my $pid = PortalTest::Env::slurp("$sa->{dir}/httpd.pid");
    chomp $pid;
    # shared mappings of the parent: anonymous shm is "/dev/zero (deleted)" or "SYSV..."
    my $shared = sub {
        open my $fh, '<', "/proc/$pid/maps" or return -1;
        return scalar grep { (split)[1] =~ /s$/ } <$fh>;
    };
    my $before = $shared->();
    my $log_at = -s $sa->error_log;
    for my $n (1 .. 3) {
        my $mark = -s $sa->error_log;
        kill 'USR1', $pid or die "kill USR1 $pid: $!";
        my $ok = wait_until(sub {
            my $log = PortalTest::Env::slurp($sa->error_log);
            substr($log, $mark) =~ /resuming normal operations/;
        }, 20);
        ok($ok, "graceful restart $n: done");
    }
    sleep 0.5;
    cmp_ok($before, '>', 0, "the parent has $before shared mappings");
    is($shared->(), $before, 'after 3 graceful restarts: no more shared mappings than before');
    my @codes = map { rcpt_from('127.0.0.4', lookup => { token => fake_token() })->code } 1 .. $IP_LIMIT + 3;
    my $n404 = grep { $_ == 404 } @codes;
    my $n429 = grep { $_ == 429 } @codes;
    ok($n404 >= $IP_LIMIT && $n404 <= $IP_LIMIT + 1 && $n404 + $n429 == @codes,
       "after the restarts the limit still works (@codes)");
    my $log = substr(PortalTest::Env::slurp($sa->error_log), $log_at);
    my @bad = grep { /PM0017[123]|exit signal|Assertion|AH00051/ } split /\n/, $log;
    is(scalar @bad, 0, 'no rate-limit setup errors and no crashed child in the restarts')
        or diag join "\n", @bad;
}

$sa->stop;
done_testing();
