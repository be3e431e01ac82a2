# t/monitoring.t — what an operator watches: GET …/api/health (unauthenticated, ok or 503
# and nothing else), the Prometheus page (SetHandler portal-manager-metrics: every line
# parsed against the text exposition format 0.0.4, counters that move with requests and
# deliveries, no client data in any label) and mod_status's section (?auto and HTML).
use strict;
use warnings;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use Test::More;
use JSON::PP ();
use PortalTest;
use PortalTest::Delivery qw(new_client wait_outbox);

# provoked on purpose: the portal_db_down vhost
expect_log_ids(qw(PM00011));

# --- the exposition format --------------------------------------------------------------------
my $NAME  = qr/[a-zA-Z_:][a-zA-Z0-9_:]*/;
my $LABEL = qr/[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\["\\n])*"/;
my $VALUE = qr/(?:[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|[+-]?Inf|NaN)/;

# parse(text) -> ({ "name{labels}" => value }, { family => type }, [bad lines])
sub parse_metrics {
    my ($text) = @_;
    my (%samples, %types, @bad);
    for my $line (split /\n/, $text) {
        if ($line =~ /^# TYPE ($NAME) (counter|gauge|histogram|summary|untyped)$/) {
            push @bad, "TYPE twice: $line" if $types{$1};
            $types{$1} = $2;
        }
        elsif ($line =~ /^# HELP $NAME .*$/) { }
        elsif ($line =~ /^($NAME)(\{(?:$LABEL(?:,$LABEL)*)?\})? ($VALUE)(?: -?\d+)?$/) {
            my ($name, $labels, $v) = ($1, $2 // '', $3);
            (my $family = $name) =~ s/_(bucket|sum|count)$// unless $types{$name};
            $family //= $name;
            push @bad, "no TYPE before: $line" unless $types{$name} || $types{$family};
            push @bad, "sample twice: $line" if exists $samples{"$name$labels"};
            $samples{"$name$labels"} = $v;
        }
        else {
            push @bad, $line;
        }
    }
    return (\%samples, \%types, \@bad);
}

sub scrape {
    my $res = http_request(GET => '/portal-manager-metrics');
    is($res->code, 200, 'metrics: 200') or diag $res->as_string;
    return ($res, parse_metrics($res->decoded_content // ''));
}

# --- health ------------------------------------------------------------------------------------
{
    my $res = staff(GET => '/health', user => undef);
    is($res->code, 200, 'health: 200 without credentials') or diag $res->as_string;
    like($res->content, qr/^\{"status":"ok"\}\n?\z/, 'health: exactly {"status":"ok"}');
    like($res->header('Cache-Control') // '', qr/no-store/, 'health: no-store');

    $res = staff(GET => '/health', user => 'admin');
    is($res->code, 200, 'health: 200 for a signed-in user too');

    $res = staff(POST => '/health', user => undef, json => {});
    is($res->code, 405, 'health: POST 405');

    # the same Location on a server whose database is down
    $res = staff(GET => '/health', user => undef, vhost => 'portal_db_down');
    is($res->code, 503, 'health, database down: 503') or diag $res->as_string;
    like($res->content, qr/^\{"status":"unavailable"\}\n?\z/, 'health, database down: nothing else said');

    # the rest of the staff API still needs a user
    $res = staff(GET => '/me', user => undef);
    is($res->code, 401, 'GET /me without credentials: still 401');
}

# --- metrics -----------------------------------------------------------------------------------
{
    my ($res, $s, $t, $bad) = scrape();
    like($res->header('Content-Type') // '', qr{^text/plain; version=0\.0\.4}, 'metrics: content type 0.0.4');
    is_deeply($bad, [], 'metrics: every line matches the exposition format') or diag explain $bad;
    for my $f (qw(portal_manager_outbox_emails portal_manager_outbox_oldest_due_age_seconds
                  portal_manager_worker_last_pass_timestamp_seconds portal_manager_deliveries_total
                  portal_manager_invitations portal_manager_api_requests_total
                  portal_manager_api_request_duration_seconds portal_manager_db_acquire_failures_total
                  portal_manager_mail_config_error portal_manager_database_up)) {
        ok($t->{$f}, "metrics: family $f") or diag explain [sort keys %$t];
    }
    is($t->{portal_manager_api_request_duration_seconds}, 'histogram', 'metrics: durations are a histogram');
    is($s->{portal_manager_database_up}, 1, 'metrics: database up');
    is($s->{portal_manager_mail_config_error}, 0, 'metrics: no mail configuration error');

    # labels: a fixed vocabulary, never a name, address or id
    my %allowed = (state => qr/^(queued|retrying|failed)$/, outcome => qr/^(sent|retry|failed)$/,
                   status => qr/^(pending|accepted|declined|revoked|superseded|locked)$/,
                   group => qr/^(me|clients|invitations|representatives|admin|recipient|health|other)$/,
                   code => qr/^[1-5]xx$/, le => qr/^(\+Inf|[0-9.]+)$/);
    my @odd;
    for my $k (keys %$s) {
        my ($labels) = $k =~ /\{(.*)\}/ or next;
        while ($labels =~ /(\w+)="([^"]*)"/g) {
            push @odd, "$k" unless $allowed{$1} && $2 =~ $allowed{$1};
        }
    }
    is_deeply(\@odd, [], 'metrics: every label value is from the fixed vocabulary');

    # histograms: cumulative buckets, +Inf = count
    my @hist_bad;
    for my $g (qw(me clients health other)) {
        my @le = map { $_->[1] } sort { $a->[0] <=> $b->[0] }
                 map { /le="([^"]+)"\}$/ ? [($1 eq '+Inf' ? 9**9**9 : $1), $s->{$_}] : () }
                 grep { /^portal_manager_api_request_duration_seconds_bucket\{group="$g",/ } keys %$s;
        push @hist_bad, "$g: buckets not cumulative" if grep { $le[$_] < $le[$_ - 1] } 1 .. $#le;
        push @hist_bad, "$g: +Inf != count"
            unless @le && $le[-1] == $s->{"portal_manager_api_request_duration_seconds_count{group=\"$g\"}"};
    }
    is_deeply(\@hist_bad, [], 'metrics: histogram buckets cumulative, +Inf equals _count');

    # counters move: requests by group and class, durations, database failures
    my $me_ok = 'portal_manager_api_requests_total{group="me",code="2xx"}';
    my $other_4xx = 'portal_manager_api_requests_total{group="other",code="4xx"}';
    my $me_count = 'portal_manager_api_request_duration_seconds_count{group="me"}';
    my $dbfail = 'portal_manager_db_acquire_failures_total';
    staff(GET => '/me') for 1 .. 3;
    staff(GET => '/no-such-route');
    staff(GET => '/me', vhost => 'portal_db_down');
    my (undef, $s2) = scrape();
    is($s2->{$me_ok} - $s->{$me_ok}, 3, 'metrics: three GET /me counted as me/2xx (across children)');
    is($s2->{$other_4xx} - $s->{$other_4xx}, 1, 'metrics: an unknown route counted as other/4xx');
    cmp_ok($s2->{$me_count} - $s->{$me_count}, '>=', 3, 'metrics: their durations observed');
    cmp_ok($s2->{$dbfail} - $s->{$dbfail}, '>=', 1, 'metrics: a database acquire failure counted');

    # a delivery: invitations by status and the worker's counters
    my $cid = new_client(staff => ['clin1']);
    my $sent = 'portal_manager_deliveries_total{outcome="sent"}';
    my $pending = 'portal_manager_invitations{status="pending"}';
    my $inv = decode_json_body(staff(POST => "/clients/$cid/invitations"));
    my $o = wait_outbox($inv && $inv->{id}, sub { $_[0]{status} eq 'sent' }, 20);
    is($o && $o->{status}, 'sent', 'an invitation delivered');
    my (undef, $s3) = scrape();
    cmp_ok($s3->{$sent} - $s2->{$sent}, '>=', 1, 'metrics: deliveries_total{sent} moved');
    cmp_ok($s3->{$pending}, '>=', 1, 'metrics: pending invitations counted');
    cmp_ok($s3->{portal_manager_worker_last_pass_timestamp_seconds}, '>', time - 60,
           'metrics: the worker completed a pass recently');

    $res = http_request(POST => '/portal-manager-metrics', body => '');
    is($res->code, 405, 'metrics: POST 405');
}

# --- mod_status ------------------------------------------------------------------------------------
{
    my $res = http_request(GET => '/server-status?auto');
    is($res->code, 200, 'server-status?auto: 200') or diag $res->as_string;
    my $body = $res->decoded_content // '';
    for my $key (qw(PortalDatabase PortalOutboxQueued PortalOutboxRetrying PortalOutboxFailed
                    PortalOutboxOldestDueAge PortalWorkerLastPassAge PortalWorkerStalled
                    PortalWorkerLastError PortalMailConfigError PortalDeliveriesSent
                    PortalDeliveriesRetried PortalDeliveriesFailed)) {
        like($body, qr/^$key: \S/m, "server-status?auto: $key");
    }
    like($body, qr/^PortalDatabase: ok$/m, 'server-status?auto: database ok');
    like($body, qr/^PortalDeliveriesSent: [1-9]\d*$/m, 'server-status?auto: deliveries since start');
    like($body, qr/^PortalWorkerStalled: 0$/m, 'server-status?auto: worker not stalled');

    $res = http_request(GET => '/server-status');
    like($res->decoded_content // '', qr{<h2>Client Portal Manager</h2>.*Outbox: \d+ queued}s,
         'server-status (HTML): the section');
}

done_testing();
