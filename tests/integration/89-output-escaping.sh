#!/bin/bash
# 89-output-escaping.sh - issue 9 finding 5 (output injection): a process
# title whose role and database names hold UTF-8 C1 controls (CSI U+009B),
# bidi overrides and isolates, a raw ESC and invalid UTF-8, and a caller
# program named `x result=failed`, through the library and through
# `pgkillguard exec`.  The stderr line and the syslog line must hold no
# control character of any kind, show the hostile characters as \xHH or
# \u{...}, and the audit line must keep exactly one result= field (the
# program name is quoted).
#
# The target is a fake postmaster's child (tests/tools/callers.c fakepm): a real
# server would not let us choose raw bytes in a title so freely.
set -eu
. "$(dirname "$0")/../lib/cluster.sh"
. "$(dirname "$0")/../lib/guard.sh"

guard_test_begin
cp "$PGKG_BUILD/tests/callers" "$G_DIR/"
C=$G_DIR/callers
# a program whose name forges an audit field (comm holds 15 bytes: all of it)
EVIL="x result=failed"
cp "$G_DIR/probe" "$G_DIR/$EVIL"

FP=$(mktemp -d "$G_DIR/fake.XXXXXX")
chown "$PGKG_TEST_USER" "$FP"
# role: "ev" CSI "il" ; database: "d" RLO "b" LRI ; state: ESC "]0;pwned" BEL, raw 0x9b, 0xff
TITLE=$'postgres: ev\xc2\x9bil d\xe2\x80\xaeb\xe2\x81\xa6 [local] idle\x1b]0;pwned\x07\x9b\xff'
run_as_test_user "$C" fakepm "$FP" "$TITLE" >"$FP/out" &
register_pid $!
disown $!
for _ in $(seq 100); do [ -s "$FP/out" ] && break; sleep 0.02; done
read -r FPM FCHILD _ <"$FP/out"
register_pid "$FPM" "$FCHILD"

# no_controls NAME TEXT : TEXT holds no C0 (but newline), DEL, C1 (raw or UTF-8),
# bidi control or invalid UTF-8.
no_controls() {
	local name=$1 text=$2 bad
	bad=$(printf '%s' "$text" | python3 -c '
import sys, unicodedata
b = sys.stdin.buffer.read()
try:
    s = b.decode("utf-8")
except UnicodeDecodeError as e:
    print("invalid UTF-8 at byte", e.start); sys.exit()
bidi = set(range(0x202a, 0x202f)) | set(range(0x2066, 0x206a)) | {0x200e, 0x200f, 0x061c}
for ch in s:
    o = ord(ch)
    if ch != "\n" and (o < 0x20 or o == 0x7f or 0x80 <= o <= 0x9f or o in bidi):
        print("control U+%04X" % o); break
')
	t_is "$bad" "" "$name: no control character, no invalid UTF-8"
}

# (the title parser already turns C0 controls in title fields into '?';
# the raw C1 byte and the invalid 0xff reach the printer, which escapes them)
WANT_DESC='client backend ev\\u\{009b\}il@d\\u\{202e\}b\\u\{2066\}, idle\?\]0;pwned\?\\x9b\\xff; cluster '
check_route() {
	local route=$1 before after lines
	t_is "$OUT_TEXT" "EPERM" "$route: kill -STOP of the fake backend is refused"
	t_is "$(guard_lines)" 1 "$route: one pgkillguard line"
	t_like "$ERR_TEXT" "^pgkillguard: kill -19 $FCHILD \($WANT_DESC$FP\) blocked by " \
		"$route: stderr shows role, database and state escaped"
	no_controls "$route: stderr" "$ERR_TEXT"
	lines=$(audit_lines "target=$FCHILD ")
	t_is "$(printf '%s\n' "$lines" | grep -c . || true)" 1 "$route: one audit line"
	t_like "$lines" " program=\"x result=failed\" call=" "$route: audit program= is quoted"
	# fields outside quoted values: one result=, and it is the real one
	t_is "$(printf '%s\n' "$lines" | sed -E 's/"([^"\\]|\\.)*"/Q/g' | grep -o ' result=[^ ]*')" \
		" result=blocked" "$route: exactly one result= field outside quotes (not forged)"
	t_like "$lines" " action=block result=blocked latency_ms=[0-9]+$" "$route: the real result closes the line"
	no_controls "$route: syslog" "$lines"
	: >"$G_SYSLOG_OUT"
}

# (env would take a program path holding '=' for an assignment: bash execs it)
# shellcheck disable=SC2016 # $0 and $1 are for the inner bash
EXEC_EVIL=(bash -c 'exec "$0" kill "$1" 19' "$G_DIR/$EVIL" "$FCHILD")
run_capture guarded_user "${EXEC_EVIL[@]}"
check_route library
run_capture run_as_test_user PGKILLGUARD_SYSLOG="$G_SYSLOG" "$G_HELPER" exec -- "${EXEC_EVIL[@]}"
check_route exec

# explain prints the same target, escaped
run_capture run_as_test_user "$G_HELPER" explain "$FCHILD"
t_like "$OUT_TEXT" "$FCHILD: ${WANT_DESC}" "explain: the target, escaped"
no_controls "explain" "$OUT_TEXT$ERR_TEXT"
t_ok "the fake backend lives (was never stopped)" test "$(proc_state "$FCHILD")" = S

kill -KILL "$FCHILD" "$FPM" 2>/dev/null || true
t_done
