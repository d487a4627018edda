#!/usr/bin/env perl
# filter_scp.pl: keep the lines of a Kaldi table whose key is in an id list.
#
#   filter_scp.pl [--exclude] [-f <field>] <id-list> [<in.scp>|-]
#
# Prints the lines of <in.scp> (stdin if "-" or omitted) whose field <field>
# (1-based, default 1; fields are separated by whitespace) is one of the
# first fields of the lines of <id-list>; with --exclude, the lines whose
# field is not.  Output keeps the order of <in.scp>.
use strict;
use warnings;

my $me = "filter_scp.pl";

sub fail { print STDERR "$me: $_[0]\n"; exit 1; }

sub usage {
  print STDERR <<"EOF2";
Usage: $me [--exclude] [-f <field>] <id-list> [<in.scp>|-]
 Prints the lines of <in.scp> (default: stdin) whose <field>-th field
 (default 1) is (--exclude: is not) the first field of a line of <id-list>.
EOF2
  exit 1;
}

my $exclude = 0;
my $field = 1;
while (@ARGV && $ARGV[0] =~ m/^-./) {
  my $opt = shift @ARGV;
  if ($opt eq "--exclude") {
    $exclude = 1;
  } elsif ($opt eq "-f") {
    @ARGV or usage();
    $field = shift @ARGV;
    $field =~ m/^[1-9]\d*$/ or fail("-f expects a positive field number, got '$field'");
  } else {
    print STDERR "$me: unknown option $opt\n";
    usage();
  }
}
(@ARGV == 1 || @ARGV == 2) or usage();
my ($id_list, $in_scp) = @ARGV;
$in_scp = "-" unless defined $in_scp;

sub open_in {
  my ($file) = @_;
  return \*STDIN if $file eq "-";
  open(my $fh, "<", $file) or fail("cannot open $file: $!");
  return $fh;
}

my %wanted;
my $fh = open_in($id_list);
while (my $line = <$fh>) {
  my ($id) = split(' ', $line);
  defined $id or fail("$id_list:$.: empty line in id list");
  $wanted{$id} = 1;
}
close($fh) unless $id_list eq "-";

my $name = $in_scp eq "-" ? "<stdin>" : $in_scp;
$fh = open_in($in_scp);
while (my $line = <$fh>) {
  my @f = split(' ', $line);
  @f or fail("$name:$.: empty line");
  @f >= $field or fail("$name:$.: line has " . scalar(@f) . " field(s), need at least $field");
  print $line if ($wanted{$f[$field - 1]} ? 1 : 0) != $exclude;
}
close($fh) unless $in_scp eq "-";
exit 0;
