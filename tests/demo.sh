#!/bin/bash
# tests/demo.sh - `make demo`: show pgkillguard turning `kill -9 <backend>`
# into pg_terminate_backend() on a throwaway cluster, while the other sessions
# stay connected and the postmaster does not crash-restart.
#
# Needs root (it creates the unprivileged $PGKG_TEST_USER user and runs the
# cluster as that user).  Uses build/libpgkillguard.so and build/pgkillguard,
# or $PGKG_LIB / $PGKG_HELPER.  Exit status 0 when everything went as expected.

# The Makefile runs us with `sh`: switch to bash before any bash syntax.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -eu
. "$(dirname "$0")/lib/cluster.sh"

SESSIONS=5
VICTIM_APP=demo-3

say() { printf '\n==> %s\n' "$*"; }
note() { printf '    %s\n' "$*"; }
indent() { sed 's/^/    /'; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# show_sql DIR SQL : print a query result as a psql table.
show_sql() {
	local -a e
	mapfile -t e < <(cluster_env "$1")
	run_as_test_user "${e[@]}" "$(pg_bindir)/psql" -X -P footer=off -c "$2" 2>&1 | sed "/^\$/d" | indent
}

check_prerequisites() {
	if ! _pgkg_is_root; then
		echo "demo: run as root (it creates the unprivileged user $PGKG_TEST_USER" \
			"and runs a throwaway cluster as that user)" >&2
		exit 1
	fi
	local f
	for f in "$PGKG_LIB" "$PGKG_HELPER"; do
		[ -e "$f" ] || { echo "demo: $f is missing: run make" >&2; exit 1; }
	done
	ensure_test_user
	# A build tree under a private directory (/root/...) is out of the test
	# user's reach: work from a readable copy, as an installed system would.
	if ! run_as_test_user test -r "$PGKG_LIB" || ! run_as_test_user test -x "$PGKG_HELPER"; then
		DEMO_BIN=$(mktemp -d /tmp/pgkg.demo-bin.XXXXXX)
		chmod 755 "$DEMO_BIN"
		cp "$PGKG_LIB" "$PGKG_HELPER" "$DEMO_BIN/"
		PGKG_LIB=$DEMO_BIN/$(basename "$PGKG_LIB")
		PGKG_HELPER=$DEMO_BIN/$(basename "$PGKG_HELPER")
	fi
	run_as_test_user test -r "$PGKG_LIB" ||
		{ echo "demo: $PGKG_TEST_USER cannot read $PGKG_LIB" >&2; exit 1; }
	run_as_test_user test -x "$PGKG_HELPER" ||
		{ echo "demo: $PGKG_TEST_USER cannot run $PGKG_HELPER" >&2; exit 1; }
}

D=""    # the demo cluster's directory

DEMO_BIN=""

on_exit() {
	local rc=$?
	[ -z "$DEMO_BIN" ] || rm -rf "$DEMO_BIN"
	say "Cleaning up: stopping the demo cluster and removing ${D:-its directory}"
	cleanup_all
	exit "$rc"
}

main() {
	local PM victim rc=0 t0 t1 left crashes pm_now pg_line lines verdict=0
	check_prerequisites
	trap on_exit EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM

	say "Creating a throwaway PostgreSQL cluster, owned by OS user $PGKG_TEST_USER"
	note "(none of the clusters already on this machine is touched)"
	D=$(cluster_new_dir demo)
	cluster_create "$D"
	cluster_start "$D"
	PM=$(cluster_pm_pid "$D")
	note "data directory: $D/data"
	note "socket:         $D/sock, port $(cat "$D/port")   postmaster pid: $PM"

	say "Opening $SESSIONS idle client sessions (application_name demo-1 .. demo-$SESSIONS)"
	open_idle_sessions "$D" demo- "$SESSIONS"
	show_sql "$D" "select pid, usename, application_name as app, state
		from pg_stat_activity where backend_type = 'client backend'
		and application_name like 'demo-%' order by application_name"

	say "Processes of this cluster: the postmaster and its children"
	ps -o pid,ppid,user,args -p "$PM" --ppid "$PM" | indent

	victim=$(backend_pid "$D" "$VICTIM_APP")
	say "The classic mistake: kill -9 of backend $victim ($VICTIM_APP), with pgkillguard preloaded"
	note "Without pgkillguard the postmaster would treat this as a crash: it would"
	note "drop all $SESSIONS sessions and reinitialize shared memory."
	note "\$ env LD_PRELOAD=$PGKG_LIB PGKILLGUARD_HELPER=$PGKG_HELPER bash -c \"kill -9 $victim\""
	t0=$(now_ms)
	run_as_test_user LD_PRELOAD="$PGKG_LIB" PGKILLGUARD_HELPER="$PGKG_HELPER" \
		bash -c "kill -9 $victim" 2>"$D/kill.stderr" || rc=$?
	pg_line=$(grep '^pgkillguard: ' "$D/kill.stderr" || true)
	note "kill exit status: $rc"
	if [ -n "$pg_line" ]; then
		note "pgkillguard said on stderr:"
		printf '%s\n' "$pg_line" | indent | indent
	else
		note "NO 'pgkillguard: ' line on stderr; stderr was:"
		indent <"$D/kill.stderr" | indent
		verdict=1
	fi

	say "Waiting for backend $victim to end"
	if wait_gone "$victim" 5000; then
		t1=$(now_ms)
		note "backend $victim is gone after $((t1 - t0)) ms"
	else
		note "backend $victim is STILL RUNNING after 5 s"
		verdict=1
	fi

	say "Are the other $((SESSIONS - 1)) sessions still connected?"
	left=$(count_sessions "$D" demo- 2>/dev/null) || left="unknown (cannot connect)"
	note "client sessions still in pg_stat_activity: $left (expected $((SESSIONS - 1)))"
	[ "$left" = $((SESSIONS - 1)) ] || verdict=1
	show_sql "$D" "select pid, application_name as app, state, backend_start
		from pg_stat_activity where backend_type = 'client backend'
		and application_name like 'demo-%' order by application_name" 2>&1 || true

	say "Did the postmaster crash-restart?"
	crashes=$(crash_restarts "$D")
	pm_now=$(cluster_pm_pid "$D" 2>/dev/null || echo none)
	note "'terminating any other active server processes' / 'reinitializing' lines: $crashes"
	note "postmaster pid: $pm_now (was $PM)"
	if [ "$crashes" = 0 ] && [ "$pm_now" = "$PM" ]; then
		note "no crash restart: the cluster kept running"
	else
		note "CRASH RESTART: every session was dropped"
		verdict=1
	fi

	say "Relevant lines of $D/server.log"
	lines=$(grep -E 'terminat|reinitializ|signal|pgkillguard|server process' "$D/server.log" || true)
	if [ -n "$lines" ]; then printf '%s\n' "$lines" | indent; else note "(none)"; fi

	if [ "$verdict" = 0 ]; then
		say "DEMO OK: kill -9 became pg_terminate_backend($victim); $left sessions unaffected"
	else
		say "DEMO FAILED: see above"
	fi
	return "$verdict"
}

main "$@"
