# t/admin_overview.t — the champions' Overview screen API (issue 15): GET /admin/overview,
# the invitation funnel by month (invited, delivered, accepted, declined, expired, failed,
# bounced) and delivery health by day (sent, retried, failed, bounced), in months and days of the
# practice's time_zone, every month and day present (zeros where nothing happened); ?months
# and ?days bounded (400 invalid_parameter naming the field); audited as overview.view;
# clinicians get 403, no authentication 403, a wrong password 401.
#
# Runs on both databases. Other files' rows may be in the database, so the counts checked
# are what this file's rows add: the overview before and after they are written. Uses its
# own clients (ids 9781-9799) and test emails to *.t15ov@example.test, removed at the end;
# the time_zone setting it sets is removed too.
use strict;
use warnings;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use Test::More;
use List::Util qw(sum0);
use POSIX ();
use PortalTest;
use PortalTest::Admin;
use PortalTest::Clients;

# provoked on purpose: /noauth/api; the admin routes of the unprotected /portal-manager/api2
expect_log_ids(qw(PM00031 PM00101));

my @CLIENTS = (9781 .. 9799);
my $ADDR = "LIKE '%.t15ov\@example.test'";
my $ZONE = 'America/Chicago';
sub cleanup {
    db()->do("DELETE FROM outbox WHERE invitation_id IS NULL AND to_address $ADDR");
    my $resets = "SELECT id FROM invitations WHERE kind = 'reset' AND client_id BETWEEN $CLIENTS[0] AND $CLIENTS[-1]";
    db()->do("DELETE FROM outbox WHERE invitation_id IN ($resets)");
    db()->do("DELETE FROM invitations WHERE id IN (SELECT id FROM ($resets) r)");   # before their accounts
    cleanup_clients(@CLIENTS);
    db()->do("DELETE FROM settings WHERE name = 'time_zone'");
}
cleanup();
END { eval { cleanup(); 1 } or warn "cleanup: $@" }

# ---- the practice's calendar, as Perl's libc sees $ZONE ---------------------------------
sub in_zone {
    my ($zone, $code) = @_;
    my @r;
    {
        local $ENV{TZ} = $zone;
        POSIX::tzset();
        @r = $code->();
    }
    POSIX::tzset();
    return wantarray ? @r : $r[0];
}
# the second of local time y-m-d h:mi in $zone (m 1-based; d may run over, mktime normalises)
sub local_time {
    my ($zone, $y, $m, $d, $h, $mi) = @_;
    return in_zone($zone, sub { POSIX::mktime(0, $mi, $h, $d, $m - 1, $y - 1900, 0, 0, -1) });
}
sub local_day   { my ($zone, $t) = @_; in_zone($zone, sub { POSIX::strftime('%Y-%m-%d', localtime $t) }) }
sub local_month { substr(local_day(@_), 0, 7) }

my $now = time;
my ($Y, $M, $D) = split /-/, local_day($ZONE, $now);
# the month k months before this one, as [year, month]
sub month_back { my $i = $Y * 12 + $M - 1 - $_[0]; return (int($i / 12), $i % 12 + 1) }
# the day k days before today, at h:mi local
sub day_back { my ($k, $h, $mi) = @_; local_time($ZONE, $Y, $M, $D - $k, $h, $mi) }

# ---- rows ------------------------------------------------------------------------------
my $next_client = 9781;
my $seq = 0;
sub add_outbox {
    my (%o) = @_;
    my $mid = "t15ov-$$-" . ++$seq . '@example.test';
    db()->do('INSERT INTO outbox (invitation_id, purpose, to_address, message_id, status, attempts, '
           . 'next_attempt_at, lease_until, claim_token, last_error, created_at, sent_at, bounce_type) '
           . 'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)', undef,
             $o{inv}, $o{inv} ? 'invitation' : 'test_client',
             $o{inv} ? undef : "row$seq.t15ov\@example.test", $mid, $o{status} // 'queued',
             $o{attempts} // 0, $o{next} // $now + 30 * 86400, $o{lease}, $o{claim}, $o{error},
             $o{at}, $o{status} && $o{status} eq 'sent' ? $o{at} + 60 : undef, $o{bounce});
}
# an invitation made at $at, with status and expiry, and its emails (hashes for add_outbox)
sub add_invitation {
    my ($at, $status, %o) = @_;
    my $cid = $next_client++;
    add_client($cid, 'Ova', "Overview$cid", "c$cid.t15ov\@example.test", 'clin1');
    my $account;                              # a password reset names the account it resets
    if (($o{kind} // '') eq 'reset') {
        db()->do('INSERT INTO portal_accounts (username, password_hash, client_id, status, created_at) '
               . "VALUES (?, 'x', ?, 'active', ?)", undef, "u$cid-t15ov", $cid, $at);
        ($account) = db()->selectrow_array('SELECT id FROM portal_accounts WHERE client_id = ?', undef, $cid);
    }
    db()->do('INSERT INTO invitations (client_id, email, status, created_by, created_at, expires_at, kind, '
           . "account_id) VALUES (?, ?, ?, 'admin', ?, ?, ?, ?)", undef, $cid, "c$cid.t15ov\@example.test",
             $status, $at, $o{expires} // $now + 7 * 86400, $o{kind} // 'invite', $account);
    my ($id) = db()->selectrow_array('SELECT max(id) FROM invitations WHERE client_id = ?', undef, $cid);
    add_outbox(inv => $id, at => $at, %$_) for @{ $o{emails} || [] };
    return $id;
}

sub overview {
    my ($query, $name) = @_;
    my $d = json_ok(staff(GET => "/admin/overview$query"), 200, $name);
    return ref $d eq 'HASH' ? $d : {};
}
sub by_key {
    my ($list, $key) = @_;
    return { map { $_->{$key} => $_ } @{ $list || [] } };
}
# what the overview after has more than the one before, per month or day and column
sub deltas {
    my ($before, $after, $part, $key, @cols) = @_;
    my ($b, $a) = (by_key($before->{$part}, $key), by_key($after->{$part}, $key));
    my %d;
    for my $k (keys %$a) {
        $d{$k} = { map { $_ => ($a->{$k}{$_} // 0) - ($b->{$k} ? $b->{$k}{$_} // 0 : 0) } @cols };
    }
    return \%d;
}
my @FUNNEL = qw(invited delivered accepted declined expired failed bounced waiting locked ended);
my @DELIVERY = qw(sent retried failed bounced);
sub zeros { my @c = @_; return { map { $_ => 0 } @c } }

# =====================================================================================
# the time zone, and the shape: every month and day, in order, ending today
# =====================================================================================
json_ok(staff(PUT => '/admin/settings', json => { time_zone => $ZONE }), 200, "time_zone $ZONE");
my $QUERY = '?months=3&days=10';
my $before = overview($QUERY, 'overview before');
{
    is($before->{time_zone}, $ZONE, "time_zone: $ZONE");
    is_deeply([sort keys %$before], [qw(delivery funnel time_zone)], '{time_zone, funnel, delivery}');
    my @months = map { sprintf '%04d-%02d', month_back($_) } reverse 0 .. 2;
    is_deeply([map { $_->{month} } @{ $before->{funnel} || [] }], \@months,
              "funnel: 3 months in order, ending with this one (@months)");
    my @days = map { local_day($ZONE, day_back($_, 12, 0)) } reverse 0 .. 9;
    is_deeply([map { $_->{day} } @{ $before->{delivery} || [] }], \@days,
              "delivery: 10 days in order, ending today in $ZONE ($days[-1])");
    is_deeply([sort keys %{ $before->{funnel}[0] || {} }], [sort 'month', @FUNNEL], 'a month\'s counts');
    is_deeply([sort keys %{ $before->{delivery}[0] || {} }], [sort 'day', @DELIVERY], 'a day\'s counts');

    my $d = overview('', 'overview, defaults');
    is(scalar @{ $d->{funnel} || [] }, 12, 'default: 12 months');
    is(scalar @{ $d->{delivery} || [] }, 30, 'default: 30 days');
    $d = overview('?months=24&days=90', 'overview, the most');
    is_deeply([map { $_->{month} } @{ $d->{funnel} || [] }],
              [map { sprintf '%04d-%02d', month_back($_) } reverse 0 .. 23], '?months=24: 24 months in order, across years');
    is(scalar @{ $d->{delivery} || [] }, 90, '?days=90: 90 days');
    $d = overview('?months=1&days=1', 'overview, the least');
    is_deeply([map { $_->{month} } @{ $d->{funnel} || [] }], [sprintf '%04d-%02d', $Y, $M], '?months=1: this month');
    is_deeply([map { $_->{day} } @{ $d->{delivery} || [] }], [sprintf '%04d-%02d-%02d', $Y, $M, $D], '?days=1: today');
}

# =====================================================================================
# the funnel: invitations by the month they were made (local), and what became of them
# =====================================================================================
my ($y2, $m2) = month_back(2);
my ($y3, $m3) = month_back(3);
my $OLD = local_time($ZONE, $y2, $m2, 15, 12, 0);           # mid-month, two months ago
my $OLD_EVENING = local_time($ZONE, $y2, $m2 + 1, 0, 21, 0); # its last day, 21:00 local: UTC's next month
my $TOO_OLD = local_time($ZONE, $y3, $m3, 15, 12, 0);       # outside ?months=3
my $RECENT = $now - 120;                                     # this month (today)
# ... but never before today's local midnight: a run in the first two minutes of a day (or of
# a month) put it on yesterday, where the expectations below overwrote yesterday's counts
my $MIDNIGHT = local_time($ZONE, $Y, $M, $D, 0, 0);
$RECENT = $MIDNIGHT if $RECENT < $MIDNIGHT;
{
    my $sent = { status => 'sent', attempts => 1 };
    add_invitation($OLD, 'accepted', emails => [$sent]);
    add_invitation($OLD, 'declined', emails => [$sent]);
    add_invitation($OLD, 'pending', expires => $OLD + 7 * 86400, emails => [$sent]);       # expired
    add_invitation($OLD, 'pending', expires => $now + 86400,
                   emails => [{ status => 'failed', attempts => 1, error => '550 5.1.1 User unknown' }]);
    add_invitation($OLD, 'superseded', emails => [{ %$sent, bounce => 'hard' }]);        # bounced
    add_invitation($OLD, 'pending', expires => $now + 86400,                             # cancelled: no outcome
                   emails => [{ status => 'failed', error => 'not sent: cancelled by staff' }]);
    add_invitation($OLD, 'pending', expires => $now + 86400,                             # failed, then resent:
                   emails => [{ status => 'failed', attempts => 1, error => '550 no' },  # waiting, not failed
                              { status => 'queued' }]);
    add_invitation($OLD, 'accepted', emails => [{ status => 'failed', attempts => 1, error => '451 busy' },
                                                $sent]);                                 # failed once, then sent
    add_invitation($OLD, 'pending', expires => $now + 86400, emails => [{ %$sent, bounce => 'soft' }]);
    add_invitation($OLD_EVENING, 'revoked', emails => [$sent]);
    add_invitation($OLD, 'locked', emails => [$sent]);                                 # 5 wrong dates
    add_invitation($OLD, 'accepted', kind => 'reset', emails => [$sent]);                # a password reset
    add_invitation($TOO_OLD, 'accepted', emails => [$sent]);
    add_invitation($RECENT, 'pending', expires => $now + 86400, emails => [{ status => 'queued' }]);
    add_invitation($RECENT, 'accepted', emails => [$sent]);
}

# =====================================================================================
# delivery: emails by the day they were queued (local), sent, retried, failed
# =====================================================================================
my $YESTERDAY = day_back(1, 12, 0);
my $LATE = day_back(4, 23, 30);              # 23:30 local: the next day in UTC
my $TOO_EARLY = day_back(10, 12, 0);         # outside ?days=10
{
    add_outbox(at => $YESTERDAY, status => 'sent', attempts => 1);
    add_outbox(at => $YESTERDAY, status => 'sent', attempts => 3);                        # retried
    add_outbox(at => $YESTERDAY, status => 'sent', attempts => 1, bounce => 'hard');      # bounced, not sent
    add_outbox(at => $YESTERDAY, status => 'sent', attempts => 1, bounce => 'soft');      # sent (a delay noted)
    add_outbox(at => $YESTERDAY, status => 'failed', attempts => 5, error => '421 try later'); # retried, failed
    add_outbox(at => $YESTERDAY, status => 'failed', error => 'not sent: cancelled by staff');
    add_outbox(at => day_back(3, 9, 0), attempts => 1, error => '451 busy');              # waiting to retry
    add_outbox(at => day_back(3, 9, 0), attempts => 1, lease => $now + 86400 * 30,        # first try going out
               claim => 't15ov-held');
    add_outbox(at => $LATE, status => 'sent', attempts => 1);
    add_outbox(at => $TOO_EARLY, status => 'sent', attempts => 1);
}

my $mark = audit_mark();
my $res = staff(GET => "/admin/overview$QUERY");
my $after = json_ok($res, 200, 'overview after') || {};
audit_row_ok([audit_since($mark)], $res, { action => 'overview.view', username => 'admin', result => 'ok',
                                           client_id => undef }, 'GET /admin/overview');
{
    my $d = deltas($before, $after, 'funnel', 'month', @FUNNEL);
    my ($old, $mid, $this) = map { sprintf '%04d-%02d', month_back($_) } 2, 1, 0;
    is_deeply($d->{$old}, { invited => 11, delivered => 7, accepted => 2, declined => 1, expired => 1,
                            failed => 1, bounced => 1, waiting => 4, locked => 1, ended => 2 },
              "funnel $old: exact counts") or diag explain $d;
    my $o = $d->{$old} || {};
    is($o->{invited}, (sum0 map { $o->{$_} // 0 } qw(waiting accepted declined expired locked ended)),
       "funnel $old: invited = waiting + accepted + declined + expired + locked + ended");
    is_deeply($d->{$mid}, zeros(@FUNNEL), "funnel $mid: nothing (zeros, not missing)");
    ok($after->{funnel} && (grep { $_->{month} eq $mid } @{ $after->{funnel} }), "funnel $mid is listed");
    is_deeply($d->{$this}, { %{ zeros(@FUNNEL) }, invited => 2, delivered => 1, accepted => 1, waiting => 1 },
              "funnel $this: exact counts") or diag explain $d;

    $d = deltas($before, $after, 'delivery', 'day', @DELIVERY);
    my %want = map { local_day($ZONE, day_back($_, 12, 0)) => zeros(@DELIVERY) } 0 .. 9;
    $want{ local_day($ZONE, $YESTERDAY) } = { sent => 3, retried => 2, failed => 1, bounced => 1 };
    $want{ local_day($ZONE, day_back(3, 9, 0)) } = { sent => 0, retried => 1, failed => 0, bounced => 0 };
    $want{ local_day($ZONE, $LATE) } = { sent => 1, retried => 0, failed => 0, bounced => 0 };
    $want{ local_day($ZONE, $RECENT) } = { sent => 1, retried => 0, failed => 0, bounced => 0 };  # the accepted one's email
    is_deeply($d, \%want, 'delivery: exact counts on each of the 10 days, zeros between')
        or diag explain $d;
    isnt(local_day($ZONE, $LATE), local_day('UTC', $LATE), '(the late email is on another day in UTC)');
}

# =====================================================================================
# the same rows in UTC: the evening and late rows move to UTC's month and day
# =====================================================================================
{
    json_ok(staff(PUT => '/admin/settings', json => { time_zone => 'UTC' }), 200, 'time_zone UTC');
    my $b = overview($QUERY, 'overview in UTC');
    is($b->{time_zone}, 'UTC', 'time_zone: UTC');
    my $m = by_key($b->{funnel}, 'month');
    my $evening_month = local_month('UTC', $OLD_EVENING);
    isnt($evening_month, local_month($ZONE, $OLD_EVENING), '(the evening invitation is in the next month in UTC)');
    ok(($m->{$evening_month}{invited} // 0) >= 1, "UTC: $evening_month counts the evening invitation");
    my $late_day = local_day('UTC', $LATE);
    my $day = by_key($b->{delivery}, 'day');
    ok(($day->{$late_day}{sent} // 0) >= 1, "UTC: $late_day counts the late email");
    json_ok(staff(PUT => '/admin/settings', json => { time_zone => undef }), 200, 'time_zone back to none');
}

# =====================================================================================
# bad parameters: 400 invalid_parameter naming the field, and no audit row
# =====================================================================================
{
    my $m = audit_mark();
    for my $case (['months=0', 'months'], ['months=25', 'months'], ['months=abc', 'months'],
                  ['months=', 'months'], ['months=-1', 'months'], ['months=1.5', 'months'],
                  ['months=0012', 'months'], ['days=0', 'days'], ['days=91', 'days'],
                  ['days=x', 'days'], ['months=3&days=1000', 'days']) {
        my ($q, $field) = @$case;
        my $d = error_ok(staff(GET => "/admin/overview?$q"), 400, 'invalid_parameter', "?$q");
        is($d && $d->{error} && $d->{error}{field}, $field, "?$q: the field is $field");
    }
    is(scalar(audit_since($m)), 0, 'refused requests write no audit row');
}

# =====================================================================================
# who may: champions only
# =====================================================================================
for my $user (qw(clin1 clin2)) {
    my $r = staff(GET => '/admin/overview', user => $user);
    is($r->code, 403, "$user: GET /admin/overview 403");
    unlike($r->content // '', qr/"funnel"|"delivery"/, "$user: no data");
}
{
    my $r = http_request(GET => '/noauth/api/admin/overview');
    error_ok($r, 403, 'not_authenticated', 'overview with no authentication configured');
    unlike($r->content // '', qr/"funnel"/, 'no-auth overview: no data');
    is(staff(GET => '/admin/overview', password => 'wrong')->code, 401, 'a wrong password: 401');
    error_ok(staff(GET => '/admin/overview', headers => { 'Sec-Fetch-Site' => 'cross-site' }), 403, 'csrf',
             'overview read from another site');
    json_ok(staff(GET => '/admin/overview?days=1', headers => { 'Sec-Fetch-Site' => 'none' }), 200,
            'overview opened from the address bar (Sec-Fetch-Site: none)');
}
{
    # a mount without an <Location …/admin> of its own (t/conf/extra.conf.in): refused to all
    local $PortalTest::STAFF_BASE = '/portal-manager/api2';
    for my $user (qw(admin clin1)) {
        my $r = staff(GET => '/admin/overview', user => $user);
        error_ok($r, 403, 'admin_not_configured', "$user: GET /admin/overview on the second mount");
        unlike($r->content // '', qr/"funnel"/, "$user: no data on the second mount");
    }
}

# =====================================================================================
# the page: served with the staff pages' CSP, nothing inline
# =====================================================================================
for my $path ('/portal-manager/overview.html', '/portal-manager/overview.js') {
    my $r = http_request(GET => $path, user => 'admin');
    is($r->code, 200, "GET $path: 200");
    is($r->header('Content-Security-Policy'), "default-src 'self'; frame-ancestors 'none'", "GET $path: CSP");
}
{
    my $html = http_request(GET => '/portal-manager/overview.html', user => 'admin')->content // '';
    unlike($html, qr/<script(?![^>]*\bsrc=)[^>]*>|<style|\sstyle=|\son[a-z]+=/i, 'overview.html: no inline script, style or handler');
    like($html, qr/<script type="module" src="overview.js"><\/script>/, 'overview.html loads overview.js');
}

done_testing();
