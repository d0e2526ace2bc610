#!/bin/bash
# 88-standby-roles.sh - the replication roles: a primary and a streaming
# standby (a copy of the cleanly stopped primary plus standby.signal, so no
# pg_basebackup of the server's own version is needed).  The guard must
# know the standby's startup process and walreceiver and the primary's
# walsender by their titles on every version (tests/run.sh runs this against
# PostgreSQL 13-18), and act on them as the default policy says:
#   - walsender (a backend): kill -9 is rewritten to pg_terminate_backend;
#     the standby reconnects, nothing restarts;
#   - startup, walreceiver (auxiliary): kill -9 is blocked, and TERM to the
#     startup process (it shuts the standby down); a SIGKILL to the startup
#     process would take the whole standby down;
#   - TERM to the walreceiver passes (issue 10, repmgr's
#     disable_wal_receiver; measured in docs/AUX-SIGNALS.md): it exits and
#     the startup process starts a new one, nothing restarts.
set -eu
. "$(dirname "$0")/../lib/cluster.sh"
. "$(dirname "$0")/../lib/guard.sh"

guard_test_begin

P=$(cluster_new_dir primary)
S=$(cluster_new_dir standby)
PGKG_EXTRA_CONF="wal_level = replica
max_wal_senders = 5
hot_standby = on
wal_receiver_status_interval = 1s
archive_mode = on
archive_command = '/bin/true'" cluster_create "$P" >/dev/null
cluster_create "$S" >/dev/null
SPORT=$(cat "$S/port")

# the standby's data: a copy of the primary's, stopped cleanly after start-up
cluster_start "$P" >/dev/null
cluster_stop "$P"
run_as_test_user rm -rf "$S/data"
run_as_test_user cp -a "$P/data" "$S/data"
run_as_test_user touch "$S/data/standby.signal"
run_as_test_user tee -a "$S/data/postgresql.conf" >/dev/null <<EOF
# --- standby of $P ---
port = $SPORT
unix_socket_directories = '$S/sock'
primary_conninfo = 'host=$P/sock port=$(cat "$P/port") user=$PGKG_TEST_USER application_name=pgkgstandby'
EOF
cluster_start "$P" >/dev/null
cluster_start "$S" >/dev/null
PMP=$(cluster_pm_pid "$P")
PMS=$(cluster_pm_pid "$S")
VERSION=$(cluster_psql "$P" "show server_version_num")
t_diag "PostgreSQL $(cluster_psql "$P" "show server_version")"

t_is "$(cluster_psql "$S" "select pg_is_in_recovery()")" t "the standby is in recovery"

# streaming_pid : the walsender serving the standby, once it streams
streaming_pid() {
	local left=200 pid
	while :; do
		pid=$(cluster_psql "$P" "select pid from pg_stat_replication
			where application_name = 'pgkgstandby' and state = 'streaming'") || pid=""
		[ -n "$pid" ] && { echo "$pid"; return 0; }
		[ "$left" -gt 0 ] || { echo "no streaming walsender" >&2; return 1; }
		sleep 0.05
		left=$((left - 1))
	done
}
WS=$(streaming_pid)
STARTUP=$(aux_pid "$S" startup)
WR=$(aux_pid "$S" walreceiver)
t_like "$WS" '^[0-9]+$' "the primary has a streaming walsender"
t_like "$STARTUP:$WR" '^[0-9]+:[0-9]+$' "the standby has a startup process and a walreceiver"

# every process of both clusters: explain gives the kind PostgreSQL itself
# reports (pg_stat_activity.backend_type), and no child of a postmaster is
# left unidentified (titles differ between versions)
kinds_agree() {
	local dir=$1 pid type want got bad="" pm n=0
	while IFS='|' read -r pid type; do
		[ -n "$pid" ] || continue
		case $type in startup) want="startup process" ;; *) want=$type ;; esac
		got=$("$G_HELPER" explain "$pid" 2>&1 | grep -m1 "^$pid: ")
		[[ $got == "$pid: $want"[\ \;]* ]] || bad="$bad [$type: $got]"
		n=$((n + 1))
	done < <(cluster_psql "$dir" "select pid, backend_type from pg_stat_activity
		where pid <> pg_backend_pid() and backend_type is not null")
	pm=$(cluster_pm_pid "$dir")
	for pid in $(pgrep -P "$pm"); do
		got=$("$G_HELPER" explain "$pid" 2>&1 | grep -m1 "^$pid: ")
		case $got in *"not yet identified"* | *"not a PostgreSQL"*) bad="$bad [child: $got]" ;; esac
	done
	echo "$n processes in pg_stat_activity"
	[ -z "$bad" ] || { echo "mismatch:$bad"; return 1; }
}
t_ok "primary: every process's kind agrees with backend_type" kinds_agree "$P"
t_ok "standby: every process's kind agrees with backend_type" kinds_agree "$S"

# explain names each role by its kind, for the cluster it belongs to
kind_of() { "$G_HELPER" explain "$1" 2>&1; }
t_like "$(kind_of "$WS")" "walsender" "explain: $WS is a walsender"
t_like "$(kind_of "$STARTUP")" "startup" "explain: $STARTUP is the startup process"
t_like "$(kind_of "$WR")" "walreceiver" "explain: $WR is the walreceiver"

# kill -9 of the walsender: rewritten; the standby streams again
run_capture guarded_user kill -9 "$WS"
t_is "$RC" 0 "kill -9 walsender: exits 0"
t_like "$ERR_TEXT" "^pgkillguard: kill -9 $WS \(walsender [^;]*; cluster $P/data\) rewritten to pg_terminate_backend: exited after [0-9]+ ms; the cluster kept running$" \
	"kill -9 walsender: rewritten, one line"
t_ok "the walsender $WS is gone" wait_gone "$WS" 3000
t_like "$(audit_lines "target=$WS ")" "kind=walsender cluster=$P/data action=terminate result=ok" "kill -9 walsender: audit line"
WS2=$(streaming_pid) || WS2=""
t_like "$WS2" '^[0-9]+$' "the standby streams again (new walsender $WS2)"

# the walreceiver ended with its connection: the one streaming now is new
WR=$(aux_pid "$S" walreceiver)

# kill -9 of the startup process and the walreceiver, TERM of the startup
# process: blocked
for target in "startup process:$STARTUP" "walreceiver:$WR"; do
	name=${target%:*} pid=${target##*:}
	for sig in 9 TERM; do
		[ "$name:$sig" != walreceiver:TERM ] || continue	# passes: below
		run_capture guarded_user kill -"$sig" "$pid"
		t_is "$RC:$(guard_lines)" "1:1" "kill -$sig $name: fails, one line"
		t_like "$ERR_TEXT" "^pgkillguard: kill -[0-9]+ $pid \($name( [^;]*)?; cluster $S/data\) blocked by " \
			"kill -$sig $name: says blocked, names the standby"
		t_ok "kill -$sig $name: $pid still alive" alive "$pid"
	done
done
# TERM of the walreceiver passes: it exits, a new one streams
run_capture guarded_user kill -TERM "$WR"
t_is "$RC:$(guard_lines)" "0:0" "kill -TERM walreceiver: passes untouched, no line (it only reconnects)"
t_ok "kill -TERM walreceiver: $WR exits" wait_gone "$WR" 5000
new_walreceiver() {
	local left=600 p
	while :; do
		p=$(pgrep -P "$PMS" -f '^postgres: ([^ ]+: )?walreceiver' | head -1) || p=""
		[ -n "$p" ] && [ "$p" != "$WR" ] && return 0
		[ "$left" -gt 0 ] || return 1
		sleep 0.05
		left=$((left - 1))
	done
}
t_ok "kill -TERM walreceiver: the startup process starts a new walreceiver" new_walreceiver
# the same through the enforced front-end (exec), with a static binary
run_capture guarded_user "$G_HELPER" exec -- "$G_DIR/probe-static" sys-kill "$STARTUP" 9
t_like "$ERR_TEXT" "pgkillguard: kill -9 $STARTUP \(startup process( [^;]*)?; cluster $S/data\) blocked by " \
	"exec: raw kill -9 of the startup process blocked"
t_ok "exec: startup process $STARTUP still alive" alive "$STARTUP"

t_is "$(cluster_psql "$S" "select pg_is_in_recovery()")" t "the standby is still in recovery"
# a write on the primary reaches the standby: replication still works
cluster_psql "$P" "create table pgkg_repl(x int); insert into pgkg_repl values ($VERSION)" >/dev/null
replicated() {
	local left=200
	until [ "$(cluster_psql "$S" "select x from pgkg_repl" 2>/dev/null)" = "$VERSION" ]; do
		[ "$left" -gt 0 ] || return 1
		sleep 0.05
		left=$((left - 1))
	done
}
t_ok "a row written on the primary reaches the standby" replicated
t_ok "primary intact" assert_cluster_intact "$P" "$PMP"
t_ok "standby intact" assert_cluster_intact "$S" "$PMS"
t_done
