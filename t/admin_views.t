# t/admin_views.t — the champions' views (issue 7, docs/api.md): GET /admin/outbox (counts by
# status that match the database, the newest entries, ?status=, server replies of failed
# deliveries in last_error) and GET /admin/audit (filters client_id / username / action,
# keyset paging that walks every row once, ?format=csv that parses as RFC 4180 and matches
# the JSON). Non-champions get Apache's 403.
#
# Runs on both databases. Uses its own clients (ids 9711-9712, removed at the end); the
# audit rows it adds stay (the trail is append-only), the outbox rows it adds are removed.
use strict;
use warnings;
use utf8;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use Test::More;
use JSON::PP ();
use POSIX ();
use Time::HiRes ();
use Time::Local qw(timegm);
use URI::Escape qw(uri_escape_utf8);
use PortalTest;
use PortalTest::Admin;

# provoked on purpose: /noauth/api; deliveries refused (451 retried, 550 failed)
expect_log_ids(qw(PM00031 PM00052 PM00053));

binmode Test::More->builder->$_, ':encoding(UTF-8)' for qw(output failure_output todo_output);

my @CLIENTS = (9711, 9712);
my $T7_ADDR = "LIKE '%.t7v\@example.test'";
sub cleanup {
    db()->do("DELETE FROM outbox WHERE invitation_id IS NULL AND to_address $T7_ADDR");
    cleanup_clients(@CLIENTS);
    mail_replies();
}
cleanup();
END { eval { cleanup(); 1 } or warn "cleanup: $@" }

my $JSONC = JSON::PP->new->canonical;
sub rfc3339 { POSIX::strftime('%Y-%m-%dT%H:%M:%SZ', gmtime $_[0]) }
sub jbool_or_null { defined $_[0] ? $_[0] : undef }

# =====================================================================================
# only champions
# =====================================================================================
for my $path ('/admin/outbox', '/admin/outbox?status=failed', '/admin/audit', '/admin/audit?format=csv',
              '/admin/audit?client_id=1') {
    for my $user (qw(clin1 clin2)) {
        my $res = staff(GET => $path, user => $user);
        is($res->code, 403, "GET $path as $user: 403 (Require group portal-admins)");
        unlike($res->content // '', qr/"entries"|^(?:\xEF\xBB\xBF)?id,at,/, "GET $path as $user: no data");
    }
}
{
    my $res = http_request(GET => '/noauth/api/admin/audit?format=csv');
    error_ok($res, 403, 'not_authenticated', 'audit CSV with no authentication configured');
    unlike($res->content // '', qr/^(?:\xEF\xBB\xBF)?id,at,/m, 'no-auth audit CSV: no data');
    $res = staff(GET => '/admin/audit', user => 'admin', password => 'wrong');
    is($res->code, 401, 'audit with a wrong password: 401');
}

# =====================================================================================
# outbox
# =====================================================================================
# what needs attention (stored queued, failed) and the last 7 days' sends, each counted up
# to the API's counts_cap (100)
sub db_counts {
    my $rows = db()->selectall_arrayref(
        "SELECT status, count(*) FROM outbox WHERE status IN ('queued', 'failed') GROUP BY status");
    my %c = (queued => 0, failed => 0);
    $c{ $_->[0] } = 0 + $_->[1] for @$rows;
    ($c{sent_last_7_days}) = db()->selectrow_array(
        "SELECT count(*) FROM outbox WHERE status = 'sent' AND sent_at >= ? "
      . "AND (bounce_type IS NULL OR bounce_type <> 'hard')", undef, time - 7 * 86400 + 5);   # a hard bounce: not sent
    $c{sent_last_7_days} += 0;
    $_ = $_ > 100 ? 100 : $_ for values %c;
    return \%c;
}
# the status the view shows (issue 15), read from the stored one as the API does
sub shown_status {
    my $r = shift;
    return 'bounced' if ($r->{bounce_type} // '') eq 'hard';    # whatever was stored
    return $r->{status} if $r->{status} eq 'sent';
    if ($r->{status} eq 'failed') {
        return ($r->{last_error} // '') =~ /^not sent:/ ? 'cancelled' : 'failed';
    }
    return defined $r->{lease_until} ? 'sending' : $r->{attempts} > 0 ? 'retrying' : 'queued';
}
# the outbox rows as the view should show them, newest first
sub db_outbox {
    my ($status, $limit) = @_;
    my $sql = 'SELECT o.id, o.invitation_id, coalesce(i.client_id, o.client_id) AS client_id, '
            . 'c.first_name AS client_first_name, '
            . 'c.last_name AS client_last_name, o.purpose, o.status, o.attempts, o.last_error, '
            . 'o.created_at, o.next_attempt_at, o.sent_at, o.lease_until, o.bounce_type, '
            . 'o.bounce_reason, i.kind AS inv_kind, i.representative_id, '
            . 'coalesce(i.email, o.to_address) AS "to" FROM outbox o '
            . 'LEFT JOIN invitations i ON i.id = o.invitation_id '
            . 'LEFT JOIN clients c ON c.id = coalesce(i.client_id, o.client_id) ORDER BY o.id DESC';
    my $rows = db()->selectall_arrayref($sql, { Slice => {} });
    for my $r (@$rows) {
        $r->{$_} = defined $r->{$_} ? 0 + $r->{$_} : undef for qw(id invitation_id client_id attempts);
        $r->{status} = shown_status($r);
        delete $r->{lease_until};
        my ($type, $reason) = (delete $r->{bounce_type}, delete $r->{bounce_reason});
        $r->{bounce} = defined $type ? { type => $type, reason => $reason } : undef;
        my ($kind, $rep) = (delete $r->{inv_kind}, delete $r->{representative_id});
        # an address notice (migration 028) has its person's client, no invitation
        $r->{kind} = $r->{purpose} eq 'address_notice' ? 'address_notice'
                   : !defined $r->{invitation_id} ? 'test' : ($kind // '') eq 'reset' ? 'password_reset'
                   : defined $rep ? 'representative_invitation' : 'client_invitation';
        $r->{$_} = defined $r->{$_} ? rfc3339($r->{$_}) : undef for qw(created_at next_attempt_at sent_at);
    }
    @$rows = grep { $_->{status} eq $status } @$rows if $status;
    splice @$rows, $limit if defined $limit && @$rows > $limit;
    return $rows;
}
sub outbox_view_ok {
    my ($status, $name) = @_;
    my $res = staff(GET => '/admin/outbox' . ($status ? "?status=$status" : ''));
    my $d = json_ok($res, 200, $name);
    is_deeply([sort keys %{ $d || {} }], [qw(counts counts_cap entries next_cursor)],
              "$name: {counts, counts_cap, entries, next_cursor}");
    is_deeply($d->{counts}, db_counts(), "$name: counts match the database");
    my @keys = qw(attempts bounce client_first_name client_id client_last_name created_at id invitation_id
                  kind last_error next_attempt_at purpose sent_at status to);
    ok(!(grep { join(',', sort keys %$_) ne join(',', @keys) } @{ $d->{entries} || [] }),
       "$name: every entry has exactly the documented fields");
    is_deeply($d->{entries}, db_outbox($status, 100), "$name: entries = the newest 100 rows of the database");
    return $d;
}

{
    error_ok(staff(GET => '/admin/outbox?status=delivered'), 400, 'invalid_parameter', 'outbox ?status=delivered');
    error_ok(staff(GET => '/admin/outbox?status='), 400, 'invalid_parameter', 'outbox ?status= (empty)');
    outbox_view_ok(undef, 'outbox at the start');

    # a sent invitation (client and invitation ids), a failed one (550 at RCPT, with the reply)
    add_client(9711, 'Olive', 'Outbox', 'olive.outbox.t7v@example.test', 'clin1');
    add_client(9712, 'Bruno', 'Bounce', 'bruno.bounce.t7v@example.test', 'clin2');
    mail_clear();
    my $inv = json_ok(staff(POST => '/clients/9711/invitations', user => 'clin1', json => {}), 201, 'invite 9711');
    wait_mail_to('olive.outbox.t7v@example.test', 15);
    my ($ok_id) = db()->selectrow_array('SELECT id FROM outbox WHERE invitation_id = ?', undef, $inv->{id});
    my $row = wait_outbox($ok_id, sub { $_[0]{status} eq 'sent' }, 10);
    is($row && $row->{status}, 'sent', 'invitation to 9711: sent');

    mail_replies('RCPT 550 5.1.1 <bruno.bounce.t7v@example.test>: Recipient address rejected: User unknown');
    my $inv2 = json_ok(staff(POST => '/clients/9712/invitations', user => 'clin2', json => {}), 201, 'invite 9712');
    my ($bad_id) = db()->selectrow_array('SELECT id FROM outbox WHERE invitation_id = ?', undef, $inv2->{id});
    $row = wait_outbox($bad_id, sub { $_[0]{status} ne 'queued' }, 15);
    is($row && $row->{status}, 'failed', '550 at RCPT: failed at once (a permanent error)');
    is($row && $row->{attempts}, 1, '550 at RCPT: one attempt');
    my $d = outbox_view_ok(undef, 'outbox after a 550');
    my ($e) = grep { $_->{id} == $bad_id } @{ $d->{entries} || [] };
    ok($e, 'the failed delivery is in the view') or diag explain $d;
    is($e->{status}, 'failed', '550: status failed');
    is($e->{client_id}, 9712, '550: client_id');
    is($e->{invitation_id}, $inv2->{id}, '550: invitation_id');
    is($e->{purpose}, 'invitation', '550: purpose invitation');
    like($e->{last_error} // '', qr/550/, '550: last_error has the reply code');
    like($e->{last_error} // '', qr/Recipient address rejected: User unknown/, "550: last_error has the server's words");
    ok(!defined $e->{sent_at}, '550: no sent_at');
    ($e) = grep { $_->{id} == $ok_id } @{ $d->{entries} || [] };
    is_deeply([@{ $e || {} }{qw(status client_id invitation_id purpose attempts last_error)}],
              ['sent', 9711, $inv->{id}, 'invitation', 1, undef], 'the sent invitation in the view');
    my $f = outbox_view_ok('failed', 'outbox ?status=failed');
    ok(@{ $f->{entries} } && !(grep { $_->{status} ne 'failed' } @{ $f->{entries} }), '?status=failed: only failed rows');
    ok((grep { $_->{id} == $bad_id } @{ $f->{entries} }), '?status=failed: has the 550');
    my $s = outbox_view_ok('sent', 'outbox ?status=sent');
    ok(!(grep { $_->{status} ne 'sent' } @{ $s->{entries} }), '?status=sent: only sent rows');
    my $bo = outbox_view_ok('bounced', 'outbox ?status=bounced');
    ok(!(grep { $_->{status} ne 'bounced' } @{ $bo->{entries} }), '?status=bounced: only bounced rows');
    my $cv = json_ok(staff(GET => '/clients/9712', user => 'clin2'), 200, 'client 9712 view');
    my ($ci) = @{ $cv->{invitations} || [] };
    is($ci && $ci->{delivery}, 'failed', 'client view: delivery failed');
    my ($failed_entry) = grep { $_->{id} == $bad_id } @{ $d->{entries} || [] };
    is($ci && $ci->{delivery_error}, $failed_entry && $failed_entry->{last_error},
       'client view: the same delivery error as the outbox view');

    # a transient 451 at DATA: queued again with the reply, then failed after PortalOutboxMaxAttempts (3)
    mail_replies(('DATA 451 4.3.0 Mailbox busy, try again later') x 3);
    my $t = json_ok(staff(POST => '/admin/settings/test-email', json => { to => 'busy.t7v@example.test' }), 202,
                    'test-email into a busy server');
    my $tid = $t->{outbox_id};
    my ($seen, $deadline) = (undef, Time::HiRes::time() + 10);
    while (!$seen && Time::HiRes::time() < $deadline) {
        my $res = staff(GET => '/admin/outbox?status=retrying');   # queued again after a try
        my $qd = decode_json_body($res) || {};
        # attempts counts at claim time; the reply is recorded when the attempt has failed
        ($seen) = grep { $_->{id} == $tid && defined $_->{last_error} } @{ $qd->{entries} || [] };
        Time::HiRes::sleep(0.01) unless $seen;
    }
    ok($seen, '451: seen queued again, with an error, after a failed attempt');
    like($seen && $seen->{last_error} // '', qr/451.*Mailbox busy/, '451: the queued entry shows the server reply');
    ok($seen && $seen->{attempts} >= 1 && $seen->{next_attempt_at}, '451: attempts counted, a next attempt scheduled');
    $row = wait_outbox($tid, sub { $_[0]{status} eq 'failed' }, 20);
    is($row && $row->{status}, 'failed', '451 three times: failed');
    is($row && $row->{attempts}, 3, '451 three times: after PortalOutboxMaxAttempts = 3 attempts');
    $d = outbox_view_ok(undef, 'outbox after the retries');
    ($e) = grep { $_->{id} == $tid } @{ $d->{entries} || [] };
    is($e && $e->{purpose}, 'test_client', '451: purpose test_client');
    like($e && $e->{last_error} // '', qr/451 4\.3\.0 Mailbox busy/, '451: last_error has the last reply');
    ok($e && !defined $e->{invitation_id} && !defined $e->{client_id}, '451: a test email has no invitation or client');
    is(scalar(wait_mail_to('busy.t7v@example.test', 0.5)), 0, '451: nothing was delivered');
    mail_replies();

    # more than 100 rows: the newest 100, queued ones counted
    my $now = time;
    my $dbh = db();
    $dbh->begin_work;
    for my $i (1 .. 120) {
        $dbh->do("INSERT INTO outbox (purpose, to_address, message_id, status, attempts, next_attempt_at, created_at) "
               . "VALUES ('test_representative', ?, ?, 'queued', 0, ?, ?)", undef,
                 "later$i.t7v\@example.test", "<later$i.t7v\@example.test>", $now + 86400, $now);
    }
    $dbh->commit;
    $d = outbox_view_ok(undef, 'outbox with 120 more queued rows');
    is(scalar @{ $d->{entries} }, 100, 'outbox: at most 100 entries');
    is($d->{counts}{queued}, 100, 'outbox: 120+ queued rows counted up to counts_cap (100)');
    my @ids = map { $_->{id} } @{ $d->{entries} };
    is_deeply(\@ids, [sort { $b <=> $a } @ids], 'outbox: newest first');
    $d = outbox_view_ok('queued', 'outbox ?status=queued with 120 queued');
    is(scalar @{ $d->{entries} }, 100, '?status=queued: 100 entries');
    $d = outbox_view_ok('failed', 'outbox ?status=failed behind 120 newer queued rows');
    ok((grep { $_->{id} == $bad_id } @{ $d->{entries} }), '?status=failed still finds the 550 behind newer rows');
    db()->do("DELETE FROM outbox WHERE invitation_id IS NULL AND to_address $T7_ADDR");
    outbox_view_ok(undef, 'outbox after removing them');
}

# =====================================================================================
# audit: filters
# =====================================================================================
sub audit_json {
    my ($query, $name) = @_;
    my $res = staff(GET => "/admin/audit$query");
    return json_ok($res, 200, $name);
}
# every page of a query: the entries in order, the number of pages, and the page sizes
sub audit_walk {
    my ($query, $name) = @_;
    my (@all, @sizes, %seen_cursor);
    my $cursor;
    while (1) {
        my $q = $query . ($cursor ? ($query ? '&' : '?') . 'cursor=' . uri_escape_utf8($cursor) : '');
        my $res = staff(GET => "/admin/audit$q");
        my $d = decode_json_body($res);
        unless ($res->code == 200 && $d) {
            fail("$name: page " . (@sizes + 1) . ' answered ' . $res->status_line);
            last;
        }
        push @all, @{ $d->{entries} || [] };
        push @sizes, scalar @{ $d->{entries} || [] };
        $cursor = $d->{next_cursor};
        last unless defined $cursor;
        if ($seen_cursor{$cursor}++ || @sizes > 200) { fail("$name: the cursor repeats"); last }
    }
    return (\@all, \@sizes);
}
sub db_audit {
    my ($where, @bind) = @_;
    $where =~ s/\b(id|client_id|username|action)\b/a.$1/g;
    my $rows = db()->selectall_arrayref("SELECT a.*, c.first_name AS cf, c.last_name AS cl, s.display_name AS sn "
        . "FROM audit_log a LEFT JOIN clients c ON c.id = a.client_id LEFT JOIN staff s ON s.username = a.username "
        . "WHERE $where ORDER BY a.id DESC", { Slice => {} }, @bind);
    return [map { my $r = $_; +{
        id => 0 + $r->{id}, at => rfc3339($r->{at}), username => $r->{username},
        display_name => length($r->{sn} // '') ? $r->{sn} : undef, action => $r->{action},
        client_id => defined $r->{client_id} ? 0 + $r->{client_id} : undef,
        object_id => defined $r->{object_id} ? 0 + $r->{object_id} : undef,
        result => $r->{result},
        detail => defined $r->{detail} ? JSON::PP->new->allow_nonref->decode($r->{detail}) : undef,
        remote_ip => $r->{remote_ip}, request_id => $r->{request_id},
        client => defined $r->{cf} ? { first_name => $r->{cf}, last_name => $r->{cl} } : undef,
    } } @$rows];
}
sub ids { [map { $_->{id} } @{ $_[0] }] }

{
    # activity on our clients by different people
    json_ok(staff(GET => '/clients/9711', user => 'clin1'), 200, 'clin1 views 9711');
    my $r = staff(GET => '/clients/9711', user => 'clin2');
    is($r->code, 404, 'clin2 may not view 9711 (audited as denied)');
    json_ok(staff(GET => '/clients/9712', user => 'admin'), 200, 'admin views 9712');

    my $d = audit_json('?client_id=9711', 'audit ?client_id=9711');
    is_deeply($d->{entries}, db_audit('client_id = ?', 9711), '?client_id=9711: exactly the rows of that client, newest first');
    ok((grep { $_->{username} eq 'clin2' && $_->{result} eq 'denied' } @{ $d->{entries} }),
       '?client_id=9711: includes clin2\'s denied view');
    ok((grep { $_->{action} eq 'invitation.create' && $_->{username} eq 'clin1' } @{ $d->{entries} }),
       '?client_id=9711: includes the invitation');
    ok(!defined $d->{next_cursor}, '?client_id=9711: one page');

    $d = audit_json('?username=clin2', 'audit ?username=clin2');
    is_deeply($d->{entries}, db_audit('username = ?', 'clin2'), '?username=clin2: exactly clin2\'s rows');
    $d = audit_json('?action=invitation.create', 'audit ?action=invitation.create');
    is_deeply($d->{entries}, db_audit('action = ?', 'invitation.create'), '?action=invitation.create: exactly those rows');
    $d = audit_json('?client_id=9711&username=clin1&action=invitation.create', 'audit with three filters');
    is_deeply($d->{entries}, db_audit('client_id = ? AND username = ? AND action = ?', 9711, 'clin1', 'invitation.create'),
              'three filters: their intersection');
    is(scalar @{ $d->{entries} }, 1, 'three filters: the one invitation');
    $d = audit_json('?username=nobody-at-all', 'audit ?username=nobody-at-all');
    is_deeply($d, { entries => [], next_cursor => undef }, 'no match: no entries, next_cursor null');
    $d = audit_json('?client_id=9712&username=clin1', 'audit 9712 by clin1');
    is_deeply($d->{entries}, [], 'filters combine with AND');

    error_ok(staff(GET => '/admin/audit?client_id=abc'), 400, 'invalid_parameter', '?client_id=abc');
    error_ok(staff(GET => '/admin/audit?client_id=0'), 400, 'invalid_parameter', '?client_id=0');
    error_ok(staff(GET => '/admin/audit?client_id=1%20OR%201=1'), 400, 'invalid_parameter', '?client_id=1 OR 1=1');
    error_ok(staff(GET => '/admin/audit?format=xml'), 400, 'invalid_parameter', '?format=xml');
    error_ok(staff(GET => '/admin/audit?cursor=not-a-cursor'), 400, 'invalid_cursor', '?cursor=not-a-cursor');
    $d = audit_json("?username=" . uri_escape_utf8("x' OR '1'='1"), 'audit ?username with SQL metacharacters');
    is_deeply($d->{entries}, [], 'SQL metacharacters in username: just a name that matches nothing');
    # an empty answer is as quick as any other (PostgreSQL: APR's pgsql driver sleeps 100 ms on
    # an empty result when rows are read sequentially, as pm_store.c's select_once does)
    my @ms;
    for (1 .. 5) {
        my $res = staff(GET => '/admin/audit?username=nobody-at-all');
        push @ms, $res->{pm_elapsed} * 1000;
    }
    my ($fastest) = sort { $a <=> $b } @ms;
    cmp_ok($fastest, '<', 80, 'an audit query that matches nothing answers without a 100 ms stall')
        or diag sprintf 'took %s ms', join ', ', map { sprintf '%.0f', $_ } @ms;
    error_ok(staff(POST => '/admin/audit', json => {}), 405, 'method_not_allowed', 'POST /admin/audit');
    error_ok(staff(POST => '/admin/outbox', json => {}), 405, 'method_not_allowed', 'POST /admin/outbox');
}

# =====================================================================================
# audit: keyset paging over many rows, JSON fields, CSV
# =====================================================================================
my @DETAILS = (
    undef,
    '{"note":"comma, \"double quotes\" and a backslash \\\\"}',
    qq({"pretty":\n  "raw line breaks in the JSON text",\r\n "n": 2}),
    '{"text":"Zoë — ✓ 診療所","list":[1,2,3]}',
    '{"changed":["practice_name","logo"]}',
    '{"csv":"a,b\r\nc,d","lead":"=SUM(A1:A2)"}',
);
my @USERS = ('bulk.t7', 'weird, "user"', 'ünï t7', '=cmd|calc');
my $BULK = 1050;
{
    my $dbh = db();
    my $now = time;
    $dbh->begin_work;
    my $sth = $dbh->prepare('INSERT INTO audit_log (at, username, action, client_id, object_id, result, detail, '
                          . 'remote_ip, request_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)');
    for my $i (1 .. $BULK) {
        $sth->execute($now - ($BULK - $i), $USERS[$i % @USERS], 't7.bulk', ($i % 3 ? 9711 : undef),
                      ($i % 5 ? $i : undef), ($i % 7 ? 'ok' : 'denied'), $DETAILS[$i % @DETAILS],
                      ($i % 2 ? '203.0.113.7' : '::1'), sprintf('t7bulk%06d', $i));
    }
    $dbh->commit;

    # keyset paging over one action: every row once, newest first
    my ($all, $sizes) = audit_walk('?action=t7.bulk', 'walk ?action=t7.bulk');
    my $want = db_audit('action = ?', 't7.bulk');
    is(scalar @$all, $BULK, "walk ?action=t7.bulk: $BULK entries");
    is_deeply($sizes, [(100) x 10, 50], 'walk: ten pages of 100 and one of 50');
    my %n;
    $n{ $_->{id} }++ for @$all;
    ok(!(grep { $_ != 1 } values %n), 'walk: no row twice');
    is_deeply(ids($all), [sort { $b <=> $a } map { $_->{id} } @$all], 'walk: newest first across pages');
    is_deeply($all, $want, 'walk: every field of every row as stored');

    # with two filters: a smaller walk
    ($all, $sizes) = audit_walk('?action=t7.bulk&username=' . uri_escape_utf8('weird, "user"'), 'walk weird user');
    is_deeply($all, db_audit('action = ? AND username = ?', 't7.bulk', 'weird, "user"'),
              'walk with action and a username with a comma and quotes: exactly those rows');
    ($all, $sizes) = audit_walk('?action=t7.bulk&client_id=9711&username=' . uri_escape_utf8('ünï t7'), 'walk ünï');
    is_deeply($all, db_audit('action = ? AND client_id = ? AND username = ?', 't7.bulk', 9711, 'ünï t7'),
              'walk with three filters and a non-ASCII username: exactly those rows');
    cmp_ok(scalar @$all, '>', 100, 'that walk spans pages');

    # a cursor from one query, the same filters on the next page: nothing new slips in between
    my $first = audit_json('?action=t7.bulk', 'first page');
    $dbh->do("INSERT INTO audit_log (at, username, action, result) VALUES (?, 'bulk.t7', 't7.bulk', 'ok')", undef, time);
    my $second = audit_json('?action=t7.bulk&cursor=' . uri_escape_utf8($first->{next_cursor}), 'second page after an insert');
    is_deeply(ids($second->{entries}), [map { $_->{id} } @$want[100 .. 199]], 'second page: the next 100 rows');
    my $tampered = $first->{next_cursor};
    substr($tampered, 3, 1) = substr($tampered, 3, 1) eq 'A' ? 'B' : 'A';
    error_ok(staff(GET => '/admin/audit?cursor=' . uri_escape_utf8($tampered)), 400, 'invalid_cursor', 'a tampered cursor');

    # the whole trail: every row up to the first page's newest, once
    ($all, $sizes) = audit_walk('', 'walk everything');
    my $top = $all->[0]{id};
    my $everything = db_audit('id <= ?', $top);
    is_deeply(ids($all), ids($everything), 'walk everything: every row up to the first page once, in order');
    is_deeply($all, $everything, 'walk everything: every field as stored');
    ok($all->[0]{action} eq 'audit.view' && $all->[0]{username} eq 'admin', 'reading the trail is itself audited');

    # ---- CSV ----------------------------------------------------------------------------
    my $res = staff(GET => '/admin/audit?format=csv&action=t7.bulk');
    is($res->code, 200, 'CSV: 200');
    like($res->header('Content-Type') // '', qr{^text/csv;\s*charset=utf-8$}i, 'CSV: text/csv; charset=utf-8');
    like($res->header('Content-Disposition') // '', qr/^attachment;\s*filename="?[\w.-]+\.csv"?$/, 'CSV: a download');
    is($res->header('Cache-Control'), 'no-store', 'CSV: Cache-Control no-store');
    is($res->header('X-Content-Type-Options'), 'nosniff', 'CSV: nosniff');
    is($res->header('Referrer-Policy'), 'no-referrer', 'CSV: Referrer-Policy');
    is($res->header('Content-Security-Policy'), "default-src 'none'; frame-ancestors 'none'", 'CSV: Content-Security-Policy');
    my $body = $res->content;
    like($body, qr/\r\n\z/, 'CSV: ends with CRLF');
    is((split /\r\n/, $body, 2)[0], "\xEF\xBB\xBF" . 'id,at,username,action,client_id,object_id,result,detail,remote_ip,request_id,client_first_name,client_last_name,display_name,at_practice_time',
       'CSV: the header line');
    my $rows = eval { parse_csv($body) };
    ok($rows, 'CSV: parses as RFC 4180') or diag $@;
    $rows ||= [];
    my $header = shift @$rows;
    my @cols = @{ $header || [] };
    ok(!(grep { @$_ != 14 } @$rows), 'CSV: fourteen fields in every record');
    my ($walked) = audit_walk('?action=t7.bulk', 'JSON walk for the CSV');
    is_deeply($walked, db_audit('action = ?', 't7.bulk'), 'JSON walk for the CSV: as stored');
    is(scalar @$rows, scalar @$walked, 'CSV ?action=t7.bulk: as many records as the JSON (past the 1000-row page)');
    my $csv_as_json = [map { my %h; @h{@cols} = @$_; csv_entry(\%h) } @$rows];
    is_deeply(ids($csv_as_json), ids($walked), 'CSV: the same ids as the JSON, same order');
    is_deeply($csv_as_json, $walked, 'CSV: every field equals the JSON (detail decoded)');

    # unfiltered CSV against the JSON walk
    $res = staff(GET => '/admin/audit?format=csv');
    $rows = eval { parse_csv($res->content) } || [];
    shift @$rows;
    $csv_as_json = [map { my %h; @h{@cols} = @$_; csv_entry(\%h) } @$rows];
    my @upto = grep { $_->{id} <= $top } @$csv_as_json;
    is_deeply(ids(\@upto), ids($all), 'CSV (everything): the same ids as the JSON walk');
    is_deeply(\@upto, $all, 'CSV (everything): the same fields as the JSON walk');
    my @newer = grep { $_->{id} > $top } @$csv_as_json;
    ok((grep { $_->{action} eq 'audit.export' && $_->{username} eq 'admin' } @newer),
       'the CSV download is itself audited (audit.export)');

    # filters apply to the CSV too
    for my $q (['client_id=9711', 'client_id = ?', 9711], ['username=clin2', 'username = ?', 'clin2'],
               ['action=invitation.create', 'action = ?', 'invitation.create']) {
        my ($qs, $where, $bind) = @$q;
        $res = staff(GET => "/admin/audit?format=csv&$qs");
        $rows = eval { parse_csv($res->content) } || [];
        shift @$rows;
        my $got = [map { my %h; @h{@cols} = @$_; csv_entry(\%h) } @$rows];
        is_deeply($got, db_audit($where, $bind), "CSV ?$qs: exactly the filtered rows");
    }
    error_ok(staff(GET => '/admin/audit?format=csv&client_id=x'), 400, 'invalid_parameter', 'CSV with a bad client_id');
}

# =====================================================================================
# audit CSV: nothing a spreadsheet would run as a formula (CSV injection)
# =====================================================================================
{
    my $formula = $PortalTest::Env::FORMULA_USER;        # =cmd|' /C calc'!A0, a Basic auth user
    my $dbh = db();
    $dbh->do("INSERT INTO staff (username, display_name, all_clients, active) VALUES (?, '=HYPERLINK(\"http://evil.example/\",\"x\")', 1, 1)",
             undef, $formula) unless $dbh->selectrow_array('SELECT count(*) FROM staff WHERE username = ?', undef, $formula);
    my $me = json_ok(staff(GET => '/me', user => $formula), 200, 'the formula-named staff member signs in');
    is($me->{username}, $formula, '/me: the username as is');
    json_ok(staff(GET => '/clients/9711', user => $formula), 200, 'the formula-named staff member views 9711 (audited)');

    my $q = '?format=csv&username=' . uri_escape_utf8($formula);
    my $res = staff(GET => "/admin/audit$q");
    is($res->code, 200, 'CSV of the formula user\'s rows: 200');
    my @lines = grep { length } split /\r\n/, $res->content // '';
    shift @lines;
    ok(@lines >= 1, 'CSV: the client.view row is there');
    my $want = quotemeta("'$formula");
    ok(@lines && !(grep { !/^\d+,[^,]+,$want,client\.view,9711,/ } @lines),
       "CSV: the username cell is '$formula (a leading quote, as text)") or diag join "\n", @lines;
    my $rows = eval { parse_csv($res->content) } || [];
    shift @$rows;
    is_deeply([map { $_->[2] } @$rows], [("'$formula") x @lines], 'CSV parsed: the username starts with a quote');

    # the JSON view is not a spreadsheet: the name as stored
    my $d = json_ok(staff(GET => '/admin/audit?username=' . uri_escape_utf8($formula)), 200, 'JSON audit of the formula user');
    is($d->{entries}[0]{username}, $formula, 'JSON: the username unchanged');

    # every cell of the whole export is safe
    $res = staff(GET => '/admin/audit?format=csv');
    $rows = eval { parse_csv($res->content) } || [];
    my @unsafe = grep { /^[=+\-\@\t\r]/ } map { @$_ } @$rows;
    is(scalar @unsafe, 0, 'whole CSV export: no cell starts with = + - @ TAB or CR')
        or diag explain [@unsafe[0 .. ($#unsafe > 4 ? 4 : $#unsafe)]];
    ok((grep { $_ eq "'=cmd|calc" } map { @$_ } @$rows), "whole CSV export: the bulk '=cmd|calc' user neutralised");
    $dbh->do('DELETE FROM staff WHERE username = ?', undef, $formula);
}

# =====================================================================================
# the pages cannot be framed (clickjacking): CSP frame-ancestors 'none', X-Frame-Options DENY
# =====================================================================================
for my $page (['/portal-manager/', "default-src 'self'; frame-ancestors 'none'", 'admin'],
              ['/portal-manager/settings.html', "default-src 'self'; img-src 'self' blob:; frame-ancestors 'none'", 'admin'],
              ['/portal-manager/outbox.html', "default-src 'self'; frame-ancestors 'none'", 'admin'],
              ['/portal-manager/outbox.js', "default-src 'self'; frame-ancestors 'none'", 'admin'],
              ['/portal-manager/staff.js', "default-src 'self'; frame-ancestors 'none'", 'clin1'],
              ['/portal/invitation/', "default-src 'self'; frame-ancestors 'none'", undef]) {
    my ($path, $csp, $user) = @$page;
    my $res = http_request(GET => $path, (defined $user ? (user => $user) : ()));
    is($res->code, 200, "GET $path: 200");
    is($res->header('Content-Security-Policy'), $csp, "GET $path: CSP with frame-ancestors 'none'");
    is($res->header('X-Frame-Options'), 'DENY', "GET $path: X-Frame-Options DENY");
}

# a CSV record (hash by header) in the JSON entry's shape; a cell the export neutralised
# ('=..., '+..., '-..., '@..., '<TAB>..., '<CR>...) compares as the stored text
sub csv_entry {
    my $h = shift;
    my %e = %$h;
    s/^'(?=[=+\-\@\t\r])// for values %e;
    $e{$_} = length $e{$_} ? 0 + $e{$_} : undef for qw(id client_id object_id);
    $e{detail} = length $e{detail} ? eval { JSON::PP->new->allow_nonref->decode($e{detail}) } // "UNPARSABLE: $e{detail}" : undef;
    $e{$_} = length $e{$_} ? $e{$_} : undef for qw(remote_ip request_id display_name);
    my ($f, $l) = delete @e{qw(client_first_name client_last_name)};
    delete $e{at_practice_time};          # `at` on the practice's clock: t/admin_audit_csv_zone.t
    $e{client} = length($f // '') ? { first_name => $f, last_name => $l } : undef;
    return \%e;
}

cleanup();
done_testing();
