#!/usr/bin/perl
# t/mta/run.pl — mail that a real relay accepts; prints TAP (t/mta/run.sh installs what it
# needs first). A private Postfix instance (its own config and queue directories in a temp
# dir, listening on a loopback high port, STARTTLS with a certificate from a throwaway CA,
# delivering every address of example.test into one Maildir) and a real httpd with the
# module (PortalTest::Standalone, SQLite) that sends to it with PortalMailTLS required:
#   - PortalMailCAFile naming the throwaway CA: an invitation is delivered, without and then
#     with a logo; each delivered message scores below 1.0 with `spamassassin -t -L` (the
#     rules that fire are printed as diagnostics) and Python's email parser
#     (policy.default) finds no defect in any part;
#   - PortalMailCAFile naming another CA: nothing is delivered, the email stays queued and
#     staff read a delivery_error naming the mail configuration and the certificate.
# Leaves nothing running: Postfix and httpd are stopped at the end, also on failure.
#   perl t/mta/run.pl          (root; PM_MTA_KEEP=1 keeps the temp dir)
use strict;
use warnings;
use utf8;

use FindBin ();
use lib "$FindBin::Bin/../lib";

use File::Temp ();
use IO::Socket::INET ();
use JSON::PP ();
use MIME::Base64 qw(encode_base64);
use POSIX ();
use Test::More;
use Time::HiRes qw(sleep time);
use PortalTest::Env ();
use PortalTest::Admin ();
use PortalTest::LogCheck ();
use PortalTest::Standalone;

binmode Test::More->builder->$_, ':encoding(UTF-8)' for qw(output failure_output todo_output);

# the wrong CA is provoked on purpose: the queue is held (one line)
PortalTest::LogCheck::expect_log_ids(qw(PM00311));
PortalTest::LogCheck::hook_done_testing();

my $SCORE_MAX = 1.0;
my $top = PortalTest::Env::top_dir();
my $T = File::Temp->newdir('pm-mta-XXXXXX', TMPDIR => 1, CLEANUP => !$ENV{PM_MTA_KEEP});
chmod 0755, "$T";
diag("kept $T") if $ENV{PM_MTA_KEEP};
my ($pf_conf, $maildir) = ("$T/postfix/etc", "$T/mail/inbox");
my ($postfix_up, $sa);

# --- the machine is left as found ----------------------------------------------------------
sub stop_postfix {
    return unless $postfix_up;
    $postfix_up = 0;
    system("postfix -c $pf_conf stop >/dev/null 2>&1");
    my $pid = master_pid();
    for (1 .. 100) { last unless $pid && kill 0, $pid; sleep 0.1 }
    if ($pid && kill 0, $pid) {
        system("postfix -c $pf_conf abort >/dev/null 2>&1");
        kill 'KILL', $pid;
    }
}
sub master_pid {
    open my $fh, '<', "$T/postfix/spool/pid/master.pid" or return undef;
    my $pid = <$fh> // '';
    return $pid =~ /(\d+)/ ? $1 : undef;
}
sub cleanup { $sa->stop if $sa; undef $sa; stop_postfix() }
END { local $?; cleanup() }
$SIG{INT} = $SIG{TERM} = sub { cleanup(); POSIX::_exit(1) };

if ($> != 0) {
    plan skip_all => 'needs root (a private Postfix instance)';
}
if ($> == 0) {   # httpd's children run as the unprivileged test user (Standalone)
    my $u = $ENV{PM_TEST_USER} ||= 'pmtest';
    unless (defined getpwnam $u) {
        system('useradd', '--system', '--user-group', '--no-create-home', '--home-dir',
               '/nonexistent', '--shell', '/usr/sbin/nologin', $u) == 0 or BAIL_OUT("useradd $u");
    }
}

sub run_ok {
    my ($what, $cmd) = @_;
    my $out = qx{$cmd 2>&1};
    ok($? == 0, $what) or diag($out);
    return $out;
}

# --- a throwaway CA, the relay's certificate (127.0.0.1, localhost), another CA ----------------
my $pki = "$T/pki";
mkdir $pki;
run_ok('openssl: the CA', "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=pm-mta-ca "
       . "-keyout $pki/ca.key -out $pki/ca.crt");
run_ok('openssl: the relay key and request', "openssl req -newkey rsa:2048 -nodes -subj /CN=localhost "
       . "-keyout $pki/mx.key -out $pki/mx.csr");
PortalTest::Env::spew("$pki/mx.ext", "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
run_ok('openssl: the relay certificate', "openssl x509 -req -days 1 -CAcreateserial -in $pki/mx.csr "
       . "-CA $pki/ca.crt -CAkey $pki/ca.key -extfile $pki/mx.ext -out $pki/mx.crt");
run_ok('openssl: another CA', "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=pm-other-ca "
       . "-keyout $pki/other.key -out $pki/other.crt");
chmod 0644, glob("$pki/*.crt");
chmod 0600, glob("$pki/*.key");

# --- a private Postfix --------------------------------------------------------------------------
my $mx_port = PortalTest::Env::free_port();
sub write_postfix_conf {
    my ($uid, $gid) = (getpwnam 'postfix')[2, 3];
    defined $uid or BAIL_OUT('no postfix user: is postfix installed?');
    mkdir $_ for "$T/postfix", $pf_conf, "$T/postfix/spool", "$T/postfix/data", "$T/mail";
    chown $uid, $gid, "$T/postfix/data", "$T/mail";
    PortalTest::Env::spew("$pf_conf/main.cf", <<"EOF");
# a private instance for t/mta/run.pl: loopback only, delivers example.test into one Maildir
compatibility_level = 3.6
queue_directory = $T/postfix/spool
data_directory = $T/postfix/data
maillog_file = $T/postfix/maillog
maillog_file_prefixes = $T
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.mta.test
mydomain = mta.test
myorigin = mta.test
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relayhost =
alias_maps =
alias_database =
local_recipient_maps =
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
virtual_mailbox_domains = example.test
virtual_mailbox_base = $T/mail
virtual_mailbox_maps = static:inbox/
virtual_uid_maps = static:$uid
virtual_gid_maps = static:$gid
virtual_minimum_uid = 1
smtpd_tls_security_level = may
smtpd_tls_cert_file = $pki/mx.crt
smtpd_tls_key_file = $pki/mx.key
smtpd_tls_loglevel = 1
smtputf8_enable = no
biff = no
EOF
    PortalTest::Env::spew("$pf_conf/master.cf", <<"EOF");
127.0.0.1:$mx_port inet n - n - - smtpd
pickup    unix  n - n 60 1 pickup
cleanup   unix  n - n - 0 cleanup
qmgr      unix  n - n 300 1 qmgr
rewrite   unix  - - n - - trivial-rewrite
bounce    unix  - - n - 0 bounce
defer     unix  - - n - 0 bounce
trace     unix  - - n - 0 bounce
verify    unix  - - n - 1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n - - proxymap
smtp      unix  - - n - - smtp
relay     unix  - - n - - smtp
showq     unix  n - n - - showq
error     unix  - - n - - error
retry     unix  - - n - - error
discard   unix  - - n - - discard
virtual   unix  - n n - - virtual
anvil     unix  - - n - 1 anvil
scache    unix  - - n - 1 scache
tlsmgr    unix  - - n 1000? 1 tlsmgr
postlog   unix-dgram n - n - 1 postlogd
EOF
}
write_postfix_conf();
# through script(1): postfix prints its fatal errors only to a terminal (no syslog here)
my $started = qx{script -qec 'postfix -c $pf_conf start' /dev/null 2>&1};
$postfix_up = ($? == 0);
my $listening = $postfix_up && eval {
    my $up;
    for (1 .. 100) {
        my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$mx_port", Timeout => 1);
        if ($s) { $up = 1; close $s; last }
        sleep 0.1;
    }
    $up;
};
ok($listening, "a private Postfix listens on 127.0.0.1:$mx_port") or do {
    diag($started);
    diag(eval { PortalTest::Env::slurp("$T/postfix/maillog") } // '');
    BAIL_OUT('Postfix did not start');
};

# --- the module, sending to it --------------------------------------------------------------------
$sa = PortalTest::Standalone->new(name => 'mta', dir => "$T/httpd", driver => 'sqlite3',
    smtp_port => $mx_port, no_catcher => 1,
    portal => { PortalMailTLS => 'required', PortalMailCAFile => "$pki/ca.crt",
                PortalMailHelo => 'portal.example.test' });
ok(eval { $sa->start; 1 }, 'httpd with the module started') or BAIL_OUT($@);

sub delivered { opendir(my $d, "$maildir/new") or return (); return sort grep { !/^\./ } readdir $d }

sub put_settings {
    my ($what, %s) = @_;
    my $res = $sa->staff(PUT => '/admin/settings', json => \%s);
    is($res->code, 200, "settings: $what") or diag($res->decoded_content);
}

sub invite {
    my ($cid) = @_;
    my $res = $sa->staff(POST => "/clients/$cid/invitations");
    is($res->code, 201, "invite client $cid: 201") or diag($res->decoded_content);
}

# the new message's file, once Postfix has put it in the Maildir
sub wait_delivery {
    my ($before) = @_;
    my $deadline = time + 30;
    while (time < $deadline) {
        my @f = delivered();
        return "$maildir/new/$f[-1]" if @f > $before;
        sleep 0.1;
    }
    return undef;
}

# spamassassin -t -L: the score and the rules that fired
sub spam_report {
    my ($file) = @_;
    mkdir "$T/sa-home";
    my $out = qx{HOME=$T/sa-home spamassassin -t -L < $file 2>&1};
    my ($score) = $out =~ /^X-Spam-Status: \w+, score=(-?[\d.]+)/m;
    my @rules = $out =~ /^\s*(-?\d+\.\d+ [A-Z][A-Z0-9_]+ .*)$/mg;
    return ($score, \@rules, $out);
}

# Python's email package with policy.default: every defect of every part
my $DEFECTS_PY = <<'PY';
import sys
from email import message_from_bytes, policy
msg = message_from_bytes(open(sys.argv[1], "rb").read(), policy=policy.default)
found = []
for part in msg.walk():
    found += ["%s: %s" % (part.get_content_type(), d) for d in part.defects]
    for name, value in part.items():
        found += ["%s header: %s" % (name, d) for d in getattr(value, "defects", ())]
    if not part.is_multipart():
        part.get_content()
print("\n".join(found) if found else "no defects")
PY

sub check_message {
    my ($label, $file) = @_;
    ok($file, "$label: delivered into the Maildir through Postfix") or return;
    my $raw = PortalTest::Env::slurp($file);
    like($raw, qr/^Received: from .*\n\s+by mx\.mta\.test \(Postfix\) with ESMTPS/m,
         "$label: Postfix received it over TLS");
    my ($score, $rules, $out) = spam_report($file);
    my ($analysis) = $out =~ /(Content analysis details:.*?)(?:\n\n|\z)/s;
    ok(defined $score && $score < $SCORE_MAX, "$label: spamassassin -t -L score "
       . ($score // '?') . " < $SCORE_MAX") or diag($analysis // $out);
    diag("$label: spamassassin score $score; rules that fire:") if defined $score;
    diag("  $_") for @$rules;
    # ALL_TRUSTED (-1.0) only says this test's path was all loopback: a recipient's
    # filter behind a real relay does not give that credit, so the score without it
    # must pass too
    my ($trusted) = map { /^(-?[\d.]+) ALL_TRUSTED / ? $1 : () } @$rules;
    ok(defined $score && $score - ($trusted // 0) < $SCORE_MAX,
       "$label: below $SCORE_MAX without ALL_TRUSTED's credit too ("
       . (defined $score ? $score - ($trusted // 0) : '?') . ')');
    my $defects = qx{$PortalTest::Env::PYTHON -c '$DEFECTS_PY' $file 2>&1};
    chomp $defects;
    is($defects, 'no defects', "$label: Python's email parser (policy.default) finds no defect");
    return $raw;
}

put_settings('practice name, phone and address', practice_name => 'Riverside Counseling',
    practice_phone => '(555) 010-4477', practice_address => "12 Main Street, Suite 4\nSpringfield, IL 62701",
    brand_color => '#1a5fb4');

# --- the right CA: delivered, without and with a logo -----------------------------------------
invite(1);
my $plain = check_message('no logo', wait_delivery(0));
like($plain // '', qr/^Content-Type: multipart\/alternative/m, 'no logo: multipart/alternative');

my $logo = 'data:image/png;base64,' . encode_base64(PortalTest::Admin::make_png(180, 60), '');
put_settings('a logo', logo => $logo);
invite(3);
my $with_logo = check_message('with a logo', wait_delivery(1));
like($with_logo // '', qr/^Content-Type: multipart\/related/m, 'with a logo: multipart/related');
like($with_logo // '', qr/^Content-ID: <practice-logo\@portal-manager>/m, 'with a logo: the inline image');

# --- another CA: held, and staff read why ---------------------------------------------------------
$sa->{portal}{PortalMailCAFile} = "$pki/other.crt";
$sa->_write_conf;
$sa->graceful;
sleep 1;                                  # the old generation's worker is gone
my $count = delivered();
my $res = $sa->staff(POST => '/clients/6/invitations');
is($res->code, 201, 'wrong CA: invite client 6: 201');
my $iid = eval { JSON::PP->new->decode($res->decoded_content)->{id} };
my $dbh = $sa->db;
my $row;
for (1 .. 200) {
    $row = $dbh->selectrow_hashref('SELECT * FROM outbox WHERE invitation_id = ? ORDER BY id DESC',
                                   undef, $iid);
    last if $row && defined $row->{last_error};
    sleep 0.1;
}
is($row && $row->{status}, 'queued', 'wrong CA: the email stays queued (held, not failed)');
my $view = eval { JSON::PP->new->decode($sa->staff(GET => '/clients/6')->decoded_content) } || {};
my ($inv) = grep { defined $iid && $_->{id} == $iid } @{ $view->{invitations} || [] };
is($inv && $inv->{delivery}, 'queued', 'wrong CA: staff see the invitation queued');
like($inv && $inv->{delivery_error} // '', qr/^not sent: mail configuration error: .*certificate/i,
     'wrong CA: staff read a delivery_error naming the mail configuration and the certificate')
    or diag explain $inv;
diag('wrong CA: delivery_error: ' . ($inv && $inv->{delivery_error} // 'none'));
is(scalar(delivered()), $count, 'wrong CA: nothing delivered');

cleanup();
ok(!master_pid() || !kill(0, master_pid()), 'Postfix stopped');
done_testing();
