#!/bin/bash
# 83-callers.sh - awkward callers of the library (tests/tools/callers.c) against
# real backends: kill() from a signal handler while the main program is in
# kill(), from 16 threads at once, from a vfork() child; with stderr closed;
# a program that takes over the file descriptor number of the library's
# helper socket; a setuid program (secure execution: no environment
# override); no syslog daemon, or one that never reads; a nested
# `pgkillguard exec`.  Every rewrite must report success, the program's own
# descriptors must stay its own, and nothing may hang or crash.
set -eu
. "$(dirname "$0")/../lib/cluster.sh"
. "$(dirname "$0")/../lib/guard.sh"
. "$(dirname "$0")/../lib/hostile.sh"

guard_test_begin
cp "$PGKG_BUILD/tests/callers" "$G_DIR/"
C=$G_DIR/callers
new_running_cluster callers
open_idle_sessions "$D" v 28 >/dev/null
mapfile -t V < <(backend_pids "$D" v)
open_idle_session "$D" witness
W=$(backend_pid "$D" witness)

run_capture guarded_user "$C" handler 9 "${V[0]}" "${V[1]}"
t_is "$RC:$OUT_TEXT" "0:main ok
handler ok" "signal handler: kill() in the handler and in main both succeed"
t_is "$(rewritten)" 2 "signal handler: both rewritten"
t_ok "signal handler: both backends gone" gone_all "${V[0]}" "${V[1]}"

run_capture guarded_user "$C" threads 9 "${V[@]:2:16}"
t_like "$RC:$OUT_TEXT" "^0:.*threads 16 all-ok$" "16 threads at once: every kill() returns 0"
t_is "$(rewritten)" 16 "16 threads: 16 rewrites"
t_ok "16 threads: all 16 backends gone" gone_all "${V[@]:2:16}"

run_capture guarded_user "$C" vfork 9 "${V[18]}" "${V[19]}"
t_is "$RC:$OUT_TEXT" "0:child ok
parent ok
fd3 intact" "vfork child, then parent: both succeed, the parent's descriptors untouched"
t_is "$(rewritten)" 2 "vfork: both rewritten"
t_ok "vfork: both backends gone" gone_all "${V[18]}" "${V[19]}"

run_capture guarded_user "$C" nostderr 9 "${V[20]}" "${V[21]}"
t_is "$RC:$OUT_TEXT" "0:first ok
second ok
next-fd 2" "stderr closed: both succeed, fd 2 left free"
t_ok "stderr closed: both backends gone" gone_all "${V[20]}" "${V[21]}"
run_capture guarded_user bash -c "kill -9 ${V[22]} 2>&-; echo rc=\$?"
t_is "$OUT_TEXT" "rc=0" "bash kill 2>&-: succeeds"
t_ok "bash kill 2>&-: backend gone" wait_gone "${V[22]}" 3000

# bash takes over the helper's descriptor number with exec N>file
F=$G_DIR/fd.txt
: >"$F"
chown "$PGKG_TEST_USER" "$F"
cat >"$G_DIR/fdreuse.sh" <<EOF
kill -9 ${V[23]}
for f in /proc/\$\$/fd/*; do
	case \$(readlink "\$f") in socket:*) fd=\${f##*/}; break ;; esac
done
echo "helper fd \$fd"
eval "exec \$fd>>$F"
kill -9 ${V[24]}
echo "rc=\$?"
eval "echo still-mine >&\$fd"
EOF
chmod 644 "$G_DIR/fdreuse.sh"
run_capture guarded_user bash "$G_DIR/fdreuse.sh"
t_like "$OUT_TEXT" "helper fd [0-9]+
rc=0" "exec N>file over the helper's socket: the next kill still succeeds"
t_is "$(cat "$F")" "still-mine" "... and the program's file stays open and its own"
t_ok "fd reuse: both backends gone" gone_all "${V[23]}" "${V[24]}"

# ---- setuid: glibc ignores LD_PRELOAD paths for setuid programs, so such a
# program meets the library only when installed system-wide; dlopen() runs
# the library's code the same way there (AT_SECURE set).  No environment
# variable may change the policy, the helper or the log.
POL=$G_DIR/pol
mkdir -p "$POL"
printf '*  any  allow\n' >"$POL/allow.conf"
printf 'this is not a policy\n' >"$POL/broken.conf"
chown -R "$PGKG_TEST_USER" "$POL"
cp "$C" "$G_DIR/callers-suid"
chown root:root "$G_DIR/callers-suid"
chmod 4755 "$G_DIR/callers-suid"
for pol in allow broken; do
	run_capture run_as_test_user PGKILLGUARD_POLICY="$POL/$pol.conf" PGKILLGUARD_SYSLOG="$G_SYSLOG" \
		"$G_DIR/callers-suid" dlopen "$G_LIB" 19 "$W"
	t_like "$OUT_TEXT" "^secure setuid
kill EPERM$" "setuid, PGKILLGUARD_POLICY=$pol.conf: ignored, STOP to a backend refused"
	t_like "$ERR_TEXT" "^pgkillguard: kill -19 $W \(client backend .*\) blocked by [^;]*:[0-9]+; a stopped PostgreSQL process" \
		"setuid, $pol.conf: the decision comes from the system policy"
	t_is "$(proc_state "$W")" S "setuid, $pol.conf: the backend is not stopped"
done
t_is "$(audit_lines "target=$W ")" "" "setuid: PGKILLGUARD_SYSLOG ignored (no line in the test's log)"
run_capture run_as_test_user PGKILLGUARD_POLICY="$POL/allow.conf" "$C" dlopen "$G_LIB" 19 "$W"
t_like "$RC:$OUT_TEXT" "^0:secure no
kill ok" "the same program without setuid honours PGKILLGUARD_POLICY (so the test above means something)"
kill -CONT "$W"

# ---- no syslog daemon, or one that never reads
run_capture guarded_user env PGKILLGUARD_SYSLOG=/nonexistent/log bash -c "kill -9 ${V[25]}; kill -STOP $W"
t_like "$RC:$ERR_TEXT" "^1:pgkillguard: kill -9 ${V[25]} .*rewritten.*
pgkillguard: kill -19 $W .*blocked" "no syslog socket: rewrite and block work, stderr says so"
t_ok "no syslog socket: backend gone" wait_gone "${V[25]}" 3000
python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("bound", flush=True)
time.sleep(120)' "$G_DIR/deaf.sock" >"$G_DIR/deaf.out" &
DEAF=$!
register_pid "$DEAF"
for _ in $(seq 100); do [ -S "$G_DIR/deaf.sock" ] && break; sleep 0.05; done
chmod 666 "$G_DIR/deaf.sock"
run_capture guarded_user env PGKILLGUARD_SYSLOG="$G_DIR/deaf.sock" "$C" flood 19 "$W" 3000
t_like "$RC:$OUT_TEXT" "^0:flood 3000 refused 3000 other 0 ms [0-9]+$" "a syslog that never reads: 3000 refused calls, none blocked on logging"
ms=${OUT_TEXT##* }
t_ok "... in reasonable time (${ms} ms for 3000)" test "${ms:-99999}" -lt 20000
t_is "$(proc_state "$W")" S "the witness was never stopped"

# ---- a program in an enforced session starting a supervisor of its own
# (nested seccomp listeners): refused, and its command never runs
run_capture run_as_test_user PGKILLGUARD_SYSLOG="$G_SYSLOG" "$G_HELPER" exec -- \
	"$G_HELPER" exec -- echo ran
t_like "$RC:$OUT_TEXT" "^[1-9][0-9]*:$" "nested pgkillguard exec: refused, its command never runs"

t_ok "no crash-restart in server.log, postmaster pid unchanged" assert_cluster_intact "$D" "$PM"
t_done
