# t/delivery.t — what the delivery worker puts on the wire, checked at a real SMTP server
# (t/smtp/catcher.py) and parsed with Python's email package under policy.strict
# (t/smtp/parse_mail.py), never by matching our own output:
#   the message (headers, MIME structure, quoted-printable round trip, RFC 2047 Subject,
#   78-column lines, the link, no clinical information), the token (only its SHA-256 in
#   the database; the token nowhere in the database, error log or access log), SMTP
#   failures (451 retried, 550 failed at once with the reply shown and any address in
#   it masked, max attempts, 4xx while staff watch), CR/LF in a stored address or a
#   header value, revoke or an address change before delivery (cancelled, not failed),
#   resend while the first email is still queued,
#   one SMTP connection per batch.
# The mail server being down and PortalMailTLS required need their own server:
# t/delivery_standalone.t.
use strict;
use warnings;
use utf8;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use Test::More;
use Encode ();
use POSIX ();
use MIME::Base64 qw(decode_base64 encode_base64);
use Time::HiRes qw(sleep);
use Time::Local qw(timegm);
use PortalTest;
use PortalTest::Env ();
use PortalTest::Delivery;

# provoked on purpose: deliveries retried and failed on purpose (4xx, 5xx, line breaks)
expect_log_ids(qw(PM00052 PM00053));

binmode Test::More->builder->$_, ':encoding(UTF-8)' for qw(output failure_output todo_output);

my $dbh = db();
clear_settings();
mail_replies();
my $URL = invitation_url();
my @ALL_TOKENS;                         # every token seen in a received email

sub invite { my ($cid, %o) = @_; return staff(POST => "/clients/$cid/invitations", %o) }
sub wait_done { my ($iid, $t) = @_; wait_outbox($iid, sub { $_[0]{status} ne 'queued' }, $t // 15) }

sub mails_to {
    my $addr = lc shift;
    return grep { grep { lc($_) eq $addr } @{ $_->{rcpt_tos} || [] } } mails();
}

sub wait_mails_to {
    my ($addr, $n, $t) = @_;
    my $got = wait_until(sub { my @m = mails_to($addr); @m >= $n ? \@m : undef }, $t // 15);
    return $got ? @$got : mails_to($addr);
}

sub header_count {
    my ($parsed, $name) = @_;
    return scalar grep { lc $_->[0] eq lc $name } @{ $parsed->{headers} || [] };
}

sub part {
    my ($parsed, $type) = @_;
    my ($p) = grep { $_->{content_type} eq $type } @{ $parsed->{parts} || [] };
    return $p;
}

# an English expiry as ICU writes it in the server's own zone (no time_zone setting here)
sub human_time {
    my @t = localtime shift;
    my @months = qw(January February March April May June July August September October
                    November December);
    # the zone named after the time: the server's own, UTC under scripts/lib/apache-tests.sh
    return sprintf "%s %d, %d at %d:%02d\x{a0}%s %s", $months[$t[4]], $t[3], $t[5] + 1900,
                   $t[2] % 12 || 12, $t[1], $t[2] < 12 ? 'AM' : 'PM', POSIX::strftime('%Z', @t);
}

sub rfc5322_epoch {
    my $d = shift // return undef;
    my %mon; @mon{qw(Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec)} = 0 .. 11;
    my ($day, $mon, $year, $H, $M, $S, $sign, $zh, $zm) =
        $d =~ /^(?:[A-Z][a-z]{2}, )?(\d{1,2}) ([A-Z][a-z]{2}) (\d{4}) (\d\d):(\d\d):(\d\d) ([+-])(\d\d)(\d\d)$/
        or return undef;
    my $t = timegm($S, $M, $H, $day, $mon{$mon}, $year);
    return $t - ($sign eq '+' ? 1 : -1) * ($zh * 3600 + $zm * 60);
}

# the quoted-printable bodies of the raw message (between a QP part's headers and the
# next boundary)
sub qp_bodies {
    my $raw = shift;
    my @bodies;
    while ($raw =~ /Content-Transfer-Encoding: quoted-printable\r\n(?:[^\r\n]+\r\n)*\r\n(.*?)\r\n--/sg) {
        push @bodies, $1;
    }
    return @bodies;
}

# Keep the worker busy for $secs: an email whose DATA the catcher holds; returns once the
# worker has claimed it, so rows queued from now on are not in that batch.
sub block_worker {
    my $secs = shift;
    my $cid = new_client(email => "blocker$secs." . int(rand 1e6) . '@example.test');
    mail_replies("DATA sleep $secs");
    my $inv = decode_json_body(invite($cid)) || {};
    return undef unless defined $inv->{id};
    my $row = wait_outbox($inv->{id}, sub { $_[0]{attempts} >= 1 }, 10);
    sleep 0.2;                           # past the claim, into the SMTP conversation
    return $inv->{id};
}

# ---------------------------------------------------------------------------------------
# 1. The message: a client named "Zoë Núñez" (seed client 3), a practice name that needs
#    encoding and escaping, a subject with her first name, a message template that
#    stresses quoted-printable and SMTP (long lines, leading dots, "From ", '=', tabs,
#    trailing spaces), and a Host header the link must not use.
# ---------------------------------------------------------------------------------------
my $PRACTICE = 'Clinique Saint-Éloi & <Partners>';
my $MESSAGE = "Hello {{recipient_first_name}},\n\n"
    . "{{practice_name}} invites you to its secure client portal — this sentence is deliberately "
    . "longer than seventy-six characters so that quoted-printable must wrap it.\n"
    . ".a line that starts with a dot\n"
    . ".\n"
    . "From the start of a line\n"
    . "equals = sign and =3D literal, tab\there, trailing spaces   \n"
    . "Ünïcödé ✓ 漢字\n\n"
    . "Open: {{link}}\n"
    . "Until: {{expires_at}}\n";
set_setting(practice_name => $PRACTICE,
            client_invitation_subject => '{{recipient_first_name}}, your invitation from {{practice_name}}',
            client_invitation_message => $MESSAGE);
mail_clear();
my ($zoe_inv, $zoe_parsed, $zoe_token);
{
    my $res = invite(3, user => 'clin1', headers => [Host => 'evil.example']);
    $zoe_inv = json_ok($res, 201, 'invite Zoë Núñez');
    do { mail_replies(); last } unless $zoe_inv && defined $zoe_inv->{id};   # nothing to follow
    my $o = wait_done($zoe_inv->{id});
    is($o && $o->{status}, 'sent', 'Zoë: delivered');
    my ($m) = wait_mails_to('zoe.nunez@example.test', 1);
    ok($m, 'Zoë: the SMTP server received the message') or last;
    my $p = $zoe_parsed = parse_mail($m);
    my $inv = invitation($zoe_inv->{id});

    # well-formed under a strict parser
    ok($p->{ok}, 'parses with zero defects under policy.strict') or diag $p->{error};
    is_deeply($p->{defects}, [], 'no header or part defects');
    ok(!$p->{bare_lf}, 'CRLF line endings only');
    my @long = lines_over($m->{raw}, 78);
    is(scalar @long, 0, 'every line is at most 78 characters')
        or diag "lines over 78:\n" . join("\n", map { length($_) . ": $_" } @long);

    # headers
    for my $h (qw(Date Message-ID From To Subject MIME-Version Auto-Submitted)) {
        is(header_count($p, $h), 1, "exactly one $h header");
    }
    my $date = rfc5322_epoch($p->{date});
    ok(defined $date, "Date is an RFC 5322 date ($p->{date})");
    ok(defined $date && abs($date - time) < 300, 'Date is now');
    like($p->{message_id} // '', qr/^<[^<>\s]+\@[^<>\s]+>$/, 'Message-ID is <id@domain>');
    is($p->{message_id}, latest_outbox($zoe_inv->{id})->{message_id},
       'Message-ID is the one stored with the outbox row');
    is($p->{from}, 'Riverside Counseling <no-reply@example.test>', 'From is PortalMailFrom');
    is($p->{to}, 'Zoë <zoe.nunez@example.test>', 'To is the client address with the first name');
    is((grep { lc $_->[0] eq 'mime-version' } @{ $p->{headers} })[0][1], '1.0', 'MIME-Version: 1.0');
    is($p->{auto_submitted}, 'auto-generated', 'Auto-Submitted: auto-generated');
    is(join(',', map { $_->[1] } grep { lc $_->[0] eq 'content-language' } @{ $p->{headers} }), 'en',
       'Content-Language: en (the client\'s language)');
    # the test server has PortalMailBounceAddress bounces@practice.test (t/bounces.t)
    like($m->{mail_from}, qr/\Abounces\+\Q@{[latest_outbox($zoe_inv->{id})->{id}]}\E-[0-9a-f]{16}\@practice\.test\z/,
         'envelope sender: the bounce address naming this email\'s outbox row');
    is_deeply($m->{rcpt_tos}, ['zoe.nunez@example.test'], 'envelope: exactly the client as recipient');

    # Subject: RFC 2047 on the wire, the original once decoded
    is($p->{subject}, "Zoë, your invitation from $PRACTICE", 'Subject decodes to the rendered template');
    my ($raw_headers) = $m->{raw} =~ /^(.*?)\r\n\r\n/s;
    like($raw_headers, qr/^Subject: =\?UTF-8\?[BQ]\?/mi, 'Subject is sent as encoded-words');
    unlike($raw_headers, qr/[^\x00-\x7f]/, 'header block is 7-bit ASCII');

    # MIME structure and encodings
    like($p->{tree} // '', qr{multipart/alternative\(text/plain,text/html\)},
         'multipart/alternative holding text/plain then text/html') or diag $p->{tree};
    my ($text, $html) = (part($p, 'text/plain'), part($p, 'text/html'));
    for my $pt ([$text, 'text/plain'], [$html, 'text/html']) {
        is($pt->[0] && lc($pt->[0]{charset} // ''), 'utf-8', "$pt->[1]: charset utf-8");
        is($pt->[0] && lc($pt->[0]{cte} // ''), 'quoted-printable', "$pt->[1]: quoted-printable");
    }
    is(scalar(grep { $_->{content_type} !~ m{^text/(plain|html)$} } @{ $p->{parts} }), 0,
       'no other parts (no attachments)');

    # the link
    my $tokens = link_tokens($p, $URL);
    is(scalar @{ $tokens->{text} }, 1, 'text part: one PortalInvitationURL#t= link');
    ok(scalar @{ $tokens->{html} } >= 1, 'HTML part: the link');
    $zoe_token = $tokens->{text}[0] // '';
    push @ALL_TOKENS, $zoe_token;
    like($zoe_token, qr/^[A-Za-z0-9_-]{43}$/, 'token: 43 base64url characters');
    is(length(eval { decode_base64(($zoe_token =~ tr/-_/+\//r) . '=') } // ''), 32, 'token: 32 bytes');
    is_deeply([ sort keys %{ { map { $_ => 1 } @{ $tokens->{html} } } } ], [$zoe_token],
              'HTML part: the same token (href and text)');
    like($html->{text} // '', qr{<a href="\Q$URL\E#t=\Q$zoe_token\E"}, 'HTML part: an anchor to the link');
    unlike($m->{raw}, qr/evil\.example/, 'the link ignores the request Host header');

    # the token: only its hash is stored
    is($inv->{token_hash}, sha256_hex($zoe_token), 'invitations.token_hash is the SHA-256 hex of the token');

    # quoted-printable round trip: the decoded text equals the template rendered here
    my $expected = $MESSAGE;
    my %vars = (recipient_first_name => 'Zoë', practice_name => $PRACTICE,
                link => "$URL#t=$zoe_token", expires_at => human_time($inv->{expires_at}));
    $expected =~ s/\{\{(\w+)\}\}/$vars{$1}/g;
    (my $got = $text->{text} // '') =~ s/\r\n/\n/g;
    is(substr($got, 0, length $expected), $expected,
       'text part decodes to exactly the rendered template (QP and SMTP round trip)');
    like(substr($got, length $expected), qr/^\n-- \n\Q$PRACTICE\E\n/, 'then the footer, with the practice name');
    my @qp = qp_bodies($m->{raw});
    is(scalar @qp, 2, 'two quoted-printable bodies on the wire');
    is(scalar(grep { /=0[AD]/i } @qp), 0,
       'line breaks are CRLF line breaks in the QP body, not encoded =0A (RFC 2046 §4.1.1)')
        or diag 'first QP lines: ' . substr($qp[0] // '', 0, 160);

    # first name, escaping, no clinical information
    like($got, qr/^Hello Zoë,/, 'text: the decoded first name equals the original');
    like($html->{text} // '', qr/Hello Zoë,/, 'HTML: the decoded first name equals the original');
    like($html->{text} // '', qr/Clinique Saint-Éloi &amp; &lt;Partners&gt;/, 'HTML: practice name escaped');
    unlike($html->{text} // '', qr/<Partners>/, 'HTML: no unescaped markup from the practice name');
    like($got, qr/\Q$PRACTICE\E/, 'text: practice name unescaped');
    # (the To address itself is zoe.nunez@...: every other header, the subject, the bodies)
    my $visible = join "\n", $p->{subject} // '', $text->{text} // '', $html->{text} // '',
                  map { $_->[1] } grep { lc $_->[0] ne 'to' } @{ $p->{headers} };
    unlike($visible, qr/Núñez|Nunez/i, 'no last name in the headers or bodies');
    unlike($visible, qr/1992|03\/08|08\/03|\b8 March\b|March 8/, 'no date of birth');
    unlike($p->{to} // '', qr/Núñez|Nunez/, 'To carries the first name only, never the last');
}

# ---------------------------------------------------------------------------------------
# 2. The built-in templates (no settings): Alice (seed client 1)
# ---------------------------------------------------------------------------------------
clear_settings();
{
    my $inv = json_ok(invite(1, user => 'clin1'), 201, 'invite Alice with the built-in templates');
    do { mail_replies(); last } unless $inv && defined $inv->{id};   # nothing to follow
    wait_done($inv->{id});
    my ($m) = wait_mails_to('alice.anderson@example.test', 1);
    my $p = $m ? parse_mail($m) : {};
    ok($p->{ok}, 'default message parses with zero defects') or diag $p->{error};
    is($p->{subject}, 'Riverside Counseling: your invitation to the client portal',
       'default subject, practice name from PortalMailFrom');
    my $text = part($p, 'text/plain');
    my $t = link_tokens($p, $URL)->{text}[0] // '';
    push @ALL_TOKENS, $t;
    like($text && $text->{text} // '', qr/^Hello Alice,/, 'default text: greeting with the first name');
    like($text && $text->{text} // '', qr/\Q$URL\E#t=\Q$t\E/, 'default text: the link');
    like($text && $text->{text} // '', qr/\Q${\ human_time(invitation($inv->{id})->{expires_at}) }\E/,
         'default text: the expiry');
    unlike(join("\n", $p->{subject} // '', map { $_->{text} // '' } @{ $p->{parts} || [] }),
           qr/Anderson|1980|01\/15|15\/01/, 'default message: no last name, no date of birth');
    my @long = $m ? lines_over($m->{raw}, 78) : ();
    is(scalar @long, 0, 'default message: every line is at most 78 characters')
        or diag join "\n", map { length($_) . ": $_" } @long;
}

# ---------------------------------------------------------------------------------------
# 3. SMTP replies: 451 retried; 4xx while staff watch; 550 / 554 failed at once; max attempts
# ---------------------------------------------------------------------------------------
{
    my $email = 'retry451@example.test';
    my $cid = new_client(email => $email);
    smtp_commands_clear();
    mail_replies('451 4.3.0 Try again later');
    my $inv = json_ok(invite($cid), 201, '451 once: invite');
    do { mail_replies(); last } unless $inv && defined $inv->{id};   # nothing to follow
    my $o = wait_done($inv->{id});
    is($o && $o->{status}, 'sent', '451 once: sent on a retry');
    is($o && $o->{attempts}, 2, '451 once: two attempts');
    ok($o && !defined $o->{last_error}, '451 once: no error left once sent');
    sleep 0.5;
    my @m = mails_to($email);
    is(scalar @m, 1, '451 once: delivered exactly once');
    my @data = grep { $_->{cmd} eq 'DATA' } smtp_commands();
    is(scalar @data, 2, '451 once: the server saw two DATA commands');
    if (@m) {
        my $p = parse_mail($m[0]);
        my $t = link_tokens($p, $URL)->{text}[0] // '';
        push @ALL_TOKENS, $t;
        is(invitation($inv->{id})->{token_hash}, sha256_hex($t), '451 once: the delivered token is the current one');
        is($p->{message_id}, $o->{message_id}, '451 once: the delivered Message-ID is the one stored with the row (its last attempt)');
    }
    my (undef, $vinv) = do { my $d = decode_json_body(staff(GET => "/clients/$cid")); ($d, $d->{invitations}[0]) };
    is($vinv && $vinv->{delivery}, 'sent', '451 once: staff see sent');
    ok($vinv && !defined $vinv->{delivery_error}, '451 once: no delivery_error');

    # the retry is logged with its delay and reason (PM00052)
    my $log = PortalTest::Env::slurp(PortalTest::Env::top_dir() . '/t/logs/error_log');
    my ($line) = $log =~ /^(.*PM00052: outbox $o->{id}: attempt 1 failed.*)$/m;
    ok($line, '451 once: the retry is logged (PM00052)');
    like($line // '', qr/retrying in \d+s: .*451 4\.3\.0/,
         '451 once: the log line states the delay and the reason') or diag $line;
    # backoff: PortalOutboxRetryDelay 1 means the first retry waits about a second. The
    # failed attempt's next_attempt_at stays on the row; the 451 came at the first DATA.
    my $t_fail = $data[0] ? int $data[0]{t} : 0;
    cmp_ok(($o->{next_attempt_at} // 0) - $t_fail, '>=', 1,
           'first retry is delayed (PortalOutboxRetryDelay 1 -> 0.75..1.25 s, not 0)')
        or diag "451 at $data[0]{t}, next_attempt_at $o->{next_attempt_at}, "
              . sprintf('second DATA %.2f s later', ($data[1]{t} // 0) - ($data[0]{t} // 0));
}
{
    # the SMTP server turns us away twice at MAIL: the invitation stays queued and staff
    # see why; the third attempt goes through
    my $email = 'tempfail@example.test';
    my $cid = new_client(email => $email);
    mail_replies('MAIL 421 4.3.2 Service shutting down', 'MAIL 421 4.3.2 Service shutting down');
    my $inv = json_ok(invite($cid), 201, '421 twice: invite');
    do { mail_replies(); last } unless $inv && defined $inv->{id};   # nothing to follow
    my $seen = wait_until(sub {
        my $d = decode_json_body(staff(GET => "/clients/$cid"));
        my $i = $d && $d->{invitations}[0];
        return $i && defined $i->{delivery_error} && $i->{delivery} eq 'queued' ? $i : undef;
    }, 10, 0.02);
    ok($seen, '421 twice: staff see the invitation queued with a delivery_error');
    like($seen && $seen->{delivery_error} // '', qr/421 4\.3\.2 Service shutting down/,
         '421 twice: delivery_error shows the server reply');
    is($seen && $seen->{status}, 'pending', '421 twice: the invitation is still pending');
    my $o = wait_done($inv->{id});
    is($o && $o->{status}, 'sent', '421 twice: sent on the third attempt');
    is($o && $o->{attempts}, 3, '421 twice: three attempts');
    sleep 0.3;
    is(scalar(mails_to($email)), 1, '421 twice: delivered exactly once');
    push @ALL_TOKENS, map { link_tokens(parse_mail($_), $URL)->{text}[0] // () } mails_to($email);
}
for my $case (['RCPT 550 5.1.1 No such user here', qr/550 5\.1\.1 No such user here/, 'RCPT 550'],
              ['DATA 554 5.7.1 Message rejected as spam', qr/554 5\.7\.1 Message rejected as spam/, 'DATA 554']) {
    my ($reply, $want, $name) = @$case;
    my $email = lc($name =~ s/ //r) . '@example.test';
    my $cid = new_client(email => $email);
    smtp_commands_clear();
    mail_replies($reply);
    my $inv = json_ok(invite($cid), 201, "$name: invite");
    do { mail_replies(); next } unless $inv && defined $inv->{id};   # nothing to follow
    my $o = wait_done($inv->{id});
    is($o && $o->{status}, 'failed', "$name: failed");
    is($o && $o->{attempts}, 1, "$name: after one attempt (a 5xx is final)");
    like($o && $o->{last_error} // '', $want, "$name: the reply text is kept");
    sleep 1.5;
    is(latest_outbox($inv->{id})->{attempts}, 1, "$name: not retried later");
    is(scalar(grep { $_->{cmd} eq 'MAIL' } smtp_commands()), 1, "$name: one SMTP transaction");
    is(scalar(mails_to($email)), 0, "$name: nothing delivered");
    my $d = decode_json_body(staff(GET => "/clients/$cid"));
    my $vi = $d && $d->{invitations}[0];
    is($vi && $vi->{delivery}, 'failed', "$name: staff see delivery failed");
    like($vi && $vi->{delivery_error} // '', $want, "$name: staff see the server's reply");
    is($d && $d->{portal_status}, 'failed', "$name: portal_status failed");
    my $tok = $vi && $vi->{delivery_error} // '';
    unlike($tok, qr/[A-Za-z0-9_-]{43}/, "$name: no token in delivery_error");
}
{
    # servers echo the recipient in their reply: the address is masked (local part ->
    # ***, domain kept) in outbox.last_error, the outbox view, the invitation card and
    # the error log
    my $email = 'masked.recipient@example.test';
    my $cid = new_client(email => $email);
    mail_replies("RCPT 550 5.1.1 <$email>... User unknown");
    my $inv = json_ok(invite($cid), 201, '550 echoing the address: invite');
    do { mail_replies(); last } unless $inv && defined $inv->{id};   # nothing to follow
    my $o = wait_done($inv->{id});
    is($o && $o->{status}, 'failed', '550 echoing the address: failed');
    my $err = $o && $o->{last_error} // '';
    like($err, qr/550 5\.1\.1 <\*\*\*\@example\.test>\.\.\. User unknown/,
         '550 echoing the address: outbox.last_error keeps the reply, address masked') or diag $err;
    unlike($err, qr/masked\.recipient/, '550 echoing the address: no local part in outbox.last_error');
    my $view = decode_json_body(staff(GET => '/admin/outbox?status=failed'));
    my ($entry) = grep { $_->{id} == $o->{id} } @{ $view && $view->{entries} || [] };
    ok($entry, '550 echoing the address: the row is in the outbox view');
    like($entry && $entry->{last_error} // '', qr/<\*\*\*\@example\.test>/,
         '550 echoing the address: the outbox view shows the masked reply');
    unlike($entry && $entry->{last_error} // '', qr/masked\.recipient/,
           '550 echoing the address: no address in the outbox view');
    my $d = decode_json_body(staff(GET => "/clients/$cid"));
    my $vi = $d && $d->{invitations}[0];
    like($vi && $vi->{delivery_error} // '', qr/<\*\*\*\@example\.test>/,
         '550 echoing the address: the invitation card shows the masked reply');
    unlike($vi && $vi->{delivery_error} // '', qr/masked\.recipient/,
           '550 echoing the address: no address on the invitation card');
    my $log = PortalTest::Env::slurp(PortalTest::Env::top_dir() . '/t/logs/error_log');
    my ($line) = $log =~ /^(.*PM00053: outbox $o->{id}: .*)$/m;
    like($line // '', qr/<\*\*\*\@example\.test>/, '550 echoing the address: logged masked (PM00053)')
        or diag $line;
    unlike($log, qr/masked\.recipient/, '550 echoing the address: the address is nowhere in the error log');
}
{
    # a content filter that quotes the message's link in its refusal, and a relay that
    # names the mailbox without its domain: the working token and the local part are
    # masked in outbox.last_error, the staff's views and the error log
    my $email = 'quoted.link@example.test';
    my $cid = new_client(email => $email);
    mail_replies('DATA 550 5.7.1 Message rejected: URL {link} is listed; mailbox {rcpt_local} held');
    my $inv = json_ok(invite($cid), 201, 'a refusal quoting the link: invite');
    do { mail_replies(); last } unless $inv && defined $inv->{id};   # nothing to follow
    my $o = wait_done($inv->{id});
    is($o && $o->{status}, 'failed', 'a refusal quoting the link: failed');
    my $err = $o && $o->{last_error} // '';
    like($err, qr{URL http\S*#t=\*\*\* is listed; mailbox \*\*\* held},
         'a refusal quoting the link: outbox.last_error keeps the reply, the token and mailbox masked')
        or diag $err;
    unlike($err, qr/[A-Za-z0-9_-]{40}|quoted\.link/, '... no token or local part in outbox.last_error');
    my $d = decode_json_body(staff(GET => "/clients/$cid"));
    my $vi = $d && $d->{invitations}[0];
    like($vi && $vi->{delivery_error} // '', qr{#t=\*\*\* is listed},
         '... the invitation card shows the reply with the token masked');
    unlike($vi && $vi->{delivery_error} // '', qr/[A-Za-z0-9_-]{40}/, '... and no token');
    my $log = PortalTest::Env::slurp(PortalTest::Env::top_dir() . '/t/logs/error_log');
    my ($line) = $log =~ /^(.*PM00053: outbox $o->{id}: .*)$/m;
    like($line // '', qr{#t=\*\*\* is listed; mailbox \*\*\* held}, '... logged masked (PM00053)')
        or diag $line;
    unlike($line // '', qr/[A-Za-z0-9_-]{40}/, '... no token in the error log line');
}
{
    my $email = 'always451@example.test';
    my $cid = new_client(email => $email);
    smtp_commands_clear();
    mail_replies(('451 4.3.0 Try again later') x 3);
    my $inv = json_ok(invite($cid), 201, '451 x3: invite');
    do { mail_replies(); last } unless $inv && defined $inv->{id};   # nothing to follow
    my $o = wait_done($inv->{id}, 20);
    is($o && $o->{status}, 'failed', '451 x3: failed after PortalOutboxMaxAttempts (3)');
    is($o && $o->{attempts}, 3, '451 x3: three attempts');
    like($o && $o->{last_error} // '', qr/451 4\.3\.0 Try again later/, '451 x3: last reply kept');
    is(scalar(grep { $_->{cmd} eq 'DATA' } smtp_commands()), 3, '451 x3: three DATA commands, no more');
    is(scalar(mails_to($email)), 0, '451 x3: nothing delivered');
    my $d = decode_json_body(staff(GET => "/clients/$cid"));
    is($d && $d->{invitations}[0]{delivery}, 'failed', '451 x3: staff see failed');
    mail_replies();
}

# the retries above took httpd children through the retry path: none may have crashed
{
    my $log = PortalTest::Env::slurp(PortalTest::Env::top_dir() . '/t/logs/error_log');
    my @crashes = $log =~ /^(.*exit signal.*)$/mg;
    is(scalar @crashes, 0, 'no httpd child crashed while retrying deliveries') or diag join "\n", @crashes;
}

# ---------------------------------------------------------------------------------------
# 4. CR / LF in a stored address (written straight into the database) or a header value
# ---------------------------------------------------------------------------------------
for my $case (["a\@example.org\r\nRCPT TO:<evil\@example.net>", 'CRLF'],
              ["a\@example.org\nRCPT TO:<evil\@example.net>", 'LF'],
              ["a\@example.org\rRCPT TO:<evil\@example.net>", 'CR'],
              ["a\@example.org>\r\nRCPT TO:<evil\@example.net", 'CRLF inside brackets']) {
    my ($addr, $name) = @$case;
    my $cid = new_client();
    $dbh->do('UPDATE clients SET email = ? WHERE id = ?', undef, $addr, $cid);
    smtp_commands_clear();
    my $before = scalar mails();
    my $inv = json_ok(invite($cid), 201, "$name in the address: invite");
    do { mail_replies(); next } unless $inv && defined $inv->{id};   # nothing to follow
    my $o = wait_done($inv->{id});
    is($o && $o->{status}, 'failed', "$name in the address: failed");
    is($o && $o->{attempts}, 1, "$name in the address: not retried");
    like($o && $o->{last_error} // '', qr/line break/, "$name in the address: a clear error")
        or diag $o && $o->{last_error};
    sleep 0.3;
    my @cmds = smtp_commands();
    is(scalar(grep { ($_->{arg} // '') =~ /evil/ } @cmds), 0, "$name in the address: no extra recipient at the server");
    is(scalar @cmds, 0, "$name in the address: no SMTP transaction at all");
    is(scalar(mails()), $before, "$name in the address: no message");
}
{
    set_setting(practice_name => "Evil\r\nBcc: evil\@example.net");
    my $cid = new_client(email => 'subject.injection@example.test');
    smtp_commands_clear();
    my $inv = json_ok(invite($cid), 201, 'CRLF in the subject: invite');
    do { mail_replies(); last } unless $inv && defined $inv->{id};   # nothing to follow
    my $o = wait_done($inv->{id});
    is($o && $o->{status}, 'failed', 'CRLF in the subject: failed');
    like($o && $o->{last_error} // '', qr/line break/, 'CRLF in the subject: a clear error');
    is(scalar(smtp_commands()), 0, 'CRLF in the subject: nothing reached the server');
    is(scalar(mails_to('subject.injection@example.test')), 0, 'CRLF in the subject: no message');
    clear_settings();
}

# ---------------------------------------------------------------------------------------
# 5. Revoke before delivery; the token is made at send time; resend while still queued;
#    one SMTP connection per batch
# ---------------------------------------------------------------------------------------
{
    my $blocker = block_worker(3);
    my $email = 'revoked.early@example.test';
    my $cid = new_client(email => $email);
    my $inv = json_ok(invite($cid), 201, 'revoke before delivery: invite');
    do { mail_replies(); last } unless $inv && defined $inv->{id};   # nothing to follow
    my $row = invitation($inv->{id});
    ok(!defined $row->{token_hash}, 'no token hash before the worker sends (made at send time)');
    is(latest_outbox($inv->{id})->{status}, 'queued', 'queued behind the busy worker');
    json_ok(staff(POST => "/invitations/$inv->{id}/revoke"), 200, 'revoke while queued');
    my $o = wait_done($inv->{id}, 15);
    is($o && $o->{status}, 'failed', 'revoked before delivery: the email is not sent (failed)');
    like($o && $o->{last_error} // '', qr/revoked/, 'revoked before delivery: the error says why');
    wait_done($blocker);
    sleep 0.3;
    is(scalar(mails_to($email)), 0, 'revoked before delivery: no message');
    my $d = decode_json_body(staff(GET => "/clients/$cid"));
    my $vi = $d && $d->{invitations}[0];
    is($vi && $vi->{status}, 'revoked', 'staff see revoked');
    is($vi && $vi->{delivery}, 'cancelled', 'staff see delivery cancelled (not sent, not a failure)');
    like($vi && $vi->{delivery_error} // '', qr/revoked/, 'staff see why');
    ok(!defined invitation($inv->{id})->{token_hash}, 'revoked before delivery: no token was made');
}
# The address changed while the email was still queued: the email rightly never goes,
# and the client view, the Outbox and the Overview all call it cancelled, not failed
# (before: the view said delivery "failed", "Could not be delivered to …").
{
    my $day = sub {
        my $o = decode_json_body(staff(GET => '/admin/overview?months=1&days=1'));
        return $o && $o->{delivery} && $o->{delivery}[-1];
    };
    my $before = $day->();
    my $blocker = block_worker(3);
    my $email = 'changed.early@example.test';
    my $cid = new_client(email => $email);
    my $inv = json_ok(invite($cid), 201, 'address change before delivery: invite');
    do { mail_replies(); last } unless $inv && defined $inv->{id};
    is(latest_outbox($inv->{id})->{status}, 'queued', 'queued behind the busy worker');
    json_ok(staff(PUT => "/clients/$cid/email", json => { email => 'changed.later@example.test' }),
            200, 'the address changed while queued');
    my $o = wait_done($inv->{id}, 15);
    is($o && $o->{status}, 'failed', 'stored failed (never sent) ...');
    like($o && $o->{last_error} // '', qr/^not sent: .*superseded/, '... "not sent:", superseded');
    wait_done($blocker);
    sleep 0.3;
    is(scalar(mails_to($email)), 0, 'no message to the old address');
    my $d = decode_json_body(staff(GET => "/clients/$cid"));
    my $vi = $d && $d->{invitations}[0];
    is($vi && $vi->{status}, 'address_changed', 'the view: the invitation ended by the address change');
    is($vi && $vi->{delivery}, 'cancelled', 'the view: its email cancelled, not failed');
    my $page = decode_json_body(staff(GET => "/admin/outbox?id=$o->{id}"));
    is($page && $page->{entries}[0] && $page->{entries}[0]{status}, 'cancelled',
       'the Outbox: cancelled');
    my $after = $day->();
    is($after && $after->{failed}, $before && $before->{failed}, 'the Overview: not counted as failed')
        if $before && $after && $before->{day} eq $after->{day};
}
{
    # the first email is still queued when staff resend: one email should go out, with
    # the current token; no email may carry a link that is already dead
    my $blocker = block_worker(3);
    my $email = 'resend.queued@example.test';
    my $cid = new_client(email => $email);
    my $inv = json_ok(invite($cid), 201, 'resend while queued: invite');
    do { mail_replies(); last } unless $inv && defined $inv->{id};   # nothing to follow
    backdate_outbox($inv->{id}, 3600);
    json_ok(staff(POST => "/invitations/$inv->{id}/resend"), 200, 'resend while queued: resend');
    wait_done($blocker);
    wait_outbox($inv->{id}, sub { $_[0]{status} ne 'queued' }, 15);
    wait_until(sub { !grep { $_->{status} eq 'queued' } outbox_rows($inv->{id}) }, 15);
    sleep 0.5;
    my @m = mails_to($email);
    my $current = invitation($inv->{id})->{token_hash} // '';
    my @dead = grep { sha256_hex(link_tokens(parse_mail($_), $URL)->{text}[0] // '') ne $current } @m;
    push @ALL_TOKENS, map { link_tokens(parse_mail($_), $URL)->{text}[0] // () } @m;
    is(scalar @dead, 0, 'resend while queued: no email carries a superseded token')
        or diag scalar(@m) . ' emails, ' . scalar(@dead) . ' with a dead link';
    is(scalar @m, 1, 'resend while queued: one email');
}
{
    my $blocker = block_worker(2);
    smtp_commands_clear();
    my @inv;
    for my $i (1 .. 5) {
        my $cid = new_client(email => "batch$i\@example.test");
        push @inv, decode_json_body(invite($cid))->{id};
    }
    wait_done($blocker);
    wait_done($_) for @inv;
    my @mail_cmds = grep { $_->{cmd} eq 'MAIL' && $_->{peer} } smtp_commands();
    my %conn = map { join(':', @{ $_->{peer} }) => 1 } @mail_cmds;
    is(scalar @mail_cmds, 5, 'batch of 5: five SMTP transactions');
    # five due at once are shared among the PortalMailConnections (3) senders, each
    # sending its share over one connection: never a connection per email
    cmp_ok(scalar keys %conn, '<=', 3,
           'batch of 5: over at most PortalMailConnections (3) SMTP connections, not one per email');
    push @ALL_TOKENS, map { link_tokens(parse_mail($_), $URL)->{text}[0] // () }
                      map { mails_to("batch$_\@example.test") } 1 .. 5;
}

# ---------------------------------------------------------------------------------------
# 6. The raw tokens are nowhere but in the emails: not in the database file (SQLite: the
#    file and its -wal/-shm; PostgreSQL: pg_dump), the error log or the access log.
# ---------------------------------------------------------------------------------------
{
    @ALL_TOKENS = grep { /^[A-Za-z0-9_-]{43}$/ } @ALL_TOKENS;
    push @ALL_TOKENS, map { link_tokens(parse_mail($_), $URL)->{text}[0] // () } mails();
    my %uniq = map { $_ => 1 } @ALL_TOKENS;
    @ALL_TOKENS = sort keys %uniq;
    cmp_ok(scalar @ALL_TOKENS, '>=', 10, 'tokens collected from the received emails: ' . scalar @ALL_TOKENS);

    my $stored = 0;
    for my $t (@ALL_TOKENS) {
        my $h = sha256_hex($t);
        my ($n) = $dbh->selectrow_array(
            'SELECT (SELECT count(*) FROM invitations WHERE token_hash = ?) '
          . '     + (SELECT count(*) FROM superseded_tokens WHERE token_hash = ?)', undef, $h, $h);
        $stored++ if $n;
    }
    is($stored, scalar @ALL_TOKENS, 'every received token has its SHA-256 in the database');

    my $rt = runtime();
    my $db_bytes = '';
    if ($rt->{db_driver} eq 'sqlite3') {
        $db_bytes .= PortalTest::Env::slurp($_) for grep { -f } map { "$rt->{db_file}$_" } '', '-wal', '-shm', '-journal';
    }
    else {
        $db_bytes = PortalTest::Env::run_cmd('pg_dump', 'pg_dump', '--no-owner', '--data-only', $rt->{db_params});
        like($db_bytes, qr/COPY public\.invitations/, 'pg_dump dumped the invitations');
    }
    ok(length $db_bytes > 10_000, 'database bytes read: ' . length $db_bytes);
    my $logs_dir = PortalTest::Env::top_dir() . '/t/logs';
    my %where = (
        database => $db_bytes,
        error_log => PortalTest::Env::slurp("$logs_dir/error_log"),
        access_log => PortalTest::Env::slurp("$logs_dir/access_log"),
    );
    for my $name (sort keys %where) {
        my @found;
        for my $t (@ALL_TOKENS) {
            my $bin = decode_base64(($t =~ tr/-_/+\//r) . '=');
            my $std = encode_base64($bin, '');
            push @found, $t if index($where{$name}, $t) >= 0
                            || index($where{$name}, $bin) >= 0
                            || index($where{$name}, $std) >= 0
                            || index($where{$name}, substr($t, 0, 20)) >= 0;
        }
        is(scalar @found, 0, "no token (text, raw bytes, base64) in the $name") or diag "found: @found";
    }
}

clear_settings();
mail_replies();
done_testing();
