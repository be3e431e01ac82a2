# t/representatives.t — client representatives in the staff API (issue 5, docs/api.md):
# POST /clients/{id}/representatives (create + invite), PUT /representatives/{id}
# (partial edit; an email change supersedes the pending invitation), POST
# /representatives/{id}/invitations (reinvite), DELETE /representatives/{id} (revoke,
# disable, keep the row). Name, relationship and email rules; duplicates; the
# representatives_enabled setting; visibility (404 + audit "denied"); the client view's
# representatives with their own portal_status and latest_invitation; the representative
# email template.
use strict;
use warnings;
use utf8;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use Test::More;
use Time::HiRes ();
use PortalTest;
use PortalTest::Invite;

# provoked on purpose: a delivery refused for good (550)
expect_log_ids(qw(PM00053));

binmode Test::More->builder->$_, ':encoding(UTF-8)' for qw(output failure_output todo_output);

# client A: clin1 only; client B: clin2 only; admin sees both
my $A = new_client(prefix => 'reps', first_name => 'Ava', visible_to => ['clin1']);
my $B = new_client(prefix => 'reps', first_name => 'Ben', visible_to => ['clin2']);

sub create_rep {
    my ($cid, %body) = @_;
    my $user = delete $body{user} // 'clin1';
    $body{email} //= unique_email('rep');
    $body{first_name} //= 'Robin';
    $body{last_name} //= 'Rep';
    return staff(POST => "/clients/$cid/representatives", user => $user, json => \%body);
}

sub rep_row {
    return tdb()->selectrow_hashref('SELECT * FROM representatives WHERE id = ?', undef, $_[0]);
}

sub count_reps {
    my ($n) = tdb()->selectrow_array('SELECT count(*) FROM representatives WHERE client_id = ?',
                                    undef, $_[0]);
    return $n;
}

# --- create: 201 {representative, invitation}, row, audit, email ------------------------------
my ($rep1, $rep1_email);
{
    $rep1_email = unique_email('rep-one');
    my $d = json_ok(create_rep($A->{id}, email => $rep1_email, first_name => 'Rhea',
                               last_name => 'Reynolds', relationship => 'guardian'),
                    201, 'create a representative');
    $rep1 = $d->{representative}{id};
    is_deeply($d->{representative}, { id => $rep1, email => $rep1_email, first_name => 'Rhea',
                                      last_name => 'Reynolds', relationship => 'guardian',
                                      preferred_language => undef,
                                      scopes => [qw(messages billing forms appointments)],
                                      starts_at => undef, ends_at => undef },
              'representative in the answer');
    my $inv = $d->{invitation};
    is($inv->{representative_id}, $rep1, 'invitation: representative_id');
    is($inv->{email}, $rep1_email, 'invitation: to the representative');
    is($inv->{status}, 'pending', 'invitation: pending');
    is($inv->{created_by}, 'clin1', 'invitation: created_by');
    my $row = rep_row($rep1);
    is($row->{client_id}, $A->{id}, 'row: client_id');
    is($row->{created_by}, 'clin1', 'row: created_by');
    ok(!defined $row->{removed_at}, 'row: not removed');
    my ($outbox) = tdb()->selectrow_array('SELECT count(*) FROM outbox WHERE invitation_id = ?',
                                         undef, $inv->{id});
    is($outbox, 1, 'one email queued');
    my @a = audit_rows(action => 'representative.create', object_id => $rep1, client_id => $A->{id});
    is(scalar @a, 1, 'create audited');
    is_deeply([@{ $a[0] }{qw(username client_id result)}], ['clin1', $A->{id}, 'ok'],
              'audit: who, client, ok');

    my ($token, $mail) = next_token($rep1_email);
    is($mail->{subject}, 'Riverside Counseling: you are invited to the client portal',
       'email: the default representative subject');
    my ($text) = map { $_->{text} } grep { $_->{content_type} eq 'text/plain' } @{ $mail->{parts} };
    like($text, qr/Hello Rhea,/, 'email: greets the representative by first name');
    like($text, qr/as a representative of one of its clients/, 'email: the representative message');
    unlike($text, qr/Ava|\Q$A->{last_name}\E|\Q$A->{date_of_birth}\E/,
           'email: nothing about the client');
    my $l = json_ok(rcpt(lookup => { token => $token }), 200, 'the emailed link works');
    is($l->{kind}, 'representative', 'lookup: kind representative');
    is($l->{recipient_first_name}, 'Rhea', 'lookup: the representative first name');
}

# --- the representative subject and message from settings ------------------------------------------
{
    set_setting(representative_invitation_subject => '{{practice_name}} – portal access for {{recipient_first_name}}');
    set_setting(representative_invitation_message =>
                "Dear {{recipient_first_name}}, you may act for a client of {{practice_name}}.\n{{link}}\nUntil {{expires_at}}.");
    set_setting(client_invitation_subject => 'CLIENT SUBJECT {{recipient_first_name}}');
    my $email = unique_email('rep-custom');
    json_ok(create_rep($A->{id}, email => $email, first_name => 'Åsa'), 201, 'create (custom template)');
    my ($token, $mail) = next_token($email);
    is($mail->{subject}, 'Riverside Counseling – portal access for Åsa',
       'email: the representative subject from settings');
    my ($text) = map { $_->{text} } grep { $_->{content_type} eq 'text/plain' } @{ $mail->{parts} };
    like($text, qr/^Dear Åsa, you may act for a client of Riverside Counseling\./m,
         'email: the representative message from settings');
    ok($token, 'email: the link is there');
    clear_setting($_) for qw(representative_invitation_subject representative_invitation_message
                             client_invitation_subject);
}

# --- names ---------------------------------------------------------------------------------------
my @good_names = (
    'José', 'Zoë', "Zoe\x{308}", "O'Brien", "O\x{2019}Brien", 'Mary-Jane', 'St. John',
    'Jean Luc', 'Nguyễn', '李', 'Иван', 'محمد', 'Ἀλέξανδρος', 'हिन्दी', 'a',
    "Nguye\x{302}\x{303}n", '佐々木', "می\x{200c}خواهم", "Ka\x{2bb}iulani",
    'x' x 100, 'é' x 100,
);
my %bad_names = (
    'empty'                => '',
    '101 characters'       => 'x' x 101,
    '101 two-byte chars'   => 'é' x 101,
    'a digit'              => 'R2D2',
    'only digits'          => '42',
    'Arabic-Indic digits'  => '١٢٣',
    'an exclamation mark'  => 'Bob!',
    'an ampersand'         => 'A&B',
    'an at sign'           => 'a@b',
    'an underscore'        => 'Ann_Lee',
    'a slash'              => 'Ann/Lee',
    'a tab'                => "Ann\tLee",
    'a newline'            => "Ann\nLee",
    'a carriage return'    => "Ann\rLee",
    'DEL'                  => "Ann\x{7f}",
    'a C1 control (NEL)'   => "Ann\x{85}",
    'a zero-width space'   => "Ann\x{200b}Lee",
    'an emoji'             => "Ann\x{1F600}",
    'a math symbol'        => 'Ann∑',
    'a less-than sign'     => '<script>',
    'a BOM alone'          => "\x{feff}",
    'a Hangul filler'      => "\x{3164}",
    'an Arabic letter mark' => "\x{61c}A",
    'a lone accent'        => "\x{301}",
    'two lone accents'     => "\x{301}\x{301}",
    'an accent after a space' => "Ann \x{301}",
    'a ZWJ at the end'     => "Ann\x{200d}",
);

{
    my $i = 0;
    for my $name (@good_names) {
        $i++;
        my $d = json_ok(create_rep($A->{id}, first_name => $name, last_name => $name),
                        201, "valid name #$i");
        is($d->{representative}{first_name}, $name, "valid name #$i: first_name kept as given");
        is((rep_row($d->{representative}{id}) || {})->{last_name}, $name,
           "valid name #$i: stored as given");
    }
    # the same through PUT on one representative
    for my $name (@good_names[0 .. 4]) {
        my $v = json_ok(staff(PUT => "/representatives/$rep1", user => 'clin1',
                              json => { first_name => $name }), 200, "PUT valid first_name '$name'");
        is(rep_in_view($v, $rep1)->{first_name}, $name, "PUT '$name': in the client view");
    }
    json_ok(staff(PUT => "/representatives/$rep1", user => 'clin1', json => { first_name => 'Rhea' }),
            200, 'PUT first_name back');
}
{
    my $before = count_reps($A->{id});
    for my $what (sort keys %bad_names) {
        for my $field (qw(first_name last_name)) {
            my $d = error_ok(create_rep($A->{id}, $field => $bad_names{$what}), 422, 'invalid_name',
                             "POST $field with $what");
            is($d->{error}{field}, $field, "POST $field with $what: field");
            $d = error_ok(staff(PUT => "/representatives/$rep1", user => 'clin1',
                                json => { $field => $bad_names{$what} }),
                          422, 'invalid_name', "PUT $field with $what");
            is($d->{error}{field}, $field, "PUT $field with $what: field");
        }
    }
    is(count_reps($A->{id}), $before, 'no representative created by a refused name');
    is(rep_row($rep1)->{first_name}, 'Rhea', 'refused PUTs changed nothing');
    is(rep_row($rep1)->{last_name}, 'Reynolds', 'refused PUTs changed nothing (last_name)');

    my $d = error_ok(staff(POST => "/clients/$A->{id}/representatives", user => 'clin1',
                           json => { email => unique_email('rep'), first_name => 'Ann' }),
                     422, 'invalid_name', 'POST without last_name');
    is($d->{error}{field}, 'last_name', 'POST without last_name: field');
    $d = error_ok(staff(POST => "/clients/$A->{id}/representatives", user => 'clin1',
                        json => { email => unique_email('rep'), last_name => 'Lee' }),
                  422, 'invalid_name', 'POST without first_name');
    is($d->{error}{field}, 'first_name', 'POST without first_name: field');
    $d = error_ok(create_rep($A->{id}, first_name => 5), 422, 'invalid_name', 'first_name a number');
    is($d->{error}{field}, 'first_name', 'first_name a number: field');
    $d = error_ok(create_rep($A->{id}, last_name => ['Lee']), 422, 'invalid_name', 'last_name an array');
    is($d->{error}{field}, 'last_name', 'last_name an array: field');
    my $res = staff(POST => "/clients/$A->{id}/representatives", user => 'clin1',
                    json => '{"email":"nul@example.test","first_name":"Ann\u0000","last_name":"Lee"}');
    ok($res->code == 400 || $res->code == 422, 'a NUL in a name is refused (400 or 422)')
        or diag $res->status_line;
    is(count_reps($A->{id}), $before, 'still no representative created');
}

# --- relationship --------------------------------------------------------------------------------
{
    for my $rel (qw(parent guardian spouse caregiver other)) {
        my $d = json_ok(create_rep($A->{id}, relationship => $rel), 201, "relationship $rel");
        is($d->{representative}{relationship}, $rel, "relationship $rel: in the answer");
        is(rep_row($d->{representative}{id})->{relationship}, $rel, "relationship $rel: stored");
    }
    my $d = json_ok(create_rep($A->{id}), 201, 'no relationship');
    ok(!defined $d->{representative}{relationship}, 'no relationship: null');
    $d = json_ok(create_rep($A->{id}, relationship => undef), 201, 'relationship null');
    ok(!defined rep_row($d->{representative}{id})->{relationship}, 'relationship null: stored NULL');
    my $before = count_reps($A->{id});
    for my $bad ('Parent', 'friend', '', ' parent', 'parent ', 5, JSON::PP::true()) {
        my $label = ref $bad ? 'true' : "'$bad'";
        $d = error_ok(create_rep($A->{id}, relationship => $bad), 422, 'invalid_relationship',
                      "relationship $label");
        is($d->{error}{field}, 'relationship', "relationship $label: field");
    }
    error_ok(staff(PUT => "/representatives/$rep1", user => 'clin1', json => { relationship => 'friend' }),
             422, 'invalid_relationship', 'PUT relationship friend');
    is(count_reps($A->{id}), $before, 'no representative created by a refused relationship');
    my $v = json_ok(staff(PUT => "/representatives/$rep1", user => 'clin1',
                          json => { relationship => 'caregiver' }), 200, 'PUT relationship caregiver');
    my $r = rep_in_view($v, $rep1);
    is_deeply([@$r{qw(relationship first_name last_name email)}],
              ['caregiver', 'Rhea', 'Reynolds', $rep1_email], 'partial PUT changed only the relationship');
}

# --- email ------------------------------------------------------------------------------------------
{
    my $before = count_reps($A->{id});
    for my $bad ('not-an-email', '', 'a@b@example.test', 'sp ace@example.test', "cr\r\n\@example.test",
                 'nobody@', '@example.test') {
        (my $label = $bad) =~ s/([\r\n])/sprintf '\\x%02x', ord $1/ge;
        my $d = error_ok(create_rep($A->{id}, email => $bad), 422, 'invalid_email', "email '$label'");
        is($d->{error}{field}, 'email', "email '$label': field");
    }
    error_ok(staff(POST => "/clients/$A->{id}/representatives", user => 'clin1',
                   json => { first_name => 'No', last_name => 'Mail' }), 422, 'invalid_email', 'no email');
    error_ok(staff(PUT => "/representatives/$rep1", user => 'clin1', json => { email => 'bad' }),
             422, 'invalid_email', 'PUT a bad email');
    error_ok(create_rep($A->{id}, phone => '555'), 400, 'unknown_field', 'POST with an unknown field');
    error_ok(staff(PUT => "/representatives/$rep1", user => 'clin1', json => { client_id => $B->{id} }),
             400, 'unknown_field', 'PUT with an unknown field');
    is(count_reps($A->{id}), $before, 'no representative created');
    is(rep_row($rep1)->{client_id}, $A->{id}, 'still the same client');
}

# --- duplicates: one live representative per email and client, case-insensitively ------------------------
{
    my $email = 'Dup.Rep.' . $$ . '@Example.TEST';
    my $d = json_ok(create_rep($A->{id}, email => $email), 201, 'first representative with an email');
    my $dup = $d->{representative}{id};
    my $before = count_reps($A->{id});
    for my $variant ($email, lc $email, uc $email) {
        error_ok(create_rep($A->{id}, email => $variant), 409, 'duplicate_representative',
                 "the same email again ($variant)");
    }
    is(count_reps($A->{id}), $before, 'no duplicate row');
    json_ok(create_rep($B->{id}, email => lc $email, user => 'clin2'), 201,
            'the same email for another client');

    my $other = json_ok(create_rep($A->{id}), 201, 'another representative')->{representative}{id};
    error_ok(staff(PUT => "/representatives/$other", user => 'clin1', json => { email => uc $email }),
             409, 'duplicate_representative', "PUT another representative's email (other case)");

    # a case-only change of one's own email is no change of address
    my ($inv_id) = tdb()->selectrow_array(
        "SELECT id FROM invitations WHERE representative_id = ? AND status = 'pending'", undef, $dup);
    json_ok(staff(PUT => "/representatives/$dup", user => 'clin1', json => { email => lc $email }),
            200, 'PUT own email in lower case');
    is(invitation_row($inv_id)->{status}, 'pending', 'a case-only email change supersedes nothing');

    json_ok(staff(DELETE => "/representatives/$dup", user => 'clin1'), 200, 'remove the representative');
    json_ok(create_rep($A->{id}, email => $email), 201, 'the email is free again after removal');
}

# --- representatives_enabled = false -------------------------------------------------------------------
{
    my $d = json_ok(create_rep($A->{id}), 201, 'a representative before turning them off');
    my $rid = $d->{representative}{id};
    json_ok(staff(POST => "/invitations/$d->{invitation}{id}/revoke", user => 'clin1'), 200,
            'revoke its invitation');
    set_setting(representatives_enabled => JSON::PP::false());
    my $before = count_reps($A->{id});
    error_ok(create_rep($A->{id}), 409, 'representatives_disabled', 'create while disabled');
    is(count_reps($A->{id}), $before, 'no row created while disabled');
    error_ok(staff(POST => "/representatives/$rid/invitations", user => 'clin1'), 409,
             'representatives_disabled', 'reinvite while disabled');
    set_setting(representatives_enabled => JSON::PP::true());
    json_ok(staff(POST => "/representatives/$rid/invitations", user => 'clin1'), 201,
            'reinvite when enabled again');
    clear_setting('representatives_enabled');
}

# --- visibility: another client's representative is a 404, audited as denied ------------------------------
{
    my $rid = $rep1;      # client A's, which clin2 may not see
    my $row_before = rep_row($rid);
    my @cases = (
        [POST   => "/clients/$A->{id}/representatives", 'representative.create',
         { email => unique_email('rep'), first_name => 'Eve', last_name => 'Sneak' }, client_id => $A->{id}],
        [PUT    => "/representatives/$rid", 'representative.update', { first_name => 'Hacked' },
         object_id => $rid],
        [DELETE => "/representatives/$rid", 'representative.remove', undef, object_id => $rid],
        [POST   => "/representatives/$rid/invitations", 'invitation.create', undef, object_id => $rid],
    );
    for my $c (@cases) {
        my ($method, $path, $action, $body, $key, $id) = @$c;
        my $n_before = scalar audit_rows(username => 'clin2', action => $action, result => 'denied');
        my $res = staff($method => $path, user => 'clin2', (defined $body ? (json => $body) : ()));
        error_ok($res, 404, 'not_found', "clin2: $method $path");
        unlike($res->content, qr/Rhea|Reynolds|\Q$rep1_email\E|\Q$A->{last_name}\E/,
               "clin2: $method $path reveals nothing");
        my @a = audit_rows(username => 'clin2', action => $action, result => 'denied');
        is(scalar @a, $n_before + 1, "clin2: $method $path audited as denied");
        is($a[-1]{$key}, $id, "clin2: $method $path audit names the $key") if @a;
    }
    is_deeply(rep_row($rid), $row_before, "the other client's representative is unchanged");
    my ($n) = tdb()->selectrow_array(
        "SELECT count(*) FROM representatives WHERE client_id = ? AND first_name = 'Eve'", undef, $A->{id});
    is($n, 0, 'clin2 created nothing');

    # a representative that does not exist reads the same
    for my $c ([PUT => '/representatives/99999999', { first_name => 'X' }],
               [DELETE => '/representatives/99999999', undef],
               [POST => '/representatives/99999999/invitations', undef]) {
        error_ok(staff($c->[0] => $c->[1], user => 'admin', (defined $c->[2] ? (json => $c->[2]) : ())),
                 404, 'not_found', "$c->[0] $c->[1]");
    }
    error_ok(create_rep(99999999, user => 'admin'), 404, 'not_found', 'POST for a client that does not exist');
    # admin sees every client
    json_ok(staff(PUT => "/representatives/$rid", user => 'admin', json => { relationship => 'parent' }),
            200, 'admin may edit it');
}

# --- PUT email change: the pending invitation is superseded; reinvite goes to the new address ----------------
{
    my $old = unique_email('rep-move-old');
    my $d = json_ok(create_rep($A->{id}, email => $old, first_name => 'Moira'), 201, 'a representative to move');
    my ($rid, $inv_id) = ($d->{representative}{id}, $d->{invitation}{id});
    my $token = next_token($old);
    my $new = unique_email('rep-move-new');
    my $v = json_ok(staff(PUT => "/representatives/$rid", user => 'clin1', json => { email => $new }), 200,
                    'PUT a new email');
    is($v->{id}, $A->{id}, 'PUT answers with the client view');
    is(rep_in_view($v, $rid)->{email}, $new, 'the view shows the new email');
    is(invitation_row($inv_id)->{status}, 'superseded', 'the pending invitation is superseded');
    error_ok(rcpt(lookup => { token => $token }), 410, 'address_changed', 'the old link: the address changed');
    error_ok(rcpt(accept => { token => $token, date_of_birth => $A->{date_of_birth},
                              username => 'moira.old', password => 'a perfectly long pass' }),
             410, 'address_changed', 'the old link cannot be accepted');
    is(rep_in_view($v, $rid)->{latest_invitation}{status}, 'address_changed',
       'staff see the invitation ended by the address change');
    my @a = audit_rows(action => 'representative.update', object_id => $rid);
    like($a[-1]{detail} // '', qr/"superseded_invitations":\s*1/, 'audit detail: one superseded');
    isnt(rep_in_view($v, $rid)->{portal_status}, 'invited', 'staff no longer see "invited"');

    my $inv = json_ok(staff(POST => "/representatives/$rid/invitations", user => 'clin1'), 201, 'reinvite');
    is($inv->{email}, $new, 'the reinvitation goes to the new address');
    my $token2 = next_token($new);
    my $l = json_ok(rcpt(lookup => { token => $token2 }), 200, 'the new link works');
    is($l->{recipient_first_name}, 'Moira', 'new link: the representative');
    is(scalar mails_to($old), 1, 'nothing more was sent to the old address');
    error_ok(staff(POST => "/representatives/$rid/invitations", user => 'clin1'), 409,
             'invitation_pending', 'reinvite while one is pending');

    json_ok(rcpt(accept => { token => $token2, date_of_birth => $A->{date_of_birth},
                             username => "moira.$$", password => 'a perfectly long pass' }), 201, 'accept');
    error_ok(staff(POST => "/representatives/$rid/invitations", user => 'clin1'), 409,
             'already_active', 'reinvite an active representative');
    json_ok(staff(PUT => "/representatives/$rid", user => 'clin1', json => {}), 200, 'PUT {} changes nothing');
    is(rep_row($rid)->{email}, $new, 'PUT {}: email unchanged');
}

# --- DELETE: revokes open invitations, disables the account, keeps the row --------------------------------
{
    my $email = unique_email('rep-del');
    my $d = json_ok(create_rep($A->{id}, email => $email, first_name => 'Dirk'), 201, 'a representative to remove');
    my ($rid, $inv_id) = ($d->{representative}{id}, $d->{invitation}{id});
    my $token = next_token($email);
    my $v = json_ok(staff(DELETE => "/representatives/$rid", user => 'clin1'), 200, 'DELETE');
    is($v->{id}, $A->{id}, 'DELETE answers with the client view');
    ok(!rep_in_view($v, $rid), 'no longer listed');
    ok(rep_row($rid)->{removed_at}, 'row kept with removed_at');
    is(invitation_row($inv_id)->{status}, 'revoked', 'its pending invitation is revoked');
    error_ok(rcpt(lookup => { token => $token }), 410, 'revoked', 'its link: revoked');
    my @a = audit_rows(action => 'representative.remove', object_id => $rid);
    is(scalar @a, 1, 'removal audited');
    like($a[0]{detail} // '', qr/"revoked_invitations":\s*1/, 'audit detail: one revoked');
    for my $c ([PUT => "/representatives/$rid", { first_name => 'Back' }],
               [DELETE => "/representatives/$rid", undef],
               [POST => "/representatives/$rid/invitations", undef]) {
        error_ok(staff($c->[0] => $c->[1], user => 'clin1', (defined $c->[2] ? (json => $c->[2]) : ())),
                 404, 'not_found', "removed representative: $c->[0] $c->[1]");
    }

    # a locked invitation is revoked too; an account is disabled
    my $d2 = json_ok(create_rep($A->{id}, first_name => 'Lock'), 201, 'a representative with a locked invitation');
    tdb()->do("UPDATE invitations SET status = 'locked' WHERE id = ?", undef, $d2->{invitation}{id});
    json_ok(staff(DELETE => "/representatives/$d2->{representative}{id}", user => 'clin1'), 200, 'DELETE it');
    is(invitation_row($d2->{invitation}{id})->{status}, 'revoked', 'the locked invitation is revoked');

    my $email3 = unique_email('rep-del-active');
    my $d3 = json_ok(create_rep($A->{id}, email => $email3, first_name => 'Acme'), 201, 'a representative who accepts');
    my $t3 = next_token($email3);
    json_ok(rcpt(accept => { token => $t3, date_of_birth => $A->{date_of_birth},
                             username => "acme.$$", password => 'a perfectly long pass' }), 201, 'accept');
    isnt(login_code("acme.$$", 'a perfectly long pass'), 401, 'can log in');
    json_ok(staff(DELETE => "/representatives/$d3->{representative}{id}", user => 'clin1'), 200, 'DELETE them');
    my ($status) = tdb()->selectrow_array('SELECT status FROM portal_accounts WHERE representative_id = ?',
                                         undef, $d3->{representative}{id});
    is($status, 'disabled', 'their account is disabled');
    is(login_code("acme.$$", 'a perfectly long pass'), 401, 'login refused after removal');
    my @a3 = audit_rows(action => 'representative.remove', object_id => $d3->{representative}{id});
    like($a3[0]{detail} // '', qr/"disabled_accounts":\s*1/, 'audit detail: one account disabled');
}

# --- the client view: each representative with its own portal_status and latest invitation -------------------
{
    my $C = new_client(prefix => 'reps-view', first_name => 'Cleo', visible_to => ['clin1']);
    my %rep;

    # first one whose email the mail server refuses for good (550): delivery failed
    my $idle = sub {
        for (1 .. 400) {
            my ($busy) = tdb()->selectrow_array(
                "SELECT count(*) FROM outbox WHERE status = 'queued' OR lease_until IS NOT NULL");
            return 1 unless $busy;
            Time::HiRes::sleep(0.05);
        }
        return 0;
    };
    ok($idle->(), 'no email in flight');
    mail_replies('RCPT 550 5.1.1 No such user');
    my $fd = json_ok(create_rep($C->{id}, first_name => 'Failed'), 201, 'rep failed');
    $rep{failed} = { id => $fd->{representative}{id}, inv => $fd->{invitation}{id} };
    ok($idle->(), 'its delivery finished');
    my ($ostatus) = tdb()->selectrow_array('SELECT status FROM outbox WHERE invitation_id = ?',
                                            undef, $rep{failed}{inv});
    is($ostatus, 'failed', 'rep failed: delivery failed (550)');
    for my $k (qw(invited active declined expired locked revoked reinvited)) {
        my $email = unique_email("view-$k");
        my $d = json_ok(create_rep($C->{id}, email => $email, first_name => ucfirst $k), 201, "rep $k");
        $rep{$k} = { id => $d->{representative}{id}, inv => $d->{invitation}{id}, email => $email };
    }
    my $tok = sub { scalar next_token($rep{$_[0]}{email}) };
    json_ok(rcpt(accept => { token => $tok->('active'), date_of_birth => $C->{date_of_birth},
                             username => "view.active.$$", password => 'a perfectly long pass' }), 201, 'accept');
    json_ok(rcpt(decline => { token => $tok->('declined') }), 200, 'decline');
    tdb()->do('UPDATE invitations SET expires_at = ? WHERE id = ?', undef, time - 60, $rep{expired}{inv});
    tdb()->do("UPDATE invitations SET status = 'locked', verify_failures = 5 WHERE id = ?", undef,
             $rep{locked}{inv});
    json_ok(staff(POST => "/invitations/$rep{revoked}{inv}/revoke", user => 'clin1'), 200, 'revoke');
    json_ok(rcpt(decline => { token => $tok->('reinvited') }), 200, 'decline (to be reinvited)');
    my $re = json_ok(staff(POST => "/representatives/$rep{reinvited}{id}/invitations", user => 'clin1'),
                     201, 'reinvite');
    $tok->('invited');   # its email arrived

    my $v = json_ok(staff(GET => "/clients/$C->{id}", user => 'clin1'), 200, 'client view');
    is($v->{portal_status}, 'not_invited', "representatives do not change the client's own status");
    is_deeply([map { $_->{id} } @{ $v->{representatives} }],
              [map { $rep{$_}{id} } qw(failed invited active declined expired locked revoked reinvited)],
              'representatives listed in order of creation');
    my %want = (invited => ['invited', 'pending'], active => ['active', 'accepted'],
                declined => ['declined', 'declined'], expired => ['expired', 'expired'],
                locked => ['locked', 'locked'], revoked => ['revoked', 'revoked'],
                reinvited => ['invited', 'pending'], failed => ['failed', 'pending']);
    for my $k (sort keys %want) {
        my $r = rep_in_view($v, $rep{$k}{id});
        is($r->{portal_status}, $want{$k}[0], "rep $k: portal_status");
        is($r->{latest_invitation}{status}, $want{$k}[1], "rep $k: latest invitation status");
        is($r->{latest_invitation}{representative_id}, $rep{$k}{id}, "rep $k: latest invitation is theirs");
        is_deeply([sort keys %$r], [sort qw(id email first_name last_name relationship created_at
                                            preferred_language portal_status latest_invitation
                                            scopes starts_at ends_at)],
                  "rep $k: fields");
    }
    is(rep_in_view($v, $rep{reinvited}{id})->{latest_invitation}{id}, $re->{id},
       'rep reinvited: latest_invitation is the newest one');
    my @rep_invs = grep { defined $_->{representative_id} } @{ $v->{invitations} };
    is(scalar @rep_invs, 9, "the client's invitation list includes the representatives' invitations");
    is(rep_in_view($v, $rep{failed}{id})->{latest_invitation}{delivery}, 'failed',
       'rep failed: latest invitation delivery failed');
}

done_testing();
