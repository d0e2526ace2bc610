#!/bin/bash
# 72-attacks.sh - issue 9: the enforced guard against an attacker.  Each
# attack program (tests/attack/attack.c) runs as the non-root test user
# (also the cluster's owner, so it may signal the cluster: the worst case)
# under `pgkillguard exec` and under a copy of pgkillguard-shell installed
# setuid root here, aimed at backends and at a root-owned process.  Every
# attack must fail, and the cluster must never crash-restart.
set -eu
. "$(dirname "$0")/../lib/cluster.sh"
. "$(dirname "$0")/../lib/guard.sh"

guard_test_begin
new_running_cluster attacks
cp "$PGKG_BUILD/tests/attack" "$G_DIR/"
AT=$G_DIR/attack
SH=$G_DIR/pgkillguard-shell
chown root:root "$SH"
chmod 4755 "$SH"
UID_T=$(id -u "$PGKG_TEST_USER")
GID_T=$(id -g "$PGKG_TEST_USER")

# A second procfs mount (a new superblock, as a user namespace gets): its
# directories name the same processes by different inodes.
P2=$G_DIR/proc2
mkdir "$P2"
mount -t proc proc "$P2"
trap 'umount "$P2" 2>/dev/null; guard_teardown; cleanup_all' EXIT

sleep 600 </dev/null >/dev/null 2>&1 &
RV=$!
register_pid "$RV"

# in_exec / in_shell CMD : as the test user, in each enforced front-end
in_exec() { run_as_test_user PGKILLGUARD_SYSLOG="$G_SYSLOG" "$G_HELPER" exec -- bash -c "$1"; }
in_shell() { run_as_test_user "$SH" -c "$1"; }

N=0
victim() {	# open a fresh idle session; its backend pid in B (no subshell:
	N=$((N + 1))	# each session must keep its own name for the teardown)
	open_idle_session "$D" "victim$N"
	B=$(backend_pid "$D" "victim$N")
}

for FE in in_exec in_shell; do
	# F1: a procfs directory fd of another procfs instance
	run_capture $FE "$AT procfs-fd $P2 $RV 9"
	t_is "$OUT_TEXT" "procfs-fd: EPERM" "$FE F1: foreign procfs fd on a root-owned process: refused"
	t_like "$ERR_TEXT" "^pgkillguard: pidfd_send_signal on fd [0-9]+ refused: the fd names a process pgkillguard cannot verify" "$FE F1: says why"
	t_ok "$FE F1: the root-owned process lives" alive "$RV"
	victim
	run_capture $FE "$AT procfs-fd $P2 $B 9"
	t_is "$OUT_TEXT" "procfs-fd: EPERM" "$FE F1: foreign procfs fd on a backend: refused"
	t_ok "$FE F1: the backend lives" alive "$B"
	# F1 as found: a user namespace to mount a procfs of one's own
	run_capture $FE "$AT userns-procfs $RV 9"
	t_is "$OUT_TEXT" "unshare: EPERM" "$FE F1: no user namespace inside a session"
	t_ok "$FE F1: the root-owned process lives" alive "$RV"
	# the same fd kinds from this host's /proc still work as before
	run_capture $FE "$AT procfs-fd /proc $B 9"
	t_is "$OUT_TEXT" "procfs-fd: ok" "$FE /proc/PID fd of a backend: answered"
	t_like "$ERR_TEXT" "rewritten to pg_terminate_backend" "$FE /proc/PID fd: rewritten"
	t_ok "$FE /proc/PID fd: backend gone" wait_gone "$B" 3000
	run_capture $FE "$AT procfs-fd /proc $RV 0"
	t_is "$OUT_TEXT" "procfs-fd: EPERM" "$FE /proc/PID fd, signal 0 to root's process: the kernel's EPERM"

	# F2: a caller the supervisor cannot read, and an fd swapped under it
	victim
	run_capture $FE "$AT nondumpable $B 9"
	t_like "$OUT_TEXT" "^nondumpable: (ok|EPERM)$" "$FE F2: non-dumpable caller: answered, not passed blindly"
	[ "$OUT_TEXT" = "nondumpable: ok" ] && t_ok "$FE F2: ... rewritten, backend gone" wait_gone "$B" 3000
	[ "$OUT_TEXT" = "nondumpable: EPERM" ] && t_ok "$FE F2: ... refused, backend lives" alive "$B"
	run_capture $FE "$AT nondumpable $RV 9"
	t_is "$OUT_TEXT" "nondumpable: EPERM" "$FE F2: non-dumpable caller, root's process: EPERM"
	victim
	run_capture $FE "$AT fdrace $B 9 800"
	t_like "$OUT_TEXT" "^fdrace: [0-9]+ of [0-9]+ calls ok$" "$FE F2: swapped fd race ran"
	t_ok "$FE F2: no crash-restart after the race" assert_cluster_intact "$D" "$PM"

	# F3: owner changes with junk in the upper half of the command register
	victim
	run_capture $FE "$AT setown-high $B"
	t_like "$OUT_TEXT" "fcntl-setown-high: EPERM" "$FE F3: fcntl(F_SETOWN | 1<<32) naming a backend: refused"
	t_like "$OUT_TEXT" "ioctl-fiosetown-high: EPERM" "$FE F3: ioctl(FIOSETOWN | 1<<32) naming a backend: refused"
	sleep 0.2
	t_ok "$FE F3: the backend lives" alive "$B"

	# R1-7: a group signal through the pidfd of a leader that has exited
	run_capture $FE "$AT pgrp-exited 15"
	t_like "$OUT_TEXT" "^pgrp-exited: EPERM" "$FE R1-7: group signal through an exited leader's pidfd: refused"
	t_like "$OUT_TEXT" "member: alive" "$FE R1-7: the group's member was not signalled"

	# user namespaces: refused; clone3 says ENOSYS so libc falls back to clone
	run_capture $FE "$AT clone-userns"
	t_is "$OUT_TEXT" "unshare-userns: EPERM
clone-userns: EPERM
clone3: ENOSYS" "$FE: no user namespaces (unshare, clone), clone3 ENOSYS"
	run_capture $FE "sh -c 'echo forked'"
	t_is "$OUT_TEXT" "forked" "$FE: ordinary process creation still works"
	t_ok "$FE: cluster intact" assert_cluster_intact "$D" "$PM"
done

# The setuid shell's supervisor: not root, not the user, no CAP_KILL at hand.
run_capture in_shell 'grep -E "^(Uid|CapEff|CapPrm):" /proc/$PPID/status'
SUP_UID=$(printf '%s\n' "$OUT_TEXT" | awk '/^Uid:/ {print $2 " " $3 " " $4}')
t_ok "setuid supervisor: gave up uid 0 (real, effective, saved: $SUP_UID)" \
	bash -c "[ '$SUP_UID' != '' ] && ! printf '%s\n' $SUP_UID | grep -qx 0"
t_ok "setuid supervisor: not the guarded user" bash -c "! printf '%s\n' $SUP_UID | grep -qx $UID_T"
t_like "$OUT_TEXT" "CapEff:[[:space:]]+0000000000080004" "setuid supervisor: only CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH effective"
t_like "$OUT_TEXT" "CapPrm:[[:space:]]+00000000000800e4" "setuid supervisor: permitted: those, CAP_SETUID/SETGID (to act as the caller) and CAP_KILL (for a caller that has it)"

# A bug of F1's kind (the supervisor signalling with its own credentials)
# can no longer reach a root-owned process: the real drop code, as root.
run_as_test_user sleep 600 </dev/null >/dev/null 2>&1 &
UV=$!
register_pid "$UV"
sleep 0.2
UV=$(pgrep -u "$PGKG_TEST_USER" -P "$UV" -x sleep || echo "$UV")
run_capture "$PGKG_BUILD/tests/dropcheck" "$RV" "$(pgrep -u "$PGKG_TEST_USER" -x sleep -n)" "$UID_T" "$GID_T"
t_like "$OUT_TEXT" "own-creds-kill-root: EPERM" "after dropping root: the supervisor's own kill of root's process: EPERM"
t_like "$OUT_TEXT" "own-creds-pidfd-root: EPERM" "... and through a pidfd: EPERM"
t_like "$OUT_TEXT" "own-creds-kill-user: EPERM" "... and of the user's process: EPERM"
t_like "$OUT_TEXT" "as-user-kill-root: EPERM" "acting as the user: root's process is out of reach"
t_like "$OUT_TEXT" "as-user-kill-user: ok" "acting as the user: the user's own process can be signalled"
t_ok "the root-owned process lives through all of it" alive "$RV"

# F4: a process group led by a non-server that holds a postmaster.  The
# kernel signals the whole group; the preload library used to judge the
# leader alone.  A second cluster is started under such a leader.
D2=$(cluster_new_dir grp)
cluster_create "$D2" >/dev/null
BIN=$(pg_bindir)
run_as_test_user setsid bash -c "cd /; '$BIN/postgres' -D '$D2/data' >>'$D2/server.log' 2>&1 & echo \$\$ >'$D2/leader'; wait" </dev/null >/dev/null 2>&1 &
register_pid $!
cluster_wait_ready "$D2"
PM2=$(cluster_pm_pid "$D2")
LEADER=$(cat "$D2/leader")
t_is "$(ps -o pgid= -p "$PM2" | tr -d ' ')" "$LEADER" "F4 setup: the postmaster is in a group led by bash ($LEADER)"
run_capture guarded_user "$AT" pgrp-pidfd "$LEADER" 9
t_is "$OUT_TEXT" "pgrp-pidfd: EPERM" "F4 preload: group kill through the leader's pidfd: refused"
t_like "$ERR_TEXT" "^pgkillguard: kill -9 -- -$LEADER would reach PostgreSQL processes \(postmaster $PM2" "F4 preload: the line names the group and the postmaster"
run_capture in_exec "$AT pgrp-pidfd $LEADER 9"
t_is "$OUT_TEXT" "pgrp-pidfd: EPERM" "F4 exec: refused the same way"
run_capture in_shell "$AT pgrp-pidfd $LEADER 9"
t_is "$OUT_TEXT" "pgrp-pidfd: EPERM" "F4 setuid shell: refused the same way"
t_ok "F4: the postmaster lives" alive "$PM2"
t_ok "F4: the leader lives" alive "$LEADER"
t_ok "F4: cluster intact" assert_cluster_intact "$D2" "$PM2"
cluster_stop "$D2" >/dev/null 2>&1 || true

t_ok "no crash-restart in server.log, postmaster pid unchanged" assert_cluster_intact "$D" "$PM"
t_done
