# t/reviews.t — coming of age (issue 14): a client under 18 is "minor" in the view;
# from minor_review_days before the 18th birthday each representative's grant made
# while the client was a minor is due for review (the account's review_due, GET
# /reviews for the caseload) until staff keep it with a note or end it (POST
# /grants/{id}/review, audited); with end_representative_access_at_majority the
# delivery worker ends the unreviewed ones on the birthday (audited as "system").
use strict;
use warnings;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use Test::More;
use JSON::PP ();
use Time::HiRes ();
use Time::Piece ();
use Time::Seconds qw(ONE_DAY);
use PortalTest;
use PortalTest::Invite;

set_setting(time_zone => 'UTC');
clear_setting('minor_review_days');
clear_setting('end_representative_access_at_majority');

my $TODAY = Time::Piece::gmtime();
sub day_in { ($TODAY + ONE_DAY * $_[0])->ymd }
# a date of birth whose 18th birthday is $n days from today (never a Feb 29)
sub dob_turning_18_in {
    my $n = shift;
    my ($y, $md) = day_in($n) =~ /^(\d{4})-(.*)$/;
    $md = '03-01' if $md eq '02-29';
    return sprintf('%04d-%s', $y - 18, $md);
}

# a client on clin1's caseload with one representative who accepted; returns
# (client, username, grant id, representative id)
my $n = 0;
sub client_with_rep_account {
    my ($dob, %o) = @_;
    $n++;
    my $c = new_client(prefix => 'review', first_name => 'Mina', date_of_birth => $dob,
                       visible_to => [$o{user} // 'clin1']);
    my $tag = join '', map { chr(ord('a') + $_) } split //, sprintf('%03d', $n);
    my $email = unique_email('review-rep');
    my $d = json_ok(staff(POST => "/clients/$c->{id}/representatives", user => $o{user} // 'clin1',
                          json => { email => $email, first_name => 'Parent', last_name => "Review$tag",
                                    relationship => 'parent' }), 201, "representative for client $n");
    my $token = next_token($email);
    my $user = "review.rep.$$.$n";
    json_ok(rcpt(accept => { token => $token, date_of_birth => $dob, username => $user,
                             password => 'a long enough password' }), 201, "representative $n accepts");
    my ($gid) = tdb()->selectrow_array('SELECT g.id FROM account_grants g JOIN portal_accounts a '
                                       . 'ON a.id = g.account_id WHERE a.username = ?', undef, $user);
    return ($c, $user, $gid, $d->{representative}{id});
}
sub backdate_grant {            # as if granted $days days ago
    my ($gid, $days) = @_;
    tdb()->do('UPDATE account_grants SET created_at = created_at - ? WHERE id = ?', undef,
              $days * 86400, $gid);
}
sub grant { tdb()->selectrow_hashref('SELECT * FROM account_grants WHERE id = ?', undef, $_[0]) }
sub reviews { json_ok(staff(GET => '/reviews', user => $_[0] // 'clin1'), 200, 'GET /reviews') }
sub listed { my ($r, $gid) = @_; scalar grep { $_->{grant_id} == $gid } @{ $r->{reviews} } }
sub account_of {
    my ($view, $user) = @_;
    my ($a) = grep { $_->{username} eq $user } @{ $view->{accounts} || [] };
    return $a;
}
sub review { staff(POST => "/grants/$_[0]/review", user => $_[2] // 'clin1', json => $_[1]) }

my ($soon, $soon_user, $soon_grant) = client_with_rep_account(dob_turning_18_in(10));
my ($young, $young_user, $young_grant) = client_with_rep_account(dob_turning_18_in(100));
my ($adult, $adult_user, $adult_grant) = client_with_rep_account('1980-05-05');
my ($past, $past_user, $past_grant) = client_with_rep_account(dob_turning_18_in(-5));
backdate_grant($past_grant, 400);     # granted while still a minor
my ($late, $late_user, $late_grant) = client_with_rep_account(dob_turning_18_in(-5));
                                       # granted after the birthday: never due

# --- the client view ------------------------------------------------------------------------------
{
    my $v = client_view($soon->{id}, 'clin1');
    ok($v->{minor}, 'turning 18 in 10 days: minor');
    is($v->{turns_18_on}, day_in(10), 'turns_18_on');
    my $a = account_of($v, $soon_user);
    ok($a->{review_due}, 'its representative\'s account: review_due');
    is($a->{grant_id}, $soon_grant, 'grant_id');
    ok(!defined $a->{review}, 'no review yet');

    $v = client_view($young->{id}, 'clin1');
    ok($v->{minor}, '100 days to go: minor');
    ok(!account_of($v, $young_user)->{review_due}, 'but not due yet (30 days ahead)');
    $v = client_view($adult->{id}, 'clin1');
    ok(!$v->{minor} && !defined $v->{turns_18_on}, 'an adult is not a minor');
    ok(!account_of($v, $adult_user)->{review_due}, 'an adult\'s representative is never due');
    $v = client_view($past->{id}, 'clin1');
    ok(!$v->{minor}, 'turned 18 five days ago: not a minor');
    ok(account_of($v, $past_user)->{review_due}, 'still due until someone reviews it');
    ok(!account_of(client_view($late->{id}, 'clin1'), $late_user)->{review_due},
       'a grant made after the 18th birthday is not due');
}

# --- GET /reviews -----------------------------------------------------------------------------------
{
    my $r = reviews();
    ok(listed($r, $soon_grant) && listed($r, $past_grant), 'the due reviews are listed');
    ok(!listed($r, $young_grant) && !listed($r, $adult_grant) && !listed($r, $late_grant),
       'the others are not');
    my ($item) = grep { $_->{grant_id} == $soon_grant } @{ $r->{reviews} };
    is_deeply([$item->{client}{id}, $item->{client}{turns_18_on}, $item->{client}{minor} ? 1 : 0,
               $item->{representative}{relationship}, $item->{account}{username}],
              [$soon->{id}, day_in(10), 1, 'parent', $soon_user], 'an item: client, representative, account');
    is($r->{count}, scalar @{ $r->{reviews} }, 'count');
    my $other = reviews('clin2');
    ok(!listed($other, $soon_grant) && !listed($other, $past_grant),
       'another caseload does not see them');
    error_ok(staff(GET => '/reviews?all=1', user => 'clin1'), 400, 'invalid_parameter', 'no parameters');
    ok(scalar(audit_rows(action => 'review.list', username => 'clin1')) >= 1, 'the list is audited');

    set_setting(minor_review_days => 5);
    ok(!listed(reviews(), $soon_grant), 'minor_review_days 5: not due 10 days ahead');
    ok(listed(reviews(), $past_grant), 'but past the birthday still due');
    set_setting(minor_review_days => 10);
    ok(listed(reviews(), $soon_grant), 'minor_review_days 10: due exactly 10 days ahead');
    clear_setting('minor_review_days');
}

# --- POST /grants/{id}/review -------------------------------------------------------------------------
{
    my $before = JSON::PP->new->canonical->encode(grant($soon_grant));
    error_ok(review($soon_grant, { decision => 'keep' }), 422, 'note_required', 'keep needs a note');
    error_ok(review($soon_grant, { decision => 'maybe', note => 'x' }), 422, 'invalid_decision',
             'an unknown decision');
    error_ok(review($soon_grant, { note => 'x' }), 422, 'invalid_decision', 'no decision');
    error_ok(review($soon_grant, { decision => 'keep', note => 'x' x 501 }), 422, 'invalid_note', 'a note too long');
    error_ok(review($soon_grant, { decision => 'keep', note => 'ok', extra => 1 }), 400, 'unknown_field',
             'an unknown field');
    error_ok(review($soon_grant, { decision => 'keep', note => 'ok' }, 'clin2'), 404, 'not_found',
             'a grant of a client outside the caseload');
    error_ok(review($young_grant, { decision => 'end' }), 409, 'review_not_due', 'not due yet');
    error_ok(review($adult_grant, { decision => 'end' }), 409, 'review_not_due', 'an adult\'s');
    error_ok(review(999_999_999, { decision => 'end' }), 404, 'not_found', 'no such grant');
    is(JSON::PP->new->canonical->encode(grant($soon_grant)), $before, 'none of these changed the grant');

    my $v = json_ok(review($soon_grant, { decision => 'keep', note => 'Guardianship continues (court order).' }),
                    200, 'keep, with a note');
    my $a = account_of($v, $soon_user);
    ok(!$a->{review_due}, 'no longer due');
    is($a->{review}{decision}, 'keep', 'review: keep');
    is($a->{review}{note}, 'Guardianship continues (court order).', 'review: the note');
    ok($a->{review}{reviewed_by} && $a->{review}{reviewed_at}, 'review: by whom and when');
    is(grant($soon_grant)->{status}, 'active', 'the grant stays active');
    ok(!listed(reviews(), $soon_grant), 'and leaves the list');
    error_ok(review($soon_grant, { decision => 'end' }), 409, 'already_reviewed', 'a second review');
    my @au = audit_rows(action => 'grant.review', object_id => $soon_grant, result => 'ok');
    is(scalar @au, 1, 'audited once');
    unlike($au[0]{detail} // '', qr/Guardianship/, 'the note is not copied into the audit trail');
    is(scalar(audit_rows(action => 'grant.review', object_id => $soon_grant, result => 'denied',
                         username => 'clin2')), 1, 'the refused look from another caseload is audited');

    my ($before_scopes) = tdb()->selectrow_array('SELECT count(*) FROM portal_grants WHERE username = ?',
                                                 undef, $past_user);
    ok($before_scopes > 0, 'before: the representative reaches the client');
    $v = json_ok(review($past_grant, { decision => 'end' }), 200, 'end (no note needed)');
    my $g = grant($past_grant);
    is_deeply([@$g{qw(status end_reason ended_by review_decision)}], ['ended', 'review', 'clin1', 'end'],
              'the grant ended by review');
    my ($after) = tdb()->selectrow_array('SELECT count(*) FROM portal_grants WHERE username = ?',
                                         undef, $past_user);
    is($after, 0, 'portal_grants: nothing any more');
    # staff see what happened: the access ended, the account (which may reach other
    # clients) is kept -- not "Portal account turned off"
    my $view = json_ok(staff(GET => "/clients/$past->{id}", user => 'clin1'), 200, 'the client view');
    my ($rep) = @{ $view->{representatives} || [] };
    is($rep && $rep->{portal_status}, 'access_ended', 'the representative: access_ended');
    is(tdb()->selectrow_array('SELECT status FROM portal_accounts WHERE username = ?', undef, $past_user),
       'active', 'and the account is indeed still active');
}

# --- the worker ends unreviewed grants at 18 ---------------------------------------------------------------
{
    my ($q, $q_user, $q_grant) = client_with_rep_account(dob_turning_18_in(-1));
    backdate_grant($q_grant, 30);
    my ($y2, $y2_user, $y2_grant) = client_with_rep_account(dob_turning_18_in(3));
    Time::HiRes::sleep(3);         # three sweeps (PortalSweepInterval 1 on the test servers)
    is(grant($q_grant)->{status}, 'active', 'setting off: the worker ends nothing');
    set_setting(end_representative_access_at_majority => JSON::PP::true);
    my $until = Time::HiRes::time() + 20;
    Time::HiRes::sleep(0.25) while grant($q_grant)->{status} ne 'ended' && Time::HiRes::time() < $until;
    my $g = grant($q_grant);
    is_deeply([@$g{qw(status ended_by end_reason)}], ['ended', 'system', 'majority'],
              'setting on: the worker ended the grant of a client who turned 18 yesterday');
    my @au = audit_rows(action => 'grant.end_at_majority', object_id => $q_grant);
    is(scalar @au, 1, 'audited once');
    is($au[0]{username}, 'system', 'as system');
    is(grant($y2_grant)->{status}, 'active', 'a minor\'s grant stays (due in 3 days, not yet 18)');
    is(grant($soon_grant)->{status}, 'active', 'a kept grant stays');
    is(grant($late_grant)->{status}, 'active', 'a grant made after 18 stays');
    set_setting(end_representative_access_at_majority => JSON::PP::false);
}

clear_setting('time_zone');
clear_setting('end_representative_access_at_majority');
done_testing();
