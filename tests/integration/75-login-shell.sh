#!/bin/bash
# 75-login-shell.sh - guarded accounts: pgkillguard-shell installed setuid
# root keeps a supervisor the user can't signal (it gives up root for a
# system account once the shell is started: 72-attacks.sh), runs the real shell
# as the user (a login shell when called as one), leaves no_new_privs off
# so sudo/su work inside, and guards everything below it.
set -eu
. "$(dirname "$0")/../lib/cluster.sh"
. "$(dirname "$0")/../lib/guard.sh"

guard_test_begin
new_running_cluster shell
SH=$G_DIR/pgkillguard-shell
chown root:root "$SH"
chmod 4755 "$SH"
open_idle_session "$D" v1
V1=$(backend_pid "$D" v1)
UID_T=$(id -u "$PGKG_TEST_USER")

run_capture run_as_test_user "$SH" -c "busybox kill -9 $V1"
t_is "$RC" 0 "guarded account: busybox kill -9 of a backend returns 0"
t_like "$ERR_TEXT" "^pgkillguard: kill -9 $V1 \(client backend .*rewritten to pg_terminate_backend" "rewritten"
t_ok "backend gone" wait_gone "$V1" 3000

run_capture run_as_test_user "$SH" -c 'id -u; ps -o user= -p $PPID; grep NoNewPrivs /proc/self/status'
t_like "$OUT_TEXT" "^$UID_T
(nobody|pgkillguard)
NoNewPrivs:[[:space:]]+0$" "the shell is the user, the supervisor a system account (root given up), no_new_privs off"
run_capture run_as_test_user "$SH" -c 'kill -9 $PPID'
t_like "$RC:$ERR_TEXT" "^1:pgkillguard: a signal to the pgkillguard supervisor" "the user cannot signal the supervisor"
run_capture run_as_test_user bash -c "exec -a -pgkillguard-shell $SH -c 'shopt -q login_shell && echo \$0'"
t_is "$OUT_TEXT" "-bash" "called as a login shell: the real shell is a login shell"
run_capture run_as_test_user env PGKILLGUARD_LOGIN_SHELL=/bin/dash "$SH" -c 'echo $0'
t_is "$OUT_TEXT" "bash" "setuid: the environment does not choose the shell"

# not setuid (pgkillguard shell): the user's own supervisor, no_new_privs on
run_capture run_as_test_user env PGKILLGUARD_LOGIN_SHELL=/bin/dash "$G_HELPER" shell -c 'echo $0; grep NoNewPrivs /proc/self/status'
t_like "$OUT_TEXT" "^dash
NoNewPrivs:[[:space:]]+1$" "pgkillguard shell as a user: configured shell, no_new_privs set"
t_ok "no crash-restart" assert_cluster_intact "$D" "$PM"
t_done
