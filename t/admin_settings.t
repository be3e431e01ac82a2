# t/admin_settings.t — the champions' portal settings (issue 7, docs/api.md, docs/configuration.md):
# who may change them (Apache's Require on /admin, /me.admin), GET with defaults, every
# validation rule with good, bad and boundary values (the practice phone's shape too), every
# refused value of one body named at once, null resets, unknown settings, the
# audit row (names, never template text), the preview versus the email actually received,
# the expiry the email states versus the one the server enforces, test emails through the
# real worker, and the practice logo as an inline cid: image.
#
# Runs on both databases. Uses its own clients (ids 97xx, removed at the end) and leaves
# the settings table empty, so the other test files see the defaults.
use strict;
use warnings;
use utf8;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use Test::More;
use JSON::PP ();
use MIME::Base64 qw(encode_base64 decode_base64);
use Time::HiRes ();
use Time::Local qw(timegm timelocal);
use Digest::MD5 qw(md5_hex);
use Encode ();
use PortalTest;
use PortalTest::Admin;
use PortalTest::Invite qw(run_concurrently hold_write_lock);

# provoked on purpose: /noauth/api: the staff handler without authentication
expect_log_ids(qw(PM00031));

binmode Test::More->builder->$_, ':encoding(UTF-8)' for qw(output failure_output todo_output);

my @CLIENTS = (9701 .. 9710);
cleanup_clients(@CLIENTS);
db()->do('DELETE FROM settings');     # every setting at its default, the seed's pace too
END { eval { cleanup_clients(@CLIENTS); reset_settings(); 1 } or warn "cleanup: $@" }

my $JSON = JSON::PP->new->canonical->allow_nonref;
my $BASE = 'http://127.0.0.1:' . runtime()->{port};
my $INVITATION_URL = "$BASE/portal/invitation/";
my $TEST_LINK = $INVITATION_URL . '#t=TEST-EMAIL-THIS-LINK-DOES-NOT-WORK';
my %MONTH = do { my $i = 0; map { $_ => $i++ } qw(January February March April May June July
                                                   August September October November December) };
# an English date as the emails write it (ICU, the server's own zone: no time_zone set)
my $HUMAN_TIME = qr/\b(January|February|March|April|May|June|July|August|September|October|November|December) (\d{1,2}), (\d{4}) at (\d{1,2}):(\d\d)[ \x{a0}\x{202f}]([AP]M)\b/;

# Defaults again, but with one row stored (a default value): on PostgreSQL an empty settings
# table makes the delivery worker stall 100 ms between reading the settings and picking up
# due emails (see "a fresh install" below), so sections that PUT and send right away start
# from a non-empty table and test one thing each.
# leave the shared server's pace as t/fixtures/seed.sql set it (this file empties the table)
END {
    eval {
        my $dbh = db();
        $dbh->do("DELETE FROM settings WHERE name = 'max_emails_per_minute'");
        $dbh->do("INSERT INTO settings (name, value) VALUES ('max_emails_per_minute', '10000')");
        1;
    } or warn "restoring max_emails_per_minute: $@";
}

sub neutral_settings {
    my $dbh = db();
    $dbh->begin_work;      # one transaction: the table is never seen empty
    $dbh->do('DELETE FROM settings');
    $dbh->do("INSERT INTO settings (name, value) VALUES ('resend_cooldown_minutes', '10')");
    $dbh->commit;
}
sub get_settings { json_ok(staff(GET => '/admin/settings'), 200, 'GET /admin/settings') }
sub put_settings { staff(PUT => '/admin/settings', json => $_[0], @_[1 .. $#_]) }
sub short { my $s = ref $_[0] ? $JSON->encode($_[0]) : defined $_[0] ? "\"$_[0]\"" : 'null';
            $s =~ s/[\r\n\t]/ /g; length $s > 60 ? substr($s, 0, 57) . '...' : $s }
# name => stored JSON text (long values as length + MD5, so a failed comparison stays readable)
sub settings_rows {
    my $rows = db()->selectall_arrayref('SELECT name, value FROM settings ORDER BY name');
    return { map { $_->[0] => (length $_->[1] > 300
                               ? sprintf('%d chars, md5 %s', length $_->[1], md5_hex(Encode::encode('UTF-8', $_->[1])))
                               : $_->[1]) } @$rows };
}
sub stored_value {
    my $v = db()->selectrow_array('SELECT value FROM settings WHERE name = ?', undef, $_[0]);
    return defined $v ? JSON::PP->new->allow_nonref->decode($v) : undef;
}
# a refusal: the status first (one failure when the server accepted), then the envelope
sub refused_ok {
    my ($res, $status, $code, $field, $name) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    unless ($res->code == $status) {
        fail("$name: refused with $status");
        diag 'got ' . $res->status_line . ': ' . substr($res->content // '', 0, 200);
        return;
    }
    my $err = error_ok($res, $status, $code, $name);
    is($err && $err->{error}{field}, $field, "$name: field $field") if defined $field;
    return $err;
}
sub audit_by_request {
    my $rid = shift;
    return db()->selectall_arrayref('SELECT * FROM audit_log WHERE request_id = ?', { Slice => {} }, $rid);
}
sub human_to_epoch {
    my ($mon, $d, $y, $h, $mi, $ampm) = @_;
    $h = $h % 12 + ($ampm eq 'PM' ? 12 : 0);
    return timelocal(0, $mi, $h, $d, $MONTH{$mon}, $y);
}
sub iso_to_epoch {
    my $s = shift // return undef;
    my ($y, $mo, $d, $h, $mi, $se) = $s =~ /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)Z$/ or return undef;
    return timegm($se, $mi, $h, $d, $mo - 1, $y);
}
# the subject/text/html of a message with the parts that differ by design replaced:
# the link (token), the expiry date, the recipient's first name
sub normalize {
    my ($s, %o) = @_;
    my %n;
    $n{link} = ($s =~ s/$o{link}/<LINK>/g) || 0;
    $n{expiry} = ($s =~ s/$HUMAN_TIME/<EXPIRES>/g) || 0;
    $n{name} = ($s =~ s/\Q$o{name}\E/<NAME>/g) || 0;
    return ($s, \%n);
}
sub recipient_post {
    my ($path, $body) = @_;
    return recipient(POST => $path, json => $body, csrf => 1);
}
sub invite_client {
    my ($id, $user) = @_;
    my $res = staff(POST => "/clients/$id/invitations", user => $user // 'clin1', json => {});
    return json_ok($res, 201, "invite client $id");
}
sub html_part { my $m = shift; (grep { $_->{content_type} eq 'text/html' } @{ $m->{parts} || [] })[0] }
sub text_part { my $m = shift; (grep { $_->{content_type} eq 'text/plain' } @{ $m->{parts} || [] })[0] }
sub strict_ok {
    my ($p, $name) = @_;
    ok($p && $p->{ok}, "$name: parses with policy.strict") or diag explain $p;
    is($p->{long_lines}, 0, "$name: no line over 998 octets");
    ok(!$p->{bare_lf}, "$name: CRLF line ends only");
}

# =====================================================================================
# who may use the settings
# =====================================================================================
{
    my $me = json_ok(staff(GET => '/me', user => 'admin'), 200, '/me as admin');
    ok(JSON::PP::is_bool($me->{admin}) && $me->{admin}, '/me.admin is true for admin (in portal-admins)')
        or diag explain $me;
    $me = json_ok(staff(GET => '/me', user => 'clin1'), 200, '/me as clin1');
    ok(JSON::PP::is_bool($me->{admin}) && !$me->{admin}, '/me.admin is false for clin1')
        or diag explain $me;
    $me = json_ok(staff(GET => '/me', user => 'clin2'), 200, '/me as clin2');
    ok(JSON::PP::is_bool($me->{admin}) && !$me->{admin}, '/me.admin is false for clin2');
}
{
    my $before_rows = settings_rows();
    my $audit_before = db()->selectrow_array('SELECT count(*) FROM audit_log');
    my $res = put_settings({ practice_name => 'Hijacked Practice' }, user => 'clin1');
    is($res->code, 403, 'PUT /admin/settings as clin1: 403 from Apache\'s Require')
        or diag $res->as_string;
    unlike($res->content, qr/Hijacked/, 'PUT as clin1: nothing echoed');
    is_deeply(settings_rows(), $before_rows, 'PUT as clin1: settings table unchanged');
    is(get_settings()->{practice_name}, 'Riverside Counseling', 'PUT as clin1: practice_name unchanged');
    is(db()->selectrow_array('SELECT count(*) FROM audit_log'), $audit_before,
       'PUT as clin1: no audit row (the handler never ran)');

    for my $case ([GET => '/admin/settings'],
                  [POST => '/admin/settings/preview', { kind => 'client' }],
                  [POST => '/admin/settings/test-email', { to => 'clin1.t7@example.test' }],
                  [PUT => '/admin/settings', { practice_name => undef }]) {
        my ($m, $path, $body) = @$case;
        for my $user (qw(clin1 clin2)) {
            my $r = staff($m => $path, user => $user, ($body ? (json => $body) : ()));
            is($r->code, 403, "$m $path as $user: 403");
        }
    }
    is(db()->selectrow_array("SELECT count(*) FROM outbox WHERE to_address = 'clin1.t7\@example.test'"), 0,
       'test-email as clin1: nothing queued');
    is_deeply(settings_rows(), $before_rows, 'after the refused requests: settings unchanged');

    # no user at all (a Location without authentication): the module itself refuses
    my $r = http_request(GET => '/noauth/api/admin/settings');
    error_ok($r, 403, 'not_authenticated', 'GET /admin/settings with no authentication configured');
    $r = http_request(PUT => '/noauth/api/admin/settings', json => { practice_name => 'X' }, csrf => 1);
    error_ok($r, 403, 'not_authenticated', 'PUT /admin/settings with no authentication configured');
    is_deeply(settings_rows(), $before_rows, 'no-auth PUT: settings unchanged');

    # CSRF: the admin, but no X-Requested-With
    $r = put_settings({ practice_name => 'Forged' }, csrf => 0);
    error_ok($r, 403, 'csrf', 'PUT /admin/settings without X-Requested-With');
    $r = staff(POST => '/admin/settings/test-email', json => { to => 'csrf.t7@example.test' }, csrf => 0);
    error_ok($r, 403, 'csrf', 'POST test-email without X-Requested-With');
    is_deeply(settings_rows(), $before_rows, 'CSRF refusals: settings unchanged');
}

# =====================================================================================
# GET: every setting with its default
# =====================================================================================
my %DEFAULT_MODULES = map { $_ => JSON::PP::true }
    qw(messaging statements statement_email_notifications appointment_requests payments forms);
my $DEFAULTS = get_settings();
{
    is_deeply([sort keys %$DEFAULTS],
              [sort qw(practice_name portal_url brand_color logo invitation_ttl_hours
                       resend_cooldown_minutes max_sends_per_invitation password_min_length
                       max_emails_per_minute
                       client_invitation_subject client_invitation_message
                       representative_invitation_subject representative_invitation_message
                       modules representatives_enabled collation_locale practice_phone practice_address
                       disable_accounts_on_discharge default_language time_zone audit_retention_days
                       minor_review_days end_representative_access_at_majority
                       staff_notice_max_idle_days)],
              'GET /admin/settings: every setting of docs/configuration.md') or diag explain $DEFAULTS;
    is($DEFAULTS->{practice_name}, 'Riverside Counseling', 'default practice_name (PortalMailFrom name)');
    is($DEFAULTS->{portal_url}, "$BASE/portal/account/", 'default portal_url (PortalLoginURL)');
    is($DEFAULTS->{invitation_ttl_hours}, 168, 'default invitation_ttl_hours 168');
    is($DEFAULTS->{resend_cooldown_minutes}, 10, 'default resend_cooldown_minutes 10');
    is($DEFAULTS->{max_sends_per_invitation}, 5, 'default max_sends_per_invitation 5');
    is($DEFAULTS->{password_min_length}, 12, 'default password_min_length 12');
    is($DEFAULTS->{max_emails_per_minute}, 120, 'default max_emails_per_minute 120');
    is($DEFAULTS->{default_language}, 'en', 'default default_language en');
    is($DEFAULTS->{audit_retention_days}, 2190, 'default audit_retention_days 2190 (six years)');
    is($DEFAULTS->{minor_review_days}, 30, 'default minor_review_days 30');
    is($DEFAULTS->{staff_notice_max_idle_days}, 30, 'default staff_notice_max_idle_days 30');
    ok(JSON::PP::is_bool($DEFAULTS->{end_representative_access_at_majority})
       && !$DEFAULTS->{end_representative_access_at_majority},
       'default end_representative_access_at_majority false');
    ok(!defined $DEFAULTS->{time_zone}, "default time_zone: none (the server's own)");
    is_deeply($DEFAULTS->{modules}, \%DEFAULT_MODULES, 'default modules: all six on');
    is($DEFAULTS->{collation_locale}, 'en', 'default collation_locale en');
    ok(JSON::PP::is_bool($DEFAULTS->{representatives_enabled}) && $DEFAULTS->{representatives_enabled},
       'default representatives_enabled true');
    ok(JSON::PP::is_bool($DEFAULTS->{disable_accounts_on_discharge})
       && !$DEFAULTS->{disable_accounts_on_discharge}, 'default disable_accounts_on_discharge false');
    for my $k (qw(client representative)) {
        is_deeply([sort keys %{ $DEFAULTS->{"${k}_invitation_message"} }], [qw(en es)],
                  "default $k message: one per language (the catalogs)");
        for my $l (qw(en es)) {
            like($DEFAULTS->{"${k}_invitation_message"}{$l}, qr/\{\{link\}\}/, "default $k message ($l) has {{link}}");
            like($DEFAULTS->{"${k}_invitation_message"}{$l}, qr/\{\{expires_at\}\}/,
                 "default $k message ($l) has {{expires_at}}");
            ok(length $DEFAULTS->{"${k}_invitation_subject"}{$l} && $DEFAULTS->{"${k}_invitation_subject"}{$l} !~ /\n/,
               "default $k subject ($l) is one line");
        }
    }
    ok(!defined $DEFAULTS->{logo}, 'default logo: null');
    ok(!defined $DEFAULTS->{brand_color} || $DEFAULTS->{brand_color} =~ /^#[0-9a-fA-F]{6}$/,
       'default brand_color: null or #rrggbb');
    is_deeply(settings_rows(), {}, 'defaults come from the module, not from rows');
    ok(exists $DEFAULTS->{practice_phone} && !defined $DEFAULTS->{practice_phone},
       'practice_phone: none by default');
    error_ok(put_settings({ practice_phone => 'x' x 41 }), 422, 'invalid_setting', 'practice_phone: at most 40 characters');
    error_ok(put_settings({ practice_phone => "555\n0100" }), 422, 'invalid_setting', 'practice_phone: one line');
    json_ok(put_settings({ practice_phone => '(555) 010-0100' }), 200, 'practice_phone: stored');
    is(get_settings()->{practice_phone}, '(555) 010-0100', 'practice_phone: read back');
    json_ok(put_settings({ practice_phone => undef }), 200, 'practice_phone: back to none');
}

# =====================================================================================
# validation: every rule, good and bad values, boundaries; null resets
# =====================================================================================
my $png_small = make_png(4, 4);
my $png_url = 'data:image/png;base64,' . encode_base64($png_small, '');
my $svg_url = 'data:image/svg+xml;base64,'
            . encode_base64('<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"/>', '');
my $svg_script = '<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"><script>alert(document.domain)</script></svg>';
my $jpeg_small = make_jpeg(6, 3);
my $jpeg_url = 'data:image/jpeg;base64,' . encode_base64($jpeg_small, '');
my $link_msg = "Hello {{recipient_first_name}},\n{{link}}\n";

my @RULES = (
    practice_name => {
        good => ['A', 'x' x 200, 'é' x 200, 'Riverside & Sons <Counseling> "Ltd"', 'Ünïcödé Praxis 診療所'],
        bad  => ['', '   ', 'x' x 201, 'é' x 201, "Two\nlines", "Two\rlines", "Bell\x07", "Del\x7f",
                 "C1\x{85}control", 42, JSON::PP::true, ['x'], { name => 'x' }],
    },
    portal_url => {
        good => ['https://portal.example.org/portal/', 'http://portal.example.org/',
                 'https://portal.example.org:8443/x?y=1', 'HTTPS://PORTAL.EXAMPLE.ORG/'],
        bad  => ['', 'portal.example.org', '/portal/account/', 'ftp://portal.example.org/',
                 'javascript:alert(1)', 'https://portal.example.org/#frag',
                 'https://user:pw@portal.example.org/', 'https://', 'https://exa mple.org/',
                 "https://portal.example.org/\nX: y", 'mailto:x@example.org', 443, JSON::PP::false],
    },
    brand_color => {
        good => ['#1a5fb4', '#ABCDEF', '#000000', '#fFfFfF'],
        bad  => ['', '#1a5fb', '#1a5fb4a', '1a5fb4', '#1a5fbg', 'red', '#fff', '#1a5fb4 ',
                 "#1a5fb4\n", 'rgb(1,2,3)', 0x1a5fb4, ['#1a5fb4']],
    },
    logo => {
        good => [$png_url, $jpeg_url, 'data:image/png;base64,' . encode_base64(make_png(2048, 1), ''),
                 'data:image/jpeg;base64,' . encode_base64(make_jpeg(2048, 2048), '')],
        bad  => ['', 'data:image/gif;base64,R0lGODlhAQABAAAAACw=', 'data:image/jpeg;base64,/9j/4AAQ',
                 $svg_url, 'data:image/svg+xml;base64,' . encode_base64($svg_script, ''),
                 'data:image/png;base64,' . encode_base64($svg_script, ''),
                 'data:image/png;base64,' . encode_base64($jpeg_small, ''),
                 'data:image/jpeg;base64,' . encode_base64($png_small, ''),
                 'data:image/png;base64,' . encode_base64(make_png(2049, 1), ''),
                 'data:image/jpeg;base64,' . encode_base64(make_jpeg(16, 2049), ''),
                 'data:image/png;base64,' . encode_base64(substr($png_small, 0, 20), ''),
                 # cut off before IEND (a broken upload): an empty box in every email
                 'data:image/png;base64,' . encode_base64(substr($png_small, 0, length($png_small) - 12), ''),
                 'data:image/jpeg;base64,' . encode_base64(substr($jpeg_small, 0, length($jpeg_small) - 2), ''),
                 'data:image/png,' . $png_small =~ s/[^\x20-\x7e]//gr, 'data:image/png;base64,!!!!',
                 'data:image/png;base64,', 'data:text/html;base64,PGI+eDwvYj4=',
                 'data:image/svg+xml;utf8,<svg/>', 'https://example.org/logo.png',
                 'DATA:IMAGE/PNG;BASE64,' . encode_base64($png_small, ''), 12, { png => 1 }],
    },
    invitation_ttl_hours => {
        good => [1, 24, 720],
        bad  => [0, -1, 721, 4294967297, '24', 24.5, JSON::PP::true, [24]],
    },
    resend_cooldown_minutes => {
        good => [0, 1, 1440],
        bad  => [-1, 1441, '10', 0.5, JSON::PP::false],
    },
    max_sends_per_invitation => {
        good => [1, 20],
        bad  => [0, 21, -5, '5', 2.5],
    },
    password_min_length => {
        good => [8, 128],
        bad  => [7, 129, 0, '12', 12.5],
    },
    client_invitation_subject => {
        good => ['x' x 200, 'é' x 200, 'Plain subject',
                 '{{practice_name}} for {{recipient_first_name}} until {{expires_at}}',
                 'Einladung für Zoë — ✓ 🎉', { es => 'Invitación de {{practice_name}}' },
                 { en => 'Invitation', es => 'é' x 200 }],
        bad  => ['x' x 201, 'é' x 201, "Two\nlines", "Two\r\nlines", "CR\ronly", '{{unknown}}',
                 '{{ link }}', '{{LINK}}', '{{practice_name', 'Hi {{recipient_first_name}} {{token}}',
                 '', '   ', "Tab\tinside", 7, '{{link}}', 'Your link: {{link}}',
                 '{{practice_name}} for {{recipient_first_name}} until {{expires_at}} {{link}}',
                 { es => 'Su enlace: {{link}}' }, { fr => 'Bonjour' }, { es => 'x' x 201 }, { es => 5 },
                 { es => '' }, ['Plain subject']],
    },
    client_invitation_message => {
        good => ['{{link}}', ('x' x 4992) . '{{link}}', ('é' x 4992) . '{{link}}',
                 "Line one\nLine two\r\nLine three\n\n{{link}}\n\tindented\n",
                 "{{recipient_first_name}} {{practice_name}} {{expires_at}} {{link}}",
                 { es => "Hola {{recipient_first_name}}:\n{{link}}" }],
        bad  => ['Hello {{recipient_first_name}}, no link here', ('x' x 4993) . '{{link}}',
                 ('é' x 4993) . '{{link}}', '{{link}} {{foo}}', '{{link}} {{', '{{LINK}}',
                 '{{ link }}', "{{link}} bell\x07", '', '   ', 5, ['{{link}}'],
                 { es => 'Sin enlace' }, { 'es-MX' => '{{link}}' }, { es => '{{link}} {{foo}}' }],
    },
    representative_invitation_subject => {
        good => ['x' x 200, 'Représentant: {{recipient_first_name}}'],
        bad  => ['x' x 201, "a\nb", '{{client_first_name}}', '', 'Hi {{link}}'],
    },
    representative_invitation_message => {
        good => ['{{link}}', ('x' x 4992) . '{{link}}'],
        bad  => ['no link', ('x' x 4993) . '{{link}}', '{{link}} {{client_last_name}}', ''],
    },
    modules => {
        good => [{ messaging => JSON::PP::false },
                 { map { $_ => JSON::PP::false } keys %DEFAULT_MODULES },
                 { payments => JSON::PP::false, forms => JSON::PP::true }],
        bad  => [{ chat => JSON::PP::true }, { messaging => 'yes' }, { messaging => 1 },
                 { messaging => undef }, [JSON::PP::true], JSON::PP::true, 'messaging', 1],
    },
    representatives_enabled => {
        good => [JSON::PP::false, JSON::PP::true],
        bad  => ['true', 1, 0, 'false', [JSON::PP::false], {}],
    },
    minor_review_days => {
        good => [0, 365, 30],
        bad  => [-1, 366, '30', 30.5, JSON::PP::true, [], {}],
    },
    end_representative_access_at_majority => {
        good => [JSON::PP::true, JSON::PP::false],
        bad  => ['true', 1, 0, [JSON::PP::false], {}],
    },
    staff_notice_max_idle_days => {
        good => [0, 3650, 1, 30],
        bad  => [-1, 3651, '30', 30.5, JSON::PP::true, [], {}],
    },
    audit_retention_days => {
        good => [3650, 36500, 2190],
        bad  => [2189, 0, -1, 36501, '2190', 2190.5, JSON::PP::true, [], {}],
    },
    default_language => {
        good => ['es', 'en'],
        bad  => ['fr', 'ES', 'es-MX', '', 'en;drop', 5, [], {}, JSON::PP::true],
    },
    time_zone => {
        good => ['America/Chicago', 'Europe/Madrid', 'UTC'],
        bad  => ['Mars/Olympus_Mons', 'America/Chicago ', "America/Chicago\nX", '', 'x' x 200,
                 5, [], {}, JSON::PP::true],
    },
    practice_address => {
        good => ["12 Main Street, Suite 4\nSpringfield, IL 62701", "Calle Mayor 1\r\n28013 Madrid",
                 'x' x 300, 'é' x 300, 'One line'],
        bad  => ['', "  \n ", 'x' x 301, 'é' x 301, "Bell\x07", "Del\x7f", 42, JSON::PP::true, ['x'],
                 { street => 'x' }],
    },
    # a phone number: digits and + ( ) - . / and spaces, 7 digits at least, an optional
    # extension at the end; one line of at most 40 characters
    practice_phone => {
        good => ['(555) 010-0100', '+34 912 345 678', '+44 20 7946 0958', '555-010-0100',
                 '555.010.0100', '0800/123 4567', '5550100', '+1 555 0100',
                 '+1 (555) 010-0100 ext. 12', '(555) 010-0100 ext 12', '555-010-0100 x12',
                 '555-010-0100x12', '+34 912 345 678 extension 12', '(555) 010-0100 Ext. 345',
                 '+1 (555) 010-0100 extension 123456789012'],
        bad  => ['call us maybe', '12345', '123456', '555-CALL-NOW', 'Tel: 555 010 0100',
                 '555 010 0100 (office)', '12345 ext. 678', '(555) 010-0100 ext.',
                 '(555) 010-0100 ext. twelve', '555 010 0100 #12', 'x12 555 010 0100',
                 '+1 (555) 010-0100 extension 1234567890123', '5' x 41, '', '   ',
                 "555\n010 0100", "555\t0100100", '５５５ ０１０ ０１００', 5550100, JSON::PP::true,
                 ['555 010 0100']],
    },
    # ends on the default: later files expect the list in English order
    collation_locale => {
        good => ['sv', 'fr_CA', 'el', 'en'],
        bad  => ['xx_bogus', 'zz', '', 'en;drop', 5, [], {}, JSON::PP::true],
    },
);

# a value as GET shows it after storing $v (modules: merged over the defaults; an email
# text: per language over the catalogs', a plain string being the English text)
sub expected_value {
    my ($name, $v) = @_;
    return { %DEFAULT_MODULES, %$v } if $name eq 'modules';
    return { %{ $DEFAULTS->{$name} }, %{ stored_form($name, $v) } } if $name =~ /_invitation_/;
    return $v;
}
# as the settings table keeps it: an email text as {language: text}
sub stored_form {
    my ($name, $v) = @_;
    return $v unless $name =~ /_invitation_/;
    return ref $v ? $v : { en => $v };
}

{
    my @rules = @RULES;
    while (my ($name, $rule) = splice @rules, 0, 2) {
        subtest "validation: $name" => sub {
            for my $v (@{ $rule->{good} }) {
                my $desc = "$name = " . short($v);
                my $res = put_settings({ $name => $v });
                my $data = json_ok($res, 200, "good: $desc");
                my $want = expected_value($name, $v);
                is_deeply($data && $data->{$name}, $want, "good: $desc: answered with the new value");
                my $now = get_settings();
                is_deeply($now->{$name}, $want, "good: $desc: GET shows it");
                is_deeply($now, $data, "good: $desc: the PUT answer is the whole settings document");
                is_deeply(stored_value($name), stored_form($name, $v), "good: $desc: stored as JSON");
            }
            my $before = get_settings();
            my $rows_before = settings_rows();
            for my $v (@{ $rule->{bad} }) {
                my $desc = "$name = " . short($v);
                my $res = put_settings({ $name => $v });
                my $err = error_ok($res, 422, 'invalid_setting', "bad: $desc");
                is($err && $err->{error}{field}, $name, "bad: $desc: field names the setting");
                is_deeply(settings_rows(), $rows_before, "bad: $desc: nothing stored");
            }
            is_deeply(get_settings(), $before, "$name: bad values changed nothing");

            # null resets to the default
            my $data = json_ok(put_settings({ $name => undef }), 200, "$name = null");
            is_deeply($data && $data->{$name}, $DEFAULTS->{$name}, "$name = null: back to the default");
            ok(!exists settings_rows()->{$name}, "$name = null: the row is gone");
            is_deeply(get_settings()->{$name}, $DEFAULTS->{$name}, "$name = null: GET shows the default");
        };
    }
}

# a link to the portal that is no web address is said in words a champion knows
{
    for my $case (['javascript:alert(1)', qr/names no server: write it as https:\/\/portal\.example\.org\//],
                  ['portal.example.org', qr/is not a whole web address: write it with its https:\/\//]) {
        my $err = error_ok(put_settings({ portal_url => $case->[0] }), 422, 'invalid_setting',
                           "portal_url $case->[0]");
        like($err->{error}{message} // '', $case->[1], "portal_url $case->[0]: said how to write it");
        unlike($err->{error}{message} // '', qr/absolute URL|has no host/, "portal_url $case->[0]: no jargon");
    }
}

# one PUT changes several settings, or none at all
{
    my $res = put_settings({ practice_name => 'Several At Once', invitation_ttl_hours => 48,
                             brand_color => '#336699', representatives_enabled => JSON::PP::false });
    my $d = json_ok($res, 200, 'PUT four settings');
    is_deeply([@$d{qw(practice_name invitation_ttl_hours brand_color)}], ['Several At Once', 48, '#336699'],
              'four settings: all applied');
    ok(!$d->{representatives_enabled}, 'four settings: representatives_enabled false');
    is($d->{password_min_length}, 12, 'partial update: settings not named keep their value');

    my $before = get_settings();
    my $rows = settings_rows();
    $res = put_settings({ practice_name => 'Half Applied', brand_color => 'blue' });
    my $err = error_ok($res, 422, 'invalid_setting', 'one good and one bad value');
    is($err && $err->{error}{field}, 'brand_color', 'one good and one bad: field is the bad one');
    is_deeply(settings_rows(), $rows, 'one good and one bad: nothing stored (all or nothing)');
    is(get_settings()->{practice_name}, 'Several At Once', 'one good and one bad: practice_name unchanged');

    # every refused value at once, in the body's order (the first one also as `error`),
    # and nothing stored
    $res = put_settings('{"practice_phone": "call us maybe", "brand_color": "blue", '
                        . '"invitation_ttl_hours": 48, "practice_name": "' . ('x' x 201) . '"}');
    $err = error_ok($res, 422, 'invalid_setting', 'three bad values and a good one');
    is_deeply($err && $err->{errors},
              [{ field => 'practice_phone',
                 message => 'practice_phone must be a phone number, such as (555) 010-0100 or '
                          . '+34 912 345 678, optionally with an extension (ext. 12).' },
               { field => 'brand_color', message => 'brand_color must be a colour written #rrggbb.' },
               { field => 'practice_name', message => 'practice_name must be at most 200 characters.' }],
              'three bad values: errors names each one with its message, in the body\'s order')
        or diag explain $err;
    is($err && $err->{error}{field}, 'practice_phone', 'three bad values: error.field is the first');
    is($err && $err->{error}{message}, $err && $err->{errors}[0]{message},
       'three bad values: error.message is the first one\'s');
    is_deeply(settings_rows(), $rows, 'three bad values: nothing stored, the good one neither');
    $err = error_ok(put_settings({ brand_color => 'blue' }), 422, 'invalid_setting', 'one bad value');
    is_deeply($err && $err->{errors}, [{ field => 'brand_color', message => $err->{error}{message} }],
              'one bad value: errors holds it alone');
    $err = error_ok(put_settings({ client_invitation_message => { es => 'Sin enlace' } }), 422,
                    'invalid_setting', 'a Spanish message without {{link}}');
    is($err && $err->{error}{message},
       'client_invitation_message [es] must contain {{link}}, where the invitation link goes.',
       'a Spanish message without {{link}}: the language and what {{link}} is for');
    # a name that is no setting is answered first, wherever it is in the body
    $res = put_settings('{"brand_color": "blue", "colour": "#ffffff", "practice_phone": "call us"}');
    $err = error_ok($res, 400, 'unknown_field', 'a bad value before an unknown setting');
    is($err && $err->{error}{field}, 'colour', 'a bad value before an unknown setting: 400 names the unknown one');
    ok($err && !exists $err->{errors}, 'unknown setting: no errors list');
    is_deeply(settings_rows(), $rows, 'a bad value before an unknown setting: nothing stored');

    $res = put_settings({ practice_name => 'Half Applied', colour => '#ffffff' });
    $err = error_ok($res, 400, 'unknown_field', 'unknown setting "colour"');
    is($err && $err->{error}{field}, 'colour', 'unknown setting: field names it');
    is_deeply(settings_rows(), $rows, 'unknown setting: nothing stored');
    for my $bogus (qw(token smtp_password PortalMailServer Practice_Name modules.messaging)) {
        error_ok(put_settings({ $bogus => 'x' }), 400, 'unknown_field', "unknown setting \"$bogus\"");
    }

    error_ok(put_settings({}), 400, 'invalid_body', 'PUT {}');
    $res = put_settings('[{"practice_name":"X"}]');
    ok($res->code == 400, 'PUT a JSON array: 400') or diag $res->as_string;
    $res = put_settings('{"practice_name":"A","practice_name":"B"}');
    ok($res->code == 400, 'PUT with a duplicate key: 400') or diag $res->as_string;
    $res = put_settings('{"practice_name":"A"');
    ok($res->code == 400, 'PUT broken JSON: 400') or diag $res->as_string;
    $res = staff(PUT => '/admin/settings', body => 'practice_name=X', content_type => 'application/x-www-form-urlencoded');
    error_ok($res, 415, 'unsupported_media_type', 'PUT a form body');
    $res = put_settings({ practice_name => 'x' x 270000 });
    error_ok($res, 413, 'body_too_large', 'PUT over PortalMaxBodySize 262144');
    is_deeply(settings_rows(), $rows, 'refused bodies: nothing stored');
    is_deeply(get_settings(), $before, 'refused bodies: settings unchanged');

    # modules: stored per key over the defaults
    $d = json_ok(put_settings({ modules => { statements => JSON::PP::false } }), 200, 'modules {statements:false}');
    is_deeply($d->{modules}, { %DEFAULT_MODULES, statements => JSON::PP::false },
              'modules: the others keep their defaults');
    neutral_settings();
}

# =====================================================================================
# audit: the names of the changed settings, never the template text
# =====================================================================================
{
    my $marker = 'TEMPLATE-TEXT-MARKER-7731';
    my $res = put_settings({
        client_invitation_subject => "$marker subject {{practice_name}}",
        client_invitation_message => "$marker message {{link}}",
        representative_invitation_message => "$marker rep {{link}}",
        practice_name => "$marker practice",
        invitation_ttl_hours => 72,
    });
    json_ok($res, 200, 'PUT templates for the audit check');
    my $rid = $res->header('X-Request-Id');
    ok($rid, 'PUT answer carries X-Request-Id') or diag $res->as_string;
    my $rows = audit_by_request($rid // '');
    is(scalar @$rows, 1, 'exactly one audit row for the PUT');
    my $a = $rows->[0] || {};
    is($a->{action}, 'settings.update', 'audit action settings.update');
    is($a->{username}, 'admin', 'audit username');
    is($a->{result}, 'ok', 'audit result ok');
    ok(!defined $a->{client_id} && !defined $a->{object_id}, 'audit: no client_id/object_id');
    my $detail = eval { JSON::PP->new->decode($a->{detail} // '') };
    is_deeply($detail && { %$detail, changed => [sort @{ $detail->{changed} || [] }] },
              { changed => [sort qw(client_invitation_subject client_invitation_message
                                    representative_invitation_message practice_name
                                    invitation_ttl_hours)] },
              'audit detail is {"changed":[names]}') or diag $a->{detail};
    unlike($a->{detail} // '', qr/MARKER|\{\{|link|72/, 'audit detail holds no template text or value');
    my $all = db()->selectcol_arrayref("SELECT detail FROM audit_log WHERE detail IS NOT NULL");
    ok(!(grep { /MARKER/ } @$all), 'no audit row anywhere holds the template text');

    # a reset is audited the same way
    $res = put_settings({ client_invitation_message => undef, practice_name => undef });
    json_ok($res, 200, 'PUT nulls');
    $rows = audit_by_request($res->header('X-Request-Id') // '');
    $detail = eval { JSON::PP->new->decode($rows->[0]{detail} // '') } || {};
    is_deeply([sort @{ $detail->{changed} || [] }], [qw(client_invitation_message practice_name)],
              'reset: audit names the reset settings');

    # refused PUTs are not recorded as settings changes
    $res = put_settings({ brand_color => 'nope' });
    is($res->code, 422, 'bad PUT for the audit check');
    $rows = audit_by_request($res->header('X-Request-Id') // '');
    ok(!(grep { $_->{action} eq 'settings.update' && $_->{result} eq 'ok' } @$rows),
       'a refused PUT writes no successful settings.update row');
    neutral_settings();
}

# =====================================================================================
# preview
# =====================================================================================
{
    error_ok(staff(POST => '/admin/settings/preview', json => {}), 422, 'invalid_kind', 'preview without kind');
    error_ok(staff(POST => '/admin/settings/preview', json => { kind => 'admin' }), 422, 'invalid_kind',
             'preview kind=admin');
    error_ok(staff(POST => '/admin/settings/preview', json => { kind => ['client'] }), 422, 'invalid_kind',
             'preview kind=[client]');
    error_ok(staff(POST => '/admin/settings/preview', json => { kind => 'client', to => 'x' }), 400,
             'unknown_field', 'preview with an unknown field');

    my $t0 = time;
    my $p = json_ok(staff(POST => '/admin/settings/preview', json => { kind => 'client' }), 200,
                    'preview client (defaults)');
    is_deeply([sort keys %{ $p || {} }], [qw(from html language subject text)],
              'preview: from, subject, text, html, language');
    is($p->{from}, $PortalTest::Env::MAIL_FROM, 'preview: the From line PortalMailFrom sets');
    is($p->{language}, 'en', 'preview: the default language');
    is($p->{subject}, 'Riverside Counseling: your invitation to the client portal', 'preview: default subject');
    like($p->{text}, qr/^Hello Alex,\n/, 'preview: sample recipient Alex');
    like($p->{text}, qr/^\Q$TEST_LINK\E$/m, 'preview: the link that does not work, on its own line');
    like($p->{html}, qr/href="\Q$TEST_LINK\E"/, 'preview html: the link');
    my @when = $p->{text} =~ $HUMAN_TIME;
    my $exp = @when ? human_to_epoch(@when) : 0;
    ok(abs($exp - ($t0 + 168 * 3600)) <= 120, 'preview: expiry = now + invitation_ttl_hours')
        or diag "preview says @when";
    unlike($p->{html}, qr/<img/, 'preview html: no image without a logo');

    my $r = json_ok(staff(POST => '/admin/settings/preview', json => { kind => 'representative' }), 200,
                    'preview representative (defaults)');
    is($r->{subject}, 'Riverside Counseling: you are invited to the client portal', 'preview rep: default subject');
    like($r->{text}, qr/as a representative/, 'preview rep: the representative message');

    # the settings show up in the preview: practice name (escaped in HTML), colour, ttl, templates
    json_ok(put_settings({ practice_name => 'Smith & <Jones> "Care"', brand_color => '#aa3300',
                           invitation_ttl_hours => 3,
                           client_invitation_subject => 'Hi {{recipient_first_name}} from {{practice_name}}',
                           client_invitation_message => "{{practice_name}} says: <b>open</b> {{link}} by {{expires_at}}" }),
            200, 'PUT settings for the preview');
    $t0 = time;
    $p = json_ok(staff(POST => '/admin/settings/preview', json => { kind => 'client' }), 200, 'preview after PUT');
    is($p->{from}, $PortalTest::Env::MAIL_FROM,
       'preview: PortalMailFrom\'s name stays after the practice is renamed (as the emails carry it)');
    is($p->{subject}, 'Hi Alex from Smith & <Jones> "Care"', 'preview: subject template rendered as text');
    like($p->{text}, qr/^Smith & <Jones> "Care" says: <b>open<\/b> \Q$TEST_LINK\E by /, 'preview text: raw');
    like($p->{html}, qr/Smith &amp; &lt;Jones&gt; &quot;Care&quot; says: &lt;b&gt;open&lt;\/b&gt;/,
         'preview html: template text and practice name escaped');
    unlike($p->{html}, qr/<b>open/, 'preview html: no markup from the template');
    like($p->{html}, qr/<a href="\Q$TEST_LINK\E" style="display:inline-block;[^"]*background-color:#aa3300;/,
         'preview html: the link is a button in the brand colour');
    @when = $p->{text} =~ $HUMAN_TIME;
    $exp = @when ? human_to_epoch(@when) : 0;
    ok(abs($exp - ($t0 + 3 * 3600)) <= 120, 'preview: expiry follows invitation_ttl_hours = 3')
        or diag "preview says @when";
    $r = json_ok(staff(POST => '/admin/settings/preview', json => { kind => 'representative' }), 200,
                 'preview rep after PUT');
    is($r->{subject}, 'Smith & <Jones> "Care": you are invited to the client portal',
       'preview rep: still its own (default) subject');
    neutral_settings();
}

# =====================================================================================
# the preview equals the email actually received (client and representative)
# =====================================================================================
my %CUSTOM = (
    practice_name => 'Riverside Counseling & Co.',
    brand_color   => '#0b6e4f',
    client_invitation_subject => 'Für {{recipient_first_name}} — {{practice_name}}: Zugang bis {{expires_at}}',
    client_invitation_message => join("\n",
        'Liebe/r {{recipient_first_name}},',
        '',
        '{{practice_name}} lädt Sie ein — Grüße & "Willkommen" <b>nicht fett</b> ✓',
        'A long line that certainly goes past the seventy-six columns quoted-printable allows, so it gets soft line breaks = and equals signs.',
        '.a line starting with a dot (SMTP dot-stuffing)',
        'From the start of a line, with trailing spaces   ',
        "\tTab-indented line",
        '',
        'Open: {{link}}',
        'or copy it: {{link}}',
        '',
        'Valid until {{expires_at}}.',
        '-- ',
        '{{practice_name}}',
        ''),
    representative_invitation_subject => '{{recipient_first_name}}, représentant(e) chez {{practice_name}}',
    representative_invitation_message => "Bonjour {{recipient_first_name}},\n\n{{link}}\n\nJusqu'au {{expires_at}} — merci.\n",
);

sub compare_preview_with_mail {
    my ($kind, $preview, $mail, $first_name, $label) = @_;
    my $parsed = parse_mail($mail);
    strict_ok($parsed, $label);
    my $link_re = qr/\Q$INVITATION_URL\E#t=[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])/;
    my $preview_link_re = qr/\Q$TEST_LINK\E/;

    my ($ms, $mn) = normalize($parsed->{subject} // '', link => $link_re, name => $first_name);
    my ($ps, $pn) = normalize($preview->{subject}, link => $preview_link_re, name => 'Alex');
    is($ms, $ps, "$label: subject equals the preview's");
    is_deeply($mn, $pn, "$label: subject: same placeholders replaced");

    my $text = text_part($parsed);
    ok($text, "$label: has a text/plain part") or return;
    is($text->{charset}, 'utf-8', "$label: text part is utf-8");
    my ($mt, $mtn) = normalize(text_nl($text->{text}), link => $link_re, name => $first_name);
    my ($pt, $ptn) = normalize($preview->{text}, link => $preview_link_re, name => 'Alex');
    ok($mtn->{link} >= 1 && $mtn->{expiry} >= 1 && $mtn->{name} >= 1,
       "$label: the email has the link, the expiry and the first name") or diag explain $mtn;
    is_deeply($mtn, $ptn, "$label: text: the same number of links, dates, names");
    # RFC 2046: the CRLF before a boundary belongs to the boundary; compared separately below
    (my $mt1 = $mt) =~ s/\n\z//;
    (my $pt1 = $pt) =~ s/\n\z//;
    is($mt1, $pt1, "$label: text part equals the preview's text (link, date, name aside)");
    is(substr($mt, -1), substr($pt, -1),
       "$label: text part keeps the template's final line break (MIME body ends with CRLF CRLF--boundary)")
        if $kind eq 'client';    # one assertion for the one composer bug

    my $html = html_part($parsed);
    ok($html, "$label: has a text/html part") or return;
    my ($mh) = normalize(text_nl($html->{text}), link => $link_re, name => $first_name);
    my ($ph) = normalize($preview->{html}, link => $preview_link_re, name => 'Alex');
    s/\n\z// for $mh, $ph;
    is($mh, $ph, "$label: html part equals the preview's html (link, date, name aside)");
    return $parsed;
}

{
    json_ok(put_settings(\%CUSTOM), 200, 'PUT custom templates');
    mail_clear();

    # client: Zoë (non-ASCII, so the subject needs encoded-words)
    my $c = add_client(9701, 'Zoë', 'Previewtest', 'zoe.preview.t7@example.test', 'clin1');
    my $preview = json_ok(staff(POST => '/admin/settings/preview', json => { kind => 'client' }), 200,
                          'preview client (custom)');
    my $inv = invite_client(9701, 'clin1');
    my ($mail) = wait_mail_to($c->{email}, 15);
    ok($mail, 'the client invitation arrived') or diag 'no mail for ' . $c->{email};
    if ($mail) {
        my $parsed = compare_preview_with_mail(client => $preview, $mail, 'Zoë', 'client email');
        # and its link is the real one
        my ($token) = text_nl(text_part($parsed)->{text}) =~ /#t=([A-Za-z0-9_-]{43})/;
        my $look = json_ok(recipient_post('/lookup', { token => $token }), 200, 'client email: its token works');
        is($look->{recipient_first_name}, 'Zoë', 'lookup: the first name');
        is($look->{practice_name}, $CUSTOM{practice_name}, 'lookup: the practice name from the settings');
        is($look->{brand_color}, $CUSTOM{brand_color}, 'lookup: the brand colour from the settings');
    }

    # representative: Rémy, for client 9702
    add_client(9702, 'Quinn', 'Reptest', 'quinn.reptest.t7@example.test');
    my $rpreview = json_ok(staff(POST => '/admin/settings/preview', json => { kind => 'representative' }), 200,
                           'preview representative (custom)');
    my $res = staff(POST => '/clients/9702/representatives', user => 'admin',
                    json => { email => 'remy.rep.t7@example.test', first_name => 'Rémy', last_name => 'Rep',
                              relationship => 'parent' });
    json_ok($res, 201, 'invite a representative');
    ($mail) = wait_mail_to('remy.rep.t7@example.test', 15);
    ok($mail, 'the representative invitation arrived');
    compare_preview_with_mail(representative => $rpreview, $mail, 'Rémy', 'representative email') if $mail;
    neutral_settings();
}

# =====================================================================================
# the expiry the email states is the one the server enforces
# =====================================================================================
for my $case ([9703, 1], [9704, 720], [9705, 5]) {
    my ($cid, $ttl) = @$case;
    json_ok(put_settings({ invitation_ttl_hours => $ttl }), 200, "invitation_ttl_hours = $ttl");
    my $c = add_client($cid, 'Ttl', "Case$ttl", "ttl$ttl.t7\@example.test", 'clin1');
    mail_clear();
    my $inv = invite_client($cid, 'clin1');
    my $row = db()->selectrow_hashref('SELECT * FROM invitations WHERE client_id = ?', undef, $cid);
    is($row->{expires_at} - $row->{created_at}, $ttl * 3600, "ttl $ttl: expires_at = created_at + ttl hours");
    is(iso_to_epoch($inv->{expires_at}), $row->{expires_at}, "ttl $ttl: the API's expires_at is the stored one");
    my ($mail) = wait_mail_to($c->{email}, 15);
    ok($mail, "ttl $ttl: the email arrived") or next;
    my $parsed = parse_mail($mail);
    my $text = text_nl((text_part($parsed) || {})->{text} // '');
    my ($sentence) = $text =~ /(The link works until [^.]*[AP]M)/;
    my @when = $text =~ /until $HUMAN_TIME/;
    ok(@when, "ttl $ttl: the email states the expiry as 'until Month D, YYYY at H:MM AM'") or diag $text;
    like($text, qr/until $HUMAN_TIME[ \x{a0}\x{202f}][A-Z][A-Za-z0-9+:-]*\./,
         "ttl $ttl: and names the time zone after the time (the server's own here)");
    is(@when ? human_to_epoch(@when) : undef, $row->{expires_at} - $row->{expires_at} % 60,
       "ttl $ttl: the email's expiry is the enforced expires_at (to the minute)") or diag $sentence;
    my ($token) = $text =~ /#t=([A-Za-z0-9_-]{43})/;
    my $look = json_ok(recipient_post('/lookup', { token => $token }), 200, "ttl $ttl: lookup");
    is(iso_to_epoch($look->{expires_at}), $row->{expires_at}, "ttl $ttl: lookup says the same expiry");
    if ($ttl == 5) {
        # the server enforces that moment: one second after it the link is expired
        db()->do('UPDATE invitations SET expires_at = ? WHERE id = ?', undef, time - 1, $row->{id});
        error_ok(recipient_post('/lookup', { token => $token }), 410, 'expired', 'ttl 5: after expires_at: 410 expired');
    }
}
neutral_settings();

# =====================================================================================
# test email: the real worker, "[Test] " subject, a link that cannot work
# =====================================================================================
{
    my $inv_count = db()->selectrow_array('SELECT count(*) FROM invitations');
    my $test_count = db()->selectrow_array("SELECT count(*) FROM outbox WHERE purpose <> 'invitation'");
    for my $bad (['not-an-email', 'invalid_email', 422], ["champ\@example.test\r\nBcc: x\@example.test", 'invalid_email', 422],
                 ['', 'invalid_email', 422], ['two@example.test, three@example.test', 'invalid_email', 422]) {
        my ($to, $code, $status) = @$bad;
        my $err = error_ok(staff(POST => '/admin/settings/test-email', json => { to => $to }), $status, $code,
                           'test-email to ' . short($to));
        is($err && $err->{error}{field}, 'to', 'test-email bad address: field "to"');
    }
    error_ok(staff(POST => '/admin/settings/test-email', json => {}), 422, 'invalid_email', 'test-email without to');
    error_ok(staff(POST => '/admin/settings/test-email', json => { to => 'a@example.test', kind => 'admin' }),
             422, 'invalid_kind', 'test-email kind=admin');
    error_ok(staff(POST => '/admin/settings/test-email', json => { to => 'a@example.test', cc => 'b@example.test' }),
             400, 'unknown_field', 'test-email with cc');
    is(db()->selectrow_array("SELECT count(*) FROM outbox WHERE purpose <> 'invitation'"), $test_count,
       'refused test emails: nothing queued');

    json_ok(put_settings({ client_invitation_subject => 'Welcome {{recipient_first_name}} to {{practice_name}}',
                           representative_invitation_subject => 'Rep welcome {{recipient_first_name}}' }),
            200, 'PUT subjects for the test emails');
    for my $kind (qw(client representative)) {
        my $to = "champion.$kind.t7\@example.test";
        mail_clear();
        my $preview = json_ok(staff(POST => '/admin/settings/preview', json => { kind => $kind }), 200,
                              "preview $kind for the test email");
        my $res = staff(POST => '/admin/settings/test-email', json => { to => $to, ($kind eq 'client' ? () : (kind => $kind)) });
        my $d = json_ok($res, 202, "test-email $kind");
        is_deeply([sort keys %{ $d || {} }], [qw(outbox_id status)], "test-email $kind: {outbox_id, status}");
        is($d->{status}, 'queued', "test-email $kind: status queued");
        like($d->{outbox_id} // '', qr/^\d+$/, "test-email $kind: outbox_id is a number");

        my ($mail) = wait_mail_to($to, 15);
        ok($mail, "test-email $kind: received at the catcher") or next;
        is_deeply($mail->{rcpt_tos}, [$to], "test-email $kind: envelope recipient is only 'to'");
        my $p = parse_mail($mail);
        strict_ok($p, "test-email $kind");
        my ($ps) = normalize($preview->{subject}, link => qr/\Q$TEST_LINK\E/, name => 'Alex');
        my ($ms) = normalize($p->{subject} // '', link => qr/\Q$TEST_LINK\E/, name => 'Alex');
        is($ms, "[Test] $ps", "test-email $kind: subject is \"[Test] \" + the preview's subject");
        my $text = text_nl((text_part($p) || {})->{text} // '');
        my ($mt) = normalize($text, link => qr/\Q$TEST_LINK\E/, name => 'Alex');
        my ($pt) = normalize($preview->{text}, link => qr/\Q$TEST_LINK\E/, name => 'Alex');
        s/\n\z// for $mt, $pt;
        is($mt, $pt, "test-email $kind: text is the preview's");
        my ($fragment) = $text =~ /\Q$INVITATION_URL\E#t=(\S+)/;
        is($fragment, 'TEST-EMAIL-THIS-LINK-DOES-NOT-WORK', "test-email $kind: the link's fragment");
        error_ok(recipient_post('/lookup', { token => $fragment // '' }), 404, 'invalid_token',
                 "test-email $kind: its link does not work (lookup)");
        error_ok(recipient_post('/decline', { token => $fragment // '' }), 404, 'invalid_token',
                 "test-email $kind: its link does not work (decline)");

        my $row = wait_outbox($d->{outbox_id}, sub { $_[0]{status} eq 'sent' }, 10);
        is($row && $row->{status}, 'sent', "test-email $kind: outbox row sent");
        my $ob = json_ok(staff(GET => '/admin/outbox'), 200, "GET /admin/outbox after test-email $kind");
        my ($e) = grep { $_->{id} == $d->{outbox_id} } @{ $ob->{entries} || [] };
        ok($e, "test-email $kind: in the outbox view") or next;
        is($e->{purpose}, "test_$kind", "test-email $kind: purpose test_$kind");
        is($e->{status}, 'sent', "test-email $kind: status sent");
        ok(!defined $e->{invitation_id} && !defined $e->{client_id}, "test-email $kind: no invitation, no client");
        is($e->{attempts}, 1, "test-email $kind: one attempt");
        ok(!defined $e->{last_error}, "test-email $kind: no error");
        ok(iso_to_epoch($e->{sent_at}), "test-email $kind: sent_at set");

        my $audit = audit_by_request($res->header('X-Request-Id') // '');
        is(scalar(grep { $_->{action} eq 'settings.test_email' && ($_->{object_id} // 0) == $d->{outbox_id} } @$audit), 1,
           "test-email $kind: audited as settings.test_email with the outbox id");
        my ($arow) = grep { $_->{action} eq 'settings.test_email' } @$audit;
        is($arow && $arow->{detail}, '{"to_domain":"example.test"}', "test-email $kind: the audit detail names the domain only");
    }

    # the largest settings still make a well-formed email: a 200-character non-ASCII subject
    # (encoded-words, folded) and a 5000-character message with a 4000-character line
    my $subject = ('é' x 182) . ' {{practice_name}}';
    is(length $subject, 200, 'limits: the subject is 200 characters');
    my $message = ('ü' x 4000) . "\n{{link}}\n" . ('=.' x ((5000 - 4000 - 10) / 2));
    $message .= 'x' x (5000 - length $message);
    is(length $message, 5000, 'limits: the message is 5000 characters');
    json_ok(put_settings({ client_invitation_subject => $subject, client_invitation_message => $message,
                           practice_name => 'P' x 200 }), 200, 'limits: PUT the largest subject and message');
    my $preview = json_ok(staff(POST => '/admin/settings/preview', json => { kind => 'client' }), 200, 'limits: preview');
    mail_clear();
    my $d = json_ok(staff(POST => '/admin/settings/test-email', json => { to => 'limits.t7@example.test' }), 202,
                    'limits: test-email');
    my ($mail) = wait_mail_to('limits.t7@example.test', 15);
    if (ok($mail, 'limits: the test email arrived')) {
        my $p = parse_mail($mail);
        strict_ok($p, 'limits');
        is($p->{subject}, "[Test] $preview->{subject}", 'limits: the long subject survives encoding and folding');
        (my $t = text_nl((text_part($p) || {})->{text} // '')) =~ s/\n\z//;
        (my $pt = $preview->{text}) =~ s/\n\z//;
        ok($t eq $pt, 'limits: the 5000-character message arrives unchanged')
            or diag 'lengths ' . length($t) . ' vs ' . length($pt);
    }
    neutral_settings();

    # other methods on the settings
    my $r = staff(DELETE => '/admin/settings');
    error_ok($r, 405, 'method_not_allowed', 'DELETE /admin/settings');
    my %allow = map { uc($_) => 1 } split /\s*,\s*/, ($r->header('Allow') // '');
    ok($allow{GET} && $allow{PUT} && !$allow{DELETE}, 'DELETE /admin/settings: Allow lists GET and PUT')
        or diag 'Allow: ' . ($r->header('Allow') // '');
    error_ok(staff(GET => '/admin/settings/preview'), 405, 'method_not_allowed', 'GET /admin/settings/preview');
    is(db()->selectrow_array('SELECT count(*) FROM invitations'), $inv_count, 'test emails create no invitation');
    db()->do("DELETE FROM outbox WHERE purpose <> 'invitation' AND to_address LIKE '%.t7\@example.test'");
    neutral_settings();
}

# =====================================================================================
# subjects never carry the link: refused in PUT, and not rendered even from a row
# written into the table by hand (Subject headers are logged by every relay)
# =====================================================================================
{
    neutral_settings();
    for my $name (qw(client_invitation_subject representative_invitation_subject)) {
        my $err = refused_ok(put_settings({ $name => 'Your invitation: {{link}}' }), 422, 'invalid_setting', $name,
                             "$name with {{link}}");
        like($err && $err->{error}{message} // '', qr/\{\{link\}\}.*only in the message/,
             "$name with {{link}}: the message says the link belongs in the message only");
        ok(!exists settings_rows()->{$name}, "$name with {{link}}: nothing stored");
    }
    my $dbh = db();
    $dbh->do("DELETE FROM settings WHERE name = 'client_invitation_subject'");
    $dbh->do("INSERT INTO settings (name, value) VALUES ('client_invitation_subject', ?)", undef,
             $JSON->encode('Open {{link}} now, {{recipient_first_name}}'));
    my $p = json_ok(staff(POST => '/admin/settings/preview', json => { kind => 'client' }), 200,
                    'hand-written subject with {{link}}: preview');
    is($p->{subject}, 'Open  now, Alex', 'hand-written subject: the preview subject lacks the link');
    like($p->{text}, qr/\Q$TEST_LINK\E/, 'hand-written subject: the link is still in the body');

    my $c = add_client(9708, 'Subject', 'Tester', 'subject.t7@example.test', 'clin1');
    mail_clear();
    invite_client(9708, 'clin1');
    my ($mail) = wait_mail_to($c->{email}, 15);
    if (ok($mail, 'hand-written subject: the invitation arrived')) {
        my $pm = parse_mail($mail);
        my ($token) = text_nl((text_part($pm) || {})->{text} // '') =~ /\Q$INVITATION_URL\E#t=(\S+)/;
        ok($token, 'hand-written subject: the token is in the body');
        like($pm->{subject} // '', qr/^Open +now, Subject$/, 'hand-written subject: the Subject header lacks the link');
        my ($head) = split /\r?\n\r?\n/, $mail->{raw} // '', 2;
        unlike($head // '', qr/#t=/, 'hand-written subject: no token anywhere in the headers');
        ok($token && index($head // '', $token) < 0, 'hand-written subject: the token is not in the headers');
    }
    neutral_settings();
}

# =====================================================================================
# test emails: at most 10 per champion per rolling hour, counted from the audit trail;
# the audit row keeps the address's domain only
# =====================================================================================
{
    my $dbh = db();
    $dbh->do("INSERT INTO staff (username, display_name, all_clients, active) VALUES ('champion2', 'Cam Champion', 1, 1)")
        unless $dbh->selectrow_array("SELECT count(*) FROM staff WHERE username = 'champion2'");
    # two sends 61 minutes ago: outside the window, they do not count
    $dbh->do("INSERT INTO audit_log (at, username, action, result) VALUES (?, 'champion2', 'settings.test_email', 'ok')",
             undef, time - 3660) for 1, 2;
    mail_clear();
    my $t0 = time;
    my @audit;
    for my $i (1 .. 10) {
        my $res = staff(POST => '/admin/settings/test-email', user => 'champion2',
                        json => { to => "Limit.Person$i\@Example.TEST" });
        json_ok($res, 202, "champion2: test email $i of 10");
        push @audit, @{ audit_by_request($res->header('X-Request-Id') // '') };
    }
    is(scalar(grep { $_->{action} eq 'settings.test_email' } @audit), 10, 'ten test emails: ten audit rows');
    is_deeply([map { eval { JSON::PP->new->decode($_->{detail} // '') } } @audit],
              [({ to_domain => 'example.test' }) x 10], 'the audit detail is the domain only, {"to_domain":...}')
        or diag explain [map { $_->{detail} } @audit];
    ok(!(grep { join(' ', map { $_ // '' } values %$_) =~ /limit|person|\@/i } @audit),
       'no part of the address but the domain is in the audit rows');

    my $res = staff(POST => '/admin/settings/test-email', user => 'champion2', json => { to => 'eleven.t7@example.test' });
    my $err = refused_ok($res, 429, 'test_email_limit', undef, 'champion2: the 11th test email within the hour');
    my $ra = $res->header('Retry-After') // '';
    like($ra, qr/^\d+$/, "11th: Retry-After in seconds ($ra)");
    like($err->{error}{message} // '', qr/You can send another in \d+ minutes?\.$/, '11th: the wait in words');
    unlike($err->{error}{message} // '', qr/\(s\)/, '11th: no "minute(s)"');
    ok($ra =~ /^\d+$/ && $ra >= 3600 - (time - $t0) - 5 && $ra <= 3600,
       '11th: Retry-After is when the oldest send of the hour leaves the window');
    is($dbh->selectrow_array("SELECT count(*) FROM outbox WHERE to_address = 'eleven.t7\@example.test'"), 0,
       '11th: nothing queued');
    ok(!(grep { $_->{action} eq 'settings.test_email' } @{ audit_by_request($res->header('X-Request-Id') // '') }),
       '11th: no settings.test_email row (it does not count itself)');
    error_ok(staff(POST => '/admin/settings/test-email', user => 'champion2', json => { to => 'twelve.t7@example.test' }),
             429, 'test_email_limit', 'champion2: still refused');

    # another champion has a quota of its own
    json_ok(staff(POST => '/admin/settings/test-email', json => { to => 'other.champion.t7@example.test' }), 202,
            'admin: not limited by champion2\'s sends');
    wait_mail_to('other.champion.t7@example.test', 15);
    my $got = () = grep { grep { /^limit\.person\d+\@example\.test$/i } @{ $_->{rcpt_tos} || [] } } mails();
    my $deadline = time + 15;
    while ($got < 10 && time < $deadline) {
        Time::HiRes::sleep(0.1);
        $got = () = grep { grep { /^limit\.person\d+\@example\.test$/i } @{ $_->{rcpt_tos} || [] } } mails();
    }
    is($got, 10, 'the ten allowed test emails were delivered');
    $dbh->do("DELETE FROM outbox WHERE purpose <> 'invitation' AND (to_address LIKE '%.t7\@example.test' "
           . "OR lower(to_address) LIKE 'limit.person%\@example.test')");
    $dbh->do("DELETE FROM staff WHERE username = 'champion2'");
}

# =====================================================================================
# test emails in parallel (issue 15): 30 at once from one champion queue exactly what is
# left of the hour's 10, the rest get the sequential 429. champion4 is this burst's own,
# so no earlier send of this file (or another) makes the count ambiguous.
# =====================================================================================
{
    my $dbh = db();
    my $BURST = 30;
    $dbh->do("INSERT INTO staff (username, display_name, all_clients, active) VALUES ('champion4', 'Flo Champion', 1, 1)")
        unless $dbh->selectrow_array("SELECT count(*) FROM staff WHERE username = 'champion4'");
    my $spent = $dbh->selectrow_array("SELECT count(*) FROM audit_log WHERE username = 'champion4' "
                                    . "AND action = 'settings.test_email' AND at > ?", undef, time - 3600);
    my $left = $spent >= 10 ? 0 : 10 - $spent;
    is($left, 10, 'burst: champion4 starts the hour with all 10 test emails');
    # another writer holds the outbox for a moment, so every request is in flight before
    # the first commits: a count read outside the sending transaction then always sees
    # room (PostgreSQL otherwise serialises most of the burst by chance)
    my $holder = hold_write_lock(1.5, 'outbox');
    my (%codes, @other);
    for my $line (run_concurrently($BURST, sub {
        my $i = shift;
        my $res = staff(POST => '/admin/settings/test-email', user => 'champion4',
                        json => { to => "burst.person$i.t7\@example.test" });
        my $body = decode_json_body($res);
        my $code = ref $body eq 'HASH' && ref $body->{error} eq 'HASH' ? $body->{error}{code} // '' : '';
        return join ',', $res->code, $code;
    })) {
        $codes{$line}++;
        push @other, $line unless $line eq '202,' || $line eq '429,test_email_limit';
    }
    waitpid $holder, 0;
    is($codes{'202,'} // 0, $left, "burst: $BURST parallel test emails, exactly $left accepted (202)")
        or diag explain \%codes;
    is($codes{'429,test_email_limit'} // 0, $BURST - $left,
       'burst: the others refused as a sequential 11th is (429 test_email_limit)');
    is_deeply(\@other, [], 'burst: no other answer (503, timeout)');
    my $burst_rows = "FROM outbox WHERE purpose LIKE 'test%' "
                   . "AND to_address LIKE 'burst.person%.t7\@example.test'";
    is($dbh->selectrow_array("SELECT count(*) $burst_rows"), $left, "burst: $left test_* outbox rows queued");
    is($dbh->selectrow_array("SELECT count(*) FROM audit_log WHERE username = 'champion4' "
                           . "AND action = 'settings.test_email' AND at > ?", undef, time - 3600), $spent + $left,
       'burst: the hour holds exactly 10 settings.test_email rows');
    # let the worker deliver before the rows go, as the sequential case does
    my $deadline = time + 20;
    Time::HiRes::sleep(0.1)
        while time < $deadline
              && $dbh->selectrow_array("SELECT count(*) $burst_rows AND status = 'queued'");
    $dbh->do("DELETE $burst_rows");
    $dbh->do("DELETE FROM staff WHERE username = 'champion4'");
}

# =====================================================================================
# the practice logo: an inline cid: image, multipart/related
# =====================================================================================
sub leaf_parts {
    my $n = shift;
    return $n->{parts} ? map { leaf_parts($_) } @{ $n->{parts} } : ($n);
}
{
    my $png = make_png(24, 12, seed => 99);
    json_ok(put_settings({ logo => 'data:image/png;base64,' . encode_base64($png, '') }), 200, 'PUT a PNG logo');
    my $preview = json_ok(staff(POST => '/admin/settings/preview', json => { kind => 'client' }), 200, 'preview with a logo');
    like($preview->{html}, qr/<img src="cid:practice-logo\@portal-manager"/, 'preview html: the logo as a cid: image');
    unlike($preview->{html}, qr/data:image/, 'preview html: no data: URL');

    my $c = add_client(9706, 'Logo', 'Tester', 'logo.t7@example.test', 'clin1');
    mail_clear();
    invite_client(9706, 'clin1');
    my ($mail) = wait_mail_to($c->{email}, 15);
    ok($mail, 'logo: the invitation arrived');
    if ($mail) {
        strict_ok(parse_mail($mail), 'logo email');
        my $m = mime_tree($mail);
        ok($m->{ok}, 'logo email: MIME tree parses strictly') or diag $m->{error};
        my $top = $m->{tree} || {};
        is($top->{content_type}, 'multipart/related', 'logo email: multipart/related');
        is($top->{params}{type}, 'multipart/alternative', 'logo email: related type="multipart/alternative"');
        my @kids = @{ $top->{parts} || [] };
        is(scalar @kids, 2, 'logo email: two parts (the alternative and the image)');
        is($kids[0]{content_type}, 'multipart/alternative', 'logo email: first the alternative');
        is_deeply([map { $_->{content_type} } @{ $kids[0]{parts} || [] }], ['text/plain', 'text/html'],
                  'logo email: text then HTML');
        my ($img) = grep { $_->{content_type} =~ m{^image/} } leaf_parts($top);
        is($img && $img->{content_type}, 'image/png', 'logo email: an image/png part');
        is($img && $img->{disposition}, 'inline', 'logo email: the image is inline');
        is($img && $img->{content_id}, '<practice-logo@portal-manager>', 'logo email: Content-ID');
        my ($html) = grep { $_->{content_type} eq 'text/html' } leaf_parts($top);
        my @cids = ($html->{text} // '') =~ /src="cid:([^"]+)"/g;
        is(scalar @cids, 1, 'logo email: the HTML shows one cid: image');
        is('<' . ($cids[0] // '') . '>', $img && $img->{content_id}, 'logo email: the cid: matches the Content-ID');
        unlike($html->{text} // '', qr/data:image/, 'logo email: no data: URL in the HTML');
        ok($img && decode_base64($img->{data_b64}) eq $png, 'logo email: the image bytes are the uploaded PNG');
        ok(!(grep { $_->{content_type} =~ m{^image/} && ($_->{content_id} // '') ne '<practice-logo@portal-manager>' }
                 leaf_parts($top)), 'logo email: no other image');
    }

    # a JPEG logo: an image/jpeg part with the uploaded bytes
    my $jpeg = make_jpeg(40, 20);
    json_ok(put_settings({ logo => 'data:image/jpeg;base64,' . encode_base64($jpeg, '') }), 200, 'PUT a JPEG logo');
    $c = add_client(9707, 'Jpeg', 'Tester', 'jpeg.t7@example.test', 'clin1');
    mail_clear();
    invite_client(9707, 'clin1');
    ($mail) = wait_mail_to($c->{email}, 15);
    if (ok($mail, 'JPEG logo: the invitation arrived')) {
        my $m = mime_tree($mail);
        my ($img) = grep { $_->{content_type} =~ m{^image/} } leaf_parts($m->{tree} || {});
        is($img && $img->{content_type}, 'image/jpeg', 'JPEG logo: an image/jpeg part');
        ok($img && decode_base64($img->{data_b64}) eq $jpeg, 'JPEG logo: the bytes are the uploaded JPEG');
        is($img && $img->{content_id}, '<practice-logo@portal-manager>', 'JPEG logo: Content-ID');
    }

    # SVG is refused (it can carry script), with a message that says what is accepted
    my $svg = qq{<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(1)</script>}
            . qq{<rect width="10" height="10" fill="#0b6e4f"/></svg>\n};
    my $svg_logo = 'data:image/svg+xml;base64,' . encode_base64($svg, '');
    my $err = refused_ok(put_settings({ logo => $svg_logo }), 422, 'invalid_setting', 'logo', 'PUT an SVG logo');
    like($err && $err->{error}{message} // '', qr/PNG or JPEG/, 'SVG logo: the message says PNG or JPEG');
    is(stored_value('logo'), 'data:image/jpeg;base64,' . encode_base64($jpeg, ''), 'SVG logo: the JPEG stays');

    # an SVG logo stored before this check (written into the table here) is ignored:
    # GET shows no logo, the preview and the emails carry no image
    db()->do("DELETE FROM settings WHERE name = 'logo'");
    db()->do("INSERT INTO settings (name, value) VALUES ('logo', ?)", undef, $JSON->encode($svg_logo));
    ok(!defined get_settings()->{logo}, 'stored SVG logo: GET /admin/settings shows no logo');
    my $spv = json_ok(staff(POST => '/admin/settings/preview', json => { kind => 'client' }), 200,
                     'stored SVG logo: preview');
    unlike($spv->{html}, qr/<img/, 'stored SVG logo: no image in the preview');
    mail_clear();
    json_ok(staff(POST => '/admin/settings/test-email', json => { to => 'svg.t7@example.test' }), 202, 'test-email with a stored SVG logo');
    ($mail) = wait_mail_to('svg.t7@example.test', 15);
    if (ok($mail, 'stored SVG logo: the test email arrived')) {
        my $m = mime_tree($mail);
        is($m->{tree}{content_type}, 'multipart/alternative', 'stored SVG logo: multipart/alternative, no related image');
        ok(!(grep { $_->{content_type} =~ m{^image/} } leaf_parts($m->{tree} || {})), 'stored SVG logo: no image part');
        unlike($mail->{raw} // '', qr/<script|svg\+xml/, 'stored SVG logo: no SVG anywhere in the message');
        my ($html) = grep { $_->{content_type} eq 'text/html' } leaf_parts($m->{tree} || {});
        unlike($html->{text} // '', qr/<img/, 'stored SVG logo: no <img> in the HTML');
    }

    # no logo: back to multipart/alternative
    json_ok(put_settings({ logo => undef }), 200, 'PUT logo null');
    mail_clear();
    json_ok(staff(POST => '/admin/settings/test-email', json => { to => 'nologo.t7@example.test' }), 202, 'test-email without a logo');
    ($mail) = wait_mail_to('nologo.t7@example.test', 15);
    if (ok($mail, 'no logo: the test email arrived')) {
        my $m = mime_tree($mail);
        is($m->{tree}{content_type}, 'multipart/alternative', 'no logo: multipart/alternative');
        ok(!(grep { $_->{content_type} =~ m{^image/} } leaf_parts($m->{tree})), 'no logo: no image part');
        my ($html) = grep { $_->{content_type} eq 'text/html' } leaf_parts($m->{tree});
        unlike($html->{text} // '', qr/<img/, 'no logo: no <img> in the HTML');
    }
    db()->do("DELETE FROM outbox WHERE purpose <> 'invitation' AND to_address LIKE '%.t7\@example.test'");

    # size and type limits (100 KB = 102400 bytes decoded)
    my $url = sub { 'data:image/png;base64,' . encode_base64($_[0], '') };
    for my $size (102399, 102400) {
        my $big = make_png(8, 8, size => $size);
        json_ok(put_settings({ logo => $url->($big) }), 200, "logo of $size bytes: accepted");
        my $got = get_settings()->{logo} // '';
        ok($got eq $url->($big), "logo of $size bytes: stored intact");
    }
    json_ok(put_settings({ logo => undef }), 200, 'logo reset');
    my $rows = settings_rows();
    for my $size (102401, 110000, 150000) {
        my $res = put_settings({ logo => $url->(make_png(8, 8, size => $size)) });
        refused_ok($res, 422, 'invalid_setting', 'logo', "logo of $size bytes (> 100 KB)");
        ok(!defined stored_value('logo'), "logo of $size bytes: nothing stored");
        db()->do("DELETE FROM settings WHERE name = 'logo'");   # keep the next case independent
    }
    my $gif = "GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00,"
            . "\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;";
    refused_ok(put_settings({ logo => 'data:image/gif;base64,' . encode_base64($gif, '') }), 422,
               'invalid_setting', 'logo', 'a GIF logo (data:image/gif)');
    my $res = put_settings({ logo => $url->(make_png(8, 8, size => 200000)) });
    ok($res->code == 413 || $res->code == 422, 'a 200 KB logo (body over 256 KB): 413 or 422')
        or diag $res->status_line;
    is_deeply(settings_rows(), $rows, 'refused logos: nothing stored');

    # the practice name is the image's alt text, escaped
    json_ok(put_settings({ logo => $url->(make_png(2, 2)), practice_name => 'Smith & "Care" <x>' }), 200,
            'logo + a practice name with markup');
    my $pv = json_ok(staff(POST => '/admin/settings/preview', json => { kind => 'client' }), 200, 'preview: logo alt');
    like($pv->{html}, qr/<img src="cid:practice-logo\@portal-manager" alt="Smith &amp; &quot;Care&quot; &lt;x&gt;"/,
         'preview html: the logo\'s alt text is the escaped practice name');
    neutral_settings();
}

# =====================================================================================
# a settings change reaches the next email, even while the worker is in the middle of a pass
# =====================================================================================
# The champion changes the subject and at once sends a test email: it must carry the new
# subject. The delivery worker reads the settings and then selects the due rows
# (pm_outbox.c claim_batch); a change committed between the two goes unseen by emails the
# second query picks up. On PostgreSQL the test holds that gap open: the due query joins
# `clients`, which the test locks, while the settings, the PUT and the test email never touch
# it. (Without the lock the gap is short, except on PostgreSQL with an empty settings table,
# where APR's pgsql driver sleeps 100 ms on the empty result: a fresh install.) SQLite has
# no table locks, so there the same steps run without holding the gap open.
{
    neutral_settings();
    json_ok(put_settings({ client_invitation_subject => 'Before the change' }), 200, 'mid-pass: subject "Before"');
    mail_clear();
    # (An earlier version held the gap open with LOCK TABLE clients on PostgreSQL; that
    # also blocks a new connection's PREPAREs, so the request itself timed out. The worker
    # now selects the due rows before it reads the settings, which closes the gap.)
    json_ok(put_settings({ client_invitation_subject => 'After the change' }), 200, 'mid-pass: subject "After"');
    my $r = staff(POST => '/admin/settings/test-email', json => { to => 'midpass.t7@example.test' }, timeout => 10);
    is($r->code, 202, 'mid-pass: test email queued') or diag $r->status_line;
    my ($m) = wait_mail_to('midpass.t7@example.test', 15);
    my $p = $m ? parse_mail($m) : {};
    is($p->{subject}, '[Test] After the change',
       'mid-pass: the test email queued after the change carries the new subject');
    db()->do("DELETE FROM outbox WHERE purpose <> 'invitation' AND to_address = 'midpass.t7\@example.test'");
}

# =====================================================================================
# GET ?include=definitions: the one settings table (src/core/pm_settings_def.c) the pages
# check with, and PUT accepts and refuses exactly what it says (driven from the answer)
# =====================================================================================
{
    reset_settings();
    my $plain = get_settings();
    ok(!exists $plain->{definitions}, 'plain GET: no definitions member');
    my $doc = json_ok(staff(GET => '/admin/settings?include=definitions'), 200,
                      'GET /admin/settings?include=definitions') || {};
    my $defs = delete $doc->{definitions};
    is(ref $defs, 'ARRAY', 'include=definitions: a definitions array') or $defs = [];
    is_deeply($doc, $plain, 'include=definitions: the settings document otherwise the same');
    is_deeply([sort map { $_->{name} } @$defs], [sort keys %$plain],
              'a definition for every setting, and no more');
    for my $d (@$defs) {
        is_deeply($d->{default}, $DEFAULTS->{ $d->{name} }, "$d->{name}: the definition's default is GET's");
        ok(JSON::PP::is_bool($d->{nullable}), "$d->{name}: nullable is true or false");
    }
    my %by = map { $_->{name} => $_ } @$defs;
    is($by{practice_name}{default_from}, 'PortalMailFrom', 'practice_name: default from PortalMailFrom');
    is($by{portal_url}{default_from}, 'PortalLoginURL', 'portal_url: default from PortalLoginURL');
    is_deeply([sort @{ $by{modules}{keys} || [] }], [sort keys %DEFAULT_MODULES], 'modules: the six keys');
    ok($by{practice_phone}{nullable} && !$by{practice_name}{nullable}, 'practice_phone nullable, practice_name not');
    ok($by{practice_phone}{type} eq 'phone' && $by{practice_phone}{max_length} == 40,
       'practice_phone: a phone number of at most 40 characters');
    ok($by{practice_address}{nullable} && $by{practice_address}{type} eq 'lines'
       && $by{practice_address}{max_length} == 300, 'practice_address: nullable lines of at most 300 characters');

    my @ranged = grep { $_->{type} eq 'integer' } @$defs;
    is_deeply([sort map { $_->{name} } @ranged],
              [sort qw(invitation_ttl_hours resend_cooldown_minutes max_sends_per_invitation
                       password_min_length max_emails_per_minute audit_retention_days
                       minor_review_days staff_notice_max_idle_days)],
              'the eight ranged settings are integers');
    for my $d (@ranged) {
        my ($n, $min, $max) = @$d{qw(name min max)};
        json_ok(put_settings({ $n => $max }), 200, "$n = max $max: accepted");
        is(stored_value($n), $max, "$n = max $max: stored");
        json_ok(put_settings({ $n => $min }), 200, "$n = min $min: accepted");
        my $e = error_ok(put_settings({ $n => $max + 1 }), 422, 'invalid_setting', "$n = max+1: refused");
        like($e && $e->{error}{message}, qr/from \Q$min\E to \Q$max\E/, "$n: the refusal names the same range");
        error_ok(put_settings({ $n => $min - 1 }), 422, 'invalid_setting', "$n = min-1: refused");
        json_ok(put_settings({ $n => undef }), 200, "$n: back to the default");
    }
    my @long = grep { defined $_->{max_length} } @$defs;
    is_deeply([sort map { $_->{name} } @long],
              [sort qw(practice_name practice_phone practice_address brand_color client_invitation_subject
                       client_invitation_message representative_invitation_subject
                       representative_invitation_message)], 'the settings with a longest length');
    for my $d (@long) {
        my ($n, $max) = @$d{qw(name max_length)};
        my ($fit, $over) = $d->{type} eq 'message' ? (('x' x ($max - 8)) . '{{link}}', ('x' x ($max - 7)) . '{{link}}')
                         : $d->{type} eq 'color'   ? ('#' . ('a' x ($max - 1)), '#' . ('a' x $max))
                         : $d->{type} eq 'phone'   ? ('5' x $max, '5' x ($max + 1))
                         :                           ('x' x $max, 'x' x ($max + 1));
        json_ok(put_settings({ $n => $fit }), 200, "$n: $max characters accepted");
        error_ok(put_settings({ $n => $over }), 422, 'invalid_setting', "$n: " . ($max + 1) . " characters refused");
        json_ok(put_settings({ $n => undef }), 200, "$n: back to the default");
    }
    is_deeply(settings_rows(), {}, 'definitions: settings back at their defaults');
}

cleanup_clients(@CLIENTS);
reset_settings();
is_deeply(settings_rows(), {}, 'settings left at their defaults');

done_testing();
