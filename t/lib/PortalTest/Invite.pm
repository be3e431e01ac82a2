package PortalTest::Invite;
# PortalTest::Invite — helpers for the invitation loop tests (t/loop.t, t/recipient.t,
# t/representatives.t): clients of one's own, the recipient API with its CSRF header,
# tokens taken from the emails the SMTP catcher received (parsed by t/smtp/parse_mail.py),
# the client portal login through stock mod_authn_dbd, settings rows, and a check that a
# recipient answer reveals none of the client's private data.
#
#   my $c = new_client(prefix => 'loop', visible_to => ['clin1']);  # {id, first_name, ..}
#   my $res = rcpt(lookup => {token => $t});            # POST /portal/invitation/api/lookup
#   my $t = next_token($email);                        # waits for the next email to $email
#   login_code($username, $password);                  # GET /portal/account/ -> status
#   set_setting(resend_cooldown_minutes => 0);  clear_setting('resend_cooldown_minutes');
#   private_ok($res, $c, 'name');                      # no last name / DOB / email in body
use strict;
use warnings;

use Exporter 'import';
use JSON::PP ();
use Test::More ();
use Time::HiRes ();
use PortalTest;

our @EXPORT = qw(
    new_client unique_email rcpt next_token mails_to wait_mail_to mail_token
    login_code set_setting clear_setting private_ok fake_token audit_rows
    invitation_row client_view rep_in_view table_snapshot invitation_url login_url
    run_concurrently hold_write_lock tdb
);

my $JSON = JSON::PP->new->utf8->canonical;
my $seq = 0;

# tdb(): PortalTest::db() with a long SQLite busy timeout, so the test's own queries
# outlast a server that holds a lock for long (that is reported by a test, not a die)
sub tdb {
    my $dbh = db();
    $dbh->sqlite_busy_timeout(90_000) if db_driver() eq 'sqlite3';
    return $dbh;
}

sub unique_email {
    my $tag = shift // 'x';
    $seq++;
    return "$tag.$$.$seq\@example.test";
}

# new_client(%opt): a client of this test file's own (so other .t files cannot disturb
# it). first_name, last_name, date_of_birth, email default to unique values;
# visible_to => [staff usernames] adds staff_clients rows. Returns the column hash + id.
sub new_client {
    my %o = @_;
    my $prefix = $o{prefix} // 'c';
    $seq++;
    my %c = (
        first_name    => $o{first_name} // 'Quinn',
        last_name     => $o{last_name} // "Zzlast" . chr(ord('a') + $seq % 26) . "xq",
        date_of_birth => $o{date_of_birth} // sprintf('19%02d-%02d-%02d', 40 + $seq % 50,
                                                      1 + $seq % 12, 1 + $seq % 28),
        email         => exists $o{email} ? $o{email} : unique_email("$prefix-client"),
    );
    my $dbh = tdb();
    my ($id) = $dbh->selectrow_array(
        'INSERT INTO clients (first_name, last_name, date_of_birth, email) '
        . 'VALUES (?, ?, ?, ?) RETURNING id', undef,
        $c{first_name}, $c{last_name}, $c{date_of_birth}, $c{email});
    die "new_client: no id\n" unless $id;
    for my $u (@{ $o{visible_to} || [] }) {
        $dbh->do('INSERT INTO staff_clients (username, client_id) VALUES (?, ?)', undef, $u, $id);
    }
    $c{id} = $id;
    return \%c;
}

# rcpt(ACTION => \%body, %opt): POST /portal/invitation/api/ACTION with the CSRF header
sub rcpt {
    my ($action, $body, %opt) = @_;
    return recipient(POST => "/$action", json => $body, csrf => 1, %opt);
}

sub invitation_url { 'http://127.0.0.1:' . runtime()->{port} . '/portal/invitation/' }
sub login_url      { 'http://127.0.0.1:' . runtime()->{port} . '/portal/account/' }

# every received message whose envelope recipient is $addr (case-insensitive), oldest first
sub mails_to {
    my $addr = lc shift;
    return grep { grep { lc($_) eq $addr } @{ $_->{rcpt_tos} || [] } } mails();
}

sub wait_mail_to {
    my ($addr, $count, $timeout) = @_;
    my $deadline = Time::HiRes::time() + ($timeout // 20);
    my @m;
    while (1) {
        @m = mails_to($addr);
        return @m if @m >= $count || Time::HiRes::time() > $deadline;
        Time::HiRes::sleep(0.05);
    }
}

# mail_token($mail): parse with policy.strict; the token of the invitation link in the
# text/plain part (the HTML part must link to the same URL). Returns ($token, $parsed).
sub mail_token {
    my $m = shift;
    my $p = parse_mail($m);
    my $tb = Test::More->builder;
    $tb->ok($p->{ok}, "mail to @{ $m->{rcpt_tos} || [] } parses strictly")
        or $tb->diag($p->{error} // 'unknown error');
    my $base = invitation_url();
    my ($text) = map { $_->{text} } grep { $_->{content_type} eq 'text/plain' } @{ $p->{parts} || [] };
    my ($html) = map { $_->{text} } grep { $_->{content_type} eq 'text/html' } @{ $p->{parts} || [] };
    my @links = ($text // '') =~ m{\Q$base\E#t=([A-Za-z0-9_-]+)}g;
    $tb->is_num(scalar @links, 1, 'text part has exactly one invitation link')
        or $tb->diag($text // '(no text/plain part)');
    my $token = $links[0];
    $tb->ok(defined $token && defined $html && index($html, "$base#t=$token") >= 0,
            'HTML part links to the same URL');
    return ($token, $p);
}

# next_token($addr): waits for one more email to $addr than was consumed before and
# returns its token (and the parsed message in list context)
my %consumed;
sub next_token {
    my ($addr, $timeout) = @_;
    my $want = ($consumed{lc $addr} // 0) + 1;
    my @m = wait_mail_to($addr, $want, $timeout);
    my $tb = Test::More->builder;
    unless ($tb->ok(@m >= $want, "email #$want to $addr arrived")) {
        return;
    }
    $consumed{lc $addr} = $want;
    my ($token, $p) = mail_token($m[$want - 1]);
    return wantarray ? ($token, $p) : $token;
}

sub fake_token {
    my @c = ('A' .. 'Z', 'a' .. 'z', 0 .. 9, '-', '_');
    return join '', map { $c[rand @c] } 1 .. 43;
}

# the client portal (docs/configuration.md: stock mod_authn_dbd); returns the HTTP status
sub login_code {
    my ($user, $password) = @_;
    return http_request(GET => '/portal/account/', user => $user, password => $password)->code;
}

sub set_setting {
    my ($name, $value) = @_;
    my $dbh = tdb();
    $dbh->do('DELETE FROM settings WHERE name = ?', undef, $name);
    $dbh->do('INSERT INTO settings (name, value) VALUES (?, ?)', undef, $name,
             JSON::PP->new->allow_nonref->encode($value));
}

sub clear_setting { tdb()->do('DELETE FROM settings WHERE name = ?', undef, $_[0]) }

# private_ok($res, \%client | [\%client..], $name): the body contains none of the
# clients' last names, dates of birth or email addresses (raw bytes, and every string
# of the decoded JSON, so \u escapes cannot hide one)
sub private_ok {
    my ($res, $clients, $name) = @_;
    my @c = ref $clients eq 'ARRAY' ? @$clients : ($clients);
    my $raw = $res->content // '';
    my $text = eval { Encode::decode('UTF-8', $raw, Encode::FB_CROAK()) } // $raw;
    my @strings = ($text);
    if (my $data = eval { $JSON->decode($raw) }) {
        my @todo = ($data);
        while (@todo) {
            my $x = shift @todo;
            if (ref $x eq 'HASH') { push @strings, keys %$x; push @todo, values %$x }
            elsif (ref $x eq 'ARRAY') { push @todo, @$x }
            elsif (defined $x && !ref $x) { push @strings, "$x" }
        }
    }
    my @found;
    for my $c (@c) {
        for my $secret (grep { defined && length } @$c{qw(last_name date_of_birth email)}) {
            (my $digits = $secret) =~ s/-//g if $secret =~ /^\d{4}-\d\d-\d\d$/;
            for my $s (@strings) {
                push @found, $secret if index(lc $s, lc $secret) >= 0;
                push @found, "$secret (as $digits)" if $digits && index($s, $digits) >= 0;
            }
        }
    }
    my $tb = Test::More->builder;
    my $ok = $tb->ok(!@found, "$name: reveals no last name, date of birth or email");
    $tb->diag("found: @found\n$raw") unless $ok;
    return $ok;
}

sub audit_rows {
    my (%w) = @_;
    my @k = sort keys %w;
    my $sql = 'SELECT id, at, username, action, client_id, object_id, result, detail '
            . 'FROM audit_log' . (@k ? ' WHERE ' . join(' AND ', map { "$_ = ?" } @k) : '')
            . ' ORDER BY id';
    return @{ tdb()->selectall_arrayref($sql, { Slice => {} }, @w{@k}) };
}

sub invitation_row {
    my $id = shift;
    return tdb()->selectrow_hashref('SELECT * FROM invitations WHERE id = ?', undef, $id);
}

sub client_view {
    my ($id, $user) = @_;
    my $res = staff(GET => "/clients/$id", user => $user // 'admin');
    return $res->code == 200 ? decode_json_body($res) : undef;
}

sub rep_in_view {
    my ($view, $rep_id) = @_;
    return unless $view;
    my ($r) = grep { $_->{id} == $rep_id } @{ $view->{representatives} || [] };
    return $r;
}

# every row of the given tables, as one canonical string (for "nothing changed")
sub table_snapshot {
    my @tables = @_;
    my $dbh = tdb();
    my %snap;
    for my $t (@tables) {
        $snap{$t} = $dbh->selectall_arrayref("SELECT * FROM $t ORDER BY 1", { Slice => {} });
    }
    return $JSON->encode(\%snap);
}

# run_concurrently($n, sub { ... return $string }): forks $n children that wait on a
# common barrier, then each runs the sub; returns the $n strings they returned.
sub run_concurrently {
    my ($n, $code) = @_;
    pipe(my $gate_r, my $gate_w) or die "pipe: $!";
    my @kids;
    for my $i (1 .. $n) {
        pipe(my $r, my $w) or die "pipe: $!";
        my $pid = fork // die "fork: $!";
        if (!$pid) {
            close $gate_w;
            close $r;
            srand();                           # its own rand (fake_token) if the parent seeded one
            my $x = <$gate_r>;                 # EOF when the parent closes the gate
            my $out = eval { $code->($i) } // "died: $@";
            syswrite $w, $out;
            close $w;
            POSIX::_exit(0);
        }
        close $w;
        push @kids, [$pid, $r];
    }
    close $gate_r;
    close $gate_w;                             # go
    my @out;
    for my $k (@kids) {
        my $fh = $k->[1];
        local $/;
        push @out, scalar(<$fh>) // '';
        waitpid $k->[0], 0;
    }
    return @out;
}

# hold_write_lock($seconds[, $table]): a separate process takes the database's write lock
# (SQLite: BEGIN EXCLUSIVE; PostgreSQL: LOCK TABLE $table, invitations unless given, IN
# ACCESS EXCLUSIVE MODE), as another writer would, and releases it after $seconds. Returns
# once the lock is held; waitpid the returned pid afterwards.
sub hold_write_lock {
    my ($seconds, $table) = @_;
    $table //= 'invitations';
    pipe(my $r, my $w) or die "pipe: $!";
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        close $r;
        my $ok = eval {
            my $h = tdb();
            if (db_driver() eq 'sqlite3') { $h->do('BEGIN EXCLUSIVE') }
            else { $h->begin_work; $h->do("LOCK TABLE $table IN ACCESS EXCLUSIVE MODE") }
            syswrite $w, "locked\n";
            Time::HiRes::sleep($seconds);
            if (db_driver() eq 'sqlite3') { $h->do('ROLLBACK') } else { $h->rollback }
            1;
        };
        syswrite $w, "error: $@\n" unless $ok;
        POSIX::_exit(0);
    }
    close $w;
    my $line = <$r> // '';
    die "hold_write_lock: $line" unless $line eq "locked\n";
    return $pid;
}

use Encode ();
use POSIX ();

1;
