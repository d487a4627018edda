#!/usr/bin/env perl
# utt2spk_to_spk2utt.pl: convert "<utt> <spk>" lines to "<spk> <utt1> <utt2> ..."
#
#   utt2spk_to_spk2utt.pl [<utt2spk>...] > spk2utt
#
# Reads the files given (or stdin), writes stdout.  Speakers are listed in
# order of first appearance, each speaker's utterances in input order.
use strict;
use warnings;

my $me = "utt2spk_to_spk2utt.pl";

sub fail { print STDERR "$me: $_[0]\n"; exit 1; }

if (grep { m/^-./ } @ARGV) {
  print STDERR "Usage: $me [<utt2spk>...] > <spk2utt>\n";
  exit 1;
}

my (@speakers, %utts);
for my $file (@ARGV ? @ARGV : ("-")) {
  my $fh;
  if ($file eq "-") {
    $fh = \*STDIN;
  } else {
    open($fh, "<", $file) or fail("cannot open $file: $!");
  }
  my $name = $file eq "-" ? "<stdin>" : $file;
  while (my $line = <$fh>) {
    my @f = split(' ', $line);
    @f == 2 or fail("$name:$.: expected '<utterance> <speaker>', got: " . ($line =~ s/\n$//r));
    my ($utt, $spk) = @f;
    push @speakers, $spk unless exists $utts{$spk};
    push @{$utts{$spk}}, $utt;
  }
  close($fh) unless $file eq "-";
}
print join(" ", $_, @{$utts{$_}}), "\n" for @speakers;
exit 0;
