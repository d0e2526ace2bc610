#!/bin/bash
# 88-ha-managers.sh - issue 10: the guard never gets in the way of the
# programs that manage PostgreSQL, and still protects against a DBA's shell.
#
# Stand-ins (tests/lib/managers.py) make the managers' own kill-family calls,
# in their order, with the library preloaded:
#   Patroni          not the postmaster's parent (spawn helper, setsid), in
#                    its own service cgroup that holds the postmaster; stop
#                    fast with a backend stuck in PL/Perl: INT, then after the
#                    timeout STOP + KILL to the postmaster and every child;
#                    demote (QUIT) under `pgkillguard exec`; smart stop (TERM)
#   pg_auto_failover postgres is pg_autoctl's child in its process group:
#                    killpg TERM, INT, QUIT
#   repmgr           SIGTERM to a standby's walreceiver
#   pg_ctlcluster    stop --force (fast, then immediate) with a stuck backend
#   systemd          PID 1 of a pid namespace sweeps the unit's cgroup:
#                    TERM + CONT, then KILL to every process
# In the same runs a DBA shell (outside the service cgroup) still gets
# kill -9 of the postmaster refused and kill -9 of a backend rewritten, and a
# process that renames itself (PR_SET_NAME) patroni or pg_ctl gains nothing.
set -eu
. "$(dirname "$0")/../lib/cluster.sh"
. "$(dirname "$0")/../lib/guard.sh"

guard_test_begin
TOP=$(cd "$(dirname "$0")/../.." && pwd)
cp "$TOP/tests/lib/managers.py" "$G_DIR/managers.py"
MGR=$G_DIR/managers.py
BINDIR=$(pg_bindir)
PGVER=$(basename "$(dirname "$BINDIR")")

[ -e "/usr/lib/postgresql/$PGVER/lib/plperl.so" ] ||
	skip_all "postgresql-plperl-$PGVER is not installed (make deps)"

# ---- cgroup2: /sys/fs/cgroup/unified (hybrid) or /sys/fs/cgroup (systemd)
CGROOT=""
for d in /sys/fs/cgroup/unified /sys/fs/cgroup; do
	[ "$(stat -f -c %T "$d" 2>/dev/null)" = cgroup2fs ] || continue
	mkdir "$d/pgkg-test.$$" 2>/dev/null || continue
	CGROOT=$d/pgkg-test.$$
	break
done
[ -n "$CGROOT" ] || skip_all "no writable cgroup2 hierarchy at /sys/fs/cgroup/unified or /sys/fs/cgroup"
CGPARENT=$(dirname "$CGROOT")
cg_cleanup() {
	local c p
	for c in "$CGROOT"/*/; do
		[ -d "$c" ] || continue
		for p in $(cat "$c/cgroup.procs" 2>/dev/null); do
			echo "$p" >"$CGPARENT/cgroup.procs" 2>/dev/null || true
		done
		rmdir "$c" 2>/dev/null || true
	done
	rmdir "$CGROOT" 2>/dev/null || true
}
trap 'cleanup_all; cg_cleanup; guard_teardown' EXIT

# in_cgroup CG CMD... : run CMD as a member of cgroup CG.
in_cgroup() {
	# shellcheck disable=SC2016 # for the inner sh
	sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$@"
}
# cg_guarded CG CMD... : CMD as the test user, preloaded, in cgroup CG.
cg_guarded() {
	local cg=$1 e
	shift
	mapfile -t e < <(_guard_env)
	_pgkg_user_cmd "${e[@]}" "$@" || return 1
	in_cgroup "$cg" "${_PGKG_CMD[@]}"
}
# patroni_start DIR : Patroni's start, its orphaned postmaster reaped by a
# subreaper (init's part: PID 1 here does not reap); sets RC and OUT_TEXT.
patroni_start() {
	local dir=$1 e
	rm -f "$dir/start.rc"
	mapfile -t e < <(_guard_env)
	_pgkg_user_cmd "${e[@]}" python3 "$MGR" patroni-start "$dir/data" "$BINDIR" "$dir/server.log" || return 1
	# shellcheck disable=SC2016 # for the inner sh
	python3 "$MGR" reaper "$dir/start.rc" sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' \
		"$CG" "${_PGKG_CMD[@]}" >"$dir/start.out" 2>&1 </dev/null &
	disown $!
	for _ in $(seq 1200); do [ -e "$dir/start.rc" ] && break; sleep 0.05; done
	RC=$(cat "$dir/start.rc" 2>/dev/null || echo timeout)
	OUT_TEXT=$(cat "$dir/start.out")
}
cgroup_of() { sed -n 's/^0:://p' "/proc/$1/cgroup"; }
no_failed_calls() { ! grep -q 'errno=' <<<"$1"; }

# stuck_backend DIR NAME : a backend looping in PL/Perl (ignores SIGTERM); its pid.
stuck_backend() {
	local dir=$1 app=$2 pid left=100
	_pgkg_env "$dir"
	_pgkg_user_cmd PGAPPNAME="$app" "${_PGKG_ENV[@]}" "$BINDIR/psql" -X -q \
		-c 'DO $$ while (1) {} $$ LANGUAGE plperl' || return 1
	( cd / && exec setsid "${_PGKG_CMD[@]}" </dev/null >/dev/null 2>&1 ) &
	register_pid $!
	disown $!
	while :; do
		pid=$(cluster_psql "$dir" "select pid from pg_stat_activity where application_name = '$app'
			and state = 'active'" 2>/dev/null) || pid=""
		[ -n "$pid" ] && { echo "$pid"; return 0; }
		[ "$left" -gt 0 ] || return 1
		sleep 0.05
		left=$((left - 1))
	done
}

# host_pid PID : PID as this shell sees it.  Inside the sweep's pid
# namespace (NS_CG set: its cgroup) the server reports namespace pids.
NS_CG=""
host_pid() {
	local p
	[ -n "$NS_CG" ] || { echo "$1"; return; }
	for p in $(cat "$NS_CG/cgroup.procs"); do
		[ "$(awk '/^NSpid:/ {print $NF}' "/proc/$p/status" 2>/dev/null)" = "$1" ] && { echo "$p"; return; }
	done
	echo "no-such-pid-$1"
}

# dba CMD... : a DBA's command, as the test user with the library preloaded;
# in the sweep's pid namespace (NS_INIT set) through nsenter, not in the
# unit's cgroup either way.
NS_INIT=""
dba() {
	local e
	if [ -z "$NS_INIT" ]; then
		guarded_user "$@"
		return
	fi
	mapfile -t e < <(_guard_env)
	_pgkg_user_cmd "${e[@]}" "$@" || return 1
	nsenter -t "$NS_INIT" -p -m "${_PGKG_CMD[@]}"
}

# dba_checks DIR PM WHAT [PM_HOST]: from a DBA shell (not a manager): kill -9
# of the postmaster refused, kill -9 of a backend rewritten, renamed
# processes gain nothing.  PM as the DBA sees it, PM_HOST as this shell does.
dba_checks() {
	local dir=$1 pm=$2 what=$3 pmh=${4:-$2} b bh
	run_capture dba bash -c "kill -9 $pm"
	t_ok "$what: DBA kill -9 POSTMASTER refused" test "$RC" != 0
	t_like "$ERR_TEXT" "^pgkillguard: kill -9 $pm \(postmaster.*blocked by" "$what: ... with the guard's explanation"
	open_idle_session "$dir" "dba_$what"
	b=$(backend_pid "$dir" "dba_$what")
	bh=$(host_pid "$b")
	run_capture dba bash -c "kill -9 $b"
	t_like "$ERR_TEXT" "rewritten to pg_terminate_backend" "$what: DBA kill -9 BACKEND rewritten"
	t_ok "$what: ... the backend is gone" wait_gone "$bh" 5000
	run_capture dba python3 "$MGR" renamed patroni KILL "$pm"
	t_like "$OUT_TEXT" "call SIGKILL $pm errno=1" "$what: a process renamed patroni: KILL to the postmaster refused"
	run_capture dba python3 "$MGR" renamed pg_ctl QUIT "$pm"
	t_like "$OUT_TEXT" "call SIGQUIT $pm errno=1" "$what: a process renamed pg_ctl: QUIT to the postmaster refused"
	t_ok "$what: the postmaster survived all of it" alive "$pmh"
	t_is "$(crash_restarts "$dir")" 0 "$what: no crash-restart"
}

# ================================================================ Patroni
D=$(cluster_new_dir patroni)
cluster_create "$D" >/dev/null
CG=$CGROOT/patroni.service
mkdir "$CG"
patroni_start "$D"
t_is "$RC" 0 "patroni: started postgres through a setsid spawn helper"
PM=$(cluster_pm_pid "$D")
t_is "$(cgroup_of "$PM")" "${CG#"$CGPARENT"}" "patroni: the postmaster is in Patroni's service cgroup"
t_ok "patroni: the postmaster is not Patroni's child" test "$(cat "/proc/$(ppid_of "$PM")/comm")" != patroni
cluster_psql "$D" "create extension if not exists plperl" >/dev/null

# explain --caller: a process of the service cgroup is a manager, this shell is not
# shellcheck disable=SC2016 # for the inner sh
sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$CG" runuser -u "$PGKG_TEST_USER" -- sleep 600 &
SLEEPER=$!
register_pid "$SLEEPER"
for _ in $(seq 50); do [ "$(cgroup_of "$SLEEPER")" = "${CG#"$CGPARENT"}" ] && break; sleep 0.05; done
SLEEPER=$(pgrep -P "$SLEEPER" sleep || echo "$SLEEPER")
register_pid "$SLEEPER"
run_capture "$G_HELPER" explain --caller "$SLEEPER" -s KILL "$PM"
t_like "$OUT_TEXT" "in the postmaster's service cgroup; from=manager matches" "explain --caller: a process of the cgroup is a manager"
t_like "$OUT_TEXT" "KILL  -> allow" "explain --caller: ... KILL to the postmaster allowed for it"
run_capture "$G_HELPER" explain --caller $$ -s KILL "$PM"
t_like "$OUT_TEXT" "not a manager of this cluster" "explain --caller: the test shell is not a manager"
t_like "$OUT_TEXT" "KILL  -> block" "explain --caller: ... KILL to the postmaster blocked for it"

dba_checks "$D" "$PM" patroni
STUCK=$(stuck_backend "$D" plperl_loop)
t_ok "patroni: a backend is stuck in PL/Perl" test -n "$STUCK"
run_capture cg_guarded "$CG" python3 "$MGR" patroni-stop "$D/data" fast 3
t_is "$RC" 0 "patroni: stop fast escalated and every call succeeded"
t_like "$OUT_TEXT" "call SIGINT $PM ok" "patroni: SIGINT to the postmaster"
t_like "$OUT_TEXT" "call SIGSTOP $PM ok" "patroni: SIGSTOP to the postmaster after the timeout"
t_like "$OUT_TEXT" "call SIGKILL $PM ok" "patroni: SIGKILL to the postmaster"
t_like "$OUT_TEXT" "call SIGKILL $STUCK ok" "patroni: SIGKILL to the stuck backend"
t_like "$OUT_TEXT" "children: all gone" "patroni: the postmaster and every child are gone"
t_ok "patroni: no call failed" no_failed_calls "$OUT_TEXT"
t_is "$(guard_lines)" 0 "patroni: the guard said nothing to Patroni"
t_is "$(crash_restarts "$D")" 0 "patroni: no crash-restart"

# demotion: QUIT, under the seccomp supervisor instead of the library
patroni_start "$D"
t_is "$RC" 0 "patroni: started again after the kill"
PM=$(cluster_pm_pid "$D")
_pgkg_user_cmd "$G_HELPER" exec -- python3 "$MGR" patroni-stop "$D/data" immediate 10
run_capture in_cgroup "$CG" "${_PGKG_CMD[@]}"
t_is "$RC" 0 "patroni under pgkillguard exec: demote (QUIT) succeeded"
t_like "$OUT_TEXT" "call SIGQUIT $PM ok" "patroni under exec: SIGQUIT to the postmaster"
t_like "$OUT_TEXT" "stopped by SIGQUIT" "patroni under exec: the postmaster stopped"
t_is "$(guard_lines)" 0 "patroni under exec: the guard said nothing"

patroni_start "$D"
PM=$(cluster_pm_pid "$D")
run_capture cg_guarded "$CG" python3 "$MGR" patroni-stop "$D/data" smart 20
t_like "$OUT_TEXT" "stopped by SIGTERM" "patroni: smart stop (TERM) after a recovery start"
t_is "$(grep -c 'reinitializing' "$D/server.log" || true)" 0 "patroni: never a crash-restart in its log"

# The same KILL sweep once the killed postmaster has been reaped: its children
# are orphans by the time Patroni kills them (kind orphan, whose default turns
# KILL into a direct SIGTERM).  Patroni is in their service cgroup: trusted.
patroni_start "$D"
PM=$(cluster_pm_pid "$D")
STUCK=$(stuck_backend "$D" plperl_loop)
t_ok "patroni, reaped first: a backend is stuck in PL/Perl" test -n "$STUCK"
run_capture cg_guarded "$CG" PGKG_MGR_REAPED_FIRST=1 python3 "$MGR" patroni-stop "$D/data" fast 3
t_is "$RC" 0 "patroni, reaped first: every call succeeded"
t_like "$OUT_TEXT" "postmaster reaped" "patroni, reaped first: the postmaster was reaped before the children's KILL"
t_like "$OUT_TEXT" "call SIGKILL $STUCK ok" "patroni, reaped first: SIGKILL to the orphaned stuck backend"
t_like "$OUT_TEXT" "children: all gone" "patroni, reaped first: every orphan is gone"
t_is "$(guard_lines)" 0 "patroni, reaped first: the guard said nothing to Patroni"

# ======================================================= pg_auto_failover
D2=$(cluster_new_dir autoctl)
cluster_create "$D2" >/dev/null
GO=$D2/go
_pgkg_user_cmd $(_guard_env) python3 "$MGR" autoctl "$D2/data" "$BINDIR" "$D2/server.log" "$GO"
( cd / && exec "${_PGKG_CMD[@]}" >"$D2/autoctl.out" 2>&1 ) &
AUTOCTL=$!
for _ in $(seq 600); do grep -q postmaster "$D2/autoctl.out" && break; sleep 0.05; done
PM2=$(cluster_pm_pid "$D2")
t_is "$(cat "/proc/$(ppid_of "$PM2")/comm")" pg_autoctl "pg_autoctl: postgres is its direct child"
cluster_psql "$D2" "create extension if not exists plperl" >/dev/null
dba_checks "$D2" "$PM2" autoctl
STUCK2=$(stuck_backend "$D2" plperl_loop)
open_idle_session "$D2" idle_app
touch "$GO"
RC2=0
wait "$AUTOCTL" || RC2=$?
OUT2=$(cat "$D2/autoctl.out")
t_is "$RC2" 0 "pg_autoctl: group shutdown, every call succeeded"
t_like "$OUT2" "call SIGTERM -[0-9]+ ok" "pg_autoctl: killpg TERM"
t_like "$OUT2" "call SIGINT -[0-9]+ ok" "pg_autoctl: killpg INT"
t_like "$OUT2" "call SIGQUIT -[0-9]+ ok" "pg_autoctl: killpg QUIT (the PL/Perl backend held the fast shutdown)"
t_ok "pg_autoctl: no call failed" no_failed_calls "$OUT2"
t_ok "pg_autoctl: the postmaster is gone" wait_gone "$PM2" 5000
t_ok "pg_autoctl: the stuck backend is gone" wait_gone "$STUCK2" 5000
t_ok "pg_autoctl: the guard said nothing" bash -c "! grep -q '^pgkillguard: ' '$D2/autoctl.out'"
t_is "$(crash_restarts "$D2")" 0 "pg_autoctl: no crash-restart"

# ================================================================= repmgr
D3=$(cluster_new_dir primary)
PGKG_EXTRA_CONF="wal_level = replica" cluster_create "$D3" >/dev/null
D4=$(cluster_new_dir standby)
cluster_create "$D4" >/dev/null
_pgkg_as_user rm -rf "$D4/data"
_pgkg_as_user cp -a "$D3/data" "$D4/data"
_pgkg_as_user tee -a "$D4/data/postgresql.conf" >/dev/null <<EOF
port = $(cat "$D4/port")
unix_socket_directories = '$D4/sock'
primary_conninfo = 'host=$D3/sock port=$(cat "$D3/port")'
EOF
_pgkg_as_user touch "$D4/data/standby.signal"
cluster_start "$D3"
cluster_start "$D4"
PM4=$(cluster_pm_pid "$D4")
WR=""
for _ in $(seq 200); do
	WR=$(pgrep -P "$PM4" -f '^postgres: (.*: )?walreceiver' | head -1) && [ -n "$WR" ] && break
	sleep 0.05
done
t_ok "repmgr: the standby streams (walreceiver $WR)" test -n "$WR"
run_capture guarded_user bash -c "kill -9 $WR"
t_ok "repmgr: a DBA's kill -9 of the walreceiver is refused (a crash-restart)" test "$RC" != 0
run_capture guarded_user python3 "$MGR" repmgr "$WR"
t_is "$RC" 0 "repmgr: SIGTERM to the walreceiver succeeded"
t_like "$OUT_TEXT" "call SIGTERM $WR ok" "repmgr: ... the call returned 0"
t_is "$(guard_lines)" 0 "repmgr: the guard said nothing"
t_ok "repmgr: the walreceiver exited" wait_gone "$WR" 5000
WR2=""
for _ in $(seq 300); do
	WR2=$(pgrep -P "$PM4" -f '^postgres: (.*: )?walreceiver' | head -1) && [ -n "$WR2" ] && break
	sleep 0.05
done
t_ok "repmgr: the standby started a new walreceiver" test -n "$WR2" -a "$WR2" != "$WR"
t_ok "repmgr: the standby is intact" assert_cluster_intact "$D4" "$PM4"
cluster_stop "$D4"
cluster_stop "$D3"

# ========================================================== pg_ctlcluster
if [ -x /usr/bin/pg_ctlcluster ]; then
	D5=$(cluster_new_dir ctlcluster)
	cluster_create "$D5" >/dev/null
	CONFROOT=$D5/etc
	mkdir -p "$CONFROOT/$PGVER"
	ln -s "$D5/data" "$CONFROOT/$PGVER/main"
	_pgkg_as_user tee -a "$D5/data/postgresql.conf" >/dev/null <<<"data_directory = '$D5/data'"
	_pgkg_as_user tee "$D5/data/pg_ctl.conf" >/dev/null <<<"pg_ctl_options = '-t 3'"
	cluster_start "$D5"
	cluster_psql "$D5" "create extension if not exists plperl" >/dev/null
	PM5=$(cluster_pm_pid "$D5")
	dba_checks "$D5" "$PM5" ctlcluster
	STUCK5=$(stuck_backend "$D5" plperl_loop)
	run_capture guarded_user PG_CLUSTER_CONF_ROOT="$CONFROOT" pg_ctlcluster --force "$PGVER" main stop
	t_is "$RC" 0 "pg_ctlcluster stop --force: exit 0"
	t_like "$OUT_TEXT$ERR_TEXT" "now stopping immediately" "pg_ctlcluster: fast timed out (stuck backend), then immediate"
	t_is "$(guard_lines)" 0 "pg_ctlcluster: the guard said nothing"
	t_ok "pg_ctlcluster: the postmaster is gone" wait_gone "$PM5" 5000
	t_ok "pg_ctlcluster: the stuck backend is gone" wait_gone "$STUCK5" 5000
	t_is "$(crash_restarts "$D5")" 0 "pg_ctlcluster: no crash-restart"
else
	t_skip "pg_ctlcluster" "postgresql-common is not installed"
fi

# ================================================= systemd: a cgroup sweep
D6=$(cluster_new_dir sweep)
cluster_create "$D6" >/dev/null
CG6=$CGROOT/pgsweep.service
mkdir "$CG6"
cat >"$D6/pid1.sh" <<'EOF'
# PID 1 of a new pid namespace, library preloaded: start the unit's postgres
# in its cgroup, wait for GO, sweep the cgroup like systemd's stop.
set -u
CG=$1 D=$2 BINDIR=$3 USER_=$4 GO=$5 LOG=$6
sh -c 'echo $$ >"$0/cgroup.procs" && exec env -u LD_PRELOAD runuser -u "$1" -- "$2/pg_ctl" -w -t 60 -D "$3/data" -l "$3/server.log" start' \
	"$CG" "$USER_" "$BINDIR" "$D" >/dev/null 2>&1 || { echo "start failed" >"$LOG"; exit 1; }
echo started >"$D/started"
while [ ! -e "$GO" ]; do sleep 0.05; done
# sig SIG PID: in this shell (PID 1), never in a subshell; a process that
# exited since the cgroup was listed is "gone" (ESRCH), as systemd ignores it
sig() {
	if kill -s "$1" "$2" 2>"$D/kill.err"; then
		echo "call SIG$1 $2 ok"
	elif grep -q 'No such process' "$D/kill.err"; then
		echo "call SIG$1 $2 gone"
	else
		echo "call SIG$1 $2 errno: $(cat "$D/kill.err")"
	fi
}
for p in $(cat "$CG/cgroup.procs"); do
	sig TERM "$p"
	sig CONT "$p"
done >>"$LOG" 2>&1
for _ in $(seq 40); do [ -z "$(cat "$CG/cgroup.procs")" ] && break; sleep 0.05; done
for p in $(cat "$CG/cgroup.procs"); do
	sig KILL "$p"
done >>"$LOG" 2>&1
for _ in $(seq 200); do [ -z "$(cat "$CG/cgroup.procs")" ] && break; sleep 0.05; done
[ -z "$(cat "$CG/cgroup.procs")" ] && echo "cgroup empty" >>"$LOG"
EOF
if unshare -pf --mount-proc true 2>/dev/null; then
	GO6=$D6/go
	env $(_guard_env) unshare -pf --mount-proc bash "$D6/pid1.sh" "$CG6" "$D6" "$BINDIR" \
		"$PGKG_TEST_USER" "$GO6" "$D6/sweep.out" &
	SWEEP=$!
	for _ in $(seq 600); do [ -e "$D6/started" ] && break; sleep 0.05; done
	cluster_psql "$D6" "create extension if not exists plperl" >/dev/null
	PM6=$(head -1 "$CG6/cgroup.procs")	# host pid: the first member is the postmaster
	t_is "$(cat "/proc/$PM6/comm")" postgres "systemd: the unit's first process is the postmaster"
	NS_CG=$CG6
	NS_INIT=$(pgrep -P "$SWEEP" | head -1)
	t_is "$(awk '/^NSpid:/ {print $NF}' "/proc/$NS_INIT/status")" 1 "systemd: the sweeper is PID 1 of its pid namespace"
	run_capture guarded_user bash -c "kill -9 $PM6"
	t_like "$ERR_TEXT" "^pgkillguard: kill -9 $PM6 \(postmaster.*blocked by" "sweep: kill -9 of the postmaster from the host refused"
	dba_checks "$D6" "$(head -1 "$D6/data/postmaster.pid")" sweep "$PM6"
	NS_INIT=""
	STUCK6=$(host_pid "$(stuck_backend "$D6" plperl_loop)")
	t_ok "systemd: a backend is stuck in PL/Perl ($STUCK6)" alive "$STUCK6"
	touch "$GO6"
	RC6=0
	wait "$SWEEP" || RC6=$?
	OUT6=$(cat "$D6/sweep.out")
	t_is "$RC6" 0 "systemd: the sweep finished"
	t_like "$OUT6" "call SIGTERM [0-9]+ ok" "systemd: TERM to the unit's processes"
	t_like "$OUT6" "call SIGKILL [0-9]+ ok" "systemd: KILL to what was left after the timeout"
	t_ok "systemd: no call failed" bash -c "! grep -q errno '$D6/sweep.out'"
	grep errno "$D6/sweep.out" | sed 's/^/#   /' || true
	t_like "$OUT6" "cgroup empty" "systemd: every process of the cgroup is gone"
	t_ok "systemd: the guard said nothing to PID 1" bash -c "! grep -q '^pgkillguard: ' '$D6/sweep.out'"
	t_ok "systemd: the stuck backend is gone" wait_gone "$STUCK6" 5000
	t_is "$(grep -c 'reinitializing' "$D6/server.log" || true)" 0 "systemd: no crash-restart"
else
	t_skip "systemd sweep" "unshare -p (a pid namespace) is not available here"
fi

t_done
