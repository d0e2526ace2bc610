#!/bin/bash
# 40-preloaded-cluster.sh - PostgreSQL's own signalling is never touched: a
# cluster started WITH the library preloaded (postmaster and every child)
# still runs pg_terminate_backend, parallel query, smart/fast/immediate
# shutdown and restart normally, and pg_ctl under the guard still stops it.
set -eu
. "$(dirname "$0")/../lib/cluster.sh"
. "$(dirname "$0")/../lib/guard.sh"

guard_test_begin

D=$(cluster_new_dir preloaded)
cluster_create "$D" >/dev/null
BINDIR=$(pg_bindir)
mapfile -t GENV < <(_guard_env)
pgctl() { guarded_user "$BINDIR/pg_ctl" -w -t 60 -D "$D/data" -l "$D/server.log" "$@"; }

t_ok "pg_ctl start (preloaded)" pgctl start
PM=$(cluster_pm_pid "$D")
t_ok "the postmaster has the library mapped" grep -q libpgkillguard.so "/proc/$PM/maps"
CKPT=$(aux_pid "$D" checkpointer)
t_ok "so has the checkpointer" grep -q libpgkillguard.so "/proc/$CKPT/maps"

# pg_terminate_backend: a backend signals a sibling (kill(-pid, SIGTERM))
open_idle_sessions "$D" s 3 >/dev/null
S1=$(backend_pid "$D" s1)
t_is "$(cluster_psql "$D" "select pg_terminate_backend($S1)")" t "pg_terminate_backend from SQL"
t_ok "its target exited" wait_gone "$S1" 3000
t_is "$(cluster_psql "$D" "select pg_cancel_backend(pg_backend_pid())" 2>&1 | tail -1)" \
	"ERROR:  canceling statement due to user request" "pg_cancel_backend of oneself works"

# parallel query: the leader and its workers signal each other and the postmaster
Q="set max_parallel_workers_per_gather=2; set parallel_setup_cost=0; set parallel_tuple_cost=0;
   set min_parallel_table_scan_size=0;
   create table if not exists t as select g from generate_series(1,300000) g;
   explain (analyze, costs off, timing off, summary off) select count(*) from t;"
t_like "$(cluster_psql "$D" "$Q")" "Workers Launched: 2" "parallel query launches its workers"
t_is "$(cluster_psql "$D" "set max_parallel_workers_per_gather=2; set parallel_setup_cost=0;
   set parallel_tuple_cost=0; select count(*) from t")" 300000 "parallel query gives the right answer"

# a guarded outsider's kill -9 is still rewritten in this cluster
S2=$(backend_pid "$D" s2)
run_capture guarded_user bash -c "kill -9 $S2"
t_like "$ERR_TEXT" "rewritten to pg_terminate_backend" "outsider kill -9 rewritten here too"
t_ok "outsider kill -9: backend gone" wait_gone "$S2" 3000
t_is "$(crash_restarts "$D")" 0 "no crash-restart so far"

# shutdowns, each through pg_ctl under the guard
t_ok "pg_ctl stop -m fast" pgctl stop -m fast
t_ok "postmaster gone" wait_gone "$PM" 5000
t_ok "pg_ctl start" pgctl start
t_ok "pg_ctl restart -m fast" pgctl restart -m fast
PM2=$(cluster_pm_pid "$D")
t_ok "restart gave a new postmaster" test "$PM2" != "$PM"
t_is "$(cluster_psql "$D" 'select 1')" 1 "answers after restart"
t_ok "pg_ctl stop -m smart" pgctl stop -m smart
t_ok "pg_ctl start" pgctl start
PM3=$(cluster_pm_pid "$D")
open_idle_sessions "$D" imm 2 >/dev/null
t_ok "pg_ctl stop -m immediate (QUIT from pg_ctl is allowed)" pgctl stop -m immediate
t_ok "postmaster gone after immediate stop" wait_gone "$PM3" 5000
t_is "$(grep -c 'received immediate shutdown request' "$D/server.log")" 1 "the server saw an immediate shutdown request"
t_ok "pg_ctl start after immediate stop (recovers)" pgctl start
t_is "$(cluster_psql "$D" 'select count(*) from t')" 300000 "data intact"
t_is "$(grep -c 'reinitializing' "$D/server.log" || true)" 0 "never a crash-restart"
t_ok "pg_ctl stop -m fast" pgctl stop -m fast
t_done
