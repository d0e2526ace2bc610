#!/bin/bash
# tests/run.sh [FILTER] - `make check`: run the unit test binaries
# (build/tests/test_*) and the integration scripts (tests/integration/*.sh),
# all TAP.  FILTER (a substring) keeps only tests whose file name contains it.
#
# Each test runs under `timeout` (PGKG_TEST_TIMEOUT seconds, default 600);
# its output is shown prefixed with its name, then read by TAP::Parser, the
# parser behind `prove` (tests/lib/tally.pl).  The last line is
#   N passed, N failed, N skipped
# counting TAP tests ("ok ... # SKIP" and "# TODO" count as skipped);
# the three numbers are also appended to the file $PGKG_COUNTS when set
# (`make check` adds up its variants).
# A test that exits nonzero without a "not ok" line, times out, prints no
# plan, or runs a different number of tests than planned counts as one more
# failure, as does any other TAP::Parser parse error (tests out of sequence,
# two plans).  Exit status: 0 only if nothing failed.
#
# Why not `prove` itself: TAP::Harness runs each test once and prints its
# own summary ("All tests successful." / "Result: FAIL" and a table of
# failed test numbers).  This suite also needs (1) the same script run again
# per PostgreSQL version with another environment (PGKG_PG_BINDIR), named
# pgNN/SCRIPT, with a script x version table of the results; (2) the closing
# line "N passed, N failed, N skipped", counted in checks (not in files),
# which CI parses and which `make check` adds up over three variants through
# $PGKG_COUNTS (prove's "Files=N, Tests=N" has no failed or skipped check
# count).  prove gives neither without a TAP::Harness subclass or parsing
# its output, so run.sh keeps the loop, the timeout and the exit-status
# rules, and leaves reading the TAP to prove's parser.
#
# The version matrix: the core integration scripts ($MATRIX_SCRIPTS) run
# once more against each PostgreSQL major version in $PGKG_VERSIONS
# (default "13 14 15 16 17 18"), as "pgNN/SCRIPT", with the pinned server
# builds that `make deps` downloads once (tests/lib/pg-versions.sh) and
# Debian's psql/pg_isready; the rest of the suite runs on Debian's
# PostgreSQL 15 only.  A version that is not installed counts as a failure,
# never as a skip.  Its results are in the table before the last line, and
# in that line's counts.  PGKG_VERSIONS=none turns it off (tests/tools/variant.sh
# does: the sanitizer and clang variants run the suite on 15 only); with a
# FILTER it runs only when PGKG_VERSIONS is set, e.g.
#   PGKG_VERSIONS=16 sh tests/run.sh 88-standby
# PGKG_MATRIX_SCRIPTS (names without .sh) replaces the list of scripts.

# The Makefile runs us with `sh`: switch to bash before any bash syntax.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -u

cd "$(dirname "$0")/.." || exit 1
# The caller's libpq environment (PGHOST, PGUSER, PGSERVICE, ...) is not the
# tests' (tests/lib/cluster.sh drops it too, for scripts run on their own).
for _v in $(compgen -e); do
	[[ $_v =~ ^PG[A-Z_]+$ && ! $_v =~ ^PG(KG|KILLGUARD)_ ]] && unset "$_v"
done
FILTER=${1:-}
TIMEOUT=${PGKG_TEST_TIMEOUT:-600}

PASSED=0 FAILED=0 SKIPPED=0
OUT=$(mktemp /tmp/pgkg-run.XXXXXX)
trap 'rm -f "$OUT"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# tally NAME RC : parse $OUT with TAP::Parser (tests/lib/tally.pl, prove's
# parser), check exit status and plan.
tally() {
	local name=$1 rc=$2 p=0 f=0 s=0 plan="" perr="" problem=""
	read -r p f s plan perr < <(perl tests/lib/tally.pl "$OUT") ||
		{ p=0 f=0 s=0 plan=- perr="tests/lib/tally.pl failed (perl's TAP::Parser)"; }
	[ "$plan" != - ] || plan=""
	if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
		problem="timed out after ${TIMEOUT}s"
	elif [ "$rc" -gt 128 ]; then
		problem="killed by signal $((rc - 128))"
	elif [ -z "$plan" ]; then
		problem="no TAP plan (exit $rc)"
	elif [ "$plan" != $((p + f + s)) ]; then
		problem="planned $plan tests, ran $((p + f + s))"
	elif [ -n "$perr" ]; then
		problem="TAP: $perr"
	elif [ "$rc" != 0 ] && [ "$f" = 0 ]; then
		problem="exited $rc without a failing test"
	elif [ "$rc" = 0 ] && [ "$f" != 0 ]; then
		problem="exited 0 despite $f failing tests"
	fi
	PASSED=$((PASSED + p)) FAILED=$((FAILED + f)) SKIPPED=$((SKIPPED + s))
	if [ -n "$problem" ]; then
		FAILED=$((FAILED + 1))
		echo "$name: FAILED: $problem"
		LAST="FAILED"
	elif [ "$f" != 0 ]; then
		echo "$name: FAILED ($f of $plan)"
		LAST="FAIL($f)"
	else
		echo "$name: ok ($p passed, $s skipped)"
		LAST="ok $p"
	fi
}

# run_one NAME CMD... : run one TAP producer with a timeout, show and tally it.
run_one() {
	local name=$1 rc; shift
	echo "$name: running"
	timeout -k 30 "$TIMEOUT" "$@" </dev/null 2>&1 |
		tee "$OUT" | sed -u "s|^|$name: |"
	rc=${PIPESTATUS[0]}
	tally "$name" "$rc"
}

matches() { [ -z "$FILTER" ] || [[ $1 == *"$FILTER"* ]]; }

# ------------------------------------------------------- the version matrix

MATRIX_SCRIPTS=${PGKG_MATRIX_SCRIPTS:-"10-preload-rewrite 20-preload-block-pass 60-two-clusters
  70-exec 87-deadly-signals 88-standby-roles"}
MATRIX_RUNS=0
declare -A MATRIX=()    # "MAJOR SCRIPT" -> "ok N" | FAIL(N) | FAILED | missing

# matrix_bindir MAJOR DIR : DIR/bin holds links to the pinned server build
#   of MAJOR (initdb, pg_ctl, postgres) and to Debian's client programs
#   (psql, pg_isready), for PGKG_PG_BINDIR (tests/lib/cluster.sh).  Server
#   programs find each other and their share/lib through the resolved links.
matrix_bindir() {
	local major=$1 dir=$2 server client f
	server=$(sh tests/lib/pg-versions.sh bindir "$major") || return 1
	client=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
	if [ ! -x "$server/postgres" ] || [ ! -x "$server/initdb" ]; then
		echo "PostgreSQL $major is not installed in $server: run make deps" \
			"(or set PGKG_VERSIONS to the versions you have)"
		return 1
	fi
	if ! "$server/postgres" --version | grep -q " $major\."; then
		echo "$server/postgres is not PostgreSQL $major: $("$server/postgres" --version)"
		return 1
	fi
	[ -x "$client/psql" ] || { echo "no psql in /usr/lib/postgresql/*/bin: run make deps"; return 1; }
	mkdir -p "$dir/bin" && chmod 755 "$dir" "$dir/bin" || return 1
	for f in "$client"/* "$server"/*; do ln -sfn "$f" "$dir/bin/${f##*/}" || return 1; done
}

matrix() {
	local versions=${PGKG_VERSIONS-} v s t tmp problem start row cell
	local -a run=()
	if [ "$versions" = none ]; then
		echo "version matrix: off (PGKG_VERSIONS=none)"
		return 0
	fi
	if [ -n "$FILTER" ] && [ -z "$versions" ]; then
		echo "version matrix: not run with a FILTER unless PGKG_VERSIONS is set"
		return 0
	fi
	for s in $MATRIX_SCRIPTS; do matches "$s.sh" && run+=("$s"); done
	[ ${#run[@]} -gt 0 ] || return 0
	if [ "$(id -u)" != 0 ]; then
		echo "version matrix: skipped: needs root, as do the integration scripts it runs"
		SKIPPED=$((SKIPPED + 1)) MATRIX_RUNS=$((MATRIX_RUNS + 1))
		return 0
	fi
	versions=${versions:-"13 14 15 16 17 18"}
	start=$SECONDS
	tmp=$(mktemp -d /tmp/pgkg-matrix.XXXXXX) && chmod 755 "$tmp" || return 1
	# shellcheck disable=SC2064 # expand $tmp now
	trap "rm -f \"\$OUT\"; rm -rf '$tmp'" EXIT
	for v in $versions; do
		if ! problem=$(matrix_bindir "$v" "$tmp/$v" 2>&1); then
			echo "pg$v: FAILED: $problem"
			FAILED=$((FAILED + 1))
			for s in "${run[@]}"; do MATRIX["$v $s"]=missing; done
			MATRIX_RUNS=$((MATRIX_RUNS + 1))
			continue
		fi
		for s in "${run[@]}"; do
			t=tests/integration/$s.sh
			if [ ! -f "$t" ]; then
				echo "pg$v/$s.sh: FAILED: $t does not exist"
				FAILED=$((FAILED + 1)) MATRIX["$v $s"]=FAILED
				continue
			fi
			run_one "pg$v/$s.sh" env PGKG_PG_BINDIR="$tmp/$v/bin" bash "$t"
			MATRIX["$v $s"]=$LAST
			MATRIX_RUNS=$((MATRIX_RUNS + 1))
		done
	done
	rm -rf "$tmp"
	echo
	echo "version matrix (normal variant only): checks passed per script and PostgreSQL version;"
	echo "FAIL(N): N checks failed; FAILED: timed out, crashed or wrong plan; missing: not installed;"
	# shellcheck disable=SC2086 # one word per version
	echo "pinned builds: $(sh tests/lib/pg-versions.sh list $versions | awk '{printf "%s%s", sep, $2; sep=" "}')"
	row=$(printf '%-24s' script)
	for v in $versions; do row+=$(printf ' %8s' "pg$v"); done
	echo "$row"
	for s in "${run[@]}"; do
		row=$(printf '%-24s' "$s")
		for v in $versions; do
			cell=${MATRIX["$v $s"]:-?}
			case $cell in "ok "*) cell=${cell#ok } ;; esac
			row+=$(printf ' %8s' "$cell")
		done
		echo "$row"
	done
	echo "version matrix: $((SECONDS - start)) s"
}

main() {
	local t n=0
	for t in build/tests/test_*; do
		if [ ! -f "$t" ] || [ ! -x "$t" ] || [[ ${t##*/} == *.* ]]; then continue; fi
		matches "${t##*/}" || continue
		run_one "${t##*/}" "./$t"; n=$((n + 1))
	done
	for t in tests/integration/*.sh; do
		[ -f "$t" ] || continue
		matches "${t##*/}" || continue
		run_one "${t##*/}" bash "$t"; n=$((n + 1))
	done
	matrix
	n=$((n + MATRIX_RUNS))
	if [ "$n" = 0 ]; then
		echo "run.sh: no tests${FILTER:+ matching \"$FILTER\"}"
		FAILED=$((FAILED + 1))
	fi
	echo "$PASSED passed, $FAILED failed, $SKIPPED skipped"
	[ -z "${PGKG_COUNTS:-}" ] || echo "$PASSED $FAILED $SKIPPED" >>"$PGKG_COUNTS"
	[ "$FAILED" = 0 ]
}

main
