package PortalTest::SmallFs;
# PortalTest::SmallFs — a small filesystem a test can fill, without root: the test file
# runs again inside a user and mount namespace of its own (unshare -Urm), where a tmpfs
# of the size asked is mounted, and then, one user namespace further down, as the user
# it was (so httpd does not think it is root). httpd, started by the test, sees the
# mount; nothing outside does, and the mount goes away with the test's last process.
#
#   use PortalTest::SmallFs;
#   my $mnt = PortalTest::SmallFs::enter("$top/t/logs/full", '3m');   # or skip_all
#
# Where unprivileged user namespaces are off (sysctl kernel.unprivileged_userns_clone,
# an AppArmor restriction), enter() plans skip_all with the reason.
use strict;
use warnings;

use Test::More ();

my $ENV_KEY = 'PM_SMALLFS_MOUNT';

sub enter {
    my ($dir, $size) = @_;
    return $ENV{$ENV_KEY} if $ENV{$ENV_KEY} && $ENV{$ENV_KEY} eq $dir && mounted($dir);
    mkdir $dir;
    my $probe = system('unshare', '-Urm', 'sh', '-c',
                       'mount -t tmpfs -o size=64k portal-smallfs "$1"', 'sh', $dir) == 0;
    Test::More::plan(skip_all => 'no user namespaces here (unshare -Urm and a tmpfs mount in '
                     . 'it failed): a small filesystem cannot be mounted without root') unless $probe;
    local $ENV{$ENV_KEY} = $dir;
    my @me = ($^X, (map { "-I$_" } @INC), $0, @ARGV);
    exec 'unshare', '-Urm', 'sh', '-c',
        'mount -t tmpfs -o "size=$1,mode=0755" portal-smallfs "$2" || exit 97; '
      . 'uid=$3 gid=$4; shift 4; exec unshare -U --map-user="$uid" --map-group="$gid" "$@"',
        'sh', $size, $dir, $<, $( + 0, @me
        or die "exec unshare: $!";
}

# a tmpfs of ours at $dir (this process's view)
sub mounted {
    my $dir = shift;
    open my $fh, '<', '/proc/self/mounts' or return 0;
    return scalar grep { (split ' ')[1] eq $dir && /^portal-smallfs / } <$fh>;
}

# write zeros to $dir/filler until the filesystem is full; its free kB after
sub fill {
    my $dir = shift;
    open my $fh, '>>', "$dir/filler" or die "filler: $!";
    my $block = "\0" x 4096;
    1 while syswrite $fh, $block;
    my $small = "\0" x 512;
    1 while syswrite $fh, $small;
    close $fh;
    return free_kb($dir);
}

sub release { unlink "$_[0]/filler" }

sub free_kb {
    my $dir = shift;
    my ($line) = (qx{df -Pk '$dir'} =~ /\n(.*)/);
    return (split ' ', $line // '')[3];
}

1;
