#!/bin/bash
# 88-stuck-backends.sh - when terminate is not enough (issue 12), under the
# preload library, against real PL/Perl and PL/Python backends that ignore
# SIGTERM:
#  - a guarded kill -9 gives no crash-restart, a non-zero exit and a line that
#    says what was sent (SIGTERM, pg_terminate_backend returned true), that
#    the process still runs, why (state R), what it runs (pg_stat_activity)
#    and the options; never "not sent";
#  - debuggers: gdb's kill and `signal SIGSEGV` leave no crash-restart, gdb's
#    bt still works, strace -p still attaches; attaching prints a warning;
#  - force-kill: refused without a rule; with one it shows the blast radius,
#    needs a terminal or --yes, is audited at alert severity, and works;
#  - allow and fallback=signal state the price (restart, sessions dropped)
#    before it is paid.
set -eu
. "$(dirname "$0")/../lib/cluster.sh"
. "$(dirname "$0")/../lib/guard.sh"

guard_test_begin
BINDIR=$(pg_bindir)
LIBDIR=$("$BINDIR/pg_config" --pkglibdir 2>/dev/null || echo "${BINDIR%/bin}/lib")
[ -e "$LIBDIR/plperl.so" ] && [ -e "$LIBDIR/plpython3.so" ] ||
	skip_all "postgresql-plperl-15 and postgresql-plpython3-15 are not installed (make deps)"
command -v gdb >/dev/null && command -v strace >/dev/null ||
	skip_all "gdb and strace are not installed (make deps)"

new_running_cluster stuck
cluster_psql "$D" "create extension plperl; create extension plpython3u" >/dev/null
open_idle_session "$D" witness
W=$(backend_pid "$D" witness)

# Policies: a short wait keeps the test quick; same rules otherwise.
policy() { local name=$1; shift; printf '%s\n' "$@" >"$G_DIR/$name.conf"; echo "$G_DIR/$name.conf"; }
P_SHORT=$(policy short 'fatal backend terminate timeout=1500' 'stop any block')
P_FALLBACK=$(policy fallback 'fatal backend terminate timeout=1000 fallback=signal')
P_ALLOW=$(policy allow 'KILL backend allow')
P_FORCE=$(policy force "force-kill backend allow user=$PGKG_TEST_USER" 'fatal backend terminate timeout=1500')

# audit_wait PATTERN : audit_lines, once the sink has written one (<= 2 s).
audit_wait() {
	local i
	for i in $(seq 40); do
		[ -z "$(audit_lines "$1")" ] || break
		sleep 0.05
	done
	audit_lines "$1"
}

# start_loop APP LANG BODY : a session whose backend loops in LANG, ignoring SIGTERM.
start_loop() {
	local app=$1 lang=$2 body=$3
	_pgkg_env "$D"
	_pgkg_user_cmd PGAPPNAME="$app" "${_PGKG_ENV[@]}" "$BINDIR/psql" -X -q \
		-c "DO \$\$ $body \$\$ LANGUAGE $lang"
	( cd / && exec setsid "${_PGKG_CMD[@]}" </dev/null >"$D/sessions/$app.log" 2>&1 ) &
	printf '%s\n' "$!" >"$D/sessions/$app.pid"
	disown $!
}

# stuck_kill NAME PID LANGLABEL : guarded kill -9 of a stuck backend, default wait shortened
stuck_kill() {
	local name=$1 pid=$2
	PGKILLGUARD_POLICY=$P_SHORT run_capture guarded_user bash -c "kill -9 $pid"
	t_ok "$name: non-zero exit" test "$RC" != 0
	t_is "$(guard_lines)" 1 "$name: one pgkillguard line"
	t_like "$ERR_TEXT" "pgkillguard: kill -9 $pid \(client backend $PGKG_TEST_USER@postgres, [^)]*; cluster $D/data\) rewritten to pg_terminate_backend, which returned true: SIGTERM delivered at [0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3} UTC; the process still runs [0-9]+ ms later\." \
		"$name: says SIGTERM was delivered and the process still runs"
	t_like "$ERR_TEXT" "Why: state R: running code that does not check for interrupts; PL/Perl, PL/Python" \
		"$name: says why (state R, PL loops ignore interrupts)"
	t_like "$ERR_TEXT" "Runs: pg_stat_activity: state=active wait_event=[^ ]+ backend_start=[0-9:]+ query_start=[0-9:]+ query=DO \\$\\$ " \
		"$name: says what it runs (pg_stat_activity)"
	t_like "$ERR_TEXT" "The KILL itself was withheld \(it would crash-restart the cluster\)\. Options: .*pgkillguard force-kill $pid" \
		"$name: says the KILL was withheld, and the options"
	t_ok "$name: never says 'not sent' or 'failed'" bash -c "! grep -qiE 'not sent|failed' <<<\"\$1\"" _ "$ERR_TEXT"
	t_ok "$name: the backend still runs" alive "$pid"
	t_like "$(audit_wait "target=$pid ")" "call=kill signal=KILL target=$pid kind=client-backend .* action=terminate result=timeout" \
		"$name: audit line says timeout"
}

start_loop perlloop plperl 'while(1){}'
start_loop pyloop plpython3u 'while True: pass'
BP=$(backend_pid "$D" perlloop)
BY=$(backend_pid "$D" pyloop)
sleep 0.3
t_is "$(proc_state "$BP")$(proc_state "$BY")" RR "both loops run (state R)"
stuck_kill "plperl loop" "$BP"
stuck_kill "plpython loop" "$BY"
t_ok "after both: no crash-restart" assert_cluster_intact "$D" "$PM"

# The same line from the enforced guard (the supervisor shares the guard core).
run_capture run_as_test_user PGKILLGUARD_SYSLOG="$G_SYSLOG" "$G_HELPER" exec --policy "$P_SHORT" -- bash -c "kill -9 $BY"
t_ok "exec: kill -9 of the plpython loop: non-zero exit" test "$RC" != 0
t_like "$ERR_TEXT" "pgkillguard: kill -9 $BY \(client backend .*\) rewritten to pg_terminate_backend, which returned true: SIGTERM delivered at [0-9:.]+ UTC; the process still runs [0-9]+ ms later\. Why: state R: .*Runs: pg_stat_activity: state=active .*query=DO " \
	"exec: the same truthful line"
t_ok "exec: the backend still runs, no crash-restart" assert_cluster_intact "$D" "$PM"

# A stopped backend (SIGSTOP, state T) cannot act on SIGTERM: said at once, not after the wait.
open_idle_session "$D" stopped1
S=$(backend_pid "$D" stopped1)
_pgkg_raw_kill STOP "$S"
T0=$(date +%s%N)
PGKILLGUARD_POLICY=$P_SHORT run_capture guarded_user bash -c "kill -9 $S"
T1=$(date +%s%N)
t_like "$RC:$ERR_TEXT" "^1:pgkillguard: kill -9 $S \(client backend .*\) rewritten to pg_terminate_backend, which returned true: SIGTERM delivered at [0-9:.]+ UTC, but the process is stopped \(SIGSTOP\) and exits only once continued: kill -CONT $S\." \
	"stopped backend: says SIGTERM was delivered and that it must be continued"
t_ok "stopped backend: answered without waiting out the 1500 ms" test $(((T1 - T0) / 1000000)) -lt 1400
_pgkg_raw_kill CONT "$S"
t_ok "stopped backend: once continued, the delivered SIGTERM ends it" wait_gone "$S" 3000
t_ok "stopped backend: no crash-restart" assert_cluster_intact "$D" "$PM"

# ---- debuggers under the preload library (root, like a DBA with sudo)
GDB=(timeout -s KILL 60 gdb -nx -batch)
run_capture guarded_root "${GDB[@]}" -p "$BP" -ex bt
t_is "$RC" 0 "gdb -ex bt: exits 0"
t_like "$OUT_TEXT" $'(^|\n)#0 ' "gdb -ex bt: prints a backtrace"
t_like "$ERR_TEXT" "pgkillguard: ptrace\(PTRACE_ATTACH\) of $BP \(client backend .*\) allowed, but keep the stop short: .*stuck spinlock" \
	"attaching: allowed with a warning about stuck spinlocks"
t_like "$(audit_wait "call=PTRACE_ATTACH .*target=$BP ")" "result=attach-warned" "attaching: audited"

run_capture guarded_root "${GDB[@]}" -p "$BP" -ex 'signal SIGSEGV'
t_like "$ERR_TEXT" "pgkillguard: ptrace\(PTRACE_CONT, SIGSEGV\) of $BP \(.*\) refused: it would end the process like kill -11, and the postmaster will crash-restart the cluster: [0-9]+ other sessions? (is|are) dropped.*Instead detach the debugger .*then kill $BP" \
	"gdb signal SIGSEGV: refused, with the price and what to do instead"
sleep 0.3
t_ok "gdb signal SIGSEGV: backend still there" alive "$BP"
t_ok "gdb signal SIGSEGV: no crash-restart" assert_cluster_intact "$D" "$PM"

T0=$(date +%s%N)
run_capture guarded_root "${GDB[@]}" -p "$BP" -ex kill
T1=$(date +%s%N)
t_ok "gdb kill of the stuck backend: gdb returns (not killed by the 60 s timeout)" test "$RC" != 137
t_ok "gdb kill: not made to wait out the policy's 5 s" test $(((T1 - T0) / 1000000)) -lt 5000
t_like "$ERR_TEXT" "pgkillguard: kill -9 $BP \(.*\) rewritten to pg_terminate_backend, which returned true: SIGTERM delivered at [0-9:.]+ UTC, but the process is stopped by debugger gdb \(pid [0-9]+\) and cannot exit until that debugger detaches" \
	"gdb kill: the kill line names the debugger that holds the backend"
t_like "$ERR_TEXT" "ptrace\(PTRACE_KILL\) of $BP \(.*\) refused: .*pgkillguard detached the debugger from it instead" \
	"gdb kill: PTRACE_KILL refused, debugger detached"
sleep 0.3
t_ok "gdb kill: the stuck backend still runs" alive "$BP"
t_ok "gdb kill: no crash-restart" assert_cluster_intact "$D" "$PM"

open_idle_session "$D" idle1
I=$(backend_pid "$D" idle1)
run_capture guarded_root "${GDB[@]}" -p "$I" -ex kill
t_ok "gdb kill of an idle backend: gdb returns" test "$RC" != 137
t_ok "gdb kill of an idle backend: it ends cleanly (the SIGTERM acts once detached)" wait_gone "$I" 3000
t_ok "gdb kill of an idle backend: no crash-restart" assert_cluster_intact "$D" "$PM"

run_capture guarded_root timeout -s INT 1 strace -p "$W" -o "$G_DIR/strace.out"
t_like "$ERR_TEXT" "strace: Process $W attached" "strace -p: attaches"
t_like "$ERR_TEXT" "strace: Process $W detached" "strace -p: detaches on Ctrl-C"
t_like "$ERR_TEXT" "pgkillguard: ptrace\(PTRACE_SEIZE\) of $W .* allowed, but keep the stop short" "strace -p: warned"
t_ok "strace -p: the witness lives" alive "$W"
t_ok "strace -p: no crash-restart" assert_cluster_intact "$D" "$PM"

# ---- force-kill
t_ok "--help names force-kill" bash -c "'$G_HELPER' --help | grep -q 'force-kill \[-s SIG\] \[--yes\]'"
run_capture guarded_user "$G_HELPER" force-kill --yes "$BP"
t_is "$RC" 1 "force-kill without a rule: exit 1"
t_like "$ERR_TEXT" "^pgkillguard: force-kill $BP \(client backend .*\) refused: no rule of .* allows it for you" \
	"force-kill without a rule: refused, says why"
t_like "$(audit_wait "call=force-kill .*target=$BP ")" "action=force-kill result=refused" "force-kill refusal: audited"

run_capture "$G_HELPER" explain "$BP"
t_like "$OUT_TEXT" "force-kill -> block  \[no force-kill rule matches: refused\]" "explain: force-kill refused without a rule"
t_like "$OUT_TEXT" "ptrace attach -> allow  \[no ptrace rule matches: allowed, with a warning\]" "explain: ptrace attach allowed with a warning"
run_capture "$G_HELPER" explain --policy "$P_FORCE" -p bash "$BP"
t_like "$OUT_TEXT" "force-kill -> block" "explain as root with the rule for $PGKG_TEST_USER: still refused for root"
run_capture run_as_test_user "$G_HELPER" explain --policy "$P_FORCE" "$BP"
t_like "$OUT_TEXT" "force-kill -> allow  \[$P_FORCE:1\]" "explain as $PGKG_TEST_USER with the rule: force-kill allowed by line 1"

export PGKILLGUARD_POLICY=$P_FORCE
run_capture guarded_user "$G_HELPER" force-kill "$BP"
t_is "$RC" 1 "force-kill, no terminal and no --yes: exit 1"
t_like "$ERR_TEXT" "pgkillguard: blast radius: the postmaster will crash-restart the cluster: [0-9]+ other sessions? (is|are) dropped, and crash recovery replays the WAL written since the last checkpoint" \
	"force-kill: shows the blast radius first"
t_like "$ERR_TEXT" "no terminal to confirm on; nothing was sent \(use --yes in scripts\)" "force-kill: refuses without a terminal"
if command -v script >/dev/null; then
	_pgkg_user_cmd "$G_HELPER" force-kill "$BP"
	RC=0
	ERR_TEXT=$(printf 'no\n' | timeout 20 script -qec "$(printf '%q ' "${_PGKG_CMD[@]}")" /dev/null 2>&1) || RC=$?
	t_like "$ERR_TEXT" "Type yes to confirm:" "force-kill on a terminal: asks"
	t_like "$ERR_TEXT" "not confirmed; nothing was sent" "force-kill on a terminal: 'no' sends nothing"
else
	t_skip "force-kill on a terminal: asks" "script(1) not installed"
	t_skip "force-kill on a terminal: 'no' sends nothing" "script(1) not installed"
fi
t_ok "force-kill not confirmed: the backend still runs" alive "$BP"
t_ok "force-kill not confirmed: no crash-restart" assert_cluster_intact "$D" "$PM"

SESSIONS=$(cluster_psql "$D" "select count(*) - 1 from pg_stat_activity where backend_type in ('client backend', 'walsender') and pid <> $BP")
run_capture guarded_user "$G_HELPER" force-kill --yes "$BP"
t_is "$RC" 0 "force-kill --yes with a rule: exit 0"
N=$(sed -n 's/.*blast radius: the postmaster will crash-restart the cluster: \([0-9]*\) other session.*/\1/p' <<<"$ERR_TEXT")
t_ok "force-kill: counts the sessions it drops (${N:-none} said, $SESSIONS seen by pg_stat_activity just before)" \
	test "${N:-99}" -ge $((SESSIONS - 1)) -a "${N:-99}" -le $((SESSIONS + 1))
t_like "$ERR_TEXT" "pgkillguard: force-kill: sent SIGKILL to $BP" "force-kill: says it sent SIGKILL"
t_ok "force-kill: the backend is gone" wait_gone "$BP" 3000
t_like "$(audit_wait "call=force-kill .*target=$BP .*result=sent")" "^<81>pgkillguard\[[0-9]+\]: .* action=force-kill result=sent price=crash-restart sessions_dropped=[0-9]+" \
	"force-kill: audited at alert severity with the price"
unset PGKILLGUARD_POLICY
cluster_wait_ready "$D" 60
t_ok "force-kill: the cluster crash-restarted, as announced" test "$(crash_restarts "$D")" -gt 0
RESTARTS=$(crash_restarts "$D")

# ---- the price, stated by allow rules and fallback=signal (each crashes the cluster)
open_idle_session "$D" victim1
V=$(backend_pid "$D" victim1)
open_idle_session "$D" other1
backend_pid "$D" other1 >/dev/null
PGKILLGUARD_POLICY=$P_ALLOW run_capture guarded_user bash -c "kill -9 $V"
t_is "$RC" 0 "allow rule: kill -9 goes through"
t_like "$ERR_TEXT" "^pgkillguard: kill -9 $V \(client backend .*\) allowed by $P_ALLOW:1: sending the real KILL; the postmaster will crash-restart the cluster: [1-9][0-9]* other sessions? (is|are) dropped, and crash recovery replays the WAL" \
	"allow rule: the line states the restart and the sessions dropped"
t_like "$(audit_wait "target=$V ")" "^<81>pgkillguard\[[0-9]+\]: .* action=allow result=crash-restart latency_ms=[0-9]+ price=crash-restart sessions_dropped=[1-9]" \
	"allow rule: audit line at alert severity with the price"
cluster_wait_ready "$D" 60

start_loop perlloop2 plperl 'while(1){}'
B2=$(backend_pid "$D" perlloop2)
open_idle_session "$D" other2
backend_pid "$D" other2 >/dev/null
PGKILLGUARD_POLICY=$P_FALLBACK run_capture guarded_user bash -c "kill -9 $B2"
t_like "$ERR_TEXT" "SIGTERM delivered at [0-9:.]+ UTC; the process still runs .*; fallback=signal: sending the original KILL now: the postmaster will crash-restart the cluster: [1-9][0-9]* other sessions? (is|are) dropped" \
	"fallback=signal: the line states the restart and the sessions dropped, before sending"
t_ok "fallback=signal: never says 'not sent'" bash -c "! grep -q 'not sent' <<<\"\$1\"" _ "$ERR_TEXT"
t_like "$(audit_wait "target=$B2 ")" "^<81>pgkillguard.* action=terminate result=timeout .*price=crash-restart sessions_dropped=[1-9]" \
	"fallback=signal: audit at alert severity with the price"
t_ok "fallback=signal: the backend is gone" wait_gone "$B2" 3000
cluster_wait_ready "$D" 60
t_ok "fallback=signal and allow: crash-restarts happened, as announced" test "$(crash_restarts "$D")" -gt "$RESTARTS"
t_done
