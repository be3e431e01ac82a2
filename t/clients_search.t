# t/clients_search.t — search that finds people (issue 11): POST /clients/search with
# name words (each query word a prefix of a different word of the name, any order;
# case, accents and apostrophes ignored, in any script), a date of birth, an email
# address; the list sorted the way the practice's language sorts (collation_locale);
# client rows written without keys (by another program) are found; caseload
# visibility; paging through a multi-word search. Adds clients 700-719 and removes them
# (ids 700-999 are this file's: other files' clients, e.g. from new_client, start at 1001).
use strict;
use warnings;
use utf8;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use Test::More;
use PortalTest;
use PortalTest::Clients;

binmode(Test::More->builder->$_, ':encoding(UTF-8)') for qw(output failure_output todo_output);

# id, first name, last name, date of birth, email, caseload of clin1 (else clin2's)
my @CLIENTS = (
    [700, 'Ana Lúcia',  'Ferreira',        '1990-12-10', 'ana.ferreira@example.test',   1],
    [701, 'James',      'Smith',           '1984-03-02', 'James.Smith@Example.TEST',    1],
    [702, 'Rosa',       'Ortega-Díaz',     '1979-05-06', 'rosa@example.test',           1],
    [703, 'Lars',       'Ångström',        '1966-07-08', 'lars@example.test',           1],
    [704, 'Siobhán',    'Ó Súilleabháin',  '1990-12-10', 'siobhan@example.test',        0],
    [705, 'Wei',        'Zhang',           '1991-01-01', 'wei@example.test',            1],
    [706, 'Luis',       'Hernández',       '1992-02-02', 'luis@example.test',           1],
    [707, 'Seán',       "O\x{2019}Neill",  '1993-03-03', 'sean@example.test',           1],
    [708, 'Νίκος',      'Παπαδόπουλος',    '1994-04-04', 'nikos@example.test',          1],
    [709, 'Дмитрий',    'Соколов',         '1995-05-05', 'dmitri@example.test',         1],
    [710, 'Văn An',     'Nguyễn',          '1996-06-06', 'an.nguyen@example.test',      1],
    [711, 'Bea',        'Alvarado',        '1997-07-07', 'bea@example.test',            0],
    # a word longer than the 16 characters whose prefixes are indexed
    [712, 'Hubert',     'Wolfeschlegelsteinhausen', '1998-08-08', undef,                1],
);
# twelve "Maria Pereira"s and one Maria Pereira-Lopes for paging a two-word search
my @MARIAS = map { [720 + $_, 'Maria', 'Pereira', '2000-01-01', undef, 1] } 0 .. 11;

sub ids { [map { $_->{id} } @{ $_[0]{clients} || [] }] }

# the ids of the whole list, page after page (other test files add clients: more than
# one page of 100)
sub whole_list {
    my ($name) = @_;
    my (@all, $cursor);
    for my $page (1 .. 50) {
        my $data = json_ok(list_clients('admin', limit => 100, defined $cursor ? (cursor => $cursor) : ()),
                           200, "$name, page $page");
        push @all, @{ ids($data) };
        last unless defined($cursor = $data->{next_cursor});
    }
    return { clients => [map { { id => $_ } } @all] };
}

sub ours { [grep { $_ >= 700 && $_ < 1000 } @{ $_[0] }] }

sub found {
    my ($user, $q, %p) = @_;
    my $data = json_ok(list_clients($user, q => $q, limit => $p{limit} // 100), 200,
                       "$user searches '$q'");
    return ids($data);
}

# rows written as another program would (issue 13): only names, date of birth and
# email — no sort key, no name-word keys, no other column
{
    my $dbh = db();
    for my $c (@CLIENTS, @MARIAS) {
        my ($id, $first, $last, $dob, $email, $mine) = @$c;
        $dbh->do('INSERT INTO clients (id, first_name, last_name, date_of_birth, email) '
               . 'VALUES (?, ?, ?, ?, ?)', undef, $id, $first, $last, $dob, $email);
        $dbh->do('INSERT INTO staff_clients (username, client_id) VALUES (?, ?)',
                 undef, $mine ? 'clin1' : 'clin2', $id);
    }
    my ($n) = $dbh->selectrow_array('SELECT count(*) FROM clients WHERE id >= 700 AND id < 1000 AND sort_key IS NULL');
    is($n, @CLIENTS + @MARIAS, 'rows written without keys');
    $dbh->disconnect;
}

# --- name words -------------------------------------------------------------------------------
my @CASES = (
    [admin => 'Ana L',          [700]],
    [admin => 'ana l',          [700]],
    [admin => 'lúcia ana',      [700]],
    [admin => 'ferreira, ana',  [700]],
    [admin => 'alv',            [711, 8]],       # Alvarado, Álvarez (accents ignored)
    [admin => 'nun',            [18, 3]],        # Nunez, Núñez
    [admin => 'nunez',          [18, 3]],
    [admin => 'zoe',            [18, 3]],        # Zoe, Zoë
    [admin => 'hernan',         [706]],          # Hernández
    [admin => 'ob',             [4]],            # O'Brien
    [admin => 'o brien',        [4]],            # ... typed with a space
    [admin => 'brien',          [4]],            # ... the part after the apostrophe
    [admin => "o nei",          [707]],          # O’Neill (curly), typed with a space
    [admin => "o\x{2019}b",     [4]],            # the curly apostrophe phones type
    [admin => "o'nei",          [707]],          # O’Neill stored with the curly one
    [admin => "o'n",            [21, 707]],      # ... and Matrix-One: "one" starts with "on"
    [admin => 'oneill',         [707]],
    [admin => 'James Smith',    [701]],
    [admin => 'james smith',    [701]],
    [admin => 'smith james',    [701]],
    [admin => 'Smith, J',       [701]],          # the format the list shows
    [admin => 'smith, jim',     []],
    [admin => 'smith smith',    []],             # two words need two words of the name
    [admin => 'diaz',           [702]],          # Ortega-Díaz
    [admin => 'ortega-diaz',    [702]],
    [admin => 'rosa ortega díaz', [702]],
    [admin => 'ang',            [703]],          # Ångström
    [admin => 'sui',            [704]],          # Ó Súilleabháin
    [admin => 'o suil',         [704]],
    [admin => 'νικ',            [708]],          # Greek: Νίκος, accent and case ignored
    [admin => 'ΠΑΠΑΔΟΠ',        [708]],
    [admin => 'παπαδοπουλος νικος', [708]],
    [admin => 'дми',            [709]],          # Cyrillic
    [admin => 'СОКОЛОВ',        [709]],
    [admin => 'nguyen',         [710]],          # Vietnamese: Nguyễn
    [admin => 'van an nguyen',  [710]],
    [admin => 'văn',            [710]],
    [admin => 'nguyen x',       []],
    [admin => 'wolfeschlegelste', [712]],        # 16 characters: the indexed prefix
    [admin => 'wolfeschlegelsteinhausen', [712]], # longer: the rest checked on the name
    [admin => 'WOLFESCHLEGELSTEINHAUSEN hub', [712]],
    [admin => 'wolfeschlegelsteinx', []],        # same first 16, then differs
    [admin => "'",              []],             # nothing to search for finds nobody
    [admin => ', ,',            []],
    # inside the caseload
    [clin1 => 'sui',            []],             # clin2's
    [clin2 => 'sui',            [704]],
    [clin1 => 'alv',            []],             # Alvarado and Álvarez are clin2's
    [clin2 => 'alv',            [711, 8]],
    [clin2 => 'o suil',         [704]],          # two words inside the caseload
    [clin1 => 'o suil',         []],
    [clin1 => 'smith j',        [701]],
    [admin => 's o',            [704, 707]],     # two initials: Ó Súilleabháin, O’Neill
    [admin => 'j s',            [701]],
);
for my $c (@CASES) {
    my ($user, $q, $want) = @$c;
    my $got = [grep { $_ < 720 } @{ found($user, $q) }];
    is_deeply($got, $want, "$user '$q' finds [@$want]") or diag explain $got;
}

{
    my $dbh = db();
    my ($n) = $dbh->selectrow_array('SELECT count(*) FROM clients WHERE id >= 700 AND id < 1000 AND sort_key IS NULL');
    is($n, 0, 'the module computed the missing keys (read-miss)');
    my ($keys) = $dbh->selectrow_array('SELECT count(*) FROM client_name_prefixes WHERE client_id = 700');
    is($keys, 16 + 32, 'Ana Lúcia Ferreira: one key per prefix of each name word (3 + 5 + 8), '
                     . 'and each with the initials of the two other words');
    my ($stale) = $dbh->selectrow_array('SELECT count(*) FROM client_name_prefixes n JOIN clients c '
                                      . 'ON c.id = n.client_id WHERE n.sort_key <> c.sort_key');
    is($stale, 0, "every prefix row carries its client's sort key");
    my ($long) = $dbh->selectrow_array('SELECT count(*) FROM client_name_prefixes WHERE client_id = 712');
    is($long, 2 * (6 + 16), 'Hubert Wolfeschlegelsteinhausen: prefixes up to 16 characters, '
                          . 'alone and with the other word\'s initial');
    # a name changed by another program: the trigger forgets the key, the module recomputes
    $dbh->do("UPDATE clients SET last_name = 'Ferreira-Costa' WHERE id = 700");
    $dbh->disconnect;
    is_deeply(found(admin => 'costa'), [700], 'a name changed by another program is found by its new word');
    is_deeply(found(admin => 'ana ferr'), [700], '... and by the old words it still has');
    # renamed again, without the old word: its rows are found from the client's key set
    # and deleted (the key table has no index by client)
    $dbh = db();
    $dbh->do("UPDATE clients SET last_name = 'Costa' WHERE id = 700");
    $dbh->disconnect;
    is_deeply(found(admin => 'costa'), [700], 'renamed again: found by the new name');
    is_deeply(ours(found(admin => 'ferr')), [], '... and no longer by the word it lost');
    $dbh = db();
    my ($rows) = $dbh->selectrow_array('SELECT count(*) FROM client_name_prefixes WHERE client_id = 700');
    my ($set) = $dbh->selectrow_array('SELECT prefixes FROM client_name_key_sets WHERE client_id = 700');
    is($rows, scalar(split / /, $set // ''), "its rows are exactly the ones its key set names ($rows)");
    $dbh->do("UPDATE clients SET last_name = 'Ferreira-Costa' WHERE id = 700");
    $dbh->disconnect;
    is_deeply(found(admin => 'ana ferr'), [700], 'and back: Ana Lúcia Ferreira-Costa again');
}

# --- date of birth and email --------------------------------------------------------------------
is_deeply(ours(found(admin => '1990-12-10')), [700, 704], 'a date YYYY-MM-DD finds who was born that day');
is_deeply(ours(found(admin => '12/10/1990')), [700, 704], 'MM/DD/YYYY (US order) too');
is_deeply(ours(found(admin => '12-10-1990')), [700, 704], 'and MM-DD-YYYY, as people type it too');
is_deeply(ours(found(clin1 => '12/10/1990')), [700], 'a date inside the caseload only');
is_deeply(ours(found(admin => '10/12/1990')), [], 'US order: 10/12 is October 12');
is_deeply(ours(found(admin => '1990-12-1')), [], 'a date is exact, not a prefix');
is_deeply(found(admin => 'james.smith@example.test'), [701], 'an email address, any case');
is_deeply(found(admin => 'JAMES.SMITH@EXAMPLE.TEST'), [701], 'an email address in capitals');
is_deeply(found(admin => 'james.smith@example'), [], 'an email address is exact');
is_deeply(found(clin2 => 'james.smith@example.test'), [], 'an email outside the caseload: nobody');
is_deeply(found(admin => 'siobhan@example.test'), [704], 'a client with a plain email');

# --- sort in the practice's language ------------------------------------------------------------
{
    my $data = whole_list('the whole list');
    my @order = grep { $_ == 8 || $_ == 703 || $_ == 704 || $_ == 705 || $_ == 5 || $_ == 4 }
                @{ ids($data) };
    # Ó Súilleabháin before O'Brien: the space sorts before the apostrophe
    is_deeply(\@order, [8, 5, 703, 704, 4, 705],
              'en: Álvarez and Ångström among the As, Ó Súilleabháin among the Os, Zhang last')
        or diag explain \@order;
}

# --- collation_locale ------------------------------------------------------------------------------
{
    my $res = staff(PUT => '/admin/settings', json => { collation_locale => 'xx_bogus' });
    my $e = error_ok($res, 422, 'invalid_setting', 'an unknown locale is refused');
    is($e->{error}{field}, 'collation_locale', 'field collation_locale');
    my $doc = json_ok(staff(GET => '/admin/settings'), 200, 'settings');
    is($doc->{collation_locale}, 'en', 'collation_locale defaults to en');
    json_ok(staff(PUT => '/admin/settings', json => { collation_locale => 'sv' }), 200, 'Swedish');
    my $data = whole_list('the list in Swedish');
    my @order = grep { $_ == 703 || $_ == 705 || $_ == 5 } @{ ids($data) };
    is_deeply(\@order, [5, 705, 703], 'sv: Ångström after Zhang');
    my $dbh = db();
    my ($n) = $dbh->selectrow_array("SELECT count(*) FROM clients WHERE sort_locale <> 'sv' OR sort_key IS NULL");
    is($n, 0, 'every sort key recomputed for sv');
    ($n) = $dbh->selectrow_array('SELECT count(*) FROM client_name_prefixes n JOIN clients c '
                               . 'ON c.id = n.client_id WHERE n.sort_key <> c.sort_key');
    is($n, 0, 'no search key is left with the English sort key (each found from its key set)');
    # keys another program forgot while the practice sorts in Swedish: the list reads
    # collation_locale only when some client has no keys, and must still read it then
    $dbh->do('UPDATE clients SET sort_key = NULL WHERE id IN (5, 703, 705)');
    $data = whole_list('the list in Swedish, three clients without keys');
    @order = grep { $_ == 703 || $_ == 705 || $_ == 5 } @{ ids($data) };
    is_deeply(\@order, [5, 705, 703], 'sv after a read-miss: Ångström after Zhang');
    ($n) = $dbh->selectrow_array("SELECT count(*) FROM clients WHERE sort_locale <> 'sv' OR sort_key IS NULL");
    is($n, 0, 'the read-miss keyed them in sv');
    $dbh->disconnect;
    json_ok(staff(PUT => '/admin/settings', json => { collation_locale => undef }), 200, 'back to the default');
    $data = json_ok(staff(GET => '/clients?limit=100', user => 'admin'), 200, 'the list in English');
    @order = grep { $_ == 703 || $_ == 705 || $_ == 5 } @{ ids($data) };
    is_deeply(\@order, [5, 703, 705], 'en again: Ångström among the As');
}

# --- paging a two-word search --------------------------------------------------------------------
for my $limit (1, 2, 5, 12, 13) {
    my ($ids, $sizes, $err) = walk_list('clin1', $limit, 'maria pereira');
    ok(!$err, "maria pereira, limit $limit: every page answered") or diag $err;
    is_deeply($ids, [map { 720 + $_ } 0 .. 11], "maria pereira, limit $limit: each once, by id");
}
{
    # 'pereira p' needs a second word starting with p: no Maria Pereira has one, so
    # the page is filled from later candidates (every Pereira is a candidate of the index)
    my $dbh = db();
    $dbh->do('INSERT INTO clients (id, first_name, last_name, date_of_birth) '
           . "VALUES (719, 'Paula', 'Pereira', '2000-02-02')");
    $dbh->do("INSERT INTO staff_clients (username, client_id) VALUES ('clin1', 719)");
    $dbh->disconnect;
    my ($ids) = walk_list('clin1', 1, 'pereira p');
    is_deeply($ids, [719], 'pereira p: only Paula, past twelve Marias');
}

# --- one prefix over several name words: the runs of each word are merged ---------------------
{
    # "mar" covers six different name words; some clients have two of them (each must
    # come once), and clin1 sees only the even ids
    my @MAR = (
        [740, 'Mara', 'Quist'], [741, 'Marco', 'Martins'], [742, 'Mariana', 'Martins'],
        [743, 'Marco', 'Abel'], [744, 'Bruno', 'Marques'], [745, 'Mara', 'Marques'],
        [746, 'Mário', 'Zeller'], [747, 'Ana', 'Martins'], [748, 'Marco', 'Young'],
        [749, 'Mariana', 'Ibsen'], [750, 'Leo', 'Marques'], [751, 'Mara', 'Martins'],
    );
    my $dbh = db();
    for my $c (@MAR) {
        $dbh->do('INSERT INTO clients (id, first_name, last_name, date_of_birth) '
               . "VALUES (?, ?, ?, '2001-01-01')", undef, $c->[0], $c->[1], $c->[2]);
        $dbh->do('INSERT INTO staff_clients (username, client_id) VALUES (?, ?)',
                 undef, $c->[0] % 2 ? 'clin2' : 'clin1', $c->[0]);
    }
    $dbh->disconnect;
    my %mar = map { $_->[0] => 1 } @MAR;
    # the expected order: the unsearched list's (another statement), cut to these clients
    my $all = json_ok(staff(GET => '/clients?limit=100', user => 'admin'), 200, 'the list');
    my $next = $all->{next_cursor};
    my @list = @{ ids($all) };
    while (defined $next) {
        my $page = json_ok(list_clients('admin', limit => 100, cursor => $next), 200, 'the list, on');
        push @list, @{ ids($page) };
        $next = $page->{next_cursor};
    }
    my @want = grep { $mar{$_} } @list;
    is(scalar @want, scalar @MAR, 'every "mar" client is in the unsearched list');
    for my $limit (1, 2, 3, 5, 100) {
        my ($got, undef, $err) = walk_list('admin', $limit, 'mar');
        ok(!$err, "mar, limit $limit: every page answered") or diag $err;
        is_deeply([grep { $mar{$_} } @$got], \@want, "mar, limit $limit: each once, in list order");
        my ($mine, undef, $err2) = walk_list('clin1', $limit, 'mar');
        ok(!$err2, "mar as clin1, limit $limit: every page answered") or diag $err2;
        is_deeply([grep { $mar{$_} } @$mine], [grep { $_ % 2 == 0 } @want],
                  "mar as clin1, limit $limit: only the caseload, each once, in list order");
    }
    my ($two) = walk_list('admin', 2, 'mar mar');
    is_deeply([grep { $mar{$_} } @$two], [grep { $_ == 741 || $_ == 742 || $_ == 745 || $_ == 751 } @want],
              'mar mar: two different "mar" words, in list order');
}

{
    my $dbh = db();
    $dbh->do('DELETE FROM client_name_prefixes WHERE client_id >= 700 AND client_id < 1000');
    $dbh->do('DELETE FROM staff_clients WHERE client_id >= 700 AND client_id < 1000');
    $dbh->do('DELETE FROM clients WHERE id >= 700 AND id < 1000');
    $dbh->disconnect;
}

done_testing();
