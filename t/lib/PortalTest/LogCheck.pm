package PortalTest::LogCheck;
# PortalTest::LogCheck — a test file fails on any [warn] or [error] (or worse) line in an
# httpd error log that carries one of the module's log ids (PMnnnnn) and that the file did
# not declare. Watched: the main test server's t/logs/error_log from the moment the file
# loaded PortalTest, and the error_log of every PortalTest::Standalone server it started.
# The check is one more test, run by done_testing().
#
#   use PortalTest;                       # watches t/logs/error_log, checks at done_testing
#   expect_log_ids(qw(PM00040 PM00041));  # this file provokes these on purpose
#
# Lines without a PM id (httpd's own AHnnnnn, mod_dbd...) are not judged here.
use strict;
use warnings;

use Exporter 'import';

our @EXPORT_OK = qw(watch expect_log_ids unexpected_lines check_ok);

our $LEVELS = qr/warn|error|crit|alert|emerg/;

# PMnnnnn => 1. PM00670 (PortalAllowInsecureURLs On, said at each start) is every test
# server's: their URLs are http://127.0.0.1.
my %expected = (PM00670 => 1);
my @watched;       # { file, offset }
my @harvested;     # lines read from logs that went away (a Standalone restarted from scratch)
my $hooked;

# watch(FILE [, from_start]) — judge FILE's lines written from now (or from its start).
# Watching a file again first keeps what it holds so far (it may be removed next).
sub watch {
    my ($file, $from_start) = @_;
    for my $i (reverse 0 .. $#watched) {
        next unless $watched[$i]{file} eq $file;
        push @harvested, read_new($watched[$i]);
        splice @watched, $i, 1;
    }
    push @watched, { file => $file, offset => $from_start ? 0 : (-s $file || 0) };
    return;
}

sub expect_log_ids { $expected{ uc $_ } = 1 for @_; return }

sub read_new {
    my ($w) = @_;
    open my $fh, '<', $w->{file} or return ();
    # a log that shrank was rotated or rewritten: read it all
    seek $fh, ((-s $fh) >= $w->{offset} ? $w->{offset} : 0), 0;
    my @lines = map { s/\r?\n\z//r } <$fh>;
    return map { "$w->{file}: $_" } @lines;
}

# a warn/error line with a PM id that was not declared
sub is_unexpected {
    my ($line) = @_;
    return 0 unless $line =~ /\[[\w.]*:(?:$LEVELS)\]/;
    my @ids = $line =~ /\b(PM\d{5})\b/g;
    return 0 unless @ids;
    return scalar grep { !$expected{$_} } @ids;
}

sub unexpected_lines {
    return grep { is_unexpected($_) } @harvested, map { read_new($_) } @watched;
}

# the check as a test: ok when nothing unexpected was logged
sub check_ok {
    require Test::More;
    my @bad = unexpected_lines();
    my $tb = Test::More->builder;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    $tb->ok(!@bad, 'error logs: no unexpected PMnnnnn warnings or errors'
        . (%expected ? ' (expected: ' . join(' ', sort keys %expected) . ')' : ''));
    if (@bad) {
        my @show = @bad > 20 ? (@bad[0 .. 19], '... and ' . (@bad - 20) . ' more') : @bad;
        $tb->diag(join "\n", 'unexpected lines (declare ids with expect_log_ids if provoked on purpose):', @show);
    }
    return !@bad;
}

# run check_ok from done_testing(), before the plan is printed
sub hook_done_testing {
    return if $hooked++;
    require Test2::API;
    # a file that skipped (skip_all) has no plan left to add a test to
    Test2::API::test2_add_callback_testing_done(sub {
        my $plan = Test2::API::test2_stack()->top->plan // '';
        check_ok() unless $plan eq 'SKIP';
    });
}

1;
