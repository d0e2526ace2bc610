#!/bin/bash
# 82-hostile-targets.sh - odd targets, through the library and through
# `pgkillguard exec`: pid 0, negative groups, INT_MIN, pids above pid_max,
# targets that exit while they are classified, fds that outlive their
# process (pid reuse), zombies, postmasters with a stale or unreadable pid
# file.  Each gets the answer the kernel would give, or a refusal that says
# why; nothing crashes.  (kill -1 and kill -- -BACKEND: 20- and
# 10-preload-*.sh; two clusters: 60-two-clusters.sh.)
#
# Fake postmasters (tests/tools/callers.c fakepm/spawner) stand in where a real
# server cannot be made to misbehave: a process named postgres whose cwd
# holds a postmaster.pid naming it is a postmaster to the guard.
set -eu
. "$(dirname "$0")/../lib/cluster.sh"
. "$(dirname "$0")/../lib/guard.sh"

guard_test_begin
cp "$PGKG_BUILD/tests/callers" "$G_DIR/"
C=$G_DIR/callers
new_running_cluster targets
open_idle_sessions "$D" v 4 >/dev/null
mapfile -t V < <(backend_pids "$D" v)
PID_MAX=$(cat /proc/sys/kernel/pid_max)

gx() { run_as_test_user PGKILLGUARD_SYSLOG="$G_SYSLOG" "$G_HELPER" exec -- "$@"; }

# same_answer NAME PROBE-ARGS... : the probe answers the same with the
# library, under exec, and with neither, and the guard says nothing
same_answer() {
	local name=$1 plain; shift
	run_capture unguarded_user "$G_PROBE" "$@"
	plain=$OUT_TEXT
	run_capture guarded_user "$G_PROBE" "$@"
	t_is "$OUT_TEXT:$(guard_lines)" "$plain:0" "$name: library: '$plain', as without it"
	run_capture gx "$G_DIR/probe" "$@"
	t_is "$OUT_TEXT:$(guard_lines)" "$plain:0" "$name: exec: '$plain', as without it"
}

same_answer "kill(INT_MIN)" kill -2147483648 9
same_answer "syscall(SYS_kill, INT_MIN)" sys-kill -2147483648 9
same_answer "kill(-INT_MAX)" kill -2147483647 9
same_answer "kill(pid_max + 1)" kill $((PID_MAX + 1)) 9
same_answer "kill(INT_MAX)" kill 2147483647 9
same_answer "kill(-(pid_max + 1)), a group above pid_max" kill -$((PID_MAX + 1)) 9
same_answer "tgkill(pid_max + 1)" sys-tgkill $((PID_MAX + 1)) 9
same_answer "sigqueue(INT_MAX)" sys-sigqueue 2147483647 9
same_answer "signal 65 to a backend" kill "${V[0]}" 65
same_answer "signal -1 to a backend" kill "${V[0]}" -1
t_ok "the backend lives" alive "${V[0]}"

# kill(0): the caller's own group.  A group holding a (fake) postmaster is
# refused whole; a group holding only ordinary processes passes.  The fake
# postmaster is started from a subshell, so the caller is not its parent (a
# postmaster's parent is its manager, and may signal it: issue 10).
FP=$(mktemp -d "$G_DIR/fake0.XXXXXX")
chown "$PGKG_TEST_USER" "$FP"
cat >"$G_DIR/group0.sh" <<EOF
( "$C" fakepm "$FP" "postgres: app db [local] idle" >"$FP/out" & )
for _ in \$(seq 100); do [ -s "$FP/out" ] && break; sleep 0.02; done
kill -9 0
echo "survived rc=\$?"
read -r pm child zombie <"$FP/out"
kill -TERM "\$child"; kill -TERM "\$pm"
EOF
chmod 644 "$G_DIR/group0.sh"
run_capture guarded_user setsid -w bash "$G_DIR/group0.sh"
t_like "$OUT_TEXT" "survived rc=1" "kill -9 0 in a group with a postmaster: refused, the caller lives"
t_like "$ERR_TEXT" "^pgkillguard: kill -9 0 would reach PostgreSQL processes \(postmaster [0-9]+" "kill -9 0: says what it would hit"
run_capture guarded_user setsid -w bash -c 'sleep 30 & kill -9 0; echo not reached'
t_is "$RC:$OUT_TEXT:$(guard_lines)" "137::0" "kill -9 0 in a group of ordinary processes: passes (the caller is killed too)"

# the postmaster leads its own group: kill -- -PM is a kill of the postmaster
run_capture guarded_user bash -c "kill -9 -- -$PM"
t_like "$RC:$ERR_TEXT" "^1:pgkillguard: kill -9 -- -$PM \(reaches $PM, postmaster; cluster $D/data\) blocked by" \
	"kill -9 -- -POSTMASTER: refused as a kill of the postmaster"
run_capture gx "$G_DIR/probe" kill -"$PM" 9
t_like "$OUT_TEXT:$ERR_TEXT" "^EPERM:pgkillguard: kill -9 -- -$PM \(reaches $PM, postmaster" "exec: the same"

# ---- zombies, stale and unreadable pid files (a fake postmaster)
FP=$(mktemp -d "$G_DIR/fake.XXXXXX")
chown "$PGKG_TEST_USER" "$FP"
run_as_test_user "$C" fakepm "$FP" "postgres: app db [local] idle" >"$FP/out" &
register_pid $!
disown $!
for _ in $(seq 100); do [ -s "$FP/out" ] && break; sleep 0.02; done
read -r FPM FCHILD FZOMBIE <"$FP/out"
register_pid "$FPM" "$FCHILD"
t_is "$(proc_state "$FZOMBIE")" Z "a zombie child of the fake postmaster ($FZOMBIE)"
run_capture guarded_user bash -c "kill -9 $FZOMBIE"
t_is "$RC:$(guard_lines)" "0:0" "zombie: kill -9 passes silently (it can do no harm)"
run_capture gx busybox kill -9 "$FZOMBIE"
t_is "$RC:$(guard_lines)" "0:0" "zombie: exec too"
run_capture guarded_user bash -c "kill -STOP $FCHILD"
t_like "$RC:$ERR_TEXT" "^1:pgkillguard: kill -19 $FCHILD \(client backend app@db, idle; cluster $FP\) blocked" \
	"the fake postmaster's child is a backend to the guard"
chmod 000 "$FP/postmaster.pid"
run_capture guarded_user bash -c "kill -9 $FCHILD"
t_like "$RC:$ERR_TEXT" "^1:pgkillguard: kill -9 $FCHILD \(postmaster child \(not yet identified\), parent not verifiable\) blocked" \
	"unreadable pid file: the child is refused (fail closed), and the message says why"
run_capture gx busybox kill -9 "$FCHILD"
t_like "$RC:$ERR_TEXT" "^1:.*parent not verifiable\) blocked" "unreadable pid file: exec too"
t_ok "the child lives" alive "$FCHILD"
chmod 644 "$FP/postmaster.pid"
printf '1\n%s\n' "$FP" >"$FP/postmaster.pid"
run_capture guarded_user bash -c "kill -9 $FCHILD"
t_like "$RC:$ERR_TEXT" "^1:pgkillguard: kill -9 $FCHILD \(postmaster child \(not yet identified\), parent not verifiable\) blocked" \
	"stale pid file (names another process): its server-named child is still a cluster process (R1-2), refused"
t_ok "stale pid file: the child lives" alive "$FCHILD"

# ---- targets that exit while they are classified
FS=$(mktemp -d "$G_DIR/spawn.XXXXXX")
chown "$PGKG_TEST_USER" "$FS"
spawn_and_kill() {	# HOW : 1000 short-lived children of a fake postmaster, each killed at once
	if [ "$1" = exec ]; then
		run_as_test_user "$C" spawner "$FS" 1000 | gx "$C" killpids 9
	else
		run_as_test_user "$C" spawner "$FS" 1000 | guarded_user "$C" killpids 9
	fi
}
for how in library exec; do
	run_capture spawn_and_kill "$how"
	t_like "$RC:$OUT_TEXT" "^0:killpids ok [0-9]+ gone [0-9]+ refused [0-9]+ other 0$" \
		"$how: 1000 targets exiting during classification: every answer ok, ESRCH or EPERM ($OUT_TEXT)"
	t_is "$(printf '%s\n' "$ERR_TEXT" | grep -v '^$' | grep -cv '^pgkillguard: kill -9 [0-9]* (postmaster child (not yet identified); cluster [^)]*) blocked by ' || true)" 0 \
		"$how: and the guard said nothing else"
done

# ---- a pidfd or /proc/PID fd that outlives its process: the signal goes
# nowhere (ESRCH), never to the next holder of the pid number
for kind in pidfd procfd; do
	for how in library exec; do
		open_idle_session "$D" "stale-$kind-$how"
		T=$(backend_pid "$D" "stale-$kind-$how")
		if [ "$how" = exec ]; then
			gx "$C" stalefd "$kind" 9 "$T" >"$G_DIR/stale.out" 2>"$G_DIR/stale.err" &
		else
			guarded_user "$C" stalefd "$kind" 9 "$T" >"$G_DIR/stale.out" 2>"$G_DIR/stale.err" &
		fi
		SP=$!
		for _ in $(seq 100); do grep -q ready "$G_DIR/stale.out" && break; sleep 0.02; done
		cluster_psql "$D" "select pg_terminate_backend($T)" >/dev/null
		wait "$SP" || true
		t_like "$(cat "$G_DIR/stale.out")" "stale (ESRCH|ok)$" "$how: $kind on a backend that has exited: no signal reaches anyone"
		t_is "$(grep pgkillguard "$G_DIR/stale.err" || true)" "" "$how: $kind: nothing to say"
	done
done

t_ok "no crash-restart in server.log, postmaster pid unchanged" assert_cluster_intact "$D" "$PM"
t_done
