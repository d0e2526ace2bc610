#!/bin/bash
# 88-demo.sh - `make demo` (tests/tools/demo.sh) shows both halves: without the
# guard one kill -9 drops every other session and crash-restarts the cluster;
# with it, one `pgkillguard:` line, nothing else dropped, no restart.  Run
# with a DBA's libpq variables set, which the demo must ignore, and timed:
# the demo must stay under a minute.
set -eu
. "$(dirname "$0")/../lib/cluster.sh"

plan_none
require_root_or_skip_all
TOP=$(cd "$(dirname "$0")/../.." && pwd)
_pgkg_tmp
RES=$_PGKG_TMP/demo.result
OUT=$_PGKG_TMP/demo.out

t0=$EPOCHREALTIME
rc=0
PGUSER=postgres PGHOST=/var/run/postgresql PGPORT=5432 PGDATABASE=prod PGSERVICE=prod \
	PGOPTIONS='-c statement_timeout=1' PGKG_DEMO_RESULT=$RES \
	bash "$TOP/tests/tools/demo.sh" >"$OUT" 2>&1 || rc=$?
secs=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%d", b - a }')
t_is "$rc" 0 "demo exits 0 with PGUSER/PGHOST/PGPORT/PGDATABASE/PGSERVICE/PGOPTIONS set"
[ "$rc" = 0 ] || sed 's/^/#   /' "$OUT"
t_ok "demo ran in under a minute ($secs s)" test "$secs" -lt 60
get() { sed -n "s/^$1=//p" "$RES" 2>/dev/null; }

# without the guard
t_like "$(get unguarded_others)" '^[1-9][0-9]*$' "unguarded: other sessions were open"
t_is "$(get unguarded_dropped)" "$(get unguarded_others)" "unguarded: every other session dropped"
t_like "$(get unguarded_aborted)" '^[1-9]' "unguarded: pgbench clients aborted"
t_like "$(get unguarded_restart_lines)" '^[1-9]' "unguarded: crash-restart lines in the server log"
t_like "$(get unguarded_outage_ms)" '^[1-9][0-9]*$' "unguarded: the cluster refused connections for a measured time"
t_is "$(get unguarded_guard_lines)" 0 "unguarded: no pgkillguard line"
t_like "$(cat "$OUT")" "terminating any other active server processes" "unguarded: the output shows the crash-restart lines"

# with the guard
t_like "$(get guarded_others)" '^[1-9][0-9]*$' "guarded: other sessions were open"
t_is "$(get guarded_dropped)" 0 "guarded: no other session dropped"
t_is "$(get guarded_aborted)" 0 "guarded: no pgbench client aborted"
t_is "$(get guarded_restart_lines)" 0 "guarded: no crash-restart lines"
t_is "$(get guarded_outage_ms)" 0 "guarded: the cluster never refused connections"
t_is "$(get guarded_guard_lines)" 1 "guarded: exactly one pgkillguard line"
t_is "$(get guarded_kill_rc)" 0 "guarded: kill -9 exits 0"
t_is "$(get postmaster_unchanged)" yes "guarded: same postmaster"
t_like "$(cat "$OUT")" "pgkillguard: kill -9 [0-9]+ \(client backend .*rewritten to pg_terminate_backend" \
	"guarded: the output shows the rewrite"
t_like "$(tail -3 "$OUT")" "Cleaning up" "the demo cleans up"
t_like "$(get cluster_dir)" '^/tmp/pgkg\.demo\.' "the demo names its cluster directory"
t_ok "the demo's cluster directory is gone" test ! -e "$(get cluster_dir)"
t_done
