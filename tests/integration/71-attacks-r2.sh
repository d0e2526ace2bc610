#!/bin/bash
# 71-attacks-r2.sh - the second independent review of issue 9 (review r2:
# tests/attack/R2-NOTES.md, programs in tests/attack/r2.c), as checks.  On the
# reviewed commit R2-2, R2-3, R2-4 and R2-5 crash-restarted (or stopped) the
# cluster and R2-1 killed the supervisor; each must fail now.
set -eu
. "$(dirname "$0")/../lib/cluster.sh"
. "$(dirname "$0")/../lib/guard.sh"

guard_test_begin
new_running_cluster r2
cp "$PGKG_BUILD/tests/r2" "$G_DIR/"
R2=$G_DIR/r2
SH=$G_DIR/pgkillguard-shell
chown root:root "$SH"
chmod 4755 "$SH"
shell() { run_as_test_user "$SH" -c "$1"; }
SOCK=$D/sock/.s.PGSQL.$(cat "$D/port")

# R2-1: SIGKILL at the supervisor's threads, by a user with no right over it
run_capture runuser -u nobody -- "$SH" -c "exec $R2 supkill \$PPID 10"
t_unlike "$OUT_TEXT" "supervisor DEAD" "R2-1: the supervisor survives kills aimed at its threads"

# R2-2: F_SETOWN naming pids nobody holds yet, while backends are forked
run_capture shell "timeout 120 $R2 futureown $SOCK 20 5"
sleep 0.5
t_ok "R2-2: F_SETOWN of future pids: no backend gets SIGIO (no crash-restart)" assert_cluster_intact "$D" "$PM"

# R2-5: kill(-PGID) of groups nobody leads yet
run_capture shell "timeout 120 $R2 futurepg $SOCK 20 5"
sleep 0.5
t_ok "R2-5: kill of future process groups: no backend reached (no crash-restart)" assert_cluster_intact "$D" "$PM"

# R2-4: the postmaster itself, with its pid file moved aside
run_capture shell "cd $D/data && mv postmaster.pid pm.x && /bin/kill -s KILL $PM; r=\$?; mv pm.x postmaster.pid; exit \$r"
t_is "$RC" 1 "R2-4: kill -9 of the postmaster with its pid file moved aside: refused"
t_like "$ERR_TEXT" "kill -9 $PM \(postmaster; cluster [^)]*\) blocked" "R2-4: ... as the postmaster it is"
t_ok "R2-4: the postmaster lives" alive "$PM"

# R2-3: PTRACE_SEIZE with PTRACE_O_EXITKILL, then the tracer exits
open_idle_session "$D" ek
B=$(backend_pid "$D" ek)
run_capture shell "timeout 20 $R2 exitkill $B"
t_like "$ERR_TEXT" "ptrace\(PTRACE_SEIZE, SIGKILL\) of $B .* refused: it would end the process like kill -9" "R2-3: PTRACE_SEIZE with EXITKILL refused as the SIGKILL it is"
sleep 0.5
t_ok "R2-3: the backend lives" alive "$B"
t_ok "no crash-restart in server.log, postmaster pid unchanged" assert_cluster_intact "$D" "$PM"
t_done
