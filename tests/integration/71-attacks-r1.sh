#!/bin/bash
# 71-attacks-r1.sh - the independent red-team review of issue 9 (review r1:
# tests/attack/R1-NOTES.md, programs in tests/attack/r1.c), as checks.  Each
# attack crash-restarted the cluster, or read a root-only file, on the
# reviewed commit; each must fail now.  The attacker is the cluster's owner
# (the worst case) in a setuid pgkillguard-shell, or a user with no rights
# on the cluster for the planted-cluster attack.
set -eu
. "$(dirname "$0")/../lib/cluster.sh"
. "$(dirname "$0")/../lib/guard.sh"

guard_test_begin
new_running_cluster r1
cp "$PGKG_BUILD/tests/r1" "$G_DIR/"
R1=$G_DIR/r1
SH=$G_DIR/pgkillguard-shell
chown root:root "$SH"
chmod 4755 "$SH"
shell() { run_as_test_user "$SH" -c "$1"; }
newb() { open_idle_session "$D" "$1"; B=$(backend_pid "$D" "$1"); }

# R1-1: prlimit64 on an acting thread (it carried the caller's ids), then a
# kill -9 the supervisor could no longer read /proc for.
newb s1; B1=$B
newb s2; B2=$B
run_capture shell "$R1 prlimit \$PPID $B1 $B2 9"
t_unlike "$OUT_TEXT" "prlimit: hit" "R1-1: no acting thread's limits can be changed by the caller"
t_like "$ERR_TEXT" "kill -9 $B2 \(client backend .*\) rewritten to pg_terminate_backend" \
	"R1-1: the second kill -9 is still judged (rewritten), not let through"
t_ok "R1-1: no crash-restart" assert_cluster_intact "$D" "$PM"

# tkill of acting threads: refused (they count as the supervisor)
newb s3
run_capture shell "timeout 5 $R1 tkill \$PPID $B 9"
t_ok "acting threads: the supervisor survives tkill of its threads" cluster_running "$D"

# R1-2: the owner moves postmaster.pid aside for one kill
newb s4
run_capture shell "cd $D/data && mv postmaster.pid pm.x && $R1 rawkill $B 9; mv pm.x postmaster.pid"
t_like "$OUT_TEXT" "kill: EPERM" "R1-2: pid file moved aside: kill -9 of a backend still refused"
t_like "$ERR_TEXT" "kill -9 $B \(postmaster child \(not yet identified\), parent not verifiable\) blocked" \
	"R1-2: ... as an unidentified postmaster child"
t_ok "R1-2: the backend lives" alive "$B"
t_ok "R1-2: no crash-restart" assert_cluster_intact "$D" "$PM"

# R1-5: kill -9 of pids nobody holds yet, by threads that starve until the
# postmaster forks backends into those pids
run_capture shell "timeout 120 $R1 futurerace $D/sock/.s.PGSQL.$(cat "$D/port") 20 3"
t_ok "R1-5: kills of future pids never reach the backends forked into them (no crash-restart)" \
	assert_cluster_intact "$D" "$PM"

# R1-8: the preload library with no fd left cannot read /proc: it refuses
newb s5
run_capture guarded_user "$R1" emfile-kill "$B" 9
t_like "$ERR_TEXT" "refused: pgkillguard could not read what process $B is .*too many open files" \
	"R1-8: library out of fds: kill -9 refused, and says why"
t_ok "R1-8: the backend lives" alive "$B"
t_ok "R1-8: no crash-restart" assert_cluster_intact "$D" "$PM"

# R1-9: F_SETOWN naming a cluster process by a user who may not signal it:
# nothing about the cluster is described (the kernel will send nothing)
newb s6
run_capture run_as_test_user env -u LD_PRELOAD true	# warm-up
run_capture runuser -u nobody -- "$SH" -c "$R1 setown $B"
t_unlike "$ERR_TEXT" "$D" "R1-9: a user who may not signal the backend learns nothing of its cluster"

# R1-10: a planted cluster whose pid file is a link to a root-only file
A=$G_DIR/planted
mkdir "$A"
chown nobody "$A"
printf 'x\n/d\n0\n5432\n/ROOT-ONLY-SECRET\n' >"$G_DIR/secret"
chmod 600 "$G_DIR/secret"
runuser -u nobody -- ln -s "$G_DIR/secret" "$A/postmaster.pid"
( cd / && exec setsid runuser -u nobody -- "$R1" fakepm "$A" >"$A.pids" 2>&1 ) &
disown $!
for _ in $(seq 100); do [ -s "$A.pids" ] && break; sleep 0.05; done
read -r _ FPM FB <"$A.pids"
register_pid "$FPM" "$FB"
printf '%s\n/d\n0\n5432\n/ROOT-ONLY-SECRET\n' "$FPM" >"$G_DIR/secret"
run_capture runuser -u nobody -- "$SH" -c "timeout 20 $R1 rawkill $FB 9"
t_unlike "$OUT_TEXT$ERR_TEXT" "ROOT-ONLY-SECRET" "R1-10: a linked pid file is never read through the supervisor"
t_ok "R1-10: the call was answered (no hang on the pid file)" test "$RC" != 124

# R1-4 (issue 12): ptrace injecting SIGSEGV
newb s7
run_capture shell "timeout 20 $R1 ptrace $B 11"
sleep 0.3
t_ok "R1-4: ptrace-injected SIGSEGV: the backend lives" alive "$B"
t_ok "no crash-restart in server.log, postmaster pid unchanged" assert_cluster_intact "$D" "$PM"
t_done
