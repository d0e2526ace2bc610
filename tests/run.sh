#!/bin/bash
# tests/run.sh [FILTER] - `make check`: run the unit test binaries
# (build/tests/test_*) and the integration scripts (tests/integration/*.sh),
# all TAP.  FILTER (a substring) keeps only tests whose file name contains it.
#
# Each test runs under `timeout` (PGKG_TEST_TIMEOUT seconds, default 600);
# its output is shown prefixed with its name.  The last line is
#   N passed, N failed, N skipped
# counting TAP test lines ("ok ... # SKIP" and "# TODO" count as skipped).
# A test that exits nonzero without a "not ok" line, times out, prints no
# plan, or runs a different number of tests than planned counts as one more
# failure.  Exit status: 0 only if nothing failed.

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

# tally NAME RC : count the TAP lines in $OUT, check exit status and plan.
tally() {
	local name=$1 rc=$2 p=0 f=0 s=0 line plan="" problem=""
	while IFS= read -r line; do
		case $line in
		"ok "*"# SKIP"* | "ok "*"# skip"* | *"# TODO"* | *"# todo"*)
			case $line in ok* | "not ok"*) s=$((s + 1)) ;; esac ;;
		"ok "*) p=$((p + 1)) ;;
		"not ok "*) f=$((f + 1)) ;;
		1..*) plan=${line#1..}; plan=${plan%% *} ;;
		esac
	done <"$OUT"
	if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
		problem="timed out after ${TIMEOUT}s"
	elif [ "$rc" -gt 128 ]; then
		problem="killed by signal $((rc - 128))"
	elif [ -z "$plan" ]; then
		problem="no TAP plan (exit $rc)"
	elif [ "$plan" != $((p + f + s)) ]; then
		problem="planned $plan tests, ran $((p + f + s))"
	elif [ "$rc" != 0 ] && [ "$f" = 0 ]; then
		problem="exited $rc without a failing test"
	elif [ "$rc" = 0 ] && [ "$f" != 0 ]; then
		problem="exited 0 despite $f failing tests"
	fi
	PASSED=$((PASSED + p)) FAILED=$((FAILED + f)) SKIPPED=$((SKIPPED + s))
	if [ -n "$problem" ]; then
		FAILED=$((FAILED + 1))
		echo "$name: FAILED: $problem"
	elif [ "$f" != 0 ]; then
		echo "$name: FAILED ($f of $plan)"
	else
		echo "$name: ok ($p passed, $s skipped)"
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
	if [ "$n" = 0 ]; then
		echo "run.sh: no tests${FILTER:+ matching \"$FILTER\"}"
		FAILED=$((FAILED + 1))
	fi
	echo "$PASSED passed, $FAILED failed, $SKIPPED skipped"
	[ "$FAILED" = 0 ]
}

main
