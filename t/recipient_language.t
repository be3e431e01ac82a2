# t/recipient_language.t — the recipient page's language and clock (issue 17): POST /lookup
# answers `language` (the representative's own preferred_language for a representative's
# invitation, else the client's; a representative without one gets the practice's
# default_language) and `time_zone` (the setting, else the server's zone); a refusal of a
# link that names an invitation (expired, superseded, address changed, revoked, locked,
# already used) carries `language` too, an unknown token does not; a wrong date of birth
# answers the tries left as a number. Tokens come only from the received emails.
use strict;
use warnings;
use utf8;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use Test::More;
use PortalTest;
use PortalTest::Invite;

my @clients;

sub client {
    my ($first, $language) = @_;
    my $c = new_client(prefix => 'lang', first_name => $first, visible_to => ['clin1']);
    tdb()->do('UPDATE clients SET preferred_language = ? WHERE id = ?', undef, $language, $c->{id})
        if defined $language;
    push @clients, $c;
    return $c;
}

sub lookup {
    my ($token, $status, $name) = @_;
    my $res = rcpt(lookup => { token => $token });
    private_ok($res, \@clients, $name);
    return $status == 200 ? json_ok($res, 200, $name) : decode_json_body($res);
}

sub invite {
    my $c = shift;
    my $inv = json_ok(staff(POST => "/clients/$c->{id}/invitations"), 201,
                      "invite client $c->{id}");
    return ($inv->{id}, next_token($c->{email}));
}

# invite_rep(\%client, first_name, language or undef) -> (invitation id, token)
sub invite_rep {
    my ($c, $first, $language) = @_;
    my $email = unique_email('lang-rep');
    my $d = json_ok(staff(POST => "/clients/$c->{id}/representatives",
                          json => { email => $email, first_name => $first, last_name => 'Rep' }),
                    201, "invite representative $first");
    tdb()->do('UPDATE representatives SET preferred_language = ? WHERE id = ?', undef,
              $language, $d->{representative}{id});
    return ($d->{invitation}{id}, next_token($email));
}

sub settings_ok {
    my ($body, $name) = @_;
    json_ok(staff(PUT => '/admin/settings', json => $body), 200, $name);
}

settings_ok({ default_language => undef, time_zone => undef }, 'settings: defaults');

# --- the lookup's language: the client's own, a representative's own, else the default ---------
my $ana = client('Ana', 'es');
my (undef, $ana_token) = invite($ana);
my $d = lookup($ana_token, 200, 'client es');
is($d->{language}, 'es', 'a client whose preferred_language is es: es');
like($d->{time_zone} // '', qr{^[A-Za-z_]+(?:/[A-Za-z0-9_+-]+)*$},
     'no time_zone setting: the server zone, an IANA name');

my $ed = client('Ed', 'en');
my (undef, $ed_token) = invite($ed);
settings_ok({ default_language => 'es' }, 'default_language es');
is(lookup($ed_token, 200, 'client en')->{language}, 'en',
   'a client whose preferred_language is en: en, whatever the practice default');
settings_ok({ default_language => undef }, 'default_language back to en');

my $owner = client('Olga', 'en');
my (undef, $rep_es) = invite_rep($owner, 'Iñigo', 'es');
is(lookup($rep_es, 200, 'representative es')->{language}, 'es',
   'a representative with their own language (es) gets it, not the client\'s (en)');

my $owner2 = client('Pia', 'es');
my (undef, $rep_none) = invite_rep($owner2, 'Rafa', undef);
is(lookup($rep_none, 200, 'representative without')->{language}, 'en',
   'a representative without a language: the practice default (en), not the client\'s (es)');
settings_ok({ default_language => 'es' }, 'default_language es');
is(lookup($rep_none, 200, 'representative without, default es')->{language}, 'es',
   'the practice default changed by PUT /admin/settings: es');
settings_ok({ default_language => undef }, 'default_language back to en');

# --- the clock: the time_zone setting -------------------------------------------------------
settings_ok({ time_zone => 'America/Chicago' }, 'time_zone America/Chicago');
is(lookup($ana_token, 200, 'time_zone set')->{time_zone}, 'America/Chicago',
   'time_zone: the setting');
settings_ok({ time_zone => undef }, 'time_zone back to the server zone');

# --- refusals that name the invitation carry the language; an unknown token does not ----------
sub refused_in {
    my ($token, $status, $code, $language, $name) = @_;
    for my $action (qw(lookup decline)) {
        my $res = rcpt($action => { token => $token });
        private_ok($res, \@clients, "$name: $action");
        my $e = error_ok($res, $status, $code, "$name: $action");
        is($e->{language}, $language, "$name: $action answers language $language");
    }
}
{
    my $c = client('Elena', 'es');
    my ($inv_id, $token) = invite($c);
    tdb()->do('UPDATE invitations SET expires_at = ? WHERE id = ?', undef, time - 60, $inv_id);
    refused_in($token, 410, 'expired', 'es', 'expired');
}
{
    my $c = client('Sofía', 'es');
    my ($inv_id, $token) = invite($c);
    json_ok(staff(POST => "/invitations/$inv_id/revoke"), 200, 'revoke');
    refused_in($token, 410, 'revoked', 'es', 'revoked');
}
{
    my $c = client('Nuria', 'es');
    my ($inv_id, $token) = invite($c);
    tdb()->do('UPDATE outbox SET created_at = created_at - 7200 WHERE invitation_id = ?', undef,
              $inv_id);
    json_ok(staff(POST => "/invitations/$inv_id/resend"), 200, 'resend');
    next_token($c->{email});
    refused_in($token, 410, 'superseded', 'es', 'superseded');
}
{
    my $c = client('Begoña', 'es');
    my (undef, $token) = invite($c);
    my $new = unique_email('lang-changed');
    push @clients, { %$c, email => $new };
    json_ok(staff(PUT => "/clients/$c->{id}/email", json => { email => $new }), 200, 'change email');
    refused_in($token, 410, 'address_changed', 'es', 'address changed');
}
{
    my $c = client('Lola', 'es');
    my ($inv_id, $token) = invite($c);
    tdb()->do("UPDATE invitations SET status = 'locked', verify_failures = 5 WHERE id = ?",
              undef, $inv_id);
    refused_in($token, 423, 'locked', 'es', 'locked');
}
{
    my $c = client('Dario', 'es');
    my (undef, $token) = invite($c);
    json_ok(rcpt(decline => { token => $token }), 200, 'decline');
    refused_in($token, 409, 'already_declined', 'es', 'already declined');
}
{
    my (undef, $token) = invite_rep(client('Tomás', 'es'), 'Wren', undef);
    settings_ok({ default_language => 'es' }, 'default_language es');
    json_ok(rcpt(decline => { token => $token }), 200, 'representative declines');
    refused_in($token, 409, 'already_declined', 'es',
               'already declined, representative without a language, default es');
    settings_ok({ default_language => undef }, 'default_language back to en');
}
{
    my $res = rcpt(lookup => { token => fake_token() });
    my $e = error_ok($res, 404, 'invalid_token', 'unknown token');
    ok(!exists $e->{language}, 'an unknown token: no language (the page keeps the browser\'s)');
}

# --- a wrong date of birth: the tries left as a number ----------------------------------------
{
    my $c = client('Mar', 'es');
    my (undef, $token) = invite($c);
    my $res = rcpt(accept => { token => $token, date_of_birth => '1901-01-01',
                               username => 'mar.lang', password => 'a perfectly long pass' });
    private_ok($res, \@clients, 'wrong date of birth');
    my $e = error_ok($res, 422, 'verification_failed', 'wrong date of birth');
    is($e->{tries_left}, 4, 'wrong date of birth: tries_left 4');
    is($e->{error}{field}, 'date_of_birth', 'wrong date of birth: field date_of_birth');
}

done_testing();
