# t/mail_tls.t — mail to a relay that speaks STARTTLS with a private CA (a throwaway CA made
# here with openssl; the SMTP catcher presents a certificate it signed), each case on its
# own throwaway httpd + database + catcher (t/lib/PortalTest/Standalone.pm):
#   - PortalMailCAFile naming another CA: a configuration error, not a transient one. The
#     emails stay queued with the certificate error for staff to read, their attempts given
#     back, one log line, the status section, the metrics and the health check say so, and
#     nothing is retried until a graceful restart with the right CA delivers them;
#   - the right CA: delivered over TLS, EHLO names ServerName, To: has the first name;
#   - PortalMailTLS required against a relay without STARTTLS: the same hold.
use strict;
use warnings;
use utf8;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use Test::More;
use Time::HiRes qw(sleep);
use PortalTest qw(decode_json_body parse_mail expect_log_ids);
use PortalTest::Env ();
use PortalTest::Delivery qw(wait_until smtp_commands);
use PortalTest::Standalone;

# provoked on purpose: the wrong CA, a relay without STARTTLS
expect_log_ids(qw(PM00311));

binmode Test::More->builder->$_, ':encoding(UTF-8)' for qw(output failure_output todo_output);

sub openssl {
    my ($what, @args) = @_;
    my $out = qx{openssl @args 2>&1};
    ok($? == 0, "openssl: $what") or diag $out;
}

# a CA, a relay certificate it signed (127.0.0.1), and another CA that signed nothing here
sub make_pki {
    my ($d) = @_;
    openssl('the CA', qw(req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=pm-test-ca),
            '-keyout', "$d/ca.key", '-out', "$d/ca.crt");
    openssl('the relay key and request', qw(req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1),
            '-keyout', "$d/relay.key", '-out', "$d/relay.csr");
    PortalTest::Env::spew("$d/relay.ext", "subjectAltName=IP:127.0.0.1\n");
    openssl('the relay certificate', qw(x509 -req -days 1 -CAcreateserial),
            '-in', "$d/relay.csr", '-CA', "$d/ca.crt", '-CAkey', "$d/ca.key",
            '-extfile', "$d/relay.ext", '-out', "$d/relay.crt");
    openssl('another CA', qw(req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=pm-other-ca),
            '-keyout', "$d/other.key", '-out', "$d/other.crt");
}

sub outbox_of {
    my ($sa, $iid) = @_;
    return $sa->db->selectrow_hashref('SELECT * FROM outbox WHERE invitation_id = ? ORDER BY id DESC',
                                      undef, $iid);
}

sub get {
    my ($sa, $path) = @_;
    $sa->{ua} ||= LWP::UserAgent->new(keep_alive => 4, timeout => 30);
    return $sa->{ua}->get($sa->base_url . $path);
}

sub log_count {
    my ($sa, $id) = @_;
    my $log = eval { PortalTest::Env::slurp($sa->error_log) } // '';
    return scalar(() = $log =~ /\b$id\b/g);
}

sub graceful {
    my $sa = shift;
    $sa->_write_conf;
    my $out = qx{$sa->{httpd} -f $sa->{dir}/httpd.conf -k graceful 2>&1};
    is($?, 0, 'graceful restart') or diag $out;
}

my $status_conf = "<Location /server-status>\n SetHandler server-status\n Require local\n</Location>";

# --- the wrong CA, then the right one -------------------------------------------------------------
{
    my $sa = PortalTest::Standalone->new(name => 'ca', extra_conf => $status_conf);
    my $pki = "$sa->{dir}.pki";
    mkdir $pki;
    make_pki($pki);
    chmod 0644, glob("$pki/*.crt");
    $sa->{catcher} = ['--tls-cert', "$pki/relay.crt", '--tls-key', "$pki/relay.key"];
    $sa->{portal} = { PortalMailTLS => 'required', PortalMailCAFile => "$pki/other.crt" };
    if (ok(eval { $sa->start; 1 }, 'standalone server started') || diag $@) {
        my @iids;
        for my $cid (1, 3) {
            my $res = $sa->staff(POST => "/clients/$cid/invitations");
            is($res->code, 201, "wrong CA: invite client $cid 201");
            push @iids, (decode_json_body($res) || {})->{id};
        }
        my $held = wait_until(sub {
            my @o = map { outbox_of($sa, $_) } @iids;
            return (grep { $_ && defined $_->{last_error} } @o) == @iids ? \@o : undef;
        }, 20);
        ok($held, 'wrong CA: both emails carry an error');
        for my $o (@{ $held || [] }) {
            is($o->{status}, 'queued', "wrong CA: outbox $o->{id} stays queued (not failed)");
            like($o->{last_error}, qr/mail configuration error/, "wrong CA: outbox $o->{id} says configuration");
            like($o->{last_error}, qr/certificate|SSL/i, "wrong CA: outbox $o->{id} names the certificate")
                or diag $o->{last_error};
            is($o->{attempts}, 0, "wrong CA: outbox $o->{id} was not charged an attempt");
        }
        my $view = decode_json_body($sa->staff(GET => '/clients/1'));
        like($view && $view->{invitations}[0]{delivery_error} // '', qr/certificate/i,
             'wrong CA: staff see the certificate error');
        sleep 1.5;                       # 15 worker intervals: held, not retried
        my $again = outbox_of($sa, $iids[0]);
        is($again && $again->{attempts}, 0, 'wrong CA: not retried while held');
        is(log_count($sa, 'PM00311'), 1, 'wrong CA: logged once');
        is(scalar(grep { $_->{cmd} =~ /^(MAIL|RCPT|DATA)$/ } smtp_commands($sa->{mail_dir})), 0,
           'wrong CA: no MAIL/RCPT/DATA');

        my $res = get($sa, '/portal-manager/api/health');
        is($res->code, 503, 'wrong CA: health 503');
        like(get($sa, '/server-status?auto')->decoded_content // '',
             qr/^PortalMailConfigError: .*certificate/mi, 'wrong CA: the status section shows it');
        like(get($sa, '/portal-manager-metrics')->decoded_content // '',
             qr/^portal_manager_mail_config_error 1$/m, 'wrong CA: the metrics show it');

        # fixed configuration + graceful restart: delivered
        $sa->{portal}{PortalMailCAFile} = "$pki/ca.crt";
        graceful($sa);
        ok(wait_until(sub { $sa->mail_count >= 2 }, 30), 'right CA after a graceful restart: both delivered')
            or diag explain [map { outbox_of($sa, $_) } @iids];
        # the catcher holds a message a moment before the worker records its outcome
        # (the relay's 250 comes first): wait for the rows too, then compare them
        my $rows = sub { [map { my $o = outbox_of($sa, $_); $o && $o->{status} } @iids] };
        wait_until(sub { !grep { ($_ // '') ne 'sent' } @{ $rows->() } }, 30);
        is_deeply($rows->(), ['sent', 'sent'], 'right CA: both rows sent');
        my @cmds = grep { $_->{cmd} eq 'MAIL' } smtp_commands($sa->{mail_dir});
        ok(@cmds && !grep({ !$_->{tls} } @cmds), 'right CA: MAIL only inside TLS');
        is($cmds[0] && $cmds[0]{helo}, '[127.0.0.1]', 'EHLO names ServerName (an address literal)');
        my ($m) = $sa->mails;
        my $p = $m && parse_mail($m);
        like($p && $p->{to} // '', qr/^"?[^"<\s]+"? <[^>]+\@[^>]+>$/,
             'To: carries the first name as display name') or diag $p && $p->{to};
        is(get($sa, '/portal-manager/api/health')->code, 200, 'right CA: health 200 again');
        $sa->stop;
    }
}

# --- PortalMailTLS required, a relay without STARTTLS ------------------------------------------
{
    my $sa = PortalTest::Standalone->new(name => 'notls',
        portal => { PortalMailTLS => 'required', PortalMailHelo => 'portal.example.org' });
    if (ok(eval { $sa->start; 1 }, 'standalone server started') || diag $@) {
        my $res = $sa->staff(POST => '/clients/1/invitations');
        is($res->code, 201, 'no STARTTLS: invite 201');
        my $iid = (decode_json_body($res) || {})->{id};
        my $o = wait_until(sub { my $r = outbox_of($sa, $iid); $r && defined $r->{last_error} ? $r : undef }, 20);
        is($o && $o->{status}, 'queued', 'no STARTTLS: stays queued');
        like($o && $o->{last_error} // '', qr/mail configuration error.*(TLS|SSL)/i,
             'no STARTTLS: a configuration error naming TLS') or diag $o && $o->{last_error};
        is(scalar(grep { $_->{cmd} =~ /^(MAIL|RCPT|DATA)$/ } smtp_commands($sa->{mail_dir})), 0,
           'no STARTTLS: nothing in plaintext');
        is($sa->mail_count, 0, 'no STARTTLS: nothing sent');
        is(get($sa, '/portal-manager/api/health')->code, 503, 'no STARTTLS: health 503');
        $sa->stop;
    }
}

done_testing();
