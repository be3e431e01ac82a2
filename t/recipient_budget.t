# t/recipient_budget.t — the date-of-birth budget of POST /accept (issue 10, items 1, 13,
# 14): attempts are reserved in the statement that checks the budget, so 100 parallel
# wrong dates compare exactly 5; everything that does not need the date is checked
# first, so a right date with a bad username answers exactly like a wrong one; taken
# usernames cost an attempt; the client has a budget across all its invitations; and a
# password longer than bcrypt's 72 bytes is refused, not silently cut.
use strict;
use warnings;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use Test::More;
use HTTP::Request ();
use JSON::PP ();
use LWP::UserAgent ();
use Time::HiRes ();
use PortalTest;
use PortalTest::Delivery qw(link_tokens);
use PortalTest::Invite;
use PortalTest::Standalone;

my $good_pw = 'correct horse battery';

sub client { new_client(prefix => 'budget', visible_to => ['clin1'], @_) }

sub invite {
    my ($c) = @_;
    my $inv = json_ok(staff(POST => "/clients/$c->{id}/invitations"), 201, "invite client $c->{id}");
    return ($inv->{id}, next_token($c->{email}));
}

sub invite_rep {
    my ($c, $first) = @_;
    my $email = unique_email('budget-rep');
    my $d = json_ok(staff(POST => "/clients/$c->{id}/representatives",
                          json => { email => $email, first_name => $first, last_name => 'Rep' }),
                    201, "representative $first of client $c->{id}");
    return ($d->{invitation}{id}, next_token($email));
}

sub accept_answer {
    my ($res) = @_;
    my $d = decode_json_body($res);
    my $code = ref $d eq 'HASH' && $d->{error} ? $d->{error}{code} : 'ok';
    return $res->code . " $code";
}

sub verify_failed_rows {
    my ($inv_id) = @_;
    return scalar audit_rows(action => 'invitation.verify_failed', object_id => $inv_id);
}

# --- 100 parallel wrong dates: exactly 5 compared, then locked (both databases) ---------------
{
    my $c = client(first_name => 'Race', date_of_birth => '1971-06-15');
    my ($inv_id, $token) = invite($c);
    my @out = run_concurrently(100, sub {
        my $i = shift;
        my $res = rcpt(accept => { token => $token, date_of_birth => sprintf('1971-01-%02d', 1 + $i % 28),
                                   username => "race$i", password => $good_pw }, timeout => 60);
        return accept_answer($res);
    });
    my %count;
    $count{$_}++ for @out;
    is(($count{'422 verification_failed'} // 0) + ($count{'423 locked'} // 0), 100,
       '100 parallel wrong dates: every answer is verification_failed or locked')
        or diag explain \%count;
    is($count{'422 verification_failed'} // 0, 4, 'four answered "try again"')
        or diag explain \%count;
    my $row = invitation_row($inv_id);
    is($row->{verify_failures}, 5, 'exactly five attempts were used');
    is($row->{status}, 'locked', 'and the invitation is locked');
    is(verify_failed_rows($inv_id), 5, 'exactly five dates were compared (one audit row each)');
    error_ok(rcpt(accept => { token => $token, date_of_birth => '1971-06-15',
                              username => 'race.late', password => $good_pw }),
             423, 'locked', 'the right date after the lock is refused');
}

# --- wrong dates that pile up behind another writer's lock: still exactly 5 compared --------------
# (the old code read the date first and counted afterwards: every request that had read
# it before the lock went compared its date, however many there were)
{
    my $c = client(first_name => 'Pile', date_of_birth => '1973-03-13');
    my ($inv_id, $token) = invite($c);
    # A request that gives up behind that lock logs why and answers 503. SQLite: the
    # transaction's start, which takes the write lock, meets the busy file for longer
    # than the module waits (1.6 s, the lock is held 2 s: a request that reaches the
    # writer gate in the lock's first 0.4 s gives up), and says the transaction could
    # not start (PM00015, checked below to be exactly that line).
    # PostgreSQL: the requests waiting for the lock hold
    # their pooled connections (DBDMax 10 a child), and a request or the delivery worker
    # whose line for one does not move for PortalDBTimeout (no statement of its child
    # answered for 2 s, the lock's length) says so (PM00546, PM00547) -- never "check
    # DBDParams" (PM00011, PM00017), which would send an admin looking for a fault that
    # is not there
    PortalTest::expect_log_ids(PortalTest::db_driver() eq 'sqlite3' ? qw(PM00015)
                                                                   : qw(PM00546 PM00547));
    my $log = PortalTest::Env::top_dir() . '/t/logs/error_log';
    my $log_from = -s $log || 0;
    my $pid = hold_write_lock(2);
    my @out = run_concurrently(30, sub {
        my $i = shift;
        return accept_answer(rcpt(accept => { token => $token, date_of_birth => sprintf('1973-01-%02d', $i),
                                              username => "pile$i", password => $good_pw }, timeout => 60));
    });
    waitpid $pid, 0;
    my %count;
    $count{$_}++ for @out;
    # a 503 (SQLite's driver giving up on the lock, or no free connection on PostgreSQL)
    # is a clear answer too, and it reserves nothing
    is(($count{'422 verification_failed'} // 0) + ($count{'423 locked'} // 0)
       + ($count{'503 database_unavailable'} // 0), 30,
       '30 wrong dates behind a lock: every answer is verification_failed, locked or 503')
        or diag explain \%count;
    is($count{'422 verification_failed'} // 0, 4, 'behind a lock: four answered "try again"')
        or diag explain \%count;
    is(invitation_row($inv_id)->{verify_failures}, 5, 'behind a lock: five attempts used');
    is(verify_failed_rows($inv_id), 5, 'behind a lock: exactly five dates compared');
    if (PortalTest::db_driver() eq 'sqlite3') {
        # every database line of the pile-up at warn or worse is a request whose
        # transaction could not start behind the write lock, one per 503; no statement
        # failed (the delivery worker's claim meets the busy file too, and says so at
        # debug level)
        my @failed = grep { /:(?:$PortalTest::LogCheck::LEVELS)\].*\bPM0001[3-6]\b/ }
            PortalTest::LogCheck::read_new({ file => $log, offset => $log_from });
        my @gave_up = grep { /PM00015: cannot start a transaction: database is locked$/ } @failed;
        is(scalar @gave_up, scalar @failed,
           'behind a lock: every database line logged is a transaction that could not start')
            or diag join "\n", @failed;
        is(scalar @gave_up, $count{'503 database_unavailable'} // 0,
           'behind a lock: one such line per 503');
    }
}

# --- the right date never shows through another field's error ------------------------------------
{
    my $c = client(first_name => 'Shy', date_of_birth => '1984-04-04');
    my ($inv_id, $token) = invite($c);
    for my $case (['x', $good_pw, 'invalid_username', 'a malformed username'],
                  ['shy.user', 'short', 'weak_password', 'a weak password'],
                  ['shy.user', 'p' x 73, 'password_too_long', 'a 73-byte password']) {
        my ($user, $pw, $code, $what) = @$case;
        my $right = rcpt(accept => { token => $token, date_of_birth => '1984-04-04',
                                     username => $user, password => $pw });
        my $wrong = rcpt(accept => { token => $token, date_of_birth => '1999-09-09',
                                     username => $user, password => $pw });
        my $dr = error_ok($right, 422, $code, "$what with the right date");
        my $dw = error_ok($wrong, 422, $code, "$what with a wrong date");
        delete $_->{request_id} for $dr, $dw;
        is_deeply($dr, $dw, "$what: the same answer whatever the date");
    }
    is(invitation_row($inv_id)->{verify_failures}, 0, 'none of these counted an attempt');
    is(verify_failed_rows($inv_id), 0, 'and no date was compared');
}

# --- taken usernames cost attempts: five probes lock the link -----------------------------------
{
    my $c = client(first_name => 'Probe', date_of_birth => '1990-10-10');
    my ($inv_id, $token) = invite($c);
    tdb()->do("INSERT INTO portal_accounts (username, password_hash, client_id, status, created_at) "
              . "VALUES (?, 'x', 1, 'active', 0)", undef, "probe.$_.$$") for 1 .. 5;
    for my $i (1 .. 5) {
        error_ok(rcpt(accept => { token => $token, date_of_birth => '1990-10-10',
                                  username => "probe.$i.$$", password => $good_pw }),
                 409, 'username_taken', "taken username probe $i");
    }
    my $row = invitation_row($inv_id);
    is($row->{verify_failures}, 5, 'five probes used five attempts');
    is($row->{status}, 'locked', 'the fifth probe locked the invitation');
    error_ok(rcpt(accept => { token => $token, date_of_birth => '1990-10-10',
                              username => "probe.free.$$", password => $good_pw }),
             423, 'locked', 'no sixth probe');
    is(scalar audit_rows(action => 'invitation.username_taken', object_id => $inv_id), 5,
       'each probe audited');
}

# --- one budget per client across its invitations -------------------------------------------------
{
    my $c = client(first_name => 'Fam', date_of_birth => '1979-07-07');
    my ($client_inv, $client_token) = invite($c);
    my @reps = map { [invite_rep($c, $_)] } qw(Ann Ben Cat);
    my $n = 0;
    for my $r (@reps[0, 1]) {
        for my $i (1 .. 4) {
            $n++;
            error_ok(rcpt(accept => { token => $r->[1], date_of_birth => "1979-01-0$i",
                                      username => "fam.$n", password => $good_pw }),
                     422, 'verification_failed', "family guess $n");
        }
    }
    my ($used) = tdb()->selectrow_array('SELECT verify_failures FROM clients WHERE id = ?', undef, $c->{id});
    is($used, 8, 'eight attempts used from the client budget');
    my $d = error_ok(rcpt(accept => { token => $reps[2][1], date_of_birth => '1979-02-01',
                                      username => 'fam.9', password => $good_pw }),
                     422, 'verification_failed', 'ninth guess');
    like($d->{error}{message}, qr/1 try left/, 'the answer says one try is left');
    error_ok(rcpt(accept => { token => $reps[2][1], date_of_birth => '1979-02-02',
                              username => 'fam.10', password => $good_pw }),
             423, 'locked', 'the tenth guess spends the client budget: locked');
    for my $t ($client_token, map { $_->[1] } @reps) {
        error_ok(rcpt(lookup => { token => $t }), 423, 'locked', 'every link of the client is locked');
    }
    is(invitation_row($client_inv)->{status}, 'locked', "the client's own invitation is locked too");
    is(scalar(grep { invitation_row($_->[0])->{status} eq 'locked' } @reps), 3,
       "every representative's invitation is locked");

    # staff invite again: a new invitation gives the client its budget back
    my ($inv2, $token2) = invite($c);
    ($used) = tdb()->selectrow_array('SELECT verify_failures FROM clients WHERE id = ?', undef, $c->{id});
    is($used, 0, 'a new invitation from staff resets the client budget');
    json_ok(rcpt(accept => { token => $token2, date_of_birth => '1979-07-07',
                             username => "fam.ok.$$", password => $good_pw }), 201,
            'the new invitation can be accepted');
}

# --- a right date gives its reservation back (parallel right dates are never locked) -----------
{
    my $c = client(first_name => 'Good', date_of_birth => '1966-06-06');
    my ($inv_id, $token) = invite($c);
    error_ok(rcpt(accept => { token => $token, date_of_birth => '1966-06-05',
                              username => 'good.one', password => $good_pw }),
             422, 'verification_failed', 'one wrong date');
    json_ok(rcpt(accept => { token => $token, date_of_birth => '1966-06-06',
                             username => "good.one.$$", password => $good_pw }), 201, 'then the right one');
    my ($used) = tdb()->selectrow_array('SELECT verify_failures FROM clients WHERE id = ?', undef, $c->{id});
    is($used, 0, 'an accepted invitation gives the client its budget back');
    is(invitation_row($inv_id)->{verify_failures}, 1, 'the invitation keeps its count (one wrong date)');
}

# --- bcrypt reads 72 bytes: longer passwords are refused, 72 bytes work ------------------------
{
    my $c = client(first_name => 'Long', date_of_birth => '1955-05-05');
    my ($inv_id, $token) = invite($c);
    my $d = error_ok(rcpt(accept => { token => $token, date_of_birth => '1955-05-05',
                                      username => "long.$$", password => ('a' x 72) . 'b' }),
                     422, 'password_too_long', 'a 73-byte password is refused');
    is($d->{error}{field}, 'password', 'field password');
    like($d->{error}{message}, qr/72/, 'the message names the limit');
    error_ok(rcpt(accept => { token => $token, date_of_birth => '1955-05-05',
                              username => "long.$$", password => "\x{e9}" x 37 }),
             422, 'password_too_long', '37 two-byte characters (74 bytes) are refused');
    my $pw72 = ('k' x 70) . '!9';
    json_ok(rcpt(accept => { token => $token, date_of_birth => '1955-05-05',
                             username => "long.$$", password => $pw72 }), 201, 'a 72-byte password');
    isnt(login_code("long.$$", $pw72), 401, 'logs in with all 72 bytes');
    is(login_code("long.$$", ('k' x 70) . '!8'), 401, 'the 72nd byte matters');
}

# --- the same race where requests really run side by side: a throwaway httpd with 8
# children of 8 threads (the main test server runs few at once), 100 wrong dates at once
{
    my $sa = PortalTest::Standalone->new(name => 'dobrace');
    $sa->{extra} = join "\n", 'StartServers 8', 'ServerLimit 16', 'ThreadsPerChild 8',
        'MinSpareThreads 64', 'MaxSpareThreads 128', 'MaxRequestWorkers 128';
    if (!eval { $sa->start; 1 }) {
        fail("the standalone httpd starts: $@");
    }
    else {
        my $dbh = $sa->db;
        $dbh->do("INSERT INTO clients (first_name, last_name, date_of_birth, email) "
                 . "VALUES ('Para', 'Llel', '1962-02-02', 'para.llel\@example.test')");
        my ($cid) = $dbh->selectrow_array("SELECT id FROM clients WHERE email = 'para.llel\@example.test'");
        my $res = $sa->staff(POST => "/clients/$cid/invitations");
        is($res->code, 201, 'standalone: invite');
        my $inv_id = eval { JSON::PP->new->decode($res->content)->{id} };
        my $deadline = Time::HiRes::time() + 30;
        Time::HiRes::sleep(0.1) while !$sa->mail_count && Time::HiRes::time() < $deadline;
        my @m = $sa->mails;
        my $token = @m ? link_tokens(parse_mail($m[0]), $sa->invitation_url)->{text}[0] : undef;
        ok($token, 'standalone: the invitation email arrived with its link');
        my $url = $sa->base_url . '/portal/invitation/api/accept';
        my @out = run_concurrently(100, sub {
            my $i = shift;
            my $req = HTTP::Request->new(POST => $url);
            $req->header('Content-Type' => 'application/json');
            $req->header('X-Requested-With' => 'portal-manager');
            $req->content(JSON::PP->new->encode({ token => $token,
                date_of_birth => sprintf('1962-01-%02d', 1 + $i % 28),
                username => "para$i", password => $good_pw }));
            return accept_answer(LWP::UserAgent->new(timeout => 60, keep_alive => 0)->request($req));
        });
        my %count;
        $count{$_}++ for @out;
        is($count{'422 verification_failed'} // 0, 4, 'standalone, 100 at once: four "try again"')
            or diag explain \%count;
        my ($used, $status) = $dbh->selectrow_array(
            'SELECT verify_failures, status FROM invitations WHERE id = ?', undef, $inv_id);
        is($used, 5, 'standalone, 100 at once: exactly five attempts used');
        is($status, 'locked', 'standalone, 100 at once: locked');
        my ($compared) = $dbh->selectrow_array(
            "SELECT count(*) FROM audit_log WHERE action = 'invitation.verify_failed' AND object_id = ?",
            undef, $inv_id);
        is($compared, 5, 'standalone, 100 at once: exactly five dates compared');
        $sa->stop;
    }
}

done_testing();
