# t/portal_login.t — the client portal's login as the sample configures it (stock
# mod_authn_dbd on portal_accounts). A user name with no active account used to be
# refused at once ("not found") while a real one cost a bcrypt check (~0.1 s): anyone
# could learn which user names — often email addresses — have an account at the
# practice. The sample's query now answers a hash of a random password for them, so
# every refusal is a bcrypt check: here seen as httpd saying "Password Mismatch", never
# "not found" (a refusal's time is not asserted: speed is a benchmark's business).
# Found by a report-only security review.
use strict;
use warnings;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use Test::More;
use PortalTest;
use PortalTest::Invite;
use PortalTest::Env ();
use PortalTest::Admin ();

my $log = PortalTest::Env::top_dir() . '/t/logs/error_log';

# how httpd's log tells a refusal of $user
sub refusal_of {
    my ($user, $password) = @_;
    my $offset = PortalTest::Env::log_size($log);
    my $code = login_code($user, $password);
    my $deadline = time + 5;
    my $lines = '';
    while (time < $deadline) {
        $lines = PortalTest::Env::log_since($log, $offset);
        last if $lines =~ /\Q$user\E/;
        select undef, undef, undef, 0.05;
    }
    my ($line) = grep { /\Q$user\E/ } split /\n/, $lines;
    return ($code, $line // '');
}

my ($code, $line) = refusal_of('nobody-here.' . $$ . '@example.test', 'wrong password 123');
is($code, 401, 'a user name without an account: 401');
like($line, qr/Password Mismatch/, '... refused after a password check, as a real account is');
unlike($line, qr/not found/, '... never "not found"');

# a disabled account is refused the same way
my $c = new_client(prefix => 'login', visible_to => ['clin1']);
my $user = 'disabled.' . $$;
tdb()->do("INSERT INTO portal_accounts (client_id, username, password_hash, status, created_at) "
        . "VALUES (?, ?, ?, 'disabled', 0)", undef, $c->{id}, $user,
          '$2y$11$0iT32NHI4Xfb6AE.guB4Tex0VecncT8ghzsNjRZxsrKSafSCFdGqi');
($code, $line) = refusal_of($user, 'wrong password 123');
is($code, 401, 'a disabled account: 401');
like($line, qr/Password Mismatch/, '... refused after a password check too');
PortalTest::Admin::cleanup_clients($c->{id});

done_testing();
