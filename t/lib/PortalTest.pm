package PortalTest;
# PortalTest — helpers for the Apache::Test .t files of mod_portal_manager.
#
#   use FindBin; use lib "$FindBin::Bin/lib";
#   use Apache::Test qw(-withtestmore);
#   use Test::More;
#   use PortalTest;
#
#   my $res = staff(GET => '/me', user => 'clin1');      # /portal-manager/api/me as clin1
#   my $res = staff(POST => '/clients/1/declined', user => 'clin1', json => {note => 'x'});
#   my $res = recipient(POST => '/lookup', json => {token => $t});
#   my $data = json_ok($res, 200, 'me');                 # status + JSON + headers, returns data
#   error_ok($res, 403, 'not_staff', 'inactive user');   # the error envelope of docs/api.md
#   my $dbh = db();                                      # DBI handle on the test database
#   my @mails = mails();  mail_replies('451 4.3.0 later');   # the SMTP catcher
#   expect_log_ids(qw(PM00040));                         # provoked on purpose (LogCheck)
#
# Loading this module watches t/logs/error_log: done_testing() adds a test that fails on
# any [warn]/[error] line with a PMnnnnn id not declared by expect_log_ids (PortalTest::LogCheck).
# State-changing staff requests carry "X-Requested-With: portal-manager" unless csrf => 0.
# user => NAME uses NAME's password from the runtime; user => undef sends no credentials.
use strict;
use warnings;

use Exporter 'import';
use Apache::Test ();
use Apache::TestRequest ();
use HTTP::Request ();
use JSON::PP ();
use MIME::Base64 qw(encode_base64);
use Test::More ();
use POSIX ();
use Time::HiRes ();
use PortalTest::Env ();
use PortalTest::LogCheck qw(expect_log_ids);
use PortalTest::PgKeep ();

our @EXPORT = qw(
    runtime staff recipient http_request staff_path recipient_path
    json_ok error_ok security_headers_ok decode_json_body
    db db_driver mails mail_clear mail_replies mail_refuse wait_for_mail parse_mail
    password_for expect_log_ids answer_of while_held
);

our $STAFF_BASE     = '/portal-manager/api';
our $RECIPIENT_BASE = '/portal/invitation/api';
our $CSRF_HEADER    = 'portal-manager';

our %SECURITY_HEADERS = (
    'Cache-Control'           => qr/^no-store\b/,
    'X-Content-Type-Options'  => qr/^nosniff$/,
    'Content-Security-Policy' => qr/^default-src 'none'; frame-ancestors 'none'$/,
    'Referrer-Policy'         => qr/^no-referrer$/,
);

PortalTest::LogCheck::watch(PortalTest::Env::top_dir() . '/t/logs/error_log');
PortalTest::LogCheck::hook_done_testing();

my $JSON = JSON::PP->new->utf8->canonical;
my $runtime;

sub runtime { $runtime ||= PortalTest::Env::load() }

sub password_for { runtime()->{users}{ $_[0] } // PortalTest::Env::password_for($_[0]) }

sub staff_path     { $STAFF_BASE . $_[0] }
sub recipient_path { $RECIPIENT_BASE . $_[0] }

# http_request(METHOD, PATH, %opt) -> HTTP::Response
#   user => NAME | undef, password => STR, json => REF|STR, body => BYTES,
#   content_type => STR, headers => {..} or [..], vhost => Apache::Test vhost name,
#   csrf => 0|1 (default: 1 for non-GET/HEAD on the staff API), timeout => seconds (30)
sub http_request {
    my ($method, $path, %opt) = @_;
    my $old_module = Apache::TestRequest::module();
    Apache::TestRequest::module($opt{vhost} // 'default');
    my $url = Apache::TestRequest::resolve_url($path);
    Apache::TestRequest::module($old_module // 'default');

    my $req = HTTP::Request->new($method => $url);
    if (defined $opt{user}) {
        my $pw = exists $opt{password} ? $opt{password} : password_for($opt{user});
        $req->header(Authorization => 'Basic ' . encode_base64("$opt{user}:$pw", ''));
    }
    if (exists $opt{json}) {
        my $body = ref $opt{json} ? $JSON->encode($opt{json}) : $opt{json};
        $req->content($body);
        $req->header('Content-Type' => $opt{content_type} // 'application/json');
    }
    elsif (exists $opt{body}) {
        $req->content($opt{body});
        $req->header('Content-Type' => $opt{content_type}) if defined $opt{content_type};
    }
    $req->header('Content-Length' => length($req->content // ''))
        if $method !~ /^(GET|HEAD|DELETE)$/ || length($req->content // '');
    my $csrf = $opt{csrf} // ($method !~ /^(GET|HEAD)$/ && index($path, $STAFF_BASE) == 0);
    $req->header('X-Requested-With' => $CSRF_HEADER) if $csrf;
    my $h = $opt{headers} || [];
    my @h = ref $h eq 'HASH' ? %$h : @$h;
    while (my ($k, $v) = splice @h, 0, 2) { $req->header($k => $v) }

    my $ua = Apache::TestRequest::user_agent(keep_alive => 0, requests_redirectable => 0);
    $ua->timeout($opt{timeout} // 30);
    my $t0 = Time::HiRes::time();
    my $res = $ua->request($req);
    $res->{pm_elapsed} = Time::HiRes::time() - $t0;
    return $res;
}

# staff(METHOD, '/path', %opt): the staff API; user defaults to admin unless given
sub staff {
    my ($method, $path, %opt) = @_;
    $opt{user} = 'admin' unless exists $opt{user};
    return http_request($method, staff_path($path), %opt);
}

# recipient(METHOD, '/path', %opt): the public recipient API, no credentials
sub recipient {
    my ($method, $path, %opt) = @_;
    return http_request($method, recipient_path($path), %opt);
}

sub decode_json_body {
    my $res = shift;
    my $data = eval { $JSON->decode($res->content) };
    return $data;
}

# "STATUS CODE": the HTTP status and the JSON error's code ("201 " when there is none)
sub answer_of {
    my $res = shift;
    my $data = decode_json_body($res);
    my $code = ref $data eq 'HASH' && ref $data->{error} eq 'HASH' ? $data->{error}{code} // '' : '';
    return $res->code . " $code";
}

sub describe {
    my $res = shift;
    my $req = $res->request;
    my $body = $res->content // '';
    $body = substr($body, 0, 400) . '...' if length $body > 400;
    return sprintf "%s %s -> %s\n%s", ($req ? ($req->method, $req->uri) : ('?', '?')),
        $res->status_line, $body;
}

# security_headers_ok($res, $name): the headers every API response carries
sub security_headers_ok {
    my ($res, $name) = @_;
    my @bad;
    for my $h (sort keys %SECURITY_HEADERS) {
        my $v = $res->header($h);
        push @bad, "$h: " . ($v // '(missing)') unless defined $v && $v =~ $SECURITY_HEADERS{$h};
    }
    my $ct = $res->header('Content-Type') // '';
    push @bad, "Content-Type: $ct"
        if length($res->content // '') && $ct !~ m{^application/json;\s*charset=utf-8$}i;
    my $tb = Test::More->builder;
    my $ok = $tb->ok(!@bad, "$name: security headers");
    $tb->diag(join("\n", @bad) . "\n" . describe($res)) unless $ok;
    return $ok;
}

# json_ok($res, $status, $name): status, JSON body, headers; returns the decoded body
sub json_ok {
    my ($res, $status, $name) = @_;
    my $tb = Test::More->builder;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    $tb->is_num($res->code, $status, "$name: status $status")
        or $tb->diag(describe($res));
    my $data = decode_json_body($res);
    $tb->ok(defined $data, "$name: body is JSON") or $tb->diag(describe($res));
    security_headers_ok($res, $name);
    return $data;
}

# error_ok($res, $status, $code, $name): the error envelope
#   {"error":{"code":CODE,"message":"...", ["field":"..."]},"request_id":"..."
#    [,"practice_name":"...","practice_phone":...,"brand_color":...,"login_url":"...",
#     "language":"..","tries_left":N]
#    [,"errors":[{"field":"...","message":"..."}]]}
sub error_ok {
    my ($res, $status, $code, $name) = @_;
    my $tb = Test::More->builder;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    my $data = json_ok($res, $status, $name);
    my $err = ref $data eq 'HASH' ? $data->{error} : undef;
    my @bad;
    push @bad, 'no "error" object' unless ref $err eq 'HASH';
    if (ref $err eq 'HASH') {
        push @bad, "error.code is " . ($err->{code} // 'missing') . ", want $code"
            unless defined $err->{code} && !ref $err->{code} && $err->{code} eq $code;
        push @bad, 'error.message is not a non-empty string'
            unless defined $err->{message} && !ref $err->{message} && length $err->{message};
        my %known = map { $_ => 1 } qw(code message field);
        push @bad, "unexpected error keys: @{[ grep { !$known{$_} } sort keys %$err ]}"
            if grep { !$known{$_} } keys %$err;
    }
    if (ref $data eq 'HASH') {
        push @bad, 'request_id is not a non-empty string'
            unless defined $data->{request_id} && !ref $data->{request_id} && length $data->{request_id};
        # the recipient API also names the practice (its phone and brand colour) on a
        # refused link, the portal's sign-in page on a used one, the recipient's language
        # and whether it is a password reset link when the link names an invitation, and
        # the tries left; a refused settings PUT lists every refused value
        my %top = map { $_ => 1 } qw(error request_id practice_name practice_phone brand_color
                                     login_url language tries_left reset errors);
        my @extra = grep { !$top{$_} } sort keys %$data;
        push @bad, "unexpected top-level keys: @extra" if @extra;
    }
    $tb->ok(!@bad, "$name: error envelope, code $code")
        or $tb->diag(join("\n", @bad) . "\n" . describe($res));
    return $data;
}

# --- the database -------------------------------------------------------------------

sub db_driver { runtime()->{db_driver} }

# A DBI handle on the test database (DBD::SQLite or DBD::Pg): SQLite a new one per
# call, PostgreSQL the process's kept connection when it is free (PortalTest::PgKeep).
sub db {
    require DBI;
    my $rt = runtime();
    if ($rt->{db_driver} eq 'sqlite3') {
        my $dbh = DBI->connect("dbi:SQLite:dbname=$rt->{db_file}", '', '',
            { RaiseError => 1, AutoCommit => 1, sqlite_unicode => 1 });
        $dbh->do('PRAGMA busy_timeout = 5000');
        $dbh->do('PRAGMA foreign_keys = ON');
        return $dbh;
    }
    return PortalTest::PgKeep::handle_for($rt->{db_params});
}

# while_held($dbh, sub { ... }): a race played by hand. $dbh holds a transaction open with
# the other side's statements; the sub (a request) runs in a child, and 1 s later, when the
# request is waiting for those rows, $dbh commits. Returns what the sub returned (a string).
sub while_held {
    my ($dbh, $request) = @_;
    pipe(my $r, my $w) or die "pipe: $!";
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        close $r;
        syswrite $w, $request->() // '';
        POSIX::_exit(0);
    }
    close $w;
    Time::HiRes::sleep(1);
    $dbh->commit;
    my $out = do { local $/; <$r> };
    waitpid $pid, 0;
    return $out;
}

# --- the SMTP catcher ---------------------------------------------------------------

sub mail_dir { runtime()->{mail_dir} }

# mails(): every message received so far, oldest first:
#   { file => PATH, raw => BYTES, mail_from => .., rcpt_tos => [..], auth_user => .. }
sub mails {
    my $dir = mail_dir() . '/new';
    opendir my $dh, $dir or return ();
    my @files = sort grep { /^\d+\.eml$/ } readdir $dh;
    my @out;
    for my $f (@files) {
        (my $meta_file = $f) =~ s/\.eml$/.json/;
        my $meta = eval { JSON::PP->new->decode(PortalTest::Env::slurp("$dir/$meta_file")) } || {};
        push @out, { %$meta, file => "$dir/$f", raw => PortalTest::Env::slurp("$dir/$f") };
    }
    return @out;
}

sub mail_clear {
    my $dir = mail_dir() . '/new';
    opendir my $dh, $dir or return;
    unlink map { "$dir/$_" } grep { /^\d+\.(eml|json)$/ } readdir $dh;
}

# wait_for_mail($count, $timeout): wait until at least $count messages arrived
sub wait_for_mail {
    my ($count, $timeout) = @_;
    $timeout //= 10;
    my $deadline = Time::HiRes::time() + $timeout;
    my @m;
    while (1) {
        @m = mails();
        return @m if @m >= $count || Time::HiRes::time() > $deadline;
        Time::HiRes::sleep(0.05);
    }
}

# parse_mail($mail_or_file): the message parsed by Python's email package with
# policy.strict (t/smtp/parse_mail.py): { ok, error, subject, from, to, message_id, date,
# auto_submitted, content_type, headers => [[name, value]..], parts => [{content_type,
# charset, cte, text}..], defects => [..], long_lines, bare_lf }
sub parse_mail {
    my $m = shift;
    my $file = ref $m ? $m->{file} : $m;
    my $script = PortalTest::Env::top_dir() . '/t/smtp/parse_mail.py';
    open my $fh, '-|', $PortalTest::Env::PYTHON, $script, $file or die "parse_mail: $!";
    local $/;
    my $json = <$fh>;
    close $fh or die "parse_mail failed for $file\n";
    return JSON::PP->new->utf8->decode($json)->[0];
}

# mail_replies(LINES): the next SMTP commands get these replies (see t/smtp/catcher.py)
sub mail_replies {
    my @lines = @_;
    PortalTest::Env::spew(mail_dir() . '/control/replies', join('', map { "$_\n" } @lines));
}

# mail_refuse(ADDRESSES): the SMTP server refuses these recipients (550) until called
# again without them (see t/smtp/catcher.py)
sub mail_refuse {
    my @addresses = @_;
    PortalTest::Env::spew(mail_dir() . '/control/refuse', join('', map { "$_\n" } @addresses));
}

1;
