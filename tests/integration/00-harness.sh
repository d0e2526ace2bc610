#!/bin/bash
# 00-harness.sh - self-test of tests/lib/cluster.sh against a real cluster:
# create, sessions, backend pids, SQL terminate, crash detection, teardown.
set -eu
. "$(dirname "$0")/../lib/cluster.sh"

plan_none
require_root_or_skip_all
setup_traps
ensure_test_user

D=$(cluster_new_dir harness)
t_ok "cluster_create" cluster_create "$D"
t_ok "cluster_start" cluster_start "$D"
t_ok "cluster_wait_ready" cluster_wait_ready "$D"
PM=$(cluster_pm_pid "$D")
t_like "$PM" '^[0-9]+$' "postmaster pid $PM"
t_is "$(ps -o user= -p "$PM")" "$PGKG_TEST_USER" "postmaster runs as $PGKG_TEST_USER"
t_is "$(cluster_psql "$D" "show listen_addresses")" "" "no TCP listener"
t_is "$(cluster_psql "$D" "show fsync")" "off" "fsync off"
t_ok "max_connections >= 250" test "$(cluster_psql "$D" "show max_connections")" -ge 250
t_is "$(crash_restarts "$D")" 0 "no crash restart after start"

# sessions and their backends
t_ok "open 3 idle sessions" open_idle_sessions "$D" harness- 3
t_is "$(count_sessions "$D" harness-)" 3 "3 sessions in pg_stat_activity"
declare -a B=()
for i in 1 2 3; do
	B[i]=$(backend_pid "$D" "harness-$i")
	t_is "$(ppid_of "${B[i]}")" "$PM" "backend of harness-$i (${B[i]}) is a child of the postmaster"
done
t_is "$(backend_pids "$D" harness- | wc -l)" 3 "backend_pids lists 3"
t_ok "session client side alive" alive "$(session_pid "$D" harness-1)"

# auxiliary processes, by backend_type; the title fallback must agree
for type in checkpointer "background writer" walwriter "autovacuum launcher"; do
	pid=$(aux_pid "$D" "$type")
	t_is "$(ppid_of "$pid")" "$PM" "$type ($pid) is a child of the postmaster"
	t_like "$(tr '\0' ' ' </proc/"$pid"/cmdline)" "^postgres: $type" "$type title"
done

# a role named like an auxiliary process must not fool aux_pid (title trap)
t_ok "cluster_add_role checkpointer" cluster_add_role "$D" checkpointer
PGUSER=checkpointer open_idle_session "$D" role-trap
trap_pid=$(backend_pid "$D" role-trap)
t_like "$(tr '\0' ' ' </proc/"$trap_pid"/cmdline)" "^postgres: checkpointer postgres " \
	"client backend of role checkpointer has the trap title"
t_is "$(aux_pid "$D" checkpointer)" "$(pgrep -P "$PM" -fx 'postgres: checkpointer ?')" \
	"aux_pid checkpointer is the real checkpointer"

# SQL terminate: one backend goes, the others stay, no crash restart
victim=${B[2]}
t_is "$(cluster_psql "$D" "select pg_terminate_backend($victim)")" t "pg_terminate_backend($victim)"
t_ok "terminated backend gone (wait_gone)" wait_gone "$victim" 5000
t_ok "alive says gone" eval '! alive '"$victim"
t_is "$(count_sessions "$D" harness-)" 2 "2 sessions left"
t_ok "other backends alive" alive "${B[1]}"
t_is "$(crash_restarts "$D")" 0 "crash_restarts = 0"
t_is "$(cluster_pm_pid "$D")" "$PM" "postmaster pid unchanged"
t_ok "assert_cluster_intact" assert_cluster_intact "$D" "$PM"
t_like "$(cat "$D/server.log")" "terminating connection due to administrator command" \
	"server.log shows the administrator terminate"

# run_as_test_user passes explicit variables, not to runuser itself
# shellcheck disable=SC2016
t_is "$(run_as_test_user PGKILLGUARD_POLICY=/x sh -c 'echo "$(id -un) $PGKILLGUARD_POLICY"')" \
	"$PGKG_TEST_USER /x" "run_as_test_user: user and NAME=VALUE"
t_is "$(PGKILLGUARD_HELPER=/h run_as_test_user sh -c 'echo "$PGKILLGUARD_HELPER"')" \
	"/h" "run_as_test_user forwards exported PGKILLGUARD_*"

# wait_gone treats a zombie as gone
# (a child of a process that does not reap it: a zombie while the parent sleeps)
perl -e '$| = 1; my $p = fork // die; exit 0 unless $p; print "$p\n"; sleep 30' >"$D/zombie" &
zparent=$!
register_pid "$zparent"
z=""
for i in $(seq 100); do
	z=$(cat "$D/zombie" 2>/dev/null) || true	# the background redirect may not have made it yet
	[ -n "$z" ] && [ "$(cut -d' ' -f3 /proc/"$z"/stat 2>/dev/null)" = Z ] && break
	sleep 0.02
done
t_like "$(cut -d' ' -f3 /proc/"$z"/stat 2>/dev/null)" '^Z$' "zombie made ($z)"
t_ok "kill -0 succeeds on the zombie" kill -0 "$z"
t_ok "wait_gone treats the zombie as gone" wait_gone "$z" 0
kill "$zparent"; wait "$zparent" 2>/dev/null || true
t_ok "wait_gone times out on a live process" eval "! wait_gone $PM 50"

# a crash restart is detected: SIGKILL one backend without any guard
t_ok "kill -9 of a backend, no guard" run_as_test_user env -u LD_PRELOAD kill -9 "${B[1]}"
crashed() { [ "$(crash_restarts "$D")" -gt 0 ]; }
poll() { local i; for i in $(seq 100); do "$@" && return 0; sleep 0.05; done; return 1; }
t_ok "crash restart detected in server.log" poll crashed
# shellcheck disable=SC2016
t_ok "assert_cluster_intact now fails" eval '! assert_cluster_intact "$D" "$PM"'
t_ok "cluster recovers" cluster_wait_ready "$D"

# teardown
sessions=$(cat "$D"/sessions/*.pid)
t_ok "cluster_destroy" cluster_destroy "$D"
t_ok "directory removed" test ! -e "$D"
t_ok "postmaster gone" wait_gone "$PM" 100
for s in $sessions; do
	t_ok "session group $s gone" wait_gone "$s" 100
done
t_is "$(user_procs)" "" "no live process of $PGKG_TEST_USER left"

t_done
