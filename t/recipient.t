# t/recipient.t — the public recipient API (SetHandler portal-invitation, docs/api.md,
# issue 5): lookup changes nothing; accept verifies the client's date of birth (for the
# client and for a representative) and locks after 5 failures; one token, 20 concurrent
# accepts, one account; every unusable token has its own answer; username and password
# rules; the audit trail; and no answer ever reveals the client's last name, date of
# birth or email address. Tokens come only from the received emails.
use strict;
use warnings;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use Test::More;
use Time::HiRes ();
use URI ();
use Apache::TestRequest ();
use PortalTest;
use PortalTest::Invite;

# provoked on purpose: the portal_db_down vhost
expect_log_ids(qw(PM00011));

my @clients;       # every client of this file: their secrets must never show
my %secrets;       # tokens and passwords: never in the audit trail
my %done;          # recipient actions that must each have an audit row
my $n = 0;

sub client {
    my %o = @_;
    my $c = new_client(prefix => 'rcpt', visible_to => ['clin1'], %o);
    push @clients, $c;
    return $c;
}

# call(ACTION => \%body): the recipient API; every answer is checked for private data
sub call {
    my ($action, $body, %opt) = @_;
    my $res = rcpt($action => $body, %opt);
    $n++;
    my $code = eval { decode_json_body($res)->{error}{code} } // '';
    $done{'invitation.accept'}++ if $action eq 'accept' && $res->code == 201;
    $done{'invitation.decline'}++ if $action eq 'decline' && $res->code == 200;
    $done{'invitation.verify_failed'}++ if $code eq 'verification_failed';
    $done{'invitation.username_taken'}++ if $code eq 'username_taken';
    private_ok($res, \@clients, "answer $n ($action)");
    $secrets{$body->{token}}++ if ref $body eq 'HASH' && defined $body->{token} && !ref $body->{token};
    $secrets{$body->{password}}++ if ref $body eq 'HASH' && defined $body->{password} && !ref $body->{password};
    return $res;
}

# the delivery worker is idle (so the database only changes when we change it)
sub outbox_idle {
    my $deadline = Time::HiRes::time() + 20;
    while (Time::HiRes::time() < $deadline) {
        my ($busy) = tdb()->selectrow_array(
            "SELECT count(*) FROM outbox WHERE status = 'queued' OR lease_until IS NOT NULL");
        return 1 if !$busy;
        Time::HiRes::sleep(0.05);
    }
    return 0;
}

# invite(\%client) -> (invitation id, token from the email)
sub invite {
    my ($c, $user) = @_;
    my $inv = json_ok(staff(POST => "/clients/$c->{id}/invitations", user => $user // 'admin'),
                      201, "invite client $c->{id}");
    my $token = next_token($c->{email});
    return ($inv->{id}, $token);
}

# invite_rep(\%client, first_name) -> (representative id, invitation id, token, email)
sub invite_rep {
    my ($c, $first) = @_;
    my $email = unique_email('rcpt-rep');
    my $d = json_ok(staff(POST => "/clients/$c->{id}/representatives",
                          json => { email => $email, first_name => $first, last_name => 'Rep' }),
                    201, "invite a representative of client $c->{id}");
    my $token = next_token($email);
    return ($d->{representative}{id}, $d->{invitation}{id}, $token, $email);
}

# a resend is refused for resend_cooldown_minutes after the last send: move that back
sub cool_down {
    my $inv_id = shift;
    tdb()->do('UPDATE outbox SET created_at = created_at - 7200 WHERE invitation_id = ?', undef, $inv_id);
}

sub accounts_of {
    my $cid = shift;
    return @{ tdb()->selectall_arrayref('SELECT * FROM portal_accounts WHERE client_id = ? ORDER BY id',
                                       { Slice => {} }, $cid) };
}

my $good_pw = 'a perfectly long pass';

# --- protocol: CSRF, media type, methods, paths, fields ----------------------------------
{
    my $body = { token => fake_token() };
    error_ok(call(lookup => $body, csrf => 0), 403, 'csrf', 'lookup without X-Requested-With');
    error_ok(call(lookup => $body, headers => { Origin => 'https://evil.example' }), 403, 'csrf',
             'lookup from another Origin');
    error_ok(call(lookup => $body, headers => { 'Sec-Fetch-Site' => 'cross-site' }), 403, 'csrf',
             'lookup cross-site');
    error_ok(call(lookup => $body, content_type => 'text/plain'), 415, 'unsupported_media_type',
             'lookup with text/plain');
    error_ok(call(lookup => '{"token":', csrf => 1), 400, 'invalid_json', 'lookup with bad JSON');
    error_ok(call(lookup => { token => fake_token(), extra => 1 }), 400, 'unknown_field',
             'lookup with an unknown field');
    error_ok(call(accept => { token => fake_token(), date_of_birth => '2000-01-01',
                              username => 'abc', password => $good_pw, email => 'x@y.z' }),
             400, 'unknown_field', 'accept with an unknown field');
    my $res = recipient(GET => '/lookup', csrf => 1);
    error_ok($res, 405, 'method_not_allowed', 'GET /lookup');
    like($res->header('Allow') // '', qr/^POST$/, 'GET /lookup: Allow: POST');
    error_ok(call(nope => $body), 404, 'not_found', 'POST /nope');
    for my $action (qw(lookup decline)) {
        my $res = call($action => $body, vhost => 'portal_db_down');
        error_ok($res, 503, 'database_unavailable', "$action with the database down");
        # a hang detector, not a speed claim: a database that is down must not hold the request
        cmp_ok($res->{pm_elapsed}, '<', 30, "$action with the database down: answered, no hang");
    }
}

# --- malformed and unknown tokens: 404 invalid_token -----------------------------------------
{
    my $real = fake_token();
    my %bad = (
        'unknown, well-formed' => $real,
        '42 characters'        => substr($real, 0, 42),
        '44 characters'        => $real . 'A',
        'base64 padding'       => substr($real, 0, 42) . '=',
        'plus and slash'       => substr($real, 0, 41) . '+/',
        'space inside'         => substr($real, 0, 20) . ' ' . substr($real, 21),
        'empty'                => '',
        'a number'             => 12345,
        'null'                 => undef,
        'an array'             => [$real],
    );
    for my $what (sort keys %bad) {
        for my $action (qw(lookup decline)) {
            error_ok(call($action => { token => $bad{$what} }), 404, 'invalid_token',
                     "$action: token $what");
        }
        error_ok(call(accept => { token => $bad{$what}, date_of_birth => '1970-01-01',
                                  username => 'nobody', password => $good_pw }),
                 404, 'invalid_token', "accept: token $what");
    }
    error_ok(call(lookup => {}), 404, 'invalid_token', 'lookup without a token');
    error_ok(recipient(POST => '/lookup', csrf => 1), 404, 'invalid_token', 'lookup without a body');
}

# --- another writer holds the database lock for 1.5 s: recipients wait, none fails --------------
# (SQLite: APR's driver retries a busy database and the module's writes queue on the
# writer gate, docs/configuration.md; PostgreSQL waits for locks anyway)
{
    my $c = client(first_name => 'Wes');
    my (undef, $token) = invite($c);
    my $pid = hold_write_lock(1.5);
    my @out = run_concurrently(16, sub {
        my $t0 = Time::HiRes::time();
        my $res = rcpt(lookup => { token => $token }, timeout => 30);
        return sprintf '%d %.1f', $res->code, Time::HiRes::time() - $t0;
    });
    waitpid $pid, 0;
    my @codes = map { (split ' ')[0] } @out;
    my @secs = sort { $b <=> $a } map { (split ' ')[1] } @out;
    is_deeply([grep { $_ != 200 } @codes], [], '16 lookups during a 1.5 s write lock: all 200')
        or diag "status and seconds: @out";
    cmp_ok($secs[0], '<', 30, '... each answered, none hung') or diag "@out";
}

# --- the page's own requests (same origin) pass; a null Origin or a huge body do not -----------
{
    my $c = client(first_name => 'Ori');
    my (undef, $token) = invite($c);
    my $url = URI->new(Apache::TestRequest::resolve_url(recipient_path('/lookup')));
    my $origin = $url->scheme . '://' . $url->host_port;
    json_ok(call(lookup => { token => $token },
                 headers => { Origin => $origin, 'Sec-Fetch-Site' => 'same-origin' }),
            200, "lookup from the page (Origin $origin, Sec-Fetch-Site same-origin)");
    error_ok(call(lookup => { token => $token }, headers => { Origin => 'null' }), 403, 'csrf',
             'lookup with Origin null');
    error_ok(call(lookup => { token => $token . ('x' x 70_000) }), 413, 'body_too_large',
             'lookup with a 70 KB body');
}

# --- 20 recipients decline at once (20 invitations): every answer 200, promptly ------------------
{
    my @t;
    for my $i (1 .. 20) {
        my $c = client(first_name => 'Dom');
        my ($inv_id, $token) = invite($c);
        push @t, [$inv_id, $token];
    }
    my @out = run_concurrently(20, sub {
        my $i = shift;
        my $t0 = Time::HiRes::time();
        my $res = rcpt(decline => { token => $t[$i - 1][1] }, timeout => 60);
        return sprintf '%d %.1f', $res->code, Time::HiRes::time() - $t0;
    });
    my @codes = map { (split ' ')[0] } @out;
    my @secs = sort { $b <=> $a } map { (split ' ')[1] } @out;
    is_deeply([grep { $_ != 200 } @codes], [], '20 concurrent declines: all 200')
        or diag "status and seconds: @out";
    cmp_ok($secs[0], '<', 30, '20 concurrent declines: each answered, none hung') or diag "@out";
    my $declined = grep { invitation_row($_->[0])->{status} eq 'declined' } @t;
    is($declined, scalar(grep { $_ == 200 } @codes), 'every 200 is a declined invitation');
    $done{'invitation.decline'} += $declined;
}

# --- lookup changes nothing ---------------------------------------------------------------------
{
    my $c = client(first_name => 'Lou');
    my ($inv_id, $token) = invite($c);
    ok(outbox_idle(), 'delivery worker idle');
    my @tables = qw(clients invitations outbox portal_accounts audit_log superseded_tokens
                    representatives settings);
    my $before = table_snapshot(@tables);
    for my $i (1 .. 5) {
        my $d = json_ok(call(lookup => { token => $token }), 200, "lookup $i");
        is($d->{recipient_first_name}, 'Lou', "lookup $i: first name") if $i == 1;
        is($d->{kind}, 'client', "lookup $i: kind client") if $i == 1;
        is_deeply([sort keys %$d], [sort qw(practice_name practice_phone recipient_first_name kind expires_at
                                            brand_color password_min_length language time_zone)],
                  "lookup $i: exactly the documented fields") if $i == 1;
    }
    is(table_snapshot(@tables), $before, 'five lookups changed no row of any table');
    is(invitation_row($inv_id)->{status}, 'pending', 'still pending after the lookups');
    my $d = json_ok(call(accept => { token => $token, date_of_birth => $c->{date_of_birth},
                                     username => 'lou.after.lookups', password => $good_pw }),
                    201, 'accept after five lookups');
    my @acc = accounts_of($c->{id});
    is(scalar @acc, 1, 'one account');
    is($acc[0]{username}, 'lou.after.lookups', 'account username as chosen');
    like($acc[0]{password_hash}, qr/^\$2y\$\d\d\$[.\/A-Za-z0-9]{53}$/, 'password stored as bcrypt $2y$');
    is($acc[0]{status}, 'active', 'account active');
    is($acc[0]{invitation_id}, $inv_id, 'account names its invitation');
    ok(!defined $acc[0]{representative_id}, 'client account has no representative_id');
    isnt(login_code('lou.after.lookups', $good_pw), 401, 'portal login (mod_authn_dbd)');
    is(login_code('lou.after.lookups', "$good_pw!"), 401, 'portal login, wrong password: 401');
    is(invitation_row($inv_id)->{status}, 'accepted', 'invitation accepted');
    ok(invitation_row($inv_id)->{responded_at}, 'responded_at set');
}

# --- accept needs the client's date of birth: the client --------------------------------------
{
    my $c = client(first_name => 'Dora', date_of_birth => '1983-07-09');
    my ($inv_id, $token) = invite($c);
    my %base = (token => $token, username => 'dora.dob', password => $good_pw);
    # what can never match (another format, not a real date, none) is refused as such and
    # costs no try: an integration that sends 07/09/1983 learns its mistake, not a lock
    for my $dob ('09/07/1983', '07/09/1983', '1983-02-30', 'yesterday', '') {
        my $d = error_ok(call(accept => { %base, date_of_birth => $dob }), 422,
                         'invalid_date_of_birth', "client, date of birth '$dob'");
        is($d->{error}{field}, 'date_of_birth', "client, date of birth '$dob': field");
    }
    error_ok(call(accept => { %base }), 422, 'invalid_date_of_birth', 'client, no date of birth');
    is(invitation_row($inv_id)->{verify_failures}, 0, 'none of those cost a try');
    for my $dob ('1983-07-08', '1983-07-10', '1983-09-07', '1982-07-09') {
        my $d = error_ok(call(accept => { %base, date_of_birth => $dob }), 422,
                         'verification_failed', "client, date of birth '$dob'");
        is($d->{error}{field}, 'date_of_birth', "client, date of birth '$dob': field");
    }
    is(invitation_row($inv_id)->{verify_failures}, 4, 'four failures counted')
        or diag explain invitation_row($inv_id);
    is(scalar accounts_of($c->{id}), 0, 'no account after failed verification');
    my @audit = audit_rows(action => 'invitation.verify_failed', object_id => $inv_id);
    is(scalar @audit, 4, 'every failed verification audited');
    is_deeply([map { [$_->{username}, $_->{result}, $_->{client_id}] } @audit],
              [([ 'recipient', 'denied', $c->{id} ]) x 4], 'audited as recipient, denied');
    json_ok(call(accept => { %base, date_of_birth => '1983-07-09' }), 201,
            'the right date of birth after four wrong ones');
}

# --- accept needs the client's date of birth: a representative -------------------------------------
{
    my $c = client(first_name => 'Carl', date_of_birth => '1990-02-14');
    my ($rep_id, $inv_id, $token) = invite_rep($c, 'Greta');
    my $d = json_ok(call(lookup => { token => $token }), 200, 'representative lookup');
    is($d->{kind}, 'representative', 'representative lookup: kind');
    is($d->{recipient_first_name}, 'Greta', 'representative lookup: the representative first name');
    $d = error_ok(call(accept => { token => $token, date_of_birth => '1961-05-05',
                                   username => 'greta.rep', password => $good_pw }),
                  422, 'verification_failed', 'representative, a wrong date of birth');
    is($d->{error}{field}, 'date_of_birth', 'representative: field date_of_birth');
    is(invitation_row($inv_id)->{verify_failures}, 1, 'failure counted');
    json_ok(call(accept => { token => $token, date_of_birth => '1990-02-14',
                             username => 'greta.rep', password => $good_pw }),
            201, "representative, the client's date of birth");
    my @acc = accounts_of($c->{id});
    is(scalar @acc, 1, 'one account');
    is($acc[0]{representative_id}, $rep_id, 'account belongs to the representative');
    isnt(login_code('greta.rep', $good_pw), 401, 'representative portal login');
    is(rep_in_view(client_view($c->{id}), $rep_id)->{portal_status}, 'active',
       'staff see the representative active');
    is(client_view($c->{id})->{portal_status}, 'not_invited',
       "the representative's account does not make the client active");
    is(scalar audit_rows(action => 'invitation.verify_failed', object_id => $inv_id), 1,
       'representative failed verification audited');
    my @acc_audit = audit_rows(action => 'invitation.accept', object_id => $inv_id);
    is(scalar @acc_audit, 1, 'representative accept audited');
    is($acc_audit[0]{username}, 'recipient', 'representative accept audited as recipient');
}

# --- five wrong answers lock; staff see `locked`; resend never re-arms it: staff invite again -----
{
    my $c = client(first_name => 'Liv', date_of_birth => '1977-10-30');
    my ($inv_id, $token) = invite($c);
    my %base = (token => $token, username => 'liv.locked', password => $good_pw);
    for my $i (1 .. 4) {
        error_ok(call(accept => { %base, date_of_birth => "1977-10-0$i" }), 422,
                 'verification_failed', "wrong date of birth $i");
    }
    error_ok(call(accept => { %base, date_of_birth => '1977-10-05' }), 423, 'locked',
             'fifth wrong date of birth: locked');
    $done{'invitation.verify_failed'}++;     # the fifth failure answers "locked"
    error_ok(call(accept => { %base, date_of_birth => '1977-10-30' }), 423, 'locked',
             'locked: the right date of birth is refused too');
    error_ok(call(lookup => { token => $token }), 423, 'locked', 'locked: lookup');
    error_ok(call(decline => { token => $token }), 423, 'locked', 'locked: decline');
    is(scalar accounts_of($c->{id}), 0, 'locked: no account');
    is(invitation_row($inv_id)->{status}, 'locked', 'invitation row locked');
    is(scalar audit_rows(action => 'invitation.verify_failed', object_id => $inv_id), 5,
       'five failed verifications audited');
    my $v = client_view($c->{id}, 'clin1');
    is($v->{portal_status}, 'locked', 'staff see the client locked');
    my ($inv) = grep { $_->{id} == $inv_id } @{ $v->{invitations} };
    is($inv->{status}, 'locked', 'staff see the invitation locked');

    # resend never re-arms a locked invitation (no fresh tries, no email)
    cool_down($inv_id);
    error_ok(staff(POST => "/invitations/$inv_id/resend", user => 'clin1'), 409, 'locked',
             'resend of a locked invitation is refused');
    my $row = invitation_row($inv_id);
    is($row->{status}, 'locked', 'still locked after the refused resend');
    is($row->{verify_failures}, 5, 'the attempts stay used');
    ok(outbox_idle(), 'nothing queued by the refused resend');
    error_ok(call(lookup => { token => $token }), 423, 'locked', 'the link stays locked');

    # staff invite again: a new invitation, a new link; the locked link is superseded
    my ($inv2, $token2) = invite($c, 'clin1');
    isnt($inv2, $inv_id, 'reinvite: a new invitation');
    ok($token2 && $token2 ne $token, 'reinvite: a new token');
    error_ok(call(lookup => { token => $token }), 410, 'superseded', 'locked link after reinvite');
    json_ok(call(lookup => { token => $token2 }), 200, 'new link after reinvite: lookup');
    json_ok(call(accept => { %base, token => $token2, date_of_birth => '1977-10-30' }), 201,
            'new link after reinvite: accept');
    is(client_view($c->{id})->{portal_status}, 'active', 'staff see the client active');
}

# --- resend_cooldown_minutes = 0 (settings row) allows an immediate resend ---------------------
{
    my $c = client(first_name => 'Cody');
    my ($inv_id, $token) = invite($c);
    set_setting(resend_cooldown_minutes => 0);
    my $res = staff(POST => "/invitations/$inv_id/resend", user => 'clin1');
    is($res->code, 200, 'resend_cooldown_minutes 0: resend at once')
        or diag $res->status_line, ' ', $res->content;
    clear_setting('resend_cooldown_minutes');
    set_setting(resend_cooldown_minutes => 1);
    $res = staff(POST => "/invitations/$inv_id/resend", user => 'clin1');
    error_ok($res, 429, 'resend_too_soon', 'resend_cooldown_minutes 1: resend refused');
    clear_setting('resend_cooldown_minutes');
}

# --- 20 concurrent accepts with one token ---------------------------------------------------------
# Every request gets its answer (timeout 30 s: a client that gave up is counted as
# "timeout"), and promptly: bcrypt makes each accept take a fraction of a second.
{
    my $c = client(first_name => 'Cora', date_of_birth => '1965-03-03');
    my ($inv_id, $token) = invite($c);
    my @out = run_concurrently(20, sub {
        my $i = shift;
        my $t0 = Time::HiRes::time();
        my $res = rcpt(accept => { token => $token, date_of_birth => '1965-03-03',
                                   username => "racer$i", password => $good_pw }, timeout => 30);
        my $d = decode_json_body($res);
        my $what = ref $d eq 'HASH' && $d->{error} ? $d->{error}{code}
                 : ref $d eq 'HASH'                ? 'ok'
                 : ($res->header('Client-Warning') // '') =~ /internal response/i ? 'timeout'
                 :                                   'not JSON';
        return sprintf '%d %s %.1f', $res->code, $what, Time::HiRes::time() - $t0;
    });
    my (%count, @slow);
    for (@out) {
        my ($code, $what, $secs) = split ' ';
        $count{"$code $what"}++;
        push @slow, $secs;
    }
    @slow = sort { $b <=> $a } @slow;
    is($count{'201 ok'} // 0, 1, 'exactly one 201') or diag explain \%count;
    $done{'invitation.accept'} += $count{'201 ok'} // 0;
    is($count{'409 already_used'} // 0, 19, 'the other 19: 409 already_used')
        or diag explain \%count;
    cmp_ok($slow[0], '<', 60, 'no concurrent accept hangs (answered within 60 s)')
        or diag "seconds per request: @slow";
    my @acc = accounts_of($c->{id});
    is(scalar @acc, 1, 'exactly one account row');
    my ($all) = tdb()->selectrow_array("SELECT count(*) FROM portal_accounts WHERE username LIKE 'racer%'");
    is($all, 1, 'no other racer account anywhere');
    is(invitation_row($inv_id)->{status}, 'accepted', 'invitation accepted');
    is(scalar audit_rows(action => 'invitation.accept', object_id => $inv_id), 1, 'one accept audited');
    isnt(login_code($acc[0]{username}, $good_pw), 401, 'the winner can log in') if @acc;
}

# --- every unusable token has its own answer --------------------------------------------------------
sub refused_everywhere {
    my ($token, $status, $code, $what, $dob) = @_;
    error_ok(call(lookup => { token => $token }), $status, $code, "$what: lookup");
    error_ok(call(accept => { token => $token, date_of_birth => $dob, username => 'refused.user',
                              password => $good_pw }), $status, $code, "$what: accept");
    error_ok(call(decline => { token => $token }), $status, $code, "$what: decline");
}
{   # expired (expires_at moved into the past)
    my $c = client(first_name => 'Ezra');
    my ($inv_id, $token) = invite($c);
    tdb()->do('UPDATE invitations SET expires_at = ? WHERE id = ?', undef, time - 60, $inv_id);
    refused_everywhere($token, 410, 'expired', 'expired', $c->{date_of_birth});
    is(invitation_row($inv_id)->{verify_failures}, 0, 'expired: nothing counted');
    is(scalar accounts_of($c->{id}), 0, 'expired: no account');
    my $v = client_view($c->{id});
    is($v->{portal_status}, 'expired', 'staff see expired');
    is($v->{invitations}[0]{status}, 'expired', 'staff see the invitation expired');
}
{   # superseded by a resend
    my $c = client(first_name => 'Sam');
    my ($inv_id, $token) = invite($c);
    cool_down($inv_id);
    json_ok(staff(POST => "/invitations/$inv_id/resend"), 200, 'resend');
    my $token2 = next_token($c->{email});
    refused_everywhere($token, 410, 'superseded', 'superseded by a resend', $c->{date_of_birth});
    json_ok(call(lookup => { token => $token2 }), 200, 'the resent link works');
    is(scalar accounts_of($c->{id}), 0, 'superseded: no account');
}
{   # superseded by an email change
    my $c = client(first_name => 'Sue');
    my ($inv_id, $token) = invite($c);
    my $new = unique_email('rcpt-changed');
    json_ok(staff(PUT => "/clients/$c->{id}/email", json => { email => $new }), 200, 'change email');
    refused_everywhere($token, 410, 'address_changed', 'superseded by an email change', $c->{date_of_birth});
    my $e = decode_json_body(call(lookup => { token => $token }));
    unlike($e->{error}{message}, qr/newer/i, 'address changed: no "newer email" was sent to this address');
    like($e->{error}{message}, qr/no longer valid.*contact the practice/i,
         'address changed: the link is no longer valid, contact the practice');
    ok(defined $e->{practice_name} && length $e->{practice_name}, 'address changed: names the practice');
    my $v = client_view($c->{id});
    is($v->{portal_status}, 'address_changed', 'staff see address_changed, not not_invited');
    is($v->{invitations}[0]{status}, 'address_changed', 'staff see the invitation ended by the address change');
    push @clients, { %$c, email => $new };
    json_ok(staff(POST => "/clients/$c->{id}/invitations"), 201, 'invite the new address');
    my $token2 = next_token($new);
    json_ok(call(lookup => { token => $token2 }), 200, 'the link to the new address works');
    refused_everywhere($token, 410, 'address_changed', 'the old address after the new invitation',
                       $c->{date_of_birth});
    $v = client_view($c->{id});
    is_deeply([map { $_->{status} } @{ $v->{invitations} }], [qw(pending address_changed)],
              'staff: the new invitation pending, the old one address_changed');
}
{   # used (accepted, and declined)
    my $c = client(first_name => 'Una');
    my ($inv_id, $token) = invite($c);
    json_ok(call(accept => { token => $token, date_of_birth => $c->{date_of_birth},
                             username => 'una.used', password => $good_pw }), 201, 'accept');
    refused_everywhere($token, 409, 'already_used', 'accepted', $c->{date_of_birth});
    my $used = error_ok(call(lookup => { token => $token }), 409, 'already_used', 'used: lookup again');
    like($used->{login_url} // '', qr{^https?://}, 'a used link names the portal\'s sign-in page');
    # the settings page's "Link to the client portal", when a champion set it, is that page
    set_setting(portal_url => 'https://signin.portal.example.test/client');
    is(error_ok(call(lookup => { token => $token }), 409, 'already_used',
                'used: lookup with the portal_url setting')->{login_url},
       'https://signin.portal.example.test/client', '... names the portal_url setting, not PortalLoginURL');
    clear_setting('portal_url');
    ok(exists $used->{brand_color}, 'and the practice\'s colour, so the page is the practice\'s');
    my $expired = error_ok(call(lookup => { token => 'no-such-token-at-all' }), 404, 'invalid_token',
                           'an unknown token');
    ok(!exists $expired->{login_url}, 'only a used link offers the sign-in page');
    my $c2 = client(first_name => 'Dee');
    my ($inv2, $token2) = invite($c2);
    json_ok(call(decline => { token => $token2 }), 200, 'decline');
    refused_everywhere($token2, 409, 'already_declined', 'declined', $c2->{date_of_birth});
    ok(!exists error_ok(call(lookup => { token => $token2 }), 409, 'already_declined',
                        'declined: lookup again')->{login_url},
       'declined: no sign-in page offered (nobody made an account)');
    is(scalar accounts_of($c2->{id}), 0, 'declined: no account');
    is(client_view($c2->{id})->{portal_status}, 'declined', 'staff see declined');
    my @a = audit_rows(action => 'invitation.decline', object_id => $inv2);
    is(scalar @a, 1, 'decline audited once');
    is($a[0]{username}, 'recipient', 'decline audited as recipient');
}
{   # revoked (the revoke button, and "client declined")
    my $c = client(first_name => 'Rex');
    my ($inv_id, $token) = invite($c);
    json_ok(staff(POST => "/invitations/$inv_id/revoke"), 200, 'revoke');
    refused_everywhere($token, 410, 'revoked', 'revoked', $c->{date_of_birth});
    json_ok(staff(PUT => '/admin/settings',
                  json => { practice_phone => '+1 555 0100' }), 200, 'practice_phone set');
    my $e = decode_json_body(call(lookup => { token => $token }));
    is($e->{practice_phone}, '+1 555 0100', 'revoked: the answer carries the practice phone');
    ok(length($e->{practice_name} // ''), 'revoked: and the practice name');
    ok(JSON::PP::is_bool($e->{reset}) && !$e->{reset}, 'revoked: and that it is not a password reset link');
    json_ok(staff(PUT => '/admin/settings', json => { practice_phone => undef }),
            200, 'practice_phone cleared');
    $e = decode_json_body(call(lookup => { token => $token }));
    ok(exists $e->{practice_phone} && !defined $e->{practice_phone}, 'no phone set: practice_phone null');
    my $c2 = client(first_name => 'Ria');
    my ($inv2, $token2) = invite($c2);
    json_ok(staff(POST => "/clients/$c2->{id}/declined", json => { note => 'by phone' }), 200,
            'client declined (staff)');
    refused_everywhere($token2, 410, 'revoked', 'revoked by "client declined"', $c2->{date_of_birth});
}
{   # locked: above; a locked token is refused on every endpoint
    my $c = client(first_name => 'Lars');
    my ($inv_id, $token) = invite($c);
    tdb()->do("UPDATE invitations SET status = 'locked', verify_failures = 5 WHERE id = ?", undef, $inv_id);
    refused_everywhere($token, 423, 'locked', 'locked', $c->{date_of_birth});
}

# --- username rules -------------------------------------------------------------------------------
{
    my $owner = client(first_name => 'Tia');
    my (undef, $t0) = invite($owner);
    json_ok(call(accept => { token => $t0, date_of_birth => $owner->{date_of_birth},
                             username => 'Taken.Name', password => $good_pw }), 201,
            'an account named Taken.Name');

    my $c = client(first_name => 'Uma');
    my ($inv_id, $token) = invite($c);
    my %base = (token => $token, date_of_birth => $c->{date_of_birth}, password => $good_pw);
    my %bad = (
        'two characters'  => 'ab',
        '65 characters'   => 'u' x 65,
        'a space'         => 'uma name',
        'a plus'          => 'uma+x',
        'a slash'         => 'uma/x',
        'a colon'         => 'uma:x',
        'non-ASCII'       => "um\x{e4}",
        'empty'           => '',
    );
    for my $what (sort keys %bad) {
        my $d = error_ok(call(accept => { %base, username => $bad{$what} }), 422,
                         'invalid_username', "username with $what");
        is($d->{error}{field}, 'username', "username with $what: field");
    }
    error_ok(call(accept => { %base }), 422, 'invalid_username', 'no username');
    error_ok(call(accept => { %base, username => 42 }), 422, 'invalid_username', 'username a number');
    my $row = invitation_row($inv_id);
    is($row->{verify_failures}, 0, 'malformed usernames count nothing (checked before the date)');
    my $left = 5;
    for my $taken ('taken.name', 'TAKEN.NAME', 'Taken.Name') {
        my $d = error_ok(call(accept => { %base, username => $taken }), 409, 'username_taken',
                         "username '$taken' (case-insensitively taken)");
        is($d->{error}{field}, 'username', "username '$taken': field");
        $left--;
        is($d->{tries_left}, $left, "username '$taken': the tries left are said ($left)");
    }
    $row = invitation_row($inv_id);
    is($row->{status}, 'pending', 'refused usernames did not consume the token');
    is($row->{verify_failures}, 3, 'each taken username costs an attempt (no unlimited probing)');
    is(scalar accounts_of($c->{id}), 0, 'no account yet');
    json_ok(call(lookup => { token => $token }), 200, 'token still usable');
    is(scalar audit_rows(action => 'invitation.accept', object_id => $inv_id), 0, 'no accept audited');
    json_ok(call(accept => { %base, username => 'a.b_c@d-e' }), 201, 'username with . _ @ -');
    isnt(login_code('a.b_c@d-e', $good_pw), 401, 'login with that username');

    my $c3 = client(first_name => 'Ivo');
    my (undef, $t3) = invite($c3);
    json_ok(call(accept => { token => $t3, date_of_birth => $c3->{date_of_birth},
                             username => 'ivo', password => $good_pw }), 201, 'a 3-character username');
    my $c4 = client(first_name => 'Ada');
    my (undef, $t4) = invite($c4);
    my $long = 'A-' . ('x' x 60) . '.9';
    is(length $long, 64, '64 characters');
    json_ok(call(accept => { token => $t4, date_of_birth => $c4->{date_of_birth},
                             username => $long, password => $good_pw }), 201, 'a 64-character username');
}

# --- password rules ---------------------------------------------------------------------------------
{
    my $c = client(first_name => 'Pia');
    my ($inv_id, $token) = invite($c);
    my %base = (token => $token, date_of_birth => $c->{date_of_birth}, username => 'pia.pass');
    my %bad = (
        '11 characters'             => 'x' x 11,
        'empty'                     => '',
        '11 two-byte characters'    => "\x{e9}" x 11,
        'the username'              => 'pia.pass.pia.pass',
        'the username, other case'  => 'PIA.PASS.PIA.PASS',
        'the email address'         => $c->{email},
        'the email, upper case'     => uc $c->{email},
        '12 spaces'                 => ' ' x 12,
        'one letter 12 times'       => 'a' x 12,
        'one accented letter 14 times' => "\x{e9}" x 14,
    );
    for my $what (sort keys %bad) {
        my $pw = $bad{$what};
        my %b = (%base, password => $pw);
        $b{username} = 'pia.pass.pia.pass' if $what =~ /username/;
        my $d = error_ok(call(accept => \%b), 422, 'weak_password', "password: $what");
        is($d->{error}{field}, 'password', "password: $what: field");
    }
    error_ok(call(accept => { %base }), 422, 'weak_password', 'no password');

    set_setting(password_min_length => 16);
    my $d = json_ok(call(lookup => { token => $token }), 200, 'lookup with password_min_length 16');
    is($d->{password_min_length}, 16, 'lookup tells the minimum length');
    error_ok(call(accept => { %base, password => 'y' x 15 }), 422, 'weak_password',
             '15 characters with a minimum of 16');
    my $row = invitation_row($inv_id);
    is($row->{status}, 'pending', 'weak passwords did not consume the token');
    is($row->{verify_failures}, 0, 'weak passwords are not verification failures');
    json_ok(call(accept => { %base, password => 'sixteen chars ok' }), 201, '16 characters with a minimum of 16');
    clear_setting('password_min_length');
    isnt(login_code('pia.pass', 'sixteen chars ok'), 401, 'login with the 16-character password');

    my $c2 = client(first_name => 'Ebba');
    my (undef, $t2) = invite($c2);
    json_ok(call(accept => { token => $t2, date_of_birth => $c2->{date_of_birth},
                             username => 'ebba.e', password => "\x{e9}\x{f1}" x 6 }),
            201, '12 two-byte characters are 12 characters');
    my $c3 = client(first_name => 'Otto');
    my (undef, $t3) = invite($c3);
    json_ok(call(accept => { token => $t3, date_of_birth => $c3->{date_of_birth},
                             username => 'otto.o', password => 'exactly12chr' }),
            201, 'exactly 12 characters');
    isnt(login_code('otto.o', 'exactly12chr'), 401, 'login with the 12-character password');
}

# --- the audit trail: recipient actions, and never a token or password --------------------------------
{
    my %mine = map { $_->{id} => 1 } @clients;
    my @rows = grep { $mine{ $_->{client_id} // 0 } } audit_rows(username => 'recipient');
    my %actions;
    $actions{$_->{action}}++ for @rows;
    is_deeply(\%actions, \%done, 'one audit row (username recipient) per accept, decline and '
              . 'failed verification') or diag explain { audited => \%actions, done => \%done };
    my %denied = map { $_ => 1 } qw(invitation.verify_failed invitation.username_taken);
    is_deeply([grep { $_->{result} ne ($denied{ $_->{action} } ? 'denied' : 'ok') } @rows],
              [], 'results: ok for accept/decline, denied for failed verification and taken usernames');
    my @all = audit_rows();
    my @leaks;
    for my $r (@all) {
        my $text = join "\x00", map { $_ // '' } values %$r;
        for my $s (grep { length >= 8 } keys %secrets) {
            push @leaks, "audit $r->{id} contains '$s'" if index($text, $s) >= 0;
        }
    }
    is_deeply(\@leaks, [], 'no token or password in the audit trail');
    ok(scalar(keys %secrets) > 20, 'tokens and passwords were collected');
}

done_testing();
