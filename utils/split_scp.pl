#!/usr/bin/env perl
# split_scp.pl: split a Kaldi table (scp/text/utt2spk... one entry per line)
# into pieces of nearly equal size, preserving the order of the lines.
#
#   split_scp.pl [--utt2spk=<utt2spk>] <in.scp> <out1> <out2> ...
#   split_scp.pl -j <num-jobs> <job-id> [--one-based] [--utt2spk=<utt2spk>] \
#                <in.scp> [<out>]
#
# Without --utt2spk the first (num-lines mod num-outputs) outputs get one line
# more than the others.  With --utt2spk all utterances of a speaker go to the
# same output (speakers in order of first appearance in <in.scp>, each
# speaker's lines in input order), and the speakers are cut into consecutive
# groups whose utterance counts are as close to equal as the speaker sizes
# allow.  With -j only piece <job-id> (0-based, 1-based with --one-based) of
# <num-jobs> is written, to <out> or to stdout.  An output named "-" is
# stdout.  It is an error to ask for more pieces than lines (or speakers).
use strict;
use warnings;

my $me = "split_scp.pl";

sub fail { print STDERR "$me: $_[0]\n"; exit 1; }

sub usage {
  print STDERR <<"EOF";
Usage: $me [--utt2spk=<utt2spk>] <in.scp> <out1> <out2> ...
   or: $me -j <num-jobs> <job-id> [--one-based] [--utt2spk=<utt2spk>] <in.scp> [<out>]
 Splits <in.scp> into nearly equal consecutive pieces; with --utt2spk no
 speaker is split across pieces.  <job-id> is 0-based unless --one-based.
EOF
  exit 1;
}

my ($num_jobs, $job_id, $one_based, $utt2spk_file);
while (@ARGV && $ARGV[0] =~ m/^-./) {
  my $opt = shift @ARGV;
  if ($opt eq "-j") {
    @ARGV >= 2 or usage();
    ($num_jobs, $job_id) = splice(@ARGV, 0, 2);
    $num_jobs =~ m/^[1-9]\d*$/ or fail("-j: number of jobs must be a positive integer, got '$num_jobs'");
    $job_id =~ m/^\d+$/ or fail("-j: job id must be a non-negative integer, got '$job_id'");
  } elsif ($opt eq "--one-based") {
    $one_based = 1;
  } elsif ($opt =~ m/^--utt2spk=(.+)$/) {
    $utt2spk_file = $1;
  } elsif ($opt eq "--utt2spk") {
    @ARGV or usage();
    $utt2spk_file = shift @ARGV;
  } else {
    print STDERR "$me: unknown option $opt\n";
    usage();
  }
}

my @outputs;
my $selected;   # with -j: index of the only piece written
if (defined $num_jobs) {
  (@ARGV == 1 || @ARGV == 2) or usage();
  $selected = $job_id - ($one_based ? 1 : 0);
  if ($selected < 0 || $selected >= $num_jobs) {
    fail("invalid job id $job_id for -j $num_jobs: must be "
      . ($one_based ? "1..$num_jobs (--one-based)" : "0.." . ($num_jobs - 1)));
  }
  @outputs = ("/dev/null") x $num_jobs;
  $outputs[$selected] = @ARGV == 2 ? $ARGV[1] : "-";
} else {
  @ARGV >= 2 or usage();
  @outputs = @ARGV[1 .. $#ARGV];
}
fail("--one-based only makes sense together with -j") if $one_based && !defined $num_jobs;
my $in_scp = $ARGV[0];
my $num_out = @outputs;

sub read_lines {
  my ($file) = @_;
  my $fh;
  if ($file eq "-") {
    $fh = \*STDIN;
  } else {
    open($fh, "<", $file) or fail("cannot open $file: $!");
  }
  my @lines = <$fh>;
  close($fh) unless $file eq "-";
  return @lines;
}

my @lines = read_lines($in_scp);
for (@lines) { $_ .= "\n" unless m/\n$/; }   # last line without newline
fail("input $in_scp is empty") unless @lines;

# @groups: one entry per output, each a list of lines.
my @groups;
if (!defined $utt2spk_file) {
  my $n = @lines;
  fail("cannot split $in_scp into $num_out pieces: it has only $n line"
    . ($n == 1 ? "" : "s") . " (reduce the number of jobs to at most $n)") if $num_out > $n;
  my $base = int($n / $num_out);
  my $extra = $n % $num_out;
  my $pos = 0;
  for my $k (0 .. $num_out - 1) {
    my $size = $base + ($k < $extra ? 1 : 0);
    push @groups, [@lines[$pos .. $pos + $size - 1]];
    $pos += $size;
  }
} else {
  my %utt2spk;
  my $lineno = 0;
  for my $l (read_lines($utt2spk_file)) {
    $lineno++;
    my @f = split(' ', $l);
    @f == 2 or fail("$utt2spk_file:$lineno: expected '<utterance> <speaker>', got: " . ($l =~ s/\n$//r));
    $utt2spk{$f[0]} = $f[1];
  }
  my (@speakers, %spk_lines);
  $lineno = 0;
  for my $l (@lines) {
    $lineno++;
    my ($utt) = split(' ', $l);
    defined $utt or fail("$in_scp:$lineno: empty line");
    my $spk = $utt2spk{$utt};
    defined $spk or fail("$in_scp:$lineno: utterance $utt is not in $utt2spk_file");
    push @speakers, $spk unless exists $spk_lines{$spk};
    push @{$spk_lines{$spk}}, $l;
  }
  my $num_spk = @speakers;
  fail("cannot split $in_scp into $num_out pieces keeping speakers together: "
    . "it has only $num_spk speaker" . ($num_spk == 1 ? "" : "s")
    . " (reduce the number of jobs to at most $num_spk)") if $num_out > $num_spk;

  # Cut the speaker sequence into $num_out consecutive non-empty groups.  The
  # cut k is put after the speaker whose cumulative utterance count is closest
  # to k/$num_out of the total, leaving room for the groups still to come.
  my @cum = (0);
  push @cum, $cum[-1] + scalar(@{$spk_lines{$_}}) for @speakers;
  my $total = $cum[-1];
  my @cut = (0);   # group k covers speakers $cut[k] .. $cut[k+1]-1
  for my $k (1 .. $num_out - 1) {
    my $target = $total * $k / $num_out;
    my $lo = $cut[-1] + 1;                 # at least one speaker per group
    my $hi = $num_spk - ($num_out - $k);   # leave one per remaining group
    my $best = $lo;
    for my $c ($lo + 1 .. $hi) {
      last if $cum[$c - 1] >= $target;     # further cuts only get worse
      $best = $c if abs($cum[$c] - $target) < abs($cum[$best] - $target);
    }
    push @cut, $best;
  }
  push @cut, $num_spk;
  for my $k (0 .. $num_out - 1) {
    push @groups, [map { @{$spk_lines{$speakers[$_]}} } $cut[$k] .. $cut[$k + 1] - 1];
  }
}

for my $k (0 .. $num_out - 1) {
  next if defined $selected && $k != $selected;
  my $out = $outputs[$k];
  my $fh;
  if ($out eq "-") {
    $fh = \*STDOUT;
  } else {
    open($fh, ">", $out) or fail("cannot write $out: $!");
  }
  print $fh @{$groups[$k]};
  close($fh) or fail("error writing $out: $!") unless $out eq "-";
}
exit 0;
