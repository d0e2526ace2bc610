#!/bin/bash
# 13-pg-environment.sh - the suite and the demo do not depend on the caller's
# libpq environment: a DBA shell exports PGUSER, PGHOST, PGPORT, PGDATABASE,
# PGSERVICE, PGOPTIONS, PGPASSFILE, ... for its production cluster.  A small
# script on the test harness (tests/lib/cluster.sh, as tests/tools/demo.sh and every
# integration script use it) still creates its cluster, connects its sessions
# and has a guarded kill -9 rewritten, with all of those set.  It runs from a
# mode-700 directory (a clone under /root or in a mktemp -d folder): what runs
# as the test user must not depend on entering the caller's directory.
set -eu
. "$(dirname "$0")/../lib/cluster.sh"
. "$(dirname "$0")/../lib/guard.sh"

guard_test_begin
NL=$'\n'
TOP=$(cd "$(dirname "$0")/../.." && pwd)

DBA_ENV=(PGUSER=postgres PGHOST=/var/run/postgresql PGPORT=5432 PGDATABASE=prod
	PGSERVICE=x PGSERVICEFILE=/nonexistent/pg_service.conf PGPASSFILE=/nonexistent/pgpass
	PGOPTIONS='-c statement_timeout=1 -c search_path=nowhere' PGAPPNAME=dba-shell
	PGCONNECT_TIMEOUT=1 PGTARGETSESSIONATTRS=primary PGDATA=/nonexistent/data
	PGSSLMODE=verify-full PGCLIENTENCODING=LATIN1)

S=$G_DIR/dba-shell.sh
cat >"$S" <<'EOF'
set -eu
. "$1/tests/lib/cluster.sh"
setup_traps
echo "seen: PGUSER=${PGUSER:-} PGSERVICE=${PGSERVICE:-} PGHOST=${PGHOST:-} PGCONNECT_TIMEOUT=${PGCONNECT_TIMEOUT:-} PGKG_TEST_USER=${PGKG_TEST_USER:-}"
D=$(cluster_new_dir pgenv)
cluster_create "$D" >/dev/null
cluster_start "$D" >/dev/null
open_idle_sessions "$D" env- 3 >/dev/null
echo "sessions=$(count_sessions "$D" env-)"
v=$(backend_pid "$D" env-2)
echo "cwd=$(run_as_test_user pwd)"
run_as_test_user LD_PRELOAD="$2" PGKILLGUARD_HELPER="$3" "$(pg_bindir)/pg_ctl" kill KILL "$v"
echo "kill=$?"
wait_gone "$v" 3000 && echo "victim=gone"
echo "left=$(count_sessions "$D" env-)"
echo "restarts=$(crash_restarts "$D")"
EOF

PRIV=$(mktemp -d /tmp/pgkg.private.XXXXXX)
chmod 700 "$PRIV"
trap 'rm -rf "$PRIV"; guard_teardown; cleanup_all' EXIT
run_capture env -C "$PRIV" "${DBA_ENV[@]}" bash "$S" "$TOP" "$G_LIB" "$G_HELPER"
t_is "$RC" 0 "with a DBA's PG* environment: the harness script exits 0"
t_like "$OUT_TEXT" "seen: PGUSER= PGSERVICE= PGHOST= PGCONNECT_TIMEOUT= PGKG_TEST_USER=$PGKG_TEST_USER" "cluster.sh drops the caller's PG* variables, keeps PGKG_*"
t_like "$OUT_TEXT" "sessions=3" "all 3 sessions connected"
t_like "$OUT_TEXT" "cwd=/($NL|$)" "run_as_test_user starts in /, not in the caller's mode-700 directory"
t_like "$OUT_TEXT" "kill=0" "guarded pg_ctl kill KILL: exits 0"
t_like "$ERR_TEXT" "^pgkillguard: kill -9 [0-9]+ \(client backend $PGKG_TEST_USER@postgres, idle; cluster .*\) rewritten to pg_terminate_backend[^$NL]*$" \
	"guarded pg_ctl kill KILL: rewritten, and nothing else on stderr (no 'could not change directory')"
t_like "$OUT_TEXT" "victim=gone" "the victim is gone"
t_like "$OUT_TEXT" "left=2" "the other 2 sessions stay"
t_like "$OUT_TEXT" "restarts=0" "no crash restart"
[ "$RC" = 0 ] || t_diag "stderr: $ERR_TEXT"

# tests/run.sh drops them too (for every test it starts)
run_capture env "${DBA_ENV[@]}" PGKG_TEST_TIMEOUT=60 bash "$TOP/tests/run.sh" 00-harness
t_is "$RC" 0 "tests/run.sh 00-harness passes with a DBA's PG* environment"
t_like "$OUT_TEXT" "00-harness.sh: ok \([0-9]+ passed" "00-harness: ok"
t_done
