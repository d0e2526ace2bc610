#!/bin/bash
# 73-exec-ptrace.sh - debuggers under `pgkillguard exec` (issue 12): the
# supervisor is notified of ptrace requests that attach or carry a signal and
# judges them with the preload library's rules.  gdb's bt works, attaching
# warns, `signal SIGSEGV` and `kill` leave no crash-restart, strace -p works.
set -eu
. "$(dirname "$0")/../lib/cluster.sh"
. "$(dirname "$0")/../lib/guard.sh"

guard_test_begin
command -v gdb >/dev/null && command -v strace >/dev/null || {
	t_skip "gdb and strace are not installed (make deps installs them)"
	t_done
	exit 0
}
new_running_cluster xptrace
open_idle_session "$D" dbg
B=$(backend_pid "$D" dbg)
open_idle_session "$D" witness
W=$(backend_pid "$D" witness)
# root in the session, like a DBA with sudo inside an enforced account
gx_root() { env PGKILLGUARD_SYSLOG="$G_SYSLOG" "$G_HELPER" exec -- "$@"; }
GDB=(timeout -s KILL 60 gdb -nx -batch)

run_capture gx_root "${GDB[@]}" -p "$B" -ex bt
t_is "$RC" 0 "exec, gdb -ex bt: exits 0"
t_like "$OUT_TEXT" $'(^|\n)#0 ' "exec, gdb -ex bt: prints a backtrace"
t_like "$ERR_TEXT" "pgkillguard: ptrace\(PTRACE_ATTACH\) of $B \(client backend .*\) allowed, but keep the stop short: .*stuck spinlock" \
	"exec, attaching: allowed with a warning about stuck spinlocks"

run_capture gx_root "${GDB[@]}" -p "$B" -ex 'signal SIGSEGV'
t_like "$ERR_TEXT" "pgkillguard: ptrace\(PTRACE_CONT, SIGSEGV\) of $B \(.*\) refused: it would end the process like kill -11" \
	"exec, gdb signal SIGSEGV: refused, with what it would cost"
sleep 0.3
t_ok "exec, gdb signal SIGSEGV: the backend is still there" alive "$B"
t_ok "exec, gdb signal SIGSEGV: no crash-restart" assert_cluster_intact "$D" "$PM"

T0=$(date +%s%N)
run_capture gx_root "${GDB[@]}" -p "$B" -ex kill
T1=$(date +%s%N)
t_ok "exec, gdb kill: gdb does not hang (ended after $(((T1 - T0) / 1000000)) ms; the 60 s timeout was not needed)" \
	test $(((T1 - T0) / 1000000)) -lt 30000
t_is "$RC" 137 "exec, gdb kill: the debugger itself was ended (SIGKILL)"
t_like "$ERR_TEXT" "ptrace\(PTRACE_KILL\) of $B \(.*\) refused" "exec, gdb kill: PTRACE_KILL refused"
t_like "$ERR_TEXT" "the debugger that asked for PTRACE_KILL is ended so that the process it holds stopped is released" \
	"exec, gdb kill: says the debugger was ended to release the backend"
sleep 0.5
t_ok "exec, gdb kill: no SIGKILL reached the backend: gone through SIGTERM or alive, never a crash" \
	assert_cluster_intact "$D" "$PM"
t_ok "exec, gdb kill: the backend is not left stopped (ends cleanly once released)" wait_gone "$B" 3000

run_capture gx_root timeout -s INT 1 strace -p "$W" -o "$G_DIR/strace.out"
t_like "$ERR_TEXT" "strace: Process $W attached" "exec, strace -p: attaches"
t_like "$ERR_TEXT" "strace: Process $W detached" "exec, strace -p: detaches"
t_ok "exec, strace -p: the witness lives" alive "$W"
t_is "$(proc_state "$W")" S "exec, strace -p: the witness is not left stopped"
t_ok "no crash-restart" assert_cluster_intact "$D" "$PM"
t_done
