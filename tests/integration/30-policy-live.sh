#!/bin/bash
# 30-policy-live.sh - policies against a real cluster: broken and untrusted
# files fail closed for PostgreSQL and open for everything else; report
# mode; cancel; message=; `pgkillguard check` says FILE:LINE.
set -eu
. "$(dirname "$0")/../lib/cluster.sh"
. "$(dirname "$0")/../lib/guard.sh"

guard_test_begin

new_running_cluster policy
open_idle_session "$D" victim
V=$(backend_pid "$D" victim)
POL=$G_DIR/policies
mkdir -p "$POL"
chmod 755 "$POL"

# policy NAME MODE [OWNER] <<<TEXT : write a policy file the test user may read
policy() {
	cat >"$POL/$1"
	chown "${3:-$PGKG_TEST_USER}" "$POL/$1"
	chmod "$2" "$POL/$1"
}

SLEEPER=$(run_as_test_user bash -c 'sleep 300 >/dev/null 2>&1 & echo $!')
register_pid "$SLEEPER"

# fail_closed NAME FILE WHY-REGEX
fail_closed() {
	run_capture guarded_user env PGKILLGUARD_POLICY="$2" bash -c "kill -9 $V"
	t_is "$RC" 1 "$1: kill -9 of a backend refused"
	t_like "$ERR_TEXT" "^pgkillguard: kill -9 $V \(client backend .*\) blocked: the policy is broken \($3" "$1: says the policy is broken, and where"
	t_ok "$1: backend alive" alive "$V"
	run_capture guarded_user env PGKILLGUARD_POLICY="$2" bash -c "kill -STOP $PM"
	t_is "$RC" 1 "$1: STOP to the postmaster refused"
	t_is "$(proc_state "$PM")" S "$1: postmaster not stopped"
	run_capture guarded_user env PGKILLGUARD_POLICY="$2" bash -c "kill -0 $V && kill -HUP $PM"
	t_is "$RC:$(guard_lines)" "0:0" "$1: signal 0 and HUP still pass, silently"
	run_capture guarded_user env PGKILLGUARD_POLICY="$2" bash -c "kill -CONT $SLEEPER"
	t_is "$RC:$(guard_lines)" "0:0" "$1: an ordinary kill passes"
}

policy bad.conf 644 <<'EOF2'
# a typo on line 3
KIL  backend  terminate
fatal backend frobnicate
EOF2
fail_closed "syntax errors" "$POL/bad.conf" "$POL/bad.conf:2: "
run_capture unguarded_user "$G_HELPER" check "$POL/bad.conf"
t_is "$RC" 1 "check: exit 1 on a bad file"
t_like "$ERR_TEXT" "$POL/bad.conf:2: .*KIL" "check: FILE:LINE for the unknown signal"
t_like "$ERR_TEXT" "$POL/bad.conf:3: .*frobnicate" "check: and for the unknown action (all errors in one pass)"

printf 'fatal backend terminate\n' | policy writable.conf 664
fail_closed "group-writable file" "$POL/writable.conf" "$POL/writable.conf:0: .*group-writable"
printf 'fatal backend terminate\n' | policy other.conf 644 nobody
fail_closed "file owned by another user" "$POL/other.conf" "$POL/other.conf:0: .*owned by"
printf 'fatal backend terminate\n' | policy target.conf 644
ln -sf "$POL/target.conf" "$POL/link.conf"
fail_closed "symbolic link" "$POL/link.conf" "$POL/link.conf:0: .*symbolic link"
fail_closed "missing file named explicitly" "$POL/missing.conf" "$POL/missing.conf:0: no such file"
run_capture unguarded_user "$G_HELPER" check "$POL/writable.conf"
t_is "$RC" 1 "check: an untrusted file is invalid"

# report mode: logs what would happen, lets the call through
policy report.conf 644 <<'EOF2'
mode report
stop   any  block
EOF2
run_capture guarded_user env PGKILLGUARD_POLICY="$POL/report.conf" bash -c "kill -STOP $V"
t_is "$RC" 0 "report mode: STOP to a backend goes through"
t_like "$ERR_TEXT" "^pgkillguard: kill -19 $V \(client backend .*\) let through \(report mode\); in enforce mode it would be blocked" "report mode: says so"
t_like "$(audit_lines "target=$V .*result=report-only")" "action=block" "report mode: audit line"
for _ in $(seq 50); do [ "$(proc_state "$V")" = T ] && break; sleep 0.02; done
t_is "$(proc_state "$V")" T "report mode: the backend really is stopped"
kill -CONT "$V"

# cancel instead of terminate, with a message of the site's own
policy cancel.conf 644 <<'EOF2'
KILL  client-backend  cancel  message="site rule: ask the on-call DBA before ending sessions"
EOF2
open_idle_session "$D" busy-holder
printf 'select pg_sleep(60);\nselect 42 as after_cancel, pg_sleep(60);\n' >"$G_DIR/busy.sql"
chmod 644 "$G_DIR/busy.sql"
run_as_test_user env PGAPPNAME=busy "$(pg_bindir)/psql" -X -q -h "$D/sock" -p "$(cat "$D/port")" -d postgres \
	-f "$G_DIR/busy.sql" >"$G_DIR/busy.out" 2>&1 &
BUSY_CLIENT=$!
register_pid "$BUSY_CLIENT"
for _ in $(seq 100); do
	B=$(cluster_psql "$D" "select pid from pg_stat_activity where application_name='busy' and state='active'")
	[ -n "$B" ] && break; sleep 0.05
done
run_capture guarded_user env PGKILLGUARD_POLICY="$POL/cancel.conf" bash -c "kill -9 $B"
t_is "$RC" 0 "cancel: kill -9 returns 0"
t_like "$ERR_TEXT" "rewritten to pg_cancel_backend: query cancelled after [0-9]+ ms; the session stays connected; site rule: ask the on-call DBA" "cancel: says so, with the site's message"
for _ in $(seq 100); do
	Q=$(cluster_psql "$D" "select query from pg_stat_activity where pid=$B")
	[[ $Q == *after_cancel* ]] && break; sleep 0.05
done
t_like "$Q" "after_cancel" "cancel: the session went on to its next statement"
t_like "$(cat "$G_DIR/busy.out")" "canceling statement due to user request" "cancel: the query was cancelled"
t_ok "cancel: the backend lives" alive "$B"

t_ok "no crash-restart in server.log, postmaster pid unchanged" assert_cluster_intact "$D" "$PM"
t_done
