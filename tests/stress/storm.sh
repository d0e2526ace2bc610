#!/bin/bash
# storm.sh - a kill storm under write load (`make stress`; `make check` runs
# a short one as tests/integration/85-kill-storm.sh).  TAP.
#
# A throwaway cluster with fsync and synchronous_commit on; STORM_WRITERS
# clients (tests/stress/writer.c) insert into a ledger, one transaction per
# row, each noting the ids the server acknowledged and reconnecting when its
# session is terminated.  Meanwhile two killers (tests/stress/killer.sh) send
# KILL, QUIT, ABRT, SEGV and BUS to the writers' backends for STORM_SECONDS:
# half of the writers through a bash with the library preloaded, the other
# half through `pgkillguard exec busybox kill`.
#
# Pass: at least STORM_MIN_KILLS signals sent; every one rewritten and
# reported as a success (exit 0, "rewritten to pg_terminate_backend: exited
# after"); no crash-restart in the server log; the same postmaster; every
# acknowledged insert in the table.  The figures are printed as diagnostics.
#
# Environment: STORM_SECONDS (20), STORM_WRITERS (8), STORM_MIN_KILLS (100).
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib/cluster.sh"
. "$HERE/../lib/guard.sh"

SECS=${STORM_SECONDS:-20}
WRITERS=${STORM_WRITERS:-8}
MIN_KILLS=${STORM_MIN_KILLS:-100}

guard_test_begin
cp "$HERE/killer.sh" "$PGKG_BUILD/tests/writer" "$G_DIR/"
PGKG_EXTRA_CONF=$'fsync = on\nsynchronous_commit = on\nfull_page_writes = on\n'${PGKG_EXTRA_CONF:-} \
	new_running_cluster storm
cluster_psql "$D" "create table ledger (id bigint primary key, writer int not null,
	at timestamptz not null default clock_timestamp())"
t_is "$(cluster_psql "$D" "select current_setting('fsync') || ' ' || current_setting('synchronous_commit')")" \
	"on on" "the cluster runs with fsync and synchronous_commit on"

W=$G_DIR/storm
WPIDS=()
mkdir -p "$W"
chown "$PGKG_TEST_USER" "$W"
mapfile -t ENV < <(cluster_env "$D")

# writers: they run SECS + 4 s, the killers SECS, so no backend is
# signalled while its writer is finishing
for i in $(seq "$WRITERS"); do
	run_as_test_user "${ENV[@]}" "$G_DIR/writer" "$i" "$W" $((SECS + 4)) >"$W/writer.$i.out" 2>&1 &
	register_pid $!
	WPIDS+=($!)
done
for _ in $(seq 200); do
	n=0
	for i in $(seq "$WRITERS"); do [ ! -s "$W/backend.$i" ] || n=$((n + 1)); done
	[ "$n" -ge "$WRITERS" ] && break
	sleep 0.05
done
t_is "$n" "$WRITERS" "all $WRITERS writers connected"

A=() B=()
for i in $(seq "$WRITERS"); do
	if [ $((i % 2)) = 1 ]; then A+=("$i"); else B+=("$i"); fi
done
guarded_user bash "$G_DIR/killer.sh" preload "$W" "$PM" "$SECS" "${A[@]}" &
KA=$!
run_as_test_user PGKG_GUARD_BIN="$G_HELPER" PGKILLGUARD_SYSLOG="$G_SYSLOG" \
	bash "$G_DIR/killer.sh" exec "$W" "$PM" "$SECS" "${B[@]}" &
KB=$!
register_pid "$KA" "$KB"
wait "$KA" "$KB" || true
for p in "${WPIDS[@]}"; do wait "$p" || true; done

# ---- the figures
kills_by() { cat "$W/kills.$1" 2>/dev/null | wc -l; }
KILLS_P=$(kills_by preload)
KILLS_E=$(kills_by exec)
KILLS=$((KILLS_P + KILLS_E))
FAILED_RC=$(cat "$W"/kills.* 2>/dev/null | awk '$4 != 0' | wc -l)
REWRITTEN=$(cat "$W"/guard.* 2>/dev/null |
	grep -c 'rewritten to pg_terminate_backend: exited after [0-9]* ms; the cluster kept running$' || true)
OTHER=$(cat "$W"/guard.* 2>/dev/null | grep -v 'rewritten to pg_terminate_backend: exited after' || true)
cat "$W"/acked.* | sort -u >"$W/acked.all"
cluster_psql "$D" "select id from ledger order by id" | sort -u >"$W/rows.all"
ACKED=$(wc -l <"$W/acked.all")
ROWS=$(wc -l <"$W/rows.all")
LOST=$(comm -23 "$W/acked.all" "$W/rows.all" | wc -l)
RESTARTS=$(crash_restarts "$D")
BYSIG=$(cat "$W"/kills.* 2>/dev/null | awk '{n[$2]++} END {printf "KILL %d, QUIT %d, ABRT %d, SEGV %d, BUS %d", n[9], n[3], n[6], n[11], n[7]}')
t_diag "storm: ${SECS} s, $WRITERS writers"
t_diag "kills: $KILLS ($KILLS_P through the preloaded bash, $KILLS_E through pgkillguard exec busybox kill; $BYSIG)"
t_diag "rewritten and reported as success: $REWRITTEN; non-zero exit: $FAILED_RC"
t_diag "acknowledged inserts: $ACKED; rows in the ledger: $ROWS; acknowledged but missing: $LOST"
t_diag "crash-restarts in server.log: $RESTARTS; postmaster $PM $(alive "$PM" && echo alive || echo GONE)"
grep -h '^writer ' "$W"/writer.*.out | sed 's/^/# /'

t_ok "at least $MIN_KILLS signals sent (got $KILLS)" test "$KILLS" -ge "$MIN_KILLS"
t_ok "both paths were used" test "$KILLS_P" -gt 0 -a "$KILLS_E" -gt 0
t_is "$FAILED_RC" 0 "every kill exited 0"
t_is "$REWRITTEN" "$KILLS" "every kill was rewritten and reported success"
t_is "$OTHER" "" "the guard said nothing else"
t_ok "the writers got acknowledgements ($ACKED)" test "$ACKED" -gt 0
t_is "$LOST" 0 "every acknowledged insert is in the table"
t_ok "rows >= acknowledged inserts" test "$ROWS" -ge "$ACKED"
t_is "$RESTARTS" 0 "no crash-restart in server.log"
t_ok "postmaster pid unchanged, still running" assert_cluster_intact "$D" "$PM"
t_done
