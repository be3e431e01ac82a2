# t/clients_discharged.t — a discharged client (clients.active = 0, as a roster sync
# writes it) leaves the Client dropdown and every search (name, date of birth, email; all
# clients and a caseload), stays reachable by id with "active": false for its history,
# and cannot be invited (client or representative: 409 client_discharged, nothing
# written); readmitted, they are back. Adds clients 760-761 and removes them.
use strict;
use warnings;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use Test::More;
use PortalTest;
use PortalTest::Clients;

my ($GONE, $STAYS) = (760, 761);

# only these two: clients other files made (with higher ids) are in the lists too
sub ids { [grep { $_ == $GONE || $_ == $STAYS } map { $_->{id} } @{ $_[0]{clients} || [] }] }

sub set_active {
    my ($id, $active) = @_;
    my $dbh = db();
    $dbh->do('UPDATE clients SET active = ? WHERE id = ?', undef, $active, $id);
    $dbh->disconnect;
}

# every way a person finds a client, each as admin (all clients) and clin1 (caseload)
sub finds {
    my ($user) = @_;
    my %seen;
    my $walk = sub {
        my ($q) = @_;
        my $res = list_clients($user, defined $q ? (q => $q) : (), limit => 100);
        my $data = json_ok($res, 200, "$user lists" . (defined $q ? " '$q'" : ''));
        my $ids = ids($data);
        my $cursor = $data->{next_cursor};
        while (defined $cursor) {     # the whole list: the two sort among 70 clients
            my $next = json_ok(list_clients($user, defined $q ? (q => $q) : (), limit => 100,
                                            cursor => $cursor), 200, "$user next page");
            push @$ids, @{ ids($next) };
            $cursor = $next->{next_cursor};
        }
        return join ',', sort @$ids;
    };
    return {
        list  => $walk->(undef),
        name  => $walk->('Quillfeather'),
        words => $walk->('quill dis'),
        date  => $walk->('1961-06-16'),
        email => $walk->('discharge.test@example.test'),
    };
}

{
    my $dbh = db();
    $dbh->do('INSERT INTO clients (id, first_name, last_name, date_of_birth, email) '
           . 'VALUES (?, ?, ?, ?, ?)', undef, @$_)
        for [$GONE, 'Dismas', 'Quillfeather', '1961-06-16', 'discharge.test@example.test'],
            [$STAYS, 'Dinah', 'Quillfeather', '1961-06-16', undef];
    $dbh->do('INSERT INTO staff_clients (username, client_id) VALUES (?, ?)', undef, 'clin1', $_)
        for $GONE, $STAYS;
    $dbh->disconnect;
}

my %both = (list => "$GONE,$STAYS", name => "$GONE,$STAYS", words => "$GONE",
            date => "$GONE,$STAYS", email => "$GONE");
my %one = (list => "$STAYS", name => "$STAYS", words => '', date => "$STAYS", email => '');
for my $user (qw(admin clin1)) {
    is_deeply(finds($user), \%both, "$user finds both while both are active");
}

set_active($GONE, 0);
for my $user (qw(admin clin1)) {
    is_deeply(finds($user), \%one, "$user: the discharged client is in no list or search");
}

my $view = json_ok(staff(GET => "/clients/$GONE", user => 'clin1'), 200,
                   'the discharged client is still reachable by id');
is($view->{active}, JSON::PP::false(), '... marked "active": false');
is(json_ok(staff(GET => "/clients/$STAYS", user => 'clin1'), 200, 'the other one')->{active},
   JSON::PP::true(), '... "active": true');

my $before = snapshot();
error_ok(staff(POST => "/clients/$GONE/invitations", user => 'clin1'), 409, 'client_discharged',
         'inviting a discharged client');
error_ok(staff(POST => "/clients/$GONE/representatives", user => 'clin1',
               json => { email => 'rep.discharged@example.test', first_name => 'Rhea',
                         last_name => 'Quillfeather' }),
         409, 'client_discharged', 'inviting a discharged client\'s representative');
unchanged_ok($before, 'refused invitations wrote nothing');

set_active($GONE, 1);
for my $user (qw(admin clin1)) {
    is_deeply(finds($user), \%both, "$user: readmitted, the client is back");
}
my $res = staff(POST => "/clients/$GONE/invitations", user => 'clin1');
is($res->code, 201, 'a readmitted client can be invited') or diag describe($res);

# leave the database as found: the invitation (its email may be on its way), then the clients
{
    my $dbh = db();
    my $inv = 'SELECT id FROM invitations WHERE client_id IN (760, 761)';
    $dbh->do("DELETE FROM outbox WHERE invitation_id IN ($inv)");
    $dbh->do("DELETE FROM superseded_tokens WHERE invitation_id IN ($inv)");
    $dbh->do('DELETE FROM invitations WHERE client_id IN (760, 761)');
    $dbh->do("DELETE FROM $_ WHERE client_id IN (760, 761)")
        for qw(representatives client_name_prefixes staff_clients);
    $dbh->do('DELETE FROM clients WHERE id IN (760, 761)');
    $dbh->disconnect;
}

done_testing();
