package PortalTest::Delivery;
# PortalTest::Delivery — helpers for the invitation and delivery tests (t/invitations.t,
# t/delivery.t, t/delivery_standalone.t) on top of PortalTest:
#
#   my $cid = new_client(first => 'Zoë', last => 'Núñez', email => 'z@example.test',
#                        staff => ['clin1']);            # a fresh client, its id
#   set_setting(resend_cooldown_minutes => 1);  clear_settings();
#   my $inv = invitation($id);  my @o = outbox_rows($id);   # database rows (hashrefs)
#   my $o = wait_outbox($id, sub { $_[0]{status} eq 'sent' }, 10);  # latest outbox row
#   my @t = link_tokens($parsed_mail);      # tokens in the PortalInvitationURL links
#   sha256_hex($token);  backdate_outbox($id, 3600);  smtp_commands();
#
# Every function that talks to a database takes an optional dbh => $dbh (default: db()).
use strict;
use warnings;

use Exporter 'import';
use Digest::SHA qw(sha256_hex);
use JSON::PP ();
use Time::HiRes ();
use PortalTest ();
use PortalTest::Env ();

our @EXPORT = qw(
    new_client set_setting clear_settings invitation invitations_of outbox_rows latest_outbox
    wait_outbox wait_until link_tokens sha256_hex backdate_outbox smtp_commands
    smtp_commands_clear audit_rows now_epoch invitation_url lines_over
);

sub now_epoch { time }

sub _dbh { my %o = @_; return $o{dbh} || PortalTest::db() }

# new_client(first, last, dob, email, staff => [usernames]) -> id
sub new_client {
    my %o = @_;
    my $dbh = _dbh(%o);
    my ($max) = $dbh->selectrow_array('SELECT coalesce(max(id), 0) FROM clients');
    my $id = ($max < 1000 ? 1000 : $max) + 1;
    my $first = $o{first} // "First$id";
    my $last = $o{last} // "Last$id";
    $dbh->do('INSERT INTO clients (id, first_name, last_name, date_of_birth, email) '
           . 'VALUES (?, ?, ?, ?, ?)', undef, $id, $first, $last, $o{dob} // '1990-01-01',
             exists $o{email} ? $o{email} : "client$id\@example.test");
    for my $u (@{ $o{staff} || [] }) {
        $dbh->do('INSERT INTO staff_clients (username, client_id) VALUES (?, ?)', undef, $u, $id);
    }
    return $id;
}

# set_setting(name => perl value, ...): stored as JSON text, as the admin API would
sub set_setting {
    my (@pairs) = @_;
    my $dbh = PortalTest::db();
    my $json = JSON::PP->new->allow_nonref->canonical;
    while (my ($name, $value) = splice @pairs, 0, 2) {
        $dbh->do('DELETE FROM settings WHERE name = ?', undef, $name);
        $dbh->do('INSERT INTO settings (name, value, updated_at, updated_by) VALUES (?, ?, ?, ?)',
                 undef, $name, $json->encode($value), time, 'test');
    }
}

sub clear_settings {
    my (@names) = @_;
    my $dbh = PortalTest::db();
    if (@names) { $dbh->do('DELETE FROM settings WHERE name = ?', undef, $_) for @names }
    else { $dbh->do("DELETE FROM settings WHERE name <> 'max_emails_per_minute'") }   # seed.sql
}

sub invitation {
    my ($id, %o) = @_;
    return _dbh(%o)->selectrow_hashref('SELECT * FROM invitations WHERE id = ?', undef, $id);
}

sub invitations_of {
    my ($client_id, %o) = @_;
    return @{ _dbh(%o)->selectall_arrayref(
        'SELECT * FROM invitations WHERE client_id = ? ORDER BY id', { Slice => {} }, $client_id) };
}

sub outbox_rows {
    my ($invitation_id, %o) = @_;
    return @{ _dbh(%o)->selectall_arrayref(
        'SELECT * FROM outbox WHERE invitation_id = ? ORDER BY id', { Slice => {} }, $invitation_id) };
}

sub latest_outbox {
    my @rows = outbox_rows(@_);
    return $rows[-1];
}

sub audit_rows {
    my (%where) = @_;
    my $dbh = delete $where{dbh} || PortalTest::db();
    my @k = sort keys %where;
    my $sql = 'SELECT * FROM audit_log' . (@k ? ' WHERE ' . join(' AND ', map { "$_ = ?" } @k) : '')
            . ' ORDER BY id';
    return @{ $dbh->selectall_arrayref($sql, { Slice => {} }, @where{@k}) };
}

# wait_until(CODE, timeout s, poll s): CODE's first true value, or undef at the deadline
sub wait_until {
    my ($code, $timeout, $poll) = @_;
    my $deadline = Time::HiRes::time() + ($timeout // 10);
    while (1) {
        my $v = $code->();
        return $v if $v;
        return undef if Time::HiRes::time() > $deadline;
        Time::HiRes::sleep($poll // 0.05);
    }
}

# wait_outbox(invitation id, CODE(row), timeout): the latest outbox row once CODE accepts it;
# the last row seen (which CODE rejected) at the deadline, so a test can show it
sub wait_outbox {
    my ($invitation_id, $code, $timeout, %o) = @_;
    return undef unless defined $invitation_id;       # the invite itself failed
    my $last;
    my $hit = wait_until(sub {
        $last = latest_outbox($invitation_id, %o);
        return $last && $code->($last) ? $last : undef;
    }, $timeout);
    return $hit || $last;
}

# UPDATE outbox created_at into the past: the resend cooldown counts from the last queue time
sub backdate_outbox {
    my ($invitation_id, $seconds, %o) = @_;
    _dbh(%o)->do('UPDATE outbox SET created_at = created_at - ? WHERE invitation_id = ?',
                 undef, $seconds, $invitation_id);
}

sub invitation_url { 'http://127.0.0.1:' . PortalTest::runtime()->{port} . '/portal/invitation/' }

# link_tokens($parsed, $url): every token found as URL#t=TOKEN in the text and HTML
# parts, as { text => [..], html => [..] } (HTML: in href and in the link text)
sub link_tokens {
    my ($parsed, $url) = @_;
    $url //= invitation_url();
    my %out = (text => [], html => []);
    for my $part (@{ $parsed->{parts} || [] }) {
        my $text = $part->{text} // next;
        my $kind = $part->{content_type} eq 'text/html' ? 'html' : 'text';
        push @{ $out{$kind} }, $text =~ m{\Q$url\E#t=([A-Za-z0-9_-]*)}g;
    }
    return \%out;
}

# lines_over($raw, $max): the raw message's lines (split on CRLF) longer than $max octets
sub lines_over {
    my ($raw, $max) = @_;
    return grep { length($_) > $max } split /\r\n/, $raw;
}

# what the SMTP catcher saw: [{t, cmd => MAIL|RCPT|DATA, arg, peer}], oldest first
sub smtp_commands {
    my ($dir) = @_;
    $dir //= PortalTest::runtime()->{mail_dir};
    my $f = "$dir/commands.log";
    my $json = JSON::PP->new;
    my @c = -f $f ? map { $json->decode($_) } grep { /\S/ } split /\n/, PortalTest::Env::slurp($f) : ();
    return wantarray ? @c : scalar @c;
}

sub smtp_commands_clear {
    my ($dir) = @_;
    $dir //= PortalTest::runtime()->{mail_dir};
    unlink "$dir/commands.log";
}

1;
