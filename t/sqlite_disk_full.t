# t/sqlite_disk_full.t — the SQLite database's filesystem full (issue 16), on a throwaway
# httpd whose database lives on a 3 MB tmpfs (t/lib/PortalTest/SmallFs.pm: a mount of
# the test's own, no root needed) filled to the last byte:
#   - a staff invite, a client's email change, a representative's invitation, a
#     recipient's accept and a client view (its audit row) each answer the JSON 503
#     database_unavailable, and nothing of them is kept (no invitation without its
#     outbox and audit rows: no row at all);
#   - the delivery worker's passes, every 100 ms, fail too: the log says so in one line
#     (PM00650: the disk is full, free space, no restart needed), not one line per pass;
#     an email queued before is neither sent nor charged an attempt;
#   - once space is freed, everything works again without a restart, the queued email
#     goes out once;
#   - an email whose relay answered while the disk was full has its outcome recorded
#     by the worker's retries once space is back: one copy, status sent.
# PostgreSQL has no such file: the file says so and skips on that run.
use strict;
use warnings;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use Test::More;
use Time::HiRes qw(sleep time);
use PortalTest qw(answer_of parse_mail expect_log_ids);
use PortalTest::Env ();
use PortalTest::Delivery qw(new_client wait_until);
use PortalTest::SmallFs ();
use PortalTest::Standalone;

plan skip_all => 'a full disk under the SQLite file is an SQLite case' if PortalTest::db_driver() ne 'sqlite3';

my $top = PortalTest::Env::top_dir();
my $mnt = PortalTest::SmallFs::enter("$top/t/logs/sqlite-disk-full", '3m');

# the full disk (PM00650), the audit row of a view not written (PM00040), the worker's
# outcome retried (PM00331), the relay stopped on purpose (PM00335), health turned by the
# audit rows refused (PM00706)
expect_log_ids(qw(PM00650 PM00040 PM00331 PM00335 PM00706));

sub count { my ($dbh, $sql, @a) = @_; return ($dbh->selectrow_array($sql, undef, @a))[0] }
sub log_since { substr(PortalTest::Env::slurp($_[0]->error_log) // '', $_[1]) }

sub token_of {
    my ($sa, $to) = @_;
    for my $m ($sa->mails) {
        next unless grep { $_ eq $to } @{ $m->{rcpt_tos} || [] };
        for my $part (@{ parse_mail($m)->{parts} || [] }) {
            return $1 if ($part->{text} // '') =~ m{/portal/invitation/#t=([A-Za-z0-9_-]+)};
        }
    }
    return undef;
}

sub mails_to { my ($sa, $to) = @_; scalar grep { grep { $_ eq $to } @{ $_->{rcpt_tos} || [] } } $sa->mails }

# what staff and a recipient write, one of each: { name => response }
sub five_writes {
    my ($sa, $c, $token) = @_;
    return (
        invite => $sa->staff(POST => "/clients/$c->[1]/invitations"),
        email  => $sa->staff(PUT => "/clients/$c->[2]/email", json => { email => 'moved@example.test' }),
        rep    => $sa->staff(POST => "/clients/$c->[3]/representatives",
                             json => { email => 'rep.full@example.test', first_name => 'Rae', last_name => 'Full' }),
        accept => $sa->recipient(accept => { token => $token, date_of_birth => '1990-01-01',
                                             username => 'diskfull1', password => 'Correct-Horse-Battery-9' }),
        view   => $sa->staff(GET => "/clients/$c->[4]"),
    );
}

my $sa = PortalTest::Standalone->new(name => 'diskfull', db_dir => $mnt);
my $started = eval { $sa->start; 1 };
ok($started, "a server whose SQLite file is on a small filesystem ($mnt) started") or diag $@;

SKIP: {
    skip 'no server', 30 unless $started;
    my $dbh = $sa->db;
    my @c = map { new_client(dbh => $dbh) } 0 .. 5;
    my %email = map { $_ => $dbh->selectrow_array('SELECT email FROM clients WHERE id = ?', undef, $_) } @c;

    # before: an invitation delivered (its link is accepted while the disk is full)
    is($sa->staff(POST => "/clients/$c[0]/invitations")->code, 201, 'before: invite 201');
    ok(wait_until(sub { token_of($sa, $email{ $c[0] }) }, 10), 'before: its email went out');
    my $token = token_of($sa, $email{ $c[0] });
    # an email queued while the relay is away: due when the disk is full
    $sa->stop_smtp;
    is($sa->staff(POST => "/clients/$c[5]/invitations")->code, 201, 'before: a second invite 201 (relay away)');
    my ($queued) = $dbh->selectrow_array('SELECT o.id FROM outbox o JOIN invitations i ON i.id = o.invitation_id '
                                       . 'WHERE i.client_id = ?', undef, $c[5]);
    my $accounts = count($dbh, 'SELECT count(*) FROM portal_accounts');
    undef $dbh;

    my $from = -s $sa->error_log;         # before the fill: a worker's pass may meet it first
    my $free = PortalTest::SmallFs::fill($mnt);
    cmp_ok($free, '<=', 4, "the filesystem is full ($free kB free)");
    $sa->start_smtp;                       # the relay answers: the worker tries its claim
    my $t0 = time;

    my %res = five_writes($sa, \@c, $token);
    for my $k (sort keys %res) {
        is(answer_of($res{$k}), '503 database_unavailable',
           "full: $k answers the JSON 503 database_unavailable");
    }
    sleep 2.5 - (time - $t0) if time - $t0 < 2.5;       # 25 worker passes
    $dbh = $sa->db;
    is(count($dbh, 'SELECT count(*) FROM invitations WHERE client_id = ?', $c[1]), 0, 'full: no invitation kept');
    is(count($dbh, "SELECT count(*) FROM audit_log WHERE action = 'invitation.create' AND client_id = ?", $c[1]), 0,
       '... nor its audit row');
    is(count($dbh, 'SELECT email FROM clients WHERE id = ?', $c[2]), $email{ $c[2] }, 'full: the email unchanged');
    is(count($dbh, 'SELECT count(*) FROM representatives WHERE client_id = ?', $c[3]), 0, 'full: no representative kept');
    is(count($dbh, 'SELECT status FROM invitations WHERE client_id = ?', $c[0]), 'pending', 'full: the invitation still pending');
    is(count($dbh, 'SELECT count(*) FROM portal_accounts'), $accounts, '... and no account made');
    my $row = $dbh->selectrow_hashref('SELECT status, attempts, claim_token FROM outbox WHERE id = ?', undef, $queued);
    is("$row->{status} $row->{attempts}", 'queued 0', 'full: the queued email waits, no attempt charged');
    is(mails_to($sa, $email{ $c[5] }), 0, '... and was not sent');
    undef $dbh;

    my $log = log_since($sa, $from);
    my @full = $log =~ /^.*PM00650.*$/mg;
    my @errors = grep { /:error\]/ } $log =~ /^.*(?:PM00650|disk is full).*$/mg;
    my @children = $sa->children;
    cmp_ok(scalar(@errors), '<=', scalar(@children),
           'full: at most one error line per child in 2.5 s of worker passes and requests ('
           . scalar(@errors) . ')');
    like($full[0] // '', qr/PM00650: the disk of the SQLite database is full .*space is freed.*without a restart/,
         'the line says the disk is full and what to do');
    unlike($log, qr/PM0001[356]: .*disk is full/, 'no statement, begin or commit line per failure');

    PortalTest::SmallFs::release($mnt);
    %res = five_writes($sa, \@c, $token);
    my %want = (invite => 201, email => 200, rep => 201, accept => 201, view => 200);
    for my $k (sort keys %res) {
        is($res{$k}->code, $want{$k}, "space freed: $k $want{$k}, no restart") or diag $res{$k}->decoded_content;
    }
    ok(wait_until(sub { mails_to($sa, $email{ $c[5] }) }, 10), 'space freed: the queued email went out');
    sleep 0.5;
    is(mails_to($sa, $email{ $c[5] }), 1, '... once');

    # the relay answers while the disk is full: the worker's retries record the outcome
    $sa->stop_smtp;
    $sa->start_smtp('--delay', '1.5');
    my $to = $email{ $c[4] };
    $from = -s $sa->error_log;
    is($sa->staff(POST => "/clients/$c[4]/invitations")->code, 201, 'an invite while the relay is slow');
    $dbh = $sa->db;
    my ($oid) = $dbh->selectrow_array('SELECT o.id FROM outbox o JOIN invitations i ON i.id = o.invitation_id '
                                    . 'WHERE i.client_id = ?', undef, $c[4]);
    ok(wait_until(sub { defined(($dbh->selectrow_array('SELECT claim_token FROM outbox WHERE id = ?', undef, $oid))[0]) }, 5),
       'the worker took it');
    undef $dbh;
    sleep 0.3;
    PortalTest::SmallFs::fill($mnt);
    ok(wait_until(sub { mails_to($sa, $to) }, 5), 'the relay has it while the disk is full');
    sleep 1.5;                             # the relay's 250, then the outcome's first tries fail
    PortalTest::SmallFs::release($mnt);
    $dbh = $sa->db;
    ok(wait_until(sub { ($dbh->selectrow_array('SELECT status FROM outbox WHERE id = ?', undef, $oid))[0] eq 'sent' }, 10),
       'space freed: the outcome is recorded (sent)');
    is(mails_to($sa, $to), 1, '... and the email went out once');
    like(log_since($sa, $from), qr/PM00331: outbox $oid: the outcome of attempt 1 is not recorded yet/,
         'PM00331 said the outcome waited');
    # leave the chain as found: nothing here is the shared database
    undef $dbh;
}

$sa->stop if $started;
done_testing();
