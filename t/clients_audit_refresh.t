# t/clients_audit_refresh.t — audit without noise (issue 11): opening a client writes one
# client.view row; the page's refresh (GET /clients/{id}/status with If-None-Match) is
# unaudited and answers 304 until the view changes, and says nothing identifying when it
# answers 200; an invisible client is still a 404 with a "denied" row. Every page of the
# client list (GET /clients, POST /clients/search) writes one client.search row with the
# kind of query, the number of rows and the ids of the clients shown, never the query
# text. Uses client 26 (clin1's) and client 6 (clin2's, invisible to clin1).
use strict;
use warnings;
use utf8;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use Test::More;
use JSON::PP ();
use Digest::SHA qw(sha256_hex);
use PortalTest;
use PortalTest::Clients;

my $ID = 26;

sub rows_of { my ($mark, $action) = @_; grep { $_->{action} eq $action } audit_since($mark) }

# --- opening a client: one row, and an ETag -------------------------------------------------------
my $mark = audit_mark();
my $res = staff(GET => "/clients/$ID", user => 'clin1');
is($res->code, 200, 'open the client');
my $etag = $res->header('ETag');
like($etag // '', qr/^"[0-9a-f]{32}"$/, 'the view carries a strong ETag');
# the view is serialized once: its ETag is the hash of the very text sent (less the final
# newline), so a version the page holds always names the body it shows
is($etag, '"' . substr(sha256_hex($res->content =~ s/\n\z//r), 0, 32) . '"',
   'the ETag is the hash of the body sent');
is(scalar(rows_of($mark, 'client.view')), 1, 'opening: one client.view row');

# --- the refresh: unaudited, 304 while nothing changed ---------------------------------------------
$mark = audit_mark();
for my $i (1 .. 5) {
    my $r = staff(GET => "/clients/$ID/status", user => 'clin1', headers => { 'If-None-Match' => $etag });
    is($r->code, 304, "refresh $i: 304 Not Modified");
    is($r->content, '', "refresh $i: no body");
    is($r->header('ETag'), $etag, "refresh $i: the same ETag");
}
is(scalar(audit_since($mark)), 0, 'five refreshes: no audit rows at all');

{
    my $r = staff(GET => "/clients/$ID/status", user => 'clin1');
    my $d = json_ok($r, 200, 'status without If-None-Match');
    is_deeply([sort keys %$d], [qw(id portal_status version)], 'status: only id, portal_status, version');
    is($d->{version}, $etag, 'status: version = the ETag');
    is($r->header('ETag'), $etag, 'status: ETag header');
    my $c = client_row($ID);
    for my $secret (grep { defined && length } @{$c}{qw(first_name last_name date_of_birth email)}) {
        unlike($r->content, qr/\Q$secret\E/i, "status: does not show '$secret'");
    }
    is(scalar(audit_since($mark)), 0, 'status 200: not audited either');
}

# --- a change: the refresh sees it ----------------------------------------------------------------
{
    my $before = json_ok(staff(GET => "/clients/$ID", user => 'clin1'), 200, 'view')->{statement_notifications};
    json_ok(staff(PUT => "/clients/$ID/preferences", user => 'clin1',
                  json => { statement_notifications => $before ? JSON::PP::false() : JSON::PP::true() }),
            200, 'change a preference');
    my $r = staff(GET => "/clients/$ID/status", user => 'clin1', headers => { 'If-None-Match' => $etag });
    my $d = json_ok($r, 200, 'refresh after a change: 200');
    isnt($d->{version}, $etag, 'refresh after a change: a new version');
    my $view = staff(GET => "/clients/$ID", user => 'clin1');
    is($view->header('ETag'), $d->{version}, 'the view read again has that version');
    is(staff(GET => "/clients/$ID/status", user => 'clin1', headers => { 'If-None-Match' => $d->{version} })->code,
       304, 'and the next refresh is 304 again');
}

# --- an invisible client: 404 and a denied row ---------------------------------------------------
{
    $mark = audit_mark();
    error_ok(staff(GET => '/clients/6/status', user => 'clin1'), 404, 'not_found', "status of clin2's client");
    my @rows = audit_since($mark);
    is(scalar @rows, 1, 'invisible: one audit row');
    is($rows[0]{result}, 'denied', 'invisible: result denied');
    is($rows[0]{action}, 'client.status', 'invisible: action client.status');
    is($rows[0]{client_id}, 6, 'invisible: the client asked for');
    error_ok(staff(GET => '/clients/999999/status', user => 'clin1'), 404, 'not_found', 'status of a missing client');
}

# --- every page of the list: one row, kind, count and the clients shown, never the text --------------------------------
sub search_row_ok {
    my ($name, $res, $kind, @secrets) = @_;
    my $d = json_ok($res, 200, $name);
    my @rows = rows_of($mark, 'client.search');
    is(scalar @rows, 1, "$name: one client.search row") or return $d;
    my $detail = JSON::PP->new->decode($rows[0]{detail} // '{}');
    is_deeply($detail, { kind => $kind, rows => scalar @{ $d->{clients} },
                         client_ids => [map { $_->{id} + 0 } @{ $d->{clients} }] },
              "$name: detail {kind $kind, rows, client_ids: the page's clients in its order}");
    is($rows[0]{result}, 'ok', "$name: result ok");
    ok(!defined $rows[0]{client_id}, "$name: no client id");
    is($rows[0]{request_id}, $res->header('X-Request-Id'), "$name: the request's id");
    my $text = join ',', grep { $_ ne 'client_ids' } map { ($_, ref $detail->{$_} ? () : $detail->{$_}) } keys %$detail;
    unlike($text, qr/\Q$_\E/i, "$name: detail does not hold '$_'") for @secrets;
    return $d;
}
{
    $mark = audit_mark();
    my $d = search_row_ok('GET /clients', list_clients('clin1', limit => 3), 'all');
    is(scalar @{ $d->{clients} }, 3, 'GET /clients: a page of 3');
    $mark = audit_mark();
    search_row_ok('GET /clients next page', list_clients('clin1', limit => 3, cursor => $d->{next_cursor}), 'all');
    $mark = audit_mark();
    $d = search_row_ok('search by name', list_clients('clin1', q => 'Pat'), 'name', 'Pat');
    cmp_ok(scalar @{ $d->{clients} }, '>', 0, 'search by name: finds someone');
    $mark = audit_mark();
    search_row_ok('search by email', list_clients('clin1', q => 'someone@example.test'), 'email', 'someone', 'example');
    $mark = audit_mark();
    search_row_ok('search by date', list_clients('clin1', q => '1980-02-07'), 'date', '1980');
    $mark = audit_mark();
    search_row_ok('search by US date', list_clients('clin1', q => '2/7/1980'), 'date', '1980');
    $mark = audit_mark();
    # no such date: the search ran as name words, and its row says so
    search_row_ok('search by a date that is none', list_clients('clin1', q => '13/45/1980'), 'name', '1980');
    $mark = audit_mark();
    search_row_ok('empty search', list_clients('clin1', q => '  '), 'all');
    $mark = audit_mark();
    error_ok(list_clients('clin1', q => 'x' x 101), 400, 'invalid_parameter', 'a refused search');
    is(scalar(rows_of($mark, 'client.search')), 0, 'a refused search: nothing shown, no row');
}

done_testing();
