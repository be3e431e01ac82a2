# t/mail_polish.t — the invitation email as a new user reads it, checked on delivered
# messages (t/smtp/catcher.py, parsed with Python's email package):
#   - the HTML part's link is a button: an <a> styled inline (no class needed) in the brand
#     colour, its text colour chosen for contrast, the raw link under it; the plain-text
#     part keeps the raw link and no markup;
#   - a footer with the practice's name, phone and address (practice_address keeps its
#     line breaks) in both parts, and none of it when unset beyond the name;
#   - From: PortalMailFrom's display name wins when it names one (the main test server's
#     "Riverside Counseling <...>"); with a bare address (a standalone server) the display
#     name is the practice_name setting, encoded, and follows a rename.
use strict;
use warnings;
use utf8;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use Test::More;
use PortalTest;
use PortalTest::Env ();
use PortalTest::Delivery;
use PortalTest::Standalone;

binmode Test::More->builder->$_, ':encoding(UTF-8)' for qw(output failure_output todo_output);

clear_settings();
mail_replies();
my $URL = invitation_url();

sub part_text {
    my ($parsed, $type) = @_;
    my ($p) = grep { $_->{content_type} eq $type } @{ $parsed->{parts} || [] };
    return $p ? ($p->{text} // '') =~ s/\r\n/\n/gr : '';
}

# the newest message to ADDR on the main server, parsed
sub mail_to {
    my ($addr, $n) = @_;
    my $got = wait_until(sub {
        my @m = grep { grep { lc($_) eq lc $addr } @{ $_->{rcpt_tos} || [] } } mails();
        @m >= $n ? $m[-1] : undef;
    }, 15);
    return $got ? parse_mail($got) : undef;
}

my $ADDRESS = "12 Main Street, Suite 4\r\nSpringfield, IL 62701";
json_ok(staff(PUT => '/admin/settings', json => {
    practice_name => 'Lakeside & Sons Therapy', practice_phone => '(555) 010-4477',
    practice_address => $ADDRESS, brand_color => '#aa3300' }), 200, 'settings: name, phone, address, colour');

# --- the button, the raw link, the footer -------------------------------------------------------
my $cid = new_client(first => 'Polly', email => 'polly.polish@example.test', staff => ['clin1']);
is(staff(POST => "/clients/$cid/invitations")->code, 201, 'invite 201');
my $m = mail_to('polly.polish@example.test', 1);
ok($m && $m->{ok}, 'delivered and well-formed') or diag explain $m;
my $text = part_text($m, 'text/plain');
my $html = part_text($m, 'text/html');
my ($link) = $text =~ m{^(\Q$URL\E#t=[A-Za-z0-9_-]+)$}m;
ok($link, 'text: the raw link on a line of its own') or diag $text;
unlike($text, qr/<a\b|Open the invitation/, 'text: no markup, no button label');
like($html, qr{<a href="\Q$link\E" style="display:inline-block;[^"]*background-color:#aa3300;[^"]*border-radius:4px;color:#ffffff;[^"]*text-decoration:none">Open the invitation</a>},
     'html: the link is a button-style <a> in the brand colour, white text, styled inline');
like($html, qr{copy this link into your web browser:<br>\s*<a href="\Q$link\E"[^>]*>\Q$link\E</a>},
     'html: the raw link under the button');
unlike($html, qr{>\Q$link\E</a>\s*</p>\s*<p>The link works}, 'html: the URL is not the only link text');
like($text, qr/\n-- \nLakeside & Sons Therapy\nPhone: \(555\) 010-4477\n12 Main Street, Suite 4\nSpringfield, IL 62701\n/,
     'text footer: name, phone, address lines') or diag $text;
like($text, qr/\n\nYou received this email because Lakeside & Sons Therapy invited you/,
     'text footer: why the email came');
like($html, qr{Lakeside &amp; Sons Therapy<br>\s*Phone: \(555\) 010-4477<br>\s*12 Main Street, Suite 4<br>\s*Springfield, IL 62701</p>},
     'html footer: name, phone, address lines (escaped)') or diag $html;
like($m->{from} // '', qr/^Riverside Counseling <no-reply\@example\.test>$/,
     'From: PortalMailFrom names "Riverside Counseling": it wins over practice_name');

# light brand colour: dark button text
json_ok(staff(PUT => '/admin/settings', json => { brand_color => '#ffdd55', practice_phone => undef,
                                                  practice_address => undef }), 200, 'light colour, no phone or address');
my $cid2 = new_client(first => 'Lena', email => 'lena.light@example.test', staff => ['clin1']);
is(staff(POST => "/clients/$cid2/invitations")->code, 201, 'invite 201');
$m = mail_to('lena.light@example.test', 1);
$html = part_text($m, 'text/html');
$text = part_text($m, 'text/plain');
like($html, qr{background-color:#ffdd55;[^"]*color:#000000;}, 'html: dark text on a light brand colour');
like($text, qr/\n-- \nLakeside & Sons Therapy\n\nYou received/, 'text footer: the name alone without phone or address');
unlike($text . $html, qr/Phone:/, 'no phone line when none is set');
clear_settings();

# --- From follows practice_name when PortalMailFrom names no one -------------------------------
{
    my $sa = PortalTest::Standalone->new(name => 'from',
        portal => { PortalMailFrom => 'no-reply@example.test' });
    if (ok(eval { $sa->start; 1 }, 'standalone server (PortalMailFrom without a name) started') || diag $@) {
        my $from_of = sub {
            my ($n) = @_;
            my $got = wait_until(sub { my @x = $sa->mails; @x >= $n ? $x[-1] : undef }, 15);
            my $p = $got && parse_mail($got);
            return $p ? $p->{from} // '' : '';
        };
        is($sa->staff(PUT => '/admin/settings', json => { practice_name => "Zoë's Counseling, LLC" })->code,
           200, 'practice_name set');
        is($sa->staff(POST => '/clients/1/invitations')->code, 201, 'invite 201');
        like($from_of->(1), qr/^"?Zoë's Counseling, LLC"? <no-reply\@example\.test>$/,
             'From: the practice_name, encoded (non-ASCII, a comma)');
        my ($raw) = map { $_->{raw} } ($sa->mails)[-1];
        like($raw // '', qr/^From: =\?UTF-8\?B\?[^\r\n]+<no-reply\@example\.test>\r$/m,
             'From: an encoded-word on the wire');
        is($sa->staff(PUT => '/admin/settings', json => { practice_name => 'Lakeside Therapy' })->code,
           200, 'practice renamed');
        is($sa->staff(POST => '/clients/3/invitations')->code, 201, 'invite 201');
        is($from_of->(2), 'Lakeside Therapy <no-reply@example.test>', 'From: the rename shows at once');
        $sa->stop;
    }
}

done_testing();
