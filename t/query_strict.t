# t/query_strict.t — the API's query strings, request bodies and ranges as an outside
# robustness review found them (issue 11, the API contract): one reader for every route
# refuses (400 invalid_parameter, field the key) a repeated key, an unknown key, a key
# without a value, a broken %-escape, a NUL, a value that is not UTF-8, and an id or number
# that is not 1 to 15 digits without sign, space or leading zero — before anything is read
# or changed; POST /admin/outbox/{id}/retry and /cancel refuse a body field; a quoted
# charset is accepted and a Content-Encoding refused on JSON routes; Range is ignored.
# Every refusal is checked for its status, code and field, and that nothing changed.
#
# Runs on both databases. Its client is 9761, its roster rows QS-*, its outbox rows are
# addressed to *.qs11@example.test; all removed before and after.
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

my $CID = 9761;
sub roster_ids {
    @{ db()->selectcol_arrayref("SELECT id FROM clients WHERE external_id LIKE 'QS-%'") };
}
sub cleanup {
    db()->do("DELETE FROM outbox WHERE invitation_id IS NULL AND to_address LIKE '%.qs11\@example.test'");
    cleanup_clients($CID, roster_ids());
}
cleanup();
END { eval { cleanup(); 1 } or warn "cleanup: $@" }

add_client($CID, 'Quinn', 'Strict', 'quinn.qs11@example.test', 'clin1');
my $now = time;
my $seq = 0;
sub add_row {
    my ($status, %o) = @_;
    my $mid = "qs11-$$-" . ++$seq . '@example.test';
    db()->do('INSERT INTO outbox (invitation_id, purpose, to_address, message_id, status, attempts, '
           . 'next_attempt_at, last_error, created_at) VALUES (NULL, ?, ?, ?, ?, ?, ?, ?, ?)', undef,
             'test_client', "row$seq.qs11\@example.test", $mid, $status, $o{attempts} // 0,
             $now + 86400, $o{error}, $now);
    my ($id) = db()->selectrow_array('SELECT id FROM outbox WHERE message_id = ?', undef, $mid);
    return $id;
}
my $failed = add_row('failed', attempts => 3, error => '550 5.1.1 User unknown');
my $queued = add_row('queued');
sub status_of { (db()->selectrow_array('SELECT status FROM outbox WHERE id = ?', undef, $_[0]))[0] }

# each user seen once today, so no request below writes staff.last_seen_at
for my $u (qw(admin clin1)) { json_ok(staff(GET => "/me", user => $u), 200, "$u seen") }

# refused($method, $path, $field, $name, %opt): 400 invalid_parameter naming $field, nothing
# changed and no audit row written
sub refused {
    my ($method, $path, $field, $name, %opt) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    my $code = delete $opt{code} // 'invalid_parameter';
    my $status = delete $opt{status} // 400;
    my ($before, $mark) = (snapshot(), audit_mark());
    my $err = error_ok(staff($method => $path, %opt), $status, $code, $name);
    is($err && $err->{error}{field}, $field, "$name: field " . ($field // 'none'));
    unchanged_ok($before, $name);
    is(scalar(audit_since($mark)), 0, "$name: no audit row");
    return $err;
}

# ---- 2: values that are not UTF-8 text, ids out of range ------------------------------------
for my $q ('username=%FF%FE', 'username=a%C0%AE', 'action=%FF') {
    my ($field) = $q =~ /^(\w+)/;
    refused(GET => "/admin/audit?$q", $field, "/admin/audit?$q");
}
for my $n ('9223372036854775808', '99999999999999999999', '1000000000000000') {
    refused(GET => "/admin/audit?client_id=$n", 'client_id', "/admin/audit?client_id=$n");
    refused(GET => "/admin/outbox?client_id=$n", 'client_id', "/admin/outbox?client_id=$n");
    refused(GET => "/admin/outbox?id=$n", 'id', "/admin/outbox?id=$n");
}
json_ok(staff(GET => '/admin/outbox?id=999999999999999'), 200, 'an id of 15 digits is still an id');

# ---- 3: a repeated key ------------------------------------------------------------------------
my $roster = "external_id,first_name,last_name,date_of_birth,email\nQS-1,Query,Strictly,1981-01-01,\n";
for my $q ('dry_run=1&dry_run=0', 'dry_run=1&discharge_missing=1&discharge_missing=0',
           'dry_run=1&discharge_missing=1&allow_mass_discharge=1&allow_mass_discharge=0') {
    my ($field) = $q =~ /(\w+)=[01]$/;
    refused(PUT => "/admin/roster?$q", $field, "/admin/roster?$q", body => $roster,
            content_type => 'text/csv');
    is(scalar(roster_ids()), 0, "/admin/roster?$q: no client added");
}
for my $case (['/clients?limit=9999&limit=1', 'limit'], ['/clients?limit=1&limit=9999', 'limit'],
              ['/admin/overview?days=91&days=90', 'days'],
              ['/admin/audit?format=csv&format=json', 'format'],
              ['/admin/audit?client_id=1&client_id=2', 'client_id'],
              ['/admin/outbox?status=queued&status=sent', 'status'],
              ["/clients/$CID/audit?cursor=a&cursor=b", 'cursor']) {
    refused(GET => $case->[0], $case->[1], $case->[0]);
}

# ---- 8: unknown keys, on every route --------------------------------------------------------
{
    my $err = refused(GET => '/admin/audit?format=csv&clientid=5', 'clientid',
                      'the typo clientid on the CSV export');
    like($err && $err->{error}{message}, qr/client_id/, 'the message names the keys it takes');
}
for my $path ('/admin/outbox', '/admin/overview', "/clients/$CID/audit", "/clients/$CID/emails",
              '/me', "/clients/$CID", '/admin/settings', '/health', '/clients', '/reviews',
              "/clients/$CID/status") {
    my $err = refused(GET => "$path?x=1", 'x', "$path?x=1");
}
refused(POST => '/clients/search?x=1', 'x', 'POST /clients/search?x=1', json => { q => 'a' });
refused(POST => "/admin/outbox/$failed/retry?force=1", 'force', 'a retry with a query');
is(status_of($failed), 'failed', 'the retry with a query left the email failed');
refused(GET => '/admin/settings?include=everything', 'include', '?include=everything');

# ---- 9: NUL, no value, loose numbers, broken escapes -----------------------------------------
for my $case (['/clients?limit=1%00', 'limit'], ['/admin/overview?days=1%00999', 'days'],
              ['/admin/audit?client_id=1%00', 'client_id'], ['/admin/audit?username=admin%00x', 'username'],
              ['/admin/outbox?id=1%00', 'id'], ['/clients?limit', 'limit'],
              ['/clients?limit=+5', 'limit'], ['/clients?limit=%2B5', 'limit'],
              ['/clients?limit=%201', 'limit'], ['/clients?limit=05', 'limit'],
              ['/clients?limit=-1', 'limit'], ['/clients?limit=%2', 'limit'],
              ['/clients?limit=%zz', 'limit'], ['/admin/overview?months=+1', 'months'],
              ['/admin/outbox?limit=05', 'limit'], ['/admin/audit?limit=%205', 'limit'],
              ['/admin/audit?format', 'format'], ['/admin/audit?client_id=01', 'client_id'],
              ['/admin/audit?action=a%09b', 'action']) {
    refused(GET => $case->[0], $case->[1], $case->[0]);
}
refused(PUT => '/admin/roster?dry_run=1%00', 'dry_run', '/admin/roster?dry_run=1%00', body => $roster,
        content_type => 'text/csv');
is(scalar(roster_ids()), 0, 'dry_run=1%00: no client added');
# what a browser sends is read as it meant it: + a space, %XX a byte, & between keys
{
    my $d = json_ok(staff(GET => '/admin/audit?action=client%2Eview&limit=2&username=admin'), 200,
                    'an escaped value');
    is_deeply([map { $_->{action} } @{ $d->{entries} || $d->{rows} || [] }],
              [('client.view') x scalar @{ $d->{entries} || $d->{rows} || [] }],
              'action=client%2Eview reads client.view');
    json_ok(staff(GET => '/admin/audit?username=no+such+user&&limit=1&'), 200, '+ and empty pairs');
    json_ok(staff(GET => '/clients?limit=5', user => 'clin1'), 200, 'limit=5');
    json_ok(staff(GET => '/admin/settings?include=definitions'), 200, 'include=definitions');
}

# ---- 4: retry and cancel take no body --------------------------------------------------------
for my $case (['retry', $failed, 'failed'], ['cancel', $queued, 'queued']) {
    my ($action, $id, $status) = @$case;
    refused(POST => "/admin/outbox/$id/$action", 'unexpected_field', "$action with a body field",
            json => { unexpected_field => JSON::PP::true }, code => 'unknown_field');
    is(status_of($id), $status, "$action with a body field: the email is still $status");
}
json_ok(staff(POST => "/admin/outbox/$queued/cancel", json => {}), 200, 'cancel with {} still works');
is(status_of($queued), 'failed', 'cancelled');

# ---- 10: media type parameters and Content-Encoding on JSON routes ----------------------------
my ($notify) = db()->selectrow_array("SELECT notify FROM staff WHERE username = 'admin'");
$notify //= 'daily';
for my $ct ('application/json; charset="utf-8"', 'Application/JSON; Charset="UTF-8"',
            'application/json;charset=utf-8', 'application/json ; charset = utf-8') {
    my $res = staff(PUT => '/me/preferences', json => { notify => $notify }, content_type => $ct);
    if ($ct =~ / = /) {      # no spaces around '=' in a media type parameter
        error_ok($res, 415, 'unsupported_media_type', "Content-Type: $ct");
    }
    else {
        json_ok($res, 200, "Content-Type: $ct");
    }
}
for my $ct ('application/json; charset="utf-8', 'application/json; charset=latin1',
            'application/json; charset="utf-16"') {
    refused(PUT => '/me/preferences', undef, "Content-Type: $ct", json => { notify => 'none' },
            content_type => $ct, status => 415, code => 'unsupported_media_type');
}
for my $enc ('gzip', 'deflate', 'br') {
    refused(PUT => '/me/preferences', undef, "Content-Encoding: $enc", json => { notify => 'none' },
            headers => ['Content-Encoding' => $enc], status => 415, code => 'unsupported_encoding');
}
json_ok(staff(PUT => '/me/preferences', json => { notify => $notify },
              headers => ['Content-Encoding' => 'identity']), 200, 'Content-Encoding: identity');

# ---- 12: Range is ignored ----------------------------------------------------------------------
{
    my $whole = staff(GET => "/clients/$CID");
    json_ok($whole, 200, 'the client view');
    for my $range ('bytes=0-10', 'bytes=999999-', 'bytes=0-5,10-20') {
        my $res = staff(GET => "/clients/$CID", headers => [Range => $range]);
        json_ok($res, 200, "client view, Range: $range");
        ok(!defined $res->header('Content-Range'), "Range: $range: no Content-Range");
        is(length($res->content), length($whole->content), "Range: $range: the whole answer");
    }
    my $etag = $whole->header('ETag');
    my $res = staff(GET => "/clients/$CID", headers => [Range => 'bytes=0-10', 'If-Range' => $etag // '"x"']);
    json_ok($res, 200, 'Range with If-Range: 200');
    my $csv = staff(GET => "/admin/audit?format=csv&client_id=$CID");
    is($csv->code, 200, 'the CSV export');
    for my $range ('bytes=0-5,10-20', 'bytes=0-10', 'bytes=999999-') {
        $res = staff(GET => "/admin/audit?format=csv&client_id=$CID", headers => [Range => $range]);
        is($res->code, 200, "CSV export, Range: $range: 200");
        like($res->header('Content-Type') // '', qr{^text/csv}, "CSV export, Range: $range: text/csv");
        like($res->content, qr/\A[^\n]*\baction\b/, "CSV export, Range: $range: from its header line");
        ok(!defined $res->header('Content-Range'), "CSV export, Range: $range: no Content-Range");
    }
}

done_testing();
