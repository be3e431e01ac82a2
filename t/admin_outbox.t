# t/admin_outbox.t — the champion's Outbox screen API (issue 15): GET /admin/outbox with the
# shown status (queued, sending, retrying, sent, failed, cancelled, read from the stored one;
# bounced: t/bounces.t),
# ?status= and ?client_id= filters, client names and keyset paging; POST
# /admin/outbox/{id}/retry and /cancel (each status, 409, 404, 403 for clinicians, CSRF,
# audited; a retried email is delivered by the woken worker).
#
# Runs on both databases. Uses its own clients (ids 9751-9752) and outbox rows addressed to
# *.t15o@example.test, removed at the end; queued rows are due far in the future so the
# worker leaves them alone until a retry makes them due.
use strict;
use warnings;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use Test::More;
use PortalTest;
use PortalTest::Admin;
use PortalTest::Clients;
use JSON::PP ();

my @CLIENTS = (9751, 9752);
my $ADDR = "LIKE '%.t15o\@example.test'";
sub cleanup {
    db()->do("DELETE FROM outbox WHERE invitation_id IS NULL AND to_address $ADDR");
    db()->do("DELETE FROM staff_clients WHERE username = 'champion5'");
    db()->do("DELETE FROM staff WHERE username = 'champion5'");
    cleanup_clients(@CLIENTS);
    mail_replies();
}
cleanup();
END { eval { cleanup(); 1 } or warn "cleanup: $@" }

my $now = time;
my $LATER = $now + 86400;
add_client(9751, 'Otto', 'Outbox', 'otto.t15o@example.test', 'clin1');
add_client(9752, 'Cara', 'Cancel', 'cara.t15o@example.test', 'clin2');
sub add_invitation {
    my ($cid, $email) = @_;
    my $dbh = db();
    $dbh->do('INSERT INTO invitations (client_id, email, status, created_by, created_at, expires_at) '
           . "VALUES (?, ?, 'pending', 'clin1', ?, ?)", undef, $cid, $email, $now, $now + 7 * 86400);
    my ($id) = $dbh->selectrow_array('SELECT max(id) FROM invitations WHERE client_id = ?', undef, $cid);
    return $id;
}
my $seq = 0;
sub add_row {
    my (%o) = @_;
    my $dbh = db();
    my $mid = "t15o-" . $$ . '-' . ++$seq . '@example.test';
    $dbh->do('INSERT INTO outbox (invitation_id, purpose, to_address, message_id, status, attempts, '
           . 'next_attempt_at, lease_until, claim_token, last_error, created_at, sent_at) '
           . 'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)', undef,
             $o{invitation_id}, $o{invitation_id} ? 'invitation' : 'test_client',
             $o{invitation_id} ? undef : ($o{to} // "row$seq.t15o\@example.test"), $mid,
             $o{status} // 'queued', $o{attempts} // 0, $o{next} // $LATER, $o{lease}, $o{claim},
             $o{error}, $now, $o{sent_at});
    my ($id) = $dbh->selectrow_array('SELECT id FROM outbox WHERE message_id = ?', undef, $mid);
    return $id;
}

my $inv1 = add_invitation(9751, 'otto.t15o@example.test');
my $inv2 = add_invitation(9752, 'cara.t15o@example.test');
my %row = (
    queued    => add_row(invitation_id => $inv1),
    retrying  => add_row(invitation_id => $inv2, attempts => 1, error => '451 4.3.0 Mailbox busy'),
    sending   => add_row(attempts => 1, lease => $now + 600, claim => 'held-by-t15o'),
    failed    => add_row(status => 'failed', attempts => 3, error => '550 5.1.1 User unknown',
                         to => 'failed.t15o@example.test'),
    cancelled => add_row(status => 'failed', error => 'not sent: cancelled by staff'),
    sent      => add_row(status => 'sent', attempts => 1, sent_at => $now),
    queued2   => add_row(),
    retrying2 => add_row(attempts => 2, error => '421 try later', to => 'retrying.t15o@example.test'),
    # held during an outage: never tried, but waiting on the mail server (monitoring's retrying)
    held      => add_row(error => 'Failed to connect to 127.0.0.1 port 8392', to => 'held.t15o@example.test'),
);
my %shown = (queued2 => 'queued', retrying2 => 'retrying', held => 'retrying');
sub shown { $shown{ $_[0] } // $_[0] }
sub db_row { db()->selectrow_hashref('SELECT * FROM outbox WHERE id = ?', undef, $_[0]) }

sub entries {
    my ($query, $name) = @_;
    my $d = json_ok(staff(GET => "/admin/outbox$query"), 200, $name) || {};
    return ($d, { map { $_->{id} => $_ } @{ $d->{entries} || [] } });
}

# =====================================================================================
# the list: shown statuses, names, filters
# =====================================================================================
{
    my ($d, $by) = entries('', 'outbox');
    is_deeply([sort keys %$d], [qw(counts counts_cap entries next_cursor)],
              'outbox: {counts, counts_cap, entries, next_cursor}');
    is($d->{counts_cap}, 100, 'counts_cap: 100');
    # the counts: what needs attention and the last 7 days' sends, as the database says
    my ($q, $f, $s7) = db()->selectrow_array(
        "SELECT (SELECT count(*) FROM outbox WHERE status = 'queued'), "
      . "(SELECT count(*) FROM outbox WHERE status = 'failed'), "
      . "(SELECT count(*) FROM outbox WHERE status = 'sent' AND sent_at >= ? "
      . "   AND (bounce_type IS NULL OR bounce_type <> 'hard'))", undef, time - 7 * 86400 + 5);
    # each count stops at counts_cap (a run of this file after the delivery tests has more)
    my $cap = $d->{counts_cap} // 0;
    ($q, $f, $s7) = map { $_ > $cap ? $cap : $_ } $q, $f, $s7;
    is_deeply($d->{counts}, { queued => $q, failed => $f, sent_last_7_days => $s7 },
              "counts: $q queued, $f failed, $s7 sent in the last 7 days");
    ok(exists $d->{counts}{queued} && !exists $d->{counts}{sent}, 'no count of every email ever sent');
    for my $k (sort keys %row) {
        is($by->{ $row{$k} } && $by->{ $row{$k} }{status}, shown($k), "row $k shown as " . shown($k));
    }
    my $e = $by->{ $row{queued} } || {};
    is_deeply([@$e{qw(client_id invitation_id client_first_name client_last_name purpose attempts)}],
              [9751, $inv1, 'Otto', 'Outbox', 'invitation', 0], 'queued invitation: client name, kind, attempts');
    $e = $by->{ $row{retrying} } || {};
    is($e->{last_error}, '451 4.3.0 Mailbox busy', 'retrying: the last server reply');
    ok(defined $e->{next_attempt_at} && $e->{next_attempt_at} =~ /^\d{4}-\d\d-\d\dT/, 'retrying: next try');
    $e = $by->{ $row{sending} } || {};
    ok(!defined $e->{client_id} && !defined $e->{client_first_name}, 'a test email: no client, no name');

    for my $status (qw(queued sending retrying sent failed cancelled)) {
        my (undef, $f) = entries("?status=$status", "?status=$status");
        my @wrong = grep { $_->{status} ne $status } values %$f;
        ok(!@wrong, "?status=$status: only $status rows") or diag explain \@wrong;
        my @want = grep { shown($_) eq $status } keys %row;
        ok(!(grep { !$f->{ $row{$_} } } @want), "?status=$status: has every $status row of the test");
    }
    error_ok(staff(GET => '/admin/outbox?status=delivered'), 400, 'invalid_parameter', '?status=delivered');
    error_ok(staff(GET => '/admin/outbox?status='), 400, 'invalid_parameter', '?status= (empty)');
    my (undef, $c) = entries('?client_id=9751', '?client_id=9751');
    is_deeply([sort keys %$c], [$row{queued}], '?client_id=9751: only that client\'s email');
    (undef, $c) = entries('?client_id=9752&status=retrying', '?client_id=9752&status=retrying');
    is_deeply([sort keys %$c], [$row{retrying}], 'client and status together');
    (undef, $c) = entries('?client_id=9752&status=queued', '?client_id=9752&status=queued');
    is_deeply([keys %$c], [], 'client and another status: nothing');
    error_ok(staff(GET => '/admin/outbox?client_id=abc'), 400, 'invalid_parameter', '?client_id=abc');
    error_ok(staff(GET => '/admin/outbox?cursor=nonsense'), 400, 'invalid_cursor', '?cursor=nonsense');
}

# =====================================================================================
# who sees what (issue 15): every page is an outbox.view audit row with its filters; a
# champion who does not see all clients (champion5: client 9751 only) sees its clients'
# emails and the test emails, nothing of another client's, not even that it exists
# =====================================================================================
sub outbox_views {
    my ($mark) = @_;
    return grep { $_->{action} eq 'outbox.view' } audit_since($mark);
}
sub detail_of { my $d = eval { JSON::PP::decode_json($_[0]{detail} // 'null') }; $d }
{
    my $dbh = db();
    $dbh->do("INSERT INTO staff (username, display_name, all_clients, active) VALUES ('champion5', 'Cy Caseload', 0, 1)");
    $dbh->do("INSERT INTO staff_clients (username, client_id) VALUES ('champion5', 9751)");

    # the audit row of every page: the filters and the rows shown, never an address
    my $mark = audit_mark();
    my $res = staff(GET => '/admin/outbox?limit=5');
    my $d = json_ok($res, 200, 'admin: a page of 5') || {};
    my @a = outbox_views($mark);
    audit_row_ok(\@a, $res, { action => 'outbox.view', username => 'admin', client_id => undef,
                             object_id => undef, result => 'ok' }, 'a page of the outbox');
    is_deeply(detail_of($a[0] || {}), { rows => scalar(@{ $d->{entries} || [] }), status => undef, client_id => undef },
              'outbox.view detail: {rows, status, client_id}');
    unlike($a[0] ? $a[0]{detail} // '' : '', qr/@/, 'outbox.view detail: no address');
    $mark = audit_mark();
    $res = staff(GET => '/admin/outbox?client_id=9751&status=queued');
    json_ok($res, 200, 'admin: ?client_id=9751&status=queued');
    @a = outbox_views($mark);
    audit_row_ok(\@a, $res, { action => 'outbox.view', username => 'admin', client_id => 9751,
                             result => 'ok' }, 'a page of one client\'s emails');
    is_deeply(detail_of($a[0] || {}), { rows => 1, status => 'queued', client_id => 9751 },
              'its detail: one row, the filters');

    # champion5: its client's emails and the test emails, through every page statement
    error_ok(staff(GET => '/clients/9752', user => 'champion5'), 404, 'not_found',
             'champion5 may not view client 9752');
    for my $q ('', '?status=retrying', '?status=queued', '?status=failed', '?status=sending') {
        my $p = json_ok(staff(GET => "/admin/outbox$q", user => 'champion5'), 200, "champion5: outbox$q") || {};
        my @foreign = grep { defined $_->{client_id} && $_->{client_id} != 9751 } @{ $p->{entries} || [] };
        ok(!@foreign, "champion5 outbox$q: no email of a client it may not view")
            or diag explain [map { $_->{id} } @foreign];
        my %ids = map { $_->{id} => 1 } @{ $p->{entries} || [] };
        ok(!$ids{ $row{retrying} }, "champion5 outbox$q: not client 9752's email");
        my @want = grep { $_ ne 'retrying' && ($q eq '' || "?status=" . shown($_) eq $q) } keys %row;
        ok(!(grep { !$ids{ $row{$_} } } @want), "champion5 outbox$q: its client's and the test emails ("
           . scalar(@want) . ')') or diag explain [grep { !$ids{ $row{$_} } } @want];
    }
    my $own = json_ok(staff(GET => '/admin/outbox?client_id=9751', user => 'champion5'), 200,
                      'champion5: ?client_id=9751') || {};
    is_deeply([map { $_->{id} } @{ $own->{entries} || [] }], [0 + $row{queued}], 'its own client\'s email');

    # a client it may not view answers like no client at all, and is audited
    $mark = audit_mark();
    $res = staff(GET => '/admin/outbox?client_id=9752', user => 'champion5');
    my $hidden = json_ok($res, 200, 'champion5: ?client_id=9752 (hidden)') || {};
    my $none = json_ok(staff(GET => '/admin/outbox?client_id=987654', user => 'champion5'), 200,
                       'champion5: ?client_id=987654 (no such client)') || {};
    is_deeply([@$hidden{qw(entries next_cursor)}], [[], undef], 'the hidden client: an empty page');
    is_deeply([@$hidden{qw(entries next_cursor)}], [@$none{qw(entries next_cursor)}],
              'the same answer as for no such client');
    unlike($res->content, qr/Cara|cara\.t15o/, 'not a word of the hidden client');
    @a = outbox_views($mark);
    audit_row_ok([$a[0] || ()], $res, { action => 'outbox.view', username => 'champion5',
                                         client_id => 9752, result => 'ok' }, 'asking about the hidden client');
    is_deeply(detail_of($a[0] || {}), { rows => 0, status => undef, client_id => 9752 }, 'its detail: 0 rows');

    # retry and cancel of a hidden client's email: the 404 of a missing one, nothing changed
    my $before = db_row($row{retrying});
    for my $action (qw(retry cancel)) {
        my $e = error_ok(staff(POST => "/admin/outbox/$row{retrying}/$action", user => 'champion5', json => {}),
                         404, 'not_found', "champion5: $action client 9752's email: 404") || {};
        my $m = error_ok(staff(POST => "/admin/outbox/987654321/$action", user => 'champion5', json => {}),
                         404, 'not_found', "champion5: $action an unknown id: 404") || {};
        delete $_->{request_id} for $e, $m;
        is_deeply($e, $m, "$action: the same answer as for no such email");
    }
    is_deeply(db_row($row{retrying}), $before, 'the hidden email is unchanged');

    # ?id=: one row, the settings screen following its test email; unaudited only
    # when the page shows no client's email
    $mark = audit_mark();
    my $one = json_ok(staff(GET => "/admin/outbox?id=$row{sending}"), 200, '?id= of a test email') || {};
    is_deeply([map { $_->{id} } @{ $one->{entries} || [] }], [0 + $row{sending}], '?id=: that row alone');
    is($one->{entries}[0]{status}, 'sending', '?id=: its shown status');
    is(scalar(outbox_views($mark)), 0, '?id= of a test email: no audit row (no client\'s data read)');
    $res = staff(GET => "/admin/outbox?id=$row{queued}", user => 'champion5');
    $one = json_ok($res, 200, '?id= of its client\'s email') || {};
    is_deeply([map { $_->{id} } @{ $one->{entries} || [] }], [0 + $row{queued}], '?id=: the client\'s row');
    @a = outbox_views($mark);
    audit_row_ok(\@a, $res, { action => 'outbox.view', username => 'champion5', client_id => 9751,
                             object_id => $row{queued} }, '?id= of a client\'s email: audited, in that client\'s trail');
    is_deeply(detail_of($a[0] || {}), { rows => 1, status => undef, client_id => undef, id => 0 + $row{queued} },
              'its detail names the row');
    $one = json_ok(staff(GET => "/admin/outbox?id=$row{retrying}", user => 'champion5'), 200,
                   '?id= of the hidden client\'s email') || {};
    is_deeply($one->{entries}, [], '?id= of a hidden email: empty');
    $one = json_ok(staff(GET => "/admin/outbox?id=$row{queued}&status=sent"), 200, '?id= and another status') || {};
    is_deeply($one->{entries}, [], '?id= with a status it does not have: empty');
    error_ok(staff(GET => '/admin/outbox?id=x'), 400, 'invalid_parameter', '?id=x');
    error_ok(staff(GET => '/admin/outbox?id=0'), 400, 'invalid_parameter', '?id=0');

    # with all_clients, the same champion sees every client's emails
    $dbh->do("UPDATE staff SET all_clients = 1 WHERE username = 'champion5'");
    my $all = json_ok(staff(GET => '/admin/outbox', user => 'champion5'), 200, 'champion5, all clients') || {};
    my %ids = map { $_->{id} => 1 } @{ $all->{entries} || [] };
    ok(!(grep { !$ids{$_} } values %row), 'an all_clients champion sees every row, client 9752\'s too');
    $dbh->do("DELETE FROM staff_clients WHERE username = 'champion5'");
    $dbh->do("DELETE FROM staff WHERE username = 'champion5'");
}

# =====================================================================================
# paging: 130 more rows, walked with the cursor, every row once, newest first
# =====================================================================================
{
    add_row(status => 'sent', attempts => 1, sent_at => $now) for 1 .. 130;
    my $all = db()->selectcol_arrayref('SELECT id FROM outbox ORDER BY id DESC');
    my (@seen, $cursor, $pages);
    do {
        my $q = defined $cursor ? '?cursor=' . $cursor : '';
        my $d = json_ok(staff(GET => "/admin/outbox$q"), 200, 'page ' . ($pages // 0)) || {};
        ok(@{ $d->{entries} || [] } <= 100, 'a page has at most 100 entries');
        push @seen, map { $_->{id} } @{ $d->{entries} || [] };
        $cursor = $d->{next_cursor};
        $pages++;
    } while (defined $cursor && $pages < 50);
    is_deeply(\@seen, [map { 0 + $_ } @$all], 'paging walks every row once, newest first');
    ok($pages >= 2, "more than one page ($pages)");
    # limit: smaller pages, the same rows in the same order
    my (@small, $c2, $n2);
    do {
        my $q = '?limit=40' . (defined $c2 ? '&cursor=' . $c2 : '');
        my $d = json_ok(staff(GET => "/admin/outbox$q"), 200, 'limit=40 page ' . ($n2 // 0)) || {};
        ok(@{ $d->{entries} || [] } <= 40, 'a limit=40 page has at most 40 entries');
        push @small, map { $_->{id} } @{ $d->{entries} || [] };
        $c2 = $d->{next_cursor};
        $n2++;
    } while (defined $c2 && $n2 < 50);
    is_deeply(\@small, \@seen, 'limit=40: the same rows, newest first');
    # the counts stop at counts_cap: 110 more failed rows are counted as 100 (and shown "100+")
    {
        my $dbh = db();
        $dbh->begin_work;
        my $ins = $dbh->prepare('INSERT INTO outbox (purpose, to_address, message_id, status, attempts, '
                              . 'next_attempt_at, created_at) VALUES (?, ?, ?, ?, 1, ?, ?)');
        $ins->execute('test_client', "cap$_.t15o\@example.test", "t15o-cap-$$-$_\@example.test", 'failed', $LATER, $now)
            for 1 .. 110;
        $dbh->commit;
        my ($failed) = $dbh->selectrow_array("SELECT count(*) FROM outbox WHERE status = 'failed'");
        ok($failed > 100, "more than 100 failed rows ($failed)");
        my $d = json_ok(staff(GET => '/admin/outbox?status=failed&limit=1'), 200, 'outbox with 100+ failed') || {};
        is(($d->{counts} || {})->{failed}, 100, 'counts.failed stops at the cap');
        is($d->{counts_cap}, 100, 'and counts_cap says where');
        my $want = $dbh->selectcol_arrayref("SELECT id FROM outbox WHERE status = 'failed' AND "
            . "(last_error IS NULL OR substr(last_error, 1, 9) <> 'not sent:') "
            . "AND (bounce_type IS NULL OR bounce_type <> 'hard') ORDER BY id DESC");
        my (@got, $cursor, $pages);
        do {                              # down the not-sent emails' index, 7 a page
            my $p = json_ok(staff(GET => '/admin/outbox?status=failed&limit=7'
                                  . ($cursor ? "&cursor=$cursor" : '')), 200, 'failed, a page') || {};
            push @got, map { $_->{id} } @{ $p->{entries} || [] };
            $cursor = $p->{next_cursor};
        } while ($cursor && ++$pages < 100);
        is_deeply(\@got, [map { 0 + $_ } @$want], '?status=failed, 7 a page to the end: every failed '
                  . 'email, newest first, each once (' . scalar(@$want) . ')');
        $dbh->do("DELETE FROM outbox WHERE message_id LIKE 't15o-cap-%'");
        $d = json_ok(staff(GET => '/admin/outbox?limit=1'), 200, 'outbox after') || {};
        is(($d->{counts} || {})->{failed}, $failed - 110, 'below the cap: the exact count again');
    }
    ok($n2 >= 4, "limit=40: more pages ($n2) than at 100 ($pages)");
    for my $bad ('0', '101', 'x', '') {
        error_ok(staff(GET => "/admin/outbox?limit=$bad"), 400, 'invalid_parameter', "?limit=$bad");
    }
    # a hard bounce is shown bounced, not sent (t/bounces.t leaves some)
    my $sent = db()->selectcol_arrayref("SELECT id FROM outbox WHERE status = 'sent' "
                                      . "AND (bounce_type IS NULL OR bounce_type <> 'hard') ORDER BY id DESC");
    my $d = json_ok(staff(GET => '/admin/outbox?status=sent'), 200, 'sent, first page') || {};
    my $d2 = $d->{next_cursor}
        ? json_ok(staff(GET => "/admin/outbox?status=sent&cursor=$d->{next_cursor}"), 200, 'sent, page 2') : {};
    is_deeply([map { $_->{id} } @{ $d->{entries} || [] }, @{ $d2->{entries} || [] }],
              [map { 0 + $_ } @$sent[0 .. ($#$sent < 199 ? $#$sent : 199)]], 'filtered paging keeps the filter');
}

# =====================================================================================
# who may: clinicians 403, CSRF, unknown ids
# =====================================================================================
{
    my $before = db_row($row{queued});
    for my $user (qw(clin1 clin2)) {
        is(staff(GET => '/admin/outbox', user => $user)->code, 403, "$user: GET /admin/outbox 403");
        for my $action (qw(retry cancel)) {
            my $res = staff(POST => "/admin/outbox/$row{queued}/$action", user => $user, json => {});
            is($res->code, 403, "$user: POST $action 403");
            unlike($res->content // '', qr/"status"\s*:\s*"cancelled"/, "$user: POST $action: no data");
        }
    }
    error_ok(staff(POST => "/admin/outbox/$row{queued}/cancel", json => {}, csrf => 0), 403, 'csrf',
             'cancel without X-Requested-With');
    error_ok(staff(POST => "/admin/outbox/$row{failed}/retry", json => {},
                   headers => { 'Sec-Fetch-Site' => 'cross-site' }), 403, 'csrf', 'retry from another site');
    is_deeply(db_row($row{queued}), $before, 'refused requests changed nothing');
    is(db_row($row{failed})->{status}, 'failed', 'the refused retry changed nothing');
    for my $action (qw(retry cancel)) {
        error_ok(staff(POST => "/admin/outbox/987654321/$action", json => {}), 404, 'not_found',
                 "$action an unknown id: 404");
    }
}

# =====================================================================================
# cancel: queued and retrying only
# =====================================================================================
{
    my $mark = audit_mark();
    my $res = staff(POST => "/admin/outbox/$row{queued}/cancel", json => {});
    my $d = json_ok($res, 200, 'cancel a queued email') || {};
    is($d->{status}, 'cancelled', 'cancel: answers the row, cancelled');
    my $r = db_row($row{queued});
    is_deeply([@$r{qw(status last_error)}], ['failed', 'not sent: cancelled by staff'],
              'cancel: stored as failed, not sent');
    my @a = audit_since($mark);
    audit_row_ok(\@a, $res, { action => 'outbox.cancel', username => 'admin', client_id => 9751,
                             object_id => $row{queued}, result => 'ok' }, 'cancel');
    like($a[-1]{detail} // '', qr/"from":"queued"/, 'cancel: the audit row says what it was (queued)');
    my $view = json_ok(staff(GET => '/clients/9751'), 200, 'the client\'s view') || {};
    is($view->{portal_status}, 'email_cancelled',
       'the client\'s status: its invitation email cancelled, not "could not be delivered"');
    is($view->{invitations}[0]{delivery}, 'cancelled', 'and the invitation\'s delivery says cancelled');
    json_ok(staff(POST => "/admin/outbox/$row{retrying}/cancel", json => {}), 200, 'cancel a retrying email');
    is(db_row($row{retrying})->{status}, 'failed', 'the retrying email is cancelled');

    $mark = audit_mark();
    for my $k (qw(queued sending failed cancelled sent)) {
        my $before = db_row($row{$k});
        my $e = error_ok(staff(POST => "/admin/outbox/$row{$k}/cancel", json => {}), 409, 'outbox_status',
                         "cancel a " . ($k eq 'queued' ? 'cancelled (was queued)' : $k) . " email: 409");
        is_deeply(db_row($row{$k}), $before, "cancel $k refused: nothing changed");
    }
    is(scalar(audit_since($mark)), 0, 'refused cancels write no audit row');
}

# =====================================================================================
# retry: retrying and failed only; the woken worker delivers them
# =====================================================================================
{
    mail_clear();
    my $mark = audit_mark();
    my $res = staff(POST => "/admin/outbox/$row{failed}/retry", json => {});
    my $d = json_ok($res, 200, 'retry a failed email') || {};
    ok($d->{status} =~ /^(queued|retrying|sending|sent)$/, "retry: the row is waiting again ($d->{status})");
    my @a = audit_since($mark);
    audit_row_ok(\@a, $res, { action => 'outbox.retry', username => 'admin', client_id => undef,
                             object_id => $row{failed}, result => 'ok' }, 'retry');
    like($a[-1]{detail} // '', qr/"from":"failed"/, 'retry: the audit row says what it was (failed)');
    my $r = wait_outbox($row{failed}, sub { $_[0]{status} eq 'sent' }, 15);
    is($r && $r->{status}, 'sent', 'retry: the worker sent the failed email');
    ok(scalar(wait_mail_to('failed.t15o@example.test', 5)), 'retry: the email arrived');

    json_ok(staff(POST => "/admin/outbox/$row{held}/retry", json => {}), 200,
            'retry an email held by an outage (never tried, an error): allowed');
    $r = wait_outbox($row{held}, sub { $_[0]{status} eq 'sent' }, 15);
    is($r && $r->{status}, 'sent', 'and sent');
    json_ok(staff(POST => "/admin/outbox/$row{retrying2}/retry", json => {}), 200, 'retry a retrying email');
    $r = wait_outbox($row{retrying2}, sub { $_[0]{status} eq 'sent' }, 15);
    is($r && $r->{status}, 'sent', 'retry now: a retrying email is sent at once, not at its next try');

    $mark = audit_mark();
    for my $k (qw(queued2 sending cancelled sent)) {
        my $before = db_row($row{$k});
        error_ok(staff(POST => "/admin/outbox/$row{$k}/retry", json => {}), 409, 'outbox_status',
                 'retry a ' . shown($k) . ' email: 409');
        is_deeply(db_row($row{$k}), $before, "retry $k refused: nothing changed");
    }
    is(scalar(audit_since($mark)), 0, 'refused retries write no audit row');
}

# =====================================================================================
# one client's emails (GET /clients/{id}/emails): anyone who may view the client, the
# client's and its representatives' invitations, each with its kind and address
# =====================================================================================
{
    my $rep = json_ok(staff(POST => '/clients/9751/representatives', user => 'clin1',
                            json => { email => 'rita.t15o@example.test', first_name => 'Rita',
                                      last_name => 'Rep', relationship => 'parent' }), 201,
                      'a representative for client 9751') || {};
    my $want = db()->selectcol_arrayref(
        'SELECT o.id FROM outbox o JOIN invitations i ON i.id = o.invitation_id '
      . 'WHERE i.client_id = 9751 ORDER BY o.id DESC');
    ok(@$want >= 2, 'client 9751 has its own email and its representative\'s (' . scalar(@$want) . ')');
    my $mark = audit_mark();
    my $res = staff(GET => '/clients/9751/emails', user => 'clin1');
    my $d = json_ok($res, 200, 'clin1 reads client 9751\'s emails') || {};
    is_deeply([sort keys %$d], [qw(entries next_cursor)], 'emails: {entries, next_cursor}');
    is_deeply([map { $_->{id} } @{ $d->{entries} || [] }], [map { 0 + $_ } @$want],
              'every email of the client and its representatives, newest first, none of another client\'s');
    my %by = map { $_->{id} => $_ } @{ $d->{entries} || [] };
    my $own = $by{ $row{queued} } || {};
    is_deeply([@$own{qw(kind to client_id)}], ['client_invitation', 'otto.t15o@example.test', 9751],
              'the client\'s own invitation: kind, address, client');
    my ($rep_email) = grep { ($_->{kind} // '') eq 'representative_invitation' } @{ $d->{entries} || [] };
    is($rep_email && $rep_email->{to}, 'rita.t15o@example.test', 'the representative\'s invitation, to the representative');
    audit_row_ok([audit_since($mark)], $res, { action => 'client.emails_view', username => 'clin1',
                                               client_id => 9751, result => 'ok' }, 'reading them');
    error_ok(staff(GET => '/clients/9751/emails', user => 'clin2'), 404, 'not_found',
             'clin2 may not view client 9751: 404');
    $d = json_ok(staff(GET => '/clients/9752/emails'), 200, 'admin reads client 9752\'s emails') || {};
    is_deeply([map { $_->{id} } @{ $d->{entries} || [] }], [$row{retrying}], 'client 9752: its one email');
    error_ok(staff(GET => '/clients/9751/emails?cursor=nonsense', user => 'clin1'), 400, 'invalid_cursor',
             'emails ?cursor=nonsense');
    my $test_email = add_row(status => 'failed', error => 'not sent: cancelled by staff',
                             to => 'kind.t15o@example.test');
    my (undef, $all) = entries('', 'outbox, for the kinds');
    is(($all->{$test_email} || {})->{kind}, 'test', 'the outbox names a test email\'s kind');
    is(($all->{$test_email} || {})->{to}, 'kind.t15o@example.test', 'and its address');
}

done_testing();
