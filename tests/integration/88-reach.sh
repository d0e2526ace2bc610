#!/bin/bash
# 88-reach.sh - backends the plain SQL rewrite cannot reach (issue 11):
#  1. a cluster in its own pid namespace, killed by its host pid (preload and
#     `pgkillguard exec`): the rewrite names the server's pid, both pids shown;
#  2. max_connections filled by a non-superuser role: the direct route
#     (SIGTERM with the caller's credentials), named with its reason;
#  3. a cluster whose superuser is not named after its OS owner, killed by
#     root: the owner's role is missing, the direct route takes over;
#  4. pg_prewarm's autoprewarm leader (no database connection): the server
#     does not know it, the direct route ends it, no crash-restart;
#  5. orphans of a postmaster killed unguarded: `explain` names them and the
#     data directory, a guarded kill -9 ends each, `pg_ctl start` then works.
set -eu
. "$(dirname "$0")/../lib/cluster.sh"
. "$(dirname "$0")/../lib/guard.sh"

guard_test_begin
BINDIR=$(pg_bindir)
U=$PGKG_TEST_USER

# host_pid NSPID DATADIR : the host pid of the process that is NSPID in its
#   own (inner) pid namespace and runs in DATADIR.
host_pid() {
	local want=$1 dir=$2 p line
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/cwd" 2>/dev/null)" = "$dir" ] || continue
		line=$(grep '^NSpid:' "$p/status" 2>/dev/null) || continue
		# shellcheck disable=SC2086 # split on purpose
		set -- $line
		[ $# -ge 3 ] && [ "${!#}" = "$want" ] && { echo "$2"; return 0; }
	done
	return 1
}

# ---------------------------------------------------------------- 1. pid namespace
D=$(cluster_new_dir reachns)
cluster_create "$D" >/dev/null
( cd / && exec unshare --pid --mount --fork --mount-proc -- \
	runuser -u "$U" -- "$BINDIR/postgres" -D "$D/data" >"$D/server.log" 2>&1 ) &
NS_LAUNCHER=$!
disown "$NS_LAUNCHER" 2>/dev/null || true
cluster_wait_ready "$D" 30
NSPM_INNER=$(head -1 "$D/data/postmaster.pid")
NSPM=$(host_pid "$NSPM_INNER" "$D/data") || NSPM=""
t_ok "namespace: postmaster's pid file names its inner pid ($NSPM_INNER), host pid $NSPM differs" \
	test -n "$NSPM" -a "$NSPM" != "$NSPM_INNER"
open_idle_session "$D" nswitness
open_idle_session "$D" nsvictim1
open_idle_session "$D" nsvictim2
NSW_INNER=$(backend_pid "$D" nswitness)
NSW=$(host_pid "$NSW_INNER" "$D/data")

ns_case() {	# ns_case LABEL RUNNER APP
	local label=$1 runner=$2 app=$3 inner host
	inner=$(backend_pid "$D" "$app")
	host=$(host_pid "$inner" "$D/data")
	run_capture "$runner" kill -9 "$host"
	t_is "$RC" 0 "$label: kill -9 HOSTPID exits 0"
	t_like "$ERR_TEXT" "^pgkillguard: kill -9 $host \(client backend $U@postgres, idle, pid $inner in the server's pid namespace; cluster $D/data\) rewritten to pg_terminate_backend: exited after [0-9]+ ms; the cluster kept running$" \
		"$label: the line shows both pids"
	t_ok "$label: backend $host (server pid $inner) gone" wait_gone "$host" 3000
	t_ok "$label: the other session is untouched" alive "$NSW"
	t_like "$(audit_lines "target=$host ")" "action=terminate result=ok latency_ms=[0-9]+ route=sql server_pid=$inner" \
		"$label: audit names the route and the server pid"
}
ns_case "namespace, preload" guarded_user nsvictim1
gx() { run_as_test_user PGKILLGUARD_SYSLOG="$G_SYSLOG" "$G_HELPER" exec -- "$@"; }
ns_case "namespace, exec" gx nsvictim2
run_capture env -u LD_PRELOAD "$G_HELPER" explain "$NSW"
t_like "$OUT_TEXT" "$NSW: client backend $U@postgres, idle, pid $NSW_INNER in the server's pid namespace" \
	"namespace: explain shows both pids"
t_is "$(crash_restarts "$D")" 0 "namespace: no crash-restart"
t_ok "namespace: postmaster alive" alive "$NSPM"
# pg_ctl would signal the pid file's (inner) pid from the host: stop by host pid
_pgkg_raw_kill INT "$NSPM" || true
wait_gone "$NSPM" 10000 || _pgkg_raw_kill KILL "$NSPM" || true
cluster_destroy "$D"

# ---------------------------------------------------------------- 2. no free slot
PGKG_EXTRA_CONF="max_connections = 4
superuser_reserved_connections = 0" new_running_cluster reachfull
cluster_add_role "$D" filler >/dev/null
for i in 1 2 3 4; do PGUSER=filler open_idle_session "$D" "fill$i"; done
FILL=()
for _ in $(seq 100); do
	mapfile -t FILL < <(pgrep -u "$U" -P "$PM" -f '^postgres: filler postgres \[local\] idle' || true)
	[ "${#FILL[@]}" -ge 4 ] && break
	sleep 0.05
done
t_is "${#FILL[@]}" 4 "full: four sessions of a non-superuser role fill max_connections"
run_capture env -u LD_PRELOAD "$BINDIR/psql" -X -h "$D/sock" -p "$(cat "$D/port")" -d postgres -c 'select 1'
t_like "$ERR_TEXT" "too many clients" "full: no slot left, not even for a superuser"
run_capture guarded_user kill -9 "${FILL[0]}"
t_is "$RC" 0 "full: kill -9 exits 0"
t_like "$ERR_TEXT" "^pgkillguard: kill -9 ${FILL[0]} \(client backend filler@postgres, idle; cluster $D/data\) rewritten to SIGTERM, sent directly \(SQL route unavailable: [^)]*too many clients already\): exited after [0-9]+ ms; the cluster kept running$" \
	"full: the line names the direct route and the reason"
t_ok "full: ${FILL[0]} gone" wait_gone "${FILL[0]}" 3000
t_ok "full: the other sessions live" alive "${FILL[1]}"
t_like "$(audit_lines "target=${FILL[0]} ")" "action=terminate result=ok latency_ms=[0-9]+ route=signal" \
	"full: audit says route=signal"
grep -q 'terminating connection due to administrator command' "$D/server.log" &&
	t_ok "full: the backend ended as pg_terminate_backend ends it" true ||
	t_ok "full: the backend ended as pg_terminate_backend ends it" false
t_ok "full: no crash-restart" assert_cluster_intact "$D" "$PM"
# Fill the freed slot again.
PGUSER=filler open_idle_session "$D" fill5
for _ in $(seq 100); do
	[ "$(pgrep -u "$U" -P "$PM" -fc '^postgres: filler postgres \[local\] idle')" -ge 4 ] && break
	sleep 0.05
done
# `pgkillguard exec`: the direct route is sent by a supervisor thread that
# holds the caller's exact credentials.
run_capture gx kill -9 "${FILL[1]}"
t_is "$RC" 0 "full, exec: kill -9 exits 0"
t_like "$ERR_TEXT" "rewritten to SIGTERM, sent directly \(SQL route unavailable: [^)]*too many clients already\)" \
	"full, exec: the line names the direct route and the reason"
t_ok "full, exec: ${FILL[1]} gone" wait_gone "${FILL[1]}" 3000
t_ok "full, exec: the other sessions live" alive "${FILL[2]}"
# Fill the freed slot again.
PGUSER=filler open_idle_session "$D" fill6
for _ in $(seq 100); do
	[ "$(pgrep -u "$U" -P "$PM" -fc '^postgres: filler postgres \[local\] idle')" -ge 4 ] && break
	sleep 0.05
done
# route=sql turns the direct route off
printf 'fatal backend terminate route=sql\n' >"$G_DIR/sql-only.conf"
chmod 644 "$G_DIR/sql-only.conf"
run_capture guarded_user env PGKILLGUARD_POLICY="$G_DIR/sql-only.conf" kill -9 "${FILL[2]}"
t_is "$RC" 1 "full, route=sql: refused"
t_like "$ERR_TEXT" "pg_terminate_backend.*too many clients" "full, route=sql: says why"
t_ok "full, route=sql: ${FILL[2]} still alive" alive "${FILL[2]}"
cluster_destroy "$D"

# ---------------------------------------------------------------- 2b. a hung server, a shutting-down one
new_running_cluster reachstate
open_idle_session "$D" hung
open_idle_session "$D" sd
HV=$(backend_pid "$D" hung)
SD=$(backend_pid "$D" sd)
_pgkg_raw_kill STOP "$PM"	# a hung postmaster: connections are never answered
run_capture guarded_user kill -9 "$HV"
_pgkg_raw_kill CONT "$PM"
t_is "$RC" 0 "hung server: kill -9 exits 0"
t_like "$ERR_TEXT" "rewritten to SIGTERM, sent directly \(SQL route unavailable: [^)]*timed out\): exited after [0-9]+ ms; the cluster kept running$" \
	"hung server: the direct route after the connect timeout"
t_ok "hung server: $HV gone" wait_gone "$HV" 3000
t_ok "hung server: the cluster survived" assert_cluster_intact "$D" "$PM"
_pgkg_as_user "$BINDIR/pg_ctl" -D "$D/data" -m smart -W stop >/dev/null
for _ in $(seq 100); do grep -q 'received smart shutdown request' "$D/server.log" && break; sleep 0.05; done
run_capture guarded_user kill -9 "$SD"
t_is "$RC" 0 "shutting down: kill -9 exits 0"
t_like "$ERR_TEXT" "rewritten to SIGTERM, sent directly \(SQL route unavailable: [^)]*shutting down[^)]*\): exited after" \
	"shutting down: the direct route, because no new connection is accepted"
t_ok "shutting down: $SD gone" wait_gone "$SD" 3000
t_ok "shutting down: the server then stops cleanly" wait_gone "$PM" 10000
t_is "$(crash_restarts "$D")" 0 "shutting down: no crash-restart"
cluster_destroy "$D"

# ---------------------------------------------------------------- 3. superuser not named after the owner
new_running_cluster reachsu
# The state `initdb -U postgres` leaves: no role named after the OS owner.
cluster_add_role "$D" postgres superuser >/dev/null
RC=0
PGUSER=postgres cluster_psql "$D" "alter role \"$U\" rename to pgkg_boot" >/dev/null || RC=$?
t_is "$RC" 0 "role: the bootstrap superuser renamed away from the OS owner's name"
PGUSER=postgres open_idle_session "$D" suvictim
PGUSER=postgres open_idle_session "$D" suwitness
SV=""; SW=""
for _ in $(seq 100); do
	SV=$(pgrep -u "$U" -P "$PM" -f '^postgres: postgres postgres \[local\] idle' | head -1 || true)
	[ -n "$SV" ] && [ "$(pgrep -u "$U" -P "$PM" -fc '^postgres: postgres postgres \[local\] idle')" -ge 2 ] && break
	sleep 0.05
done
SW=$(pgrep -u "$U" -P "$PM" -f '^postgres: postgres postgres \[local\] idle' | grep -vx "$SV" | head -1)
run_capture guarded_root kill -9 "$SV"
t_is "$RC" 0 "role: root's kill -9 exits 0"
t_like "$ERR_TEXT" "rewritten to SIGTERM, sent directly \(SQL route unavailable: [^)]*role \"$U\" does not exist[^)]*\): exited after" \
	"role: the direct route, because the owner's role is missing"
t_ok "role: $SV gone" wait_gone "$SV" 3000
t_ok "role: other session alive" alive "$SW"
t_ok "role: no crash-restart" assert_cluster_intact "$D" "$PM"
cluster_destroy "$D"

# ---------------------------------------------------------------- 4. autoprewarm leader
PGKG_EXTRA_CONF="shared_preload_libraries = 'pg_prewarm'" new_running_cluster reachpw
open_idle_session "$D" pwwitness
PWW=$(backend_pid "$D" pwwitness)
APW=""
for _ in $(seq 100); do
	APW=$(pgrep -u "$U" -P "$PM" -f '^postgres: autoprewarm leader' | head -1 || true)
	[ -n "$APW" ] && break
	sleep 0.05
done
if [ -z "$APW" ]; then
	t_skip "autoprewarm: kill -9 of the leader" "no autoprewarm leader started (pg_prewarm missing?)"
else
	run_capture guarded_user kill -9 "$APW"
	t_is "$RC" 0 "autoprewarm: kill -9 of the leader exits 0"
	t_like "$ERR_TEXT" "kill -9 $APW \(background worker autoprewarm leader; cluster $D/data\) rewritten to SIGTERM, sent directly \(SQL route unavailable: PID $APW is not a PostgreSQL (backend|server) process\): exited after" \
		"autoprewarm: the server does not know it; the direct route"
	t_ok "autoprewarm: $APW gone" wait_gone "$APW" 3000
	t_ok "autoprewarm: the session lives" alive "$PWW"
	t_ok "autoprewarm: no crash-restart" assert_cluster_intact "$D" "$PM"
fi
# route=signal with cancel: SIGINT straight to the backend, the session stays.
_pgkg_env "$D"
_pgkg_user_cmd PGAPPNAME=sleeper "${_PGKG_ENV[@]}" "$BINDIR/psql" -X -q -c 'select pg_sleep(60)'
( cd / && exec setsid "${_PGKG_CMD[@]}" </dev/null >"$D/sleeper.out" 2>&1 ) &
SLEEPER_CLIENT=$!
register_pid "$SLEEPER_CLIENT"
SLP=$(backend_pid "$D" sleeper)
printf 'fatal client-backend cancel route=signal\n' >"$G_DIR/cancel-signal.conf"
chmod 644 "$G_DIR/cancel-signal.conf"
run_capture guarded_user env PGKILLGUARD_POLICY="$G_DIR/cancel-signal.conf" kill -9 "$SLP"
t_is "$RC" 0 "route=signal cancel: kill -9 exits 0"
t_like "$ERR_TEXT" "^pgkillguard: kill -9 $SLP \(client backend $U@postgres, [^;]*; cluster $D/data\) rewritten to SIGINT, sent directly \(policy route=signal\): query cancel requested after [0-9]+ ms; the session stays connected$" \
	"route=signal cancel: the line names the route and why"
t_ok "route=signal cancel: the client sees its query cancelled" wait_gone "$SLEEPER_CLIENT" 5000
t_like "$(cat "$D/sleeper.out")" "canceling statement due to user request" "route=signal cancel: cancelled as pg_cancel_backend would"
t_ok "route=signal cancel: no crash-restart" assert_cluster_intact "$D" "$PM"
cluster_destroy "$D"

# ---------------------------------------------------------------- 5. orphans
D=$(cluster_new_dir reachorph)
cluster_create "$D" >/dev/null
# PID 1 here does not reap: a subreaper (as the test user) adopts the orphans.
cat >"$G_DIR/subreaper.py" <<'EOF'
import ctypes, os, subprocess, sys, time
ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)   # PR_SET_CHILD_SUBREAPER
subprocess.run(sys.argv[1:], check=True)
while True:
    try:
        os.wait()
    except ChildProcessError:
        break
EOF
chmod 644 "$G_DIR/subreaper.py"
_pgkg_user_cmd python3 "$G_DIR/subreaper.py" "$BINDIR/pg_ctl" -w -D "$D/data" -l "$D/server.log" start
( cd / && exec "${_PGKG_CMD[@]}" >/dev/null 2>&1 ) &
REAPER=$!
disown "$REAPER" 2>/dev/null || true
cluster_wait_ready "$D" 30
PM=$(cluster_pm_pid "$D")
_pgkg_env "$D"
ORPH=()
for i in 1 2; do
	_pgkg_user_cmd PGAPPNAME="busy$i" "${_PGKG_ENV[@]}" "$BINDIR/psql" -X -q -c \
		'do $$ begin loop perform 1; end loop; end $$'
	( cd / && exec setsid "${_PGKG_CMD[@]}" </dev/null >/dev/null 2>&1 ) &
	register_pid $!
	ORPH+=("$(backend_pid "$D" "busy$i")")
done
_pgkg_raw_kill KILL "$PM"
t_ok "orphans: the postmaster is gone after an unguarded kill -9" wait_gone "$PM" 5000
sleep 0.5
t_ok "orphans: busy backend ${ORPH[0]} lives on" alive "${ORPH[0]}"
t_ok "orphans: busy backend ${ORPH[1]} lives on" alive "${ORPH[1]}"
run_capture env -u LD_PRELOAD "$G_HELPER" explain
t_like "$OUT_TEXT" "dead cluster $D/data: postmaster $PM \(line 1 of postmaster.pid\) is gone; .*pg_ctl start fails" \
	"orphans: explain names the dead cluster and why pg_ctl start fails"
t_like "$OUT_TEXT" "${ORPH[0]} +orphaned client backend $U@postgres" "orphans: explain lists ${ORPH[0]}"
t_like "$OUT_TEXT" "${ORPH[1]} +orphaned client backend $U@postgres" "orphans: explain lists ${ORPH[1]}"
run_capture env -u LD_PRELOAD "$G_HELPER" explain "${ORPH[0]}"
t_like "$OUT_TEXT" "KILL  -> terminate \(SIGTERM sent directly" "orphans: explain ORPHAN: KILL -> a direct SIGTERM"
run_capture env -u LD_PRELOAD runuser -u "$U" -- "$BINDIR/pg_ctl" -w -t 10 -D "$D/data" -l "$D/server2.log" start
t_ok "orphans: pg_ctl start fails while they live" test "$RC" != 0
for p in "${ORPH[@]}"; do
	# the first under the preload, the second under `pgkillguard exec`
	if [ "$p" = "${ORPH[0]}" ]; then run_capture guarded_user kill -9 "$p"; else run_capture gx kill -9 "$p"; fi
	t_is "$RC" 0 "orphans: guarded kill -9 $p exits 0"
	t_like "$ERR_TEXT" "^pgkillguard: kill -9 $p \(orphaned client backend $U@postgres, [^;]*its postmaster $PM is gone; cluster $D/data\) rewritten to SIGTERM, sent directly \(no postmaster is left to ask\): exited after [0-9]+ ms; the cluster cannot restart until all its orphans are gone$" \
		"orphans: the line says the cluster cannot restart until they are gone"
	t_ok "orphans: $p gone" wait_gone "$p" 3000
done
t_ok "orphans: pg_ctl start succeeds once they are gone" cluster_start "$D"
t_ok "orphans: the restarted cluster answers" cluster_psql "$D" "select 1"
cluster_destroy "$D"
wait_gone "$REAPER" 5000 || _pgkg_raw_kill KILL "$REAPER" || true

t_done
