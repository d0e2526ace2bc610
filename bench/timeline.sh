#!/bin/bash
# bench/timeline.sh - the picture in BENCHMARKS.md: sessions connected and
# transactions per second over time, around one unguarded `kill -9` of an
# idle backend and around the same kill through the guard.
#
#   bash bench/timeline.sh [PNG]   # default docs/kill9-timeline.png
#   make bench-timeline            # builds, then runs this; `make bench` runs it too
#
# As root (it installs gnuplot-nox if missing; the cluster runs as the
# unprivileged PGKG_BENCH_USER, default pgkgbench).  One throwaway cluster,
# two runs of 16 s on it: 20 idle psql sessions that do not reconnect (like a
# person's psql) and `pgbench -c 8 -R 300`, started again whenever it stops
# (like an application that reconnects); at 6 s, `kill -9` of one idle
# backend, without the guard in the first run, through it in the second.
# Sessions are counted from /proc every 100 ms (so also while the server
# refuses connections); transactions come from pgbench's per-transaction log,
# 250 ms bins.  The plot is bench/timeline.gp.  Prints one summary line per
# run on stdout (key=value, for bench/run.sh); the data files go to
# PGKG_TIMELINE_DATA=DIR if set.

if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -eu

cd "$(dirname "$0")/.." || exit 1
ROOT=$PWD
for _v in $(compgen -e); do   # the caller's libpq variables must not steer the clients
	case $_v in PGKG_* | PGKILLGUARD_*) ;; PG*) unset "$_v" ;; esac
done
export PGKG_TEST_USER=${PGKG_BENCH_USER:-pgkgbench}
# shellcheck source=../tests/lib/cluster.sh
. tests/lib/cluster.sh

PNG=${1:-$ROOT/docs/kill9-timeline.png}
LIB=$ROOT/build/libpgkillguard.so
HELPER=$ROOT/build/pgkillguard
IDLE=20 CLIENTS=8 RATE=300 BEFORE=6 AFTER=10

say() { printf 'timeline: %s\n' "$*" >&2; }
[ "$(id -u)" = 0 ] || { say "run as root (the cluster runs as $PGKG_TEST_USER)"; exit 1; }
for f in "$LIB" "$HELPER"; do [ -e "$f" ] || { say "missing $f: run make"; exit 1; }; done
if ! command -v gnuplot >/dev/null || ! [ -x "$(pg_bindir 2>/dev/null)/pgbench" ]; then
	PGKG_DEPS="postgresql gnuplot-nox procps util-linux passwd" sh tests/lib/deps.sh >&2 ||
		{ say "cannot install gnuplot-nox and postgresql"; exit 1; }
	_PGKG_BINDIR=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
fi

WORK=$(mktemp -d /tmp/pgkg-timeline.XXXXXX)
D="" SAMPLER="" LOADER=""
trap 'touch "$WORK/stop"; for p in $SAMPLER $LOADER; do wait "$p" 2>/dev/null; done; cleanup_all; rm -rf "$WORK"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
ensure_test_user
chown "$PGKG_TEST_USER:" "$WORK"
BINDIR=$(pg_bindir)

# sessions PM : how many client backends postmaster PM has (from /proc: also
#   while it refuses connections), leaving out those still authenticating
#   (pg_isready's probes).
sessions() {
	{ pgrep -a -P "$1" -f '^postgres: [^ ]+ postgres \[local\]' || true; } |
		grep -cvE ' (startup|authentication)$' || true
}

# sample PM OUT : every 100 ms, "EPOCH N": N sessions of postmaster PM.
sample() {
	while [ ! -e "$WORK/stop" ]; do
		echo "$EPOCHREALTIME $(sessions "$1")" >>"$2"
		sleep 0.1
	done
}

# load ARM END : pgbench until epoch END, started again whenever it stops.
load() {
	local arm=$1 end=$2 i=0 left
	_pgkg_env "$D"
	while :; do
		left=$(awk -v e="$end" -v n="$EPOCHREALTIME" 'BEGIN { printf "%d", e - n }')
		[ "$left" -ge 1 ] || break
		i=$((i + 1))
		( cd / && run_as_test_user PGAPPNAME=load "${_PGKG_ENV[@]}" "$BINDIR/pgbench" -n \
			-c "$CLIENTS" -j 2 -T "$left" -R "$RATE" -l --log-prefix="$WORK/tx.$arm.$i" \
			postgres ) >>"$WORK/pgbench.$arm.log" 2>&1 || sleep 0.1
	done
}

# refused_ms : poll pg_isready every 10 ms from now; how long the server
#   refused connections (0 if it never did within 1.5 s).
refused_ms() {
	local t0=$EPOCHREALTIME down="" now
	while :; do
		now=$EPOCHREALTIME
		if env -u LD_PRELOAD "$BINDIR/pg_isready" -q -h "$D/sock" -p "$(cat "$D/port")" -d postgres; then
			[ -z "$down" ] || { awk -v a="$down" -v b="$now" 'BEGIN { printf "%d\n", (b - a) * 1000 }'; return; }
			awk -v a="$t0" -v b="$now" 'BEGIN { exit !(b - a > 1.5) }' && { echo 0; return; }
		else
			[ -n "$down" ] || down=$now
		fi
		sleep 0.01
	done
}

# run ARM : one 16 s run; writes $WORK/ARM.sessions and $WORK/ARM.tps
#   (seconds from the kill, value) and prints the summary line.
run() {
	local arm=$1 pm t0 victim tk refused before after lost logline
	pm=$(cluster_pm_pid "$D")
	logline=$(($(wc -l <"$D/server.log") + 1))
	open_idle_sessions "$D" "idle$arm" "$IDLE" >/dev/null
	victim=$(backend_pid "$D" "idle${arm}1")
	rm -f "$WORK/stop"
	t0=$EPOCHREALTIME
	sample "$pm" "$WORK/$arm.raw" &
	SAMPLER=$!
	load "$arm" "$(awk -v t="$t0" -v s=$((BEFORE + AFTER)) 'BEGIN { printf "%.3f", t + s }')" &
	LOADER=$!
	sleep "$BEFORE"
	before=$(sessions "$pm")
	tk=$EPOCHREALTIME
	if [ "$arm" = unguarded ]; then
		env -u LD_PRELOAD /usr/bin/kill -9 "$victim"
	else
		env LD_PRELOAD="$LIB" PGKILLGUARD_HELPER="$HELPER" /usr/bin/kill -9 "$victim" 2>>"$WORK/guard.log"
	fi
	refused=$(refused_ms)
	wait "$LOADER" || true
	touch "$WORK/stop"
	wait "$SAMPLER" || true
	SAMPLER="" LOADER=""
	awk -v k="$tk" '{ printf "%.3f %d\n", $1 - k, $2 }' "$WORK/$arm.raw" >"$WORK/$arm.sessions"
	cat "$WORK"/tx."$arm".* 2>/dev/null |
		awk -v k="$tk" -v lo=-"$BEFORE" -v hi="$AFTER" '
			{ t = $5 + $6 / 1e6 - k; b = int((t - lo) / 0.25); if (t >= lo && t < hi) n[b]++ }
			END { for (b = 0; b < (hi - lo) * 4; b++) printf "%.3f %d\n", lo + b * 0.25 + 0.125, n[b] * 4 }' \
		>"$WORK/$arm.tps"
	after=$(awk '$1 > 5 && $1 < 9 { print $2 }' "$WORK/$arm.sessions" | sort -n | tail -1)
	lost=$(count_sessions "$D" "idle$arm") || lost="?"
	[ "$lost" = "?" ] || lost=$((IDLE - lost))
	echo "arm=$arm sessions_before=$before sessions_after=${after:-?} idle_lost=$lost refused_ms=$refused" \
		"tps_zero_s=$(awk '$1 >= 0 && $1 < 8 && $2 == 0 { n++ } END { printf "%.2f", n * 0.25 }' "$WORK/$arm.tps")" \
		"restarts=$(tail -n +"$logline" "$D/server.log" | grep -c 'all server processes terminated; reinitializing' || true)"
	close_sessions_of "idle$arm"
}

# close_sessions_of PREFIX : end the client side of the idle sessions PREFIX*.
close_sessions_of() {
	local f
	for f in "$D"/sessions/"$1"*.pid; do
		[ -f "$f" ] || continue
		close_session "$D" "$(basename "$f" .pid)"
	done
}

D=$(cluster_new_dir timeline)
cluster_create "$D" >/dev/null
cluster_start "$D" >/dev/null
_pgkg_env "$D"
( cd / && run_as_test_user "${_PGKG_ENV[@]}" "$BINDIR/pgbench" -i -s 5 -q postgres ) \
	>"$WORK/pgbench-init.log" 2>&1 || { cat "$WORK/pgbench-init.log" >&2; exit 1; }
U=$(run unguarded)
cluster_wait_ready "$D" 60
G=$(run guarded)
printf '%s\n%s\n' "$U" "$G"
[ -z "${PGKG_TIMELINE_DATA:-}" ] ||
	cp "$WORK"/*.sessions "$WORK"/*.tps "$PGKG_TIMELINE_DATA"/

kv() { local l=" $2 "; l=${l#* "$1"=}; printf '%s\n' "${l%% *}"; }
mkdir -p "$(dirname "$PNG")"
gnuplot -e "dir='$WORK'; out='$PNG.tmp'; idle=$IDLE; clients=$CLIENTS; rate=$RATE" \
	-e "refused=$(kv refused_ms "$U"); lost=$(kv idle_lost "$U")" \
	-e "glost=$(kv idle_lost "$G"); grefused=$(kv refused_ms "$G")" \
	bench/timeline.gp && mv "$PNG.tmp" "$PNG"
say "wrote $PNG"
