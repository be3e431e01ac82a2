# t/loop.t — the whole invitation loop of issue 5, driven only through HTTP and the
# emails the SMTP catcher received: staff invite a client and a representative, the
# recipients take their tokens from the emails, one accepts and one declines, staff see
# `active` and `declined`, the declined one is reinvited (old link: `superseded`, new link
# works), both log in to the client portal through stock mod_authn_dbd, removing the
# representative locks them out, and no token ever reaches the access or error log.
use strict;
use warnings;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use Test::More;
use PortalTest;
use PortalTest::Invite;

my $client = new_client(prefix => 'loop', first_name => 'Lena', last_name => 'Loopwright',
                        date_of_birth => '1971-04-23', visible_to => ['clin1']);
my $cid = $client->{id};
my $rep_email = unique_email('loop-rep');
my @tokens;     # every token seen, for the log check at the end
my %creds;

# --- staff invite the client and a representative (clin1 may see this client) --------
my $inv = json_ok(staff(POST => "/clients/$cid/invitations", user => 'clin1'), 201,
                  'invite client');
is($inv->{status}, 'pending', 'client invitation is pending');
is($inv->{email}, $client->{email}, 'client invitation goes to the client email');

my $created = json_ok(staff(POST => "/clients/$cid/representatives", user => 'clin1',
                            json => { email => $rep_email, first_name => 'Rosa',
                                      last_name => 'Reppington', relationship => 'parent' }),
                      201, 'invite representative');
my $rep_id = $created->{representative}{id};
ok($rep_id, 'representative has an id') or BAIL_OUT('no representative');
is($created->{invitation}{representative_id}, $rep_id, 'invitation is for the representative');

{
    my $v = client_view($cid, 'clin1');
    is($v->{portal_status}, 'invited', 'staff see the client invited');
    is(rep_in_view($v, $rep_id)->{portal_status}, 'invited', 'staff see the representative invited');
}

# --- the emails ---------------------------------------------------------------------------
my ($client_token, $cmail) = next_token($client->{email});
my ($rep_token, $rmail) = next_token($rep_email);
push @tokens, grep { defined } $client_token, $rep_token;
ok($client_token && $rep_token && $client_token ne $rep_token, 'two different tokens')
    or BAIL_OUT('no tokens from the emails');
is($cmail->{subject}, 'Riverside Counseling: your invitation to the client portal',
   'client email: client subject');
is($rmail->{subject}, 'Riverside Counseling: you are invited to the client portal',
   'representative email: representative subject');
like($rmail->{to}, qr/\Q$rep_email\E/i, 'representative email: To');
{
    my ($text) = map { $_->{text} } grep { $_->{content_type} eq 'text/plain' } @{ $rmail->{parts} };
    like($text, qr/Hello Rosa\b/, 'representative email greets the representative');
    like($text, qr/as a representative/, 'representative email uses the representative message');
    unlike($text, qr/Loopwright|1971-04-23/, 'representative email: no client last name or DOB');
}

# --- lookup ---------------------------------------------------------------------------------
for my $case ([client => $client_token, 'Lena'], [representative => $rep_token, 'Rosa']) {
    my ($kind, $token, $first) = @$case;
    my $res = rcpt(lookup => { token => $token });
    my $d = json_ok($res, 200, "lookup ($kind)");
    is($d->{kind}, $kind, "lookup ($kind): kind");
    is($d->{recipient_first_name}, $first, "lookup ($kind): recipient first name");
    is($d->{practice_name}, 'Riverside Counseling', "lookup ($kind): practice name");
    is($d->{password_min_length}, 12, "lookup ($kind): password_min_length");
    like($d->{expires_at} // '', qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, "lookup ($kind): expires_at");
    private_ok($res, $client, "lookup ($kind)");
}

# --- the client accepts, the representative declines -----------------------------------------
{
    %creds = (client => ['lena.loop', 'correct horse battery']);
    my $res = rcpt(accept => { token => $client_token, date_of_birth => '1971-04-23',
                               username => $creds{client}[0], password => $creds{client}[1] });
    my $d = json_ok($res, 201, 'client accepts');
    is($d->{login_url}, login_url(), 'accept: login_url is PortalLoginURL');
    private_ok($res, $client, 'accept');

    $res = rcpt(decline => { token => $rep_token });
    $d = json_ok($res, 200, 'representative declines');
    ok($d->{declined}, 'decline: declined is true');
    private_ok($res, $client, 'decline');
}
{
    my $v = client_view($cid, 'clin1');
    is($v->{portal_status}, 'active', 'staff see the client active');
    my $r = rep_in_view($v, $rep_id);
    is($r->{portal_status}, 'declined', 'staff see the representative declined');
    is($r->{latest_invitation}{status}, 'declined', 'representative latest invitation: declined');
    my ($ci) = grep { !defined $_->{representative_id} } @{ $v->{invitations} };
    is($ci->{status}, 'accepted', 'client invitation: accepted');
}

# used links answer already_used, whichever endpoint; a declined one already_declined
error_ok(rcpt(lookup => { token => $client_token }), 409, 'already_used', 'accepted link: lookup');
error_ok(rcpt(decline => { token => $client_token }), 409, 'already_used', 'accepted link: decline');
my $declined = error_ok(rcpt(lookup => { token => $rep_token }), 409, 'already_declined',
                        'declined link: lookup');
ok(!exists $declined->{login_url}, 'declined link: no sign-in page offered');

# --- the client logs in to the portal (stock mod_authn_dbd) -----------------------------------
isnt(login_code(@{ $creds{client} }), 401, 'client portal login with the new credentials');
is(login_code($creds{client}[0], 'wrong password!!'), 401, 'client portal: wrong password 401');
is(login_code('no.such.user', 'correct horse battery'), 401, 'client portal: unknown user 401');

# --- the declined representative is reinvited ------------------------------------------------
{
    my $res = staff(POST => "/representatives/$rep_id/invitations", user => 'clin1');
    my $d = json_ok($res, 201, 'reinvite the representative');
    is($d->{status}, 'pending', 'reinvitation is pending');
    isnt($d->{id}, $created->{invitation}{id}, 'reinvitation is a new invitation');
    is(rep_in_view(client_view($cid, 'clin1'), $rep_id)->{portal_status}, 'invited',
       'staff see the representative invited again');
}
my $rep_token2 = next_token($rep_email);
push @tokens, $rep_token2 if $rep_token2;
ok($rep_token2 && $rep_token2 ne $rep_token, 'the new email carries a new token');

# issue 5: "the declined one is reinvited and the new email works while the old token
# answers `superseded`"
error_ok(rcpt(lookup => { token => $rep_token }), 410, 'superseded',
         'declined link after the reinvitation: lookup');
error_ok(rcpt(accept => { token => $rep_token, date_of_birth => '1971-04-23',
                          username => 'rosa.old', password => 'another long password' }),
         410, 'superseded', 'declined link after the reinvitation: accept');

{
    my $d = json_ok(rcpt(lookup => { token => $rep_token2 }), 200, 'new link: lookup');
    is($d->{kind}, 'representative', 'new link: kind representative');
    $creds{rep} = ['Rosa.Rep@Loop', 'rosa secret phrase 1'];
    my $res = rcpt(accept => { token => $rep_token2, date_of_birth => '1971-04-23',
                               username => $creds{rep}[0], password => $creds{rep}[1] });
    json_ok($res, 201, 'representative accepts with the new link');
    private_ok($res, $client, 'representative accept');
}
{
    my $v = client_view($cid, 'clin1');
    is(rep_in_view($v, $rep_id)->{portal_status}, 'active', 'staff see the representative active');
    is($v->{portal_status}, 'active', 'client still active');
}
isnt(login_code(@{ $creds{rep} }), 401, 'representative portal login');
is(login_code($creds{rep}[0], 'rosa secret phrase 2'), 401, 'representative: wrong password 401');

# --- removing the representative locks them out ----------------------------------------------
{
    my $res = staff(DELETE => "/representatives/$rep_id", user => 'clin1');
    my $v = json_ok($res, 200, 'remove the representative');
    ok(!rep_in_view($v, $rep_id), 'removed representative is not listed in the client view');
    is($v->{id}, $cid, 'DELETE answers with the client view');
    my $row = tdb()->selectrow_hashref('SELECT removed_at FROM representatives WHERE id = ?',
                                      undef, $rep_id);
    ok($row && $row->{removed_at}, 'representative row kept with removed_at');
    my ($active) = tdb()->selectrow_array(
        "SELECT count(*) FROM portal_accounts WHERE representative_id = ? AND status = 'active'",
        undef, $rep_id);
    is($active, 0, 'representative account disabled');
}
is(login_code(@{ $creds{rep} }), 401, 'removed representative: portal login 401');
isnt(login_code(@{ $creds{client} }), 401, 'client portal login unaffected');

# --- the audit trail ------------------------------------------------------------------------------
{
    my @acc = audit_rows(client_id => $cid, action => 'invitation.accept');
    is(scalar @acc, 2, 'two accepts audited');
    is_deeply([map { $_->{username} } @acc], ['recipient', 'recipient'], 'accepts audited as recipient');
    my @dec = audit_rows(client_id => $cid, action => 'invitation.decline');
    is(scalar @dec, 1, 'decline audited');
    is($dec[0]{username}, 'recipient', 'decline audited as recipient');
    is($dec[0]{object_id}, $created->{invitation}{id}, 'decline audit names the invitation');
}

# --- no token in the logs ----------------------------------------------------------------------
{
    my $logs = Apache::Test::vars('t_logs');
    my %leaks;
    for my $f (grep { -f } map { "$logs/$_" } qw(access_log error_log)) {
        my $text = PortalTest::Env::slurp($f);
        for my $t (@tokens) {
            $leaks{$f}++ if index($text, $t) >= 0;
        }
    }
    ok(-f "$logs/access_log", 'access_log exists');
    is(scalar @tokens, 3, 'three tokens to look for');
    is_deeply(\%leaks, {}, 'no token in the access log or the error log');
}

done_testing();
