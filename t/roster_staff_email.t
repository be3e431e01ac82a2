# t/roster_staff_email.t — a front-desk email change survives the nightly roster sync
# (migration 029). Staff set a client's new address on the staff page and invite them;
# the EHR, where nobody typed it, sends the old address (or none) again that night. The
# sync must not put the old address back and supersede the invitation just sent: the
# roster's email wins only when the EHR's own value changed since the sync before, or
# when a sync names the client for the first time with an address.
#
# Runs on both databases, through PUT /admin/roster (the same code as `clients sync`).
use strict;
use warnings;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use Test::More;
use PortalTest;
use PortalTest::Invite;
use PortalTest::Admin qw(cleanup_clients);

my $HEADER = "external_id,first_name,last_name,date_of_birth,email\n";
my $CHART = "RSE-$$";

sub ours {
    @{ tdb()->selectcol_arrayref("SELECT id FROM clients WHERE external_id LIKE 'RSE-%' "
                                 . "OR last_name IN ('Frontdeskova', 'FRONTDESKOVA-LEE') ORDER BY id") };
}
cleanup_clients(ours());
END { eval { cleanup_clients(ours()); 1 } or warn "cleanup: $@" }

sub sync {
    my ($email, $name, %opt) = @_;
    my $chart = $opt{chart} // $CHART;
    my $csv = $HEADER . join(',', $chart, 'Desma', 'Frontdeskova', '1979-04-12', $email // '') . "\n";
    return json_ok(staff(PUT => '/admin/roster' . ($opt{dry} ? '?dry_run=1' : ''), body => $csv,
                         content_type => 'text/csv'), 200, $name);
}
sub client_row {
    return tdb()->selectrow_hashref(
        'SELECT id, email, roster_email FROM clients WHERE external_id = ?', undef, $CHART);
}
sub invitation_status {
    my ($id) = @_;
    my ($st) = tdb()->selectrow_array('SELECT status FROM invitations WHERE id = ?', undef, $id);
    return $st // '(none)';
}
sub counts {
    my ($d) = @_;
    return join ' ', map { "$_=" . ($d->{$_} // '?') } qw(added updated unchanged);
}

my $ehr = unique_email('rse-ehr');
my $desk = unique_email('rse-desk');

# ---- the first sync names the client with the EHR's address -------------------------------
is(counts(sync($ehr, 'first sync')), 'added=1 updated=0 unchanged=0', 'first sync adds the client');
my $c = client_row();
is(lc($c->{email} // ''), lc $ehr, 'the EHR\'s address is stored');
is(lc($c->{roster_email} // ''), lc $ehr, 'and remembered as what the roster said');
tdb()->do('INSERT INTO staff_clients (username, client_id) VALUES (?, ?)', undef, 'clin1', $c->{id});

# ---- staff change it at the front desk and invite ------------------------------------------
json_ok(staff(PUT => "/clients/$c->{id}/email", user => 'clin1', json => { email => $desk }),
        200, 'staff change the email');
my $inv = json_ok(staff(POST => "/clients/$c->{id}/invitations", user => 'clin1'), 201,
                  'staff invite the client at the new address');
my $inv_id = $inv->{invitation}{id} // $inv->{id};
ok($inv_id, 'the invitation has an id') or diag explain $inv;

# ---- the night's sync: the EHR still says the old address ------------------------------------
is(counts(sync($ehr, 'dry run, EHR unchanged', dry => 1)), 'added=0 updated=0 unchanged=1',
   'dry run: the client is unchanged');
my $night = sync($ehr, 'nightly sync, EHR unchanged');
is(counts($night), 'added=0 updated=0 unchanged=1', 'the client is unchanged');
is($night->{address_notices} // 0, 0, 'no notice of an address change');
$c = client_row();
is(lc($c->{email} // ''), lc $desk, 'the front desk\'s address stands');
is(invitation_status($inv_id), 'pending', 'the invitation staff just sent is still pending');
is(counts(sync($ehr, 'the next night')), 'added=0 updated=0 unchanged=1', 'still unchanged a night later');
is(lc(client_row()->{email} // ''), lc $desk, 'and the address still stands');

# ---- the EHR's own address changes: that is news, and it wins -------------------------------------
my $ehr2 = unique_email('rse-ehr2');
my $news = sync($ehr2, 'sync after the EHR changed the address');
is(counts($news), 'added=0 updated=1 unchanged=0', 'the client is updated');
$c = client_row();
is(lc($c->{email} // ''), lc $ehr2, 'the EHR\'s new address is stored');
is(lc($c->{roster_email} // ''), lc $ehr2, 'and remembered');
is(invitation_status($inv_id), 'superseded',
   'the invitation to the front desk\'s address ends, as with the change button');

# ---- the EHR clears the address: news too -----------------------------------------------------------
is(counts(sync(undef, 'the EHR clears the address')), 'added=0 updated=1 unchanged=0',
   'a cleared address in the EHR is a change');
$c = client_row();
is($c->{email}, undef, 'the address is cleared');
is($c->{roster_email}, '', 'the roster said: no address');

# ---- staff then set one; the EHR keeps sending none ----------------------------------------------
json_ok(staff(PUT => "/clients/$c->{id}/email", user => 'clin1', json => { email => $desk }),
        200, 'staff set an address the EHR does not have');
is(counts(sync(undef, 'the EHR still has none')), 'added=0 updated=0 unchanged=1',
   'no address from the EHR, as the night before: unchanged');
is(lc(client_row()->{email} // ''), lc $desk, 'the staff\'s address stands');

# ---- a client typed in before the first sync (no chart number yet) --------------------------------
{
    my $typed = new_client(first_name => 'Tova', last_name => 'Frontdeskova', date_of_birth => '1988-08-08',
                           email => unique_email('rse-typed'));
    my $csv = $HEADER . "RSE-T$$,Tova,Frontdeskova,1988-08-08,\n";
    my $d = json_ok(staff(PUT => '/admin/roster', body => $csv, content_type => 'text/csv'), 200,
                    'first sync names the typed-in client, the EHR without an email');
    my ($email, $said) = tdb()->selectrow_array(
        'SELECT email, roster_email FROM clients WHERE id = ?', undef, $typed->{id});
    is(lc($email // ''), lc $typed->{email}, 'a roster that never gave an address keeps the typed one');
    is($said, '', 'and the roster\'s "none" is remembered');
    my $ehr3 = unique_email('rse-typed-ehr');
    $csv = $HEADER . "RSE-T$$,Tova,Frontdeskova,1988-08-08,$ehr3\n";
    json_ok(staff(PUT => '/admin/roster', body => $csv, content_type => 'text/csv'), 200,
            'the EHR gets an address');
    ($email) = tdb()->selectrow_array('SELECT email FROM clients WHERE id = ?', undef, $typed->{id});
    is(lc($email // ''), lc $ehr3, 'the EHR\'s first address wins');
}

# ---- a client named before migration 029 (roster_email NULL) -------------------------------------
{
    $c = client_row();
    tdb()->do('UPDATE clients SET roster_email = NULL WHERE id = ?', undef, $c->{id});
    is(counts(sync($ehr2, 'first sync after the upgrade, an address that differs')),
       'added=0 updated=1 unchanged=0', 'the roster\'s address wins when it never said before');
    is(lc(client_row()->{email} // ''), lc $ehr2, 'as before migration 029');
}

# ---- an EHR that exports capitals does not overwrite the names staff see ----------------------------
{
    $c = client_row();
    my $csv = $HEADER . join(',', $CHART, 'DESMA', 'FRONTDESKOVA', '1979-04-12', $ehr2) . "\n";
    my $d = json_ok(staff(PUT => '/admin/roster', body => $csv, content_type => 'text/csv'), 200,
                    'the EHR sends the name in capitals');
    is(counts($d), 'added=0 updated=0 unchanged=1', 'capitals only: unchanged');
    my ($first, $last) = tdb()->selectrow_array('SELECT first_name, last_name FROM clients WHERE id = ?',
                                                 undef, $c->{id});
    is("$first $last", 'Desma Frontdeskova', 'the stored spelling stays');
    $csv = $HEADER . join(',', $CHART, 'DESMA', 'FRONTDESKOVA-LEE', '1979-04-12', $ehr2) . "\n";
    $d = json_ok(staff(PUT => '/admin/roster', body => $csv, content_type => 'text/csv'), 200,
                 'the EHR changes the last name, in capitals');
    is(counts($d), 'added=0 updated=1 unchanged=0', 'a real change is an update');
    ($first, $last) = tdb()->selectrow_array('SELECT first_name, last_name FROM clients WHERE id = ?',
                                              undef, $c->{id});
    is("$first $last", 'Desma FRONTDESKOVA-LEE', 'the changed name is taken as sent; the first name keeps its case');
    my $found = json_ok(staff(POST => '/clients/search', json => { q => 'frontdeskova-lee' }), 200, 'search');
    ok((grep { $_->{id} == $c->{id} } @{ $found->{clients} || [] }), 'found by the new name (its keys were made again)');
}

# the later tests (admin_roster's mass-discharge guard) count named clients
cleanup_clients(ours());
done_testing();
