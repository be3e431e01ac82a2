package PortalTest::Clients;
# PortalTest::Clients — helpers for the client API tests (t/clients_*.t): database
# snapshots ("a refused request changes nothing"), audit rows written by a request,
# the expected Client dropdown order, walking every page of the list.
#
#   my $before = snapshot();  ...  unchanged_ok($before, 'foreign PUT email');
#   my $mark = audit_mark();  my $res = staff(...);  my @rows = audit_since($mark);
#   audit_row_ok(\@rows, $res, {action => 'client.view', username => 'clin1',
#                               client_id => 21, result => 'denied'}, 'name');
#   my @ids = expected_ids('clin1');                   # visible ids, in dropdown order
#   my ($ids, $pages, $err) = walk_list('clin1', 3, 'smi');
use strict;
use warnings;

use Exporter 'import';
use Apache::TestRequest ();
use Test::More ();
use URI::Escape qw(uri_escape_utf8);
use PortalTest;

our @EXPORT = qw(
    client_row client_rows snapshot unchanged_ok audit_mark audit_since audit_row_ok audit_chain_problems
    own_origin visible_client_ids expected_ids sort_clients walk_list list_path list_clients
    invitation_rows q_url whole_list
);

# One clients row as a hash (column => value), or undef.
sub client_row {
    my $id = shift;
    my $dbh = db();
    my $row = $dbh->selectrow_hashref('SELECT * FROM clients WHERE id = ?', undef, $id);
    $dbh->disconnect;
    return $row;
}

# All clients rows, keyed by id.
sub client_rows {
    my $dbh = db();
    my $rows = $dbh->selectall_hashref('SELECT * FROM clients', 'id');
    $dbh->disconnect;
    return $rows;
}

sub invitation_rows {
    my $client_id = shift;
    my $dbh = db();
    my $rows = $dbh->selectall_arrayref(
        'SELECT * FROM invitations WHERE client_id = ? ORDER BY id', { Slice => {} }, $client_id);
    $dbh->disconnect;
    return $rows;
}

# Everything a staff request could change, except the audit trail (which refused
# requests append to) and what the delivery worker changes on its own (token_hash,
# sent_at, send_count of invitations; outbox status, attempts, leases).
sub snapshot {
    my $dbh = db();
    my %s;
    my $all = sub { $dbh->selectall_arrayref($_[0], { Slice => {} }) };
    $s{clients}         = $all->('SELECT * FROM clients ORDER BY id');
    $s{staff}           = $all->('SELECT * FROM staff ORDER BY username');
    $s{staff_clients}   = $all->('SELECT * FROM staff_clients ORDER BY username, client_id');
    $s{representatives} = $all->('SELECT * FROM representatives ORDER BY id');
    $s{invitations}     = $all->('SELECT id, client_id, representative_id, email, status, created_by, '
                               . 'created_at, expires_at, responded_at, verify_failures '
                               . 'FROM invitations ORDER BY id');
    $s{outbox}          = $all->('SELECT id, invitation_id, message_id, created_at FROM outbox ORDER BY id');
    $s{portal_accounts} = $all->('SELECT * FROM portal_accounts ORDER BY id');
    $s{settings}        = $all->('SELECT * FROM settings ORDER BY name');
    $s{superseded_tokens} = $all->('SELECT * FROM superseded_tokens ORDER BY token_hash');
    $dbh->disconnect;
    # numbers from DBD::Pg/DBD::SQLite may come back as strings or numbers: compare as text
    for my $t (values %s) {
        for my $row (@$t) { $_ = defined $_ ? "$_" : undef for values %$row }
    }
    return \%s;
}

# unchanged_ok($before, $name): the database is as snapshot() saw it
sub unchanged_ok {
    my ($before, $name) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    my $after = snapshot();
    my @changed = grep { !Test::More::eq_array($before->{$_}, $after->{$_}) } sort keys %$before;
    my $ok = Test::More::ok(!@changed, "$name: database unchanged");
    Test::More::diag("changed tables: @changed") unless $ok;
    for my $t (@changed) {
        Test::More::diag(Test::More::explain({ table => $t, before => $before->{$t}, after => $after->{$t} }));
    }
    return $ok;
}

sub audit_mark {
    my $dbh = db();
    my ($id) = $dbh->selectrow_array('SELECT coalesce(max(id), 0) FROM audit_log');
    $dbh->disconnect;
    return $id;
}

# The audit rows written after audit_mark() returned $mark, oldest first.
sub audit_since {
    my $mark = shift;
    my $dbh = db();
    my $rows = $dbh->selectall_arrayref('SELECT * FROM audit_log WHERE id > ? ORDER BY id',
                                        { Slice => {} }, $mark);
    $dbh->disconnect;
    return @$rows;
}

# The audit chain (src/core/pm_audit_chain.c) checked again here, independently of
# the C code: the chained rows written after $mark, in chain order, must take
# consecutive places, each hash the SHA-256 of the documented encoding over its
# predecessor's hash. Returns the problems found (none: an empty list).
sub audit_chain_problems {
    my $mark = shift;
    require Digest::SHA;
    require Encode;
    my $dbh = db();
    my $rows = $dbh->selectall_arrayref(
        'SELECT * FROM audit_log WHERE id > ? AND chain_seq IS NOT NULL ORDER BY chain_seq',
        { Slice => {} }, $mark);
    return ('no chained rows') unless @$rows;
    my ($prev) = $dbh->selectrow_array('SELECT row_hash FROM audit_log WHERE chain_seq = ?',
                                       undef, $rows->[0]{chain_seq} - 1);
    $dbh->disconnect;
    $prev //= '0' x 64 if $rows->[0]{chain_seq} == 1;
    my $enc = sub {
        my $v = shift;
        return "-\n" unless defined $v;
        my $b = Encode::encode_utf8("$v");
        return length($b) . ":$b\n";
    };
    my (@problems, $seq);
    for my $r (@$rows) {
        push @problems, "place $r->{chain_seq} after $seq" if defined $seq && $r->{chain_seq} != $seq + 1;
        my $data = join '', map { $enc->($_) } 'pm-audit-v1', $prev, $r->{chain_seq},
            @{$r}{qw(at username action client_id object_id result detail remote_ip request_id)};
        push @problems, "row $r->{id} (place $r->{chain_seq}): hash"
            unless defined $prev && Digest::SHA::sha256_hex($data) eq $r->{row_hash};
        ($prev, $seq) = ($r->{row_hash}, $r->{chain_seq});
    }
    return @problems;
}

# audit_row_ok(\@rows, $res, \%want, $name): exactly one row, with the wanted values,
# request_id = the response's X-Request-Id, remote_ip 127.0.0.1, at = now (± 60 s).
sub audit_row_ok {
    my ($rows, $res, $want, $name) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    my @bad;
    push @bad, scalar(@$rows) . ' audit rows, want 1' unless @$rows == 1;
    if (my $row = $rows->[0]) {
        for my $k (sort keys %$want) {
            my ($got, $exp) = ($row->{$k}, $want->{$k});
            push @bad, "$k is " . ($got // 'NULL') . ', want ' . ($exp // 'NULL')
                unless (!defined $got && !defined $exp) || (defined $got && defined $exp && "$got" eq "$exp");
        }
        my $rid = $res->header('X-Request-Id');
        push @bad, 'no X-Request-Id header' unless defined $rid && length $rid;
        push @bad, 'request_id is ' . ($row->{request_id} // 'NULL') . ', X-Request-Id is ' . ($rid // '-')
            unless defined $rid && defined $row->{request_id} && $row->{request_id} eq $rid;
        push @bad, 'remote_ip is ' . ($row->{remote_ip} // 'NULL')
            unless ($row->{remote_ip} // '') =~ /^(127\.0\.0\.1|::1|::ffff:127\.0\.0\.1)$/;
        push @bad, 'at is ' . ($row->{at} // 'NULL') . ', not now'
            unless defined $row->{at} && abs($row->{at} - time) < 60;
    }
    my $ok = Test::More::ok(!@bad, "$name: audit row");
    Test::More::diag(join("\n", @bad) . "\n" . Test::More::explain($rows)) unless $ok;
    return $ok;
}

# The origin a browser on our page would send: scheme://host:port of the test server.
sub own_origin {
    my $old = Apache::TestRequest::module();
    Apache::TestRequest::module('default');
    my $url = Apache::TestRequest::resolve_url('/');
    Apache::TestRequest::module($old // 'default');
    $url =~ s{/+$}{};
    return $url;
}

# The ids of the clients USER sees in the Client dropdown: active ones (not discharged),
# all of them or their staff_clients rows.
sub visible_client_ids {
    my $user = shift;
    my $dbh = db();
    my ($all) = $dbh->selectrow_array('SELECT all_clients FROM staff WHERE username = ?', undef, $user);
    my $ids = $all
        ? $dbh->selectcol_arrayref('SELECT id FROM clients WHERE active = 1')
        : $dbh->selectcol_arrayref('SELECT sc.client_id FROM staff_clients sc JOIN clients c '
                                   . 'ON c.id = sc.client_id WHERE sc.username = ? AND c.active = 1',
                                   undef, $user);
    $dbh->disconnect;
    return map { $_ + 0 } @$ids;
}

# Dropdown order: the module's sort key (ICU, collation_locale; hex text compared
# byte-wise), then id. The module computes missing keys on the first list after a
# client row is written without them (the seed's rows): one list request first.
sub sort_clients {
    my @ids = @_;
    staff(GET => '/clients?limit=1', user => 'admin');
    my $rows = client_rows();
    return sort {
        ($rows->{$a}{sort_key} // '') cmp ($rows->{$b}{sort_key} // '') || $a <=> $b
    } @ids;
}

sub expected_ids { sort_clients(visible_client_ids($_[0])) }

sub q_url { uri_escape_utf8($_[0]) }

sub list_path {
    my (%p) = @_;
    my @q;
        push @q, "limit=$p{limit}" if defined $p{limit};
    push @q, 'cursor=' . q_url($p{cursor}) if defined $p{cursor};
    return '/clients' . (@q ? '?' . join('&', @q) : '');
}

# list_clients(USER, q => Q, limit => N, cursor => C): one page of the Client dropdown.
# A search goes in the body of POST /clients/search (never in a URL); without q it is
# GET /clients?limit=&cursor=.
# The whole unsearched list as USER sees it, page after page of 100 (other files leave
# clients behind: the suite can hold more than one page), as { clients => [...] }; each
# page answered 200 as JSON, else a failed check and what was read so far.
sub whole_list {
    my ($user) = @_;
    my (@rows, $cursor);
    for (1 .. 50) {
        my $r = staff(GET => list_path(limit => 100, (defined $cursor ? (cursor => $cursor) : ())), user => $user);
        my $data = $r->code == 200 ? PortalTest::decode_json_body($r) : undef;
        Test::More::ok($data, "$user: the whole list, page " . ($_)) or last;
        push @rows, @{ $data->{clients} || [] };
        $cursor = $data->{next_cursor};
        last unless defined $cursor;
    }
    return { clients => \@rows };
}

sub list_clients {
    my ($user, %p) = @_;
    return staff(GET => list_path(%p), user => $user) unless defined $p{q};
    my %body = (q => $p{q});
    $body{limit} = 0 + $p{limit} if defined $p{limit};
    $body{cursor} = $p{cursor} if defined $p{cursor};
    return staff(POST => '/clients/search', json => \%body, user => $user);
}

# walk_list(USER, LIMIT, Q): follow next_cursor from the first page to the last.
# Returns (\@ids, \@page_sizes, $error) — $error describes the first bad page.
sub walk_list {
    my ($user, $limit, $q) = @_;
    my (@ids, @sizes);
    my $cursor;
    while (1) {
        my $res = list_clients($user, q => $q, limit => $limit, cursor => $cursor);
        my $data = decode_json_body($res);
        return (\@ids, \@sizes, 'page ' . (@sizes + 1) . ': ' . $res->status_line . ' ' . $res->content)
            unless $res->code == 200 && ref $data eq 'HASH' && ref $data->{clients} eq 'ARRAY';
        push @ids, map { $_->{id} } @{ $data->{clients} };
        push @sizes, scalar @{ $data->{clients} };
        last unless defined $data->{next_cursor};
        return (\@ids, \@sizes, 'more than 1000 pages') if @sizes > 1000;
        $cursor = $data->{next_cursor};
    }
    return (\@ids, \@sizes, undef);
}

1;
