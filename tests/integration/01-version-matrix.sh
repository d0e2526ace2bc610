#!/bin/bash
# 01-version-matrix.sh - the version matrix of tests/run.sh itself: six
# pinned builds, each installed and of its own major version, and a version
# that is not installed fails the suite loudly (never a skip), with its row
# in the table and its failure in the closing line.
set -eu
. "$(dirname "$0")/../lib/cluster.sh"
cd "$PGKG_ROOT"
unset PGKG_COUNTS        # the runs below are examples, not part of this suite
plan_none
require_root_or_skip_all     # the matrix itself runs only as root
PV="sh tests/lib/pg-versions.sh"

mapfile -t PINS < <($PV list 13 14 15 16 17 18)
t_is "${#PINS[@]}" 6 "six pinned builds (13-18)"
for line in "${PINS[@]}"; do
	t_like "$line" "^(1[3-8]) \\1\\.[0-9]+\\.[0-9]+(-[a-z]+\\.[0-9]+)?$" "pin $line is of its own major version"
done
t_ok "an unknown major version is refused" bash -c "! $PV bindir 12 2>/dev/null"
t_is "$($PV list none; PGKG_VERSIONS=none $PV list)" "" "PGKG_VERSIONS=none: no versions"

# the builds this run's matrix uses (make deps installed them)
VERSIONS=${PGKG_VERSIONS:-"13 14 15 16 17 18"}
if [ "$VERSIONS" = none ]; then
	t_skip "matrix builds installed" "PGKG_VERSIONS=none: this run has no version matrix"
else
	for v in $VERSIONS; do
		b=$($PV bindir "$v")
		t_like "$("$b/postgres" --version 2>&1)" "^postgres \\(PostgreSQL\\) $v\\." \
			"PostgreSQL $v installed in $b (make deps)"
	done
fi

# a version that is not installed: one failure, a "missing" row, exit 1
EMPTY=$(mktemp -d /tmp/pgkg-nocache.XXXXXX)
trap 'rm -rf "$EMPTY"' EXIT
RC=0
OUT=$(PGKG_PG_CACHE=$EMPTY PGKG_VERSIONS=16 PGKG_MATRIX_SCRIPTS=no-such-script \
	bash tests/run.sh no-such-script 2>&1) || RC=$?
t_is "$RC" 1 "matrix with a missing build: the run fails"
t_like "$OUT" "pg16: FAILED: PostgreSQL 16 is not installed in $EMPTY/" "... and says which version, where"
t_like "$OUT" $'\nno-such-script +missing\n' "... the table shows the row as missing"
t_is "$(printf '%s\n' "$OUT" | tail -1)" "0 passed, 1 failed, 0 skipped" "... and the closing line counts it"

RC=0
OUT=$(PGKG_VERSIONS=none PGKG_MATRIX_SCRIPTS=no-such-script bash tests/run.sh no-such-script 2>&1) || RC=$?
t_like "$OUT" "version matrix: off \\(PGKG_VERSIONS=none\\)" "PGKG_VERSIONS=none: the matrix says it is off"
t_done
