#!/usr/bin/env perl
# slurm.pl: run a command as a Slurm job array, with the interface of
# run.pl / Kaldi's queue.pl:
#
#   slurm.pl [options] [JOB=1:N] <log-file> <command...>
#
# It writes one batch script per invocation, <log-dir>/q/<name>.sh, which runs
# the command for job index $SLURM_ARRAY_TASK_ID (replacing JOB by the index
# in the command and the log-file name, exactly as run.pl does) with bash -c,
# writing the same log header and footer as run.pl:
#   # <command>
#   # Started at <date>
#   ...output...
#   # Accounting: time=<seconds> threads=<n>
#   # Ended (code <exit-status>) at <date>
# The array is submitted with
#   sbatch --wait --array=<first>-<last>[%<max-jobs-run>] --job-name <name> \
#          --output <log-dir>/q/<name>.%a.out [mapped options] <script>
# and once it has finished, every job's exit status is read from the
# "# Ended (code N)" line of its log.  Failures are reported like run.pl:
#   slurm.pl: 2 / 4 failed, log is in exp/foo/log/bar.*.log
#
# Options (each takes a value, as "--opt value" or "--opt=value"):
#   --mem X            sbatch --mem X
#   --num-threads N    sbatch --cpus-per-task N
#   --gpu N            sbatch --gres=gpu:N (nothing for 0)
#   --time T           sbatch --time T
#   --partition P      sbatch --partition P
#   --max-jobs-run N   at most N array tasks at once (--array=...%N)
#   --config F         extra sbatch options, see below
#   --dry-run          (no value; or env SLURM_PL_DRY_RUN=1) write the batch
#                      script, print the sbatch command line, do not submit
#   -x value           single-dash options are passed to sbatch unchanged
#
# The --config file holds extra sbatch options, one or more per line ("#"
# starts a comment).  Kaldi's conf/queue.conf / slurm.conf syntax is also
# understood, so an existing Kaldi config works:
#   command sbatch --export=ALL      program and options used for every job
#   option mem=* --mem-per-cpu $0    how --mem X is translated ($0 = X)
#   option gpu=0                     --gpu 0 adds nothing
#   option gpu=* -p gpu --gres=gpu:$0
#   default gpu=0                    value used when the option is not given
# "option" lines replace the built-in translation of that option and may
# define new options.
use strict;
use warnings;
use Cwd qw(getcwd);
use File::Basename qw(basename dirname);
use File::Path qw(make_path);
use File::Spec;
use POSIX qw(strftime);

my $me = "slurm.pl";

sub fail { print STDERR "$me: $_[0]\n"; exit 1; }

sub usage {
  print STDERR <<"EOF";
Usage: $me [options] [JOB=1:N] <log-file> <command...>
 e.g.: $me --mem 4G --max-jobs-run 10 JOB=1:40 exp/foo/log/bar.JOB.log echo job JOB
Submits <command> as a Slurm job array (sbatch --wait) and reports failures
like run.pl.  Options: --mem X, --num-threads N, --gpu N, --time T,
--partition P, --max-jobs-run N, --config F, --dry-run.
EOF
  exit 1;
}

# Same quoting of command words as run.pl (Kaldi's convention): words
# without whitespace are used as they are, others are double-quoted, or
# single-quoted when they contain a double quote.
sub quote_word {
  my ($w) = @_;
  return $w if $w =~ m/^\S+$/;
  if ($w =~ m/"/) {
    (my $q = $w) =~ s/'/'\\''/g;
    return "'$q'";
  }
  return "\"$w\"";
}

# Quotes a string for bash so that it stays literal.
sub shell_quote {
  my ($s) = @_;
  return $s if $s =~ m/^[\w@%+=:,.\/-]+$/;
  $s =~ s/'/'\\''/g;
  return "'$s'";
}

# Built-in translation of options to sbatch options, in Kaldi's config syntax.
my @default_config = (
  'command sbatch',
  'option mem=* --mem $0',
  'option num_threads=* --cpus-per-task $0',
  'option gpu=0',
  'option gpu=* --gres=gpu:$0',
  'option time=* --time $0',
  'option partition=* --partition $0',
);

my @submit_cmd;          # program and fixed options ("command" line)
my %opt_map;             # "name=value" or "name=*" -> [sbatch words]
my %opt_default;         # name -> value
my @extra_opts;          # plain option lines from --config

sub read_config_lines {
  my ($lines, $where) = @_;   # $where: file name, or undef for built-ins
  my $n = 0;
  for my $line (@$lines) {
    $n++;
    (my $l = $line) =~ s/#.*$//;
    $l =~ s/^\s+|\s+$//g;
    next if $l eq "";
    my @w = split(/\s+/, $l);
    my $kw = shift @w;
    my $loc = defined $where ? "$where:$n" : "built-in config";
    if ($kw eq "command") {
      @w or fail("$loc: 'command' needs a program name");
      @submit_cmd = @w;
    } elsif ($kw eq "option") {
      (@w && $w[0] =~ m/^(\w+)=(\S+)$/) or fail("$loc: expected 'option <name>=<value|*> [sbatch options]', got: $l");
      shift @w;
      $opt_map{"$1=$2"} = [@w];
    } elsif ($kw eq "default") {
      (@w == 1 && $w[0] =~ m/^(\w+)=(\S+)$/) or fail("$loc: expected 'default <name>=<value>', got: $l");
      $opt_default{$1} = $2;
    } else {
      push @extra_opts, $kw, @w;
    }
  }
}

read_config_lines(\@default_config, undef);

# ---- parse the command line ----
my ($jobvar, $jobstart, $jobend);
my $max_jobs_run = 0;
my $num_threads = 1;
my $config;
my $dry_run = (($ENV{SLURM_PL_DRY_RUN} // "") =~ m/^(1|true|yes)$/i) ? 1 : 0;
my @given;               # [name, value] in command-line order
my @passthrough;         # single-dash options given to sbatch as they are

while (@ARGV) {
  my $arg = $ARGV[0];
  if ($arg =~ m/^([A-Za-z_]\w*)=(\d+):(\d+)$/ || $arg =~ m/^([A-Za-z_]\w*)=(\d+)$/) {
    my ($var, $start, $end) = ($1, $2, defined $3 ? $3 : $2);
    fail("more than one job range given ($jobvar=... and $arg)") if defined $jobvar;
    fail("invalid job range $arg (start must be <= end)") if $start > $end;
    ($jobvar, $jobstart, $jobend) = ($var, $start, $end);
    shift @ARGV;
    next;
  }
  last unless $arg =~ m/^-/;
  shift @ARGV;
  if ($arg eq "--dry-run") { $dry_run = 1; next; }
  if ($arg =~ m/^--dry-run=(.*)$/) {
    $1 =~ m/^(true|false)$/ or fail("--dry-run expects true or false, got '$1'");
    $dry_run = $1 eq "true" ? 1 : 0;
    next;
  }
  my ($opt, $val);
  if ($arg =~ m/^(--[^=]+)=(.*)$/s) {
    ($opt, $val) = ($1, $2);
  } else {
    usage() unless @ARGV;
    ($opt, $val) = ($arg, shift @ARGV);
  }
  if ($opt !~ m/^--/) { push @passthrough, $opt, $val; next; }
  (my $name = substr($opt, 2)) =~ s/-/_/g;
  if ($name eq "config") {
    $config = $val;
  } elsif ($name eq "max_jobs_run") {
    $val =~ m/^[1-9]\d*$/ or fail("--max-jobs-run expects a positive integer, got '$val'");
    $max_jobs_run = $val;
  } else {
    if ($name eq "num_threads") {
      $val =~ m/^[1-9]\d*$/ or fail("--num-threads expects a positive integer, got '$val'");
      $num_threads = $val;
    }
    push @given, [$name, $val];
  }
}

usage() if @ARGV < 2;
my $logfile = shift @ARGV;
my $cmd = join(" ", map { quote_word($_) } @ARGV);

if (defined $config) {
  open(my $fh, "<", $config) or fail("cannot read config file $config: $!");
  my @lines = <$fh>;
  close($fh);
  read_config_lines(\@lines, $config);
}

if (!defined $jobvar) {
  ($jobstart, $jobend) = (1, 1);
} elsif ($jobend > $jobstart && index($logfile, $jobvar) < 0) {
  fail("you are running $jobvar=$jobstart:$jobend (several jobs) but the log file "
    . "$logfile does not contain '$jobvar', so all jobs would write to one log");
}

sub subst_job {
  my ($text, $id) = @_;
  $text =~ s/\Q$jobvar\E/$id/g if defined $jobvar;
  return $text;
}

# ---- translate the options into sbatch options ----
my %seen_opt = map { $_->[0] => 1 } @given;
my @settings = ((map { [$_, $opt_default{$_}] } grep { !$seen_opt{$_} } sort keys %opt_default), @given);
my @mapped;
for my $s (@settings) {
  my ($name, $val) = @$s;
  my $words = $opt_map{"$name=$val"} // $opt_map{"$name=*"};
  if (!defined $words) {
    my %names = map { (split /=/, $_)[0] => 1 } keys %opt_map;
    (my $o = $name) =~ s/_/-/g;
    fail("unknown option --$o (or value '$val' not allowed); known options: "
      . join(" ", map { (my $x = "--$_") =~ s/_/-/g; $x } sort(keys %names),
             "max_jobs_run", "config", "dry_run"));
  }
  push @mapped, map { (my $w = $_) =~ s/\$0/$val/g; $w } @$words;
}

# ---- check that we can submit ----
my $prog = $submit_cmd[0];
my $found = $prog =~ m{/} ? -x $prog
  : grep { -x File::Spec->catfile($_, $prog) } File::Spec->path();
$dry_run or $found or fail("cannot find '$prog' (is Slurm installed and in your PATH?); "
  . "use run.pl to run locally, or --dry-run to only write the batch script");

# ---- write the batch script ----
my $logdir = dirname($logfile);
my $qdir = "$logdir/q";
my $name = basename($logfile);
$name =~ s/\.log$//;
if (defined $jobvar) { $name =~ s/\.?\Q$jobvar\E//g; }
$name = "job" if $name eq "";
my $script = "$qdir/$name.sh";
my $array = "$jobstart-$jobend" . ($max_jobs_run > 0 ? "%$max_jobs_run" : "");

my @sbatch = (@submit_cmd, "--wait", "--array=$array", "--job-name", $name,
              "--output", "$qdir/$name.%a.out", @mapped, @extra_opts, @passthrough,
              $script);
my $sbatch_line = join(" ", map { shell_quote($_) } @sbatch);

eval { make_path($qdir) unless -d $qdir; 1 } or fail("cannot create directory $qdir: $@");
my $cwd = getcwd();
my $job_expr = defined $jobvar ? "//$jobvar/\$id" : "";
my $now = strftime("%a %b %e %H:%M:%S %Z %Y", localtime);
my $body = <<"EOF";
#!/usr/bin/env bash
# Written by $me at $now. Submitted with:
#   $sbatch_line
# Runs job \$SLURM_ARRAY_TASK_ID of: $me ... $logfile ...
cd ${\ shell_quote($cwd)} || exit 1
id=\${SLURM_ARRAY_TASK_ID:?"SLURM_ARRAY_TASK_ID is not set; submit this script with sbatch --array"}
cmd_template=${\ shell_quote($cmd)}
log_template=${\ shell_quote($logfile)}
cmd=\${cmd_template$job_expr}
log=\${log_template$job_expr}
echo "$me: job \$id running on \$(hostname) at \$(LC_ALL=C date)"
mkdir -p "\$(dirname "\$log")" || exit 1
{
  printf '# %s\\n' "\$cmd"
  printf '# Started at %s\\n' "\$(LC_ALL=C date)"
} > "\$log" || exit 1
start=\$(date +%s)
bash -c "\$cmd" >> "\$log" 2>&1
rc=\$?
end=\$(date +%s)
{
  echo "# Accounting: time=\$((end - start)) threads=$num_threads"
  echo "# Ended (code \$rc) at \$(LC_ALL=C date)"
} >> "\$log"
exit \$rc
EOF
open(my $sfh, ">", $script) or fail("cannot write batch script $script: $!");
print $sfh $body;
close($sfh) or fail("error writing batch script $script: $!");
chmod(0755, $script);

if ($dry_run) {
  print "$sbatch_line\n";
  print STDERR "$me: dry run, nothing submitted; batch script is $script\n";
  exit 0;
}

# ---- submit and wait ----
my @logs = map { subst_job($logfile, $_) } ($jobstart .. $jobend);
unlink(grep { -e $_ } @logs);   # so stale logs cannot be taken for results

# sbatch prints "Submitted batch job N" on stdout; keep our stdout clean.
open(my $saved_stdout, ">&", \*STDOUT) or fail("cannot dup stdout: $!");
open(STDOUT, ">&", \*STDERR) or fail("cannot redirect stdout: $!");
my $rc = system(@sbatch);
open(STDOUT, ">&", $saved_stdout) or fail("cannot restore stdout: $!");
fail("could not run $prog: $!") if $rc == -1;

sub exit_code_of {   # exit code from a log's "# Ended (code N)" line, or undef
  my ($log) = @_;
  open(my $fh, "<", $log) or return undef;
  my $code;
  while (<$fh>) { $code = $1 if m/^# Ended \(code (\d+)/; }
  close($fh);
  return $code;
}

my %code;
for my $try (0 .. 10) {   # logs may show up late on network file systems
  for my $i (0 .. $#logs) { $code{$i} //= exit_code_of($logs[$i]); }
  last if $rc != 0 || !grep { !defined $code{$_} } keys %code;
  sleep 1;
}

my $numjobs = @logs;
my @failed = grep { !defined $code{$_} || $code{$_} != 0 } 0 .. $#logs;
my @missing = grep { !defined $code{$_} } @failed;
if (@missing && @missing == $numjobs) {
  print STDERR "$me: no job wrote its exit status (sbatch exit status " . ($rc >> 8)
    . "); see the sbatch messages above and $qdir/$name.*.out\n";
} else {
  for my $i (@missing[0 .. ($#missing < 4 ? $#missing : 4)]) {
    print STDERR "$me: no exit status in $logs[$i] (job never ran or was killed?); "
      . "see $qdir/$name." . ($jobstart + $i) . ".out\n";
  }
  print STDERR "$me: ... and " . (@missing - 5) . " more such jobs\n" if @missing > 5;
}
if (@failed) {
  if ($numjobs == 1) {
    print STDERR "$me: job failed, log is in $logs[0]\n";
  } else {
    (my $pattern = $logfile) =~ s/\Q$jobvar\E/*/g;
    print STDERR "$me: " . scalar(@failed) . " / $numjobs failed, log is in $pattern\n";
  }
  exit 1;
}
if ($rc != 0) {
  print STDERR "$me: warning: sbatch exited with status " . ($rc >> 8)
    . " although all job logs report success\n";
}
exit 0;
