# t/clients_csrf.t — the CSRF rules of docs/api.md on every state-changing client route:
# X-Requested-With: portal-manager is required; Sec-Fetch-Site, when sent, must be
# same-origin; Origin, when sent, must be our own; bodies must be JSON (a form or
# text/plain post is what a cross-site page can send without asking). Every refusal
# leaves the database as it was (the audit trail included: nothing is logged as done).
# Uses client 24 (clin1's).
use strict;
use warnings;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use Test::More;
use JSON::PP ();
use PortalTest;
use PortalTest::Clients;

my $ID = 24;
my $ORIGIN = own_origin();
like($ORIGIN, qr{^http://[^/]+:\d+$}, "our origin is $ORIGIN");
(my $other_port = $ORIGIN) =~ s/:(\d+)$/':' . ($1 + 1)/e;
(my $https = $ORIGIN) =~ s/^http:/https:/;

# method, path, body
my @ROUTES = (
    [PUT    => "/clients/$ID/email",       { email => 'csrf-attacker@example.test' }],
    [POST   => "/clients/$ID/declined",    { note => 'csrf' }],
    [DELETE => "/clients/$ID/declined",    undef],
    [PUT    => "/clients/$ID/preferences", { statement_notifications => JSON::PP::false() }],
    [POST   => "/clients/$ID/invitations", undef],
    [POST   => "/invitations/bulk",        { client_ids => [$ID] }],
);

# name => [extra request options, status, code]
my @BAD = (
    ['no X-Requested-With'            => [csrf => 0], 403, 'csrf'],
    ['X-Requested-With: XMLHttpRequest' => [csrf => 0, headers => ['X-Requested-With' => 'XMLHttpRequest']], 403, 'csrf'],
    ['X-Requested-With: empty'        => [csrf => 0, headers => ['X-Requested-With' => '']], 403, 'csrf'],
    ['Sec-Fetch-Site: cross-site'     => [headers => ['Sec-Fetch-Site' => 'cross-site']], 403, 'csrf'],
    ['Sec-Fetch-Site: same-site'      => [headers => ['Sec-Fetch-Site' => 'same-site']], 403, 'csrf'],
    ['Origin: a foreign site'         => [headers => ['Origin' => 'https://evil.example']], 403, 'csrf'],
    ['Origin: null'                   => [headers => ['Origin' => 'null']], 403, 'csrf'],
    ['Origin: our host, other port'   => [headers => ['Origin' => $other_port]], 403, 'csrf'],
    ['Origin: our host, https'        => [headers => ['Origin' => $https]], 403, 'csrf'],
    ['Origin: ours as a prefix'       => [headers => ['Origin' => "$ORIGIN.evil.example"]], 403, 'csrf'],
    ['same-origin fetch, foreign Origin' =>
        [headers => ['Sec-Fetch-Site' => 'same-origin', 'Origin' => 'https://evil.example']], 403, 'csrf'],
);

# bodies a cross-site form can send: the JSON text under another media type
my @BAD_TYPES = (
    ['text/plain'                        => 415, 'unsupported_media_type'],
    ['application/x-www-form-urlencoded' => 415, 'unsupported_media_type'],
    ['multipart/form-data; boundary=x'   => 415, 'unsupported_media_type'],
    ['application/json; charset=iso-8859-1' => 415, 'unsupported_media_type'],
    ['application/jsonx'                 => 415, 'unsupported_media_type'],
);

sub refused_ok {
    my ($name, $res, $status, $code, $before, $mark) = @_;
    error_ok($res, $status, $code, $name);
    unchanged_ok($before, $name);
    my @rows = audit_since($mark);
    is(scalar(@rows), 0, "$name: nothing in the audit trail") or diag explain \@rows;
}

for my $route (@ROUTES) {
    my ($method, $path, $body) = @$route;
    for my $bad (@BAD) {
        my ($what, $opts, $status, $code) = @$bad;
        my $before = snapshot();
        my $mark = audit_mark();
        my $res = staff($method => $path, user => 'clin1', ($body ? (json => $body) : ()), @$opts);
        refused_ok("$method $path, $what", $res, $status, $code, $before, $mark);
    }
    # the text/plain "simple request" a cross-site form can make, without our header
    {
        my $before = snapshot();
        my $mark = audit_mark();
        my $res = staff($method => $path, user => 'clin1', csrf => 0,
                        json => JSON::PP->new->encode($body || {}), content_type => 'text/plain');
        refused_ok("$method $path, text/plain without X-Requested-With", $res, 403, 'csrf', $before, $mark);
    }
    for my $bad (@BAD_TYPES) {
        my ($type, $status, $code) = @$bad;
        my $before = snapshot();
        my $mark = audit_mark();
        my $res = staff($method => $path, user => 'clin1',
                        json => JSON::PP->new->encode($body || {}), content_type => $type);
        refused_ok("$method $path, Content-Type: $type", $res, $status, $code, $before, $mark);
    }
}

# GET is not state-changing: it needs no X-Requested-With ...
json_ok(staff(GET => "/clients/$ID", user => 'clin1'), 200, 'GET without X-Requested-With');
json_ok(staff(GET => "/clients/$ID", user => 'clin1', headers => ['Sec-Fetch-Site' => 'none']),
        200, 'GET typed into the address bar (Sec-Fetch-Site: none)');
json_ok(staff(GET => "/clients/$ID", user => 'clin1',
              headers => ['Sec-Fetch-Site' => 'same-origin', 'Origin' => $ORIGIN]),
        200, 'GET from the staff page');
# ... but another site's page must not make a clinician's browser read clients (and
# fill the audit trail with rows under their name): refused before anything is written
for my $bad (['Sec-Fetch-Site: cross-site' => ['Sec-Fetch-Site' => 'cross-site']],
             ['Sec-Fetch-Site: same-site'  => ['Sec-Fetch-Site' => 'same-site']],
             ['a foreign Origin'           => ['Origin' => 'https://evil.example']]) {
    my ($what, $headers) = @$bad;
    for my $path ("/clients/$ID", '/clients/999999', '/me', '/clients?limit=5') {
        my $before = snapshot();
        my $mark = audit_mark();
        my $res = staff(GET => $path, user => 'clin1', headers => $headers);
        refused_ok("GET $path with $what", $res, 403, 'csrf', $before, $mark);
    }
    my $res = staff(HEAD => "/clients/$ID", user => 'clin1', headers => $headers);
    is($res->code, 403, "HEAD with $what: 403");
}

# --- what the staff page sends passes ----------------------------------------------------------
my @page = (user => 'clin1', headers => ['Origin' => $ORIGIN, 'Sec-Fetch-Site' => 'same-origin']);
{
    my $v = json_ok(staff(PUT => "/clients/$ID/email", @page, json => { email => 'pat.csrf2@example.test' }),
                    200, 'same-origin PUT email');
    is($v->{email}, 'pat.csrf2@example.test', 'same-origin PUT email: changed');
    is(client_row($ID)->{email}, 'pat.csrf2@example.test', 'same-origin PUT email: stored');

    $v = json_ok(staff(POST => "/clients/$ID/declined", @page, json => { note => 'ok' }),
                 200, 'same-origin POST declined');
    ok(defined client_row($ID)->{declined_at}, 'same-origin POST declined: stored');
    json_ok(staff(DELETE => "/clients/$ID/declined", @page), 200, 'same-origin DELETE declined');
    ok(!defined client_row($ID)->{declined_at}, 'same-origin DELETE declined: stored');

    $v = json_ok(staff(PUT => "/clients/$ID/preferences", @page,
                       json => { statement_notifications => JSON::PP::false() }),
                 200, 'same-origin PUT preferences');
    is(client_row($ID)->{statement_notifications}, 0, 'same-origin PUT preferences: stored');

    json_ok(staff(POST => "/clients/$ID/invitations", @page), 201, 'same-origin POST invitations');
    is(scalar(@{ invitation_rows($ID) }), 1, 'same-origin POST invitations: stored');
}
# no Sec-Fetch-Site and no Origin (older browsers, curl): the header alone is enough
json_ok(staff(PUT => "/clients/$ID/preferences", user => 'clin1',
              json => { statement_notifications => JSON::PP::true() }),
        200, 'X-Requested-With alone');
# application/json with charset=utf-8 is JSON too
json_ok(staff(PUT => "/clients/$ID/preferences", user => 'clin1', content_type => 'application/json; charset=utf-8',
              json => { statement_notifications => JSON::PP::true() }),
        200, 'application/json; charset=utf-8');

done_testing();
