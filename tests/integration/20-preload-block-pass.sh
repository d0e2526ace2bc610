#!/bin/bash
# 20-preload-block-pass.sh - what is blocked (with an explanation, process
# untouched) and what passes exactly as without the library: errno, exit
# codes, no words, nothing sent to the database.
set -eu
. "$(dirname "$0")/../lib/cluster.sh"
. "$(dirname "$0")/../lib/guard.sh"

guard_test_begin

PGKG_EXTRA_CONF="log_connections = on" new_running_cluster block
open_idle_session "$D" witness
W=$(backend_pid "$D" witness)

# ---- blocked: the process stays, the call fails, one line says why
block_case() {	# NAME PID SIGNAL-ARG EXPECT-REGEX
	run_capture guarded_user bash -c "kill $3 $2"
	t_is "$RC" 1 "$1: kill fails"
	t_is "$(guard_lines)" 1 "$1: one pgkillguard line"
	t_like "$ERR_TEXT" "^pgkillguard: kill -[0-9]+ $2 \($4" "$1: explains"
	t_like "$ERR_TEXT" "blocked by " "$1: says blocked"
	t_like "$(audit_lines "target=$2 ")" "action=block result=blocked" "$1: audit line"
	sleep 0.05
	t_ok "$1: still alive" alive "$2"
}
block_case "postmaster KILL" "$PM" -9 "postmaster; cluster $D/data\) blocked by .*; stop the server with: pg_ctl stop -m fast"
block_case "postmaster QUIT" "$PM" -QUIT "postmaster; cluster"
for aux in checkpointer "background writer" walwriter; do
	A=$(aux_pid "$D" "$aux")
	block_case "$aux KILL" "$A" -KILL "$aux; cluster $D/data\) blocked by .*this is a server process"
	block_case "$aux QUIT" "$A" -QUIT "$aux; cluster"
done
block_case "STOP to a backend" "$W" -STOP "client backend $PGKG_TEST_USER@postgres, idle; cluster .*stalls every session"
t_is "$(proc_state "$W")" S "STOP to a backend: not stopped"
t_is "$(cluster_psql "$D" "select count(*) from pg_stat_activity where application_name='witness'")" 1 \
	"the witness session is still connected"

# ---- untouched: no words, same result as without the library
pass_case() {	# NAME EXPECTED-RC CMD...
	local name=$1 want=$2; shift 2
	run_capture guarded_user "$@"
	t_is "$RC" "$want" "$name: exit $want"
	t_is "$(guard_lines)" 0 "$name: no pgkillguard line"
}
pass_case "HUP to the postmaster (reload)" 0 bash -c "kill -HUP $PM"
t_ok "postmaster alive after HUP" alive "$PM"
pass_case "signal 0 to a backend" 0 bash -c "kill -0 $W"
pass_case "signal 0 to the postmaster" 0 "$G_PROBE" kill "$PM" 0

SLEEPER=$(run_as_test_user bash -c 'sleep 300 >/dev/null 2>&1 & echo $!')
register_pid "$SLEEPER"
pass_case "kill -9 of a non-PostgreSQL process" 0 bash -c "kill -9 $SLEEPER"
t_ok "the sleep is gone" wait_gone "$SLEEPER" 2000

open_idle_session "$D" term-victim
TV=$(backend_pid "$D" term-victim)
pass_case "TERM to a backend" 0 bash -c "kill -TERM $TV"
t_ok "TERM: the backend exited by itself" wait_gone "$TV" 3000

# errno exactly as the kernel says, with and without the library
ROOT_SLEEPER=$(bash -c 'sleep 300 >/dev/null 2>&1 & echo $!')
register_pid "$ROOT_SLEEPER"
GONE=$(bash -c 'echo $$')
for call in kill sys-kill sigqueue tgkill sys-tgkill pidfd killpg; do
	for case in "ESRCH:$GONE:9" "EPERM:$ROOT_SLEEPER:9" "EPERM:1:9" "EINVAL:$ROOT_SLEEPER:99"; do
		IFS=: read -r want pid sig <<<"$case"
		[ "$call" = pidfd ] && [ "$want" = ESRCH ] && continue	# pidfd_open fails first
		[ "$call" = killpg ] && [ "$pid" = 1 ] && continue	# killpg(1) is kill(-1): everything
		run_capture unguarded_user "$G_PROBE" "$call" "$pid" "$sig"
		plain=$OUT_TEXT
		run_capture guarded_user "$G_PROBE" "$call" "$pid" "$sig"
		t_is "$OUT_TEXT" "$plain" "$call $pid $sig: '$plain' with and without the library"
	done
done
run_capture guarded_user "$G_PROBE" keep-errno "$GONE" 0
t_is "$OUT_TEXT" "failed ESRCH" "errno is the kernel's for a gone process"
run_capture guarded_user "$G_PROBE" keep-errno "$W" 0
t_is "$OUT_TEXT" "ok EILSEQ" "a successful kill(backend, 0) leaves errno alone"
run_capture guarded_user "$G_PROBE" keep-errno "$ROOT_SLEEPER" 0
t_is "$OUT_TEXT" "failed EPERM" "EPERM for another user's process"

# another OS user's kill -9 of a backend: the kernel's EPERM, nothing to the database
before=$(grep -c 'application_name=pgkillguard' "$D/server.log" || true)
run_capture env LD_PRELOAD="$G_LIB" PGKILLGUARD_HELPER="$G_HELPER" PGKILLGUARD_SYSLOG="$G_SYSLOG" \
	setpriv --reuid=nobody --regid=nogroup --clear-groups "$G_PROBE" kill "$W" 9
t_is "$OUT_TEXT" EPERM "nobody: kill -9 of a backend is EPERM"
t_is "$(guard_lines)" 0 "nobody: no pgkillguard line (the kernel answered)"
sleep 0.1
t_ok "nobody: the backend lives" alive "$W"
t_is "$(grep -c 'application_name=pgkillguard' "$D/server.log" || true)" "$before" \
	"nobody: no connection was made to the database"

# a broadcast that reaches PostgreSQL processes is refused whole
run_capture guarded_user bash -c 'kill -9 -1'
t_is "$RC" 1 "kill -9 -1 as the cluster owner: refused"
t_like "$ERR_TEXT" "^pgkillguard: kill -9 -1 would reach PostgreSQL processes \(postmaster $PM" "kill -9 -1: lists what it would hit"
t_ok "kill -9 -1: postmaster alive" alive "$PM"
t_ok "kill -9 -1: witness alive" alive "$W"

t_ok "no crash-restart in server.log, postmaster pid unchanged" assert_cluster_intact "$D" "$PM"
t_done
