package PortalTest::Admin;
# PortalTest::Admin — helpers for t/admin_settings.t and t/admin_views.t:
#
#   my $c = add_client(9701, 'Zoë', 'Tester', 'zoe.t7@example.test', 'clin1');
#   cleanup_clients(9701, 9702);       # their invitations, outbox rows, accounts, reps
#   reset_settings();                  # settings table emptied (every default back)
#   my @m = wait_mail_to('x@example.test', 10);   # the messages for that recipient
#   my $tree = mime_tree($mail);       # the MIME tree, parsed with policy.strict
#   my $rows = parse_csv($bytes);      # RFC 4180 records (Python's csv, strict)
#   my $png = make_png(8, 8, size => 102400);   # a valid PNG, optionally of exact size
#   my $jpg = make_jpeg(6, 3);         # a JPEG's marker structure (SOI, APP0, SOF0, EOI)
#   my $row = wait_outbox($id, sub { $_[0]{status} ne 'queued' }, 15);
#
# Clients are inserted with explicit ids (97xx) so the seed clients that other test
# files rely on stay untouched; cleanup_clients removes everything they gained.
use strict;
use warnings;

use Exporter 'import';
use Compress::Zlib ();
use JSON::PP ();
use Time::HiRes ();
use PortalTest;
use PortalTest::Env ();

our @EXPORT = qw(add_client cleanup_clients reset_settings wait_mail_to mime_tree
                 parse_csv make_png make_jpeg wait_outbox outbox_row text_nl);

sub add_client {
    my ($id, $first, $last, $email, @staff) = @_;
    my $dbh = db();
    $dbh->do('INSERT INTO clients (id, first_name, last_name, date_of_birth, email) '
           . 'VALUES (?, ?, ?, ?, ?)', undef, $id, $first, $last, '1990-05-17', $email);
    $dbh->do('INSERT INTO staff_clients (username, client_id) VALUES (?, ?)', undef, $_, $id)
        for @staff;
    return { id => $id, first_name => $first, last_name => $last, email => $email };
}

sub cleanup_clients {
    my @ids = @_;
    return unless @ids;
    my $dbh = db();
    my $in = join ',', map { int } @ids;
    my $inv = "SELECT id FROM invitations WHERE client_id IN ($in)";
    $dbh->do("DELETE FROM outbox WHERE invitation_id IN ($inv)");
    $dbh->do("DELETE FROM superseded_tokens WHERE invitation_id IN ($inv)");
    $dbh->do("DELETE FROM account_grants WHERE client_id IN ($in) "
             . "OR account_id IN (SELECT id FROM portal_accounts WHERE client_id IN ($in))");
    $dbh->do("DELETE FROM portal_accounts WHERE client_id IN ($in)");
    $dbh->do("DELETE FROM invitations WHERE client_id IN ($in)");
    $dbh->do("DELETE FROM representatives WHERE client_id IN ($in)");
    $dbh->do("DELETE FROM staff_clients WHERE client_id IN ($in)");
    $dbh->do("DELETE FROM clients WHERE id IN ($in)");
}

sub reset_settings { db()->do("DELETE FROM settings WHERE name <> 'max_emails_per_minute'") }   # seed.sql

# The messages received for $addr (envelope recipient), waiting until $count arrived.
sub wait_mail_to {
    my ($addr, $timeout, $count) = @_;
    $timeout //= 10;
    $count //= 1;
    my $deadline = Time::HiRes::time() + $timeout;
    while (1) {
        my @m = grep { grep { lc $_ eq lc $addr } @{ $_->{rcpt_tos} || [] } } mails();
        return @m if @m >= $count || Time::HiRes::time() > $deadline;
        Time::HiRes::sleep(0.05);
    }
}

my $MIME_TREE_PY = <<'PY';
import base64, json, sys
from email import policy
from email.parser import BytesParser

def walk(part):
    ct = part.get("Content-Type")
    d = {
        "content_type": part.get_content_type(),
        "params": dict(ct.params) if ct is not None else {},
        "content_id": part.get("Content-ID"),
        "disposition": part.get_content_disposition(),
        "filename": part.get_filename(),
        "cte": part.get("Content-Transfer-Encoding"),
        "defects": [str(x) for x in part.defects],
    }
    if part.is_multipart():
        d["parts"] = [walk(p) for p in part.iter_parts()]
    else:
        d["data_b64"] = base64.b64encode(part.get_payload(decode=True)).decode("ascii")
        if part.get_content_maintype() == "text":
            d["text"] = part.get_content()
    return d

with open(sys.argv[1], "rb") as fh:
    raw = fh.read()
try:
    msg = BytesParser(policy=policy.strict).parsebytes(raw)
    out = {"ok": True, "subject": str(msg["Subject"]), "tree": walk(msg)}
except Exception as e:
    out = {"ok": False, "error": "%s: %s" % (type(e).__name__, e)}
json.dump(out, sys.stdout)
PY

# The MIME tree of a received message: {ok, error, subject, tree => {content_type,
# params, content_id, disposition, filename, cte, defects, parts | data_b64, text}}
sub mime_tree {
    my $m = shift;
    my $file = ref $m ? $m->{file} : $m;
    open my $fh, '-|', $PortalTest::Env::PYTHON, '-c', $MIME_TREE_PY, $file
        or die "mime_tree: $!";
    local $/;
    my $json = <$fh>;
    close $fh or die "mime_tree failed for $file\n";
    return JSON::PP->new->utf8->decode($json);
}

my $CSV_PY = <<'PY';
import csv, io, json, sys
data = sys.stdin.buffer.read().decode("utf-8")
rows = list(csv.reader(io.StringIO(data, newline=""), strict=True))
json.dump(rows, sys.stdout)
PY

# RFC 4180 records of a CSV document (bytes), each an array ref of fields.
# Text::CSV when it is installed, otherwise Python's csv module in strict mode.
sub parse_csv {
    my $bytes = shift;
    $bytes =~ s/\A\xEF\xBB\xBF//;           # a UTF-8 byte order mark, as CSV readers skip it
    if (eval { require Text::CSV; 1 }) {
        my $csv = Text::CSV->new({ binary => 1, strict => 1, auto_diag => 0 });
        my $text = $bytes;
        utf8::decode($text) or die "parse_csv: not UTF-8\n";
        open my $fh, '<', \$text or die;
        my @rows;
        while (my $row = $csv->getline($fh)) { push @rows, $row }
        die "parse_csv: " . $csv->error_diag . "\n" unless $csv->eof;
        return \@rows;
    }
    require IPC::Open2;
    my $pid = IPC::Open2::open2(my $out, my $in, $PortalTest::Env::PYTHON, '-c', $CSV_PY);
    binmode $in;
    print $in $bytes;
    close $in;
    local $/;
    my $json = <$out>;
    waitpid $pid, 0;
    die "parse_csv: python csv failed (exit " . ($? >> 8) . ")\n" if $?;
    return JSON::PP->new->utf8->decode($json);
}

# A valid RGB PNG of $w x $h pixels; size => N pads it (tEXt chunk) to exactly N bytes.
sub make_png {
    my ($w, $h, %opt) = @_;
    my $seed = $opt{seed} // 7;
    my $raw = '';
    for my $y (0 .. $h - 1) {
        $raw .= "\0";
        for my $x (0 .. $w - 1) {
            $raw .= pack 'C3', ($x * 37 + $seed) % 256, ($y * 59 + $seed) % 256, ($x ^ $y) % 256;
        }
    }
    my $chunk = sub {
        my ($type, $data) = @_;
        return pack('N', length $data) . $type . $data . pack('N', Compress::Zlib::crc32($type . $data));
    };
    my $head = "\x89PNG\r\n\x1a\n" . $chunk->('IHDR', pack 'NNCCCCC', $w, $h, 8, 2, 0, 0, 0)
             . $chunk->('IDAT', Compress::Zlib::compress($raw));
    my $tail = $chunk->('IEND', '');
    if (defined $opt{size}) {
        my $pad = $opt{size} - length($head) - length($tail) - 12 - length("Comment\0");
        die "make_png: size $opt{size} is too small\n" if $pad < 0;
        $head .= $chunk->('tEXt', "Comment\0" . ('p' x $pad));
    }
    my $png = $head . $tail;
    die "make_png: got " . length($png) . " bytes\n" if defined $opt{size} && length $png != $opt{size};
    return $png;
}

# The header structure of a baseline JPEG of $w x $h: SOI, a JFIF APP0 segment, the SOF0
# frame header (one component), EOI. What the module checks (markers, frame size); no
# scan data, so no viewer would show pixels.
sub make_jpeg {
    my ($w, $h) = @_;
    my $app0 = "JFIF\0" . pack('CCCnnCC', 1, 1, 0, 1, 1, 0, 0);
    my $sof0 = pack('CnnC', 8, $h, $w, 1) . pack('CCC', 1, 0x11, 0);
    return "\xFF\xD8" . "\xFF\xE0" . pack('n', 2 + length $app0) . $app0
         . "\xFF\xC0" . pack('n', 2 + length $sof0) . $sof0 . "\xFF\xD9";
}

# The outbox row $id straight from the database (hash), or undef.
sub outbox_row {
    my $id = shift;
    return db()->selectrow_hashref('SELECT * FROM outbox WHERE id = ?', undef, $id);
}

# Poll the outbox row until $cond->($row) is true or $timeout seconds pass.
sub wait_outbox {
    my ($id, $cond, $timeout) = @_;
    my $deadline = Time::HiRes::time() + ($timeout // 15);
    while (1) {
        my $row = outbox_row($id);
        return $row if $row && $cond->($row);
        return $row if Time::HiRes::time() > $deadline;
        Time::HiRes::sleep(0.1);
    }
}

# Line breaks as the template wrote them: a received text part has CRLF (canonical form).
sub text_nl { my $s = shift; $s =~ s/\r\n/\n/g; return $s }

1;
