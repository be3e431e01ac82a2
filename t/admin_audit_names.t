# t/admin_audit_names.t — a champion who sees only a caseload reads the whole audit trail
# (GET /admin/audit, JSON and CSV, through every page statement: no filter, a client, a
# staff member, the denied rows, an uncommon action, each with dates and without), but a
# client's names only for the clients it may view: another client's rows keep their number
# and name nobody. A champion who sees every client reads every name; the client card's own
# trail (GET /clients/{id}/audit) still answers. [issue 15]
#
# Runs on both databases. Uses its own clients (9753 in champion5's caseload, 9754 not)
# and champion5's staff row, removed at the end.
use strict;
use warnings;
use utf8;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use Test::More;
use POSIX ();
use PortalTest;
use PortalTest::Admin;

binmode Test::More->builder->$_, ':encoding(UTF-8)' for qw(output failure_output todo_output);

my @CLIENTS = (9753, 9754);
sub cleanup {
    db()->do("DELETE FROM staff_clients WHERE username = 'champion5'");
    db()->do("DELETE FROM staff WHERE username = 'champion5'");
    cleanup_clients(@CLIENTS);
}
cleanup();
END { eval { cleanup(); 1 } or warn "cleanup: $@" }

add_client(9753, 'Vera', 'Visiblename', undef, 'clin1');
add_client(9754, 'Hugo', 'Hiddenname', undef, 'clin2');
db()->do("INSERT INTO staff (username, display_name, all_clients, active) VALUES ('champion5', 'Cy Caseload', 0, 1)");
db()->do("INSERT INTO staff_clients (username, client_id) VALUES ('champion5', 9753)");

# activity on both clients: views, and a refused view of the hidden one (a denied row)
json_ok(staff(GET => '/clients/9753', user => 'clin1'), 200, 'clin1 views 9753');
json_ok(staff(GET => '/clients/9754', user => 'clin2'), 200, 'clin2 views 9754');
is(staff(GET => '/clients/9754', user => 'clin1')->code, 404, 'clin1 may not view 9754 (denied row)');
error_ok(staff(GET => '/clients/9754', user => 'champion5'), 404, 'not_found',
         'champion5 may not view client 9754');

my $today = POSIX::strftime('%Y-%m-%d', gmtime(time - 86400));
my $tomorrow = POSIX::strftime('%Y-%m-%d', gmtime(time + 2 * 86400));
my $dates = "from=$today&to=$tomorrow";
# one query per page statement (pm_api_admin.c's audit_page), without and with dates
my @SHAPES = ('', 'client_id=9754', 'client_id=9753', 'username=clin2', 'result=denied',
              'action=client.audit_view');
my @QUERIES = map { my $s = $_; ($s, $s eq '' ? $dates : "$s&$dates") } @SHAPES;

sub page {
    my ($user, $query) = @_;
    my $res = staff(GET => "/admin/audit?limit=100" . ($query ne '' ? "&$query" : ''), user => $user);
    return ($res, json_ok($res, 200, "$user: ?$query") || {});
}

# the client card's trail of 9753 as champion5, so that action=client.audit_view has rows
json_ok(staff(GET => '/clients/9753/audit', user => 'champion5'), 200,
        "champion5: 9753's own trail (GET /clients/9753/audit)");

for my $query (@QUERIES) {
    my ($res, $d) = page('champion5', $query);
    my @e = @{ $d->{entries} || [] };
    my @hidden = grep { ($_->{client_id} // 0) == 9754 } @e;
    my @seen = grep { ($_->{client_id} // 0) == 9753 } @e;
    unlike($res->content, qr/Hugo|Hiddenname/, "champion5 ?$query: no name of a client it may not view");
    ok(!(grep { defined $_->{client} } @hidden), "champion5 ?$query: 9754's rows have client null ("
       . scalar(@hidden) . ')');
    ok(!(grep { !$_->{client} || ($_->{client}{last_name} // '') ne 'Visiblename' } @seen),
       "champion5 ?$query: 9753's rows name it (" . scalar(@seen) . ')');
    if ($query =~ /^(client_id=9754|username=clin2|result=denied)/) {
        ok(@hidden, "champion5 ?$query: the hidden client's rows are there, by number");
    }
    if ($query =~ /^(client_id=9753|action=client\.audit_view)/) {
        ok(@seen, "champion5 ?$query: its own client's rows are there");
    }

    my $csv = staff(GET => "/admin/audit?format=csv" . ($query ne '' ? "&$query" : ''), user => 'champion5');
    is($csv->code, 200, "champion5 CSV ?$query: 200");
    my $text = $csv->decoded_content // '';
    unlike($text, qr/Hugo|Hiddenname/, "champion5 CSV ?$query: no name of a client it may not view");
    if ($query =~ /^client_id=9754/) {
        like($text, qr/\r\n\d+,[^,]*,[^,]*,[^,]*,9754,/, "champion5 CSV ?$query: 9754's rows, by number");
    }
    if ($query =~ /^client_id=9753/) {
        like($text, qr/Visiblename/, "champion5 CSV ?$query: its own client named");
    }
}

# a champion who sees every client reads every name, JSON and CSV
for my $query ('client_id=9754', "client_id=9754&$dates", 'username=clin2', 'result=denied') {
    my ($res, $d) = page('admin', $query);
    my @hidden = grep { ($_->{client_id} // 0) == 9754 } @{ $d->{entries} || [] };
    ok(@hidden && !(grep { !$_->{client} || ($_->{client}{last_name} // '') ne 'Hiddenname' } @hidden),
       "admin ?$query: 9754's rows name it (" . scalar(@hidden) . ')');
    like(staff(GET => "/admin/audit?format=csv&$query")->decoded_content // '', qr/Hugo,Hiddenname/,
         "admin CSV ?$query: 9754 named");
}

# once 9754 is in champion5's caseload, its names show to champion5 too
db()->do("INSERT INTO staff_clients (username, client_id) VALUES ('champion5', 9754)");
{
    my ($res, $d) = page('champion5', 'client_id=9754');
    my @e = @{ $d->{entries} || [] };
    ok(@e && !(grep { !$_->{client} || ($_->{client}{first_name} // '') ne 'Hugo' } @e),
       'champion5, 9754 granted: its rows name it (' . scalar(@e) . ')');
}

done_testing();
