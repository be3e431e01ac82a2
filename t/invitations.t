# t/invitations.t — the invitation buttons of the staff API (docs/api.md, issue 4):
# POST /clients/{id}/invitations (invite / reinvite), POST /invitations/{id}/resend,
# POST /invitations/{id}/revoke: the JSON, the 409s, who may press them (404 + audit
# 'denied'), a race of 20 concurrent invites, resend (new token, old hash retired,
# cooldown 429 + Retry-After, send limit), revoke, reinvite after expiry / failed delivery /
# revoke / decline, and the email change / client declined interplay.
# Every scenario uses fresh clients (PortalTest::Delivery::new_client), so the file can run
# after the others on the same server.
use strict;
use warnings;
use utf8;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use Test::More;
use JSON::PP ();
use POSIX ();
use Time::HiRes qw(sleep);
use PortalTest;
use PortalTest::Delivery;

# provoked on purpose: a delivery refused for good (550)
expect_log_ids(qw(PM00053));

binmode Test::More->builder->$_, ':encoding(UTF-8)' for qw(output failure_output todo_output);

my $dbh = db();
clear_settings();

my @INVITATION_KEYS = sort qw(id representative_id email status delivery delivery_error bounce
                              created_at created_by created_by_name sent_at expires_at responded_at
                              send_count next_attempt_at resend_available_at);
my $RFC3339 = qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;

sub epoch_of {
    my $s = shift // return undef;
    my ($y, $m, $d, $H, $M, $S) = $s =~ /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)Z$/ or return undef;
    local $ENV{TZ} = 'UTC';
    POSIX::tzset();
    return POSIX::mktime($S, $M, $H, $d, $m - 1, $y - 1900);
}

sub invite { my ($cid, %o) = @_; return staff(POST => "/clients/$cid/invitations", %o) }

# the client view's invitations (newest first)
sub view_invitations {
    my ($cid, $user) = @_;
    my $res = staff(GET => "/clients/$cid", user => $user // 'admin');
    my $d = decode_json_body($res);
    return ($d && ref $d->{invitations} eq 'ARRAY') ? ($d, @{ $d->{invitations} }) : ($d);
}

sub mails_to {
    my $addr = lc shift;
    return grep { grep { lc($_) eq $addr } @{ $_->{rcpt_tos} || [] } } mails();
}

# wait until the latest outbox row of the invitation is sent (or failed); the row
sub wait_sent { my ($iid, $t) = @_; return wait_outbox($iid, sub { $_[0]{status} ne 'queued' }, $t // 15) }

# the token in the newest email to ADDR (after waiting for COUNT of them)
sub token_of_mail {
    my ($addr, $count) = @_;
    my $m = wait_until(sub { my @m = mails_to($addr); @m >= $count ? $m[$count - 1] : undef }, 15)
        or return undef;
    my $t = link_tokens(parse_mail($m));
    return $t->{text}[0];
}

# --- invite: 201 and the invitation JSON ------------------------------------------------
{
    my $email = 'Invite.Basic@Example.TEST';
    my $cid = new_client(first => 'Ivy', last => 'Basic', email => $email, staff => ['clin1']);
    staff(GET => '/me', user => 'clin1');     # the test client is set up (it can take seconds)
    my $t0 = time;
    my $res = invite($cid, user => 'clin1');
    my $t1 = time;
    my $inv = json_ok($res, 201, 'invite');
    last unless $inv && defined $inv->{id};   # nothing to follow
    is_deeply([sort keys %{ $inv || {} }], \@INVITATION_KEYS, 'invite: exactly the documented fields')
        or diag explain $inv;
    like($inv->{id} // '', qr/^\d+$/, 'invite: numeric id');
    ok(exists $inv->{representative_id} && !defined $inv->{representative_id},
       'invite: representative_id null (the client)');
    is($inv->{email}, $email, 'invite: the email as typed');
    is($inv->{status}, 'pending', 'invite: status pending');
    is($inv->{delivery}, 'queued', 'invite: delivery queued');
    ok(!defined $inv->{delivery_error}, 'invite: delivery_error null');
    is($inv->{created_by}, 'clin1', 'invite: created_by');
    like($inv->{created_at} // '', $RFC3339, 'invite: created_at RFC 3339 UTC');
    like($inv->{expires_at} // '', $RFC3339, 'invite: expires_at RFC 3339 UTC');
    my $created = epoch_of($inv->{created_at}) // 0;
    ok($created >= $t0 - 1 && $created <= $t1 + 1, 'invite: created_at is the time of the request')
        or diag "created_at $created, request between $t0 and $t1";
    is((epoch_of($inv->{expires_at}) // 0) - (epoch_of($inv->{created_at}) // 0), 168 * 3600,
       'invite: expires 168 hours later (default invitation_ttl_hours)');
    ok(!defined $inv->{sent_at} && !defined $inv->{responded_at}, 'invite: sent_at, responded_at null');
    is($inv->{send_count}, 0, 'invite: send_count 0');

    my @rows = invitations_of($cid);
    is(scalar @rows, 1, 'invite: one invitation row');
    is($rows[0]{status}, 'pending', 'invite: row pending');
    ok(!defined $rows[0]{representative_id}, 'invite: row for the client');
    is($rows[0]{created_by}, 'clin1', 'invite: row created_by');
    my @out = outbox_rows($inv->{id});
    is(scalar @out, 1, 'invite: one outbox row queued with it');
    like($out[0]{message_id} // '', qr/^<[0-9a-f]{32}\@example\.test>$/,
         'invite: outbox message_id generated (<hex@PortalMailFrom domain>)');
    my @audit = audit_rows(action => 'invitation.create', client_id => $cid);
    is(scalar @audit, 1, 'invite: one audit row');
    is($audit[0]{result}, 'ok', 'invite: audit result ok');
    is($audit[0]{username}, 'clin1', 'invite: audit username');
    is($audit[0]{object_id}, $inv->{id}, 'invite: audit object_id is the invitation');

    my $o = wait_sent($inv->{id});
    is($o && $o->{status}, 'sent', 'invite: delivered by the worker');
    my ($view, $vinv) = view_invitations($cid, 'clin1');
    is($view && $view->{portal_status}, 'invited', 'client view: portal_status invited');
    is($vinv && $vinv->{id}, $inv->{id}, 'client view: the invitation is listed');
    is_deeply([sort keys %{ $vinv || {} }], \@INVITATION_KEYS, 'client view: same invitation fields');
    is($vinv && $vinv->{delivery}, 'sent', 'client view: delivery sent');
    like($vinv && $vinv->{sent_at} // '', $RFC3339, 'client view: sent_at set');
    is($vinv && $vinv->{send_count}, 1, 'client view: send_count 1');
    is(scalar(mails_to($email)), 1, 'invite: one email');

    # pressed again while pending
    error_ok(invite($cid, user => 'clin1'), 409, 'invitation_pending', 'invite again while pending');
    error_ok(invite($cid, user => 'admin'), 409, 'invitation_pending', 'another staff member, while pending');
    is(scalar(invitations_of($cid)), 1, 'invite again: still one invitation');
    is(scalar(outbox_rows($inv->{id})), 1, 'invite again: nothing queued');
}

# --- response time: no request waits on the database driver ---------------------------------
# A client view or an invite runs a few small queries; some return no rows (no settings
# yet, no invitations, no representatives): each still answers (speed is bench/'s job).
{
    for (1 .. 5) {
        my $cid = new_client(staff => ['clin1']);
        is(staff(GET => "/clients/$cid", user => 'clin1')->code, 200, 'client view with no invitations');
        is(invite($cid, user => 'clin1')->code, 201, 'invite with no settings rows');
    }
    wait_until(sub { !$dbh->selectrow_array("SELECT count(*) FROM outbox WHERE status = 'queued'") }, 15);
}

# --- invitation_ttl_hours from the settings -------------------------------------------------
{
    set_setting(invitation_ttl_hours => 2);
    my $cid = new_client(staff => ['clin1']);
    my $inv = json_ok(invite($cid, user => 'clin1'), 201, 'invite with invitation_ttl_hours 2');
    last unless $inv && defined $inv->{id};   # nothing to follow
    is((epoch_of($inv->{expires_at}) // 0) - (epoch_of($inv->{created_at}) // 0), 7200,
       'expires 2 hours later');
    clear_settings('invitation_ttl_hours');
    wait_sent($inv->{id});
}

# --- refusals: 409 no_email, client_declined, already_active ------------------------------
{
    my $cid = new_client(email => undef, staff => ['clin1']);
    error_ok(invite($cid, user => 'clin1'), 409, 'no_email', 'client without email');
    $dbh->do('UPDATE clients SET email = ? WHERE id = ?', undef, '', $cid);
    error_ok(invite($cid, user => 'clin1'), 409, 'no_email', 'client with an empty email');
    error_ok(invite(2, user => 'clin1'), 409, 'no_email', 'seed client 2 (no email)');
    is(scalar(invitations_of($cid)), 0, 'no_email: no invitation written');
}
{
    my $cid = new_client(staff => ['clin1']);
    $dbh->do('UPDATE clients SET declined_at = ?, declined_by = ?, declined_note = ? WHERE id = ?',
             undef, time, 'clin1', 'not interested', $cid);
    error_ok(invite($cid, user => 'clin1'), 409, 'client_declined', 'client declined');
    is(scalar(invitations_of($cid)), 0, 'client_declined: no invitation written');
    $dbh->do('UPDATE clients SET declined_at = NULL, declined_by = NULL, declined_note = NULL WHERE id = ?',
             undef, $cid);
    my $inv = json_ok(invite($cid, user => 'clin1'), 201, 'invite once "client declined" is cleared');
    last unless $inv && defined $inv->{id};   # nothing to follow
    wait_sent($inv->{id}) if $inv;
}
{
    my $cid = new_client(staff => ['clin1']);
    $dbh->do("INSERT INTO portal_accounts (username, password_hash, client_id, status, created_at) "
           . "VALUES (?, ?, ?, 'active', ?)", undef, "acct$cid", '$2y$05$' . ('a' x 53), $cid, time);
    error_ok(invite($cid, user => 'clin1'), 409, 'already_active', 'client with an active account');
    is(scalar(invitations_of($cid)), 0, 'already_active: no invitation written');
    $dbh->do("UPDATE portal_accounts SET status = 'disabled' WHERE client_id = ?", undef, $cid);
    my $inv = json_ok(invite($cid, user => 'clin1'), 201, 'a disabled account does not block an invitation');
    last unless $inv && defined $inv->{id};   # nothing to follow
    wait_sent($inv->{id}) if $inv;
}

# --- who may press the buttons: 404 for invisible clients, with an audit row 'denied' ----------
my ($c1_client, $c1_inv);
{
    $c1_client = new_client(staff => ['clin1']);
    my $before = scalar audit_rows(username => 'clin2', result => 'denied');
    my $res = invite($c1_client, user => 'clin2');
    error_ok($res, 404, 'not_found', "clin2 invites clin1's client");
    my $missing = decode_json_body(invite(987654, user => 'admin'));
    is($missing && $missing->{error}{message}, decode_json_body($res)->{error}{message},
       'invisible client reads exactly like a missing one');
    my @denied = audit_rows(username => 'clin2', action => 'invitation.create', client_id => $c1_client);
    is(scalar @denied, 1, 'audit row for the denied invite');
    is($denied[0] && $denied[0]{result}, 'denied', 'audit result denied');
    is(scalar(invitations_of($c1_client)), 0, 'denied invite wrote no invitation');

    $c1_inv = json_ok(invite($c1_client, user => 'clin1'), 201, 'clin1 invites own client');
    last unless $c1_inv && defined $c1_inv->{id};   # nothing to follow
    wait_sent($c1_inv->{id});
    backdate_outbox($c1_inv->{id}, 86400);
    for my $action (qw(resend revoke)) {
        my $r = staff(POST => "/invitations/$c1_inv->{id}/$action", user => 'clin2');
        error_ok($r, 404, 'not_found', "clin2 ${action}s an invitation of clin1's client");
        my @a = grep { $_->{object_id} == $c1_inv->{id} }
                audit_rows(username => 'clin2', action => "invitation.$action");
        is(scalar @a, 1, "$action: audit row for the denied request");
        is($a[0] && $a[0]{result}, 'denied', "$action: audit result denied");
    }
    my $row = invitation($c1_inv->{id});
    is($row->{status}, 'pending', 'denied resend/revoke changed nothing');
    is(scalar(outbox_rows($c1_inv->{id})), 1, 'denied resend queued nothing');
    error_ok(staff(POST => '/invitations/987654/resend', user => 'admin'), 404, 'not_found',
             'resend of a missing invitation');
    error_ok(staff(POST => '/invitations/987654/revoke', user => 'admin'), 404, 'not_found',
             'revoke of a missing invitation');
    # seed caseloads: clin1 has clients 1-5, clin2 has 6-8
    error_ok(invite(6, user => 'clin1'), 404, 'not_found', 'clin1 invites seed client 6 (clin2\'s)');
    error_ok(invite(9, user => 'clin2'), 404, 'not_found', 'clin2 invites seed client 9 (admin only)');
}

# --- the shared rules of every staff route ------------------------------------------------
{
    my $cid = new_client(staff => ['clin1']);
    error_ok(invite($cid, user => 'clin1', csrf => 0), 403, 'csrf', 'invite without X-Requested-With');
    error_ok(invite($cid, user => 'clin1', headers => [Origin => 'https://evil.example',
                                                       'Sec-Fetch-Site' => 'cross-site']),
             403, 'csrf', 'invite from another origin');
    error_ok(invite($cid, user => 'inactive'), 403, 'not_staff', 'invite by inactive staff');
    is(invite($cid, user => undef)->code, 401, 'invite without credentials: 401');
    error_ok(invite($cid, user => 'clin1', json => { email => 'x@example.test' }), 400,
             'unknown_field', 'invite with a body field');
    error_ok(invite($cid, user => 'clin1', body => 'email=x', content_type => 'application/x-www-form-urlencoded'),
             415, 'unsupported_media_type', 'invite with a form body');
    my $r = staff(GET => "/clients/$cid/invitations", user => 'clin1');
    error_ok($r, 405, 'method_not_allowed', 'GET /clients/{id}/invitations');
    like($r->header('Allow') // '', qr/\bPOST\b/, '405 Allow names POST');
    error_ok(staff(GET => "/invitations/$c1_inv->{id}/resend", user => 'clin1'), 405,
             'method_not_allowed', 'GET /invitations/{id}/resend');
    error_ok(staff(DELETE => "/invitations/$c1_inv->{id}/revoke", user => 'clin1'), 405,
             'method_not_allowed', 'DELETE /invitations/{id}/revoke');
    is(scalar(invitations_of($cid)), 0, 'refused requests wrote no invitation');
}

# --- 20 concurrent invites for one client from two staff -----------------------------------
# Children wait on a pipe, then all send at once; the partial unique index must leave
# exactly one pending invitation (one 201, nineteen 409 invitation_pending) and one email.
sub race {
    my ($cid, @users) = @_;
    pipe(my $go_r, my $go_w) or die "pipe: $!";
    my @kids;
    for my $i (0 .. $#users) {
        pipe(my $r, my $w) or die "pipe: $!";
        my $pid = fork // die "fork: $!";
        if (!$pid) {
            close $go_w;
            close $r;
            sysread $go_r, my $buf, 1;       # returns 0 when the parent closes the pipe
            my $res = invite($cid, user => $users[$i]);
            my $d = decode_json_body($res);
            my $code = ref $d eq 'HASH' && ref $d->{error} eq 'HASH' ? $d->{error}{code} : '';
            my $why = ref $d eq 'HASH' ? '' : $res->status_line . ' ' . substr($res->content // '', 0, 80);
            $why =~ s/[\t\n]/ /g;
            print $w join("\t", $res->code, $code // '', $res->code == 201 ? $d->{id} : '',
                          sprintf('%.2fs', $res->{pm_elapsed} // 0), $why), "\n";
            close $w;
            POSIX::_exit(0);
        }
        close $w;
        push @kids, [$pid, $r];
    }
    close $go_r;
    sleep 0.3;                               # every child is blocked in sysread
    close $go_w;                             # go
    my @results;
    for my $k (@kids) {
        my $fh = $k->[1];
        my $line = <$fh> // "died\t\t";
        chomp $line;
        push @results, [split /\t/, $line, -1];
        waitpid $k->[0], 0;
    }
    return @results;
}

{
    my $email = 'race.twenty@example.test';
    my $cid = new_client(email => $email, staff => ['clin1']);
    my @res = race($cid, map { $_ % 2 ? 'clin1' : 'admin' } 1 .. 20);
    my @created = grep { $_->[0] eq '201' } @res;
    my @pending = grep { $_->[0] eq '409' && $_->[1] eq 'invitation_pending' } @res;
    is(scalar @created, 1, '20 concurrent invites: exactly one 201')
        or diag join "\n", map { "@$_" } @res;
    is(scalar @pending, 19, '20 concurrent invites: nineteen 409 invitation_pending')
        or diag join "\n", map { "@$_" } @res;
    ok(!grep({ $_->[0] eq '500' || $_->[0] eq '503' } @res),
       '20 concurrent invites: none timed out (30 s) or answered 503');
    # requests the client gave up on may still hold the SQLite write lock: let them finish
    # before the rest of the file writes to the database
    if (db_driver() eq 'sqlite3') {
        my $free = wait_until(sub { eval { $dbh->do('BEGIN IMMEDIATE'); $dbh->do('ROLLBACK'); 1 } }, 120, 0.5);
        ok($free, '20 concurrent invites: the database is writable again afterwards');
    }
    my @rows = invitations_of($cid);
    is(scalar @rows, 1, '20 concurrent invites: one invitation row');
    is(scalar(grep { $_->{status} eq 'pending' } @rows), 1, '20 concurrent invites: it is pending');
    my $iid = $rows[0] && $rows[0]{id};
    is(scalar(outbox_rows($iid)), 1, '20 concurrent invites: one outbox row');
    wait_sent($iid);
    sleep 1;                                 # room for a second (wrong) email to arrive
    is(scalar(mails_to($email)), 1, '20 concurrent invites: one email');
    is(scalar(audit_rows(action => 'invitation.create', client_id => $cid, result => 'ok')), 1,
       '20 concurrent invites: one audit row for the created invitation');

    # a double-click by one user
    my $cid2 = new_client(email => 'double.click@example.test', staff => ['clin1']);
    my @dc = race($cid2, 'clin1', 'clin1');
    is(join(',', sort map { $_->[0] } @dc), '201,409', 'double-click: one 201, one 409')
        or diag join "\n", map { "@$_" } @dc;
    is(scalar(invitations_of($cid2)), 1, 'double-click: one invitation');
    wait_sent((invitations_of($cid2))[0]{id}) if invitations_of($cid2);
}

# --- resend: new token, old hash retired; cooldown; send limit ---------------------------
my ($rs_cid, $rs_inv);
{
    my $email = 'resend.me@example.test';
    $rs_cid = new_client(first => 'Rhea', email => $email, staff => ['clin1']);
    $rs_inv = json_ok(invite($rs_cid, user => 'clin1'), 201, 'resend scenario: invite');
    last unless $rs_inv && defined $rs_inv->{id};   # nothing to follow
    my $iid = $rs_inv->{id};
    my $token_a = token_of_mail($email, 1);
    like($token_a // '', qr/^[A-Za-z0-9_-]{43}$/, 'first email: a token');
    my $row = invitation($iid);
    is($row->{token_hash}, sha256_hex($token_a // ''), 'first email: its hash is stored');

    # cooldown (default 10 minutes)
    my $res = staff(POST => "/invitations/$iid/resend", user => 'clin1');
    error_ok($res, 429, 'resend_too_soon', 'resend at once');
    my $ra = $res->header('Retry-After') // '';
    like($ra, qr/^\d+$/, 'Retry-After is delay-seconds');
    ok($ra > 0 && $ra <= 600, "Retry-After within the 10-minute default cooldown ($ra)");
    my $msg = (decode_json_body($res) || {})->{error}{message} // '';
    like($msg, qr/\b10 minute/, '429 message: how many minutes to wait') or diag $msg;
    unlike($msg, qr/%/, '429 message: no printf residue') or diag $msg;
    set_setting(resend_cooldown_minutes => 1);
    $res = staff(POST => "/invitations/$iid/resend", user => 'clin1');
    error_ok($res, 429, 'resend_too_soon', 'resend at once, cooldown 1 minute');
    $ra = $res->header('Retry-After') // '';
    ok($ra =~ /^\d+$/ && $ra > 0 && $ra <= 60, "Retry-After follows resend_cooldown_minutes ($ra)");
    is(scalar(outbox_rows($iid)), 1, 'refused resends queued nothing');

    # after the cooldown
    backdate_outbox($iid, 120);
    my $old_expires = $row->{expires_at};
    $res = staff(POST => "/invitations/$iid/resend", user => 'clin1');
    my $inv2 = json_ok($res, 200, 'resend after the cooldown');
    is($inv2 && $inv2->{id}, $iid, 'resend: same invitation');
    is($inv2 && $inv2->{status}, 'pending', 'resend: still pending');
    is(scalar(outbox_rows($iid)), 2, 'resend: a second email queued');
    my $token_b = token_of_mail($email, 2);
    like($token_b // '', qr/^[A-Za-z0-9_-]{43}$/, 'second email: a token');
    isnt($token_b, $token_a, 'second email: a different token');
    $row = invitation($iid);
    is($row->{token_hash}, sha256_hex($token_b // ''), 'resend: the new hash is current');
    my $sup = $dbh->selectall_arrayref('SELECT token_hash, invitation_id FROM superseded_tokens '
                                     . 'WHERE token_hash = ?', { Slice => {} }, sha256_hex($token_a // ''));
    is(scalar @$sup, 1, 'resend: the old hash is in superseded_tokens');
    is($sup->[0] && $sup->[0]{invitation_id}, $iid, 'superseded_tokens: for this invitation');
    my ($cur_in_sup) = $dbh->selectrow_array('SELECT count(*) FROM superseded_tokens WHERE token_hash = ?',
                                             undef, sha256_hex($token_b // ''));
    is($cur_in_sup, 0, 'resend: the current hash is not superseded');
    my ($old_current) = $dbh->selectrow_array('SELECT count(*) FROM invitations WHERE token_hash = ?',
                                              undef, sha256_hex($token_a // ''));
    is($old_current, 0, 'resend: no invitation carries the old hash');
    ok($row->{expires_at} >= $old_expires, 'resend: a new expiry (not earlier)');
    my $o = wait_sent($iid);
    my (undef, $vinv) = view_invitations($rs_cid, 'clin1');
    is($vinv && $vinv->{send_count}, 2, 'resend: send_count 2');
    is(scalar(grep { $_->{result} eq 'ok' } audit_rows(action => 'invitation.resend', client_id => $rs_cid)),
       1, 'resend: audited');

    # send limit
    set_setting(max_sends_per_invitation => 2);
    backdate_outbox($iid, 3600);
    error_ok(staff(POST => "/invitations/$iid/resend", user => 'clin1'), 409, 'send_limit_reached',
             'resend beyond max_sends_per_invitation');
    is(scalar(outbox_rows($iid)), 2, 'send limit: nothing queued');
    is(scalar(mails_to($email)), 2, 'send limit: no third email');
    clear_settings('max_sends_per_invitation', 'resend_cooldown_minutes');

    # revoke
    $res = staff(POST => "/invitations/$iid/revoke", user => 'clin1');
    my $rv = json_ok($res, 200, 'revoke');
    is($rv && $rv->{status}, 'revoked', 'revoke: status revoked');
    like($rv && $rv->{responded_at} // '', $RFC3339, 'revoke: responded_at set');
    is(invitation($iid)->{status}, 'revoked', 'revoke: row revoked');
    is(scalar(grep { $_->{result} eq 'ok' } audit_rows(action => 'invitation.revoke', client_id => $rs_cid)),
       1, 'revoke: audited');
    error_ok(staff(POST => "/invitations/$iid/revoke", user => 'clin1'), 409, 'not_pending', 'revoke twice');
    backdate_outbox($iid, 86400);
    error_ok(staff(POST => "/invitations/$iid/resend", user => 'clin1'), 409, 'not_pending',
             'resend after revoke');
    my ($view) = view_invitations($rs_cid, 'clin1');
    is($view && $view->{portal_status}, 'revoked', 'client view: portal_status revoked');

    # reinvite after revoke
    my $inv3 = json_ok(invite($rs_cid, user => 'clin1'), 201, 'reinvite after revoke');
    last unless $inv3 && defined $inv3->{id};   # nothing to follow
    isnt($inv3 && $inv3->{id}, $iid, 'reinvite: a new invitation');
    is(invitation($iid)->{status}, 'revoked', 'reinvite: the revoked one stays revoked');
    wait_sent($inv3->{id}) if $inv3;
}

# --- a resend after a repeat made a retired link current again ---------------------
# (a re-sent email keeps its send's token, so both copies work; if staff had resent
# meanwhile, that hash is already in superseded_tokens when it becomes current again)
{
    my $email = 'retired.twice@example.test';
    my $cid = new_client(first => 'Remy', email => $email, staff => ['clin1']);
    my $inv = json_ok(invite($cid, user => 'clin1'), 201, 'retired-again scenario: invite');
    last unless $inv && defined $inv->{id};   # nothing to follow
    my $iid = $inv->{id};
    my $hash = sha256_hex(token_of_mail($email, 1) // '');
    is(invitation($iid)->{token_hash}, $hash, 'retired-again scenario: the first link is current');
    $dbh->do('INSERT INTO superseded_tokens (token_hash, invitation_id, superseded_at) '
             . 'VALUES (?, ?, ?)', undef, $hash, $iid, time - 60);
    set_setting(resend_cooldown_minutes => 1);
    backdate_outbox($iid, 120);
    json_ok(staff(POST => "/invitations/$iid/resend", user => 'clin1'), 200,
            'resend while the current link is already retired once: 200, not 503');
    my ($n) = $dbh->selectrow_array('SELECT count(*) FROM superseded_tokens WHERE token_hash = ?',
                                    undef, $hash);
    is($n, 1, 'retired-again scenario: the hash is retired once, still');
    my $next = token_of_mail($email, 2);
    ok(defined $next && sha256_hex($next) ne $hash, 'retired-again scenario: a new link went out');
    is(invitation($iid)->{token_hash}, sha256_hex($next // ''), 'retired-again scenario: the new link is current');
    clear_settings('resend_cooldown_minutes');
}

# --- a resend while the worker is storing its send's token ---------------------------
# (the worker moves the old hash aside and stores its own in its batch's transaction; a
# resend that read the token before that commit cleared the worker's token without
# moving it aside, so that email's link said nothing useful; with the old hash's insert
# it collided and answered 503). The worker's two statements are played here by hand,
# held open while the resend comes in.
{
    my $email = 'token.race@example.test';
    my $cid = new_client(first => 'Tia', email => $email, staff => ['clin1']);
    my $inv = json_ok(invite($cid, user => 'clin1'), 201, 'token race: invite');
    last unless $inv && defined $inv->{id};   # nothing to follow
    my $iid = $inv->{id};
    my $old = sha256_hex(token_of_mail($email, 1) // '');
    my $new = sha256_hex("token race $$ " . time);
    set_setting(resend_cooldown_minutes => 1);
    backdate_outbox($iid, 120);
    $dbh->begin_work;
    $dbh->do('INSERT INTO superseded_tokens (token_hash, invitation_id, superseded_at) '
             . 'VALUES (?, ?, ?)', undef, $old, $iid, time);
    $dbh->do("UPDATE invitations SET token_hash = ? WHERE id = ? AND status = 'pending'",
             undef, $new, $iid);
    my $code = while_held($dbh, sub {
        staff(POST => "/invitations/$iid/resend", user => 'clin1', timeout => 30)->code });
    is($code, 200, 'token race: the resend answers 200');
    my ($moved) = $dbh->selectrow_array('SELECT count(*) FROM superseded_tokens WHERE token_hash = ?',
                                        undef, $new);
    is($moved, 1, "token race: the worker's token was moved aside (its link says superseded)");
    my $next = token_of_mail($email, 2);
    is(invitation($iid)->{token_hash}, sha256_hex($next // ''), 'token race: the resend\'s link is current');
    clear_settings('resend_cooldown_minutes');
}

# --- the worker storing its token while a resend holds the invitation (PostgreSQL) -------------
# The worker moved an earlier send's hash aside before taking the invitation's row; a resend
# that had the row and moved the same hash aside then waited for the worker, and the worker
# for the row: PostgreSQL found a deadlock and rolled one of them back. Here the test holds
# the row as a resend does, lets the worker claim the email, and moves the hash aside.
# (SQLite: the test's open transaction would hold the only write lock; nothing to race.)
if (db_driver() eq 'pgsql') { {
    my $email = 'token.order@example.test';
    my $cid = new_client(first => 'Otto', email => $email, staff => ['clin1']);
    my $inv = json_ok(invite($cid, user => 'clin1'), 201, 'token order: invite');
    last unless $inv && defined $inv->{id};   # nothing to follow
    my $iid = $inv->{id};
    token_of_mail($email, 1);
    set_setting(max_emails_per_minute => 1, resend_cooldown_minutes => 1);  # the next email waits
    backdate_outbox($iid, 120);
    json_ok(staff(POST => "/invitations/$iid/resend", user => 'clin1'), 200, 'token order: a resend queued');
    my $earlier = sha256_hex("token order $$ " . time);
    # what a repeated earlier send leaves: its token current again
    $dbh->do('UPDATE invitations SET token_hash = ? WHERE id = ?', undef, $earlier, $iid);
    $dbh->begin_work;
    $dbh->do('UPDATE invitations SET status = status WHERE id = ?', undef, $iid);
    set_setting(max_emails_per_minute => 10000);    # the seed's pace: the worker claims it
    my $watch = db();                                # and waits for the row in its phase 1
    my $waiting = wait_until(sub {
        $watch->selectrow_array("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                . "AND datname = current_database()") }, 5);
    ok($waiting, 'token order: the worker waits for the row the test holds');
    my $moved = eval {
        $dbh->do('INSERT INTO superseded_tokens (token_hash, invitation_id, superseded_at) '
                 . 'VALUES (?, ?, ?) ON CONFLICT DO NOTHING', undef, $earlier, $iid, time);
        1;
    };
    my $why = $@;
    $moved ? $dbh->commit : eval { $dbh->rollback };
    ok($moved, "token order: moving the old hash aside while holding the row does not wait for the worker")
        or diag $why;
    my $next = token_of_mail($email, 2);
    ok(defined $next, 'token order: the worker then sent its email');
    is(invitation($iid)->{token_hash}, sha256_hex($next // ''), "token order: that email's link is current");
    clear_settings('resend_cooldown_minutes');
} }

# --- reinvite after expiry, failed delivery, recipient decline -------------------------
{
    my $cid = new_client(email => 'expired.reinvite@example.test', staff => ['clin1']);
    my $inv = json_ok(invite($cid, user => 'clin1'), 201, 'expiry scenario: invite');
    last unless $inv && defined $inv->{id};   # nothing to follow
    wait_sent($inv->{id});
    $dbh->do('UPDATE invitations SET expires_at = ? WHERE id = ?', undef, time - 60, $inv->{id});
    my ($view, $vinv) = view_invitations($cid, 'clin1');
    is($vinv && $vinv->{status}, 'expired', 'expired invitation: status expired (derived)');
    is($view && $view->{portal_status}, 'expired', 'expired invitation: portal_status expired');
    my $new = json_ok(invite($cid, user => 'clin1'), 201, 'reinvite after expiry');
    last unless $new && defined $new->{id};   # nothing to follow
    isnt($new && $new->{id}, $inv->{id}, 'reinvite after expiry: a new invitation');
    is(invitation($inv->{id})->{status}, 'superseded', 'reinvite after expiry: old one superseded');
    (undef, my @all) = view_invitations($cid, 'clin1');
    is(join(',', map { $_->{status} } @all), 'pending,superseded', 'client view: newest first, old superseded');
    my @a = audit_rows(action => 'invitation.create', client_id => $cid);
    like($a[-1] && $a[-1]{detail} // '', qr/"reinvite"\s*:\s*true/, 'reinvite audited as a reinvite');
    wait_sent($new->{id}) if $new;
}
{
    my $email = 'failed.reinvite@example.test';
    my $cid = new_client(email => $email, staff => ['clin1']);
    mail_replies('RCPT 550 5.1.1 No such user here');
    my $inv = json_ok(invite($cid, user => 'clin1'), 201, 'failed-delivery scenario: invite');
    last unless $inv && defined $inv->{id};   # nothing to follow
    my $o = wait_sent($inv->{id});
    is($o && $o->{status}, 'failed', 'delivery failed (550)');
    my ($view) = view_invitations($cid, 'clin1');
    is($view && $view->{portal_status}, 'failed', 'client view: portal_status failed');
    my $new = json_ok(invite($cid, user => 'clin1'), 201, 'reinvite after failed delivery');
    last unless $new && defined $new->{id};   # nothing to follow
    is(invitation($inv->{id})->{status}, 'superseded', 'reinvite after failure: old one superseded');
    my $o2 = $new && wait_sent($new->{id});
    is($o2 && $o2->{status}, 'sent', 'reinvite after failure: delivered');
    is(scalar(mails_to($email)), 1, 'reinvite after failure: one email arrived');
}
{
    my $cid = new_client(staff => ['clin1']);
    my $inv = json_ok(invite($cid, user => 'clin1'), 201, 'decline scenario: invite');
    last unless $inv && defined $inv->{id};   # nothing to follow
    wait_sent($inv->{id});
    $dbh->do("UPDATE invitations SET status = 'declined', responded_at = ? WHERE id = ?", undef, time, $inv->{id});
    my ($view) = view_invitations($cid, 'clin1');
    is($view && $view->{portal_status}, 'declined', 'recipient declined: portal_status declined');
    error_ok(staff(POST => "/invitations/$inv->{id}/resend", user => 'clin1'), 409, 'not_pending',
             'resend a declined invitation');
    my $new = json_ok(invite($cid, user => 'clin1'), 201, 'reinvite after the recipient declined');
    last unless $new && defined $new->{id};   # nothing to follow
    is(invitation($inv->{id})->{status}, 'declined', 'the declined one stays declined');
    wait_sent($new->{id}) if $new;
}

# --- email change supersedes, "client declined" revokes ------------------------------------
{
    my $cid = new_client(email => 'old.address@example.test', staff => ['clin1']);
    my $inv = json_ok(invite($cid, user => 'clin1'), 201, 'email change scenario: invite');
    last unless $inv && defined $inv->{id};   # nothing to follow
    wait_sent($inv->{id});
    json_ok(staff(PUT => "/clients/$cid/email", user => 'clin1', json => { email => 'new.address@example.test' }),
            200, 'change the email');
    is(invitation($inv->{id})->{status}, 'superseded', 'email change: the pending invitation is superseded');
    my $new = json_ok(invite($cid, user => 'clin1'), 201, 'invite the new address');
    last unless $new && defined $new->{id};   # nothing to follow
    is($new && $new->{email}, 'new.address@example.test', 'new invitation to the new address');
    wait_sent($new->{id}) if $new;

    json_ok(staff(POST => "/clients/$cid/declined", user => 'clin1', json => { note => 'no thanks' }),
            200, 'record client declined');
    is(invitation($new->{id})->{status}, 'revoked', 'client declined: the pending invitation is revoked');
    error_ok(invite($cid, user => 'clin1'), 409, 'client_declined', 'invite after client declined');
}

clear_settings();
done_testing();
