# t/clients_input.t — what the client routes accept and refuse (issue 3):
# search (each query word a prefix of a name word, ignoring case, accents and
# apostrophes; t/clients_search.t has the rest) and sort (ICU, collation_locale
# "en": last name, first name, id); list parameters
# (limit, cursor, q); SQL metacharacters round-trip unchanged; bodies (413, broken JSON,
# duplicate, unknown and read-only fields); the email rules (422 invalid_email) and the
# note length (422). Every refusal leaves the database as it was.
# Changes only client 25 (clin1's).
use strict;
use warnings;
use utf8;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use Test::More;
use Encode qw(encode_utf8);
use File::Spec::Functions qw(catfile);
use IO::Socket::INET ();
use JSON::PP ();
use MIME::Base64 qw(encode_base64);
use PortalTest;
use PortalTest::Clients;

binmode(Test::More->builder->$_, ':encoding(UTF-8)') for qw(output failure_output todo_output);

my $ID = 25;
my $JSON = JSON::PP->new->utf8->canonical;

sub ids_of { [map { $_->{id} } @{ $_[0]{clients} || [] }] }

# the seed's clients only (ids 1-29): other files' fixtures may add more later
sub seed_only { [grep { $_ <= 29 } @{ $_[0] }] }

sub search {
    my ($user, $q, %p) = @_;
    my $res = list_clients($user, q => $q, limit => $p{limit} // 100);
    my $data = json_ok($res, 200, "$user searches '$q'");
    return ids_of($data);
}

# --- search ----------------------------------------------------------------------------------
my @SEARCHES = (
    # user, q, expected ids in order
    [admin => 'zo',      [18, 3, 6]],    # Zoe Nunez, Zoë Núñez (first names), Émile Zola (last)
    [admin => 'ZOË',     [18, 3]],       # accents do not count: Zoe Nunez too
    [admin => 'Zoë',     [18, 3]],
    [admin => 'núñ',     [18, 3]],
    [admin => 'NÚÑ',     [18, 3]],
    [admin => 'émi',     [6]],
    [admin => 'ÉMI',     [6]],
    [clin1 => 'émi',     []],            # Émile Zola is clin2's
    [clin2 => 'Émi',     [6]],
    [clin1 => 'zo',      [18, 3]],
    [admin => 'müll',    [7]],
    [admin => 'MÜLLER',  [7]],
    [admin => 'ÁLV',     [8]],
    [admin => 'ива',     [19]],          # Cyrillic: Иванова
    [admin => 'ИВА',     [19]],
    [clin2 => 'ольга',   [19]],
    [clin1 => 'ОЛЬГА',   []],
    [admin => 'ander',   [5, 1, 20]],    # Alex, Alice Anderson (last); Anderson Cooper (first)
    [admin => 'ANDERSON', [5, 1, 20]],
    [admin => 'alice',   [1]],
    [admin => 'lee',     [17]],          # Lee Lee matches twice, is listed once
    [admin => 'smith',   [16, 11, 12, 13, 14, 15]],
    [admin => 'SMITH',   [16, 11, 12, 13, 14, 15]],
    [clin1 => 'smith',   [16, 11, 13, 14]],
    [clin2 => 'sam',     [12]],
    [admin => "o'b",     [4]],
    [admin => "O'BRIEN", [4]],
    [admin => '  smith ', [16, 11, 12, 13, 14, 15]],   # surrounding blanks do not count
    [admin => 'mith',    []],            # a prefix, not a substring
    [admin => 'zz',      []],
    # SQL metacharacters are text, not syntax or wildcards
    [admin => '%',       []],
    [admin => '_',       []],
    [admin => 's%',      []],
    [admin => 'sm_th',   []],
    [admin => "'",       []],
    [admin => "' OR '1'='1", []],
    [admin => "smith' --", [16, 11, 12, 13, 14, 15]],   # the apostrophe and hyphens are not words
    [admin => '"',       []],
    [admin => '\\',      []],
    [admin => '*',       []],
    [admin => '[a-z]',   []],
);
for my $s (@SEARCHES) {
    my ($user, $q, $want) = @$s;
    my $got = seed_only(search($user, $q));
    is_deeply($got, $want, "$user q='$q': [@$want]") or diag explain $got;
}
{
    # a result list is each client's summary, nothing more
    my $data = json_ok(list_clients('clin1', q => 'zoë'), 200, 'summary row');
    my ($c) = grep { $_->{id} == 3 } @{ $data->{clients} };
    is_deeply($c, { id => 3, first_name => 'Zoë', last_name => 'Núñez', date_of_birth => '1992-03-08',
                    portal_status => 'not_invited', external_id => undef },
              'summary row: id, names as typed, dob, status, chart number (none)')
        or diag explain $c;
    ok(exists $data->{next_cursor} && !defined $data->{next_cursor}, 'one page: next_cursor is null');
    my $dana = json_ok(list_clients('clin1', q => "o'brien"), 200, "O'Brien");
    is($dana->{clients}[0]{last_name}, "O'Brien", "a quote in a name comes back unchanged");
}

# --- sort: last name, first name, id in the practice's language (Álvarez among the As) -------
{
    my %want = (
        clin1 => [5, 1, 26, 2, 20, 24, 29, 25, 17, 21, 18, 3, 4, 16, 11, 13, 14, 27, 28],
        admin => [8, 5, 1, 26, 2, 9, 20, 24, 29, 25, 17, 23, 21, 22, 10, 7, 18, 3, 4,
                  16, 11, 12, 13, 14, 15, 27, 28, 6, 19],
        clin2 => [8, 22, 7, 12, 6, 19],
    );
    for my $user (sort keys %want) {
        my $data = whole_list($user);
        is_deeply(seed_only(ids_of($data)), $want{$user}, "$user: sorted by last, first, id")
            or diag explain ids_of($data);
        is_deeply(ids_of($data), [expected_ids($user)], "$user: order = the stored sort keys compared byte-wise");
    }
    my $data = json_ok(list_clients('clin1', q => '', limit => 100), 200, 'empty q');
    is_deeply(ids_of($data), [expected_ids('clin1')], 'empty q: the whole caseload');
}

# --- list parameters --------------------------------------------------------------------------
for my $limit ('0', '101', 'abc', '-1', '1.5', '', '1e1', '0x10', '99999999999999999999', '5abc') {
    my $res = staff(GET => '/clients?limit=' . q_url($limit), user => 'clin1');
    my $err = error_ok($res, 400, 'invalid_parameter', "limit=$limit");
    is($err->{error}{field}, 'limit', "limit=$limit: field is limit");
}
my $ALL = () = expected_ids('admin');
for my $limit (1, 28, 100) {
    my $data = json_ok(staff(GET => "/clients?limit=$limit", user => 'admin'), 200, "limit=$limit");
    is(scalar @{ $data->{clients} }, $limit < $ALL ? $limit : $ALL, "limit=$limit: that many rows");
    is(defined $data->{next_cursor}, $limit < $ALL, "limit=$limit: next_cursor when there is more");
}
{
    my $data = json_ok(staff(GET => '/clients', user => 'admin'), 200, 'no limit');
    is(scalar @{ $data->{clients} }, $ALL < 50 ? $ALL : 50, 'no limit: up to 50 rows');
}
error_ok(staff(GET => '/clients?sort=name', user => 'clin1'), 400, 'invalid_parameter', 'unknown parameter');
# the search text never rides in a URL (access logs keep URLs): POST /clients/search
for my $q ('zola', '', 'a%C3%A9') {
    my $e = error_ok(staff(GET => "/clients?q=$q", user => 'clin1'), 400, 'invalid_parameter',
                     "GET /clients?q=$q is refused");
    is($e->{error}{field}, 'q', "GET /clients?q=$q: field q");
    like($e->{error}{message}, qr{POST /clients/search}, "GET /clients?q=$q: says where the search goes");
}
{
    my $log = catfile(Apache::Test::vars('t_logs'), 'access_log');
    my $mark = -s $log // 0;
    json_ok(list_clients('clin1', q => 'Zolazzq'), 200, 'a search by POST');
    my $tail = '';
    for (1 .. 50) {                  # httpd writes the line after the answer: wait for it
        open(my $fh, '<', $log) or die "access_log: $!";
        seek $fh, $mark, 0;
        $tail = do { local $/; <$fh> } // '';
        last if $tail =~ m{/clients/search};
        select undef, undef, undef, 0.1;
    }
    unlike($tail, qr/Zolazzq/i, 'the search text is not in the access log');
    like($tail, qr{POST \S*/clients/search}, 'the search request is in the access log');
}
error_ok(list_clients('clin1', q => 'a' x 101), 400, 'invalid_parameter', 'q of 101 characters');
json_ok(list_clients('clin1', q => 'a' x 100), 200, 'q of 100 characters');
json_ok(list_clients('clin1', q => "\x{e9}" x 100), 200, 'q of 100 two-byte characters');
error_ok(list_clients('clin1', q => "a\x01"), 400, 'invalid_parameter', 'q with a control character');
error_ok(staff(POST => '/clients/search', json => { q => 5 }, user => 'clin1'), 400,
         'invalid_parameter', 'q a number');
error_ok(staff(POST => '/clients/search', json => { q => 'a', limit => '5' }, user => 'clin1'), 400,
         'invalid_parameter', 'limit a string');
error_ok(staff(POST => '/clients/search', json => { q => 'a', limit => 0 }, user => 'clin1'), 400,
         'invalid_parameter', 'limit 0');
error_ok(staff(POST => '/clients/search', json => { q => 'a', sort => 'x' }, user => 'clin1'), 400,
         'unknown_field', 'an unknown field');
error_ok(staff(POST => '/clients/search', json => { q => 'a', cursor => 'nonsense' }, user => 'clin1'),
         400, 'invalid_cursor', 'a bad cursor');
error_ok(staff(POST => '/clients/search', json => { q => 'a' }, user => 'clin1', csrf => 0), 403,
         'csrf', 'a search without the X-Requested-With header');

# --- cursors ----------------------------------------------------------------------------------
{
    my $p1 = json_ok(staff(GET => '/clients?limit=2', user => 'admin'), 200, 'first page');
    my $c = $p1->{next_cursor};
    ok(defined $c && $c =~ /^[A-Za-z0-9_-]{40,}$/, 'next_cursor is one base64url token')
        or diag $c;
    my $p2 = json_ok(list_clients('admin', limit => 2, cursor => $c), 200, 'second page');
    my $flip = sub { my ($s, $i) = @_; my $ch = substr($s, $i, 1); substr($s, $i, 1) = $ch eq 'A' ? 'B' : 'A'; $s };
    my $b64u = sub { (my $e = encode_base64($_[0], '')) =~ tr{+/}{-_}; $e =~ s/=+$//; $e };
    my $p2c = $p2->{next_cursor};
    my %bad = (
        'changed at the start'         => $flip->($c, 0),
        'changed in the middle'        => $flip->($c, int(length($c) / 2)),
        'changed at the end'           => $flip->($c, length($c) - 1),
        'cut short'                    => substr($c, 0, length($c) - 4),
        'two cursors glued'            => $c . $p2c,
        'only a dot'                   => '.',
        'empty'                        => '',
        'garbage'                      => 'abc',
        'padding added'                => "$c==",
        'not base64url'                => "$c!",
        'made up keys'                 => $b64u->("a\x{1f}a\x{1f}1" . ("\0" x 28)),
        'very long'                    => ('A' x 3000),
        'SQL in the payload'           => $b64u->("' OR 1=1 --\x{1f}x\x{1f}1" . ("\0" x 28)),
    );
    for my $what (sort keys %bad) {
        my $res = list_clients('admin', limit => 2, cursor => $bad{$what});
        my $err = error_ok($res, 400, 'invalid_cursor', "cursor: $what");
        is($err->{error}{field}, 'cursor', "cursor: $what: field is cursor");
    }
    # cursors travel in URLs (access logs, proxies, browser history): PHI must not
    {
        my $raw = do { (my $b = $c) =~ tr{-_}{+/}; MIME::Base64::decode_base64($b) };
        # the key the cursor seals: "last\x1ffirst\x1fid" of the page's last client
        my $first = $p1->{clients}[1];
        my $key = lc("$first->{last_name}\x{1f}$first->{first_name}");
        utf8::encode($key);
        ok(index($raw, $key) < 0, 'a cursor does not reveal the client names it points after');
    }
    # a cursor belongs to its list: the client list's is no audit-trail cursor
    my $res = staff(GET => "/clients/1/audit?cursor=$c", user => 'admin');
    error_ok($res, 400, 'invalid_cursor', 'a list cursor on the audit trail');
    error_ok(staff(GET => '/clients/1/audit?cursor=abc', user => 'admin'), 400, 'invalid_cursor',
             'audit trail: garbage cursor');
}

# --- SQL metacharacters and quotes in notes round-trip unchanged --------------------------------
my @NOTES = (
    "Robert'); DROP TABLE clients;--",
    q{" OR "1"="1},
    q{' OR '1'='1' --},
    '%s %d %lld %% %',
    '\\N \\0 \\\\ back\\slash',
    '$1 ?1 ?  :name @p',
    '/* comment */ ; -- ;',
    '<script>alert(1)</script> &amp; &lt;',
    "Zoë Núñez 😀 日本語 Иванова",
    "line 1\nline 2\r\n\ttabbed",
    "'",
    "''",
    ' leading and trailing blanks ',
);
for my $note (@NOTES) {
    (my $label = $note) =~ s/[\r\n\t]/ /g;
    my $res = staff(POST => "/clients/$ID/declined", user => 'clin1', json => { note => $note });
    my $v = json_ok($res, 200, "note [$label]");
    is($v->{declined_by_client}{note}, $note, "note [$label]: answered unchanged");
    is(client_row($ID)->{declined_note}, $note, "note [$label]: stored unchanged");
    my $again = json_ok(staff(GET => "/clients/$ID", user => 'clin1'), 200, "note [$label]: view");
    is($again->{declined_by_client}{note}, $note, "note [$label]: read back unchanged");
}
{
    my $dbh = db();
    my ($n) = $dbh->selectrow_array('SELECT count(*) FROM clients');
    cmp_ok($n, '>=', 29, 'the clients table is still there');
}

# --- note length and content ------------------------------------------------------------------
for my $case (['x' x 500, 200], ['é' x 500, 200], ['😀' x 500, 200],
              ['x' x 501, 422], ['é' x 501, 422], ['😀' x 501, 422]) {
    my ($note, $status) = @$case;
    my $name = 'note of ' . length($note) . ' × ' . substr($note, 0, 1);
    my $before = snapshot();
    my $res = staff(POST => "/clients/$ID/declined", user => 'clin1', json => { note => $note });
    if ($status == 200) {
        my $v = json_ok($res, 200, $name);
        is($v->{declined_by_client}{note}, $note, "$name: kept whole");
    }
    else {
        my $err = error_ok($res, 422, 'invalid_note', $name);
        is($err->{error}{field}, 'note', "$name: field is note");
        unchanged_ok($before, $name);
    }
}
for my $case (["bell\x07", 'a control character'], ["del\x7f", 'DEL'], ["nel\x{85}", 'a C1 control'],
              [5, 'a number'], [JSON::PP::true(), 'a boolean'], [[], 'an array'], [{}, 'an object']) {
    my ($note, $what) = @$case;
    my $before = snapshot();
    my $res = staff(POST => "/clients/$ID/declined", user => 'clin1', json => { note => $note });
    error_ok($res, 422, 'invalid_note', "note is $what");
    unchanged_ok($before, "note is $what");
}
{
    my $v = json_ok(staff(POST => "/clients/$ID/declined", user => 'clin1', json => { note => undef }),
                    200, 'note null');
    ok(exists $v->{declined_by_client}{note} && !defined $v->{declined_by_client}{note}, 'note null: no note');
    $v = json_ok(staff(POST => "/clients/$ID/declined", user => 'clin1', json => { note => '' }), 200, 'note ""');
    ok(!defined $v->{declined_by_client}{note}, 'note "": no note');
    $v = json_ok(staff(POST => "/clients/$ID/declined", user => 'clin1'), 200, 'no body');
    ok(!defined $v->{declined_by_client}{note}, 'no body: no note');
}

# --- bodies: size ------------------------------------------------------------------------------
sub padded_body {
    my ($size) = @_;
    my $json = '{"note":"padded"}';
    return $json . (' ' x ($size - length $json));
}
{
    my $before = snapshot();
    my $res = staff(POST => "/clients/$ID/declined", user => 'clin1', json => { note => 'x' x 70000 });
    error_ok($res, 413, 'body_too_large', 'a 70 kB body');
    unchanged_ok($before, 'a 70 kB body');

    $res = staff(POST => "/clients/$ID/declined", user => 'clin1', json => padded_body(65537));
    error_ok($res, 413, 'body_too_large', 'a body of 65537 bytes');
    unchanged_ok($before, 'a body of 65537 bytes');

    $res = staff(PUT => "/clients/$ID/email", user => 'clin1', json => '{"email":"' . ('a' x 80000) . '@example.org"}');
    error_ok($res, 413, 'body_too_large', 'PUT email, an 80 kB body');
    unchanged_ok($before, 'PUT email, an 80 kB body');

    my $v = json_ok(staff(POST => "/clients/$ID/declined", user => 'clin1', json => padded_body(65536)),
                    200, 'a body of exactly 65536 bytes');
    is($v->{declined_by_client}{note}, 'padded', 'a body of exactly 65536 bytes: read whole');
}
# chunked, no Content-Length: the limit holds while reading
sub raw_request {
    my ($method, $path, $head, $body_chunks) = @_;
    my ($host, $port) = own_origin() =~ m{^http://([^:/]+):(\d+)$};
    my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port, Timeout => 20)
        or return "connect: $!";
    my $auth = encode_base64('clin1:' . PortalTest::password_for('clin1'), '');
    print $sock "$method " . staff_path($path) . " HTTP/1.1\r\nHost: $host:$port\r\n"
        . "Authorization: Basic $auth\r\nX-Requested-With: portal-manager\r\n"
        . "Content-Type: application/json\r\nConnection: close\r\n$head\r\n";
    for my $chunk (@$body_chunks) {
        last unless print $sock sprintf("%x\r\n%s\r\n", length $chunk, $chunk);
    }
    print $sock "0\r\n\r\n";
    local $/;
    my $answer = <$sock>;
    return $answer // '';
}
{
    my $before = snapshot();
    my @chunks = ('{"note":"', ('y' x 10000) x 7, '"}');
    my $answer = raw_request(POST => "/clients/$ID/declined", "Transfer-Encoding: chunked\r\n", \@chunks);
    like($answer, qr{^HTTP/1\.1 413 }, 'chunked 70 kB body: 413') or diag substr($answer, 0, 300);
    like($answer, qr/"code":"body_too_large"/, 'chunked 70 kB body: body_too_large');
    unchanged_ok($before, 'chunked 70 kB body');

    $answer = raw_request(POST => "/clients/$ID/declined", "Transfer-Encoding: chunked\r\n",
                          ['{"note":', '"chunked"}']);
    like($answer, qr{^HTTP/1\.1 200 }, 'small chunked body: 200') or diag substr($answer, 0, 300);
    is(client_row($ID)->{declined_note}, 'chunked', 'small chunked body: read');
}

# --- bodies: JSON ------------------------------------------------------------------------------
my @BROKEN = (
    ['{"email":'                                   => 'invalid_json', 'cut short'],
    ['{email:"a@example.org"}'                     => 'invalid_json', 'unquoted key'],
    [q({'email':'a@example.org'})                  => 'invalid_json', 'single quotes'],
    ['{"email":"a@example.org",}'                  => 'invalid_json', 'trailing comma'],
    ['{"email":"a@example.org"} {}'                => 'invalid_json', 'two documents'],
    ['{"email":"a@example.org"}x'                  => 'invalid_json', 'trailing bytes'],
    ["{\"email\":\"a\xff\@example.org\"}"          => 'invalid_json', 'not UTF-8'],
    ['[]'                                          => 'invalid_json', 'an array'],
    ['"a@example.org"'                             => 'invalid_json', 'a string'],
    ['null'                                        => 'invalid_json', 'null'],
    ['{"email":"a@example.org","email":"b@example.org"}' => 'invalid_json', 'duplicate key'],
    ['{"email":"a@example.org","emial":"b@example.org"}' => 'unknown_field', 'unknown field'],
    ['{"email":"a@example.org","id":5}'            => 'unknown_field', 'id may not be set'],
    ['{"email":"a@example.org","status":"active"}' => 'unknown_field', 'status may not be set'],
    ['{"email":"a@example.org","portal_status":"active"}' => 'unknown_field', 'portal_status may not be set'],
    ['{"email":"a@example.org","first_name":"X"}'  => 'unknown_field', 'names are not set here'],
    ['{"email":"bad","id":5}'                      => 'unknown_field', 'unknown field and a bad email'],
);
for my $case (@BROKEN) {
    my ($body, $code, $what) = @$case;
    my $before = snapshot();
    my $res = staff(PUT => "/clients/$ID/email", user => 'clin1', json => $body);
    my $err = error_ok($res, 400, $code, "PUT email: $what");
    is($err->{error}{field}, ($body =~ /"(emial|id|status|portal_status|first_name)"/)[0], "PUT email: $what: field")
        if $code eq 'unknown_field';
    unchanged_ok($before, "PUT email: $what");
}
for my $case (
    [POST   => "/clients/$ID/declined",    '{"note":"x","declined_at":0}',        'declined_at'],
    [POST   => "/clients/$ID/declined",    '{"note":"x","declined_by":"admin"}',  'declined_by'],
    [POST   => "/clients/$ID/declined",    '{"note":"a","note":"b"}',             undef],
    [POST   => "/clients/$ID/declined",    '{"notes":"x"}',                       'notes'],
    [DELETE => "/clients/$ID/declined",    '{"note":"x"}',                        'note'],
    [PUT    => "/clients/$ID/preferences", '{"statement_notifications":true,"id":1}', 'id'],
    [PUT    => "/clients/$ID/preferences", '{"statement_notifications":true,"email_notifications":true}', 'email_notifications'],
    [PUT    => "/clients/$ID/preferences", '{"statement_notifications":true,"statement_notifications":false}', undef],
    [POST   => "/clients/$ID/invitations", '{"email":"other@example.org"}',       'email'],
    [POST   => "/clients/$ID/invitations", '{"status":"accepted"}',               'status'],
) {
    my ($method, $path, $body, $field) = @$case;
    my $before = snapshot();
    my $res = staff($method => $path, user => 'clin1', json => $body);
    my $err = error_ok($res, 400, defined $field ? 'unknown_field' : 'invalid_json', "$method $path $body");
    is($err->{error}{field}, $field, "$method $path $body: field $field") if defined $field;
    unchanged_ok($before, "$method $path $body");
}
for my $value (1, 0, '"true"', 'null', '[]') {
    my $before = snapshot();
    my $res = staff(PUT => "/clients/$ID/preferences", user => 'clin1', json => "{\"statement_notifications\":$value}");
    error_ok($res, 422, 'invalid_preference', "statement_notifications: $value");
    unchanged_ok($before, "statement_notifications: $value");
}
{
    my $before = snapshot();
    error_ok(staff(PUT => "/clients/$ID/preferences", user => 'clin1'), 422, 'invalid_preference',
             'PUT preferences without a body');
    error_ok(staff(PUT => "/clients/$ID/email", user => 'clin1'), 422, 'invalid_email', 'PUT email without a body');
    unchanged_ok($before, 'PUT without a body');
}

# --- email rules --------------------------------------------------------------------------------
my $l64 = 'l' x 64;
my $dom189 = join '.', 'b' x 63, 'c' x 63, 'd' x 57, 'org';     # 189 characters
my $dom190 = join '.', 'b' x 63, 'c' x 63, 'd' x 58, 'org';
is(length("$l64\@$dom189"), 254, 'fixture: a 254-character address');

my @VALID = (
    'a@b.co',
    "$l64\@example.org",                  # local part of exactly 64
    "$l64\@$dom189",                      # exactly 254
    "O'Brien+tag\@Example.ORG",           # a quote that RFC 5321 allows, kept as typed
    'first.last@sub.example-domain.org',
    'x_y=z!#$%&*/?^`{|}~-@example.org',
    'a@123.45',
    'a@' . ('b' x 63) . '.org',
);
for my $email (@VALID) {
    my $v = json_ok(staff(PUT => "/clients/$ID/email", user => 'clin1', json => { email => $email }),
                    200, "valid email <$email>");
    is($v->{email}, $email, "valid email <$email>: answered as typed");
    is(client_row($ID)->{email}, $email, "valid email <$email>: stored as typed");
}

my @INVALID = (
    # rule => [addresses]
    'one @'                 => ['plainaddress', 'a@b@example.org', 'a@@example.org', 'a@example.org@'],
    'something before @'   => ['@example.org'],
    'local part <= 64'      => [('l' x 65) . '@example.org'],
    'total <= 254'          => ["$l64\@$dom190", ('a' x 60) . '@' . join('.', ('b' x 50) x 4) . '.org'],
    'no whitespace'         => ['a b@example.org', ' a@example.org', 'a@example.org ', "a\t\@example.org",
                                'a@exa mple.org', "a\@example.org\n", "a\x{a0}b\@example.org", "a\@example.org\r\n"],
    'no quotes'             => ['"a"@example.org', 'a"b@example.org', '"a b"@example.org'],
    'no control characters' => ["a\x01\@example.org", "a\x7f\@example.org", "a\@exam\x1fple.org",
                                "a\x1b[31m\@example.org", "a\@example.org\x{85}"],
    'a dotted domain'       => ['a@localhost', 'a@', 'a@org', 'a@.example.org', 'a@example.org.',
                                'a@example..org'],
    'letters, digits, hyphens in the domain' =>
                               ['a@exa_mple.org', 'a@exämple.org', 'a@[127.0.0.1]', 'a@example.org:25',
                                'a@example.org/x', "a\@example.org'", 'a@-example.org', 'a@example-.org',
                                'a@example.o*g'],
    'domain labels <= 63'   => ['a@' . ('b' x 64) . '.org'],
    'dots in the local part' => ['.a@example.org', 'a.@example.org', 'a..b@example.org'],
    'not empty'             => [''],
);
while (my ($rule, $list) = splice @INVALID, 0, 2) {
    for my $email (@$list) {
        (my $shown = $email) =~ s/([^\x20-\x7e])/sprintf '\\x{%x}', ord $1/ge;
        my $name = "invalid email ($rule) <$shown>";
        my $before = snapshot();
        my $res = staff(PUT => "/clients/$ID/email", user => 'clin1', json => { email => $email });
        my $err = error_ok($res, 422, 'invalid_email', $name);
        is($err->{error}{field}, 'email', "$name: field is email");
        unchanged_ok($before, $name);
    }
}
for my $case ([123, 'a number'], [undef, 'null'], [[], 'an array'], [{}, 'an object'], [JSON::PP::true(), 'true']) {
    my ($email, $what) = @$case;
    my $before = snapshot();
    error_ok(staff(PUT => "/clients/$ID/email", user => 'clin1', json => { email => $email }),
             422, 'invalid_email', "email is $what");
    unchanged_ok($before, "email is $what");
}
{
    # NUL: refused either as an address (422) or as JSON this API does not take (400)
    my $before = snapshot();
    my $res = staff(PUT => "/clients/$ID/email", user => 'clin1', json => '{"email":"a\u0000b@example.org"}');
    ok($res->code == 422 || $res->code == 400, 'email with NUL: refused (400 or 422)')
        or diag $res->status_line . ' ' . $res->content;
    unchanged_ok($before, 'email with NUL');
}

done_testing();
