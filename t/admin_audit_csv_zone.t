# t/admin_audit_csv_zone.t — the audit CSV's practice time (issue 15): beside `at` (UTC, as
# it always was) the column at_practice_time gives the same moment on the practice's clock
# (setting time_zone), ISO 8601 with that day's UTC offset, as the screen, the file name and
# the date filters read it. Checked against the system's own zone data (POSIX, not ICU) in
# Chicago, Kolkata (+05:30), Kiritimati (+14:00, another day than UTC's) and UTC (+00:00).
#
# Runs on both databases. Uses its own client (id 9765, removed at the end) and removes the
# time_zone setting it sets.
use strict;
use warnings;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use Test::More;
use POSIX ();
use PortalTest;
use PortalTest::Admin;

my $CLIENT = 9765;
sub cleanup { cleanup_clients($CLIENT); db()->do("DELETE FROM settings WHERE name = 'time_zone'") }
cleanup();
END { eval { cleanup(); 1 } or warn "cleanup: $@" }

add_client($CLIENT, 'Zone', 'Tester', undef, 'clin1');
json_ok(staff(GET => "/clients/$CLIENT", user => 'clin1'), 200, "clin1 views $CLIENT (a row to export)");
json_ok(staff(GET => "/clients/$CLIENT", user => 'clin1'), 200, "and again");

# "2026-12-07T14:15:02Z" → unix seconds
sub utc_seconds {
    my ($y, $mo, $d, $h, $mi, $s) = $_[0] =~ /\A(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)Z\z/ or return undef;
    local $ENV{TZ} = 'UTC';
    POSIX::tzset();
    my $t = POSIX::mktime($s, $mi, $h, $d, $mo - 1, $y - 1900);
    return $t;
}

# the moment in zone as the system's tz data writes it: 2026-12-07T08:15:02-06:00
sub zone_iso {
    my ($t, $zone) = @_;
    local $ENV{TZ} = $zone;
    POSIX::tzset();
    my $s = POSIX::strftime('%Y-%m-%dT%H:%M:%S%z', localtime $t);
    $s =~ s/([+-]\d\d)(\d\d)\z/$1:$2/;
    return $s;
}

sub export_in {
    my ($zone) = @_;
    json_ok(staff(PUT => '/admin/settings', json => { time_zone => $zone }), 200, "time_zone $zone");
    my $res = staff(GET => "/admin/audit?format=csv&client_id=$CLIENT");
    is($res->code, 200, "$zone: the CSV answers 200");
    my $rows = eval { parse_csv($res->content) } || [];
    my $header = shift @$rows;
    return ($header || [], $rows, $res);
}

my ($header, $rows) = export_in('America/Chicago');
is_deeply([@$header[0, 1, -1]], ['id', 'at', 'at_practice_time'],
          'at where it always was; the practice time the last column (positional readers keep working)');
is_deeply([@$header[2 .. 12]], [qw(username action client_id object_id result detail remote_ip request_id
                                       client_first_name client_last_name display_name)],
          'the columns before it where they always were');
is(scalar @$header, 14, 'fourteen columns');
ok(@$rows >= 2, 'the two views are exported') or diag explain $rows;
ok(!(grep { @$_ != 14 } @$rows), 'fourteen fields in every record');

my %col;
@col{@$header} = (0 .. $#$header);
for my $zone ('America/Chicago', 'Asia/Kolkata', 'Pacific/Kiritimati', 'UTC') {
    ($header, $rows) = export_in($zone) unless $zone eq 'America/Chicago';
    my (@bad_at, @bad_local);
    for my $r (@$rows) {
        my $t = utc_seconds($r->[$col{at}]);
        push @bad_at, $r->[$col{at}] unless defined $t;
        push @bad_local, "$r->[$col{at}] → $r->[$col{at_practice_time}]"
            unless defined $t && $r->[$col{at_practice_time}] eq zone_iso($t, $zone);
    }
    ok(@$rows && !@bad_at, "$zone: at stays UTC (…Z)") or diag explain \@bad_at;
    ok(@$rows && !@bad_local, "$zone: at_practice_time is the same moment on the practice's clock, with its offset")
        or diag explain \@bad_local;
}
like($rows->[0][$col{at_practice_time}], qr/\+00:00\z/, 'UTC: the offset written +00:00');

# the same rows through the JSON: at there is untouched (UTC)
my $d = json_ok(staff(GET => "/admin/audit?client_id=$CLIENT&action=client.view"), 200, 'the JSON page');
like($d->{entries}[0]{at} // '', qr/Z\z/, 'JSON at: UTC as before');

# a file name in the practice's day, the column in the practice's day too
{
    my $res;
    ($header, $rows, $res) = export_in('Pacific/Kiritimati');
    my ($day) = ($res->header('Content-Disposition') // '') =~ /audit-(\d{4}-\d\d-\d\d)\.csv/;
    my $newest = $rows->[0][$col{at_practice_time}] // '';
    is(substr($newest, 0, 10), $day, 'Kiritimati: the newest row is on the file name\'s day (both the practice\'s)');
    like($newest, qr/\+14:00\z/, 'Kiritimati: +14:00');
}

cleanup();
done_testing();
