#!/bin/bash
# r2-run.sh - red-team review r2: reproduce R2-1 (a guarded non-owner
# SIGKILLs its supervisor through an acting thread) and R2-2 (F_SETOWN of
# a pid that does not exist yet is CONTINUE: SIGIO crash-restarts the
# cluster) against a setuid copy of pgkillguard-shell.  Run as root from the
# worktree after `make`:  PGKG_TEST_USER=pgkgr2 bash tests/attack/r2-run.sh
# Not part of make check (it fails on the reviewed commit).
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
. tests/lib/cluster.sh
export PGKG_TEST_USER=${PGKG_TEST_USER:-pgkgr2}
ensure_test_user
id pgkgatk >/dev/null 2>&1 || useradd --system --create-home pgkgatk
W=$(mktemp -d /tmp/pgkg.r2run.XXXXXX)
chmod 755 "$W"
gcc -O2 -o "$W/r2" tests/attack/r2.c -lpthread
cp build/pgkillguard-shell "$W/"
chown root:root "$W/pgkillguard-shell"
chmod 4755 "$W/pgkillguard-shell"
D=$(cluster_new_dir r2run)
cluster_create "$D" >/dev/null
cluster_start "$D" >/dev/null
trap 'cluster_destroy "$D" >/dev/null 2>&1 || true; rm -rf "$W"; cleanup_all' EXIT

# R2-1: the supervisor (uid pgkillguard/nobody) dies by the guarded user's SIGKILL.
runuser -u pgkgatk -- "$W/pgkillguard-shell" -c "exec $W/r2 supkill \$PPID 20" 2>/dev/null || true

# R2-2: F_SETOWN of future pids by the cluster owner, then SIGIO.
n=$(crash_restarts "$D")
run_as_test_user "$W/pgkillguard-shell" -c "$W/r2 futureown $D/sock/.s.PGSQL.$(cat "$D/port") 40 20" 2>/dev/null | tail -3 || true
sleep 1
if [ "$(crash_restarts "$D")" -gt "$n" ]; then echo "R2-2 future F_SETOWN: VULNERABLE (crash-restart)"
else echo "R2-2 future F_SETOWN: held"; fi

# R2-4: the postmaster itself, with postmaster.pid moved aside (R1-2's fix
# covers only server-named children of a server-named parent).
cluster_wait_ready "$D" >/dev/null 2>&1 || true
PM=$(head -1 "$D/data/postmaster.pid")
run_as_test_user "$W/pgkillguard-shell" -c "/bin/kill -s KILL $PM" 2>/dev/null && echo "control: kill -9 postmaster passed?!" || echo "control: kill -9 postmaster refused"
run_as_test_user "$W/pgkillguard-shell" -c "cd $D/data && mv postmaster.pid pm.x && /bin/kill -s KILL $PM; r=\$?; mv pm.x postmaster.pid; exit \$r" 2>/dev/null &&
	echo "R2-4 postmaster with pid file moved: VULNERABLE (kill -9 postmaster ok)" || echo "R2-4: held"

# R2-5: kill(-PGID, SIGKILL) of process groups that do not exist yet.
cluster_wait_ready "$D" >/dev/null 2>&1 || cluster_start "$D" >/dev/null 2>&1 || true
n=$(crash_restarts "$D")
run_as_test_user "$W/pgkillguard-shell" -c "$W/r2 futurepg $D/sock/.s.PGSQL.$(cat "$D/port") 40 20" 2>/dev/null | tail -2 || true
sleep 1
if [ "$(crash_restarts "$D")" -gt "$n" ]; then echo "R2-5 future process group: VULNERABLE (crash-restart)"
else echo "R2-5 future process group: held"; fi

# R2-3: PTRACE_SEIZE with PTRACE_O_EXITKILL, then exit.
cluster_wait_ready "$D" >/dev/null 2>&1 || true
B=$(open_idle_session "$D" x1 >/dev/null; backend_pid "$D" x1); n=$(crash_restarts "$D")
run_as_test_user "$W/pgkillguard-shell" -c "$W/r2 exitkill $B" 2>/dev/null || true
sleep 1
if [ "$(crash_restarts "$D")" -gt "$n" ]; then echo "R2-3 PTRACE_O_EXITKILL: VULNERABLE (crash-restart)"
else echo "R2-3 PTRACE_O_EXITKILL: held"; fi
