# t/outbox_wake.t — a committed invitation wakes the delivery worker at once
# (issue 16): with PortalOutboxInterval at one minute, an invitation, a
# representative invitation and a test email each reach the SMTP catcher within
# seconds, however many children the server has and whichever one took the POST;
# a burst of invitations is sent in full. Without the wake the first email would
# wait for the next minute's poll. (How fast, p50/p95, is bench/mail_latency's.)
use strict;
use warnings;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use Test::More;
use Time::HiRes qw(sleep time);
use POSIX ();
use PortalTest qw(decode_json_body expect_log_ids);
use PortalTest::Delivery qw(new_client);
use PortalTest::Standalone;

my $sa = PortalTest::Standalone->new(name => 'wake',
                                     portal => { PortalOutboxInterval => 60000,
                                                 PortalOutboxRetryDelay => 2 });
my $started = eval { $sa->start; 1 };
ok($started, 'a server polling the outbox once a minute started') or diag $@;

sub wait_count {
    my ($n, $secs) = @_;
    my $t0 = time;
    while (time - $t0 < $secs) {
        return time - $t0 if $sa->mail_count >= $n;
        sleep 0.05;
    }
    return undef;
}

# what a failure shows: the emails received, every unsent outbox row, the module's
# log lines (with their times)
sub queue_state {
    my $dbh = shift;
    return 'emails: ' . $sa->mail_count . sprintf(' at %.3f', time) . "\n"
        . join('', map { "outbox $_->{id}: $_->{status}, attempts $_->{attempts}, "
                         . 'next ' . ($_->{next_attempt_at} // '-') . ', lease '
                         . ($_->{lease_until} // '-') . ', '
                         . ($_->{last_error} // '-') . "\n" }
                   @{ $dbh->selectall_arrayref(
                       "SELECT * FROM outbox WHERE status <> 'sent' ORDER BY id",
                       { Slice => {} }) })
        . join('', grep { /portal_manager|mpm_event/ } split /^/,
                         eval { PortalTest::Env::slurp($sa->error_log) } // '');
}

SKIP: {
    skip 'no server', 11 unless $started;
    # the worker's first pass runs when it starts: let it pass, so the next poll is a
    # minute away
    sleep 3;
    is($sa->mail_count, 0, 'nothing sent yet');
    my $dbh = $sa->db;

    my $cid = new_client(dbh => $dbh);
    is($sa->staff(POST => "/clients/$cid/invitations")->code, 201, 'invite: 201');
    my $dt = wait_count(1, 10);
    ok(defined $dt, 'the invitation reached SMTP within 10 s, not at the next poll'
       . (defined $dt ? sprintf(' (%.3f s)', $dt) : ''));

    my $res = $sa->staff(POST => "/clients/$cid/representatives",
                         json => { email => "rep$cid\@example.test", first_name => 'Rosa',
                                   last_name => 'Reyes', relationship => 'guardian' });
    is($res->code, 201, 'a representative with an invitation: 201');
    $dt = wait_count(2, 10);
    ok(defined $dt, 'the representative invitation reached SMTP within 10 s'
       . (defined $dt ? sprintf(' (%.3f s)', $dt) : ''));

    $res = $sa->staff(POST => '/admin/settings/test-email', json => { to => 'champ@example.test' });
    is($res->code, 202, 'a test email: 202');
    $dt = wait_count(3, 10);
    ok(defined $dt, 'the test email reached SMTP within 10 s'
       . (defined $dt ? sprintf(' (%.3f s)', $dt) : ''));

    # a burst over several connections (so several children take part)
    my @ids = map { new_client(dbh => $dbh) } 1 .. 30;
    my @pids;
    for my $chunk (0 .. 4) {
        my $pid = fork // die "fork: $!";
        if (!$pid) {
            $sa->{ua} = undef;
            my $bad = grep { $sa->staff(POST => "/clients/$_/invitations")->code != 201 }
                      @ids[$chunk * 6 .. $chunk * 6 + 5];
            POSIX::_exit($bad);
        }
        push @pids, $pid;
    }
    my $refused = 0;
    for (@pids) {
        waitpid $_, 0;
        $refused += $? >> 8;
    }
    is($refused, 0, 'the burst: every one of the 30 invitations answered 201');
    $dt = wait_count(33, 20);
    ok(defined $dt, 'a burst of 30 invitations from 5 clients at once: all 30 sent within 20 s'
       . (defined $dt ? sprintf(' (%.3f s after the last POST)', $dt) : ''))
        or diag queue_state($dbh);

    # a retry goes when it is due, though no commit rings then: the relay answers 451
    # once, and the retry is due PortalOutboxRetryDelay (2 s, +-25%) later, not at the
    # next poll a minute away
    expect_log_ids('PM00052');            # "attempt 1 failed, retrying in 2s"
    my $before = $sa->mail_count;
    $sa->mail_replies('451 4.3.0 Try again later');
    my $rcid = new_client(dbh => $dbh);
    is($sa->staff(POST => "/clients/$rcid/invitations")->code, 201,
       'invite while the relay answers 451 once: 201');
    $dt = wait_count($before + 1, 15);
    ok(defined $dt, 'the retry after a 451 reached SMTP when it was due, not at the next poll'
       . (defined $dt ? sprintf(' (%.3f s after the POST)', $dt) : ''))
        or diag queue_state($dbh);
}

$sa->stop if $started;
done_testing();
