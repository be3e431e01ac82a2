# t/languages.t — emails in the recipient's language (issue 17): a client whose
# preferred_language is es gets the Spanish catalog's email with its date in Spanish in
# the practice's time zone; a representative's own language, else the practice's
# default_language; the practice's own text per language; the preview per language; a
# representative's preferred_language through the API (refused when unknown); the
# client view shows the client's language.
#
# Runs on both databases. Uses its own clients (ids 9721..9729, removed at the end) and
# leaves the settings table as the seed has it.
use strict;
use warnings;
use utf8;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use Test::More;
use JSON::PP ();
use POSIX ();
use PortalTest;
use PortalTest::Admin;

binmode Test::More->builder->$_, ':encoding(UTF-8)' for qw(output failure_output todo_output);

my @CLIENTS = (9721 .. 9729);
cleanup_clients(@CLIENTS);
reset_settings();
END { eval { cleanup_clients(@CLIENTS); reset_settings(); 1 } or warn "cleanup: $@" }

my $SP = qr/[ \x{a0}\x{202f}]/;       # ICU puts no-break spaces in times
my %MES = (1 => 'enero', 2 => 'febrero', 3 => 'marzo', 4 => 'abril', 5 => 'mayo', 6 => 'junio',
           7 => 'julio', 8 => 'agosto', 9 => 'septiembre', 10 => 'octubre', 11 => 'noviembre',
           12 => 'diciembre');

sub put_settings { staff(PUT => '/admin/settings', json => $_[0]) }
sub preview { staff(POST => '/admin/settings/preview', json => $_[0]) }

# the invitation's expiry as a reader in $zone would write it, from the database row
sub expected_spanish_date {
    my ($epoch, $zone) = @_;
    my @t = do { local $ENV{TZ} = $zone; POSIX::tzset(); localtime $epoch };
    POSIX::tzset();
    my $h12 = $t[2] % 12 || 12;
    return sprintf('%d de %s de %d, %d:%02d', $t[3], $MES{ $t[4] + 1 }, $t[5] + 1900, $h12, $t[1]),
           $t[2] < 12 ? 'a.' : 'p.';
}

# the only email to $addr, parsed, with its text part
sub email_to {
    my ($addr, $label) = @_;
    my ($mail) = wait_mail_to($addr, 15);
    ok($mail, "$label: the email arrived") or return;
    my $p = parse_mail($mail);
    my ($text) = map { text_nl($_->{text}) } grep { $_->{content_type} eq 'text/plain' } @{ $p->{parts} || [] };
    return ($p, $text // '');
}

sub expires_of_client {
    my $id = shift;
    return db()->selectrow_array('SELECT max(expires_at) FROM invitations WHERE client_id = ?', undef, $id);
}

# ---- the client's own language, the practice's zone ------------------------------------
{
    json_ok(put_settings({ time_zone => 'America/Chicago' }), 200, 'time_zone America/Chicago');
    my $c = add_client(9721, 'Lucía', 'Idioma', 'lucia.lang@example.test', 'clin1');
    db()->do("UPDATE clients SET preferred_language = 'es' WHERE id = 9721");
    my $view = json_ok(staff(GET => '/clients/9721', user => 'clin1'), 200, 'client view');
    is($view->{preferred_language}, 'es', 'the client view shows the client\'s language');
    mail_clear();
    json_ok(staff(POST => '/clients/9721/invitations', user => 'clin1', json => {}), 201, 'invite Lucía');
    my ($p, $text) = email_to($c->{email}, 'es client');
    if ($p) {
        is($p->{subject}, 'Riverside Counseling: su invitación al portal de clientes', 'es client: Spanish subject');
        like($text, qr/^Hola, Lucía:\n/, 'es client: Spanish greeting');
        like($text, qr/Para aceptar o rechazar la invitación, abra este enlace:/, 'es client: Spanish body');
        like($text, qr/Le invitamos a crear su cuenta en el portal seguro para clientes de Riverside Counseling\./,
             'es client: whose portal it is, without "su portal" (issue 11)');
        like($text, qr/Este es un mensaje automático; las respuestas no se leen\./,
             'es client: the automated-message line as in every email (issue 11)');
        unlike($text, qr/no responda/, 'es client: no second way of saying it');
        my ($date, $ampm) = expected_spanish_date(expires_of_client(9721), 'America/Chicago');
        like($text, qr/hasta el \Q$date\E$SP\Q$ampm\E$SP?m\./,
             "es client: the expiry in Spanish in Chicago's time ($date $ampm m.)");
        like($text, qr/hasta el \Q$date\E$SP\Q$ampm\E$SP?m\.${SP}hora de Chicago\./,
             'es client: the time names its zone (a representative may live in another one)');
        unlike($text, qr/UTC|Hello/, 'es client: no UTC, no English');
        like($text, qr/Recibió este correo porque Riverside Counseling le invitó/,
             'es client: the footer in Spanish');
        my ($html) = map { $_->{text} } grep { $_->{content_type} eq 'text/html' } @{ $p->{parts} || [] };
        like($html // '', qr/<html lang="es"/, 'es client: the HTML part says it is Spanish');
        my @cl = map { $_->[1] } grep { lc $_->[0] eq 'content-language' } @{ $p->{headers} };
        is("@cl", 'es', 'es client: one Content-Language header, es');
        like($html // '', qr/>Abrir la invitaci/, 'es client: the button in Spanish');
    }

    # the same client in Madrid's time
    json_ok(put_settings({ time_zone => 'Europe/Madrid' }), 200, 'time_zone Europe/Madrid');
    mail_clear();
    db()->do("UPDATE invitations SET status = 'revoked' WHERE client_id = 9721");
    json_ok(staff(POST => '/clients/9721/invitations', user => 'clin1', json => {}), 201, 'invite Lucía again');
    ($p, $text) = email_to($c->{email}, 'es client, Madrid');
    if ($p) {
        my ($date, $ampm) = expected_spanish_date(expires_of_client(9721), 'Europe/Madrid');
        like($text, qr/hasta el \Q$date\E$SP\Q$ampm\E$SP?m\./,
             "es client: the expiry in Madrid's time ($date $ampm m.)");
        like($text, qr/hasta el \Q$date\E$SP\Q$ampm\E$SP?m\.${SP}CES?T\./, "es client: Madrid's zone named");
    }
    # an English client in Chicago: "until December 8, 2026 at 4:13 PM CST."
    json_ok(put_settings({ time_zone => 'America/Chicago' }), 200, 'time_zone America/Chicago again');
    my $en = add_client(9729, 'Lane', 'Zone', 'lane.zone@example.test', 'clin1');
    mail_clear();
    json_ok(staff(POST => '/clients/9729/invitations', user => 'clin1', json => {}), 201, 'invite Lane');
    ($p, $text) = email_to($en->{email}, 'en client, Chicago');
    if ($p) {
        like($text, qr/The link works until [A-Z][a-z]+ \d{1,2}, \d{4} at \d{1,2}:\d\d${SP}[AP]M${SP}C[SD]T\./,
             'en client: the expiry names its zone (CST or CDT)');
    }
    json_ok(put_settings({ time_zone => undef }), 200, 'time_zone back to the server\'s');
}

# ---- representatives: their own language, else the practice's default --------------------
{
    add_client(9722, 'Quinn', 'Langrep', 'quinn.lang@example.test', 'clin1');
    mail_clear();
    my $d = json_ok(staff(POST => '/clients/9722/representatives', user => 'clin1',
                          json => { email => 'rosa.rep.lang@example.test', first_name => 'Rosa',
                                    last_name => 'Rep', relationship => 'parent',
                                    preferred_language => 'es' }), 201, 'representative with es');
    is($d && $d->{representative}{preferred_language}, 'es', 'the answer shows her language');
    my ($p, $text) = email_to('rosa.rep.lang@example.test', 'es representative');
    if ($p) {
        is($p->{subject}, 'Riverside Counseling: le invitamos al portal de clientes',
           'es representative: Spanish subject');
        like($text, qr/como representante/, 'es representative: the Spanish representative message');
        like($text, qr/en el portal seguro para clientes de Riverside Counseling como representante/,
             'es representative: whose portal it is (issue 11)');
        like($text, qr/las respuestas no se leen\./, 'es representative: the automated-message line (issue 11)');
        is(join(',', map { $_->[1] } grep { lc $_->[0] eq 'content-language' } @{ $p->{headers} }), 'es',
           'es representative: Content-Language es');
    }

    # none of his own: the practice's default_language, here es
    json_ok(put_settings({ default_language => 'es' }), 200, 'default_language es');
    mail_clear();
    $d = json_ok(staff(POST => '/clients/9722/representatives', user => 'clin1',
                       json => { email => 'tom.rep.lang@example.test', first_name => 'Tom',
                                 last_name => 'Rep' }), 201, 'representative without a language');
    ok($d && exists $d->{representative}{preferred_language}
       && !defined $d->{representative}{preferred_language}, 'his language: null');
    ($p, $text) = email_to('tom.rep.lang@example.test', 'default-language representative');
    like($p->{subject} // '', qr/le invitamos/, 'no language of his own: the default (es)') if $p;

    # English on his own overrides the Spanish default; PUT keeps other fields
    my $tom = $d->{representative}{id};
    my $v = json_ok(staff(PUT => "/representatives/$tom", user => 'clin1', json => { preferred_language => 'en' }),
                    200, 'PUT preferred_language en');
    my ($r) = grep { $_->{id} == ($tom // 0) } @{ $v->{representatives} || [] };
    is($r && $r->{preferred_language}, 'en', 'the client view shows his language');
    $v = json_ok(staff(PUT => "/representatives/$tom", user => 'clin1', json => { first_name => 'Tomás' }),
                 200, 'PUT first_name only');
    ($r) = grep { $_->{id} == ($tom // 0) } @{ $v->{representatives} || [] };
    is($r && $r->{preferred_language}, 'en', 'a PUT without preferred_language keeps it');
    db()->do("UPDATE invitations SET status = 'revoked' WHERE representative_id = ?", undef, $tom);
    mail_clear();
    json_ok(staff(POST => "/representatives/$tom/invitations", user => 'clin1', json => {}), 201, 'invite Tomás again');
    ($p, $text) = email_to('tom.rep.lang@example.test', 'en representative');
    like($p->{subject} // '', qr/you are invited/, 'his own en beats the es default') if $p;
    $v = json_ok(staff(PUT => "/representatives/$tom", user => 'clin1', json => { preferred_language => undef }),
                 200, 'PUT preferred_language null');
    ($r) = grep { $_->{id} == ($tom // 0) } @{ $v->{representatives} || [] };
    ok($r && !defined $r->{preferred_language}, 'null: back to the practice default');

    # unknown languages refused, nothing stored
    my $reps = db()->selectrow_array('SELECT count(*) FROM representatives WHERE client_id = 9722');
    for my $bad ('fr', 'ES', 'es-MX', '', 5, ['es'], JSON::PP::true) {
        my $desc = ref $bad ? JSON::PP->new->allow_nonref->encode($bad) : "'$bad'";
        my $err = error_ok(staff(POST => '/clients/9722/representatives', user => 'clin1',
                                 json => { email => 'bad.lang@example.test', first_name => 'Bad',
                                           last_name => 'Lang', preferred_language => $bad }),
                           422, 'invalid_language', "POST preferred_language $desc refused");
        is($err && $err->{error}{field}, 'preferred_language', "POST $desc: field preferred_language");
        error_ok(staff(PUT => "/representatives/$tom", user => 'clin1', json => { preferred_language => $bad }),
                 422, 'invalid_language', "PUT preferred_language $desc refused");
    }
    is(db()->selectrow_array('SELECT count(*) FROM representatives WHERE client_id = 9722'), $reps,
       'refused representatives: none stored');
    ok(!defined db()->selectrow_array('SELECT preferred_language FROM representatives WHERE id = ?', undef, $tom),
       'refused PUTs: his language unchanged');
    json_ok(put_settings({ default_language => undef }), 200, 'default_language back to en');
}

# ---- the practice's own text per language; the preview per language ----------------------
{
    my $es_subject = 'Bienvenida de {{practice_name}} para {{recipient_first_name}}';
    my $es_message = "Estimado/a {{recipient_first_name}}:\n\nAbra {{link}} antes del {{expires_at}}.\n";
    json_ok(put_settings({ client_invitation_subject => { es => $es_subject },
                           client_invitation_message => { es => $es_message } }), 200,
            'PUT Spanish client texts');
    my $s = json_ok(staff(GET => '/admin/settings'), 200, 'GET settings');
    is($s->{client_invitation_subject}{es}, $es_subject, 'GET: the Spanish subject');
    like($s->{client_invitation_subject}{en}, qr/your invitation/, 'GET: English still the catalog\'s');

    my $p = json_ok(preview({ kind => 'client', language => 'es' }), 200, 'preview es');
    is($p->{language}, 'es', 'preview es: language es');
    is($p->{subject}, 'Bienvenida de Riverside Counseling para Alex', 'preview es: the practice\'s Spanish subject');
    like($p->{text}, qr/^Estimado\/a Alex:\n\nAbra \S+ antes del \d{1,2} de \w+ de \d{4}, /,
         'preview es: the Spanish message with a Spanish date');
    $p = json_ok(preview({ kind => 'client', language => 'en' }), 200, 'preview en');
    like($p->{subject}, qr/your invitation to the client portal/, 'preview en: the catalog\'s English');
    $p = json_ok(preview({ kind => 'representative', language => 'es' }), 200, 'preview representative es');
    like($p->{subject}, qr/le invitamos/, 'preview representative es: the catalog\'s Spanish');
    for my $bad ('fr', 'EN', '', 3, ['es']) {
        my $desc = ref $bad ? '[es]' : "'$bad'";
        my $err = error_ok(preview({ kind => 'client', language => $bad }), 422, 'invalid_language',
                           "preview language $desc refused");
        is($err && $err->{error}{field}, 'language', "preview $desc: field language");
    }

    # an es client gets the practice's Spanish text
    my $c = add_client(9723, 'Marta', 'Texto', 'marta.lang@example.test', 'clin1');
    db()->do("UPDATE clients SET preferred_language = 'es' WHERE id = 9723");
    mail_clear();
    json_ok(staff(POST => '/clients/9723/invitations', user => 'clin1', json => {}), 201, 'invite Marta');
    my ($m, $text) = email_to($c->{email}, 'es client, practice text');
    if ($m) {
        is($m->{subject}, 'Bienvenida de Riverside Counseling para Marta', 'the practice\'s Spanish subject used');
        like($text, qr/^Estimado\/a Marta:/, 'the practice\'s Spanish message used');
    }
    reset_settings();
}

# ---- the test email: the real worker, in the language asked for, else the practice's default --
{
    # champion3's own test emails: the limit (10 an hour per champion) is not shared
    # with the other files' champions
    db()->do("INSERT INTO staff (username, display_name, all_clients, active) VALUES ('champion3', 'Lu Champion', 1, 1)")
        unless db()->selectrow_array("SELECT count(*) FROM staff WHERE username = 'champion3'");
    json_ok(put_settings({ default_language => 'es' }), 200, 'default_language es');
    mail_clear();
    my $to = 'champion.lang@example.test';
    my $d = json_ok(staff(POST => '/admin/settings/test-email', user => 'champion3', json => { to => $to }), 202, 'test email');
    my ($m, $text) = email_to($to, 'test email in es');
    if ($m) {
        is($m->{subject}, '[Prueba] Riverside Counseling: su invitación al portal de clientes',
           'the test email: Spanish prefix and subject');
        like($text, qr/^Hola, Alex:\n/, 'the test email: Spanish text');
    }
    # a language asked for wins over the default, either way
    json_ok(put_settings({ default_language => 'en' }), 200, 'default_language back to en');
    mail_clear();
    $d = json_ok(staff(POST => '/admin/settings/test-email', user => 'champion3', json => { to => $to, language => 'es' }), 202,
                 'test email asked for in es');
    ($m, $text) = email_to($to, 'test email asked in es');
    if ($m) {
        is($m->{subject}, '[Prueba] Riverside Counseling: su invitación al portal de clientes',
           'the test email asked in es: Spanish although the default is en');
    }
    mail_clear();
    json_ok(staff(POST => '/admin/settings/test-email', user => 'champion3', json => { to => $to, language => 'en', kind => 'representative' }),
            202, 'test email asked for in en, representative kind');
    ($m, $text) = email_to($to, 'test email asked in en');
    if ($m) {
        is($m->{subject}, '[Test] Riverside Counseling: you are invited to the client portal',
           'the test email asked in en: the English representative text');
    }
    error_ok(staff(POST => '/admin/settings/test-email', user => 'champion3', json => { to => $to, language => 'fr' }), 422,
             'invalid_language', 'the test email: a language without a catalog is refused');
    reset_settings();
}

cleanup_clients(@CLIENTS);
done_testing();
