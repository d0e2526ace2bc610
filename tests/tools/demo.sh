#!/bin/bash
# tests/tools/demo.sh - `make demo`: what one `kill -9` of a backend costs, first
# without pgkillguard, then with it, on the same throwaway cluster.
#
#   1. Without the guard: a few idle sessions and a small pgbench write load;
#      `kill -9` of one idle backend.  The postmaster treats it as a crash:
#      every session is dropped, shared memory is reinitialized, and the
#      cluster refuses connections for a while (measured with pg_isready).
#   2. With the guard (LD_PRELOAD): the same `kill -9` becomes
#      pg_terminate_backend(); one `pgkillguard:` line; the other sessions
#      stay; no restart.
#
# Needs root (it creates the unprivileged $PGKG_TEST_USER user and runs the
# cluster as that user).  Uses build/libpgkillguard.so and build/pgkillguard,
# or $PGKG_LIB / $PGKG_HELPER.  The caller's libpq variables (PGHOST, PGUSER,
# PGSERVICE, ...) are ignored.  PGKG_DEMO_RESULT=FILE: also write the
# measured figures there as key=value lines (tests/integration/88-demo.sh).
# Exit status 0 when both halves went as expected.

# The Makefile runs us with `sh`: switch to bash before any bash syntax.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -eu

# The caller's libpq environment (PGHOST, PGPORT, PGUSER, PGDATABASE,
# PGSERVICE, PGPASSFILE, PGOPTIONS, PGCONNECT_TIMEOUT, ...) must not steer
# the demo's clients: keep only our own PGKG_* and PGKILLGUARD_* settings.
for _v in $(compgen -e); do
	case $_v in PGKG_* | PGKILLGUARD_*) ;; PG*) unset "$_v" ;; esac
done
unset _v
. "$(dirname "$0")/../lib/cluster.sh"

IDLE=4          # idle psql sessions per half
CLIENTS=4       # pgbench clients per half
RESULT=${PGKG_DEMO_RESULT:-}

say() { printf '\n==> %s\n' "$*"; }
note() { printf '    %s\n' "$*"; }
indent() { sed 's/^/    /'; }
result() { [ -z "$RESULT" ] || printf '%s\n' "$@" >>"$RESULT"; }
ms_since() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%d\n", (b - a) * 1000 }'; }

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
	[ -x "$(pg_bindir)/pgbench" ] ||
		{ echo "demo: $(pg_bindir)/pgbench is missing: run make deps" >&2; exit 1; }
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

D=""            # the demo cluster's directory
DEMO_BIN=""
PGB=""          # the running pgbench

on_exit() {
	local rc=$?
	[ -z "$PGB" ] || _pgkg_raw_kill KILL "$PGB" || true
	[ -z "$DEMO_BIN" ] || rm -rf "$DEMO_BIN"
	say "Cleaning up: stopping the demo cluster and removing ${D:-its directory}"
	cleanup_all
	exit "$rc"
}

# client_backends : pids of the cluster's client backends, from /proc (works
#   while the server refuses connections): children of the postmaster whose
#   title is `postgres: USER DB [local] ...`.
client_backends() {
	local pm
	pm=$(cluster_pm_pid "$D") || return 0
	pgrep -P "$pm" -f "^postgres: [^ ]+ postgres \[local\]" || true
}

# outage : poll pg_isready every 10 ms from now on; print "REFUSED_MS": for
#   how long the cluster refused connections (0 if it never did within 1.5 s).
outage() {
	local t0=$EPOCHREALTIME down="" now
	local isready
	isready=$(pg_bindir)/pg_isready
	while :; do
		now=$EPOCHREALTIME
		if env -u LD_PRELOAD "$isready" -q -h "$D/sock" -p "$(cat "$D/port")" -d postgres; then
			[ -z "$down" ] || { ms_since "$down" "$now"; return; }
			[ "$(ms_since "$t0" "$now")" -lt 1500 ] || { echo 0; return; }
		else
			[ -n "$down" ] || down=$now
			[ "$(ms_since "$t0" "$now")" -lt 60000 ] || { echo "more than 60000"; return; }
		fi
		sleep 0.01
	done
}

# start_load TAG : IDLE idle sessions TAG-idle1.. and CLIENTS pgbench clients
#   writing (about 100 transactions per second in all, for 8 s).
start_load() {
	open_idle_sessions "$D" "$1-idle" "$IDLE"
	_pgkg_env "$D"
	_pgkg_user_cmd PGAPPNAME="$1-pgbench" "${_PGKG_ENV[@]}" "$(pg_bindir)/pgbench" -n \
		-c "$CLIENTS" -j 2 -T 8 -R 100 postgres
	( cd / && exec "${_PGKG_CMD[@]}" >"$D/pgbench.$1.log" 2>&1 ) &
	PGB=$!
	local left=100
	until [ "$(count_sessions "$D" "$1-pgbench")" = "$CLIENTS" ]; do
		[ "$left" -gt 0 ] || { echo "demo: pgbench did not connect" >&2; cat "$D/pgbench.$1.log" >&2; return 1; }
		sleep 0.05; left=$((left - 1))
	done
	sleep 1    # let it write for a moment
}

# show_sessions TAG : the sessions as pg_stat_activity shows them.
show_sessions() {
	cluster_psql "$D" "select application_name, count(*),
		string_agg(pid::text, ' ' order by pid)
		from pg_stat_activity where backend_type = 'client backend'
		and application_name like '$1-%' group by 1 order by 1" |
		awk -F'|' '{ printf "%-18s %s session(s), backends %s\n", $1, $2, $3 }' | indent
}

# one_kill TAG GUARDED : the load, one kill -9 of TAG-idle1's backend, the
#   count of what survived.  Sets K_* for the summary.
one_kill() {
	local tag=$1 guarded=$2 victim before=() pid alive=0 logline rc=0 line
	start_load "$tag"
	show_sessions "$tag"
	victim=$(backend_pid "$D" "$tag-idle1")
	mapfile -t before < <(client_backends)
	logline=$(($(wc -l <"$D/server.log") + 1))
	if [ "$guarded" = yes ]; then
		note "\$ LD_PRELOAD=$PGKG_LIB kill -9 $victim     # $tag-idle1"
		env LD_PRELOAD="$PGKG_LIB" PGKILLGUARD_HELPER="$PGKG_HELPER" \
			/usr/bin/kill -9 "$victim" 2>"$D/kill.$tag.err" || rc=$?
	elif grep -qs pgkillguard /etc/ld.so.preload && command -v busybox >/dev/null; then
		# the library is in every process: only a static kill goes around it
		note "\$ busybox kill -9 $victim     # $tag-idle1; static: /etc/ld.so.preload does not reach it"
		busybox kill -9 "$victim" 2>"$D/kill.$tag.err" || rc=$?
	else
		note "\$ kill -9 $victim     # $tag-idle1, no guard"
		env -u LD_PRELOAD /usr/bin/kill -9 "$victim" 2>"$D/kill.$tag.err" || rc=$?
	fi
	K_OUTAGE=$(outage)
	note "kill exit status $rc; its stderr:"
	if [ -s "$D/kill.$tag.err" ]; then indent <"$D/kill.$tag.err" | indent; else note "    (nothing)"; fi
	K_GUARDLINES=$(grep -c '^pgkillguard: ' "$D/kill.$tag.err" || true)
	wait_gone "$victim" 5000 || note "backend $victim is STILL RUNNING after 5 s"
	for pid in "${before[@]}"; do
		[ "$pid" = "$victim" ] && continue
		alive "$pid" && alive=$((alive + 1))
	done
	K_OTHERS=$((${#before[@]} - 1))
	K_DROPPED=$((K_OTHERS - alive))
	line=$(cluster_psql "$D" "select count(*) from pg_stat_activity
		where backend_type = 'client backend' and application_name like '$tag-%'")
	wait "$PGB" || true
	PGB=""
	K_ABORTED=$(grep -oE 'client [0-9]+ (script [0-9]+ )?aborted' "$D/pgbench.$tag.log" |
		awk '{ print $2 }' | sort -u | wc -l)
	K_TPS=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$D/pgbench.$tag.log" | head -1)
	K_RESTARTS=$(tail -n +"$logline" "$D/server.log" |
		grep -cE 'terminating any other active server processes|all server processes terminated; reinitializing' || true)
	note "the server log from the kill on:"
	tail -n +"$logline" "$D/server.log" |
		grep -E 'terminated by signal|terminating any other|reinitializing|ready to accept|interrupted|redo (starts|done)|administrator command' |
		sed -E 's/^[0-9-]+ ([0-9:.]+) [A-Z]+ /\1 /' | cut -c1-110 | indent | indent || note "    (nothing)"
	note "other sessions dropped: $K_DROPPED of $K_OTHERS" \
		"(pgbench clients aborted: $K_ABORTED of $CLIENTS)"
	if [ "$K_OUTAGE" = 0 ]; then
		note "the cluster never refused a connection"
	else
		note "the cluster refused connections for $K_OUTAGE ms (pg_isready every 10 ms)"
	fi
	note "sessions of this half connected right after: $line"
	result "${tag}_others=$K_OTHERS" "${tag}_dropped=$K_DROPPED" "${tag}_aborted=$K_ABORTED" \
		"${tag}_outage_ms=$K_OUTAGE" "${tag}_restart_lines=$K_RESTARTS" \
		"${tag}_guard_lines=$K_GUARDLINES" "${tag}_kill_rc=$rc"
}

main() {
	local PM pm_now verdict=0
	local -a U G
	check_prerequisites
	[ -z "$RESULT" ] || : >"$RESULT"
	trap on_exit EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM

	say "A throwaway PostgreSQL cluster, owned by OS user $PGKG_TEST_USER (no other cluster is touched)"
	D=$(cluster_new_dir demo)
	cluster_create "$D"
	cluster_start "$D"
	PM=$(cluster_pm_pid "$D")
	_pgkg_env "$D"
	( cd / && run_as_test_user "${_PGKG_ENV[@]}" "$(pg_bindir)/pgbench" -i -s 1 -q postgres \
		>"$D/pgbench-init.log" 2>&1 ) || { cat "$D/pgbench-init.log" >&2; exit 1; }
	result "cluster_dir=$D"
	note "$D/data, socket $D/sock port $(cat "$D/port"), postmaster $PM; pgbench tables made"

	say "1. WITHOUT the guard: $IDLE idle sessions, $CLIENTS pgbench clients writing, then kill -9 of one backend"
	one_kill unguarded no
	U=("$K_DROPPED" "$K_OTHERS" "$K_ABORTED" "$K_OUTAGE" "$K_RESTARTS" "$K_GUARDLINES" "$K_TPS")
	[ "$K_RESTARTS" -gt 0 ] && [ "$K_DROPPED" -gt 0 ] ||
		{ note "expected a crash restart here and did not see one"; verdict=1; }

	say "2. WITH the guard: the same load on the same cluster, the same kill -9"
	one_kill guarded yes
	G=("$K_DROPPED" "$K_OTHERS" "$K_ABORTED" "$K_OUTAGE" "$K_RESTARTS" "$K_GUARDLINES" "$K_TPS")
	pm_now=$(cluster_pm_pid "$D" 2>/dev/null || echo none)
	[ "$K_GUARDLINES" = 1 ] && [ "$K_DROPPED" = 0 ] && [ "$K_ABORTED" = 0 ] &&
		[ "$K_OUTAGE" = 0 ] && [ "$K_RESTARTS" = 0 ] && [ "$pm_now" = "$PM" ] || verdict=1
	result "postmaster_unchanged=$([ "$pm_now" = "$PM" ] && echo yes || echo no)"

	say "What one kill -9 cost"
	printf '    %-34s %-18s %s\n' "" "without the guard" "with the guard" \
		"other sessions dropped" "${U[0]} of ${U[1]}" "${G[0]} of ${G[1]}" \
		"pgbench clients aborted" "${U[2]} of $CLIENTS" "${G[2]} of $CLIENTS" \
		"connections refused for" "${U[3]} ms" "${G[3]} ms" \
		"crash-restart lines in the log" "${U[4]}" "${G[4]}" \
		"pgbench transactions in 8 s" "${U[6]:-?}" "${G[6]:-?}" \
		"'pgkillguard:' lines" "${U[5]}" "${G[5]}"
	if [ "$verdict" = 0 ]; then
		say "DEMO OK: unguarded, one kill -9 dropped ${U[0]} sessions; guarded, it ended one backend and nothing else"
	else
		say "DEMO FAILED: see above"
	fi
	return "$verdict"
}

main "$@"
