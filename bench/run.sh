#!/bin/bash
# bench/run.sh - `make bench`: what the guard costs, each figure measured side
# by side with its baseline in one run, medians and ratios, written to
# BENCHMARKS.md (machine, method, exact commands, the table).
#
#   make bench                       # builds, then runs this
#   bash bench/run.sh [FIGURE...]    # only some: startup kill rss single
#                                    #   pkill load timeline (the default: all); the
#                                    #   table is printed, no file written
#                                    #   unless PGKG_BENCH_OUT says where
#
# Environment:
#   PGKG_BENCH_OUT=FILE      where the report goes (default BENCHMARKS.md)
#   PGKG_BENCH_USER=NAME     the unprivileged user the clusters run as
#                            (default pgkgbench: apart from the tests' user)
#   PGKG_BENCH_SAMPLES=N     kill -9 samples per arm (default 25)
#   PGKG_BENCH_ROUNDS=N      pkill-200 rounds per arm (default 3)
#
# As root it installs what it needs (hyperfine, PostgreSQL with pgbench) and
# runs everything; the cluster figures need root (clusters run as an
# unprivileged user, kills are sent as root).  Otherwise those rows say
# "not measured".  It only touches clusters it creates, as PGKG_BENCH_USER.
#
# Nothing here is a test: `make check` never runs it.

if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -u

cd "$(dirname "$0")/.." || exit 1
ROOT=$PWD
export PGKG_TEST_USER=${PGKG_BENCH_USER:-pgkgbench}
# shellcheck source=../tests/lib/cluster.sh
. tests/lib/cluster.sh

if [ $# -gt 0 ]; then OUT=${PGKG_BENCH_OUT:-}; else OUT=${PGKG_BENCH_OUT:-$ROOT/BENCHMARKS.md}; fi
SAMPLES=${PGKG_BENCH_SAMPLES:-25}
ROUNDS=${PGKG_BENCH_ROUNDS:-3}
FIGURES=${*:-startup kill rss single pkill load timeline}
TIMELINE=""     # the summary lines of bench/timeline.sh, once it drew its picture

B=$ROOT/build
LIB=$B/libpgkillguard.so
HELPER=$B/pgkillguard
DRV=$B/bench/pgkg-bench
PE=$B/bench/preload-exec
EMPTY=$B/bench/libempty.so
KILL=/usr/bin/kill
PKILL=/usr/bin/pkill

WORK=$(mktemp -d /tmp/pgkg-bench.XXXXXX)
chmod 755 "$WORK"
trap 'cleanup_all; rm -rf "$WORK"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

ROWS=()          # "figure|baseline|result|ratio|target|met"
NOTES=()         # lines for the Results section
CMDS=()          # lines for the Commands section
LOGS=()          # server log lines of the crash, for the report

say() { printf 'bench: %s\n' "$*" >&2; }
row() { ROWS+=("$1|$2|$3|$4|$5|$6"); say "$1: $3 (baseline $2; $4) target $5: $6"; }
cmd() { CMDS+=("$*"); }
note() { NOTES+=("$*"); }
want() { [[ " $FIGURES " == *" $1 "* ]]; }
is_root() { [ "$(id -u)" = 0 ]; }

# ------------------------------------------------------------ arithmetic

# median : the median of the numbers on stdin ("" when none).
median() {
	sort -g | awk '{ v[NR] = $1 } END { if (NR) printf "%.6g\n", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
# calc EXPR : awk arithmetic, printed with up to 4 significant digits.
calc() { awk "BEGIN { printf \"%.4g\n\", $1 }"; }
# le A B : A <= B (numbers).
le() { awk "BEGIN { exit !($1 <= $2) }"; }
# kv KEY LINE : the value of KEY=VALUE in LINE.
kv() { local l=" $2 "; [[ $l == *" $1="* ]] || return 0; l=${l#* "$1"=}; printf '%s\n' "${l%% *}"; }
yesno() { if "$@"; then echo yes; else echo "**no**"; fi; }

# ------------------------------------------------------------------ set-up

install_deps() {
	is_root || return 0
	PGKG_DEPS="postgresql procps hyperfine util-linux passwd python3 gnuplot-nox" \
		sh tests/lib/deps.sh >"$WORK/deps.log" 2>&1 ||
		{ cat "$WORK/deps.log" >&2; say "cannot install dependencies"; exit 1; }
}

check_build() {
	local f
	for f in "$LIB" "$HELPER" "$DRV" "$PE" "$EMPTY" "$B/bench/linkpq" "$B/bench/nolinkpq"; do
		[ -e "$f" ] || { say "missing $f: run make bench"; exit 1; }
	done
}

machine() {
	local cpu pg
	cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
	pg=$("$(pg_bindir 2>/dev/null || echo /nonexistent)/postgres" --version 2>/dev/null || echo "not installed")
	cat <<-EOF
	| | |
	|---|---|
	| CPU | ${cpu:-unknown}, $(nproc) online |
	| memory | $(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) |
	| kernel | $(uname -sr) |
	| system | $( . /etc/os-release 2>/dev/null && echo "${PRETTY_NAME:-?}") |
	| C library | $(ldd --version 2>/dev/null | head -1) |
	| PostgreSQL | $pg |
	| hyperfine | $(hyperfine --version 2>/dev/null || echo "not installed") |
	| pgkillguard | $(git rev-parse --short HEAD 2>/dev/null)$(git diff --quiet HEAD -- shim policy Makefile mk 2>/dev/null || echo " + uncommitted changes") |
	| load average (1, 5, 15 min) | $LOAD_START at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end |
	EOF
}

# ------------------------------------------------------- process start-up

# hf TAG ROUNDS RUNS CMD... : hyperfine -N over the commands, ROUNDS rounds
#   of RUNS runs each, the order rotating (so that a burst of other work on
#   the machine does not land on one command only); print the median ms of
#   each command over all its runs, in order.
hf() {
	local tag=$1 rounds=$2 runs=$3 round i n; shift 3
	local -a cmds=("$@") order
	n=${#cmds[@]}
	for round in $(seq 0 $((rounds - 1))); do
		order=()
		for i in $(seq 0 $((n - 1))); do order+=("${cmds[$(((i + round) % n))]}"); done
		hyperfine -N --style basic --warmup 10 --runs "$runs" \
			--export-json "$WORK/$tag.$round.json" "${order[@]}" >"$WORK/$tag.$round.log" 2>&1 ||
			{ cat "$WORK/$tag.$round.log" >&2; return 1; }
	done
	python3 - "$WORK/$tag".*.json >"$WORK/$tag.times" <<-'EOF'
	import json, sys
	for f in sys.argv[1:]:
	    for r in json.load(open(f))["results"]:
	        for t in r["times"]:
	            print("%s\t%.6f" % (r["command"], t * 1000))
	EOF
	for i in "${cmds[@]}"; do
		awk -F'\t' -v c="$i" '$1 == c { print $2 }' "$WORK/$tag.times" | median
	done
}

fig_startup() {
	local rounds=10 runs=100 r lib empty none
	local -a m
	if ! command -v hyperfine >/dev/null; then
		row "process start-up with the library preloaded (\`/bin/true\`)" "empty preloaded .so" \
			"not measured: hyperfine missing" "" "ratio ≤ 1.10" "—"
		return
	fi
	mapfile -t m < <(hf startup $rounds $runs "$PE $EMPTY /bin/true" "$PE $LIB /bin/true" "$PE - /bin/true")
	[ ${#m[@]} = 3 ] || return 1
	empty=${m[0]} lib=${m[1]} none=${m[2]}
	cmd "hyperfine -N --warmup 10 --runs $runs '\$PE \$EMPTY /bin/true' '\$PE \$LIB /bin/true' '\$PE - /bin/true'   # $rounds rounds, the order rotating; all runs pooled"
	r=$(calc "$lib / $empty")
	row "process start-up with the library preloaded (\`/bin/true\`)" \
		"$(calc "$empty") ms (empty preloaded .so)" "$(calc "$lib") ms" "$r" "ratio ≤ 1.10" \
		"$(yesno le "$r" 1.10)"
	note "Start-up without any preload: $(calc "$none") ms; $((rounds * runs)) runs per arm."
	# why the rewrite helper does not link libpq, and what its program costs to start
	mapfile -t m < <(hf helper 5 60 "$PE - $B/bench/nolinkpq" "$PE - $B/bench/linkpq" "$PE - $HELPER --version")
	[ ${#m[@]} = 3 ] || return 1
	cmd "hyperfine -N --warmup 10 --runs 60 '\$PE - build/bench/nolinkpq' '\$PE - build/bench/linkpq' '\$PE - \$HELPER --version'   # 5 rounds, rotating"
	row "start-up of a program that links libpq (what the rewrite helper no longer pays)" \
		"$(calc "${m[0]}") ms (the same program without libpq)" "$(calc "${m[1]}") ms" \
		"$(calc "${m[1]} / ${m[0]}")" "report it" "—"
	row "start-up of the rewrite helper's program (\`pgkillguard --version\`)" \
		"$(calc "${m[0]}") ms (a program linking libc only)" "$(calc "${m[2]}") ms" \
		"$(calc "${m[2]} / ${m[0]}")" "report it" "—"
}

# --------------------------------------------------------- kill() per call

exec_works() {
	timeout 10 "$HELPER" exec -- /bin/true >/dev/null 2>&1
}

fig_kill() {
	local out plain pre ex extra_pre extra_ex sig0 p0 e0 args=(--lib "$LIB")
	local have_exec=""
	if exec_works; then have_exec=1; args+=(--exec "$HELPER"); fi
	out=$("$DRV" kill --sig 15 --calls 20000 --batches 15 --warmup 3 "${args[@]}") || return 1
	cmd "\$DRV kill --sig 15 --calls 20000 --batches 15 --warmup 3 --lib \$LIB${have_exec:+ --exec \$HELPER}"
	plain=$(kv median_ns "$(grep '^arm=plain' <<<"$out")")
	pre=$(kv median_ns "$(grep '^arm=preload' <<<"$out")")
	extra_pre=$(kv extra_ns "$(grep '^arm=preload' <<<"$out")")
	row "extra cost of \`kill()\` to a non-PostgreSQL process (preload)" \
		"$(calc "$plain / 1000") µs (plain \`kill()\`)" "+$(calc "$extra_pre / 1000") µs per call" \
		"$(calc "$pre / $plain")" "≤ 10 µs per call" "$(yesno le "$extra_pre" 10000)"
	if [ -n "$have_exec" ]; then
		ex=$(kv median_ns "$(grep '^arm=exec' <<<"$out")")
		extra_ex=$(kv extra_ns "$(grep '^arm=exec' <<<"$out")")
		if [ -n "$ex" ]; then
			row "extra cost of \`kill()\` to a non-PostgreSQL process under \`pgkillguard exec\`" \
				"$(calc "$plain / 1000") µs (plain)" "+$(calc "$extra_ex / 1000") µs per call" \
				"$(calc "$ex / $plain")" "≤ 15 µs per call" "$(yesno le "$extra_ex" 15000)"
		else
			row "extra cost of \`kill()\` to a non-PostgreSQL process under \`pgkillguard exec\`" \
				"plain" "not measured: the worker failed under pgkillguard exec" "" \
				"≤ 15 µs per call" "—"
		fi
	else
		row "extra cost of \`kill()\` to a non-PostgreSQL process under \`pgkillguard exec\`" \
			"plain" "not measured: pgkillguard exec not built yet" "" "≤ 15 µs per call" "—"
	fi
	sig0=$("$DRV" kill --sig 0 --calls 200000 --batches 15 --warmup 3 --lib "$LIB") || return 1
	cmd "\$DRV kill --sig 0 --calls 200000 --batches 15 --warmup 3 --lib \$LIB"
	p0=$(kv median_ns "$(grep '^arm=plain' <<<"$sig0")")
	e0=$(kv extra_ns "$(grep '^arm=preload' <<<"$sig0")")
	row "extra cost of \`kill(pid, 0)\` (preload)" "$(calc "$p0 / 1000") µs (plain)" \
		"+$(calc "$e0 / 1000") µs per call" "$(calc "($p0 + $e0) / $p0")" "≤ 0.2 µs per call" \
		"$(yesno le "$e0" 200)"
	note "kill() per call: 15 batches per arm after 3 warm-up batches, the arms interleaved" \
		"batch by batch; the target is a sleeping process that ignores SIGTERM."
}

# ------------------------------------------------------------ resident memory

# rss_of ARG : start `preload-exec ARG /bin/sleep 30`, print "VmRSS libRss libAnon" (kB):
#   the library's copied-on-write (anonymous) pages are what each process adds;
#   the rest of its resident pages are page cache, shared by every process.
rss_of() {
	local pid i exe
	"$PE" "$1" /bin/sleep 30 &
	pid=$!
	for i in $(seq 100); do
		exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || exe=""
		[[ $exe == */sleep ]] && break
		sleep 0.01
	done
	sleep 0.05
	awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" | tr '\n' ' '
	awk -v lib="$LIB" '
		/^[0-9a-f]+-[0-9a-f]+ / { inlib = ($NF == lib) }
		inlib && /^Rss:/ { rss += $2 }
		inlib && /^Anonymous:/ { pd += $2 }
		END { printf "%d %d\n", rss, pd }' "/proc/$pid/smaps"
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}

fig_rss() {
	local i with=() without=() librss=() libpd=() l
	for i in 1 2 3 4 5 6 7; do
		read -r l _ _ < <(rss_of -)
		without+=("$l")
		read -r l a b < <(rss_of "$LIB")
		with+=("$l") librss+=("$a") libpd+=("$b")
	done
	cmd "\$PE - /bin/sleep 30 & ; \$PE \$LIB /bin/sleep 30 &   # then VmRSS from /proc/PID/status, the library's Rss and Anonymous from /proc/PID/smaps; 7 of each"
	local w wo r p
	w=$(printf '%s\n' "${with[@]}" | median)
	wo=$(printf '%s\n' "${without[@]}" | median)
	r=$(printf '%s\n' "${librss[@]}" | median)
	p=$(printf '%s\n' "${libpd[@]}" | median)
	row "resident memory added to a process by the preload library" "$wo kB VmRSS (\`sleep\`, no preload)" \
		"+$(calc "$w - $wo") kB VmRSS; the library's mappings: $r kB resident, of which $p kB private to the process" \
		"$(calc "$w / $wo")" "report it" "—"
	note "Memory: the library's resident pages other than its private (copied-on-write, *Anonymous*)" \
		"ones are page cache shared by every process; VmRSS also counts what ld.so and libc touch for it."
}

# ------------------------------------------------------------------ clusters

BINDIR=""
D="" PM="" PORT=""

bench_cluster() {
	[ -n "$D" ] && return 0
	ensure_test_user || return 1
	BINDIR=$(pg_bindir) || return 1
	D=$(cluster_new_dir bench)
	cluster_create "$D" >/dev/null || return 1
	cluster_start "$D" >/dev/null || return 1
	PM=$(cluster_pm_pid "$D")
	PORT=$(cat "$D/port")
}

# close_sessions DIR PREFIX : end the client side of sessions PREFIX*.
close_sessions() {
	local f pg
	local -a groups=()
	for f in "$1"/sessions/"$2"*.pid; do
		[ -f "$f" ] || continue
		pg=$(cat "$f") && groups+=("-$pg")
		rm -f "$f"
	done
	[ ${#groups[@]} -eq 0 ] || _pgkg_raw_kill KILL "${groups[@]}" || true
}

# guard_gone PIDS CMD... : time CMD as root with the library preloaded until PIDS are gone.
guard_gone() {
	local pids=$1; shift
	"$DRV" gone --timeout-ms 30000 --set "LD_PRELOAD=$LIB" --set "PGKILLGUARD_HELPER=$HELPER" \
		--log "$WORK/guard.log" "$pids" -- "$@"
}

# psql_gone PIDS SQL : time psql -c SQL as the cluster's owner until PIDS are gone.
psql_gone() {
	"$DRV" gone --timeout-ms 30000 --user "$PGKG_TEST_USER" --unset LD_PRELOAD \
		--log "$WORK/psql.log" "$1" -- \
		"$BINDIR/psql" -X -At -q -h "$D/sock" -p "$PORT" -d postgres -c "$2"
}

# sample OUT : append gone_ms of a successful run to file OUT, count failures.
FAILED_SAMPLES=0
sample() {
	local line
	read -r line || line=""
	if [ "$(kv status "$line")" = 0 ] && [ "$(kv left "$line")" = 0 ]; then
		kv gone_ms "$line" >>"$1"
	else
		FAILED_SAMPLES=$((FAILED_SAMPLES + 1))
		say "failed sample: ${line:-no output}"
	fi
}

fig_single() {
	local n=$SAMPLES i k=0 pid g p
	local -a P
	bench_cluster || return 1
	open_idle_sessions "$D" one $((2 * n + 2)) >/dev/null || return 1
	mapfile -t P < <(backend_pids "$D" one)
	: >"$WORK/single.guard"; : >"$WORK/single.psql"
	# one of each to warm the page cache, not counted
	guard_gone "${P[0]}" "$KILL" -9 "${P[0]}" >/dev/null
	psql_gone "${P[1]}" "select pg_terminate_backend(${P[1]})" >/dev/null
	k=2
	for i in $(seq "$n"); do
		for arm in guard psql; do
			# alternate which arm goes first
			[ $((i % 2)) = 0 ] && arm=$([ "$arm" = guard ] && echo psql || echo guard)
			pid=${P[$k]}; k=$((k + 1))
			sleep 0.1   # let the previous sample's processes finish exiting
			if [ "$arm" = guard ]; then
				guard_gone "$pid" "$KILL" -9 "$pid" | sample "$WORK/single.guard"
			else
				psql_gone "$pid" "select pg_terminate_backend($pid)" | sample "$WORK/single.psql"
			fi
		done
	done
	close_sessions "$D" one
	cmd "\$DRV gone --timeout-ms 30000 --set LD_PRELOAD=\$LIB --set PGKILLGUARD_HELPER=\$HELPER --log F \$PID -- $KILL -9 \$PID   # as root"
	cmd "\$DRV gone --timeout-ms 30000 --user \$OWNER --unset LD_PRELOAD --log F \$PID -- \$BINDIR/psql -X -At -q -h \$D/sock -p \$PORT -d postgres -c 'select pg_terminate_backend(\$PID)'"
	g=$(median <"$WORK/single.guard")
	p=$(median <"$WORK/single.psql")
	row "\`kill -9\` of an idle backend until it is gone (rewrite, fresh process)" \
		"$(calc "$p") ms (\`psql -c \"select pg_terminate_backend(…)\"\`)" "$(calc "$g") ms" \
		"$(calc "$g / $p")" "≤ 10 ms median, and below the psql route" \
		"$(yesno eval "le $g 10 && le $g $p")"
	note "kill -9: $(wc -l <"$WORK/single.guard") guarded and $(wc -l <"$WORK/single.psql") psql samples," \
		"interleaved (the arm going first alternates), each on its own idle backend, timed by" \
		"\`pgkg-bench gone\` from the start of the command until a pidfd on the backend is readable."
	note "Fastest/slowest: guarded $(sort -g "$WORK/single.guard" | head -1)/$(sort -g "$WORK/single.guard" | tail -1) ms," \
		"psql $(sort -g "$WORK/single.psql" | head -1)/$(sort -g "$WORK/single.psql" | tail -1) ms."
}

fig_pkill() {
	local n=200 round arm prefix pids g p crashes pm_after
	local -a P
	bench_cluster || return 1
	cluster_add_role "$D" benchpk >/dev/null || return 1
	: >"$WORK/pkill.guard"; : >"$WORK/pkill.psql"
	for round in $(seq "$ROUNDS"); do
		for arm in guard psql; do
			[ $((round % 2)) = 0 ] && arm=$([ "$arm" = guard ] && echo psql || echo guard)
			prefix=pk$round$arm
			PGUSER=benchpk open_idle_sessions "$D" "$prefix" $n >/dev/null || return 1
			mapfile -t P < <(backend_pids "$D" "$prefix")
			[ ${#P[@]} = $n ] || { say "pkill: ${#P[@]} sessions, not $n"; return 1; }
			pids=$(IFS=,; echo "${P[*]}")
			sleep 0.5
			if [ "$arm" = guard ]; then
				guard_gone "$pids" "$PKILL" -9 -u "$PGKG_TEST_USER" -f '^postgres: benchpk ' |
					sample "$WORK/pkill.guard"
			else
				psql_gone "$pids" "select count(pg_terminate_backend(pid)) from pg_stat_activity where usename = 'benchpk'" |
					sample "$WORK/pkill.psql"
			fi
			close_sessions "$D" "$prefix"
		done
	done
	cmd "PGUSER=benchpk open_idle_sessions \$D pk 200   # tests/lib/cluster.sh; a role of its own makes the title unique"
	cmd "\$DRV gone --timeout-ms 30000 --set LD_PRELOAD=\$LIB --set PGKILLGUARD_HELPER=\$HELPER --log F \$PID1,...,\$PID200 -- $PKILL -9 -u \$OWNER -f '^postgres: benchpk '   # as root"
	cmd "\$DRV gone --timeout-ms 30000 --user \$OWNER --unset LD_PRELOAD --log F \$PID1,...,\$PID200 -- \$BINDIR/psql -X -At -q -h \$D/sock -p \$PORT -d postgres -c \"select count(pg_terminate_backend(pid)) from pg_stat_activity where usename = 'benchpk'\""
	g=$(median <"$WORK/pkill.guard")
	p=$(median <"$WORK/pkill.psql")
	crashes=$(crash_restarts "$D")
	pm_after=$(cluster_pm_pid "$D")
	row "\`pkill -9\` over 200 idle backends until all are gone" \
		"$(calc "$p") ms (one SQL statement)" \
		"$(calc "$g") ms; crash-restarts: $crashes; postmaster $([ "$pm_after" = "$PM" ] && echo unchanged || echo CHANGED)" \
		"$(calc "$g / $p")" "≤ 2 s, no crash-restart" \
		"$(yesno eval "le $g 2000 && [ $crashes = 0 ] && [ $pm_after = $PM ]")"
	note "pkill: $(wc -l <"$WORK/pkill.guard") rounds per arm, 200 fresh idle sessions each," \
		"interleaved; the time runs until every one of the 200 backends has exited."
}

# --------------------------------------------------- one kill -9 under load

# outage_after T0 : poll pg_isready every 10 ms; print "DOWN_MS UP_MS" after
#   T0 ($EPOCHREALTIME): when the server first refused, when it took
#   connections again ("0 0" if it never refused within 2 s).
outage_after() {
	local t0=$1 now down="" rc
	while :; do
		"$BINDIR/pg_isready" -q -h "$L/sock" -p "$LPORT" -d postgres; rc=$?
		now=$EPOCHREALTIME
		if [ -z "$down" ]; then
			if [ "$rc" != 0 ]; then down=$now
			elif le "$now - $t0" 2; then :; else echo "0 0"; return; fi
		elif [ "$rc" = 0 ]; then
			echo "$(calc "($down - $t0) * 1000") $(calc "($now - $t0) * 1000")"
			return
		elif ! le "$now - $t0" 120; then
			echo "$(calc "($down - $t0) * 1000") timeout"
			return
		fi
		sleep 0.01
	done
}

# log_ms FROM_LINE : ms between "terminated by signal 9" and the next
#   "ready to accept connections" in the server log (from line FROM_LINE on).
log_ms() {
	local a b
	a=$(tail -n +"$1" "$L/server.log" | grep -m1 'terminated by signal 9' | cut -d' ' -f1-3)
	b=$(tail -n +"$1" "$L/server.log" | grep -m1 'ready to accept connections' | cut -d' ' -f1-3)
	[ -n "$a" ] && [ -n "$b" ] || { echo "—"; return; }
	calc "($(date -d "$b" +%s.%N) - $(date -d "$a" +%s.%N)) * 1000"
}

L="" LPORT=""
# load_once ARM : pgbench running, 20 idle sessions; kill -9 one idle backend
#   (ARM unguarded or guarded); print "sessions_before dropped aborted outage_poll log_ms".
load_once() {
	local arm=$1 victim t0 pgb before after alive=0 pid down_up aborted logline
	local -a before_pids
	open_idle_sessions "$L" "idle$arm" 20 >/dev/null || return 1
	victim=$(backend_pid "$L" "idle${arm}1") || return 1
	_pgkg_env "$L"
	( cd / && run_as_test_user "${_PGKG_ENV[@]}" "$BINDIR/pgbench" -n -c 8 -j 2 -T 12 -R 300 \
		-P 1 postgres >"$WORK/pgbench.$arm.log" 2>&1 ) &
	pgb=$!
	sleep 4
	mapfile -t before_pids < <(cluster_psql "$L" "select pid from pg_stat_activity
		where backend_type = 'client backend' and pid <> pg_backend_pid()")
	logline=$(($(wc -l <"$L/server.log") + 1))
	t0=$EPOCHREALTIME
	if [ "$arm" = unguarded ]; then
		env -u LD_PRELOAD "$KILL" -9 "$victim"
	else
		env LD_PRELOAD="$LIB" PGKILLGUARD_HELPER="$HELPER" "$KILL" -9 "$victim" 2>>"$WORK/guard.log"
	fi
	down_up=$(outage_after "$t0")
	for pid in "${before_pids[@]}"; do
		[ "$pid" = "$victim" ] && continue
		alive "$pid" && alive=$((alive + 1))
	done
	wait "$pgb"
	aborted=$(grep -oE 'client [0-9]+ (script [0-9]+ )?aborted' "$WORK/pgbench.$arm.log" |
		awk '{ print $2 }' | sort -u | wc -l)
	before=$((${#before_pids[@]} - 1))	# the other sessions
	echo "$before $((before - alive)) $aborted ${down_up#* } $(log_ms "$logline")"
	grep -E 'terminated by signal|terminating any other|reinitializing|ready to accept|was interrupted|redo (starts|done)|administrator command' \
		<(tail -n +"$logline" "$L/server.log") | sed "s/^/$arm: /" >>"$WORK/crash.log"
	close_sessions "$L" "idle$arm"
}

fig_load() {
	local u g
	ensure_test_user || return 1
	BINDIR=$(pg_bindir) || return 1
	L=$(cluster_new_dir load)
	cluster_create "$L" >/dev/null && cluster_start "$L" >/dev/null || return 1
	LPORT=$(cat "$L/port")
	_pgkg_env "$L"
	( cd / && run_as_test_user "${_PGKG_ENV[@]}" "$BINDIR/pgbench" -i -s 5 -q postgres \
		>"$WORK/pgbench-init.log" 2>&1 ) || { cat "$WORK/pgbench-init.log" >&2; return 1; }
	: >"$WORK/crash.log"
	u=$(load_once unguarded) || return 1
	cluster_wait_ready "$L" 120 || return 1
	g=$(load_once guarded) || return 1
	cmd "pgbench -i -s 5 -q; pgbench -n -c 8 -j 2 -T 12 -R 300 -P 1   # as the owner, plus 20 idle psql sessions"
	cmd "env -u LD_PRELOAD $KILL -9 \$IDLE_BACKEND   # 4 s into the run; then pg_isready every 10 ms"
	cmd "env LD_PRELOAD=\$LIB PGKILLGUARD_HELPER=\$HELPER $KILL -9 \$IDLE_BACKEND   # the same, guarded, on a fresh run"
	local -a U G
	read -r -a U <<<"$u"
	read -r -a G <<<"$g"
	row "one unguarded \`kill -9\` of an idle backend, pgbench running (-c 8, 300 TPS) and 20 idle sessions" "—" \
		"${U[1]} of ${U[0]} other sessions dropped (pgbench: ${U[2]} of 8 clients aborted); no connections for ${U[3]} ms (pg_isready), ${U[4]} ms crash to ready (server log)" \
		"" "report it" "—"
	row "the same \`kill -9\` through the guard" "—" \
		"${G[1]} of ${G[0]} other sessions dropped (pgbench: ${G[2]} of 8 clients aborted); $([ "${G[3]}" = 0 ] && echo "the server never refused connections" || echo "no connections for ${G[3]} ms")" \
		"" "report it (what the guard saves)" "—"
	mapfile -t LOGS <"$WORK/crash.log"
}

# ------------------------------------------------- the picture: over time

# bench/timeline.sh draws docs/kill9-timeline.png (its own cluster, ~40 s).
fig_timeline() {
	TIMELINE=$(PGKG_BENCH_USER=$PGKG_TEST_USER bash bench/timeline.sh "$ROOT/docs/kill9-timeline.png") ||
		{ TIMELINE=""; return 1; }
	say "timeline: $(tr '\n' ' ' <<<"$TIMELINE")"
}

# timeline_section : the picture and what it shows, for the report.
timeline_section() {
	local u g
	u=$(grep '^arm=unguarded' <<<"$TIMELINE") g=$(grep '^arm=guarded' <<<"$TIMELINE")
	echo
	echo "## One \`kill -9\`, over time"
	echo
	echo "![Sessions connected and transactions per second around one unguarded and one guarded kill -9 of an idle backend](docs/kill9-timeline.png)"
	echo
	echo "Without the guard: $(kv sessions_before "$u") sessions before, $(kv sessions_after "$u") after (the $(kv idle_lost "$u")" \
		"idle ones lost for good; pgbench reconnected), no connections for $(kv refused_ms "$u") ms, no transactions for" \
		"$(kv tps_zero_s "$u") s. With it: $(kv sessions_before "$g") sessions before, $(kv sessions_after "$g") after (the one" \
		"killed), no refused connection, $(kv restarts "$g") crash restarts. Drawn by \`bench/timeline.sh\`" \
		"(\`make bench-timeline\` runs it alone) with gnuplot (\`bench/timeline.gp\`): one throwaway cluster, 20 idle" \
		"psql sessions and \`pgbench -n -c 8 -j 2 -R 300 -l\` started again whenever it stops; the kill 6 s into each" \
		"16 s run; sessions counted from /proc every 100 ms, transactions from pgbench's log in 250 ms bins."
}

# ------------------------------------------------------------------ report

write_report() {
	local r
	{
		echo "# Benchmarks"
		echo
		echo "Generated by \`make bench\` (\`bench/run.sh\`) on $(date -u '+%Y-%m-%d %H:%M UTC');"
		echo "every number below comes from that run. Rerun it rather than editing this file."
		echo
		echo "## Machine"
		echo
		machine
		echo
		echo "## Results"
		echo
		echo "Medians; *ratio* is result / baseline."
		echo
		echo "| figure | baseline | result | ratio | target | met? |"
		echo "|---|---|---|---|---|---|"
		for r in "${ROWS[@]}"; do echo "| ${r//|/ | } |"; done
		echo
		for r in "${NOTES[@]}"; do echo "- $r"; done
		if [ ${#LOGS[@]} -gt 0 ]; then
			echo
			echo "Server log around the two kills (\`log_line_prefix = '%m [%p] %q%u@%d %a '\`):"
			echo
			echo '```'
			printf '%s\n' "${LOGS[@]}"
			echo '```'
		fi
		[ -z "$TIMELINE" ] || timeline_section
		echo
		cat bench/METHOD.md
		echo
		echo "## Commands"
		echo
		echo "As run (\`bench/run.sh\`), with \`LIB=build/libpgkillguard.so\`, \`HELPER=build/pgkillguard\`,"
		echo "\`DRV=build/bench/pgkg-bench\`, \`PE=build/bench/preload-exec\`, \`EMPTY=build/bench/libempty.so\`,"
		echo "\`BINDIR=$(pg_bindir 2>/dev/null || echo '?')\`, \`OWNER=$PGKG_TEST_USER\` (the clusters' owner), \`D\`: a"
		echo "throwaway cluster made by \`tests/lib/cluster.sh\` (Unix socket only, peer authentication)."
		echo
		echo '```'
		printf '%s\n' "${CMDS[@]}"
		echo '```'
	} >"$WORK/report.md"
	if [ -n "$OUT" ]; then
		cp "$WORK/report.md" "$OUT" && say "wrote $OUT"
	fi
}

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

main() {
	install_deps
	check_build
	is_root || say "not root: the cluster figures are not measured"
	want startup && { fig_startup || say "start-up: failed"; }
	want kill && { fig_kill || say "kill: failed"; }
	want rss && { fig_rss || say "rss: failed"; }
	if is_root; then
		want single && { fig_single || say "single kill -9: failed"; }
		want pkill && { fig_pkill || say "pkill: failed"; }
		want load && { fig_load || say "load: failed"; }
		want timeline && { fig_timeline || say "timeline: failed"; }
	else
		want single && row "\`kill -9\` of an idle backend until it is gone (rewrite, fresh process)" "psql route" "not measured: needs root" "" "≤ 10 ms median, and below the psql route" "—"
		want pkill && row "\`pkill -9\` over 200 idle backends until all are gone" "one SQL statement" "not measured: needs root" "" "≤ 2 s, no crash-restart" "—"
		want load && row "one unguarded \`kill -9\` of a backend, pgbench running" "—" "not measured: needs root" "" "report it" "—"
	fi
	[ "$FAILED_SAMPLES" = 0 ] || note "$FAILED_SAMPLES samples failed and were left out (see the run's output)."
	write_report
	printf '\n'
	sed -n '/^| figure/,/^$/p' "$WORK/report.md"
}

main
