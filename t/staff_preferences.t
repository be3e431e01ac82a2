# t/staff_preferences.t — a staff member's own notices (issue 15): GET /me answers the
# caller's email (set only by the administrator's portal-manager-admin staff update
# --email) and notify; PUT /me/preferences {"notify": "none"|"immediate"|"daily"} sets
# the caller's own, audited staff.preferences {before, after}. Anything else is refused
# with nothing changed; there is no route that changes someone else's.
# Uses clin2 (and reads clin1); leaves both as the seed has them (daily, no email).
use strict;
use warnings;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use Test::More;
use JSON::PP ();
use PortalTest;
use PortalTest::Clients qw(audit_mark audit_since audit_row_ok audit_chain_problems);

my $USER = 'clin2';

sub stored {
    my $user = shift;
    my $dbh = db();
    my $row = $dbh->selectrow_hashref('SELECT email, notify FROM staff WHERE username = ?',
                                      undef, $user);
    $dbh->disconnect;
    return $row;
}

sub set_email {
    my ($user, $email) = @_;
    my $dbh = db();
    $dbh->do('UPDATE staff SET email = ? WHERE username = ?', undef, $email, $user);
    $dbh->disconnect;
}

sub me { json_ok(staff(GET => '/me', user => $_[0] // $USER), 200, "GET /me as " . ($_[0] // $USER)) }

sub put_notify {
    my ($body, %opt) = @_;
    return staff(PUT => '/me/preferences', user => $USER, json => $body, %opt);
}

# refused_ok($res, $status, $code, $field, $name): the error, and nothing changed
sub refused_ok {
    my ($res, $status, $code, $field, $name, $before, $mark) = @_;
    my $err = error_ok($res, $status, $code, $name);
    is($err && $err->{error}{field}, $field, "$name: field " . ($field // 'none'))
        if defined $field;
    is_deeply(stored($USER), $before, "$name: the staff row is unchanged");
    is(scalar(my @rows = audit_since($mark)), 0, "$name: nothing in the audit trail");
}

# --- the default ------------------------------------------------------------------------
set_email($USER, undef);
{
    my $me = me();
    ok(exists $me->{email} && !defined $me->{email}, 'GET /me: email is null without an address')
        or diag explain $me;
    is($me->{notify}, 'daily', 'GET /me: notify defaults to daily');
    is(stored($USER)->{notify}, 'daily', 'the database says daily');
}

# --- the address the administrator set -------------------------------------------------------
set_email($USER, 'chris.counselor@example.org');
is(me()->{email}, 'chris.counselor@example.org', 'GET /me: the caller\'s own email');
ok(!defined me('clin1')->{email}, 'GET /me as clin1: not clin2\'s email');

# --- each value stored, read back, audited ---------------------------------------------------
my $before = 'daily';
for my $value (qw(immediate none daily none)) {
    my $mark = audit_mark();
    my $res = put_notify({ notify => $value });
    my $data = json_ok($res, 200, "PUT notify $value");
    is_deeply($data, { notify => $value }, "PUT notify $value: answers the new preferences")
        or diag explain $data;
    is(me()->{notify}, $value, "GET /me after $value: notify $value");
    is(stored($USER)->{notify}, $value, "the database after $value: notify $value");
    my @rows = audit_since($mark);
    audit_row_ok(\@rows, $res, { username => $USER, action => 'staff.preferences', result => 'ok',
                                 client_id => undef, object_id => undef }, "PUT notify $value");
    my $detail = @rows && eval { JSON::PP->new->decode($rows[0]{detail}) };
    is_deeply($detail, { before => $before, after => $value },
              "PUT notify $value: audit detail {before: $before, after: $value}")
        or diag explain \@rows;
    is_deeply([audit_chain_problems($mark)], [], "PUT notify $value: the audit chain holds");
    $before = $value;
}
is(stored('clin1')->{notify}, 'daily', 'clin1\'s own notify is untouched by clin2\'s');
is(stored($USER)->{email}, 'chris.counselor@example.org', 'PUT /me/preferences leaves the email alone');

# --- refused: anything but the three values (422), other fields (400) ---------------------------
for my $case (['weekly' => 'weekly'], ['empty' => ''], ['upper case' => 'DAILY'],
              ['padded' => ' daily'], ['null' => undef], ['number' => 1],
              ['true' => JSON::PP::true()], ['array' => ['daily']], ['object' => { v => 'daily' }]) {
    my ($what, $value) = @$case;
    my ($snap, $mark) = (stored($USER), audit_mark());
    refused_ok(put_notify({ notify => $value }), 422, 'invalid_notify', 'notify',
               "notify $what", $snap, $mark);
}
{
    my ($snap, $mark) = (stored($USER), audit_mark());
    refused_ok(put_notify({}), 422, 'invalid_notify', 'notify', 'no notify', $snap, $mark);
    refused_ok(put_notify({ notify => 'daily', email => 'me@example.org' }), 400, 'unknown_field',
               'email', 'the email is not the caller\'s to set', $snap, $mark);
    refused_ok(put_notify({ notify => 'immediate', username => 'clin1' }), 400, 'unknown_field',
               'username', 'a username in the body', $snap, $mark);
    refused_ok(put_notify('["none"]'), 400, 'invalid_json', undef, 'a body that is not an object',
               $snap, $mark);
}

# --- CSRF as every other write ------------------------------------------------------------------
{
    my ($snap, $mark) = (stored($USER), audit_mark());
    refused_ok(put_notify({ notify => 'immediate' }, csrf => 0), 403, 'csrf', undef,
               'no X-Requested-With', $snap, $mark);
    refused_ok(put_notify({ notify => 'immediate' }, headers => ['Origin' => 'https://evil.example']),
               403, 'csrf', undef, 'a foreign Origin', $snap, $mark);
    refused_ok(put_notify({ notify => 'immediate' }, headers => ['Sec-Fetch-Site' => 'cross-site']),
               403, 'csrf', undef, 'Sec-Fetch-Site: cross-site', $snap, $mark);
    refused_ok(staff(PUT => '/me/preferences', user => $USER, body => '{"notify":"immediate"}',
                     content_type => 'text/plain'), 415, 'unsupported_media_type', undef,
               'a text/plain body', $snap, $mark);
}

# --- nobody else's: no route, no way through the body ----------------------------------------------
{
    my ($snap, $mark) = (stored('clin1'), audit_mark());
    for my $path ('/staff/clin1/preferences', '/me/preferences/clin1', '/clin1/preferences') {
        error_ok(staff(PUT => $path, user => $USER, json => { notify => 'none' }), 404, 'not_found',
                 "PUT $path");
    }
    is_deeply(stored('clin1'), $snap, 'clin1\'s row is unchanged');
    is(scalar(my @rows = audit_since($mark)), 0, 'no audit row for the refused paths');
    my $res = staff(GET => '/me/preferences', user => $USER);
    error_ok($res, 405, 'method_not_allowed', 'GET /me/preferences');
    like($res->header('Allow') // '', qr/\bPUT\b/, 'GET /me/preferences: Allow names PUT');
    error_ok(staff(PUT => '/me/preferences', user => 'inactive', json => { notify => 'none' }),
             403, 'not_staff', 'inactive staff');
    error_ok(staff(PUT => '/me/preferences', user => 'nobody_staff', json => { notify => 'none' }),
             403, 'not_staff', 'a user not in staff');
    is(staff(PUT => '/me/preferences', user => undef, json => { notify => 'none' })->code, 401,
       'no credentials: 401');
}

# --- turned on again after none: notices start from now, not from where they stopped -----------
{
    my $mark = sub {
        my $dbh = db();
        my ($v) = $dbh->selectrow_array('SELECT notices_after FROM staff WHERE username = ?', undef, $USER);
        $dbh->disconnect;
        return $v;
    };
    my $set_mark = sub {
        my $dbh = db();
        $dbh->do('UPDATE staff SET notices_after = ? WHERE username = ?', undef, $_[0], $USER);
        $dbh->disconnect;
    };
    is(put_notify({ notify => 'none' })->code, 200, 'notices off');
    $set_mark->(5);
    is(put_notify({ notify => 'immediate' })->code, 200, 'on again (immediate)');
    is($mark->(), undef, 'on after none: the mark is cleared (the worker starts it at the trail\'s end)');
    $set_mark->(7);
    is(put_notify({ notify => 'daily' })->code, 200, 'immediate to daily');
    is($mark->(), 7, 'from one kind of notice to another: the mark stays');
    $set_mark->(undef);
}

# --- the seed's state again ---------------------------------------------------------------------
is(put_notify({ notify => 'daily' })->code, 200, 'back to daily');
set_email($USER, undef);
is_deeply(stored($USER), { email => undef, notify => 'daily' }, 'clin2 as the seed has it');

done_testing();
