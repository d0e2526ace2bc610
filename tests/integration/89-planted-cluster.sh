#!/bin/bash
# 89-planted-cluster.sh - issue 9 finding 6: an ordinary user (nobody, the
# attacker) plants a "cluster": a process named postgres whose cwd holds a
# pid file naming it, a socket, a child titled like a client backend
# (tests/lib/fake_pg_server.py).  Root, `pgkillguard exec` as root and the
# setuid pgkillguard-shell then kill the child with SIGKILL, which the
# default policy rewrites.  What the rewrite may trust (shim/rewrite.c
# verify_server, SECURITY.md "Planted clusters"):
#   - the socket is the attacker's but another process listens on it (as
#     after a swap between the checks and connect()): refused by
#     SO_PEERCRED before a byte is sent; before the fix the guard logged in;
#   - a non-dumpable planted postmaster: nothing connects (as root or not);
#   - a pid file that points at the real cluster's socket: refused (the
#     postmaster does not own that socket); before, the guard connected to
#     the real cluster as the attacker;
#   - the attacker's own server asking for a password: served only as the
#     attacker (uid of the connection, role name), never as root, and root's
#     PGPASSWORD is never handed over (before the fix libpq sent it).
# In every case the attacker's "backend" receives no signal and the real
# cluster neither crash-restarts nor sees a connection.
set -eu
. "$(dirname "$0")/../lib/cluster.sh"
. "$(dirname "$0")/../lib/guard.sh"

guard_test_begin
ATT=nobody
ATT_UID=$(id -u "$ATT")
# a copy the test users can read (the checkout may be private: mode 700)
cp "$PGKG_ROOT/tests/lib/fake_pg_server.py" "$G_DIR/"
chmod 644 "$G_DIR/fake_pg_server.py"
FAKE=$G_DIR/fake_pg_server.py
new_running_cluster planted
REAL_PORT=$(cat "$D/port")
SH=$G_DIR/pgkillguard-shell
if [ -x "$SH" ]; then
	chown root:root "$SH"
	chmod 4755 "$SH"
fi

# plant MODE ARGS... : start a planted cluster as the attacker; sets FP FPM FCHILD
plant() {
	FP=$(mktemp -d "$G_DIR/planted.XXXXXX")
	chown "$ATT" "$FP"
	chmod 755 "$FP"
	( cd / && exec runuser -u "$ATT" -- python3 "$FAKE" "$FP" "$@" >"$FP/out" 2>"$FP/err" ) &
	register_pid $!
	disown $!
	for _ in $(seq 500); do [ -s "$FP/out" ] && break; sleep 0.02; done
	read -r FPM FCHILD FLISTENER <"$FP/out" || { t_diag "planted cluster did not start: $(cat "$FP/err")"; return 1; }
	register_pid "$FPM" "$FCHILD" ${FLISTENER:+"$FLISTENER"}
	for _ in $(seq 100); do [ "$(cat "/proc/$FCHILD/comm" 2>/dev/null)" = postgres ] && break; sleep 0.02; done
}

in_root_dir() { ( cd / && "$@" ); }

unplant() { kill -KILL "$FCHILD" "$FPM" ${FLISTENER:+"$FLISTENER"} 2>/dev/null || true; }

connections() { cat "$FP/conn.log" 2>/dev/null | grep -c '^conn ' || true; }

# refused ROUTE WHY : the rewrite was refused before any connection, the child lives
refused() {
	local route=$1 why=$2
	t_like "$ERR_TEXT" "^pgkillguard: kill -9 $FCHILD \(client backend app@db, idle; cluster $FP\) not sent: pg_terminate_backend failed: could not connect to the cluster: not a server to trust: postmaster $FPM: $why; nothing was sent" \
		"$route: refused, and says why"
	t_is "$(connections)" 0 "$route: no connection reached the planted server"
	t_ok "$route: the planted backend got no signal" alive "$FCHILD"
}

PORT=$(free_port)

# ---- 1. the socket is the attacker's, but not the postmaster's: another of
# the attacker's processes listens (as after a swap between check and connect)
plant record --port "$PORT" --listen-in-child
run_capture guarded_root bash -c "kill -9 $FCHILD"
t_is "$RC" 1 "root, library: kill -9 fails"
WHY="the socket is served by pid $FLISTENER uid $ATT_UID, not by the postmaster $FPM \\(uid $ATT_UID\\)"
refused_by_peer() {
	t_like "$ERR_TEXT" "^pgkillguard: kill -9 $FCHILD \(client backend app@db, idle; cluster $FP\) not sent: pg_terminate_backend failed: could not connect to the cluster: $WHY; nothing was sent" \
		"$1: refused after connect(), before a byte is sent, and says why"
	t_is "$(cat "$FP/conn.log" 2>/dev/null | grep -c '^recv ' || true)" 0 "$1: the listener received nothing"
	t_ok "$1: the planted backend got no signal" alive "$FCHILD"
}
refused_by_peer "root, library"
run_capture "$G_HELPER" exec -- bash -c "kill -9 $FCHILD"
refused_by_peer "root, exec"
if [ -u "$SH" ]; then
	run_capture in_root_dir runuser -u "$ATT" -- "$SH" -c "kill -9 $FCHILD"
	refused_by_peer "attacker in the setuid shell"
else
	t_skip "attacker in the setuid shell" "no build/pgkillguard-shell"
fi
unplant

# ---- 1b. a non-dumpable planted postmaster: the acting identity (the
# attacker's uid) cannot even reach /proc/PM/root; nothing connects as root
plant record --port "$PORT" --nondumpable
run_capture guarded_root bash -c "kill -9 $FCHILD"
t_like "$RC:$ERR_TEXT" "^1:pgkillguard: kill -9 $FCHILD .* not sent: pg_terminate_backend failed: could not connect to the cluster: .*Permission denied; nothing was sent" \
	"non-dumpable postmaster: root's rewrite, acting as $ATT, cannot connect"
t_is "$(connections)" 0 "non-dumpable postmaster: no connection reached it (none as root)"
unplant

# ---- 2. a pid file naming the real cluster's socket (and data directory)
plant record --port "$REAL_PORT" --sockdir "$D/sock" --datadir "$D/data" --no-listen
LOG_BEFORE=$(wc -l <"$D/server.log")
run_capture guarded_root bash -c "kill -9 $FCHILD"
refused "root, pid file names the real socket" "it does not own the socket its pid file names"
run_capture "$G_HELPER" exec -- bash -c "kill -9 $FCHILD"
refused "root exec, pid file names the real socket" "it does not own the socket its pid file names"
t_is "$(tail -n +"$((LOG_BEFORE + 1))" "$D/server.log" | grep -c "$ATT" || true)" 0 \
	"the real cluster saw no connection as $ATT"
unplant

# ---- 3. the attacker's own planted server, asking for a password: served
# only as the attacker, and root's password (PGPASSWORD) is never handed over
plant password --port "$PORT"
run_capture guarded_root env PGPASSWORD=root-secret-4711 bash -c "kill -9 $FCHILD"
# a server that checks out but refuses us: the direct route (issue 11) sends
# the attacker's own backend SIGTERM with root's rights, which root has anyway
t_like "$ERR_TEXT" "^pgkillguard: kill -9 $FCHILD \(client backend app@db, idle; cluster $FP\) rewritten to SIGTERM, sent directly \(SQL route unavailable: .*no password supplied\)" \
	"root, attacker's server asks for a password: none is given; the direct route takes over"
t_is "$(grep -c '^type p' "$FP/conn.log" || true)" 0 "no PasswordMessage reached the planted server"
t_is "$(grep '^conn ' "$FP/conn.log" | sed 's/ pid=.*//' | sort -u)" "conn uid=$ATT_UID" \
	"every connection came as the attacker's uid ($ATT_UID), never root"
t_like "$(grep '^recv ' "$FP/conn.log" | tr -d '\n')" "$(printf 'user\0%s\0' "$ATT" | od -An -tx1 | tr -d ' \n')" \
	"the startup packet names the attacker's role"
t_is "$(grep -c "$(printf 'root-secret-4711' | od -An -tx1 | tr -d ' \n')" "$FP/conn.log" || true)" 0 \
	"root's PGPASSWORD never reached the planted server"
t_ok "the planted backend ended (the line above says how: SIGTERM)" wait_gone "$FCHILD" 3000
unplant

t_ok "the real cluster did not crash-restart" assert_cluster_intact "$D" "$PM"
t_done
