# t/bounces.t — bounces (issue 16): with PortalMailBounceAddress each email's envelope
# sender is bounces+ID-MAC@domain naming its outbox row; portal-manager-admin bounce reads
# a returned message on stdin (as Postfix's pipe delivers it) and records it: a hard bounce
# (5.x.x) marks the delivery "bounced" with the diagnostic and refuses new email to that
# address (invite, resend, bulk: 409/skipped email_bounced) until the address changes; a
# soft one is noted; auto-replies, other mail, forged MACs and unknown rows change nothing
# (exit 0); a database that cannot be reached is exit 75 (the MTA keeps the message).
use strict;
use warnings;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use Test::More;
use Digest::SHA qw(hmac_sha256_hex);
use File::Temp qw(tempfile);
use IPC::Open3 qw(open3);
use Symbol qw(gensym);
use PortalTest;
use PortalTest::Delivery;
use PortalTest::Env ();

my $dbh = db();
clear_settings();
my $rt = runtime();
my $admin_tool = PortalTest::Env::top_dir() . '/portal-manager-admin';
my $secret = PortalTest::Env::slurp($rt->{token_secret});
$secret =~ s/\s+\z//;
my $fixtures = PortalTest::Env::top_dir() . '/t/unit/bounces';

sub mails_to {
    my $addr = lc shift;
    return grep { grep { lc($_) eq $addr } @{ $_->{rcpt_tos} || [] } } mails();
}

# bounce(message, recipient, %env): [exit status, stdout, stderr] of the admin tool
sub bounce {
    my ($msg, $rcpt, %o) = @_;
    my @cmd = ($admin_tool, '--driver', $rt->{db_driver}, '--params', $o{params} // $rt->{db_params},
               'bounce', '--secret-file', $rt->{token_secret},
               defined $rcpt ? ('--recipient', $rcpt) : ());
    my ($in, $out, $err) = (undef, undef, gensym);
    my $pid = open3($in, $out, $err, @cmd);
    print {$in} $msg;
    close $in;
    my $stdout = do { local $/; <$out> } // '';
    my $stderr = do { local $/; <$err> } // '';
    waitpid $pid, 0;
    return [$? >> 8, $stdout, $stderr];
}

sub fixture {
    my ($name, $verp) = @_;
    my $m = PortalTest::Env::slurp("$fixtures/$name");
    $m =~ s/bounces\+42-PLACEHOLDER\@practice\.test/$verp/g;
    return $m;
}

sub invite { my ($cid) = @_; return staff(POST => "/clients/$cid/invitations", user => 'clin1') }

sub view { return decode_json_body(staff(GET => "/clients/$_[0]", user => 'clin1')) }

sub latest_client_invitation {
    my ($v) = @_;
    my ($inv) = grep { !defined $_->{representative_id} } @{ $v->{invitations} || [] };
    return $inv;
}

# the delivered email of invitation $iid and its envelope sender
sub delivered {
    my ($iid, $addr, $count) = @_;
    my $row = wait_outbox($iid, sub { $_[0]{status} eq 'sent' }, 20);
    wait_until(sub { mails_to($addr) >= ($count // 1) }, 10);
    my @m = mails_to($addr);
    return ($row, $m[-1]);
}

# --- the envelope sender names the outbox row ---------------------------------------------
my $addr = 'bounce.hard@example.test';
my $cid = new_client(email => $addr, staff => ['clin1']);
my $res = invite($cid);
is($res->code, 201, 'invite') or diag describe($res);
my $iid = decode_json_body($res)->{id};
my ($row, $mail) = delivered($iid, $addr);
is($row->{status}, 'sent', 'the invitation email went out');
my $verp = $mail ? $mail->{mail_from} : '';
like($verp, qr/\Abounces\+\Q$row->{id}\E-[0-9a-f]{16}\@practice\.test\z/,
     'MAIL FROM is bounces+<outbox id>-<MAC>@practice.test');
my ($mac) = $verp =~ /-([0-9a-f]{16})\@/;
is($mac, substr(hmac_sha256_hex("bounce:$row->{id}", $secret), 0, 16),
   'the MAC is HMAC-SHA256 of the secret over "bounce:ID", 8 bytes');
my ($header_from) = ($mail ? $mail->{raw} : '') =~ /^From: (.*)$/m;
ok(defined $header_from && $header_from !~ /bounces/, 'the From header is still the practice\'s address');

# --- ignored: forged, unknown, auto-reply, not a bounce -----------------------------------
my $before = $dbh->selectrow_hashref('SELECT bounce_type, bounced_at, bounce_reason FROM outbox WHERE id = ?',
                                     undef, $row->{id});
my $audit_before = scalar audit_rows(action => 'email.bounced');
(my $forged = $verp) =~ s/-([0-9a-f])/'-' . ($1 eq 'a' ? 'b' : 'a')/e;
my $r = bounce(fixture('postfix-hard.eml', $forged), $forged);
is($r->[0], 0, 'forged MAC: exit 0 (the MTA must not bounce the bounce)');
like($r->[2], qr/forged/, 'forged MAC: said so') or diag $r->[2];
my $other = $row->{id} + 100000;
my $unknown = "bounces+$other-" . substr(hmac_sha256_hex("bounce:$other", $secret), 0, 16) . '@practice.test';
$r = bounce(fixture('postfix-hard.eml', $unknown), $unknown);
is($r->[0], 0, 'a row that does not exist: exit 0');
like($r->[2], qr/not recorded/, 'a row that does not exist: not recorded') or diag $r->[2];
$r = bounce(fixture('autoreply.eml', $verp), $verp);
is($r->[0], 0, 'auto-reply: exit 0');
like($r->[2], qr/automatic reply/, 'auto-reply: ignored as such') or diag $r->[2];
$r = bounce(fixture('ordinary.eml', $verp), $verp);
is($r->[0], 0, 'a person writing to the bounce address: exit 0');
like($r->[2], qr/not a bounce/, 'not a bounce: ignored') or diag $r->[2];
$r = bounce(fixture('postfix-hard.eml', 'bounces@practice.test'), 'bounces@practice.test');
is($r->[0], 0, 'the bare bounce address: exit 0');
is_deeply($dbh->selectrow_hashref('SELECT bounce_type, bounced_at, bounce_reason FROM outbox WHERE id = ?',
                                  undef, $row->{id}), $before, 'none of them changed the email');
is(scalar audit_rows(action => 'email.bounced'), $audit_before, 'none of them was audited');
unlike(join('', map { $_->[2] } ($r)), qr/example\.test/, 'no address in what the tool prints');

# --- a soft bounce is noted ----------------------------------------------------------------
$r = bounce(fixture('postfix-delayed.eml', $verp), undef);    # recipient from X-Original-To
is($r->[0], 0, 'soft bounce: exit 0') or diag $r->[2];
like($r->[1], qr/\Aoutbox $row->{id}: soft/, 'soft bounce recorded on its row');
my $ob = $dbh->selectrow_hashref('SELECT * FROM outbox WHERE id = ?', undef, $row->{id});
is($ob->{bounce_type}, 'soft', 'bounce_type soft');
my $v = view($cid);
my $inv = latest_client_invitation($v);
is($inv->{delivery}, 'sent', 'a soft bounce leaves the delivery "sent"');
is($inv->{bounce}{type}, 'soft', 'the view shows the soft bounce');
like($inv->{bounce}{reason} // '', qr/451 4\.4\.1/, 'with its diagnostic');
is($v->{portal_status}, 'invited', 'still invited');

# --- a hard bounce -------------------------------------------------------------------------
# today's column of the Overview's emails by day (the practice's day)
sub overview_today {
    my $d = json_ok(staff(GET => '/admin/overview?days=1&months=1'), 200, 'GET /admin/overview') || {};
    return ($d->{delivery} || [])->[-1] || {};
}
my $ov_before = overview_today();
$r = bounce(fixture('postfix-hard.eml', $verp), $verp);
is($r->[0], 0, 'hard bounce: exit 0') or diag $r->[2];
like($r->[1], qr/\Aoutbox $row->{id}: hard/, 'hard bounce recorded');
$ob = $dbh->selectrow_hashref('SELECT * FROM outbox WHERE id = ?', undef, $row->{id});
is($ob->{bounce_type}, 'hard', 'a hard bounce replaces the soft one');
is($ob->{bounce_reason}, '550 5.1.1 <***@clients.test>: Recipient address rejected: User unknown in virtual mailbox table',
   'the diagnostic, unfolded, the address masked');
ok($ob->{bounced_at} && abs($ob->{bounced_at} - time) < 60, 'bounced_at is now');
my @audit = audit_rows(action => 'email.bounced');
is(scalar @audit, $audit_before + 2, 'soft and hard each audited once');
is($audit[-1]{username}, 'system', 'audited as system');
is($audit[-1]{client_id}, $cid, 'for the client');
like($audit[-1]{detail} // '', qr/"type":"hard"/, 'detail says hard');
unlike($audit[-1]{detail} // '', qr/\@|Recipient address/, 'no address or diagnostic text in the audit detail');
$v = view($cid);
$inv = latest_client_invitation($v);
is($inv->{delivery}, 'bounced', 'the view says bounced');
like($inv->{delivery_error} // '', qr/User unknown/, 'delivery_error is the bounce reason');
is($v->{portal_status}, 'failed', 'portal status: the invitation failed');

# --- the champion's Outbox: the email is bounced, not sent; the Bounced filter finds it ----------
{
    my $entry = sub {
        my ($query) = @_;
        my $d = json_ok(staff(GET => "/admin/outbox$query"), 200, "GET /admin/outbox$query") || {};
        return ($d, { map { $_->{id} => $_ } @{ $d->{entries} || [] } });
    };
    my ($d, $by) = $entry->("?client_id=$cid");
    my $e = $by->{ $row->{id} } || {};
    is($e->{status}, 'bounced', 'the Outbox shows the hard-bounced email as bounced, not sent');
    is_deeply($e->{bounce}, { type => 'hard', reason => $ob->{bounce_reason} }, 'with its diagnostic');
    my ($b) = $entry->("?status=bounced&client_id=$cid");
    is_deeply([map { $_->{id} } @{ $b->{entries} || [] }], [$row->{id}],
              '?status=bounced&client_id=: exactly the bounced email');
    my (undef, $all) = $entry->('?status=bounced');
    ok($all->{ $row->{id} }, '?status=bounced lists it');
    my @wrong = grep { $_->{status} ne 'bounced' || ($_->{bounce} || {})->{type} ne 'hard' } values %$all;
    ok(!@wrong, '?status=bounced: only hard-bounced emails') or diag explain \@wrong;
    my (undef, $sent) = $entry->("?status=sent&client_id=$cid");
    ok(!$sent->{ $row->{id} }, '?status=sent leaves it out');
    my $s7 = $dbh->selectrow_array("SELECT count(*) FROM outbox WHERE status = 'sent' AND sent_at >= ? "
                                 . "AND (bounce_type IS NULL OR bounce_type <> 'hard')", undef, time - 7 * 86400 + 5);
    is($d->{counts}{sent_last_7_days}, $s7 > 100 ? 100 : $s7, 'sent in the last 7 days: not the bounced one');
    my $ov_after = overview_today();
    is($ov_after->{sent}, $ov_before->{sent} - 1, 'the Overview\'s emails by day: one fewer sent today')
        or diag explain [$ov_before, $ov_after];
    is($ov_after->{bounced}, ($ov_before->{bounced} // 0) + 1, 'and one more bounced');
}

# a soft one after the hard one changes nothing
$r = bounce(fixture('postfix-delayed.eml', $verp), $verp);
like($r->[1], qr/unchanged/, 'a later soft bounce does not replace a hard one');
is($dbh->selectrow_array('SELECT bounce_type FROM outbox WHERE id = ?', undef, $row->{id}), 'hard', 'still hard');

# --- no new email to that address ---------------------------------------------------------
my $queued = scalar outbox_rows($iid);
error_ok(staff(POST => "/invitations/$iid/resend", user => 'clin1'), 409, 'email_bounced', 'resend refused');
error_ok(invite($cid), 409, 'email_bounced', 'invite again refused');
$res = staff(POST => '/invitations/bulk', user => 'clin1', json => { client_ids => [$cid] });
is($res->code, 200, 'bulk answers');
is(decode_json_body($res)->{results}[0]{reason}, 'email_bounced', 'bulk skips it with email_bounced');
is(scalar outbox_rows($iid), $queued, 'no email queued by any of them');
is(scalar invitations_of($cid), 1, 'no invitation created');

# --- staff save an address: checked with the person, its bounce no longer refuses --------------
# Another address and back (the bounced one saved again, in capitals even: the same
# address) confirms it: the person fixed the mailbox. The bounce stays in the history.
json_ok(staff(PUT => "/clients/$cid/email", user => 'clin1', json => { email => 'elsewhere.b@example.test' }),
        200, 'another address saved');
json_ok(staff(PUT => "/clients/$cid/email", user => 'clin1', json => { email => uc $addr }), 200,
        'the bounced address saved again (in capitals), after checking it with the client');
is($dbh->selectrow_array('SELECT count(*) FROM outbox WHERE id = ? AND bounce_cleared_at IS NOT NULL',
                         undef, $row->{id}), 1, 'the bounce is cleared, not forgotten');
my ($clear_audit) = grep { ($_->{detail} // '') =~ /"cleared_bounces":1/ }
    @{ $dbh->selectall_arrayref("SELECT detail FROM audit_log WHERE action = 'client.email_change' "
                                . 'AND client_id = ?', { Slice => {} }, $cid) };
ok($clear_audit, 'audited: client.email_change counts the cleared bounce');
my $bounced_inv = (grep { $_->{id} == $iid } @{ view($cid)->{invitations} || [] })[0];
is($bounced_inv && $bounced_inv->{delivery}, 'bounced', 'the old invitation still shows it bounced');
ok($bounced_inv && $bounced_inv->{bounce} && $bounced_inv->{bounce}{cleared_at},
   'with the time staff confirmed the address (bounce.cleared_at)');
$res = invite($cid);
is($res->code, 201, 'an invitation to the confirmed address goes') or diag describe($res);
my $iid_confirmed = decode_json_body($res)->{id};
my ($row_c) = delivered($iid_confirmed, $addr, 2);
is($row_c && $row_c->{status}, 'sent', 'and is delivered');

# --- the address changes: invitations go again ---------------------------------------------
my $new_addr = 'bounce.fixed@example.test';
json_ok(staff(PUT => "/clients/$cid/email", user => 'clin1', json => { email => $new_addr }), 200,
        'address changed');
$res = invite($cid);
is($res->code, 201, 'invite to the new address') or diag describe($res);
my $iid2 = decode_json_body($res)->{id};
my ($row2, $mail2) = delivered($iid2, $new_addr);
is($row2->{status}, 'sent', 'delivered to the new address');
like($mail2 ? $mail2->{mail_from} : '', qr/\Abounces\+\Q$row2->{id}\E-/, 'with its own VERP address');

# --- a representative: an edit that sends the address confirms it; a name-only edit does not --------
{
    my $rep_addr = 'bounce.rep@example.test';
    my $d = json_ok(staff(POST => "/clients/$cid/representatives", user => 'clin1',
                          json => { email => $rep_addr, first_name => 'Robin', last_name => 'Bounce' }),
                    201, 'a representative, invited');
    my ($rid, $rep_iid) = ($d->{representative}{id}, $d->{invitation}{id});
    my ($rep_row, $rep_mail) = delivered($rep_iid, $rep_addr);
    my $rep_verp = $rep_mail ? $rep_mail->{mail_from} : '';
    like(bounce(fixture('postfix-hard.eml', $rep_verp), $rep_verp)->[1], qr/hard/, 'its email bounced hard');
    error_ok(staff(POST => "/invitations/$rep_iid/resend", user => 'clin1'), 409, 'email_bounced',
             'resend to the representative refused');
    json_ok(staff(PUT => "/representatives/$rid", user => 'clin1', json => { first_name => 'Robyn' }), 200,
            'a name-only edit');
    error_ok(staff(POST => "/invitations/$rep_iid/resend", user => 'clin1'), 409, 'email_bounced',
             'still refused: the address was not confirmed');
    json_ok(staff(PUT => "/representatives/$rid", user => 'clin1', json => { email => $rep_addr }), 200,
            'the edit sends the same address (checked with the person)');
    is($dbh->selectrow_array('SELECT count(*) FROM outbox WHERE invitation_id = ? AND bounce_cleared_at IS NOT NULL',
                             undef, $rep_iid), 1, 'its bounce is cleared');
    my $res = staff(POST => "/invitations/$rep_iid/resend", user => 'clin1');
    isnt((decode_json_body($res) // {})->{error}{code} // '', 'email_bounced',
         'resend is no longer refused for the bounce (' . $res->code . ')');
}

# --- plain (non-DSN) bounce ----------------------------------------------------------------
my $verp2 = $mail2->{mail_from};
$r = bounce(fixture('plain-hard.eml', $verp2), $verp2);
like($r->[1], qr/hard/, 'a plain 550 bounce is hard');
is(latest_client_invitation(view($cid))->{delivery}, 'bounced', 'and shows as bounced');

# --- the database is not there: exit 75 ------------------------------------------------------
my $dead = db_driver() eq 'sqlite3' ? "$rt->{dir}/no-such-dir/portal.db"
         : 'host=127.0.0.1 port=1 dbname=portal user=portal password=x connect_timeout=2';
$r = bounce(fixture('postfix-hard.eml', $verp2), $verp2, params => $dead);
is($r->[0], 75, 'database unreachable: exit 75 (EX_TEMPFAIL), the MTA keeps the bounce');

# --- no secret file: the admin's to fix; exit 75 keeps the bounce in the MTA's queue, not a
# silent drop (exit 0) nor a bounce of the bounce (exit 1) ------------------------------------
{
    my @cmd = ($admin_tool, '--driver', $rt->{db_driver}, '--params', $rt->{db_params}, 'bounce');
    my $pid = open3(my $in, my $out, my $err = gensym, @cmd);
    close $in;
    my $e = do { local $/; <$err> } // '';
    waitpid $pid, 0;
    is($? >> 8, 75, 'bounce without --secret-file: exit 75 (EX_TEMPFAIL), the MTA keeps it');
    like($e, qr/--secret-file/, 'and says what is missing');
}

done_testing();
