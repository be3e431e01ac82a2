# t/majority.t — coming of age (issue 14), two ways a minor's parent kept access at 18:
# (1) GET /reviews and the delivery worker read a capped list of candidates (1000
# youngest first; 500 by grant id), and a representative's grant made after the
# client turned 18 (a spouse's, a caregiver's) was a candidate that never qualified
# and never left it: behind 1000 (500) of them, a due review was not listed and a
# parent's grant was never ended at 18; (2) "began while a minor" was judged from the
# grant's creation, so an invitation sent at 17 and accepted at 18 gave the parent
# access that was never due for review nor ended. Now the candidates are narrowed in
# SQL and read page by page, and a grant began when its invitation was made.
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

my $PW = 'a long enough password';
my $TODAY = Time::Piece::gmtime();
# a date of birth whose 18th birthday is $n days from today (never a Feb 29)
sub dob_turning_18_in {
    my $n = shift;
    my ($y, $md) = ($TODAY + ONE_DAY * $n)->ymd =~ /^(\d{4})-(.*)$/;
    $md = '03-01' if $md eq '02-29';
    return sprintf('%04d-%s', $y - 18, $md);
}
my $n = 0;
sub invite_rep {                # (representative id, token)
    my ($client, $email) = @_;
    $n++;
    my $tag = join '', map { chr(ord('a') + $_) } split //, sprintf('%03d', $n);
    my $d = json_ok(staff(POST => "/clients/$client->{id}/representatives", user => 'clin1',
                          json => { email => $email, first_name => 'Parent', last_name => "Major$tag",
                                    relationship => 'parent' }), 201, "representative $n");
    return ($d->{representative}{id}, scalar next_token($email));
}
sub backdate_invitation {       # as if staff had added the representative $days days ago
    my ($rep, $days) = @_;
    tdb()->do('UPDATE invitations SET created_at = created_at - ? WHERE representative_id = ?',
              undef, $days * 86400, $rep);
    tdb()->do('UPDATE representatives SET created_at = created_at - ? WHERE id = ?',
              undef, $days * 86400, $rep);
}
sub accept_as {
    my ($token, $client, $user) = @_;
    return json_ok(rcpt(accept => { token => $token, date_of_birth => $client->{date_of_birth},
                                    username => $user, password => $PW }), 201, "$user accepts");
}
sub grant_of {                  # the grant of $user's login on $client
    my ($user, $client) = @_;
    return (tdb()->selectrow_array('SELECT g.id FROM account_grants g JOIN portal_accounts a '
                                   . 'ON a.id = g.account_id WHERE a.username = ? AND g.client_id = ?',
                                   undef, $user, $client->{id}))[0];
}
sub client_rep_grant {          # a client on clin1's caseload and a representative who accepted
    my ($dob, $invited_days_ago) = @_;
    my $c = new_client(prefix => 'major', first_name => 'Mina', date_of_birth => $dob,
                       visible_to => ['clin1']);
    my ($rep, $token) = invite_rep($c, unique_email('major-rep'));
    backdate_invitation($rep, $invited_days_ago) if $invited_days_ago;
    my $user = "major.rep.$$.$n";
    accept_as($token, $c, $user);
    return ($c, $user, grant_of($user, $c));
}
sub status_of { (tdb()->selectrow_array('SELECT status FROM account_grants WHERE id = ?', undef, $_[0]))[0] }
sub listed { my ($r, $gid) = @_; scalar grep { $_->{grant_id} == $gid } @{ $r->{reviews} } }
sub review_due {
    my ($client, $user) = @_;
    my ($a) = grep { $_->{username} eq $user } @{ client_view($client->{id}, 'clin1')->{accounts} || [] };
    return $a && $a->{review_due};
}

# --- 1000 grants made after the client turned 18 (a day after: the SQL cannot tell) ---------------
my $adult = new_client(prefix => 'major', first_name => 'Ada', date_of_birth => dob_turning_18_in(-1),
                       visible_to => ['clin1']);
my ($spouse) = invite_rep($adult, unique_email('major-spouse'));
{
    my $dbh = tdb();
    my $now = time;
    $dbh->begin_work;
    my $ins = $dbh->prepare('INSERT INTO portal_accounts (username, password_hash, client_id, '
                            . "representative_id, status, created_at) VALUES (?, 'x', ?, ?, 'active', ?)");
    $ins->execute("major.spouse.$$.$_", $adult->{id}, $spouse, $now) for 1 .. 1000;
    $dbh->commit;
}
my ($after18) = tdb()->selectrow_array("SELECT count(*) FROM account_grants WHERE representative_id = ? "
                                       . "AND status = 'active'", undef, $spouse);
is($after18, 1000, '1000 grants of a representative of a client who turned 18 yesterday, made today');

# --- the grants that are due (made later: higher ids) ------------------------------------------------
# granted 400 days ago, the client turned 18 five days ago (as t/reviews.t's)
my ($past, $past_user, $past_grant) = client_rep_grant(dob_turning_18_in(-5));
tdb()->do('UPDATE account_grants SET created_at = created_at - ? WHERE id = ?', undef, 400 * 86400,
          $past_grant);
# invited at 17 (ten days ago), accepted today, two days after the 18th birthday
my ($late, $late_user, $late_grant) = client_rep_grant(dob_turning_18_in(-2), 10);
# the same as a login joined to a second child: a parent's account for a sibling
my $sib = new_client(prefix => 'major', first_name => 'Sib', date_of_birth => '2015-04-04',
                     visible_to => ['clin1']);
my $parent_email = unique_email('major-parent');
my $parent_user = "major.parent.$$";
my ($sib_rep, $sib_token) = invite_rep($sib, $parent_email);
accept_as($sib_token, $sib, $parent_user);
my $twin = new_client(prefix => 'major', first_name => 'Twin', date_of_birth => dob_turning_18_in(-2),
                      visible_to => ['clin1']);
my ($twin_rep, $twin_token) = invite_rep($twin, $parent_email);
backdate_invitation($twin_rep, 10);
my $d = accept_as($twin_token, $twin, $parent_user);
ok($d->{linked}, 'the parent\'s login was joined to the second child');
my $twin_grant = grant_of($parent_user, $twin);
# invited and accepted after the 18th birthday: never due (as before)
my ($adult2, $adult2_user, $adult2_grant) = client_rep_grant(dob_turning_18_in(-3), 1);

# --- invited at 17, accepted at 18 -------------------------------------------------------------------
ok(review_due($late, $late_user), 'invited at 17, accepted at 18: the access is due for review');
ok(review_due($twin, $parent_user), 'and a login joined to that client at 18 the same way');
ok(!review_due($adult2, $adult2_user), 'invited and accepted after the 18th birthday: not due');

# --- GET /reviews: no due review behind 1000 that are not -----------------------------------------------
{
    my $r = json_ok(staff(GET => '/reviews', user => 'clin1'), 200, 'GET /reviews');
    ok(listed($r, $past_grant), 'the review of a grant made at 17 is listed behind 1000 others that '
       . 'are not due (born later, listed first)');
    ok(listed($r, $late_grant) && listed($r, $twin_grant), 'the grants from invitations made at 17 are listed');
    ok(!listed($r, $adult2_grant), 'a grant from an invitation made at 18 is not');
    is(scalar(grep { $_->{representative}{id} == $spouse } @{ $r->{reviews} }), 0,
       'nor any of the 1000');
    is($r->{count}, scalar @{ $r->{reviews} }, 'count');
    error_ok(staff(POST => "/grants/$adult2_grant/review", user => 'clin1', json => { decision => 'end' }),
             409, 'review_not_due', 'reviewing a grant from an invitation made at 18: review_not_due');
}

# --- the worker ends them at 18, behind 1000 lower grant ids that it does not -------------------------
{
    set_setting(end_representative_access_at_majority => JSON::PP::true);
    my $until = Time::HiRes::time() + 20;
    Time::HiRes::sleep(0.25)
        while grep({ status_of($_) ne 'ended' } $past_grant, $late_grant, $twin_grant)
              && Time::HiRes::time() < $until;
    is(status_of($past_grant), 'ended', 'a grant made at 17 is ended at 18 behind 1000 lower ids');
    is(status_of($late_grant), 'ended', 'a grant from an invitation made at 17 is ended');
    is(status_of($twin_grant), 'ended', 'and the joined login\'s grant on that client');
    is(scalar(audit_rows(action => 'grant.end_at_majority', object_id => $late_grant)), 1, 'audited');
    Time::HiRes::sleep(1.5);       # another sweep
    is(status_of($adult2_grant), 'active', 'a grant from an invitation made at 18 stays');
    my ($left) = tdb()->selectrow_array("SELECT count(*) FROM account_grants WHERE representative_id = ? "
                                        . "AND status = 'active'", undef, $spouse);
    is($left, 1000, 'the 1000 made after the birthday stay');
    ok(grant_of($parent_user, $sib) && status_of(grant_of($parent_user, $sib)) eq 'active',
       'the parent\'s access to the younger child stays');
    set_setting(end_representative_access_at_majority => JSON::PP::false);
}

# the 1000 logins go, so that no later test reads them
tdb()->do("UPDATE account_grants SET status = 'ended', ended_at = ?, ended_by = 'test', end_reason = 'staff' "
          . "WHERE representative_id = ? AND status = 'active'", undef, time, $spouse);
tdb()->do("UPDATE portal_accounts SET status = 'disabled' WHERE representative_id = ?", undef, $spouse);
clear_setting('time_zone');
clear_setting('end_representative_access_at_majority');
done_testing();
