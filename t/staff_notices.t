# t/staff_notices.t — staff notices (issue 15): the delivery worker tells a staff member
# who gave an email what happened for the clients on their caseload — an invitation
# accepted, declined by the recipient, locked after wrong dates of birth, an email that
# could not be delivered — with the first name and last initial and a link to the client
# view (PortalStaffURL), no addresses; "immediate" as it happens, "daily" once a practice
# day from 07:00; nothing when there is nothing to say; nobody else's clients. And (issue
# 11) only to staff the module served a request of within staff_notice_max_idle_days
# (staff.last_seen_at, written at most once a day per person, not per request).
#
# Runs on both databases. Real events through the real APIs and the real worker; two
# staff rows of the file's own, their notice columns set in the database (the API and the
# admin tool that set them have tests of their own), removed at the end.
use strict;
use warnings;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use Test::More;
use Time::HiRes ();
use PortalTest;
use PortalTest::Invite;
use PortalTest::Delivery qw(smtp_commands smtp_commands_clear);

# provoked on purpose: the 550 (the worker logs the failed delivery) and the 451 to a
# notice (logged, tried again)
expect_log_ids(qw(PM00053 PM00591 PM00707));

my $pw = 'a perfectly long pass';
# two staff members of this file's own (no login needed: the events are made as admin, the
# notices only read the rows), so no other file's clients or events reach their notices
my @STAFF = qw(nt15a nt15b);
my %ADDR = (nt15a => 'nt15a.notices.t15n@example.test', nt15b => 'nt15b.notices.t15n@example.test');
sub staff_set {
    my ($user, %v) = @_;
    my @k = sort keys %v;
    tdb()->do('UPDATE staff SET ' . join(', ', map { "$_ = ?" } @k) . ' WHERE username = ?',
              undef, @v{@k}, $user);
}
sub staff_row { tdb()->selectrow_hashref('SELECT * FROM staff WHERE username = ?', undef, $_[0]) }
sub last_audit { (tdb()->selectrow_array('SELECT coalesce(max(id), 0) FROM audit_log'))[0] }
sub cleanup {
    my $in = join ',', map { "'$_'" } @STAFF;
    tdb()->do("DELETE FROM staff_clients WHERE username IN ($in)");
    tdb()->do("DELETE FROM staff WHERE username IN ($in)");
    clear_setting($_) for qw(time_zone staff_notice_max_idle_days);
    mail_replies();
}
cleanup();
END { eval { cleanup(); 1 } or warn "cleanup: $@" }

# quiet to begin with: an address, but notify none, so the worker leaves them alone
# seen by the server now (issue 11: staff not seen within staff_notice_max_idle_days get none)
tdb()->do("INSERT INTO staff (username, display_name, email, notify, last_seen_at) "
          . "VALUES (?, ?, ?, 'none', ?)", undef, $_, "Notice Reader $_", $ADDR{$_}, time) for @STAFF;
my $mark = last_audit();

sub invite_token {
    my ($c) = @_;
    json_ok(staff(POST => "/clients/$c->{id}/invitations"), 201, "invite $c->{first_name}");   # as admin
    return scalar next_token($c->{email});
}

# --- the events: four on nt15a's caseload, one on nt15b's ------------------------------------
my $ana = new_client(first_name => 'Ana', last_name => 'Lúcia', date_of_birth => '1980-01-01',
                     visible_to => ['nt15a']);
my $bea = new_client(first_name => 'Bea', last_name => 'Dunn', visible_to => ['nt15a']);
my $cy  = new_client(first_name => 'Cy', last_name => 'Lock', date_of_birth => '1970-07-07',
                     visible_to => ['nt15a']);
my $eve = new_client(first_name => 'Eve', last_name => 'Fail', visible_to => ['nt15a']);
my $dan = new_client(first_name => 'Dan', last_name => 'Other', date_of_birth => '1990-02-02',
                     visible_to => ['nt15b']);

json_ok(rcpt(accept => { token => invite_token($ana), date_of_birth => '1980-01-01',
                         username => "ana.t15n.$$", password => $pw }), 201, 'Ana accepts');
json_ok(rcpt(decline => { token => invite_token($bea) }), 200, 'Bea declines');
my $cy_token = invite_token($cy);
for my $day (1 .. 5) {
    rcpt(accept => { token => $cy_token, date_of_birth => "1970-01-0$day",
                     username => "cy.t15n.$$", password => $pw });
}
is(invitation_row(tdb()->selectrow_array(
       'SELECT max(id) FROM invitations WHERE client_id = ?', undef, $cy->{id}))->{status},
   'locked', 'Cy\'s invitation is locked after five wrong dates');
mail_replies('RCPT 550 5.1.1 <' . $eve->{email} . '>: Recipient address rejected: User unknown');
json_ok(staff(POST => "/clients/$eve->{id}/invitations"), 201, 'invite Eve (the relay refuses her address)');
my $failed;
for (1 .. 300) {
    ($failed) = tdb()->selectrow_array(
        "SELECT a.id FROM audit_log a WHERE a.action = 'email.failed' AND a.client_id = ?", undef, $eve->{id});
    last if $failed;
    Time::HiRes::sleep(0.1);
}
ok($failed, 'a failed invitation email writes an email.failed audit row');
my $fail_row = tdb()->selectrow_hashref('SELECT * FROM audit_log WHERE id = ?', undef, $failed // 0) || {};
is($fail_row->{username}, 'system', 'as the system');
unlike($fail_row->{detail} // '', qr/@/, 'no address in its detail');
mail_replies();
json_ok(rcpt(accept => { token => invite_token($dan), date_of_birth => '1990-02-02',
                         username => "dan.t15n.$$", password => $pw }), 201, 'Dan (nt15b\'s) accepts');
my ($lock_detail) = tdb()->selectrow_array(
    "SELECT detail FROM audit_log WHERE action = 'invitation.verify_failed' AND client_id = ? "
  . 'ORDER BY id DESC', undef, $cy->{id});
like($lock_detail // '', qr/"locked"\s*:\s*true/, 'the attempt that locked Cy\'s invitation says so in its audit row');

# --- immediate: one notice with the four, links, no addresses, nobody else's ------------------
sub notice_parts {
    my ($m) = @_;
    my $p = parse_mail($m);
    my ($text) = map { $_->{text} } grep { $_->{content_type} eq 'text/plain' } @{ $p->{parts} || [] };
    my ($html) = map { $_->{text} } grep { $_->{content_type} eq 'text/html' } @{ $p->{parts} || [] };
    return ($p, $text // '', $html // '');
}
my $staff_url = 'http://127.0.0.1:' . runtime()->{port} . '/portal-manager/';
{
    my $upto = last_audit();
    staff_set('nt15a', notify => 'immediate', notices_after => $mark);
    my @m = wait_mail_to($ADDR{nt15a}, 1, 20);
    is(scalar @m, 1, 'nt15a (immediate) gets a notice');
    my ($p, $text, $html) = notice_parts($m[0] || {});
    ok($p->{ok}, 'the notice parses strictly') or diag $p->{error};
    like($p->{subject} // '', qr/^Client Portal Manager: 4 updates for your clients$/,
         'subject: four updates') or diag $p->{subject};
    like($text, qr/^- Ana L\.: invitation accepted \(/m, 'Ana L.: accepted');
    like($text, qr/^- Bea D\.: invitation declined by the recipient \(/m, 'Bea D.: declined');
    like($text, qr/^- Cy L\.: invitation locked \(too many wrong dates of birth\)/m, 'Cy L.: locked');
    like($text, qr/^- Eve F\.: the invitation email could not be delivered/m, 'Eve F.: failed');
    like($text, qr/^  \Q$staff_url\E#client=$ana->{id}\r?$/m, 'a link to Ana\'s client view');
    ok(index($html, "$staff_url#client=$cy->{id}") >= 0, 'the HTML part links too');
    unlike($text, qr/Dan|Other/, 'nothing of nt15b\'s client');
    unlike($text . $html, qr/Lúcia|Dunn|@/, 'no last names, no addresses');
    ok(staff_row('nt15a')->{notices_after} >= $upto, 'nt15a\'s mark moved past the events');
    sleep 3;                       # three sweeps (PortalSweepInterval 1 on the test servers)
    is(scalar(mails_to($ADDR{nt15a})), 1, 'nothing new: no second notice');
    is(scalar(mails_to($ADDR{nt15b})), 0, 'nt15b (notify none) gets nothing');
}

# --- a notice the relay refuses comes again later --------------------------------------------
{
    my $before = staff_row('nt15a')->{notices_after};
    my $fay_token = invite_token(new_client(first_name => 'Fay', last_name => 'Retry', visible_to => ['nt15a']));
    mail_replies(('RCPT 451 4.3.0 Try again later') x 2);      # the notice's next two tries
    json_ok(rcpt(decline => { token => $fay_token }), 200, 'Fay declines');
    my @m = wait_mail_to($ADDR{nt15a}, 2, 40);
    is(scalar @m, 2, 'the notice refused with 451 arrives on a later pass');
    my (undef, $text) = notice_parts($m[1] || {});
    like($text, qr/^- Fay R\.: invitation declined by the recipient/m, 'with Fay\'s decline');
    mail_replies();
}

# --- a representative's answer is the representative's, not the client's ------------------------------
{
    my $gil = new_client(first_name => 'Gil', last_name => 'Hale', visible_to => ['nt15a']);
    my $rep_email = unique_email('gil-rep');
    json_ok(staff(POST => "/clients/$gil->{id}/representatives",
                  json => { email => $rep_email, first_name => 'Tom', last_name => 'Brown' }),
            201, 'a representative for Gil');
    my $token = next_token($rep_email);
    my $seen = scalar mails_to($ADDR{nt15a});
    json_ok(rcpt(decline => { token => $token }), 200, 'Gil\'s representative declines');
    my @m = wait_mail_to($ADDR{nt15a}, $seen + 1, 40);
    my ($p, $text, $html) = notice_parts($m[-1] || {});
    like($text, qr/^- Gil H\.: representative Tom B\. declined the invitation \(/m,
         'the notice names the representative who declined') or diag $text;
    unlike($text, qr/Gil H\.: invitation declined/, 'not as if Gil had declined');
    unlike($text . $html, qr/Hale|Brown|@/, 'still no last names, no addresses');
    like($text, qr/your notices on the Client Portal Manager's staff page are set to "At once"/,
         'the setting is named as the staff page shows it');
}

# --- daily: once a practice day from 07:00, only the caseload's ------------------------------
# a zone where it is midday now (Etc/GMT-N is UTC+N)
sub zone_at_hour {
    my ($hour) = @_;
    my $k = ($hour - (gmtime)[2]) % 24;
    $k -= 24 if $k > 14;
    return $k == 0 ? 'Etc/GMT' : $k > 0 ? "Etc/GMT-$k" : 'Etc/GMT+' . (-$k);
}
{
    staff_set('nt15a', notify => 'none');
    set_setting(time_zone => zone_at_hour(3));
    staff_set('nt15b', notify => 'daily', notices_after => $mark, digest_day => undef);
    sleep 3;
    is(scalar(mails_to($ADDR{nt15b})), 0, 'daily, before 07:00 practice time: no digest yet');
    is(staff_row('nt15b')->{digest_day}, undef, 'and the day is not marked');

    set_setting(time_zone => zone_at_hour(12));
    my @m = wait_mail_to($ADDR{nt15b}, 1, 20);
    is(scalar @m, 1, 'daily, after 07:00: nt15b gets the digest');
    my ($p, $text) = notice_parts($m[0] || {});
    like($p->{subject} // '', qr/^Client Portal Manager: your daily digest \(1 update\)$/,
         'digest subject: one update') or diag $p->{subject};
    like($text, qr/^- Dan O\.: invitation accepted/m, 'Dan O.: accepted');
    unlike($text, qr/Ana|Bea|Cy|Eve|Fay/, 'none of nt15a\'s clients');
    my $row = staff_row('nt15b');
    like($row->{digest_day} // '', qr/^\d{4}-\d\d-\d\d$/, "the practice day is marked ($row->{digest_day})");

    staff_set('nt15b', notices_after => $mark);          # the same events again, same day
    sleep 3;
    is(scalar(mails_to($ADDR{nt15b})), 1, 'one digest a day');

    staff_set('nt15b', notices_after => last_audit(), digest_day => undef);
    my $waited = 0;
    $waited += 0.2, Time::HiRes::sleep(0.2) while !defined staff_row('nt15b')->{digest_day} && $waited < 20;
    ok(defined staff_row('nt15b')->{digest_day}, 'nothing to say: the day is marked all the same');
    is(scalar(mails_to($ADDR{nt15b})), 1, 'and no email is sent');
}

# --- a new reader starts from now, not from the past -----------------------------------------
{
    my $had = scalar mails_to($ADDR{nt15a});
    staff_set('nt15a', notify => 'immediate', notices_after => undef);
    my $waited = 0;
    $waited += 0.2, Time::HiRes::sleep(0.2) while !defined staff_row('nt15a')->{notices_after} && $waited < 20;
    ok(staff_row('nt15a')->{notices_after} >= $mark, 'a new reader\'s mark starts at the trail\'s end');
    sleep 3;
    is(scalar(mails_to($ADDR{nt15a})), $had, 'and gets no notice of what happened before');
}

# --- the failed email, retried by a champion, goes out after all: a word to whoever heard ---------
{
    my $had = scalar mails_to($ADDR{nt15a});
    my $oid = $fail_row->{object_id};
    my $r = staff(POST => "/admin/outbox/$oid/retry");
    ok($r->code >= 200 && $r->code < 300, 'a champion retries Eve\'s failed email') or diag $r->content;
    my $delivered;
    for (1 .. 300) {
        ($delivered) = tdb()->selectrow_array(
            "SELECT detail FROM audit_log WHERE action = 'email.delivered' AND object_id = ?", undef, $oid);
        last if $delivered;
        Time::HiRes::sleep(0.1);
    }
    like($delivered // '', qr/"after_failure"\s*:\s*true/, 'its delivery writes an email.delivered audit row');
    unlike($delivered // '', qr/@/, 'no address in it');
    my @m = wait_mail_to($ADDR{nt15a}, $had + 1, 40);
    is(scalar @m, $had + 1, 'nt15a, who heard of the failure, hears of the delivery');
    my (undef, $text) = notice_parts($m[-1] || {});
    like($text, qr/^- Eve F\.: the invitation email that could not be delivered went out after all/m,
         'in words') or diag $text;
    is((tdb()->selectrow_array("SELECT count(*) FROM audit_log WHERE action = 'email.delivered' "
                               . "AND client_id = ?", undef, $ana->{id}))[0], 0,
       'an email delivered at the first try writes no such row');
}

# --- issue 11: staff the server has not seen within staff_notice_max_idle_days get none ---------
# (removed from the login source, Apache refuses them: the module never learns, except that it
# no longer serves them). One decline on nt15a's caseload per case.
my $DAY = 86400;
sub decline_for_nt15a {
    my ($first) = @_;
    my $token = invite_token(new_client(first_name => $first, last_name => 'Idle', visible_to => ['nt15a']));
    json_ok(rcpt(decline => { token => $token }), 200, "$first declines");
}
sub wait_row {
    my ($user, $col, $want) = @_;      # $want: a sub on the value
    my $waited = 0;
    $waited += 0.2, Time::HiRes::sleep(0.2) while !$want->(staff_row($user)->{$col}) && $waited < 20;
    return staff_row($user)->{$col};
}
{
    staff_set('nt15a', notify => 'immediate', notices_after => last_audit(),
              last_seen_at => time - 32 * $DAY);
    my $had = scalar mails_to($ADDR{nt15a});
    decline_for_nt15a('Ida');
    is(wait_row('nt15a', 'notices_after', sub { !defined $_[0] }), undef,
       'last seen 32 days ago (default limit 30, and the day a sighting may wait to be recorded): the worker drops the mark');
    sleep 3;
    is(scalar(mails_to($ADDR{nt15a})), $had, 'and sends no notice');

    staff_set('nt15a', last_seen_at => time - 29 * $DAY);    # seen again (29 days ago)
    ok(defined wait_row('nt15a', 'notices_after', sub { defined $_[0] }),
       'seen within the limit: notices start again');
    sleep 2;
    is(scalar(mails_to($ADDR{nt15a})), $had, 'from then on: nothing of what happened while idle');
    decline_for_nt15a('Jo');
    my @m = wait_mail_to($ADDR{nt15a}, $had + 1, 20);
    is(scalar @m, $had + 1, 'last seen 29 days ago: the notice is sent');
    my (undef, $text) = notice_parts($m[-1] || {});
    like($text, qr/^- Jo I\.: invitation declined by the recipient/m, 'Jo\'s decline');
    unlike($text, qr/Ida/, 'not Ida\'s, from while they were idle');

    # a limit of 1 day: someone who works every day is recorded once a day, so their
    # last_seen_at may be nearly a day old when the worker looks: not idle
    set_setting(staff_notice_max_idle_days => 1);
    staff_set('nt15a', last_seen_at => time - int(1.5 * $DAY));
    ok(defined wait_row('nt15a', 'notices_after', sub { defined $_[0] }),
       'limit 1 day, last recorded 36 hours ago (a daily user): still on');
    sleep 2;
    ok(defined staff_row('nt15a')->{notices_after}, '... the mark is kept');

    set_setting(staff_notice_max_idle_days => 7);
    staff_set('nt15a', last_seen_at => time - 9 * $DAY);
    $had = scalar mails_to($ADDR{nt15a});
    decline_for_nt15a('Kit');
    is(wait_row('nt15a', 'notices_after', sub { !defined $_[0] }), undef,
       'staff_notice_max_idle_days 7, last seen 9 days ago: idle');
    sleep 2;
    is(scalar(mails_to($ADDR{nt15a})), $had, 'no notice');

    set_setting(staff_notice_max_idle_days => 0);
    staff_set('nt15a', last_seen_at => time - 400 * $DAY);
    ok(defined wait_row('nt15a', 'notices_after', sub { defined $_[0] }),
       'staff_notice_max_idle_days 0: no limit, notices on');
    decline_for_nt15a('Lou');
    @m = wait_mail_to($ADDR{nt15a}, $had + 1, 20);
    is(scalar @m, $had + 1, 'last seen 400 days ago, no limit: the notice is sent');
    clear_setting('staff_notice_max_idle_days');

    # never seen (a row added after migration 030): counted from when it was added
    staff_set('nt15a', last_seen_at => undef, created_at => time - 2 * $DAY);
    decline_for_nt15a('Max');
    @m = wait_mail_to($ADDR{nt15a}, $had + 2, 20);
    is(scalar @m, $had + 2, 'never seen, added 2 days ago: the notice is sent');
    staff_set('nt15a', last_seen_at => undef, created_at => time - 40 * $DAY);
    decline_for_nt15a('Ned');
    is(wait_row('nt15a', 'notices_after', sub { !defined $_[0] }), undef,
       'never seen, added 40 days ago: idle');
    sleep 2;
    is(scalar(mails_to($ADDR{nt15a})), $had + 2, 'no notice');
    staff_set('nt15a', notify => 'none', last_seen_at => time);
}

# --- issue 11: last_seen_at is written when Apache authenticated a staff member, once a day -----
{
    my $user = 'clin1';
    my ($orig) = tdb()->selectrow_array('SELECT last_seen_at FROM staff WHERE username = ?', undef, $user);
    my $seen = sub { (tdb()->selectrow_array('SELECT last_seen_at FROM staff WHERE username = ?',
                                             undef, $_[0] // $user))[0] };
    my $set = sub { tdb()->do('UPDATE staff SET last_seen_at = ? WHERE username = ?', undef, $_[0], $user) };

    $set->(undef);
    my $t0 = time;
    json_ok(staff(GET => '/me', user => $user), 200, 'GET /me as clin1');
    my $v = $seen->();
    ok(defined $v && $v >= $t0 - 1 && $v <= time + 1, 'never seen: the request records now')
        or diag explain $v;

    my $hour_ago = time - 3600;
    $set->($hour_ago);
    json_ok(staff(GET => '/me', user => $user), 200, 'GET /me again');
    json_ok(staff(GET => '/clients', user => $user), 200, 'the client list');
    is($seen->(), $hour_ago, 'seen an hour ago: the requests write nothing');

    # no write at all, not even one that changes nothing: with the staff table held by
    # another writer, a request of a staff member seen today is answered at once
    my $lock = db();
    if (db_driver() eq 'sqlite3') { $lock->do('BEGIN IMMEDIATE') }
    else { $lock->begin_work; $lock->do('LOCK TABLE staff IN EXCLUSIVE MODE') }
    my $r = staff(GET => '/me', user => $user, timeout => 15);
    is($r->code, 200, 'GET /me while another writer holds the staff table');
    ok($r->{pm_elapsed} < 3, sprintf('answered without waiting for it (%.2f s)', $r->{pm_elapsed}));
    $lock->rollback;
    $lock->disconnect;

    my $yesterday = time - $DAY - 60;
    $set->($yesterday);
    $t0 = time;
    json_ok(staff(GET => '/me', user => $user), 200, 'GET /me a day later');
    $v = $seen->();
    ok(defined $v && $v >= $t0 - 1, 'seen more than a day ago: the request records now');

    my ($inactive_seen) = $seen->('inactive');
    tdb()->do("UPDATE staff SET last_seen_at = NULL WHERE username = 'inactive'");
    error_ok(staff(GET => '/me', user => 'inactive'), 403, 'not_staff', 'a disabled staff member: 403');
    is($seen->('inactive'), undef, 'and is not recorded as seen');
    tdb()->do("UPDATE staff SET last_seen_at = ? WHERE username = 'inactive'", undef, $inactive_seen);
    is(staff(GET => '/me', user => $user, password => 'wrong password')->code, 401,
       'a wrong password: 401');
    $set->($yesterday);                # old enough that a served request would record now
    staff(GET => '/me', user => $user, password => 'wrong password');
    is($seen->(), $yesterday, 'and Apache refused: nothing recorded');
    $set->($orig);
}

# --- an address the relay refuses for good (a deleted mailbox): the others' notices still go,
# and the refused one is tried again after a delay (not every pass), logged once ------------------
{
    my $log_file = PortalTest::Env::top_dir() . '/t/logs/error_log';
    my $log_at = -s $log_file;
    my $b_seen = scalar mails_to($ADDR{nt15b});
    mail_refuse($ADDR{nt15a});
    smtp_commands_clear();
    staff_set($_, notify => 'immediate', notices_after => last_audit(), last_seen_at => time) for @STAFF;
    my $hal = new_client(first_name => 'Hal', last_name => 'Gone', visible_to => ['nt15a']);
    my $ida = new_client(first_name => 'Ida', last_name => 'Here', visible_to => ['nt15b']);
    my $hal_token = invite_token($hal);
    my $before_decline = last_audit();
    json_ok(rcpt(decline => { token => $hal_token }), 200, 'Hal (nt15a\'s) declines');
    my ($decline_id) = tdb()->selectrow_array('SELECT min(id) FROM audit_log WHERE client_id = ? AND id > ?',
                                              undef, $hal->{id}, $before_decline);
    json_ok(rcpt(decline => { token => invite_token($ida) }), 200, 'Ida (nt15b\'s) declines');
    my @m = wait_mail_to($ADDR{nt15b}, $b_seen + 1, 20);
    is(scalar @m, $b_seen + 1, 'nt15b gets a notice although nt15a\'s address (served first) is refused');
    sleep 4;                       # four more sweeps
    my @tries = grep { $_->{cmd} eq 'RCPT' && lc($_->{arg} // '') eq lc $ADDR{nt15a} } smtp_commands();
    is(scalar @tries, 1, 'the refused address was tried once, not at every sweep');
    open my $fh, '<', $log_file or die "$log_file: $!";
    seek $fh, $log_at, 0;
    my @lines = grep { /PM00707/ } <$fh>;
    close $fh;
    is(scalar @lines, 1, 'logged once (PM00707)') or diag @lines;
    like($lines[0] // '', qr/staff notice for nt15a refused by the mail server: .*550.*tried again in 1 minute/,
         '... saying when it is tried again');
    unlike(join('', @lines), qr/nt15a\.notices/, '... without the address');
    ok(staff_row('nt15a')->{notices_after} < ($decline_id // 0), 'nt15a\'s mark stays before Hal\'s decline: the notice waits')
        or diag explain [staff_row('nt15a')->{notices_after}, $decline_id];
    mail_refuse();
    staff_set('nt15a', email => 'nt15a.fixed.t15n@example.test');
    my @fixed = wait_mail_to('nt15a.fixed.t15n@example.test', 1, 20);
    is(scalar @fixed, 1, 'a new address: the waiting notice goes at once');
    staff_set($_, notify => 'none', email => $ADDR{$_}) for @STAFF;
}

done_testing();
