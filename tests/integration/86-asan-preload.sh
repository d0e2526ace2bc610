#!/bin/bash
# 86-asan-preload.sh - the preload library built with AddressSanitizer and
# UBSan, loaded into real programs (bash, procps kill, python, the probes)
# against a real cluster: rewrites, blocks, pass-through, broadcasts,
# pidfds, a signal handler, 16 threads, a closed stderr, a broken policy.
# Any sanitizer report fails the test.
#
# Runs in `make check-asan` (mk/sanitize.mk), which builds
# build/libpgkillguard-asan.so and names the ASan runtime in PGKG_ASAN_RT;
# skipped otherwise.  Why a separate test: an ASan library can only be
# preloaded after the ASan runtime (LD_PRELOAD="RUNTIME LIB"), which the
# other tests do not do; there the ASan variant preloads a UBSan build in
# trap mode, which needs no runtime.  Not here: a vfork() child calling the
# library (ASan itself cannot run instrumented code in a vfork child that
# forks again; 83-callers.sh covers it in the other builds).
set -eu
. "$(dirname "$0")/../lib/cluster.sh"
. "$(dirname "$0")/../lib/guard.sh"
. "$(dirname "$0")/../lib/hostile.sh"

ALIB=$PGKG_BUILD/libpgkillguard-asan.so
if [ ! -f "$ALIB" ] || [ ! -f "${PGKG_ASAN_RT:-}" ]; then
	plan_none
	skip_all "not an ASan build (make check-asan runs this)"
fi
guard_test_begin
cp "$ALIB" "$G_DIR/libpgkillguard-asan.so"
cp "$PGKG_BUILD/tests/callers" "$G_DIR/"
C=$G_DIR/callers
LOGS=$(mktemp -d "$G_DIR/asan.XXXXXX")
chmod 1777 "$LOGS"

new_running_cluster asan
open_idle_sessions "$D" v 30 >/dev/null
mapfile -t V < <(backend_pids "$D" v)
open_idle_session "$D" witness
W=$(backend_pid "$D" witness)
SLEEPER=$(run_as_test_user bash -c 'sleep 300 >/dev/null 2>&1 & echo $!')
register_pid "$SLEEPER"

# The helper the library starts would inherit the preloaded runtime: start
# it clean, so that only the library runs under ASan here.
printf '#!/bin/sh\nexec env -u LD_PRELOAD -u ASAN_OPTIONS -u UBSAN_OPTIONS "%s" "$@"\n' \
	"$G_HELPER" >"$G_DIR/clean-helper"
chmod 755 "$G_DIR/clean-helper"

# ag CMD... : as the test user, the ASan runtime and the ASan library preloaded
ag() {
	run_as_test_user LD_PRELOAD="$PGKG_ASAN_RT $G_DIR/libpgkillguard-asan.so" \
		ASAN_OPTIONS="detect_leaks=0:log_path=$LOGS/asan" UBSAN_OPTIONS="log_path=$LOGS/ubsan" \
		PGKILLGUARD_HELPER="$G_DIR/clean-helper" PGKILLGUARD_SYSLOG="$G_SYSLOG" "$@"
}
# our_helpers : pids of the helpers this test started that still run
our_helpers() {
	local p
	for p in $(pgrep -u "$PGKG_TEST_USER" -f __rewrite-helper); do
		if [ "$(readlink "/proc/$p/exe" 2>/dev/null)" = "$G_HELPER" ] && alive "$p"; then
			echo "$p"
		fi
	done
}

run_capture ag bash -c "grep -c asan /proc/\$\$/maps >/dev/null && echo loaded"
t_is "$OUT_TEXT" loaded "the ASan runtime and library load into bash"

n=0
for how in "bash -c 'kill -9 {}'" "/usr/bin/kill -9 {}" "python3 -c 'import os; os.kill({}, 9)'" \
	"$G_PROBE sys-kill {} 9" "$G_PROBE sys-tgkill {} 9" "$G_PROBE sigqueue {} 9" \
	"$G_PROBE pidfd {} 9" "$G_PROBE sys-pidfd {} 9" "$G_PROBE procfd {} 9" "$G_PROBE killpg {} 9"; do
	pid=${V[$n]}
	n=$((n + 1))
	run_capture ag bash -c "${how//\{\}/$pid}"
	t_is "$RC:$(rewritten)" "0:1" "ASan: ${how//\{\}/PID}: rewritten"
	t_ok "ASan: ${how//\{\}/PID}: backend gone" wait_gone "$pid" 3000
done

run_capture ag bash -c "kill -9 $PM"
t_like "$RC:$ERR_TEXT" "^1:pgkillguard: kill -9 $PM \(postmaster" "ASan: kill -9 of the postmaster: blocked"
run_capture ag bash -c "kill -STOP $SLEEPER && kill -CONT $SLEEPER"
t_is "$RC:$(guard_lines)" "0:0" "ASan: an ordinary process: passes silently"
run_capture ag bash -c "kill -9 -1"
t_like "$RC:$ERR_TEXT" "^1:pgkillguard: kill -9 -1 would reach PostgreSQL processes" "ASan: kill -9 -1: refused whole"
run_capture ag "$C" handler 9 "${V[10]}" "${V[11]}"
t_is "$RC:$(rewritten)" "0:2" "ASan: kill() in a signal handler and in main"
run_capture ag "$C" threads 9 "${V[@]:12:16}"
t_is "$RC:$(rewritten)" "0:16" "ASan: 16 threads at once"
run_capture ag "$C" nostderr 9 "${V[28]}" "${V[29]}"
t_is "$RC" 0 "ASan: stderr closed"
printf 'KILL any frobnicate\n' >"$G_DIR/broken.conf"
chown "$PGKG_TEST_USER" "$G_DIR/broken.conf"
run_capture ag env PGKILLGUARD_POLICY="$G_DIR/broken.conf" bash -c "kill -9 $W"
t_like "$RC:$ERR_TEXT" "^1:pgkillguard: kill -9 $W .*the policy is broken" "ASan: a broken policy fails closed"
t_ok "ASan: the witness lives" alive "$W"

for _ in $(seq 150); do [ -z "$(our_helpers)" ] && break; sleep 0.1; done
t_is "$(our_helpers)" "" "every helper exited (its caller is gone)"
reports=$(cat "$LOGS"/* 2>/dev/null | head -80)
t_is "$reports" "" "no sanitizer report from any process"
t_ok "no crash-restart in server.log, postmaster pid unchanged" assert_cluster_intact "$D" "$PM"
t_done
