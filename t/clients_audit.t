# t/clients_audit.t — the audit trail of issue 3: one row for every view of a client,
# every change and every denial (at, username, action, client_id, result, remote_ip,
# request_id = the response's X-Request-Id); never an email address or note text in
# detail; GET /clients/{id}/audit newest first, keyset paged; the table is append-only
# at the database level. Uses client 26 (clin1's).
use strict;
use warnings;
use utf8;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use Test::More;
use JSON::PP ();
use PortalTest;
use PortalTest::Clients;

my $ID = 26;
my $SECRET_EMAIL = 'pat.audit.secret+tag@Secret-Domain.example';
my $SECRET_NOTE = 'Confidential: client said no on 2 May (ref Q-7781)';
my @SECRETS = ($SECRET_EMAIL, 'pat.audit.secret', 'Secret-Domain', 'secret-domain', 'pat.audit@example.test',
               'Confidential', 'Q-7781');

my @request_ids;

# one request, one audit row: check it and that detail holds no secret
sub audited_ok {
    my ($name, $want, $res_status, @req) = @_;
    my $mark = audit_mark();
    my $res = staff(@req);
    is($res->code, $res_status, "$name: status $res_status") or diag $res->content;
    my @rows = grep { $_->{client_id} && $_->{client_id} == ($want->{client_id} // $ID) } audit_since($mark);
    audit_row_ok(\@rows, $res, { client_id => $ID, %$want }, $name);
    for my $row (@rows) {
        my $detail = $row->{detail} // '';
        for my $s (@SECRETS) {
            unlike($detail, qr/\Q$s\E/i, "$name: detail holds no '$s'");
        }
        unlike($detail, qr/@/, "$name: detail holds no address");
        if (length $detail) {
            my $d = eval { JSON::PP->new->decode($detail) };
            ok(ref $d eq 'HASH', "$name: detail is a JSON object") or diag $detail;
        }
    }
    push @request_ids, $res->header('X-Request-Id');
    return ($res, $rows[0]);
}

# --- every view and change writes one row ----------------------------------------------------
audited_ok('view', { action => 'client.view', username => 'clin1', result => 'ok', object_id => undef },
           200, GET => "/clients/$ID", user => 'clin1');
audited_ok('view by admin', { action => 'client.view', username => 'admin', result => 'ok' },
           200, GET => "/clients/$ID", user => 'admin');
{
    my (undef, $row) = audited_ok('email change', { action => 'client.email_change', username => 'clin1', result => 'ok' },
               200, PUT => "/clients/$ID/email", user => 'clin1', json => { email => $SECRET_EMAIL });
    is(client_row($ID)->{email}, $SECRET_EMAIL, 'email change: stored');
}
{
    my (undef, $row) = audited_ok('declined with a note', { action => 'client.declined', username => 'clin1', result => 'ok' },
               200, POST => "/clients/$ID/declined", user => 'clin1', json => { note => $SECRET_NOTE });
    is(client_row($ID)->{declined_note}, $SECRET_NOTE, 'declined: note stored (in clients, not the audit)');
}
audited_ok('declined cleared', { action => 'client.declined_cleared', username => 'clin1', result => 'ok' },
           200, DELETE => "/clients/$ID/declined", user => 'clin1');
audited_ok('preferences', { action => 'client.preferences', username => 'clin1', result => 'ok' },
           200, PUT => "/clients/$ID/preferences", user => 'clin1', json => { statement_notifications => JSON::PP::false() });
{
    my ($res, $row) = audited_ok('invite', { action => 'invitation.create', username => 'clin1', result => 'ok' },
                                 201, POST => "/clients/$ID/invitations", user => 'clin1');
    my $inv = decode_json_body($res);
    is($row && $row->{object_id}, $inv->{id}, 'invite: object_id is the invitation');
    # the email change that supersedes it is audited without either address
    audited_ok('email change superseding the invitation',
               { action => 'client.email_change', username => 'clin1', result => 'ok' },
               200, PUT => "/clients/$ID/email", user => 'clin1', json => { email => 'pat.audit@example.test' });
}
audited_ok('audit trail view', { action => 'client.audit_view', username => 'clin1', result => 'ok' },
           200, GET => "/clients/$ID/audit", user => 'clin1');
audited_ok('denied view', { action => 'client.view', username => 'clin2', result => 'denied', detail => undef },
           404, GET => "/clients/$ID", user => 'clin2');
audited_ok('denied change', { action => 'client.email_change', username => 'clin2', result => 'denied' },
           404, PUT => "/clients/$ID/email", user => 'clin2', json => { email => 'x@example.org' });
audited_ok('denied audit view', { action => 'client.audit_view', username => 'clin2', result => 'denied' },
           404, GET => "/clients/$ID/audit", user => 'clin2');

# a refused request that never reached the client writes nothing about it
{
    my $mark = audit_mark();
    staff(PUT => "/clients/$ID/email", user => 'clin1', json => { email => 'not an address' });   # 422
    staff(PUT => "/clients/$ID/email", user => 'clin1', csrf => 0, json => { email => 'a@example.org' });   # 403 csrf
    staff(GET => "/clients/$ID", user => 'inactive');    # 403 not_staff
    my @rows = audit_since($mark);
    ok(!grep({ ($_->{result} // '') eq 'ok' } @rows), 'refused requests are never audited as ok')
        or diag explain \@rows;
    is(client_row($ID)->{email}, 'pat.audit@example.test', 'refused requests changed nothing');
}

# --- GET /clients/{id}/audit ----------------------------------------------------------------------
{
    my $res = staff(GET => "/clients/$ID/audit", user => 'clin1');
    my $data = json_ok($res, 200, 'GET audit trail');
    my @e = @{ $data->{entries} || [] };
    ok(@e >= @request_ids, 'audit trail: every event so far') or diag scalar(@e) . ' entries';
    my @ids = map { $_->{id} } @e;
    is_deeply(\@ids, [sort { $b <=> $a } @ids], 'audit trail: newest first');
    my %rid = map { ($_->{request_id} // '') => $_ } @e;
    ok(!grep({ !$rid{$_} } @request_ids), 'audit trail: holds each request id')
        or diag explain [grep { !$rid{$_} } @request_ids];
    is_deeply([sort keys %{ $e[0] }], [qw(action at detail display_name id object_id request_id result username)],
              'audit entry: its fields');
    like($e[0]{at}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, 'audit entry: at is RFC 3339 UTC');
    my ($denied) = grep { $_->{result} eq 'denied' } @e;
    is($denied && $denied->{username}, 'clin2', 'audit trail: shows the denial');
    my ($pref) = grep { $_->{action} eq 'client.preferences' } @e;
    is_deeply($pref && $pref->{detail}, { statement_notifications => JSON::PP::false() },
              'audit trail: detail is JSON');
    for my $s (@SECRETS) {
        unlike($res->content, qr/\Q$s\E/i, "audit trail: no '$s' anywhere");
    }
    my $other = json_ok(staff(GET => '/clients/1/audit', user => 'clin1'), 200, 'another client\'s trail');
    ok(!grep({ $rid{$_->{request_id} // ''} } @{ $other->{entries} }), 'another client\'s trail: none of these');
}

# --- paging: 60 more views, then every page -------------------------------------------------------
{
    staff(GET => "/clients/$ID", user => 'clin1') for 1 .. 60;
    my $dbh = db();
    my $want = $dbh->selectcol_arrayref('SELECT id FROM audit_log WHERE client_id = ? ORDER BY id DESC', undef, $ID);
    $dbh->disconnect;
    my (@got, @sizes);
    my $cursor;
    while (1) {
        my $res = staff(GET => "/clients/$ID/audit" . (defined $cursor ? "?cursor=$cursor" : ''), user => 'clin1');
        my $data = json_ok($res, 200, 'audit page ' . (@sizes + 1));
        push @got, map { $_->{id} } @{ $data->{entries} || [] };
        push @sizes, scalar @{ $data->{entries} || [] };
        $cursor = $data->{next_cursor};
        last if !defined $cursor || @sizes > 20;
    }
    is_deeply(\@got, $want, 'audit pages: every row once, newest first') or diag "sizes: @sizes";
    is($sizes[0], 50, 'audit pages: 50 a page');
    cmp_ok(scalar @sizes, '>=', 2, 'audit pages: more than one');
    # tampering with the cursor
    my $p1 = decode_json_body(staff(GET => "/clients/$ID/audit", user => 'clin1'));
    (my $bad = $p1->{next_cursor}) =~ s/^(.)/$1 eq 'A' ? 'B' : 'A'/e;
    error_ok(staff(GET => "/clients/$ID/audit?cursor=$bad", user => 'clin1'), 400, 'invalid_cursor', 'audit: tampered cursor');
    error_ok(staff(GET => "/clients/$ID/audit?cursor=$p1->{next_cursor}", user => 'clin2'), 404, 'not_found',
             'audit: a cursor does not open a foreign client');
}

# --- append-only, at the database level -----------------------------------------------------------
{
    my $dbh = db();
    local $dbh->{PrintError} = 0;
    my ($id) = $dbh->selectrow_array('SELECT max(id) FROM audit_log WHERE client_id = ?', undef, $ID);
    my $row = $dbh->selectrow_hashref('SELECT * FROM audit_log WHERE id = ?', undef, $id);
    my ($count) = $dbh->selectrow_array('SELECT count(*) FROM audit_log');
    my $is_pg = db_driver() eq 'pgsql';

    my %attempts = (
        'UPDATE one row'  => ["UPDATE audit_log SET result = 'ok', detail = NULL WHERE id = ?", $id],
        'UPDATE all rows' => ["UPDATE audit_log SET username = 'nobody'"],
        'DELETE one row'  => ['DELETE FROM audit_log WHERE id = ?', $id],
        'DELETE all rows' => ['DELETE FROM audit_log'],
        $is_pg
            ? ('TRUNCATE' => ['TRUNCATE audit_log'],
               'INSERT ... ON CONFLICT DO UPDATE' =>
                   ["INSERT INTO audit_log (id, at, username, action, result) OVERRIDING SYSTEM VALUE "
                    . "VALUES (?, 0, 'x', 'x', 'x') ON CONFLICT (id) DO UPDATE SET username = 'x'", $id])
            : ('INSERT OR REPLACE an existing id' =>
                   ["INSERT OR REPLACE INTO audit_log (id, at, username, action, result) VALUES (?, 0, 'x', 'x', 'x')", $id],
               'REPLACE an existing id' =>
                   ["REPLACE INTO audit_log (id, at, username, action, result) VALUES (?, 0, 'x', 'x', 'x')", $id]),
    );
    for my $what (sort keys %attempts) {
        my ($sql, @bind) = @{ $attempts{$what} };
        my $ok = eval { $dbh->do($sql, undef, @bind); 1 };
        ok(!$ok, "audit_log: $what fails") or diag "it succeeded: $sql";
        like($@ // '', qr/append-only|audit_log/i, "audit_log: $what: refused by the schema") unless $ok && !$@;
    }
    my $after = $dbh->selectrow_hashref('SELECT * FROM audit_log WHERE id = ?', undef, $id);
    is_deeply($after, $row, 'audit_log: the row is unchanged');
    my ($count_after) = $dbh->selectrow_array('SELECT count(*) FROM audit_log');
    is($count_after, $count, 'audit_log: no row gone');
    # appending is what it is for
    ok(eval { $dbh->do("INSERT INTO audit_log (at, username, action, result) VALUES (0, 'test', 'test.append', 'ok')"); 1 },
       'audit_log: INSERT works') or diag $@;
    $dbh->disconnect;
}

done_testing();
