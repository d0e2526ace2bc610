#!/usr/bin/perl
# tests/lib/tally.pl FILE - read one test's TAP output with TAP::Parser (the
# parser behind prove) and print one line for tests/run.sh:
#
#   PASSED FAILED SKIPPED PLAN PROBLEM...
#
# SKIPPED counts "# SKIP" and "# TODO" tests (whether ok or not ok); PLAN is
# the planned count, or "-" when there is none; PROBLEM is TAP::Parser's
# first parse error ("Bad plan.  You planned 884 tests but ran 876.", tests
# out of sequence, a second plan, ...) or empty.  Lines that are not TAP
# (the test's stderr, diagnostics) are ignored, as prove ignores them.
use strict;
use warnings;
use TAP::Parser;

my $file = shift // die "usage: tally.pl FILE\n";
open(my $fh, '<', $file) or die "tally.pl: $file: $!\n";
my $tap = do { local $/; <$fh> };
close($fh);

my $parser = TAP::Parser->new({ tap => $tap });
my ($p, $f, $s) = (0, 0, 0);
while (my $r = $parser->next) {
	next unless $r->is_test;
	if ($r->has_skip || $r->has_todo) { $s++ }
	elsif ($r->is_actual_ok)          { $p++ }
	else                              { $f++ }
}
my @errors = $parser->parse_errors;
my $plan = $parser->tests_planned;
my $problem = @errors ? $errors[0] : '';
$problem =~ s/\s+/ /g;
printf "%d %d %d %s %s\n", $p, $f, $s, defined $plan ? $plan : '-', $problem;
