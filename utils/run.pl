#!/usr/bin/env perl
# run.pl: run a command (optionally as an array of jobs) on the local machine,
# with the interface of Kaldi's run.pl / queue.pl / slurm.pl:
#
#   run.pl [options] [JOB=1:N] <log-file> <command...>
#
# The variable name before "=" (usually JOB) is replaced by the job index in
# the log-file name and in the command.  Each job runs
#   bash -c "<command>"
# with stdout and stderr appended to its own log file, which starts with
#   # <command>
#   # Started at <date>
# and ends with
#   # Accounting: time=<seconds> threads=<n>
#   # Ended (code <exit-status>) at <date>
#
# Options (each takes a value, as "--opt value" or "--opt=value"):
#   --max-jobs-run N   run at most N jobs at a time (default: all at once)
#   --num-threads N    only reported in the "# Accounting" line
#   Any other option (--mem, --gpu, --config, ..., or "-x value" qsub-style
#   options) is accepted and ignored, so that a cmd.sh written for a cluster
#   also works locally.
#
# Exit status 0 if every job succeeded; otherwise a message naming the
# log file(s) on stderr and exit status 1.
use strict;
use warnings;
use File::Basename qw(dirname);
use File::Path qw(make_path);
use POSIX qw(strftime);

my $me = "run.pl";

sub usage {
  print STDERR <<"EOF";
Usage: $me [options] [JOB=1:N] <log-file> <command...>
 e.g.: $me JOB=1:4 exp/foo/log/bar.JOB.log echo job JOB
Runs <command> with bash -c, one job per index, logging to <log-file>
(the string JOB is replaced by the job index in both).
Options:
  --max-jobs-run N   run at most N jobs at once (default: all at once)
  --num-threads N    accepted (reported in the log's accounting line)
  --mem X, --gpu N, --config F, and other cluster options: accepted, ignored
EOF
  exit 1;
}

sub fail { print STDERR "$me: $_[0]\n"; exit 1; }

sub now { return strftime("%a %b %e %H:%M:%S %Z %Y", localtime); }

# Quotes one command word the way Kaldi's run.pl/queue.pl do: a word without
# whitespace is passed unchanged (so "\|" and "ark:-" work as in Kaldi), a
# word with whitespace is double-quoted, or single-quoted if it contains a
# double quote.
sub quote_word {
  my ($w) = @_;
  return $w if $w =~ m/^\S+$/;
  if ($w =~ m/"/) {
    (my $q = $w) =~ s/'/'\\''/g;
    return "'$q'";
  }
  return "\"$w\"";
}

my $max_jobs_run = 0;   # 0: no limit
my $num_threads = 1;
my ($jobvar, $jobstart, $jobend);

while (@ARGV) {
  my $arg = $ARGV[0];
  if ($arg =~ m/^([A-Za-z_]\w*)=(\d+):(\d+)$/ || $arg =~ m/^([A-Za-z_]\w*)=(\d+)$/) {
    my ($var, $start, $end) = ($1, $2, defined $3 ? $3 : $2);
    fail("more than one job range given ($jobvar=... and $arg)") if defined $jobvar;
    fail("invalid job range $arg (start must be <= end)") if $start > $end;
    ($jobvar, $jobstart, $jobend) = ($var, $start, $end);
    shift @ARGV;
  } elsif ($arg =~ m/^-/) {
    shift @ARGV;
    my ($opt, $val);
    if ($arg =~ m/^(--[^=]+)=(.*)$/s) {
      ($opt, $val) = ($1, $2);
    } elsif ($arg eq "-V") {   # qsub's "export environment" switch: no value
      next;
    } else {
      usage() unless @ARGV;
      ($opt, $val) = ($arg, shift @ARGV);
    }
    if ($opt eq "--max-jobs-run") {
      $val =~ m/^[1-9]\d*$/ or fail("--max-jobs-run expects a positive integer, got '$val'");
      $max_jobs_run = $val;
    } elsif ($opt eq "--num-threads") {
      $val =~ m/^[1-9]\d*$/ or fail("--num-threads expects a positive integer, got '$val'");
      $num_threads = $val;
    }
    # Anything else (--mem, --gpu, --config, --time, -l ..., etc.) is ignored.
  } else {
    last;
  }
}

usage() if @ARGV < 2;
my $logfile = shift @ARGV;
my $cmd = join(" ", map { quote_word($_) } @ARGV);

if (!defined $jobvar) {
  ($jobvar, $jobstart, $jobend) = (undef, 1, 1);
} elsif ($jobend > $jobstart && index($logfile, $jobvar) < 0) {
  fail("you are running $jobvar=$jobstart:$jobend (several jobs) but the log file "
    . "$logfile does not contain '$jobvar', so all jobs would write to one log");
}

sub subst_job {
  my ($text, $id) = @_;
  $text =~ s/\Q$jobvar\E/$id/g if defined $jobvar;
  return $text;
}

# Runs job $id in the current (child) process and returns its exit status.
sub run_one_job {
  my ($id) = @_;
  my $log = subst_job($logfile, $id);
  my $jobcmd = subst_job($cmd, $id);
  my $dir = dirname($log);
  eval { make_path($dir) unless -d $dir; 1 }
    or die "$me: cannot create log directory $dir: $@";
  open(my $fh, ">", $log) or die "$me: cannot write log file $log: $!\n";
  print $fh "# $jobcmd\n# Started at " . now() . "\n";
  close($fh) or die "$me: error writing log file $log: $!\n";

  my $start = time();
  my $pid = fork();
  die "$me: fork failed: $!\n" unless defined $pid;
  if ($pid == 0) {
    # The job itself: from here on nothing may return into the caller's eval.
    if (open(STDOUT, ">>", $log) && open(STDERR, ">&", \*STDOUT)) {
      { exec("bash", "-c", $jobcmd) };
      print STDERR "$me: cannot run bash: $!\n";
    } else {
      print STDERR "$me: cannot redirect output to $log: $!\n";
    }
    POSIX::_exit(127);
  }
  waitpid($pid, 0);
  my $status = $?;
  my $elapsed = time() - $start;
  my $code = $status >> 8;
  my $signal = $status & 127;
  my $ended = $signal ? "code $code; signal $signal" : "code $code";

  open($fh, ">>", $log) or die "$me: cannot append to log file $log: $!\n";
  print $fh "# Accounting: time=$elapsed threads=$num_threads\n";
  print $fh "# Ended ($ended) at " . now() . "\n";
  close($fh) or die "$me: error writing log file $log: $!\n";
  return $status == 0 ? 0 : 1;
}

my $numjobs = $jobend - $jobstart + 1;
my $limit = $max_jobs_run > 0 ? $max_jobs_run : $numjobs;
my %running;   # pid -> job index
my $numfail = 0;

sub reap_one {
  my $pid = wait();
  if ($pid < 0) { %running = (); return; }
  $numfail++ if $? != 0 && exists $running{$pid};
  delete $running{$pid};
}

for my $id ($jobstart .. $jobend) {
  reap_one() while keys(%running) >= $limit;
  my $pid = fork();
  fail("fork failed: $!") unless defined $pid;
  if ($pid == 0) {
    my $rc = eval { run_one_job($id) };
    if (!defined $rc) { print STDERR $@; $rc = 1; }
    POSIX::_exit($rc);
  }
  $running{$pid} = $id;
}
reap_one() while keys %running;

if ($numfail > 0) {
  if ($numjobs == 1) {
    print STDERR "$me: job failed, log is in " . subst_job($logfile, $jobstart) . "\n";
  } else {
    (my $pattern = $logfile) =~ s/\Q$jobvar\E/*/g;
    print STDERR "$me: $numfail / $numjobs failed, log is in $pattern\n";
  }
  exit 1;
}
exit 0;
