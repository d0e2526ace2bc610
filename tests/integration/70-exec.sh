#!/bin/bash
# 70-exec.sh - `pgkillguard exec`, the enforced front-end: static binaries,
# raw system calls and 32-bit programs are caught; ordinary kills behave as
# without the guard; the session cannot install its own listener; killing
# the supervisor makes guarded calls fail; root with su inside stays guarded.
set -eu
. "$(dirname "$0")/../lib/cluster.sh"
. "$(dirname "$0")/../lib/guard.sh"

guard_test_begin
new_running_cluster exec
open_idle_session "$D" witness
W=$(backend_pid "$D" witness)
N=0
SX=$G_DIR/probe-static

# gx CMD... : as the test user, under `pgkillguard exec` (no preload anywhere)
gx() { run_as_test_user PGKILLGUARD_SYSLOG="$G_SYSLOG" "$G_HELPER" exec -- "$@"; }
gx_root() { env PGKILLGUARD_SYSLOG="$G_SYSLOG" "$G_HELPER" exec -- "$@"; }

rewrite_case() {	# NAME user|root COMMAND-WITH-{PID}
	local name=$1 as=$2 tmpl=$3 pid
	N=$((N + 1))
	open_idle_session "$D" victim$N
	pid=$(backend_pid "$D" victim$N)
	if [ "$as" = root ]; then run_capture gx_root bash -c "${tmpl//\{PID\}/$pid}"
	else run_capture gx bash -c "${tmpl//\{PID\}/$pid}"; fi
	t_is "$RC" 0 "$name: exits 0"
	t_is "$(guard_lines)" 1 "$name: one pgkillguard line"
	t_like "$ERR_TEXT" "^pgkillguard: kill -9 $pid \(client backend [^)]*; cluster $D/data\) rewritten to pg_terminate_backend: exited after [0-9]+ ms; the cluster kept running" "$name: says what happened"
	t_ok "$name: backend gone" wait_gone "$pid" 3000
	t_like "$(audit_lines "target=$pid ")" "action=terminate result=ok" "$name: audit line"
}
rewrite_case "busybox-static kill -9" user "busybox kill -9 {PID}"
rewrite_case "static binary: syscall(SYS_kill)" user "$SX sys-kill {PID} 9"
rewrite_case "static binary: raw kill, no libc" user "$SX raw-kill {PID} 9"
rewrite_case "static binary: tgkill" user "$SX sys-tgkill {PID} 9"
rewrite_case "static binary: rt_sigqueueinfo" user "$SX sys-sigqueue {PID} 9"
rewrite_case "static binary: pidfd_send_signal on a pidfd" user "$SX sys-pidfd {PID} 9"
rewrite_case "static binary: pidfd_send_signal on /proc/PID (as killall)" user "$SX procfd {PID} 9"
if [ -x "$G_DIR/probe32" ]; then
	rewrite_case "32-bit static binary: kill()" user "$G_DIR/probe32 kill {PID} 9"
else
	t_skip "32-bit static binary" "no 32-bit toolchain (gcc-multilib) to build tests/tools/probe.c with -m32"
fi
rewrite_case "bash -c kill -9" user "kill -9 {PID}"
rewrite_case "python3 os.kill" user "python3 -c 'import os; os.kill({PID}, 9)'"
rewrite_case "root: busybox kill -9" root "busybox kill -9 {PID}"
rewrite_case "root, su to the cluster owner inside: still guarded" root "su -s /bin/bash $PGKG_TEST_USER -c 'kill -9 {PID}'"

cluster_add_role "$D" execpk >/dev/null
PGUSER=execpk open_idle_session "$D" pk
PK=$(backend_pid "$D" pk)
run_capture gx pkill -9 -u "$PGKG_TEST_USER" -f 'postgres: execpk '
t_like "$RC:$ERR_TEXT" "^0:pgkillguard: kill -9 $PK .*rewritten to pg_terminate_backend" "pkill -9 -f rewritten"
t_ok "pkill: gone" wait_gone "$PK" 3000

# blocked
run_capture gx busybox kill -9 "$PM"
t_like "$RC:$ERR_TEXT" "^1:pgkillguard: kill -9 $PM \(postmaster; cluster $D/data\) blocked by" "busybox kill -9 of the postmaster: blocked"
CKPT=$(aux_pid "$D" checkpointer)
run_capture gx "$SX" raw-kill "$CKPT" 3
t_like "$OUT_TEXT:$ERR_TEXT" "^EPERM:pgkillguard: kill -3 $CKPT \(checkpointer" "raw QUIT to the checkpointer: EPERM"
BGW=$(aux_pid "$D" "background writer")
open_idle_sessions "$D" ka 2 >/dev/null
mapfile -t KA < <(backend_pids "$D" ka)
run_capture gx killall -9 -u "$PGKG_TEST_USER" postgres
for p in "${KA[@]}"; do t_ok "killall: backend $p gone" wait_gone "$p" 3000; done
for p in "$PM" "$CKPT" "$BGW"; do t_ok "killall: server process $p alive" alive "$p"; done
open_idle_session "$D" witness2
W=$(backend_pid "$D" witness2)

# untouched: same answers as without the guard
SLEEPER=$(run_as_test_user bash -c 'sleep 300 >/dev/null 2>&1 & echo $!')
ROOT_SLEEPER=$(bash -c 'sleep 300 >/dev/null 2>&1 & echo $!')
register_pid "$SLEEPER" "$ROOT_SLEEPER"
GONE=$(bash -c 'echo $$')
for call in kill sys-kill sys-tgkill sys-sigqueue sys-pidfd raw-kill; do
	for case in "$W:0" "$GONE:9" "$ROOT_SLEEPER:9" "$ROOT_SLEEPER:99" "$PM:0"; do
		IFS=: read -r pid sig <<<"$case"
		run_capture unguarded_user "$SX" "$call" "$pid" "$sig"
		plain=$OUT_TEXT
		run_capture gx "$SX" "$call" "$pid" "$sig"
		t_is "$OUT_TEXT:$(guard_lines)" "$plain:0" "$call $pid $sig: '$plain' with and without exec, silently"
	done
done
run_capture gx busybox kill -9 "$SLEEPER"
t_is "$RC:$(guard_lines)" "0:0" "kill -9 of an ordinary process passes"
t_ok "... and it is gone" wait_gone "$SLEEPER" 2000
run_capture gx bash -c 'exit 7'
t_is "$RC" 7 "exit status passed through"
run_capture gx bash -c 'kill -TERM $$'
t_is "$RC" 143 "death by signal passed through (128+15)"
run_capture gx grep NoNewPrivs /proc/self/status
t_like "$OUT_TEXT" "NoNewPrivs:[[:space:]]+1" "started by a user: no_new_privs is set"
run_capture gx_root grep NoNewPrivs /proc/self/status
t_like "$OUT_TEXT" "NoNewPrivs:[[:space:]]+0" "started by root: no_new_privs stays off (su/sudo work inside)"

# hardening
run_capture gx "$SX" listener 0 0
t_is "$OUT_TEXT" EPERM "a process in the session cannot install its own seccomp listener"
run_capture gx bash -c 'kill -9 $PPID'
t_like "$RC:$ERR_TEXT" "^1:pgkillguard: a signal to the pgkillguard supervisor of this session was refused" "the session cannot signal its supervisor"
OUT=$G_DIR/after-supervisor.txt
: >"$OUT"; chmod 666 "$OUT"
run_as_test_user "$G_HELPER" exec -- bash -c "( sleep 1.5; $SX sys-kill $W 9 >$OUT 2>&1 ) & wait" &
EXEC_PID=$!
disown "$EXEC_PID"
register_pid "$EXEC_PID"
SUP=""
for _ in $(seq 100); do
	SUP=$(pgrep -u "$PGKG_TEST_USER" -x pgkillguard -n || true)
	[ -n "$SUP" ] && [ -n "$(pgrep -P "$SUP" || true)" ] && break; sleep 0.02
done
t_ok "the supervisor is not dumpable (no ptrace by the guarded user)" \
	test "$(stat -c %u "/proc/$SUP/mem" 2>/dev/null)" = 0
kill -9 "$SUP"
sleep 2
t_is "$(cat "$OUT")" ENOSYS "supervisor killed: a guarded kill left behind fails (ENOSYS)"
t_ok "... and the backend it aimed at lives" alive "$W"

# signals by proxy: a file owner gets SIGIO (or F_SETSIG's signal) on I/O
cp "$PGKG_BUILD/tests/callers" "$G_DIR/"
open_idle_session "$D" proxy
PX=$(backend_pid "$D" proxy)
run_capture gx "$G_DIR/callers" sigio "$PX" 9
t_like "$OUT_TEXT:$ERR_TEXT" "^setup EPERM:pgkillguard: fcntl\(F_SETOWN\) naming $PX \(client backend .*\) refused: the kernel would send it SIGIO" \
	"F_SETOWN naming a backend: refused, with an explanation"
sleep 0.3
t_ok "... and the backend lives" alive "$PX"
USLEEP=$(run_as_test_user bash -c 'trap "" USR1; sleep 300 >/dev/null 2>&1 & echo $!')
register_pid "$USLEEP"
run_capture gx "$G_DIR/callers" sigio "$USLEEP" 10
t_is "$OUT_TEXT:$(guard_lines)" "sent:0" "F_SETOWN naming an ordinary process: allowed, silently"

t_ok "no crash-restart in server.log, postmaster pid unchanged" assert_cluster_intact "$D" "$PM"
t_done
