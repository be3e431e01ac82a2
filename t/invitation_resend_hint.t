# t/invitation_resend_hint.t — what the staff page shows before anyone presses a button:
# an invitation's resend_available_at (when the resend cooldown, resend_cooldown_minutes,
# after its latest email ends; null once it has, and for an invitation that is not
# pending), in the 201 of the invite, the client view and the resend's answer; and the
# client's audit trail (GET /clients/{id}/audit) naming each colleague by display_name.
# Fresh clients (PortalTest::Delivery::new_client), so the file can run after the others.
use strict;
use warnings;
use utf8;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use Test::More;
use PortalTest;
use PortalTest::Delivery;

clear_settings('resend_cooldown_minutes');

sub epoch_of {
    my $s = shift // return undef;
    my ($y, $m, $d, $H, $M, $S) = $s =~ /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)Z$/ or return undef;
    local $ENV{TZ} = 'UTC';
    require POSIX;
    POSIX::tzset();
    return POSIX::mktime($S, $M, $H, $d, $m - 1, $y - 1900);
}

sub view_invitation {
    my ($cid) = @_;
    my $v = json_ok(staff(GET => "/clients/$cid", user => 'clin1'), 200, "view of client $cid");
    return ($v && $v->{invitations} || [])->[0];
}

# --- the default cooldown (10 minutes) after the invitation's email --------------------------
my $cid = new_client(first => 'Wren', email => 'wren.wait@example.test', staff => ['clin1']);
my $t0 = time;
my $inv = json_ok(staff(POST => "/clients/$cid/invitations", user => 'clin1'), 201, 'invite');
my $iid = $inv && $inv->{id};
ok(exists $inv->{resend_available_at}, 'invite: resend_available_at is there');
my $at = epoch_of($inv->{resend_available_at});
ok(defined $at && $at >= $t0 + 600 - 2 && $at <= time + 600 + 2,
   'invite: resend_available_at is the email\'s queue time + 10 minutes')
    or diag explain $inv->{resend_available_at};

my $vinv = view_invitation($cid);
is($vinv && $vinv->{resend_available_at}, $inv->{resend_available_at},
   'client view: the same resend_available_at');

# a resend before it is refused, and says the same wait
my $res = staff(POST => "/invitations/$iid/resend", user => 'clin1');
error_ok($res, 429, 'resend_too_soon', 'resend before resend_available_at');
my $ra = $res->header('Retry-After') // '';
ok($ra =~ /^\d+$/ && abs(time + $ra - $at) <= 2, "Retry-After ends at resend_available_at ($ra)");

# --- the setting moves it ---------------------------------------------------------------------
set_setting(resend_cooldown_minutes => 1);
$vinv = view_invitation($cid);
$at = epoch_of($vinv && $vinv->{resend_available_at});
ok(defined $at && $at <= time + 60 + 2 && $at >= time + 60 - 10,
   'resend_cooldown_minutes 1: a minute after the email') or diag explain $vinv;

# --- once the cooldown is over: null, and a resend goes -----------------------------------------
backdate_outbox($iid, 120);
$vinv = view_invitation($cid);
ok($vinv && exists $vinv->{resend_available_at} && !defined $vinv->{resend_available_at},
   'cooldown over: resend_available_at null') or diag explain $vinv;
my $again = json_ok(staff(POST => "/invitations/$iid/resend", user => 'clin1'), 200, 'resend after the cooldown');
$at = epoch_of($again && $again->{resend_available_at});
ok(defined $at && $at >= time + 60 - 10 && $at <= time + 60 + 2,
   'resend: its answer says when the next resend is possible') or diag explain $again;

set_setting(resend_cooldown_minutes => 0);
$vinv = view_invitation($cid);
ok($vinv && !defined $vinv->{resend_available_at}, 'resend_cooldown_minutes 0: null');
clear_settings('resend_cooldown_minutes');

# --- not pending: null ---------------------------------------------------------------------
json_ok(staff(POST => "/invitations/$iid/revoke", user => 'clin1'), 200, 'revoke');
$vinv = view_invitation($cid);
is($vinv && $vinv->{status}, 'revoked', 'revoked');
ok($vinv && exists $vinv->{resend_available_at} && !defined $vinv->{resend_available_at},
   'revoked: resend_available_at null');

# --- the client's audit trail names colleagues as the page does ------------------------------
my $trail = json_ok(staff(GET => "/clients/$cid/audit", user => 'clin1'), 200, 'client audit trail');
my @entries = @{ $trail && $trail->{entries} || [] };
ok(@entries >= 3, 'trail: entries') or diag explain $trail;
is(scalar(grep { !exists $_->{display_name} } @entries), 0, 'trail: every entry has display_name');
my ($made) = grep { $_->{action} eq 'invitation.create' } @entries;
is($made && $made->{username}, 'clin1', 'trail: the invite by clin1');
is($made && $made->{display_name}, 'Casey Clinician', 'trail: display_name is the colleague\'s');

done_testing();
