# t/admin_audit_screen.t — the audit trail screen's API (issue 15): GET /admin/audit filters
# by result and date range (from/to, YYYY-MM-DD, UTC days, to inclusive) beside client_id /
# username / action; every entry names its client (first, last) in JSON and CSV, and its
# staff member (display_name) in JSON; bad filter values are 400; CSV cells of clients named
# "=cmd" or "+1" are neutralised; clinicians get 403; GET /clients/{id}/audit is 404 for a
# client outside the caller's caseload; each look records its filters in its audit.view row.
#
# Runs on both databases. Uses its own clients (ids 9751-9752, removed at the end).
use strict;
use warnings;
use utf8;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use Test::More;
use POSIX ();
use PortalTest;
use PortalTest::Admin;
use JSON::PP ();

binmode Test::More->builder->$_, ':encoding(UTF-8)' for qw(output failure_output todo_output);

my @CLIENTS = (9751, 9752);
sub cleanup { cleanup_clients(@CLIENTS); db()->do("DELETE FROM settings WHERE name = 'time_zone'") }
cleanup();
END { eval { cleanup(); 1 } or warn "cleanup: $@" }

# the filter's days are the practice's (setting time_zone); most of this file counts UTC days
sub practice_zone {
    json_ok(staff(PUT => '/admin/settings', json => { time_zone => $_[0] }), 200, "time_zone $_[0]");
}
practice_zone('UTC');

add_client(9751, '=cmd', '+1', undef, 'clin1');
add_client(9752, 'Ann', 'Other', undef, 'clin2');

sub audit_json {
    my ($query, $name) = @_;
    return json_ok(staff(GET => "/admin/audit$query"), 200, $name) || {};
}
sub day { POSIX::strftime('%Y-%m-%d', gmtime($_[0])) }

# activity: clin1 views its client (ok), clin2 tries it (denied)
json_ok(staff(GET => '/clients/9751', user => 'clin1'), 200, 'clin1 views 9751');
is(staff(GET => '/clients/9751', user => 'clin2')->code, 404, 'clin2 may not view 9751');

# ---- names ----------------------------------------------------------------------------
{
    my $d = audit_json('?client_id=9751', '?client_id=9751');
    my @e = @{ $d->{entries} || [] };
    ok(@e >= 2, '?client_id=9751: at least the two views');
    ok(!(grep { ($_->{client_id} // 0) != 9751 } @e), '?client_id=9751: only that client');
    ok(!(grep { !$_->{client} || $_->{client}{first_name} ne '=cmd' || $_->{client}{last_name} ne '+1' } @e),
       '?client_id=9751: every entry names the client (=cmd +1)');
    my $all = audit_json('?action=audit.view', '?action=audit.view');
    ok(!(grep { exists $_->{client} && defined $_->{client} } @{ $all->{entries} || [] }),
       'entries without a client: client is null');
    ok((grep { exists $_->{client} } @{ $all->{entries} || [] }), 'entries without a client: the client key is there');
    # the staff member's display name, as colleagues know them (the screen's Who column)
    ok(!(grep { $_->{username} eq 'clin1' && ($_->{display_name} // '') ne 'Casey Clinician' } @e)
       && (grep { $_->{username} eq 'clin1' } @e), 'every entry by clin1 names them: Casey Clinician');
}

# ---- result filter ---------------------------------------------------------------------
{
    my $d = audit_json('?client_id=9751&result=denied', '?result=denied');
    my @e = @{ $d->{entries} || [] };
    ok(@e >= 1, '?result=denied: clin2\'s denied view is there');
    ok(!(grep { $_->{result} ne 'denied' } @e), '?result=denied: only denied rows');
    ok((grep { $_->{username} eq 'clin2' } @e), '?result=denied: by clin2');
    $d = audit_json('?client_id=9751&result=ok', '?result=ok');
    ok(!(grep { $_->{result} ne 'ok' } @{ $d->{entries} || [] }), '?result=ok: only ok rows');
    ok((grep { $_->{username} eq 'clin1' } @{ $d->{entries} || [] }), '?result=ok: clin1\'s view');
    $d = audit_json('?client_id=9751&username=clin2&result=ok', 'clin2 and ok');
    is(scalar @{ $d->{entries} || [] }, 0, 'clin2 had no ok row on 9751');
}

# ---- date range over the whole trail: the pages walked to the end are exactly the rows of
# those days (the module finds the days' ids by bisecting the trail's primary key) ----------
{
    my $now = time;
    my ($today, $yesterday) = (day($now), day($now - 86400));
    my $start = POSIX::floor($now / 86400) * 86400 - 86400;          # yesterday, 00:00 UTC
    for my $case (["?from=$yesterday&to=$today&action=client.view", "action = 'client.view'"],
                  ["?from=$today&result=denied", "result = 'denied' AND at >= " . ($start + 86400)],
                  ["?to=$yesterday", 'at < ' . ($start + 86400)]) {
        my ($query, $where) = @$case;
        my (@got, $cursor, $pages);
        my $mark = db()->selectrow_array('SELECT max(id) FROM audit_log');
        do {
            my $d = audit_json($query . (defined $cursor ? "&cursor=$cursor" : ''), "$query page");
            push @got, map { $_->{id} } @{ $d->{entries} || [] };
            $cursor = $d->{next_cursor};
        } while (defined $cursor && ++$pages < 200);
        my $want = db()->selectcol_arrayref(
            "SELECT id FROM audit_log WHERE $where AND at >= $start AND at < " . ($start + 2 * 86400)
          . " AND id <= $mark ORDER BY id DESC");
        @got = grep { $_ <= $mark } @got;            # not the audit.view rows of this walk
        is_deeply(\@got, [map { 0 + $_ } @$want], "$query: every row of the days, each once ("
                  . scalar(@$want) . ')');
    }
}

# ---- a staff member's rows, the denied ones, an uncommon action's (each down its own index)
# and a common action's, walked to the end two rows a page: exactly the trail's rows for the
# filter, each once -------------------------------------------------------------------------
{
    for (1 .. 3) {                                   # a few pages' worth of each
        staff(GET => '/clients/9751', user => 'clin1');
        staff(GET => '/clients/9751', user => 'clin2');
    }
    for my $case (['?username=clin2', "username = 'clin2'"],
                  ['?result=denied', "result = 'denied'"],
                  ['?result=denied&action=client.view', "result = 'denied' AND action = 'client.view'"],
                  ['?username=clin1&result=ok', "username = 'clin1' AND result = 'ok'"],
                  ['?action=audit.view', "action = 'audit.view'"],
                  ['?action=audit.view&result=ok', "action = 'audit.view' AND result = 'ok'"],
                  ['?action=client.view', "action = 'client.view'"]) {
        my ($query, $where) = @$case;
        my (@got, $cursor, $pages);
        my $mark = db()->selectrow_array('SELECT max(id) FROM audit_log');
        do {
            my $d = audit_json("$query&limit=2" . (defined $cursor ? "&cursor=$cursor" : ''), "$query page");
            push @got, map { $_->{id} } @{ $d->{entries} || [] };
            $cursor = $d->{next_cursor};
        } while (defined $cursor && ++$pages < 500);
        my $want = db()->selectcol_arrayref("SELECT id FROM audit_log WHERE $where AND id <= $mark ORDER BY id DESC");
        @got = grep { $_ <= $mark } @got;
        ok(@$want > 2, "$query: more than a page of rows to walk (" . scalar(@$want) . ')');
        is_deeply(\@got, [map { 0 + $_ } @$want], "$query: every row, each once, newest first");
    }
}

# ---- date range ------------------------------------------------------------------------
{
    my $now = time;
    my ($today, $yesterday, $tomorrow) = (day($now), day($now - 86400), day($now + 86400));
    my $n = scalar @{ audit_json('?client_id=9751', 'all')->{entries} || [] };
    is(scalar @{ audit_json("?client_id=9751&from=$today&to=$today", 'today')->{entries} || [] }, $n,
       'from=to=today: every row of today (to is inclusive)');
    is(scalar @{ audit_json("?client_id=9751&from=$tomorrow", 'from tomorrow')->{entries} || [] }, 0,
       'from=tomorrow: nothing');
    is(scalar @{ audit_json("?client_id=9751&to=$yesterday", 'to yesterday')->{entries} || [] }, 0,
       'to=yesterday: nothing');
    is(scalar @{ audit_json("?client_id=9751&from=$yesterday", 'from yesterday')->{entries} || [] }, $n,
       'from=yesterday: everything');
    my $d = audit_json("?client_id=9751&from=$today&to=$today&result=denied&username=clin2", 'all filters');
    ok(@{ $d->{entries} || [] } >= 1 && !(grep { $_->{result} ne 'denied' } @{ $d->{entries} }),
       'date range with result and username');
    # the whole trail within dates (its own statement, without a client)
    is(scalar @{ audit_json("?from=$tomorrow", 'trail from tomorrow')->{entries} || [] }, 0,
       'whole trail, from=tomorrow: nothing');
    $d = audit_json("?to=$yesterday", 'trail to yesterday');
    ok(!(grep { ($_->{client_id} // 0) == 9751 } @{ $d->{entries} || [] }),
       'whole trail, to=yesterday: none of today\'s rows on 9751');
    $d = audit_json("?from=$today&to=$today&username=clin2&result=denied", 'trail today, clin2 denied');
    my @e = @{ $d->{entries} || [] };
    ok((grep { ($_->{client_id} // 0) == 9751 } @e)
       && !(grep { $_->{username} ne 'clin2' || $_->{result} ne 'denied' } @e),
       'whole trail, from=to=today with username and result: clin2\'s denied view of 9751');
}

# ---- the days are the practice's, as the page shows every time in its zone -------------------
# Kiritimati (UTC+14) and Pago Pago (UTC-11) are 25 hours apart: at any moment their days
# differ, and at most one of them is the UTC day. A row written now falls on Kiritimati's
# day there, on Pago Pago's day there.
{
    json_ok(staff(GET => '/clients/9751', user => 'clin1'), 200, 'a view to find');
    my $id = db()->selectrow_array("SELECT max(id) FROM audit_log WHERE client_id = 9751 AND action = 'client.view'");
    my $now = time;
    my $kiri = POSIX::strftime('%Y-%m-%d', gmtime($now + 14 * 3600));
    my $pago = POSIX::strftime('%Y-%m-%d', gmtime($now - 11 * 3600));
    my $found = sub {
        my ($day, $name) = @_;
        my $d = audit_json("?client_id=9751&action=client.view&from=$day&to=$day", $name);
        return scalar grep { $_->{id} == $id } @{ $d->{entries} || [] };
    };
    practice_zone('Pacific/Kiritimati');
    is($found->($kiri, 'Kiritimati, its day'), 1, "practice in Kiritimati: the view is on $kiri");
    is($found->($pago, 'Kiritimati, Pago Pago\'s day'), 0, "... not on $pago");
    my $res = staff(GET => '/admin/audit?client_id=9751&format=csv');
    like($res->header('Content-Disposition') // '', qr/audit-\Q$kiri\E\.csv/, '... the export is named for its day there');
    practice_zone('Pacific/Pago_Pago');
    is($found->($pago, 'Pago Pago, its day'), 1, "practice in Pago Pago: the view is on $pago");
    is($found->($kiri, 'Pago Pago, Kiritimati\'s day'), 0, "... not on $kiri");
    practice_zone('UTC');
}

# ---- limit: pages of that many rows, walked with the cursor: every row of the trail once ----
{
    my $mark = db()->selectrow_array('SELECT max(id) FROM audit_log');
    my $want = [map { 0 + $_ } @{ db()->selectcol_arrayref("SELECT id FROM audit_log WHERE id <= $mark ORDER BY id DESC") }];
    my (@got, $cursor, $pages, @sizes);
    do {
        my $d = audit_json('?limit=7' . (defined $cursor ? "&cursor=$cursor" : ''), 'limit=7 page');
        push @sizes, scalar @{ $d->{entries} || [] };
        push @got, map { $_->{id} } @{ $d->{entries} || [] };
        $cursor = $d->{next_cursor};
    } while (defined $cursor && ++$pages < 1000);
    ok(@$want > 7, 'the trail holds more rows than one page of 7 (' . scalar(@$want) . ')');
    ok(!(grep { $_ > 7 } @sizes) && $sizes[0] == 7, 'limit=7: pages of at most 7 rows, the first full');
    is_deeply([grep { $_ <= $mark } @got], $want, 'limit=7: the cursor walks every row of the trail once');
    is(scalar @{ audit_json('?limit=1', 'limit=1')->{entries} || [] }, 1, 'limit=1: one row');
}

# ---- bad values: 400, nothing listed ------------------------------------------------------
for my $q ('result=', 'result=OK%20OR%201', 'result=' . ('x' x 40), 'from=2026-13-01', 'from=2026-02-30',
           'from=yesterday', 'to=2026-1-1', 'to=20260101', 'from=2026-05-02&to=2026-05-01', 'client_id=-3',
           'limit=0', 'limit=101', 'limit=ten', 'limit=', 'limit=5x') {
    my $res = staff(GET => "/admin/audit?$q");
    error_ok($res, 400, 'invalid_parameter', "?$q");
    unlike($res->content // '', qr/"entries"/, "?$q: no entries");
}

# ---- 403 for clinicians ------------------------------------------------------------------
for my $user (qw(clin1 clin2)) {
    for my $path ('/admin/audit?result=ok', '/admin/audit?from=2026-01-01&format=csv') {
        my $res = staff(GET => $path, user => $user);
        is($res->code, 403, "GET $path as $user: 403");
        unlike($res->content // '', qr/"entries"|^id,at,/, "GET $path as $user: no data");
    }
}

# ---- a look at the trail records its filters (issue 15): who looked at whose trail -----------
{
    my $look = sub {
        my ($query) = @_;
        my ($mark) = db()->selectrow_array('SELECT coalesce(max(id), 0) FROM audit_log');
        my $res = staff(GET => "/admin/audit$query");
        is($res->code, 200, "GET /admin/audit$query: 200");
        my $rows = db()->selectall_arrayref("SELECT * FROM audit_log WHERE id > ? AND username = 'admin' "
                                          . "AND action IN ('audit.view', 'audit.export') ORDER BY id",
                                            { Slice => {} }, $mark);
        is(scalar(@$rows), 1, "$query: one audit row");
        my $row = $rows->[0] || {};
        return ($row, eval { JSON::PP::decode_json($row->{detail} // 'null') } || {});
    };
    my $today = day(time);
    my ($row, $d) = $look->("?client_id=9751&username=clin1&action=client.view&result=ok&from=$today&to=$today");
    my ($from, $before) = (delete $d->{from}, delete $d->{before});
    is_deeply($d, { client_id => 9751, username => 'clin1', action => 'client.view', result => 'ok' },
              'audit.view detail: every filter of the page');
    like($from // '', qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, 'and the start of the dates (from)');
    like($before // '', qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, 'and their end (before)');
    ok(($before // '') gt ($from // ''), 'from before before');
    is($row->{action}, 'audit.view', 'the action: audit.view');
    ok(!defined $row->{client_id}, 'not one of the client\'s own rows (detail only)');
    ($row, $d) = $look->('');
    is_deeply($d, { client_id => undef, username => undef, action => undef, result => undef, from => undef,
                    before => undef }, 'no filters: all null');
    # typed text that names no staff member or action is not kept, only that there was some
    ($row, $d) = $look->('?username=Jane%20Doe&action=Jane%20Doe%20555-0100');
    is_deeply($d, { client_id => undef, username => undef, other_username => JSON::PP::true(), action => undef,
                    other_action => JSON::PP::true(), result => undef, from => undef, before => undef },
              'free text in username/action: not recorded, only flagged');
    unlike($row->{detail} // '', qr/Jane|555/, 'the text itself is nowhere in the row');
    # a surname alone, as the page sends it (lower-cased): letters only, yet not an action's name
    ($row, $d) = $look->('?action=garcia');
    ok(!defined $d->{action} && $d->{other_action}, 'a lower-case surname typed as the action: only flagged');
    unlike($row->{detail} // '', qr/garcia/, '... and nowhere in the row');
    ($row, $d) = $look->('?format=csv&client_id=9752');
    is($row->{action}, 'audit.export', 'the CSV export: audit.export');
    is($d->{client_id}, 9752, 'with its filters too');
}

# ---- CSV: names, neutralised -----------------------------------------------------------------
{
    my $res = staff(GET => '/admin/audit?format=csv&client_id=9751&result=denied');
    is($res->code, 200, 'CSV: 200');
    like($res->content, qr/\A\xEF\xBB\xBFid,at,/, 'CSV: a UTF-8 byte order mark first (Excel reads UTF-8)');
    like($res->header('Content-Disposition') // '', qr/\Aattachment; filename="audit-\d{4}-\d\d-\d\d\.csv"\z/,
         'CSV: named for the day of the export');
    my $rows = eval { parse_csv($res->content) } || [];
    my $header = shift @$rows;
    is_deeply([@{ $header || [] }[10, 11]], ['client_first_name', 'client_last_name'], 'CSV: name columns');
    ok(@$rows >= 1, 'CSV with the filter: rows');
    ok(!(grep { $_->[6] ne 'denied' } @$rows), 'CSV: the result filter applies');
    ok(!(grep { $_->[10] ne "'=cmd" || $_->[11] ne "'+1" } @$rows), 'CSV: =cmd and +1 neutralised with a quote');
    unlike($res->content, qr/(^|,)[=+]/m, 'CSV: no cell starts with = or +');
    error_ok(staff(GET => '/admin/audit?format=csv&result=x%3Dy'), 400, 'invalid_parameter', 'CSV with a bad result: 400');
}

# ---- per-client history: caseload ------------------------------------------------------------
{
    my $res = staff(GET => '/clients/9752/audit', user => 'clin1');
    is($res->code, 404, 'clin1: history of a foreign client is 404');
    unlike($res->content // '', qr/"entries"/, 'foreign history: no entries');
    my $d = json_ok(staff(GET => '/clients/9751/audit', user => 'clin1'), 200, 'clin1: history of own client') || {};
    ok(@{ $d->{entries} || [] } >= 2, 'own client history: entries');
}

cleanup();
done_testing();
