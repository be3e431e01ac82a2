# t/recipient_reset_es.t — the Spanish password reset email names the reset one way,
# "restablecer", as its subject does (not "elegir una nueva contraseña" in the body and
# "cambiar la contraseña" on the page), and says "las respuestas no se leen" as every
# email does (issue 11).
use strict;
use warnings;
use utf8;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use Test::More;
use PortalTest;
use PortalTest::Invite;

my $client = new_client(prefix => 'resetes', first_name => 'Lucía', date_of_birth => '1981-05-20',
                        visible_to => ['clin1']);
my $cid = $client->{id};
tdb()->do("UPDATE clients SET preferred_language = 'es' WHERE id = ?", undef, $cid);

json_ok(staff(POST => "/clients/$cid/invitations", user => 'clin1'), 201, 'invite the client');
my $token = next_token($client->{email});
json_ok(rcpt(accept => { token => $token, date_of_birth => $client->{date_of_birth},
                         username => "lucia.resetes.$$", password => 'una contraseña bastante larga' }),
        201, 'accept');
my $view = json_ok(staff(GET => "/clients/$cid", user => 'clin1'), 200, 'the view with the account');
my $aid = $view->{accounts}[0]{id};
ok($aid, 'the account id');

json_ok(staff(POST => "/accounts/$aid/password-reset", user => 'clin1'), 202, 'ask for a reset');
my (undef, $p) = next_token($client->{email});
my ($text) = map { $_->{text} } grep { $_->{content_type} eq 'text/plain' } @{ $p->{parts} || [] };
$text //= '';
like($p->{subject} // '', qr/restablecer la contraseña del portal/, 'the subject says "restablecer"');
like($text, qr/le envía un enlace para restablecer la contraseña de su cuenta/,
     'the body names the reset as the subject does');
like($text, qr/Para restablecerla, abra este enlace:/, 'the link is for "restablecerla"');
unlike($text, qr/elegir una nueva contraseña|cambiar la contraseña|este cambio/,
       'no second or third name for it');
like($text, qr/Este es un mensaje automático; las respuestas no se leen\./,
     'the automated-message line every email has');

done_testing();
