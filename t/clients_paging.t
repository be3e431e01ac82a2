# t/clients_paging.t — keyset paging of GET /clients and POST /clients/search: walking every page of a caseload,
# with every page size, returns each visible client exactly once and in order, also
# where names tie (clients 11-15 are all "Sam Smith") and with a search. Clients added
# behind the cursor while someone pages do not shift the pages (no OFFSET).
use strict;
use warnings;
use utf8;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use Test::More;
use PortalTest;
use PortalTest::Clients;
use Unicode::Normalize qw(NFD);

sub ceil_div { my ($a, $b) = @_; int(($a + $b - 1) / $b) }

sub dupes {
    my %seen;
    return grep { $seen{$_}++ } @_;
}

# walk_ok(user, limit, q, \@want)
sub walk_ok {
    my ($user, $limit, $q, $want) = @_;
    my $name = "$user, limit $limit" . (defined $q ? ", q=$q" : '');
    my ($ids, $sizes, $err) = walk_list($user, $limit, $q);
    ok(!$err, "$name: every page answered") or diag $err;
    is_deeply($ids, $want, "$name: each client once, in order") or diag explain { got => $ids, want => $want };
    is(scalar(dupes(@$ids)), 0, "$name: no client twice");
    my $pages = @$want ? ceil_div(scalar @$want, $limit) : 1;
    is(scalar @$sizes, $pages, "$name: $pages page(s), no empty page at the end");
    my @short = grep { $sizes->[$_] != $limit } 0 .. $#$sizes - 1;
    ok(!@short, "$name: every page but the last is full") or diag "sizes: @$sizes";
}

# name words as the module folds them for a test's plain queries: split at spaces
# and hyphens, apostrophes dropped, accents and case ignored
sub folded_words {
    my @w;
    for my $name (@_) {
        (my $n = NFD($name)) =~ s/\p{Mn}//g;
        $n =~ s/['\x{2019}]//g;
        push @w, map { lc } grep { length } split /[ -]/, $n;
    }
    return @w;
}

# the expected result of a one-word search: a prefix of a word of the name
sub expected_search {
    my ($user, $q) = @_;
    my $rows = client_rows();
    my ($k) = folded_words($q);
    return grep {
        my $id = $_;
        grep { index($_, $k) == 0 } folded_words($rows->{$id}{first_name}, $rows->{$id}{last_name})
    } expected_ids($user);
}

# --- every page size, every caseload ---------------------------------------------------------
for my $user (qw(clin1 clin2 admin)) {
    my @want = expected_ids($user);
    cmp_ok(scalar @want, '>=', 5, "$user sees some clients");
    for my $limit (grep { $_ <= 100 } 1 .. @want + 1, 50, 100) {   # 100: the most a page holds
        walk_ok($user, $limit, undef, \@want);
    }
}

# --- searches, paged ---------------------------------------------------------------------------
for my $case ([admin => 'smith'], [admin => 'sam'], [clin1 => 'smith'], [admin => 'pat'],
              [clin1 => 'pat'], [admin => 'a'], [admin => 'Z'], [clin2 => 'm']) {
    my ($user, $q) = @$case;
    my @want = expected_search($user, $q);
    ok(@want >= 1, "$user q=$q matches someone");
    walk_ok($user, $_, $q, \@want) for 1 .. 4, 7;
}

# --- ties: only the id orders the five Sam Smiths -------------------------------------------------
{
    my ($ids) = walk_list('admin', 1, 'sam');
    is_deeply($ids, [11, 12, 13, 14, 15], 'Sam Smith ×5 (one spelled SAM SMITH), one a page: by id');
    ($ids) = walk_list('clin1', 2, 'sam smith');
    is_deeply($ids, [11, 13, 14], 'two words, paged: each on a word of the name');
    ($ids) = walk_list('clin1', 1, 'smith, s');
    is_deeply($ids, [11, 13, 14], 'the list\'s own format (Smith, S), one a page');
    ($ids) = walk_list('clin1', 2, 'smith');
    is_deeply($ids, [16, 11, 13, 14], 'clin1: Alex Smith, then the Sams by id (12 and 15 are not theirs)');
}

# --- a page boundary inside the ties, and the cursor carries on ----------------------------------
{
    my $p1 = json_ok(list_clients('admin', q => 'smith', limit => 3), 200, 'smith, page 1');
    is_deeply([map { $_->{id} } @{ $p1->{clients} }], [16, 11, 12], 'smith page 1');
    my $p2 = json_ok(list_clients('admin', q => 'smith', limit => 3, cursor => $p1->{next_cursor}),
                     200, 'smith, page 2');
    is_deeply([map { $_->{id} } @{ $p2->{clients} }], [13, 14, 15], 'smith page 2: the rest of the ties');
    ok(!defined $p2->{next_cursor}, 'smith page 2 is the last');
    # the same cursor again: the same page (a cursor is a position, not a session)
    my $again = json_ok(list_clients('admin', q => 'smith', limit => 3, cursor => $p1->{next_cursor}),
                        200, 'smith, page 2 again');
    is_deeply($again->{clients}, $p2->{clients}, 'a cursor can be used twice');
}

# --- clients added while paging: pages do not shift (keyset, not OFFSET) -------------------------
{
    my @before = expected_ids('admin');
    my $p1 = json_ok(staff(GET => '/clients?limit=5', user => 'admin'), 200, 'admin page 1');
    my @ids = map { $_->{id} } @{ $p1->{clients} };
    my $dbh = db();
    my $ins = 'INSERT INTO clients (id, first_name, last_name, date_of_birth) VALUES (?, ?, ?, ?)';
    $dbh->do($ins, undef, 900, 'Aaron', 'Aardvark', '2000-01-01');   # before the cursor
    $dbh->do($ins, undef, 901, 'Zed', 'Zzz', '2000-01-01');          # after it
    my $cursor = $p1->{next_cursor};
    while (defined $cursor) {
        my $p = json_ok(list_clients('admin', limit => 5, cursor => $cursor), 200, 'admin next page');
        push @ids, map { $_->{id} } @{ $p->{clients} };
        $cursor = $p->{next_cursor};
    }
    # 900 and 901 have no sort key yet: the module computes them on this walk
    my @want = sort_clients(@before, 901);
    is_deeply(\@ids, \@want, 'added before the cursor: not seen; added after it: seen once; nothing twice')
        or diag explain { got => \@ids, want => \@want };
    $dbh->do('DELETE FROM clients WHERE id IN (900, 901)');
    $dbh->disconnect;
}

# --- a caseload follows its clients' keys (migration 023's triggers) ----------------------------
# staff_clients keeps a copy of each client's sort key, so a caseload pages in list order
# from its own index: a client and a grant written by plain SQL, then a rename, then a
# discharge, each seen in the caseload's list as in the client's own row
{
    my $dbh = db();
    # a client who has had its keys for a while, granted by plain SQL: the grant takes them
    my %mine = map { $_ => 1 } expected_ids('clin1');
    my ($other) = grep { !$mine{$_} } expected_ids('admin');
    $dbh->do('INSERT INTO staff_clients (username, client_id) VALUES (?, ?)', undef, 'clin1', $other);
    my ($granted) = walk_list('clin1', 3);
    is_deeply($granted, [sort_clients(expected_ids('clin1'))],
              "client $other granted by plain SQL: in the caseload, in list order")
        or diag explain $granted;
    $dbh->do('DELETE FROM staff_clients WHERE username = ? AND client_id = ?', undef, 'clin1', $other);
    $dbh->do('INSERT INTO clients (id, first_name, last_name, date_of_birth) VALUES (?, ?, ?, ?)',
             undef, 902, 'Aaron', 'Aardvark', '2000-01-01');
    $dbh->do('INSERT INTO staff_clients (username, client_id) VALUES (?, ?)', undef, 'clin1', 902);
    my $key_copy = sub {
        $dbh->selectrow_array('SELECT (sc.sort_key IS NULL AND c.sort_key IS NULL) '
            . 'OR sc.sort_key = c.sort_key FROM staff_clients sc JOIN clients c ON c.id = '
            . "sc.client_id WHERE sc.username = 'clin1' AND sc.client_id = 902");
    };
    my ($ids) = walk_list('clin1', 3);
    is($ids->[0], 902, 'a client granted by plain SQL, keys computed on the walk: first in the caseload')
        or diag explain $ids;
    ok($key_copy->(), 'the caseload row carries the sort key the client got');
    is_deeply($ids, [sort_clients(expected_ids('clin1'))], 'the caseload in list order')
        or diag explain $ids;
    $dbh->do('UPDATE clients SET first_name = ?, last_name = ? WHERE id = ?', undef,
             'Zed', 'Zzz', 902);
    ($ids) = walk_list('clin1', 3);
    is($ids->[-1], 902, 'renamed by plain SQL: last in the caseload') or diag explain $ids;
    ok($key_copy->(), 'the caseload row carries the new sort key');
    ($ids) = walk_list('clin1', 3, 'zzz');
    is_deeply($ids, [902], 'the caseload search finds the new name');
    $dbh->do('UPDATE clients SET active = 0 WHERE id = 902');
    ($ids) = walk_list('clin1', 3);
    ok(!grep({ $_ == 902 } @$ids), 'discharged: gone from the caseload list') or diag explain $ids;
    ($ids) = walk_list('clin1', 3, 'zzz');
    is_deeply($ids, [], 'and from its search');
    $dbh->do('DELETE FROM staff_clients WHERE client_id = 902');
    $dbh->do('DELETE FROM clients WHERE id = 902');
    $dbh->disconnect;
}

done_testing();
