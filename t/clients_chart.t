# t/clients_chart.t — the EHR's chart number (clients.external_id, set by the roster
# sync or `clients set-chart`) in the Client list: the view and every list and search
# row carry it (`external_id`, null when none); a search text equal to a client's chart
# number finds that client (blanks around it and ASCII case ignored for a chart number
# written in one case), inside the caseload only, beside what the text finds as a name;
# a chart number is exact, not a prefix; keyset paging over both; the audit row says a
# chart number found someone. Its clients are new_client's, removed at the end.
use strict;
use warnings;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use Test::More;
use JSON::PP ();
use PortalTest;
use PortalTest::Admin;
use PortalTest::Clients;
use PortalTest::Invite;

# Two Chartwellqs (clin1's, clin2's) with chart numbers; a Kestrelq whose chart number
# CHARTW is also the start of the Chartwellqs' name; a client without one.
my $A = new_client(first_name => 'Nora', last_name => 'Chartwellq', visible_to => ['clin1']);
my $B = new_client(first_name => 'Otto', last_name => 'Chartwellq', visible_to => ['clin2']);
my $C = new_client(first_name => 'Pia', last_name => 'Kestrelq', visible_to => ['clin1']);
my $D = new_client(first_name => 'Rue', last_name => 'Chartwellq', visible_to => ['clin1']);
my $E = new_client(first_name => 'Sam', last_name => 'Mixedcaseq', visible_to => ['clin1']);
{
    my $set = tdb()->prepare('UPDATE clients SET external_id = ? WHERE id = ?');
    $set->execute('MRN-0012', $A->{id});
    $set->execute('MRN-0013', $B->{id});
    $set->execute('CHARTW', $C->{id});
    $set->execute('Pt-77a', $E->{id});
}
my %ours = map { $_->{id} => 1 } $A, $B, $C, $D, $E;

sub found {
    my ($user, $q, %p) = @_;
    my $data = json_ok(list_clients($user, q => $q, limit => $p{limit} // 100), 200,
                       "$user searches '$q'");
    return [grep { $ours{$_} } map { $_->{id} } @{ $data->{clients} || [] }];
}

# --- the view and the rows carry the chart number ------------------------------------------------
{
    my $v = client_view($A->{id});
    is($v && $v->{external_id}, 'MRN-0012', 'GET /clients/{id}: external_id is the chart number');
    $v = client_view($D->{id});
    ok($v && exists $v->{external_id} && !defined $v->{external_id},
       'a client without a chart number: external_id null');
    my $data = json_ok(list_clients('admin', q => 'chartwellq'), 200, 'search by name');
    my %chart = map { $_->{id} => $_ } @{ $data->{clients} || [] };
    is($chart{ $A->{id} } && $chart{ $A->{id} }{external_id}, 'MRN-0012', 'a search row carries external_id');
    ok($chart{ $D->{id} } && exists $chart{ $D->{id} }{external_id}
       && !defined $chart{ $D->{id} }{external_id}, '... null when none');
    # the unsearched list (GET /clients), admin's whole list and clin1's caseload page
    for my $user (qw(admin clin1)) {
        my ($row, $cursor);
        for (1 .. 50) {
            my $page = json_ok(list_clients($user, limit => 100, defined $cursor ? (cursor => $cursor) : ()),
                               200, "$user: the list");
            ($row) = grep { $_->{id} == $A->{id} } @{ $page->{clients} || [] };
            last if $row || !defined($cursor = $page->{next_cursor});
        }
        is($row && $row->{external_id}, 'MRN-0012', "GET /clients ($user): the row carries external_id");
    }
}

# --- search by chart number --------------------------------------------------------------------
is_deeply(found(admin => 'MRN-0012'), [$A->{id}], 'the chart number finds its client');
is_deeply(found(admin => '  MRN-0012 '), [$A->{id}], '... blanks around it ignored');
is_deeply(found(admin => 'mrn-0012'), [$A->{id}], '... typed in small letters');
is_deeply(found(admin => 'Mrn-0012'), [$A->{id}], '... or partly in capitals');
is_deeply(found(admin => 'MRN-001'), [], 'a chart number is exact, not a prefix');
is_deeply(found(admin => 'MRN-00120'), [], '... nor a longer one');
is_deeply(found(admin => 'MRN-9999'), [], 'no such chart number: nobody');
is_deeply(found(admin => 'MRN-0013'), [$B->{id}], 'admin sees every client');
is_deeply(found(clin1 => 'MRN-0012'), [$A->{id}], 'inside the caseload: found');
is_deeply(found(clin1 => 'MRN-0013'), [], "outside the caseload: nobody, as for a missing one");
is_deeply(found(clin2 => 'MRN-0012'), [], "... the other way round too");
is_deeply(found(admin => 'Pt-77a'), [$E->{id}], 'a mixed-case chart number typed as stored');
is_deeply(found(admin => 'PT-77A'), [], '... is not found in another mix of cases');
# a chart number that is also the start of a name: both
is_deeply(found(admin => 'chartw'), [$A->{id}, $B->{id}, $D->{id}, $C->{id}],
          'a text that is a name prefix and a chart number: the name matches and the chart '
          . "number's client, in list order");
is_deeply(found(clin1 => 'chartw'), [$A->{id}, $D->{id}, $C->{id}], '... inside the caseload');
is_deeply(found(clin2 => 'chartw'), [$B->{id}], "... a caseload without the chart number's client");
is_deeply(found(admin => 'kestrelq'), [$C->{id}], 'the chart-number client is still found by name');

# keyset paging over both: one row a page
{
    my ($ids, $sizes, $err) = walk_list('admin', 1, 'chartw');
    ok(!$err, 'paging a mixed search') or diag $err;
    is_deeply([grep { $ours{$_} } @$ids], [$A->{id}, $B->{id}, $D->{id}, $C->{id}],
              'one a page: every client once, in list order');
}

# discharged: no search finds them, the chart number neither
{
    tdb()->do('UPDATE clients SET active = 0 WHERE id = ?', undef, $B->{id});
    is_deeply(found(admin => 'MRN-0013'), [], 'a discharged client is not found by chart number');
    tdb()->do('UPDATE clients SET active = 1 WHERE id = ?', undef, $B->{id});
}

# --- audited like every search: the ids shown, and that a chart number found one -----------------
{
    my $mark = audit_mark();
    found(clin1 => 'MRN-0012');
    found(clin1 => 'MRN-0013');
    found(clin1 => 'chartwellq');
    my @rows = grep { $_->{action} eq 'client.search' } audit_since($mark);
    is(scalar @rows, 3, 'one client.search row a page');
    my @d = map { JSON::PP::decode_json($_->{detail}) } @rows;
    is_deeply([map { [@$_{qw(kind rows)}, $_->{client_ids}, $_->{chart_number}] } @d],
              [['name', 1, [$A->{id}], JSON::PP::true()],
               ['name', 0, [], undef],
               ['name', 2, [$A->{id}, $D->{id}], undef]],
              'kind, rows, client ids; chart_number only where one found a client')
        or diag explain \@d;
    unlike(join(' ', map { $_->{detail} } @rows), qr/MRN/i, 'never the search text');
}

cleanup_clients(map { $_->{id} } $A, $B, $C, $D, $E);
done_testing();
