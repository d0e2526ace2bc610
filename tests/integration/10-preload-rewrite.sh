#!/bin/bash
# 10-preload-rewrite.sh - fatal signals to client backends, sent by real
# clients under LD_PRELOAD, are rewritten into pg_terminate_backend: the
# backend is gone, the call returns 0, one explanation line, one audit line,
# the other sessions and the cluster live on.  As the cluster owner and root.
set -eu
. "$(dirname "$0")/../lib/cluster.sh"
. "$(dirname "$0")/../lib/guard.sh"

guard_test_begin

new_running_cluster rewrite
BINDIR=$(pg_bindir)
open_idle_session "$D" witness
W=$(backend_pid "$D" witness)
N=0

# rewrite_case NAME user|root COMMAND-WITH-{PID}
rewrite_case() {
	local name=$1 as=$2 tmpl=$3 app pid
	N=$((N + 1))
	app=victim$N
	open_idle_session "$D" "$app"
	pid=$(backend_pid "$D" "$app")
	run_capture "guarded_$as" bash -c "${tmpl//\{PID\}/$pid}"
	t_is "$RC" 0 "$name: exits 0"
	t_is "$(guard_lines)" 1 "$name: one pgkillguard line"
	t_like "$ERR_TEXT" "^pgkillguard: kill -[0-9]+ ($pid \(|-- -$pid \(reaches $pid, )client backend $PGKG_TEST_USER@postgres, idle; cluster $D/data\) rewritten to pg_terminate_backend: exited after [0-9]+ ms; the cluster kept running$" \
		"$name: says what happened"
	t_ok "$name: backend $pid gone" wait_gone "$pid" 3000
	t_ok "$name: other session alive" alive "$W"
	t_like "$(audit_lines "target=$pid ")" "<85>pgkillguard\[[0-9]+\]: caller=[0-9]+ user=[a-z0-9]+ tty=\S+ program=\S+ call=\S+ signal=[A-Z]+ target=$pid kind=client-backend cluster=$D/data action=terminate result=ok latency_ms=[0-9]+" \
		"$name: audit line"
}

for form in "-9" "-KILL" "-s SIGKILL" "-QUIT" "-ABRT" "-SEGV"; do
	rewrite_case "bash kill $form" user "kill $form {PID}"
done
rewrite_case "dash kill -9" user "dash -c 'kill -9 {PID}'"
rewrite_case "/usr/bin/kill -9" user "/usr/bin/kill -9 {PID}"
rewrite_case "python3 os.kill" user "python3 -c 'import os; os.kill({PID}, 9)'"
rewrite_case "perl kill" user "perl -e 'kill 9, {PID}'"
rewrite_case "pg_ctl kill KILL" user "$BINDIR/pg_ctl kill KILL {PID}"
rewrite_case "bash kill -9 -- -PGID (a backend leads its group)" user "kill -9 -- -{PID}"
for call in sys-kill sys-tkill sys-tgkill sigqueue sys-sigqueue tgkill killpg pidfd sys-pidfd procfd; do
	rewrite_case "probe $call" user "$G_PROBE $call {PID} 9"
done
rewrite_case "root: bash kill -9" root "kill -9 {PID}"
rewrite_case "root: /usr/bin/kill -KILL" root "/usr/bin/kill -KILL {PID}"
rewrite_case "root: python3 os.kill SIGQUIT" root "python3 -c 'import os; os.kill({PID}, 3)'"

# pkill -f: a role of its own makes the title unique (scoped to the test user)
cluster_add_role "$D" pkillvictim >/dev/null
PGUSER=pkillvictim open_idle_session "$D" pk1
PGUSER=pkillvictim open_idle_session "$D" pk2
P1=$(backend_pid "$D" pk1)
P2=$(backend_pid "$D" pk2)
run_capture guarded_user pkill -9 -u "$PGKG_TEST_USER" -f 'postgres: pkillvictim '
t_is "$RC" 0 "pkill -9 -f: exits 0"
t_is "$(guard_lines)" 2 "pkill -9 -f: one line per backend"
t_like "$ERR_TEXT" "kill -9 $P1 \(client backend pkillvictim@postgres, idle;.*rewritten to pg_terminate_backend" "pkill: first backend rewritten"
t_ok "pkill: $P1 gone" wait_gone "$P1" 3000
t_ok "pkill: $P2 gone" wait_gone "$P2" 3000
t_ok "pkill: other session alive" alive "$W"

# killall -9 postgres: backends are terminated, the postmaster and the
# auxiliary processes refuse, the cluster keeps running
open_idle_sessions "$D" ka 3 >/dev/null
mapfile -t KA < <(backend_pids "$D" ka)
CKPT=$(aux_pid "$D" checkpointer)
BGW=$(aux_pid "$D" "background writer")
WALW=$(aux_pid "$D" walwriter)
run_capture guarded_user killall -9 -u "$PGKG_TEST_USER" postgres
t_like "$ERR_TEXT" "kill -9 $PM \(postmaster; cluster $D/data\) blocked by .*pg_ctl stop -m fast" "killall: postmaster refused, with advice"
t_like "$ERR_TEXT" "kill -9 $CKPT \(checkpointer; cluster $D/data\) blocked by" "killall: checkpointer refused"
for p in "${KA[@]}"; do
	t_ok "killall: backend $p gone" wait_gone "$p" 3000
done
t_ok "killall: witness backend gone too" wait_gone "$W" 3000
for p in "$PM" "$CKPT" "$BGW" "$WALW"; do
	t_ok "killall: $(tr '\0' ' ' </proc/$p/cmdline 2>/dev/null | cut -c1-40) ($p) alive" alive "$p"
done
t_is "$(cluster_psql "$D" 'select 1')" 1 "killall: the cluster still answers"

t_ok "no crash-restart in server.log, postmaster pid unchanged" assert_cluster_intact "$D" "$PM"
t_done
