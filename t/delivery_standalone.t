# t/delivery_standalone.t — delivery cases that need server-level settings the main test
# server cannot have, each on its own throwaway httpd + database + SMTP catcher
# (t/lib/PortalTest/Standalone.pm), on the suite's database driver:
#   - a fresh server: the first invitations on new database connections answer 201 and
#     are delivered promptly;
#   - the mail server is down (stopped; its port closed): the invitation stays queued,
#     staff see why, no attempt is charged to it; once it is back the email is
#     delivered exactly once;
#   - SMTP AUTH from PortalMailUser / PortalMailPasswordFile, and a wrong password.
use strict;
use warnings;
use utf8;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use Test::More;
use Time::HiRes qw(sleep);
use PortalTest qw(decode_json_body parse_mail expect_log_ids);
use PortalTest::Env ();
use PortalTest::Delivery qw(wait_until smtp_commands sha256_hex link_tokens);
use PortalTest::Standalone;

# provoked on purpose: a mail server that is down or refuses AUTH
expect_log_ids(qw(PM00052 PM00053 PM00311 PM00335));

binmode Test::More->builder->$_, ':encoding(UTF-8)' for qw(output failure_output todo_output);

sub latest_outbox {
    my ($sa, $iid) = @_;
    return $sa->db->selectrow_hashref('SELECT * FROM outbox WHERE invitation_id = ? ORDER BY id DESC',
                                      undef, $iid);
}

sub wait_done {
    my ($sa, $iid, $t) = @_;
    my $last;
    wait_until(sub { $last = latest_outbox($sa, $iid); $last && $last->{status} ne 'queued' }, $t // 20);
    return $last;
}

sub view_invitation {
    my ($sa, $cid) = @_;
    my $d = decode_json_body($sa->staff(GET => "/clients/$cid"));
    return $d && ref $d->{invitations} eq 'ARRAY' ? $d->{invitations}[0] : undef;
}

sub crashes {
    my $sa = shift;
    my $log = eval { PortalTest::Env::slurp($sa->error_log) } // '';
    return $log =~ /^(.*(?:exit signal|Assertion).*)$/mg;
}

# after stop(): a child that aborted while shutting down (not counted by the checks above)
my @shutdown;
sub stop_and_check {
    my $sa = shift;
    my $before = () = crashes($sa);
    $sa->stop;
    my @all = crashes($sa);
    push @shutdown, map { "$sa->{name}: $_" } @all[$before .. $#all];
}

sub start_or_bail {
    my $sa = shift;
    my $ok = eval { $sa->start; 1 };
    ok($ok, "standalone server '$sa->{name}' started") or diag $@;
    return $ok;
}

# --- a fresh server: the first invitations ------------------------------------------------
# Every database connection is new here. Each invitation is one transaction; each must
# answer 201 at once, and the worker (also on a new connection) must deliver promptly.
{
    my $sa = PortalTest::Standalone->new(name => 'fresh');
    if (start_or_bail($sa)) {
        my @codes;
        my %inv;
        for my $cid (1, 3, 4, 5, 6, 7, 8, 9, 10) {
            my $res = $sa->staff(POST => "/clients/$cid/invitations");
            push @codes, $res->code;
            $inv{$cid} = decode_json_body($res)->{id} if $res->code == 201;
        }
        is(join(',', @codes), join(',', ('201') x 9),
           'fresh server: nine invitations to nine clients, each 201 (no 503)')
            or diag 'error log: ' . join "\n", grep { /PM000(13|15|20)/ }
                   split /\n/, PortalTest::Env::slurp($sa->error_log);
        my $n = scalar keys %inv;
        my $t0 = time;
        wait_until(sub { $sa->mail_count >= $n }, 15);
        is($sa->mail_count, $n, "fresh server: all $n created invitations delivered within 15 s")
            or diag 'error log: ' . join "\n", grep { /PM000(13|15|50)/ }
                   split /\n/, PortalTest::Env::slurp($sa->error_log);
        is_deeply([crashes($sa)], [], 'fresh server: no httpd child crashed');
        stop_and_check($sa);
    }
}

# --- the mail server is down ----------------------------------------------------------------
{
    my $sa = PortalTest::Standalone->new(name => 'down', portal => { PortalOutboxMaxAttempts => 10 });
    if (start_or_bail($sa)) {
        my $email = 'alice.anderson@example.test';
        $sa->stop_smtp;                                  # port closed
        my $res = $sa->staff(POST => '/clients/1/invitations');
        is($res->code, 201, 'server down: the invite is accepted (201)') or last;
        my $iid = (decode_json_body($res) || {})->{id};
        my $seen = wait_until(sub {
            my $i = view_invitation($sa, 1);
            $i && defined $i->{delivery_error} ? $i : undef }, 10);
        ok($seen, 'server down: staff see a delivery_error');
        is($seen && $seen->{delivery}, 'queued', 'server down: the invitation stays queued');
        is($seen && $seen->{status}, 'pending', 'server down: still pending');
        like($seen && $seen->{delivery_error} // '', qr/connect|refused/i,
             'server down: the error says the server could not be reached');
        unlike($seen && $seen->{delivery_error} // '', qr/[A-Za-z0-9_-]{43}/, 'server down: no token in the error');
        sleep 2.5;                                       # the relay is probed every interval
        my $o;                                           # between passes (a pass charges, then gives back)
        wait_until(sub { $o = latest_outbox($sa, $iid); !defined $o->{claim_token} }, 5);
        is($o->{status}, 'queued', 'server down for a while: still queued');
        is($o->{attempts}, 0, 'server down: no attempt charged (the relay, not the email, failed)');
        $sa->start_smtp;                                 # back, same port
        $o = wait_done($sa, $iid, 40);
        is($o && $o->{status}, 'sent', 'server back: sent');
        sleep 1;
        my @m = $sa->mails;
        is(scalar @m, 1, 'server back: delivered exactly once');
        my $tok = @m ? link_tokens(parse_mail($m[0]), $sa->invitation_url)->{text}[0] // '' : '';
        is($sa->db->selectrow_array('SELECT token_hash FROM invitations WHERE id = ?', undef, $iid),
           sha256_hex($tok), 'server back: the delivered token is the current one');
        my $i = view_invitation($sa, 1);
        is($i && $i->{delivery}, 'sent', 'server back: staff see sent');
        ok($i && !defined $i->{delivery_error}, 'server back: the error is cleared');
        is($i && $i->{send_count}, 1, 'server back: send_count 1');
        is_deeply([crashes($sa)], [], 'server down: no httpd child crashed while retrying');
        stop_and_check($sa);
    }
}

# (PortalMailTLS required against a relay without STARTTLS or with a certificate that does not
# verify: a configuration error that holds the queue, t/mail_tls.t)

# --- SMTP AUTH --------------------------------------------------------------------------------
for my $case (['portal', 'mail-password', 'right password'], ['portal', 'wrong-password', 'wrong password']) {
    my ($user, $password, $name) = @$case;
    my $sa = PortalTest::Standalone->new(name => 'auth',
        catcher => ['--auth', 'portal:mail-password']);
    my $secret = "$sa->{dir}.secret";
    PortalTest::Env::spew($secret, "$password\n", 0600);
    # the catcher speaks no TLS: AUTH in clear, allowed for this loopback test only
    $sa->{portal} = { PortalMailUser => $user, PortalMailPasswordFile => $secret,
                      PortalAllowInsecureMail => 'On' };
    if (start_or_bail($sa)) {
        my $res = $sa->staff(POST => '/clients/1/invitations');
        is($res->code, 201, "AUTH, $name: invite 201") or next;
        my $iid = (decode_json_body($res) || {})->{id};
        my $o;
        if ($name eq 'right password') {
            $o = wait_done($sa, $iid, 20);
            is($o && $o->{status}, 'sent', "AUTH, $name: sent");
            my @m = $sa->mails;
            is($m[0] && $m[0]{auth_user}, 'portal', "AUTH, $name: authenticated as PortalMailUser");
        }
        else {
            # a refused login is the configuration's, not the email's: the queue is held
            $o = wait_until(sub { my $x = latest_outbox($sa, $iid);
                                  $x && ($x->{last_error} // '') ne '' ? $x : undef }, 20);
            is($o && $o->{status}, 'queued', "AUTH, $name: held, not failed");
            is($o && $o->{attempts}, 0, "AUTH, $name: no attempt charged");
            like($o && $o->{last_error} // '', qr/mail configuration error.*(535|login|auth)/i,
                 "AUTH, $name: the error says it is the configuration's, and why")
                or diag $o && $o->{last_error};
            is($sa->mail_count, 0, "AUTH, $name: nothing sent");
            is($sa->{ua}->get($sa->base_url . '/portal-manager/api/health')->code, 503,
               "AUTH, $name: health 503 (monitoring sees it)");
            # the admin fixes the password file; a graceful restart reads it again
            PortalTest::Env::spew($secret, "mail-password\n", 0600);
            $sa->graceful;
            $o = wait_done($sa, $iid, 30);
            is($o && $o->{status}, 'sent', "AUTH, $name: sent once the password is fixed");
            is($o && $o->{attempts}, 1, "AUTH, $name: one attempt in all");
            is($sa->mail_count, 1, "AUTH, $name: delivered once");
        }
        my $log = PortalTest::Env::slurp($sa->error_log);
        unlike($log, qr/\Q$password\E/, "AUTH, $name: the password is not logged");
        stop_and_check($sa);
    }
    unlink $secret;
}

# --- graceful stops --------------------------------------------------------------------------
# A server with a little work done, stopped and started again a few times.
{
    my $sa = PortalTest::Standalone->new(name => 'stops');
    if (start_or_bail($sa)) {
        for my $round (1 .. 6) {
            $sa->staff(POST => "/clients/$_/invitations") for 1, 3;
            sleep 1 + rand 0.5;
            my $before = () = crashes($sa);
            $sa->stop_httpd;
            my @all = crashes($sa);
            push @shutdown, map { "stops, round $round: $_" } @all[$before .. $#all];
            $sa->start_httpd;
            $sa->db->do("UPDATE invitations SET status = 'revoked' WHERE status = 'pending'");
        }
        stop_and_check($sa);
    }
}

# Every server above was stopped gracefully (SIGTERM). The delivery worker polls the
# database many times a second; stopping must not abort a child (e.g. mod_dbd's
# connection pool destroyed while the worker still holds a connection).
is_deeply(\@shutdown, [], 'no httpd child aborted or crashed while the servers stopped')
    or diag join "\n", @shutdown;

done_testing();
