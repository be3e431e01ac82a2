# t/invitations_bulk.t — POST /invitations/bulk (docs/api.md, issue 15): one result per id
# in the request's order (queued, or skipped with the reason the single invite would give),
# a client outside the caseload reads as not_found (audited denied), one transaction per
# client, an invitation.bulk audit row with the counts, the emails actually delivered,
# a second identical call skipping with invitation_pending, and the 422s / 400 / 403 of
# a bad request (nothing written by any of them).
# Fresh clients throughout (PortalTest::Delivery::new_client).
use strict;
use warnings;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use Test::More;
use JSON::PP ();
use PortalTest;
use PortalTest::Delivery;

my $dbh = db();
clear_settings();

sub bulk { my ($ids, %o) = @_; return staff(POST => '/invitations/bulk', json => { client_ids => $ids }, %o) }

sub mails_to {
    my $addr = lc shift;
    return grep { grep { lc($_) eq $addr } @{ $_->{rcpt_tos} || [] } } mails();
}

sub bulk_audit_rows { return audit_rows(action => 'invitation.bulk', @_) }

sub invitation_count { return scalar(invitations_of($_[0])) }

# --- a mixed batch: every reason, in the request's order ---------------------------------
my (%c, @order);
{
    $c{ok1} = new_client(email => 'bulk.one@example.test', staff => ['clin1']);
    $c{ok2} = new_client(email => 'bulk.two@example.test', staff => ['clin1']);
    $c{no_email} = new_client(email => undef, staff => ['clin1']);
    $c{declined} = new_client(staff => ['clin1']);
    $dbh->do('UPDATE clients SET declined_at = ?, declined_by = ?, declined_note = ? WHERE id = ?',
             undef, time, 'clin1', 'not interested', $c{declined});
    $c{active} = new_client(staff => ['clin1']);
    $dbh->do("INSERT INTO portal_accounts (username, password_hash, client_id, status, created_at) "
           . "VALUES (?, ?, ?, 'active', ?)", undef, "acct$c{active}", '$2y$05$' . ('a' x 53),
             $c{active}, time);
    $c{discharged} = new_client(staff => ['clin1']);
    $dbh->do('UPDATE clients SET active = 0 WHERE id = ?', undef, $c{discharged});
    $c{pending} = new_client(staff => ['clin1']);
    $c{foreign} = new_client(email => 'bulk.foreign@example.test', staff => ['clin2']);
    staff(GET => '/me', user => 'clin1');     # the test client is set up (it can take seconds)
    json_ok(staff(POST => "/clients/$c{pending}/invitations", user => 'clin1'), 201,
            'single invite before the batch');

    # a reinvite that needs a look first: the last invitation locked, or declined by the recipient
    for my $k (qw(locked rdeclined)) {
        $c{$k} = new_client(staff => ['clin1']);
        json_ok(staff(POST => "/clients/$c{$k}/invitations", user => 'clin1'), 201, "$k: invited once");
        $dbh->do('UPDATE invitations SET status = ? WHERE client_id = ?', undef,
                 $k eq 'locked' ? 'locked' : 'declined', $c{$k});
    }

    @order = qw(ok1 no_email foreign declined ok2 active discharged pending missing locked rdeclined);
    $c{missing} = 987650;
    my %want = (ok1 => ['queued', undef], ok2 => ['queued', undef],
                no_email => ['skipped', 'no_email'], declined => ['skipped', 'client_declined'],
                active => ['skipped', 'already_active'], discharged => ['skipped', 'client_discharged'],
                pending => ['skipped', 'invitation_pending'], foreign => ['skipped', 'not_found'],
                missing => ['skipped', 'not_found'], locked => ['skipped', 'reinvite_on_own_page'],
                rdeclined => ['skipped', 'reinvite_on_own_page']);
    my $audit_before = scalar bulk_audit_rows();
    my $d = json_ok(bulk([ map { $c{$_} } @order ], user => 'clin1'), 200, 'mixed batch');
    is_deeply([sort keys %{ $d || {} }], ['results'], 'mixed batch: only "results"');
    my @res = @{ ($d && $d->{results}) || [] };
    is(scalar @res, scalar @order, 'mixed batch: one result per id');
    for my $i (0 .. $#order) {
        my $k = $order[$i];
        my $r = $res[$i] || {};
        is_deeply([sort keys %$r], [qw(client_id reason result)], "$k: exactly client_id, result, reason");
        is($r->{client_id}, $c{$k}, "$k: in the request's order");
        is($r->{result}, $want{$k}[0], "$k: $want{$k}[0]");
        is($r->{reason}, $want{$k}[1], "$k: reason " . ($want{$k}[1] // 'null'));
    }

    # one transaction per client: the refusals wrote nothing, the others are committed
    for my $k (qw(ok1 ok2)) {
        my @inv = invitations_of($c{$k});
        is(scalar @inv, 1, "$k: one invitation");
        is($inv[0] && $inv[0]{status}, 'pending', "$k: pending");
        is($inv[0] && $inv[0]{created_by}, 'clin1', "$k: created by the caller");
        is(scalar(outbox_rows($inv[0]{id})), 1, "$k: its email queued");
        my @a = audit_rows(action => 'invitation.create', client_id => $c{$k});
        is(scalar @a, 1, "$k: audited as the single invite");
        is($a[0] && $a[0]{result}, 'ok', "$k: audit ok");
        is($a[0] && $a[0]{object_id}, $inv[0]{id}, "$k: audit names the invitation");
    }
    is(invitation_count($c{$_}), 0, "$_: no invitation written") for qw(no_email declined active discharged foreign);
    is(invitation_count($c{pending}), 1, 'pending: still only the earlier invitation');
    is(invitation_count($c{$_}), 1, "$_: still only the earlier invitation") for qw(locked rdeclined);
    json_ok(staff(POST => "/clients/$c{locked}/invitations", user => 'clin1'), 201,
            'locked: the client\'s own page still reinvites');
    my @denied = audit_rows(action => 'invitation.create', client_id => $c{foreign}, username => 'clin1');
    is(scalar @denied, 1, 'foreign client: audit row');
    is($denied[0] && $denied[0]{result}, 'denied', 'foreign client: audit denied');

    my @bulk = bulk_audit_rows();
    is(scalar @bulk - $audit_before, 1, 'one invitation.bulk audit row');
    my $row = $bulk[-1] || {};
    is($row->{username}, 'clin1', 'invitation.bulk: the caller');
    is($row->{result}, 'ok', 'invitation.bulk: ok');
    ok(!defined $row->{client_id}, 'invitation.bulk: no client');
    my $detail = eval { JSON::PP->new->decode($row->{detail} // '') } || {};
    is_deeply($detail, { requested => 11, queued => 2, skipped => 9 }, 'invitation.bulk: the counts')
        or diag explain $row;

    # the catcher receives the queued ones, and nothing for the foreign client
    for my $addr (qw(bulk.one@example.test bulk.two@example.test)) {
        ok(wait_until(sub { scalar mails_to($addr) }, 20), "email delivered to $addr");
    }
    is(scalar(mails_to('bulk.foreign@example.test')), 0, 'no email to the foreign client');

    # the same call again: the two just invited are pending now
    my $again = json_ok(bulk([ map { $c{$_} } @order ], user => 'clin1'), 200, 'the same batch again');
    my %by = map { $_->{client_id} => $_ } @{ ($again && $again->{results}) || [] };
    for my $k (qw(ok1 ok2)) {
        is($by{ $c{$k} }{result}, 'skipped', "again: $k skipped");
        is($by{ $c{$k} }{reason}, 'invitation_pending', "again: $k invitation_pending");
        is(invitation_count($c{$k}), 1, "again: $k still one invitation");
    }
    is($by{ $c{foreign} }{reason}, 'not_found', 'again: foreign still not_found');
}

# --- a second identical call skips everyone ------------------------------------------------
{
    my @ids = map { new_client(staff => ['clin2']) } 1 .. 100;
    my $res = bulk(\@ids, user => 'clin2', timeout => 120);
    note sprintf('100 fresh clients queued in %.2f s on %s', $res->{pm_elapsed}, db_driver());
    my $first = json_ok($res, 200, 'a hundred fresh clients');
    is_deeply([ map { $_->{result} } @{ ($first && $first->{results}) || [] } ], [('queued') x 100],
              'a hundred fresh clients: all queued');
    my $second = json_ok(bulk(\@ids, user => 'clin2'), 200, 'the identical call');
    is_deeply([ map { [$_->{client_id}, $_->{result}, $_->{reason}] } @{ ($second && $second->{results}) || [] } ],
              [ map { [$_, 'skipped', 'invitation_pending'] } @ids ], 'the identical call: all invitation_pending');
    is(invitation_count($_), 1, "client $_: one invitation after two calls") for @ids;
    my $detail = eval { JSON::PP->new->decode((bulk_audit_rows(username => 'clin2'))[-1]{detail}) } || {};
    is_deeply($detail, { requested => 100, queued => 0, skipped => 100 }, 'identical call: counts audited');
}

# --- a bad request: 422 / 400 / 403, nothing written ---------------------------------------
{
    my $cid = new_client(staff => ['clin1']);
    my $audit_before = scalar bulk_audit_rows();
    my @cases = (
        [ 'no client_ids', { }, 'invalid_client_ids' ],
        [ 'client_ids null', { client_ids => undef }, 'invalid_client_ids' ],
        [ 'client_ids not a list', { client_ids => $cid }, 'invalid_client_ids' ],
        [ 'empty list', { client_ids => [] }, 'invalid_client_ids' ],
        [ 'a string id', { client_ids => [$cid, "$cid"] }, 'invalid_client_ids' ],
        [ 'a fraction', { client_ids => [$cid, 1.5] }, 'invalid_client_ids' ],
        [ 'a null id', { client_ids => [$cid, undef] }, 'invalid_client_ids' ],
        [ 'zero', { client_ids => [$cid, 0] }, 'invalid_client_ids' ],
        [ 'a negative id', { client_ids => [$cid, -3] }, 'invalid_client_ids' ],
        [ 'a nested list', { client_ids => [[$cid]] }, 'invalid_client_ids' ],
        [ 'a duplicate', { client_ids => [$cid, 1, $cid] }, 'duplicate_client_ids' ],
        [ '501 ids', { client_ids => [ $cid, map { 100000 + $_ } 1 .. 500 ] }, 'too_many_client_ids' ],
    );
    for my $case (@cases) {
        my ($name, $body, $code) = @$case;
        my $e = error_ok(staff(POST => '/invitations/bulk', user => 'clin1', json => $body), 422, $code, $name);
        is($e && $e->{error}{field}, 'client_ids', "$name: field client_ids");
    }
    my $dup = error_ok(staff(POST => '/invitations/bulk', user => 'clin1', json => { client_ids => [$cid, 1, $cid] }),
                       422, 'duplicate_client_ids', 'a duplicate, again');
    is($dup && $dup->{error}{message}, "Client id $cid is listed twice.", 'the message names the id');
    # the JSON text itself, where Perl would not keep the distinction
    error_ok(staff(POST => '/invitations/bulk', user => 'clin1', json => qq({"client_ids": [$cid, 2.0]})),
             422, 'invalid_client_ids', 'a whole number written 2.0');
    error_ok(staff(POST => '/invitations/bulk', user => 'clin1', json => qq({"client_ids": [$cid, true]})),
             422, 'invalid_client_ids', 'true as an id');
    error_ok(staff(POST => '/invitations/bulk', user => 'clin1',
                   json => { client_ids => [$cid], send_now => JSON::PP::true }),
             400, 'unknown_field', 'an unknown body field');
    error_ok(bulk([$cid], user => 'clin1', csrf => 0), 403, 'csrf', 'without X-Requested-With');
    error_ok(bulk([$cid], user => 'clin1', headers => [Origin => 'https://evil.example',
                                                         'Sec-Fetch-Site' => 'cross-site']),
             403, 'csrf', 'from another origin');
    error_ok(bulk([$cid], user => 'inactive'), 403, 'not_staff', 'by inactive staff');
    is(bulk([$cid], user => undef)->code, 401, 'without credentials: 401');
    is(staff(GET => '/invitations/bulk', user => 'clin1')->code, 405, 'GET: 405');
    is(invitation_count($cid), 0, 'bad requests wrote no invitation');
    is(scalar bulk_audit_rows(), $audit_before, 'bad requests wrote no invitation.bulk row');

    # exactly 500 is allowed (the others do not exist: not_found, in order)
    my @ids = ($cid, map { 200000 + $_ } 1 .. 499);
    my $res500 = bulk(\@ids, user => 'clin1', timeout => 120);
    note sprintf('500 ids (1 queued, 499 not_found) answered in %.2f s on %s', $res500->{pm_elapsed}, db_driver());
    my $d = json_ok($res500, 200, '500 ids');
    my @res = @{ ($d && $d->{results}) || [] };
    is(scalar @res, 500, '500 ids: 500 results');
    is_deeply([ map { $_->{client_id} } @res ], \@ids, '500 ids: in order');
    is($res[0] && $res[0]{result}, 'queued', '500 ids: the real client queued');
    is(scalar(grep { ($_->{reason} // '') eq 'not_found' } @res), 499, '500 ids: the rest not_found');
}

done_testing();
