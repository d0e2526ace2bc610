#!/bin/bash
# 60-two-clusters.sh - two clusters on one host: each kill is classified
# against its own postmaster and rewritten over its own cluster's socket;
# one guarded process (one helper) serves both.
set -eu
. "$(dirname "$0")/../lib/cluster.sh"
. "$(dirname "$0")/../lib/guard.sh"

guard_test_begin

A=$(cluster_new_dir two-a)
B=$(cluster_new_dir two-b)
for d in "$A" "$B"; do
	cluster_create "$d" >/dev/null
	cluster_start "$d" >/dev/null
done
PMA=$(cluster_pm_pid "$A")
PMB=$(cluster_pm_pid "$B")
open_idle_session "$A" a1
open_idle_session "$B" b1
open_idle_session "$B" b2
A1=$(backend_pid "$A" a1)
B1=$(backend_pid "$B" b1)
B2=$(backend_pid "$B" b2)

# one process kills in both clusters, in turn
run_capture guarded_user bash -c "kill -9 $B1; kill -9 $A1"
t_is "$RC" 0 "kill -9 in cluster B, then in cluster A: both succeed"
t_like "$ERR_TEXT" "kill -9 $B1 \(client backend [^)]*; cluster $B/data\) rewritten" "B's backend named with B's cluster"
t_like "$ERR_TEXT" "kill -9 $A1 \(client backend [^)]*; cluster $A/data\) rewritten" "A's backend named with A's cluster"
t_ok "B's backend gone" wait_gone "$B1" 3000
t_ok "A's backend gone" wait_gone "$A1" 3000
t_ok "the other session of B lives" alive "$B2"
run_capture "$G_HELPER" explain
t_like "$OUT_TEXT" "cluster $A/data: postmaster $PMA" "explain lists cluster A"
t_like "$OUT_TEXT" "cluster $B/data: postmaster $PMB" "explain lists cluster B"
t_ok "A intact" assert_cluster_intact "$A" "$PMA"
t_ok "B intact" assert_cluster_intact "$B" "$PMB"
t_done
