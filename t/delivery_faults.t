# t/delivery_faults.t — exactly one live email per send under faults (issue 16), each
# case on its own throwaway httpd + database + a slow SMTP catcher (a relay that keeps
# every accepted message before its "250": t/smtp/catcher.py --delay):
#   - kill -9 of every httpd child mid-batch: nothing is lost; an email that went out
#     unrecorded is sent again with the SAME link, so every delivered link answers
#     lookup 200; each copy has its own Message-ID; send_count counts both;
#   - a graceful restart mid-batch (the old and the new generation's workers overlap):
#     one email per invitation, every link works, the outbox matches the catcher;
#   - a batch that takes longer than one lease, with a second httpd on the same
#     database: the lease of every row still waiting is renewed, so it never lapses
#     while its worker holds it (PortalMailTimeout unset: the lease comes from the
#     effective 30 s, not from the "unset" -1) and the other instance never sends it;
#   - the relay is down: no attempt is charged, the rows are not backed off, and the
#     queue drains within a second of the relay answering again;
#   - a drain of many batches: each of the senders side by side keeps its SMTP
#     connection from one batch to the next;
#   - a short queue after the relay was down: the probe takes one email and the rest
#     are shared among the connections, not sent one after the other over one;
#   - several connections at once (PortalMailConnections 3) and kill -9 mid-drain: the
#     worker really sends over more than one connection at a time and never over more
#     than three; at most one email per connection goes out twice, every link works.
use strict;
use warnings;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use Test::More;
use Time::HiRes qw(sleep time);
use PortalTest qw(decode_json_body parse_mail expect_log_ids);
use PortalTest::Env ();
use PortalTest::Delivery qw(wait_until new_client smtp_commands);
use PortalTest::Standalone;
use File::Path ();

# the relay is down on purpose (PM00335)
expect_log_ids(qw(PM00335));

# PM_FAULT_CASES=kill9,graceful,lease,kill9instance,relaydown,reuse,spread,parallel runs only those cases (default: all)
my %ONLY = map { $_ => 1 } split /,/, $ENV{PM_FAULT_CASES} // '';
sub want { return !%ONLY || $ONLY{ $_[0] } }

# Without PM_FAULT_CASES the cases run side by side, PM_FAULT_JOBS (default 3) at a time,
# longest first: each is this file again with PM_FAULT_CASES naming it alone, on its own
# httpd, database (file or schema, named by its pid) and relay. A case spends most of its
# time waiting on a slow relay; one after the other they took 166 of the suite's 713 s.
# Every check a case makes is replayed here as this file's own, with its diagnostics,
# and each case must also end with its whole plan run (a case that died fails here).
my @CASES = qw(graceful lease kill9instance parallel kill9 relaydown spread reuse);
if (!%ONLY && ($ENV{PM_FAULT_JOBS} // 3) > 1) {
    run_cases_side_by_side($ENV{PM_FAULT_JOBS} // 3);
    done_testing();
    exit 0;
}

sub run_cases_side_by_side {
    my ($jobs) = @_;
    my $dir = PortalTest::Env::runtime_dir() . "/delivery_faults-$$";
    File::Path::make_path($dir);
    local $ENV{PERL5LIB} = join ':', grep { !ref } @INC;
    my (%running, %status);
    my @queue = @CASES;
    while (@queue || %running) {
        while (@queue && keys %running < $jobs) {
            my $case = shift @queue;
            my $pid = fork // die "fork: $!";
            if (!$pid) {
                $ENV{PM_FAULT_CASES} = $case;
                open STDOUT, '>', "$dir/$case.out" or die "$dir/$case.out: $!";
                open STDERR, '>', "$dir/$case.err" or die "$dir/$case.err: $!";
                exec $^X, $0 or die "exec $^X $0: $!";
            }
            $running{$pid} = $case;
        }
        my $pid = waitpid(-1, 0);
        last if $pid <= 0;
        $status{ delete $running{$pid} } = $? if $running{$pid};
    }
    replay_case($_, $dir, $status{$_}) for @CASES;
}

# the TAP one case printed, as checks of this file; its diagnostics as they came
sub replay_case {
    my ($case, $dir, $status) = @_;
    $status //= -1;                     # never reaped
    my $tb = Test::More->builder;
    my ($plan, $seen) = (undef, 0);
    open my $out, '<', "$dir/$case.out" or return fail("$case: no output ($!)");
    while (my $line = <$out>) {
        chomp $line;
        if ($line =~ /^1\.\.(\d+)/) { $plan = $1; next }
        next unless $line =~ /^(not )?ok \d+(?: - (.*?))?(?: # skip(?:ped)?\b ?(.*))?$/i;
        my ($not, $name, $skip) = ($1, $2 // '', $3);
        $seen++;
        if (defined $skip) { $tb->skip("$case: $skip"); next }
        $tb->ok(!$not, $name);
    }
    if (open my $err, '<', "$dir/$case.err") {
        local $/;
        my $text = <$err> // '';
        if ($text =~ /\S/) {
            $text =~ s/^/[$case] /mg;
            print STDERR $text =~ /\n\z/ ? $text : "$text\n";
        }
    }
    ok(defined $plan && $plan == $seen && $status == 0,
       "$case: ran to its end (exit status $status, " . ($seen) . ' of ' . ($plan // '?') . ' checks)');
}

# the recipient API's rate limits would answer 429 to this many lookups from one address
my %NO_LIMITS = (PortalRecipientIPLimit => 0, PortalRecipientTokenLimit => 0);

sub start_or_bail {
    my $sa = shift;
    my $ok = eval { $sa->start; 1 };
    ok($ok, "standalone server '$sa->{name}' started") or diag $@;
    return $ok;
}

# $n new clients, one invitation each: { invitation id => email }
sub invite_many {
    my ($sa, $n, $label) = @_;
    my $dbh = $sa->db;
    my (%inv, @codes);
    for my $k (1 .. $n) {
        my $email = "$label$k." . int(rand 1e6) . '@example.test';
        my $cid = new_client(dbh => $dbh, email => $email);
        my $res = $sa->staff(POST => "/clients/$cid/invitations");
        push @codes, $res->code;
        my $id = $res->code == 201 ? (decode_json_body($res) || {})->{id} : undef;
        $inv{$id} = $email if defined $id;
    }
    is(join(',', @codes), join(',', ('201') x $n), "$label: $n invitations, each 201");
    return \%inv;
}

sub outbox_of {
    my ($sa) = @_;
    return $sa->db->selectall_arrayref('SELECT * FROM outbox ORDER BY id', { Slice => {} });
}

sub all_sent {
    my ($sa, $n) = @_;
    my $rows = outbox_of($sa);
    return @$rows == $n && !grep { $_->{status} ne 'sent' } @$rows;
}

# the token of the invitation link in a parsed email's text part (whichever server,
# i.e. port, sent it: a second instance's links name its own)
sub mail_token {
    my $p = shift;
    for my $part (@{ $p->{parts} || [] }) {
        next unless $part->{content_type} eq 'text/plain';
        return $1 if ($part->{text} // '') =~ m{/portal/invitation/#t=([A-Za-z0-9_-]+)};
    }
    return '';
}

# What the catcher holds, checked against the database: every invitation was delivered
# (at least once, or exactly once with $exact), every delivered link answers lookup 200,
# Message-IDs are unique, send_count is the number of copies. Without $exact (a kill
# happened) send_count may also count one transfer the kill cut off: the count is
# committed when the relay answers DATA with 354, so a child killed between that commit
# and the end of the body counts a copy the relay never completed (seen once in CI on
# PostgreSQL, where the commit is a round trip and an fsync). Returns the number of
# emails beyond one per invitation and the number of such cut-off transfers; each
# connection in flight at the kill accounts for at most one of either.
sub check_delivered {
    my ($sa, $label, $inv, $exact) = @_;
    my %by_addr;
    my (@bad_links, %mid);
    for my $m ($sa->mails) {
        my $p = parse_mail($m);
        my $to = lc(($m->{rcpt_tos} || [])->[0] // '');
        push @{ $by_addr{$to} }, $m;
        $mid{ $p->{message_id} // '' }++;
        my $t = mail_token($p);
        my $res = $sa->recipient(lookup => { token => $t });
        push @bad_links, "$to: " . $res->code . ' ' . $res->content if $res->code != 200;
    }
    my $dbh = $sa->db;
    my (@missing, @count_off, @cut_off);
    my $extra = 0;
    for my $id (sort { $a <=> $b } keys %$inv) {
        my $copies = scalar @{ $by_addr{ lc $inv->{$id} } || [] };
        push @missing, $id unless $copies;
        $extra += $copies - 1 if $copies > 1;
        my ($sc) = $dbh->selectrow_array('SELECT send_count FROM invitations WHERE id = ?',
                                         undef, $id);
        my $what = "invitation $id: send_count $sc, emails $copies";
        if (!$exact && $sc == $copies + 1) {
            push @cut_off, $what;
        }
        elsif ($sc != $copies) {
            push @count_off, $what;
        }
    }
    is_deeply(\@missing, [], "$label: every invitation was delivered");
    is_deeply(\@bad_links, [], "$label: every delivered link answers lookup 200")
        or diag scalar(@bad_links) . ' dead link(s)';
    is_deeply([grep { $mid{$_} > 1 } keys %mid], [], "$label: every email has its own Message-ID");
    is_deeply(\@count_off, [], $exact ? "$label: send_count is the number of emails that went out"
                                      : "$label: send_count is the number of emails that went out,"
                                        . ' or one more for a transfer the kill cut off');
    diag "$label: counted but cut off by the kill: $_" for @cut_off;
    is($extra, 0, "$label: exactly one email per invitation") if $exact;
    return ($extra, scalar @cut_off);
}

# SIGKILL of every child of $sa mid-batch; then every outbox row ends 'sent' within
# $wait s, the copies check out (check_delivered) and at most $max_extra went out twice
# or were cut off (one per connection in flight).
sub kill_children_and_drain {
    my ($sa, $label, $inv, $wait, $max_extra, $why) = @_;
    my $n = keys %$inv;
    ok($sa->kill_children('KILL') > 0, "$label: every httpd child killed (SIGKILL) mid-batch");
    my $at = $sa->mail_count;
    ok(wait_until(sub { all_sent($sa, $n) }, $wait), "$label: all $n outbox rows end 'sent'")
        or diag explain [map { "$_->{id} $_->{status} $_->{attempts}" } @{ outbox_of($sa) }];
    sleep 1;
    my ($extra, $cut) = check_delivered($sa, $label, $inv);
    cmp_ok($extra + $cut, '<=', $max_extra,
           "$label: $why ($extra extra, $cut cut off; $at delivered when the children died)");
}

# --- kill -9 of the children mid-batch ------------------------------------------------------
# 12 invitations through a relay that keeps each message 0.8 s before its 250. The
# children are killed while the batch is under way: the message being sent on each of
# the (up to 3) connections has reached the relay but its outcome is never recorded. Old code: the whole batch's outcomes were
# lost and every email went out again with a new token (the first copies "superseded").
if (want('kill9')) {
    my $sa = PortalTest::Standalone->new(name => 'kill9', catcher => ['--delay', '0.8'],
        portal => { %NO_LIMITS, PortalMailTimeout => 3 });
    if (start_or_bail($sa)) {
        my $inv = invite_many($sa, 12, 'kill');
        wait_until(sub { $sa->mail_count >= 3 }, 20);
        sleep 0.3;                                   # into the next message's 0.8 s
        kill_children_and_drain($sa, 'kill9', $inv, 60, 3,
                                'at most the email in flight on each of the 3 connections '
                                . 'went out twice or was cut off');
        $sa->stop;
    }
}

# --- a graceful restart mid-batch --------------------------------------------------------------
# 25 invitations, 1.6 s per message (32 s for a batch of 20), PortalMailTimeout unset
# (the sample config) and the links derived from PortalTokenSecretFile. Old code: the
# lease was 28 s (from the unset -1), so the new generation's worker took over rows the
# old one was still working through and sent them again with new tokens.
if (want('graceful')) {
    my $secret = "/tmp/pm-token-secret-$$";
    PortalTest::Env::spew($secret, ('ab' x 32) . "\n", 0600);
    my $sa = PortalTest::Standalone->new(name => 'graceful', catcher => ['--delay', '1.6'],
        portal => { %NO_LIMITS, PortalMailTimeout => undef, PortalTokenSecretFile => $secret });
    if (start_or_bail($sa)) {
        my $inv = invite_many($sa, 25, 'graceful');
        my $n = keys %$inv;
        wait_until(sub { $sa->mail_count >= 3 }, 20);
        ok(eval { $sa->graceful; 1 }, 'graceful: httpd -k graceful mid-batch') or diag $@;
        ok(wait_until(sub { all_sent($sa, $n) }, 90), "graceful: all $n outbox rows end 'sent'")
            or diag explain [map { "$_->{id} $_->{status} $_->{attempts}" } @{ outbox_of($sa) }];
        sleep 1.5;
        check_delivered($sa, 'graceful', $inv, 1);
        is($sa->mail_count, $n, "graceful: the catcher holds $n emails, as the outbox says");
        $sa->stop;
    }
    unlink $secret;
}

# --- a batch longer than one lease, and a second instance on the same database -------------
# 24 invitations at 1.6 s each: 32 s for a batch of 20, more than the 28 s lease the old
# code took from the unset PortalMailTimeout. A second httpd on the same database and
# relay starts once the first has claimed its batch: it must take the 4 rows the first
# did not claim and none of the first one's (old code: it took the lapsed rows and sent
# them again with new tokens). Every row waiting in a batch keeps a lease in the future.
if (want('lease')) {
    my $secret = "/tmp/pm-token-secret-lease-$$";
    PortalTest::Env::spew($secret, ('cd' x 32) . "\n", 0644);
    my %conf = (%NO_LIMITS, PortalMailTimeout => undef, PortalTokenSecretFile => $secret);
    my $sa = PortalTest::Standalone->new(name => 'lease', catcher => ['--delay', '1.6'],
                                         portal => { %conf });
    if (start_or_bail($sa)) {
        my $inv = invite_many($sa, 24, 'lease');
        my $n = keys %$inv;
        my $dbh = $sa->db;
        wait_until(sub { $dbh->selectrow_array(
            "SELECT count(*) FROM outbox WHERE lease_until IS NOT NULL") > 0 }, 10);
        # one pass claims one batch (20), not every due row: on PostgreSQL the claim's
        # "IN (SELECT ... LIMIT 20 FOR UPDATE SKIP LOCKED)" once took all of them
        my ($claimed) = $dbh->selectrow_array(
            "SELECT count(*) FROM outbox WHERE claim_token IS NOT NULL AND status = 'queued'");
        cmp_ok($claimed, '<=', 20, "lease: one worker claims at most one batch of 20 ($claimed)");
        my $sb = PortalTest::Standalone->new(name => 'lease-b', share => $sa, portal => { %conf });
        start_or_bail($sb);
        my ($lapsed, $seen_claimed) = (0, 0);
        my $deadline = time + 90;
        while (time < $deadline) {
            my $now = int time;
            my $rows = $dbh->selectall_arrayref(
                "SELECT id, lease_until FROM outbox WHERE status = 'queued' AND lease_until IS NOT NULL",
                { Slice => {} });
            $seen_claimed ||= @$rows;
            $lapsed++ if grep { $_->{lease_until} < $now } @$rows;
            last if all_sent($sa, $n);
            sleep 0.5;
        }
        ok($seen_claimed, 'lease: rows were seen claimed while the batch ran');
        is($lapsed, 0, 'lease: no claimed row waiting in a batch ever had a lapsed lease');
        ok(all_sent($sa, $n), "lease: all $n sent");
        sleep 1;
        check_delivered($sa, 'lease, two instances', $inv, 1);
        $sb->stop;
        $sa->stop;
    }
    unlink $secret;
}

# --- kill -9 of one of two instances mid-drain ----------------------------------------------
# Two httpds on one database and one relay (0.3 s per message) share the queue. Once the
# second instance has delivered an email of its own, all its processes (parent and
# children) are killed with SIGKILL. The first finishes the queue, taking the dead one's
# claimed rows when their lease runs out (PortalMailTimeout 3 + 15 s): every invitation
# delivered, every delivered link works (both instances derive links from one secret),
# send_count true (or one more for a transfer the kill cut off), at most the email in
# flight on each of its 3 connections went out twice or was cut off.
if (want('kill9instance')) {
    my $secret = "/tmp/pm-token-secret-inst-$$";
    PortalTest::Env::spew($secret, ('ef' x 32) . "\n", 0644);
    my %conf = (%NO_LIMITS, PortalMailTimeout => 3, PortalTokenSecretFile => $secret);
    my $sa = PortalTest::Standalone->new(name => 'inst-a', catcher => ['--delay', '0.3'],
                                         portal => { %conf });
    if (start_or_bail($sa)) {
        my $sb = PortalTest::Standalone->new(name => 'inst-b', share => $sa, portal => { %conf });
        if (start_or_bail($sb)) {
            my $inv = invite_many($sa, 30, 'inst');
            my $n = keys %$inv;
            my $b_url = $sb->base_url;
            my $from_b = sub { scalar grep { index($_->{raw} // '', $b_url) >= 0 } $sa->mails };
            ok(wait_until(sub { $from_b->() >= 1 }, 30),
               'kill9instance: the second instance delivers emails of its own');
            my @procs = grep { defined } ($sb->httpd_pid, $sb->children);
            is(kill('KILL', @procs), scalar @procs,
               'kill9instance: every process of the second instance killed (SIGKILL)');
            my $t0 = time;
            ok(wait_until(sub { all_sent($sa, $n) }, 90),
               "kill9instance: the first instance sends all $n")
                or diag explain [map { "$_->{id} $_->{status} $_->{attempts}" } @{ outbox_of($sa) }];
            diag sprintf('kill9instance: queue finished %.1f s after the kill', time - $t0);
            sleep 1;
            my ($extra, $cut) = check_delivered($sa, 'kill9instance', $inv);
            cmp_ok($extra + $cut, '<=', 3, 'kill9instance: at most the email in flight on each of '
                   . "the second instance's 3 connections went out twice or was cut off "
                   . "($extra extra, $cut cut off)");
            $sb->stop;
        }
        $sa->stop;
    }
    unlink $secret;
}

# --- the relay is down -----------------------------------------------------------------------
if (want('relaydown')) {
    my $sa = PortalTest::Standalone->new(name => 'relaydown',
        portal => { %NO_LIMITS, PortalOutboxMaxAttempts => 3 });
    if (start_or_bail($sa)) {
        $sa->stop_smtp;                                 # port closed
        my $inv = invite_many($sa, 5, 'down');
        my $n = keys %$inv;
        ok(wait_until(sub { my $r = outbox_of($sa); @$r && !grep { !defined $_->{last_error} } @$r }, 10),
           'relay down: every queued email shows why it waits');
        sleep 3;                                        # ~30 intervals of 100 ms
        # read between passes: a pass charges the attempt of the email it is about to
        # try and gives it back when the relay turns out to be down
        my $rows;
        wait_until(sub { $rows = outbox_of($sa); !grep { defined $_->{claim_token} } @$rows }, 5);
        is(join(',', map { $_->{attempts} } @$rows), join(',', (0) x $n),
           'relay down for 3 s: no attempt charged to any email');
        is(join(',', map { $_->{status} } @$rows), join(',', ('queued') x $n),
           'relay down: all still queued (PortalOutboxMaxAttempts 3 not used up)');
        ok(!grep({ $_->{next_attempt_at} > time + 1 } @$rows), 'relay down: no email was backed off');
        my $t0 = time;
        $sa->start_smtp;
        ok(wait_until(sub { all_sent($sa, $n) }, 20), 'relay back: all sent');
        diag sprintf('relay back: drained %.2f s after the relay answered again', time - $t0);
        is(join(',', map { $_->{attempts} } @{ outbox_of($sa) }), join(',', (1) x $n),
           'relay back: one attempt each');
        check_delivered($sa, 'relay down', $inv, 1);
        $sa->stop;
    }
}

# --- each sender keeps its connection from batch to batch ---------------------------------------
# 110 invitations queued while the relay is down; when it answers, the first pass (one
# connection) and then three senders side by side drain them in batches of 20. A sender
# opens its SMTP connection once and sends every batch of the drain over it, and the
# first pass's connection is the first sender's: at most three connections for the
# whole drain (a connection per batch made six).
if (want('reuse')) {
    my $sa = PortalTest::Standalone->new(name => 'reuse',
        portal => { %NO_LIMITS, PortalMailConnections => 3 });
    if (start_or_bail($sa)) {
        $sa->stop_smtp;
        my $inv = invite_many($sa, 110, 'reuse');
        $sa->start_smtp;
        ok(wait_until(sub { all_sent($sa, 110) }, 60), 'reuse: all 110 sent');
        my %mails;                      # each SMTP connection: the emails it carried
        $mails{ join ':', @{ $_->{peer} || [] } }++
            for grep { $_->{cmd} eq 'MAIL' } smtp_commands($sa->{mail_dir});
        my $n = 0;
        $n += $_ for values %mails;
        is($n, 110, 'reuse: 110 SMTP transactions');
        cmp_ok(scalar keys %mails, '<=', 3, 'reuse: over at most PortalMailConnections connections ('
               . join(', ', sort { $b <=> $a } values %mails) . ' emails)');
        check_delivered($sa, 'reuse', $inv, 1);
        $sa->stop;
    }
}

# --- a short queue is spread over the connections --------------------------------------------
# Six invitations queued while the relay is down; it comes back keeping each message
# 0.3 s (a real relay's pace). The first pass is the probe and takes one email; then
# the five left are shared among the three connections (2, 2, 1), where the probe used
# to take all six (a batch is up to 20) and send them one after the other over one
# connection while two stood idle.
if (want('spread')) {
    my $sa = PortalTest::Standalone->new(name => 'spread',
        portal => { %NO_LIMITS, PortalMailConnections => 3 });
    if (start_or_bail($sa)) {
        $sa->stop_smtp;
        my $inv = invite_many($sa, 6, 'spread');
        $sa->start_smtp('--delay', '0.3');
        ok(wait_until(sub { all_sent($sa, 6) }, 30), 'spread: all 6 sent');
        my %mails;                      # each SMTP connection: the emails it carried
        $mails{ join ':', @{ $_->{peer} || [] } }++
            for grep { $_->{cmd} eq 'MAIL' } smtp_commands($sa->{mail_dir});
        my @per = sort { $b <=> $a } values %mails;
        ok(@per >= 2 && $per[0] <= 3,
           'spread: over more than one connection, none carrying more than 3 of the 6 ('
           . join(', ', @per) . ')');
        check_delivered($sa, 'spread', $inv, 1);
        $sa->stop;
    }
}

# --- several connections at once, and kill -9 mid-drain ---------------------------------------
# 70 invitations queued while the relay is down, so that when it answers the first pass
# finds a full batch: after it, passes of 20 run three at a time (PortalMailConnections
# 3), each over its own connection, through a relay that keeps each message 0.2 s. The
# children are killed in the middle of such a round: each connection may have had one
# email in flight, so at most three go out twice, each copy with a working link.
if (want('parallel')) {
    my $sa = PortalTest::Standalone->new(name => 'parallel', catcher => ['--delay', '0.2'],
        portal => { %NO_LIMITS, PortalMailTimeout => 3, PortalMailConnections => 3 });
    if (start_or_bail($sa)) {
        $sa->stop_smtp;
        my $inv = invite_many($sa, 70, 'par');
        $sa->start_smtp;
        ok(wait_until(sub { $sa->mail_count >= 35 }, 40), 'parallel: 35 emails delivered');
        kill_children_and_drain($sa, 'parallel', $inv, 90, 3,
                                'at most one email per connection went out twice or was cut off');
        my %span;                       # each SMTP connection: its first and last command
        for my $c (smtp_commands($sa->{mail_dir})) {
            my $peer = join ':', @{ $c->{peer} || [] };
            $span{$peer}[0] //= $c->{t};
            $span{$peer}[1] = $c->{t};
        }
        my $most = 0;
        for my $at_t (map { $_->[0] } values %span) {
            my $open = grep { $_->[0] <= $at_t && $at_t <= $_->[1] } values %span;
            $most = $open if $open > $most;
        }
        cmp_ok($most, '>=', 2, "parallel: more than one connection sent at once ($most)");
        cmp_ok($most, '<=', 3, "parallel: never more than PortalMailConnections at once ($most)");
        $sa->stop;
    }
}

done_testing();
