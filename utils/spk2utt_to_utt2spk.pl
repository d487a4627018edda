#!/usr/bin/env perl
# spk2utt_to_utt2spk.pl: convert "<spk> <utt1> <utt2> ..." lines to
# "<utt> <spk>" lines.
#
#   spk2utt_to_utt2spk.pl [<spk2utt>...] > utt2spk
#
# Reads the files given (or stdin), writes stdout, in input order.
use strict;
use warnings;

my $me = "spk2utt_to_utt2spk.pl";

sub fail { print STDERR "$me: $_[0]\n"; exit 1; }

if (grep { m/^-./ } @ARGV) {
  print STDERR "Usage: $me [<spk2utt>...] > <utt2spk>\n";
  exit 1;
}

for my $file (@ARGV ? @ARGV : ("-")) {
  my $fh;
  if ($file eq "-") {
    $fh = \*STDIN;
  } else {
    open($fh, "<", $file) or fail("cannot open $file: $!");
  }
  my $name = $file eq "-" ? "<stdin>" : $file;
  while (my $line = <$fh>) {
    my ($spk, @utts) = split(' ', $line);
    @utts or fail("$name:$.: expected '<speaker> <utterance>...', got: " . ($line =~ s/\n$//r));
    print "$_ $spk\n" for @utts;
  }
  close($fh) unless $file eq "-";
}
exit 0;
