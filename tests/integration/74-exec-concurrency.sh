#!/bin/bash
# 74-exec-concurrency.sh - one slow target never stalls a guarded session:
# while `kill -9` of a backend stuck in a PL/Perl loop (it ignores SIGTERM)
# waits out its timeout, other guarded calls of the same `pgkillguard exec`
# session are answered at once (issue 12).  The measured figures are
# printed; the bound is loose (the old supervisor took the whole timeout).
set -eu
. "$(dirname "$0")/../lib/cluster.sh"
. "$(dirname "$0")/../lib/guard.sh"

guard_test_begin
if [ ! -e "$(pg_bindir)/../lib/plperl.so" ] && ! ls /usr/lib/postgresql/*/lib/plperl.so >/dev/null 2>&1; then
	t_skip "PL/Perl is not installed (postgresql-plperl-15; tests/lib/deps.sh installs it)"
	t_done
	exit 0
fi
new_running_cluster stall
cluster_psql "$D" "create extension if not exists plperl" >/dev/null
BIN=$(pg_bindir)
_pgkg_env "$D"
_pgkg_user_cmd PGAPPNAME=stuck "${_PGKG_ENV[@]}" "$BIN/psql" -X -q -c 'DO $$ while (1) {} $$ LANGUAGE plperl'
( cd / && exec setsid "${_PGKG_CMD[@]}" </dev/null >"$D/stuck.log" 2>&1 ) &
disown $!
STUCK=$(backend_pid "$D" stuck)
open_idle_session "$D" other
OTHER=$(backend_pid "$D" other)
run_as_test_user sleep 600 </dev/null >/dev/null 2>&1 &
register_pid $!
sleep 0.2
PLAIN=$(pgrep -u "$PGKG_TEST_USER" -x sleep -n)

OUT=$G_DIR/stall.txt
: >"$OUT"; chmod 666 "$OUT"
# In one session: kill -9 of the stuck backend in the background; once it
# waits inside the kill system call (/proc/PID/syscall starts with 62, x86-64
# kill), TERM of an ordinary process and TERM of another backend.
run_capture run_as_test_user PGKILLGUARD_SYSLOG="$G_SYSLOG" "$G_HELPER" exec -- bash -c "
	( t0=\$(date +%s%N); /bin/kill -9 $STUCK; echo \"kill9 rc=\$? ms=\$(( (\$(date +%s%N) - t0) / 1000000 ))\" >>$OUT ) &
	for i in \$(seq 200); do
		k=\$(pgrep -P \$! -x kill) && case \$(cat /proc/\$k/syscall 2>/dev/null) in '62 '*) echo waiting >>$OUT; break;; esac
		sleep 0.01
	done
	t0=\$(date +%s%N); kill -TERM $PLAIN; echo \"plain rc=\$? ms=\$(( (\$(date +%s%N) - t0) / 1000000 ))\" >>$OUT
	t0=\$(date +%s%N); kill -TERM $OTHER; echo \"other rc=\$? ms=\$(( (\$(date +%s%N) - t0) / 1000000 ))\" >>$OUT
	wait"
t_like "$(cat "$OUT")" "^waiting" "the kill -9 was waiting in the kernel before the other calls"
PLAIN_MS=$(sed -n 's/^plain rc=0 ms=//p' "$OUT")
OTHER_MS=$(sed -n 's/^other rc=0 ms=//p' "$OUT")
K9=$(sed -n 's/^kill9 //p' "$OUT")
diag() { printf '# %s\n' "$*"; }
diag "kill -9 of the stuck backend: $K9; meanwhile TERM of a sleep: ${PLAIN_MS:-?} ms, TERM of another backend: ${OTHER_MS:-?} ms"
t_ok "TERM of an ordinary process answered while the kill -9 waits (${PLAIN_MS:-none} ms)" \
	test -n "$PLAIN_MS" -a "${PLAIN_MS:-99999}" -lt 1000
t_ok "TERM of another backend answered while the kill -9 waits (${OTHER_MS:-none} ms)" \
	test -n "$OTHER_MS" -a "${OTHER_MS:-99999}" -lt 1000
t_like "$K9" "^rc=1 ms=[0-9]{4,}" "the kill -9 of the stuck backend itself waited and failed (non-zero)"
t_ok "the ordinary process got its TERM" wait_gone "$PLAIN" 2000
t_ok "the other backend got its TERM" wait_gone "$OTHER" 2000
t_ok "the stuck backend still runs (no SIGKILL was sent)" alive "$STUCK"
t_ok "no crash-restart" assert_cluster_intact "$D" "$PM"
t_done
