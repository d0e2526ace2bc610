#!/bin/bash
# 81-hostile-policy.sh - broken and hostile policy files against a real
# cluster, through both front-ends: `check` names FILE:LINE; at run time
# fatal and stop signals to cluster processes are refused (fail closed),
# everything else passes; nothing crashes.  What the parser does with each
# file in detail is tests/unit/test_policy.c's business; this script is
# about what a caller sees, and about files that change while in use.
# (Syntax errors, group-writable, foreign owner, symlink, missing file:
# 30-policy-live.sh.)
set -eu
. "$(dirname "$0")/../lib/cluster.sh"
. "$(dirname "$0")/../lib/guard.sh"
. "$(dirname "$0")/../lib/hostile.sh"

guard_test_begin
new_running_cluster hostile-policy
open_idle_session "$D" victim
V=$(backend_pid "$D" victim)
POL=$G_DIR/policies
mkdir -p "$POL"
chmod 755 "$POL"
chown "$PGKG_TEST_USER" "$POL"	# its own policies: it may delete them

# put NAME MODE : stdin into POL/NAME, owned by the test user (a trusted owner
# for the test user's own processes), with MODE
put() {
	cat >"$POL/$1"
	chown "$PGKG_TEST_USER" "$POL/$1"
	chmod "$2" "$POL/$1"
}

# a process of the test user that is not PostgreSQL, to see pass-through
new_sleeper() {
	SLEEPER=$(run_as_test_user bash -c 'sleep 300 >/dev/null 2>&1 & echo $!')
	register_pid "$SLEEPER"
}

# broken FILE NAME WHERE-REGEX : check says FILE:LINE, the library and exec
# fail closed for the backend and the postmaster and pass a kill of anything else
broken() {
	local f=$POL/$1 name=$2 where=$3
	run_capture unguarded_user "$G_HELPER" check "$f"
	t_is "$RC" 1 "$name: check exits 1"
	t_like "$ERR_TEXT" "$where" "$name: check says where"
	run_capture guarded_user env PGKILLGUARD_POLICY="$f" bash -c "kill -9 $V"
	t_like "$RC:$ERR_TEXT" "^1:pgkillguard: kill -9 $V \(client backend .*\) blocked: the policy is broken \($where" \
		"$name: library: kill -9 of a backend refused, policy named broken"
	run_capture guarded_user env PGKILLGUARD_POLICY="$f" bash -c "kill -STOP $PM"
	t_is "$RC:$(proc_state "$PM")" "1:S" "$name: library: STOP to the postmaster refused"
	new_sleeper
	run_capture guarded_user env PGKILLGUARD_POLICY="$f" bash -c "kill -9 $SLEEPER"
	t_is "$RC:$(guard_lines)" "0:0" "$name: library: kill -9 of an ordinary process passes, silently"
	t_ok "$name: ... and it is gone" wait_gone "$SLEEPER" 2000
	run_capture run_as_test_user PGKILLGUARD_SYSLOG="$G_SYSLOG" "$G_HELPER" exec --policy "$f" -- \
		busybox kill -9 "$V"
	t_like "$RC:$ERR_TEXT" "^1:pgkillguard: kill -9 $V \(client backend .*\) blocked: the policy is broken" \
		"$name: exec: kill -9 of a backend refused"
	t_ok "$name: backend alive" alive "$V"
}

# binary garbage (fixed seed, so a failure can be reproduced)
python3 -c 'import random,sys; r=random.Random(81); sys.stdout.buffer.write(bytes(r.randrange(256) for _ in range(8192)))' |
	put garbage.conf 644
broken garbage.conf "binary garbage" "$POL/garbage.conf:[0-9]+: "

printf 'KILL backend block\n\0\0\0\nHUP any allow\n' | put nul.conf 644
broken nul.conf "NUL bytes" "$POL/nul.conf:2: NUL byte in line"

{ head -c 1000000 /dev/zero | tr '\0' 'K'; printf '\nKILL backend allow\n'; } | put longline.conf 644
broken longline.conf "a 1 MB line" "$POL/longline.conf:1: line longer than 4096 bytes"

yes '9 any allow' | head -n 100000 | put 100k.conf 644
broken 100k.conf "100 000 rules (1.2 MB)" "$POL/100k.conf:0: is larger than 1048576 bytes"
yes '9 any allow' | head -n 80000 | put 80k.conf 644
broken 80k.conf "80 000 rules (within the size limit)" "$POL/80k.conf:257: too many rules \(limit 256\)"

printf '# misspelt keywords\nincludes other.conf\nmode  enforcing\n' | put keywords.conf 644
broken keywords.conf "unknown keywords" "$POL/keywords.conf:2: unknown keyword \"includes\""
run_capture unguarded_user "$G_HELPER" check "$POL/keywords.conf"
t_like "$ERR_TEXT" "keywords.conf:3: unknown mode \"enforcing\"" "unknown keywords: check reports every error in one pass"

printf 'KILL backend terminate timeout=100 timeout=200\n' | put dup.conf 644
broken dup.conf "duplicate option" "$POL/dup.conf:1: duplicate option \"timeout\""

printf 'include b.conf\n' | put a.conf 644
printf 'KILL backend allow\ninclude a.conf\n' | put b.conf 644
broken b.conf "include loop" "$POL/a.conf:1: include loop: .*b.conf\" is already being read"

printf 'KILL backend allow\n' | put world.conf 646
broken world.conf "world-writable file" "$POL/world.conf:0: is world-writable"

printf 'KILL backend allow\n' | put unreadable.conf 000
broken unreadable.conf "unreadable file" "$POL/unreadable.conf:0: cannot be opened: permission denied"

printf 'include .\n' | put dirinclude.conf 644
broken dirinclude.conf "a directory as include" "$POL/dirinclude.conf:1: |$POL/.:0: "

# ---- files that change while in use
# The library reads the policy at each call; a long-lived guarded shell sees
# the file go away at its next kill, and fails closed.
printf 'KILL client-backend block message="from the site policy"\n' | put live.conf 644
cat >"$G_DIR/live.sh" <<EOF
kill -9 $V
rm -f "$POL/live.conf"
kill -9 $V
true
EOF
chmod 644 "$G_DIR/live.sh"
run_capture guarded_user env PGKILLGUARD_POLICY="$POL/live.conf" bash "$G_DIR/live.sh"
t_like "$ERR_TEXT" "blocked by $POL/live.conf:1; from the site policy" "deleted while in use: the first kill follows the file"
t_like "$ERR_TEXT" "blocked: the policy is broken \($POL/live.conf:0: no such file\)" "deleted while in use: the next kill fails closed"
t_ok "deleted while in use: backend alive" alive "$V"

printf 'include part.conf\n' | put whole.conf 644
printf 'KILL client-backend block message="from part"\n' | put part.conf 644
cat >"$G_DIR/part.sh" <<EOF
kill -9 $V
rm -f "$POL/part.conf"
kill -9 $V
true
EOF
chmod 644 "$G_DIR/part.sh"
run_capture guarded_user env PGKILLGUARD_POLICY="$POL/whole.conf" bash "$G_DIR/part.sh"
t_like "$ERR_TEXT" "blocked by $POL/part.conf:1; from part" "included file deleted: the first kill follows it"
t_like "$ERR_TEXT" "the policy is broken \($POL/whole.conf:1: cannot include .*part.conf\": no such file\)" \
	"included file deleted: the next kill fails closed and names the include"

# The supervisor reads its policy once, at start: removing the file later
# changes nothing for the session.
printf 'KILL client-backend block message="loaded at start"\n' | put session.conf 644
run_capture run_as_test_user PGKILLGUARD_SYSLOG="$G_SYSLOG" "$G_HELPER" exec --policy "$POL/session.conf" -- \
	bash -c "rm -f '$POL/session.conf'; busybox kill -9 $V"
t_like "$RC:$ERR_TEXT" "^1:pgkillguard: kill -9 $V .*blocked by $POL/session.conf:1; loaded at start" \
	"exec: the policy read at start stays in force after the file is removed"

# ---- an empty file
# An empty policy would allow every signal (no rule matches); an empty file
# is far more often a truncated one than a decision: it is an error.
printf '' | put empty.conf 644
run_capture unguarded_user "$G_HELPER" check "$POL/empty.conf"
t_like "$RC:$ERR_TEXT" "^1:$POL/empty.conf:0: has no rules" "empty file: check refuses it, FILE:LINE"
run_capture guarded_user env PGKILLGUARD_POLICY="$POL/empty.conf" bash -c "kill -9 $V"
t_like "$RC:$ERR_TEXT" "^1:pgkillguard: kill -9 $V .*blocked: the policy is broken \($POL/empty.conf:0: has no rules" \
	"empty file at run time: fails closed"

t_ok "no crash-restart in server.log, postmaster pid unchanged" assert_cluster_intact "$D" "$PM"
t_done
