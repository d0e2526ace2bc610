#!/bin/bash
# 89-hostile-server.sh - the rewrite's wire-protocol client against a
# hostile server (issue 9: "a test with a hostile fake server").  The test
# user's own fake cluster (tests/lib/fake_pg_server.py: a postmaster it owns,
# with a pid file, a socket and a child titled like a client backend, so the
# guard trusts it as that user's server) answers the guard's login with:
# an oversized length, a truncated message, an ErrorResponse full of control
# characters, a password request (cleartext, MD5), silence, an endless flood
# of notices.  The test user kills the child with SIGKILL under the library.
# Each time the guard must give up within its bounds (connect 5 s), refuse
# with one escaped line, send no signal, and never send a credential
# (no PasswordMessage, also not through libpq, to which a password request
# hands over).
set -eu
. "$(dirname "$0")/../lib/cluster.sh"
. "$(dirname "$0")/../lib/guard.sh"

guard_test_begin
# a copy the test users can read (the checkout may be private: mode 700)
cp "$PGKG_ROOT/tests/lib/fake_pg_server.py" "$G_DIR/"
chmod 644 "$G_DIR/fake_pg_server.py"
FAKE=$G_DIR/fake_pg_server.py
PORT=$(free_port)

# no_controls NAME TEXT : no C0 (but newline), DEL, C1, bidi control, invalid UTF-8
no_controls() {
	local bad
	bad=$(printf '%s' "$2" | python3 -c '
import sys
b = sys.stdin.buffer.read()
try:
    s = b.decode("utf-8")
except UnicodeDecodeError as e:
    print("invalid UTF-8 at byte", e.start); sys.exit()
bad = set(range(0x202a, 0x202f)) | set(range(0x2066, 0x206a)) | {0x200e, 0x200f, 0x061c}
for ch in s:
    o = ord(ch)
    if ch != "\n" and (o < 0x20 or o == 0x7f or 0x80 <= o <= 0x9f or o in bad):
        print("control U+%04X" % o); break
')
	t_is "$bad" "" "$1: no control character, no invalid UTF-8"
}

# hostile [--exec] MODE MAX_MS DETAIL-REGEX : library (or exec) route
hostile() {
	local route=library
	[ "$1" != --exec ] || { route=exec; shift; }
	local mode=$1 max_ms=$2 want=$3 fp fpm fchild t0 ms
	fp=$(mktemp -d "$G_DIR/hostile.XXXXXX")
	chown "$PGKG_TEST_USER" "$fp"
	( cd / && exec runuser -u "$PGKG_TEST_USER" -- python3 "$FAKE" "$fp" "$mode" --port "$PORT" \
		>"$fp/out" 2>"$fp/err" ) &
	register_pid $!
	disown $!
	for _ in $(seq 500); do [ -s "$fp/out" ] && break; sleep 0.02; done
	read -r fpm fchild _ <"$fp/out" || { t_diag "fake server did not start: $(cat "$fp/err")"; return 1; }
	register_pid "$fpm" "$fchild"
	for _ in $(seq 100); do [ "$(cat "/proc/$fchild/comm" 2>/dev/null)" = postgres ] && break; sleep 0.02; done
	t0=$(date +%s%N)
	# route=sql: this is about the SQL client; the direct route is checked below
	if [ "$route" = exec ]; then
		run_capture run_as_test_user "$G_HELPER" exec --policy "$SQLONLY" -- bash -c "kill -9 $fchild"
		mode="$mode (exec)"
	else
		run_capture guarded_user env PGKILLGUARD_POLICY="$SQLONLY" bash -c "kill -9 $fchild"
	fi
	ms=$((($(date +%s%N) - t0) / 1000000))
	t_is "$RC" 1 "$mode: kill -9 fails (EPERM)"
	t_ok "$mode: bounded: ${ms} ms <= $max_ms ms" test "$ms" -le "$max_ms"
	t_like "$ERR_TEXT" "^pgkillguard: kill -9 $fchild \(client backend app@db, idle; cluster $fp\) not sent: pg_terminate_backend failed: could not connect to the cluster: $want; nothing was sent to the process" \
		"$mode: refused, and says why"
	no_controls "$mode: stderr" "$ERR_TEXT"
	t_is "$(grep -c '^conn ' "$fp/conn.log" 2>/dev/null || echo 0)" "$(case $mode in password* | md5*) echo 2 ;; *) echo 1 ;; esac)" \
		"$mode: the guard connected $(case $mode in password* | md5*) echo "twice (its own client, then libpq)" ;; *) echo once ;; esac)"
	t_is "$(grep -c '^type p' "$fp/conn.log" || true)" 0 "$mode: no PasswordMessage was sent"
	t_ok "$mode: the fake backend got no signal" alive "$fchild"
	kill -KILL "$fchild" "$fpm" 2>/dev/null || true
}

SQLONLY=$G_DIR/sql-only.conf
printf 'fatal backend terminate route=sql\n' >"$SQLONLY"
chmod 644 "$SQLONLY"
SOCK='connection to server on socket "[^"]*/\.s\.PGSQL\.[0-9]+" failed'
hostile oversized 3000 "$SOCK: Protocol error"
hostile truncated 3000 "$SOCK: server closed the connection unexpectedly"
hostile error 3000 'FATAL:  evil \\x1b\[31mred\\x1b\[0m \\u\{009b\}31m CSI \\u\{202e\}esrever\\u\{202c\} \\u\{2066\}iso\\u\{2069\} bell\\x07 nl forged: ok raw\\x9b\\xff'
hostile password 3000 "$SOCK: fe_sendauth: no password supplied"
hostile md5 3000 "$SOCK: fe_sendauth: no password supplied"
hostile silent 8000 "$SOCK: Connection timed out"
hostile flood 8000 "$SOCK: Connection timed out"
hostile --exec error 3000 'FATAL:  evil \\x1b\[31mred.* raw\\x9b\\xff'
hostile --exec password 3000 "$SOCK: fe_sendauth: no password supplied"
hostile --exec silent 8000 "$SOCK: Connection timed out"

# The default policy (route=auto): a server that never answers is a hung
# server; the backend is sent SIGTERM directly, with the caller's rights.
fp=$(mktemp -d "$G_DIR/hostile.XXXXXX")
chown "$PGKG_TEST_USER" "$fp"
( cd / && exec runuser -u "$PGKG_TEST_USER" -- python3 "$FAKE" "$fp" silent --port "$PORT" \
	>"$fp/out" 2>"$fp/err" ) &
register_pid $!
disown $!
for _ in $(seq 500); do [ -s "$fp/out" ] && break; sleep 0.02; done
read -r fpm fchild _ <"$fp/out"
register_pid "$fpm" "$fchild"
for _ in $(seq 100); do [ "$(cat "/proc/$fchild/comm" 2>/dev/null)" = postgres ] && break; sleep 0.02; done
run_capture guarded_user bash -c "kill -9 $fchild"
t_is "$RC" 0 "silent, route=auto: kill -9 exits 0"
t_like "$ERR_TEXT" "^pgkillguard: kill -9 $fchild \(client backend app@db, idle; cluster $fp\) rewritten to SIGTERM, sent directly \(SQL route unavailable: $SOCK: Connection timed out\)" \
	"silent, route=auto: the line names the direct route and why"
t_ok "silent, route=auto: the fake backend is gone" wait_gone "$fchild" 3000
t_is "$(grep -c '^type p' "$fp/conn.log" || true)" 0 "silent, route=auto: no PasswordMessage was sent"
kill -KILL "$fpm" 2>/dev/null || true
t_done
