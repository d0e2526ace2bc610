#!/bin/bash
# 87-deadly-signals.sh - signals outside the `fatal` set whose default action
# still ends a PostgreSQL process.  PostgreSQL installs no handler for SIGIO,
# SIGSTKFLT, SIGPROF, SIGVTALRM or any real-time signal (32..64), so each of
# them kills a backend by its default action, and the postmaster answers
# with a crash-restart of the whole cluster, exactly as for kill -9.
# (Measured on PostgreSQL 15: every one of them, sent to an idle backend,
# logs "terminated by signal N" and "terminating any other active server
# processes".)
#
# So they belong to the policy language's `fatal` set (policy/signals.c):
# the default policy rewrites them for backends, and a broken policy fails
# closed for them.  The signals PostgreSQL does handle must keep passing
# untouched.
set -eu
. "$(dirname "$0")/../lib/cluster.sh"
. "$(dirname "$0")/../lib/guard.sh"
. "$(dirname "$0")/../lib/hostile.sh"

guard_test_begin
new_running_cluster deadly
open_idle_session "$D" victim
V=$(backend_pid "$D" victim)
printf 'this is not a policy\n' >"$G_DIR/broken.conf"

# decision SIG [POLICY] : the action explain gives for SIG to the victim
decision() {
	"$G_HELPER" explain ${2:+--policy "$2"} -s "$1" "$V" | sed -n 's/^ *[^ ]* *-> \([a-z]*\).*/\1/p'
}
# none_allowed [POLICY] : no deadly signal to the victim is allowed (lists those that are)
DEADLY="IO STKFLT PROF VTALRM 32 33 RTMIN RTMIN+1 RTMAX-1 RTMAX"
none_allowed() {
	local sig d bad=""
	for sig in $DEADLY; do
		d=$(decision "$sig" "$@")
		case $d in block|terminate|cancel) ;; *) bad="$bad $sig:${d:-?}" ;; esac
	done
	[ -z "$bad" ] || { echo "allowed:$bad"; return 1; }
}

t_ok "default policy: none of $DEADLY to a backend is allowed" none_allowed
t_ok "broken policy: all of them fail closed" none_allowed "$G_DIR/broken.conf"

# signals PostgreSQL handles itself: they pass, the backend and the cluster live
for sig in USR1 USR2 ALRM WINCH URG PIPE CHLD CONT PWR; do
	t_is "$(decision "$sig")" allow "$sig to a backend: allowed (PostgreSQL handles it)"
	run_capture guarded_user bash -c "kill -$sig $V"
	t_is "$RC:$(guard_lines)" "0:0" "$sig: passes silently"
done
sleep 0.3
t_ok "the backend survived all of them" alive "$V"
t_ok "no crash-restart in server.log, postmaster pid unchanged" assert_cluster_intact "$D" "$PM"

# Last: without the guard this crashes the cluster (its own, thrown away after).
run_capture guarded_user bash -c "kill -IO $V"
t_like "$RC:$ERR_TEXT" "^0:pgkillguard: kill -29 $V .*rewritten to pg_terminate_backend" "kill -IO of a backend: rewritten"
sleep 0.5
t_ok "kill -IO of a backend under the library: no crash-restart" assert_cluster_intact "$D" "$PM"
t_done
