#!/bin/bash
# tests/lib/cluster.sh - throwaway PostgreSQL clusters for the shell tests
# and the demo, with the TAP helpers of tests/lib/tap.sh.  Source it from bash:
#
#   . "$(dirname "$0")/../lib/cluster.sh"
#   setup_traps                      # cleanup_all on EXIT/INT/TERM/HUP
#   require_root_or_skip_all         # as root only (user switching, killall -u)
#   ensure_test_user
#   D=$(cluster_new_dir mytest)
#   cluster_create "$D"; cluster_start "$D"
#   open_idle_session "$D" app1; pid=$(backend_pid "$D" app1)
#   t_ok "backend alive" alive "$pid"
#   t_done
#
# Everything a test starts runs as the unprivileged $PGKG_TEST_USER, so
# `killall -u $PGKG_TEST_USER` never reaches other clusters on the host, and
# every cluster lives in its own directory with its own socket directory.
# Teardown only touches what this shell registered: clusters it created and
# sessions it opened.  Call cluster_create/open_idle_session in the main shell
# (not inside $(...)), or their cleanup registration is lost (sessions are
# also recorded on disk, under DIR, so cluster_destroy still finds them).
#
# Internal teardown (pg_ctl stop, killing sessions) runs with LD_PRELOAD
# removed, so a test that exports LD_PRELOAD cannot block its own cleanup.

[ -n "${_PGKG_CLUSTER_SH:-}" ] && return 0
_PGKG_CLUSTER_SH=1

# The TAP helpers (plan_none, t_ok, t_is, t_like, t_skip, t_diag, t_done,
# skip_all) and the scratch directory $_PGKG_TMP live in tap.sh.
. "$(dirname "${BASH_SOURCE[0]}")/tap.sh"

PGKG_TEST_USER=${PGKG_TEST_USER:-pgkgtest}
PGKG_ROOT=${PGKG_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
PGKG_BUILD=${PGKG_BUILD:-$PGKG_ROOT/build}
PGKG_LIB=${PGKG_LIB:-$PGKG_BUILD/libpgkillguard.so}
PGKG_HELPER=${PGKG_HELPER:-$PGKG_BUILD/pgkillguard}

_PGKG_CLUSTERS=()       # directories registered by cluster_create
_PGKG_PIDS=()           # extra pids registered with register_pid
_PGKG_CMD=()            # set by _pgkg_user_cmd
_PGKG_ENV=()            # set by _pgkg_env

# Variables run_as_test_user forwards from the caller's exported environment.
_PGKG_FWD_RE='^(LD_PRELOAD|LD_LIBRARY_PATH|PGKILLGUARD_[A-Za-z0-9_]*|PG[A-Z]+)$'

# The caller's libpq environment (PGHOST, PGPORT, PGUSER, PGDATABASE,
# PGSERVICE, PGOPTIONS, PGPASSFILE, PGCONNECT_TIMEOUT, ... as in a DBA's
# shell) is not ours: every test cluster is reached through its own socket.
# Dropped here, once, when sourced (PGKG_* and PGKILLGUARD_* stay); a test may
# still set PG* itself (PGUSER=role open_idle_session).
while read -r _pgkg_v; do
	[[ $_pgkg_v =~ ^PG[A-Z_]+$ && ! $_pgkg_v =~ ^PG(KG|KILLGUARD)_ ]] && unset "$_pgkg_v"
done < <(compgen -e)
unset _pgkg_v

# ---------------------------------------------------------------- utilities

_pgkg_die() { echo "cluster.sh: $*" >&2; return 1; }
_pgkg_is_root() { [ "$(id -u)" = 0 ]; }

# _pgkg_raw_kill SIG PID... : procps kill without any preload library.
_pgkg_raw_kill() {
	local sig=$1; shift
	env -u LD_PRELOAD kill -s "$sig" -- "$@" 2>/dev/null
}

# _pgkg_sql_quote STR : STR as an SQL string literal.
_pgkg_sql_quote() { printf "'%s'" "${1//\'/\'\'}"; }

# ------------------------------------------------------------ the test user

# ensure_test_user : create $PGKG_TEST_USER (system user, own group, home) if missing.
ensure_test_user() {
	id -u "$PGKG_TEST_USER" >/dev/null 2>&1 && return 0
	_pgkg_is_root || _pgkg_die "user $PGKG_TEST_USER missing and not root" || return 1
	useradd --system --user-group --create-home \
		--home-dir "/var/lib/$PGKG_TEST_USER" --shell /bin/bash \
		--comment "pgkillguard test clusters" "$PGKG_TEST_USER"
}

# run_as_test_user [NAME=VALUE...] CMD [ARGS...]
#   Runs CMD as $PGKG_TEST_USER (via runuser when root, directly otherwise).
#   Leading NAME=VALUE words and the caller's exported LD_PRELOAD,
#   LD_LIBRARY_PATH, PGKILLGUARD_* and PG* variables reach CMD through `env`;
#   they are removed from runuser's own environment, so a preload library is
#   loaded by CMD, not by runuser.  CMD starts in / (the caller's directory,
#   e.g. a clone under /root, may be closed to the test user).
run_as_test_user() {
	_pgkg_user_cmd "$@" || return 1
	"${_PGKG_CMD[@]}"
}

# _pgkg_user_cmd [NAME=VALUE...] CMD... : set _PGKG_CMD to the command line
#   run_as_test_user runs (so it can also be exec'd or put in the background).
_pgkg_user_cmd() {
	local -a fwd=() unset=() assign=()
	local name
	while read -r name; do
		[[ $name =~ $_PGKG_FWD_RE ]] || continue
		unset+=(-u "$name")
		fwd+=("$name=${!name}")
	done < <(compgen -e)
	while [ $# -gt 0 ] && [[ $1 =~ ^[A-Za-z_][A-Za-z0-9_]*= ]]; do
		assign+=("$1"); shift
	done
	[ $# -gt 0 ] || _pgkg_die "run_as_test_user: no command" || return 1
	if _pgkg_is_root; then
		_PGKG_CMD=(env -C / "${unset[@]}" runuser -u "$PGKG_TEST_USER" --
			env "${fwd[@]}" "${assign[@]}" "$@")
	else
		_PGKG_CMD=(env -C / "${unset[@]}" "${fwd[@]}" "${assign[@]}" "$@")
	fi
}

# _pgkg_as_user CMD... : as the test user, no forwarding, no preload, cwd /.
_pgkg_as_user() {
	( cd / && if _pgkg_is_root; then
		env -u LD_PRELOAD runuser -u "$PGKG_TEST_USER" -- "$@"
	else
		env -u LD_PRELOAD "$@"
	fi )
}

# ------------------------------------------------------------ process state

# alive PID : true while PID exists and is not a zombie.
alive() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	case ${stat%% *} in Z|X|x) return 1 ;; esac
	return 0
}

# ppid_of PID : print PID's parent pid.
ppid_of() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	# shellcheck disable=SC2086 # split the fields on purpose
	set -- $stat
	printf '%s\n' "$2"
}

# wait_gone PID [TIMEOUT_MS=5000] : true once PID has exited (zombie = exited).
wait_gone() {
	local pid=$1 left=${2:-5000}
	while alive "$pid"; do
		[ "$left" -gt 0 ] || return 1
		sleep 0.01
		left=$((left - 10))
	done
	return 0
}

# user_procs [USER=$PGKG_TEST_USER] : print "pid args" of USER's live (non-zombie)
#   processes.  Zombies are left out: PID 1 here may reap orphans late.
user_procs() {
	local pid stat args
	ps -o pid=,stat=,args= -u "${1:-$PGKG_TEST_USER}" 2>/dev/null |
	while read -r pid stat args; do
		case $stat in Z*|X*) continue ;; esac
		printf '%s %s\n' "$pid" "$args"
	done
}

# register_pid PID... : kill these (TERM, then KILL) in cleanup_all.
register_pid() { _PGKG_PIDS+=("$@"); }

# ----------------------------------------------------------------- clusters

# pg_bindir : $PGKG_PG_BINDIR (the version matrix points it at another
#   server build, tests/run.sh), else the newest /usr/lib/postgresql/*/bin
#   (looked up once, when sourced).  It must hold psql and pg_isready too.
_PGKG_BINDIR=${PGKG_PG_BINDIR:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)} || true
pg_bindir() {
	[ -n "$_PGKG_BINDIR" ] || _pgkg_die "no /usr/lib/postgresql/*/bin: run make deps" || return 1
	printf '%s\n' "$_PGKG_BINDIR"
}

# _pgkg_port_in_use PORT : a socket or lock file for PORT exists on the host.
_pgkg_port_in_use() {
	local p=$1
	grep -q "\.s\.PGSQL\.$p\(\.lock\)\?\$" /proc/net/unix 2>/dev/null && return 0
	ls /tmp/.s.PGSQL."$p"* /var/run/postgresql/.s.PGSQL."$p"* >/dev/null 2>&1 && return 0
	# TCP listeners too, in case someone runs a cluster on that port.
	local hex
	hex=$(printf ':%04X ' "$p")
	grep -q "^ *[0-9]*: [0-9A-F]*${hex}[0-9A-F:]* 0A " /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# free_port : print a port in 20000-60000 with no PostgreSQL socket on the host.
free_port() {
	local i p
	for i in $(seq 200); do
		p=$((20000 + (RANDOM * 32768 + RANDOM) % 40001))
		_pgkg_port_in_use "$p" || { printf '%s\n' "$p"; return 0; }
	done
	_pgkg_die "no free port found"
}

# cluster_new_dir [NAME] : print a fresh empty directory for a cluster (/tmp/pgkg.NAME.XXXXXX).
cluster_new_dir() { mktemp -d "/tmp/pgkg.${1:-cluster}.XXXXXX"; }

_pgkg_port() { cat "$1/port"; }
_pgkg_registered() {
	local d
	for d in "${_PGKG_CLUSTERS[@]}"; do [ "$d" = "$1" ] && return 0; done
	return 1
}

# cluster_create DIR [PORT] : initdb a throwaway cluster in DIR/data, owned by
#   the test user; unix socket only (DIR/sock), peer auth, fsync off,
#   max_connections 300.  Extra postgresql.conf lines: $PGKG_EXTRA_CONF.
cluster_create() {
	local dir=$1 port=${2:-} bindir
	[ -n "$dir" ] || _pgkg_die "cluster_create DIR [PORT]" || return 1
	mkdir -p "$dir" || return 1
	dir=$(cd "$dir" && pwd) || return 1
	[ -z "$(ls -A "$dir")" ] || _pgkg_die "cluster_create: $dir is not empty" || return 1
	: >"$dir/.pgkg-cluster" || return 1  # marker: cluster_destroy only removes marked dirs
	_pgkg_registered "$dir" || _PGKG_CLUSTERS+=("$dir")
	bindir=$(pg_bindir) || return 1
	[ -n "$port" ] || port=$(free_port) || return 1
	# socket path limit is 107 bytes
	[ ${#dir} -le 80 ] || _pgkg_die "path too long for a unix socket: $dir" || return 1

	printf '%s\n' "$port" >"$dir/port" || return 1
	mkdir -p "$dir/sock" "$dir/sessions" || return 1
	chmod 755 "$dir" "$dir/sock" || return 1
	if _pgkg_is_root; then
		chown -R "$PGKG_TEST_USER:" "$dir" || return 1
	fi
	_pgkg_as_user "$bindir/initdb" -D "$dir/data" --auth-local=peer --auth-host=reject \
		--no-locale -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 ||
		{ cat "$dir/initdb.log" >&2; _pgkg_die "initdb failed in $dir"; return 1; }
	# peer auth through a map, so cluster_add_role can let the test user
	# log in as other roles (never root: the guard must cope without that)
	_pgkg_as_user tee "$dir/data/pg_hba.conf" >/dev/null <<-EOF
	local all all peer map=pgkg
	local replication all peer map=pgkg
	EOF
	_pgkg_as_user tee -a "$dir/data/pg_ident.conf" >/dev/null <<-EOF
	pgkg $PGKG_TEST_USER $PGKG_TEST_USER
	EOF
	_pgkg_as_user tee -a "$dir/data/postgresql.conf" >/dev/null <<-EOF

	# --- pgkillguard test cluster ---
	port = $port
	listen_addresses = ''
	unix_socket_directories = '$dir/sock'
	max_connections = 300
	shared_buffers = 16MB
	fsync = off
	synchronous_commit = off
	full_page_writes = off
	logging_collector = off
	log_line_prefix = '%m [%p] %q%u@%d %a '
	${PGKG_EXTRA_CONF:-}
	EOF
}

# cluster_start DIR [NAME=VALUE...] : pg_ctl -w start; the assignments (e.g.
#   LD_PRELOAD=...) are in the environment pg_ctl hands to the postmaster.
cluster_start() {
	local dir=$1; shift
	local bindir
	bindir=$(pg_bindir) || return 1
	( cd / && run_as_test_user "$@" "$bindir/pg_ctl" -w -t 60 -D "$dir/data" \
		-l "$dir/server.log" start >"$dir/pg_ctl.log" 2>&1 ) ||
		{ cat "$dir/pg_ctl.log" >&2; tail -20 "$dir/server.log" >&2 2>/dev/null
		  _pgkg_die "could not start cluster in $dir"; return 1; }
}

# cluster_stop DIR [MODE=fast] : pg_ctl -w stop (no-op when not running).
cluster_stop() {
	local dir=$1 mode=${2:-fast} bindir
	bindir=$(pg_bindir) || return 1
	cluster_running "$dir" || return 0
	_pgkg_as_user "$bindir/pg_ctl" -w -t 60 -D "$dir/data" -m "$mode" stop >/dev/null
}

# cluster_pm_pid DIR : print the postmaster pid (line 1 of postmaster.pid).
cluster_pm_pid() {
	local pid
	pid=$(head -1 "$1/data/postmaster.pid" 2>/dev/null) || true
	[ -n "$pid" ] || _pgkg_die "no postmaster.pid in $1/data" || return 1
	printf '%s\n' "$pid"
}

# cluster_running DIR : the postmaster of DIR is alive.
cluster_running() {
	local pid
	pid=$(head -1 "$1/data/postmaster.pid" 2>/dev/null) || return 1
	[ -n "$pid" ] && alive "$pid"
}

# cluster_env DIR : print PGHOST=... PGPORT=... PGDATABASE=postgres, one per
#   line, for `env`/run_as_test_user: mapfile -t E < <(cluster_env "$D")
#   (or unquoted $(cluster_env "$D") when DIR has no blanks).
cluster_env() {
	printf '%s\n' "PGHOST=$1/sock" "PGPORT=$(_pgkg_port "$1")" PGDATABASE=postgres
}

# _pgkg_env DIR : set the array _PGKG_ENV to cluster_env's assignments.
_pgkg_env() {
	_PGKG_ENV=("PGHOST=$1/sock" "PGPORT=$(_pgkg_port "$1")" PGDATABASE=postgres)
}

# cluster_psql DIR SQL : run SQL as the test user (psql -X -At), print the result.
cluster_psql() {
	local dir=$1 sql=$2 bindir
	bindir=$(pg_bindir) || return 1
	_pgkg_env "$dir"
	( cd / && run_as_test_user "${_PGKG_ENV[@]}" "$bindir/psql" -X -At -q \
		-v ON_ERROR_STOP=1 -c "$sql" )
}

# cluster_add_role DIR ROLE [ATTRS] : create a login role the test user may
#   connect as (PGUSER=ROLE), e.g. one named like an auxiliary process.
cluster_add_role() {
	local dir=$1 role=$2 attrs=${3:-}
	cluster_psql "$dir" "create role \"${role//\"/\"\"}\" login $attrs" >/dev/null || return 1
	printf 'pgkg %s "%s"\n' "$PGKG_TEST_USER" "$role" |
		_pgkg_as_user tee -a "$dir/data/pg_ident.conf" >/dev/null
	cluster_psql "$dir" "select pg_reload_conf()" >/dev/null
}

# cluster_wait_ready DIR [TIMEOUT_S=30] : wait until the cluster accepts connections.
cluster_wait_ready() {
	local dir=$1 left=$((${2:-30} * 20)) bindir port
	bindir=$(pg_bindir) || return 1
	port=$(_pgkg_port "$dir") || return 1
	until env -u LD_PRELOAD "$bindir/pg_isready" -q -h "$dir/sock" -p "$port" -d postgres; do
		[ "$left" -gt 0 ] || _pgkg_die "cluster in $dir not ready" || return 1
		sleep 0.05
		left=$((left - 1))
	done
}

# crash_restarts DIR : count crash-restart lines in DIR/server.log.
crash_restarts() {
	local n
	n=$(grep -cE 'terminating any other active server processes|all server processes terminated; reinitializing' \
		"$1/server.log" 2>/dev/null) || true
	printf '%s\n' "${n:-0}"
}

# assert_cluster_intact DIR PM_PID : no crash restart, same postmaster, still alive.
assert_cluster_intact() {
	local dir=$1 want=$2 got n
	n=$(crash_restarts "$dir")
	got=$(head -1 "$dir/data/postmaster.pid" 2>/dev/null || echo none)
	if [ "$n" = 0 ] && [ "$got" = "$want" ] && alive "$want"; then
		return 0
	fi
	echo "# cluster $dir not intact: crash_restarts=$n postmaster=$got (was $want)" \
		"$(alive "$want" && echo alive || echo gone)"
	grep -E 'terminated by signal|terminating any other|reinitializing' "$dir/server.log" 2>/dev/null |
		sed 's/^/#   /' || true
	return 1
}

# cluster_destroy DIR : immediate stop, kill this cluster's sessions, remove DIR.
cluster_destroy() {
	local dir=$1 pm bindir f d
	local -a keep=()
	[ -f "$dir/.pgkg-cluster" ] || { [ ! -e "$dir" ] || _pgkg_die "refusing to remove unmarked $dir"; return; }
	bindir=$(pg_bindir 2>/dev/null) || bindir=""
	if cluster_running "$dir"; then
		pm=$(cluster_pm_pid "$dir")
		[ -z "$bindir" ] ||
			_pgkg_as_user "$bindir/pg_ctl" -w -t 15 -D "$dir/data" -m immediate stop \
			>/dev/null 2>&1 || true
		if ! wait_gone "$pm" 2000; then
			_pgkg_raw_kill KILL "$pm" || true
			wait_gone "$pm" 2000 || true
		fi
	fi
	_pgkg_kill_sessions "$dir"
	rm -rf "$dir"
	for d in "${_PGKG_CLUSTERS[@]}"; do [ "$d" = "$dir" ] || keep+=("$d"); done
	_PGKG_CLUSTERS=("${keep[@]}")
}

# ----------------------------------------------------------------- sessions

# open_idle_session DIR APPNAME : background idle psql (application_name
#   APPNAME) as the test user, in its own process group, recorded in
#   DIR/sessions/APPNAME.pid (the group id) for teardown.  Exported PG*
#   variables apply as in run_as_test_user (PGUSER=role open_idle_session ...).
open_idle_session() {
	local dir=$1 app=$2 bindir
	bindir=$(pg_bindir) || return 1
	[ -d "$dir/sessions" ] || _pgkg_die "no cluster in $dir" || return 1
	_pgkg_env "$dir"
	# shellcheck disable=SC2016 # $0 is for the inner bash
	_pgkg_user_cmd PGAPPNAME="$app" "${_PGKG_ENV[@]}" \
		bash -c 'sleep 1000000 | exec "$0" -X -q' "$bindir/psql" || return 1
	( cd / && exec setsid "${_PGKG_CMD[@]}" </dev/null >"$dir/sessions/$app.log" 2>&1 ) &
	printf '%s\n' "$!" >"$dir/sessions/$app.pid"
	disown $!       # no "Killed" job report from bash at teardown
}

# open_idle_sessions DIR PREFIX N : open PREFIX1..PREFIXN and wait until all
#   N show up in pg_stat_activity.
open_idle_sessions() {
	local dir=$1 prefix=$2 n=$3 i left got
	for i in $(seq "$n"); do open_idle_session "$dir" "$prefix$i"; done
	left=$((100 + n))     # 50 ms steps: 5 s + 50 ms per session
	while :; do
		got=$(count_sessions "$dir" "$prefix" 2>/dev/null) || got=0
		[ "$got" -ge "$n" ] && return 0
		[ "$left" -gt 0 ] || _pgkg_die "only $got of $n sessions $prefix* connected" || return 1
		sleep 0.05
		left=$((left - 1))
	done
}

# session_pid DIR APPNAME : print the client-side process group id of a session.
session_pid() { cat "$1/sessions/$2.pid"; }

# close_session DIR APPNAME : kill the client side of one session (its backend
#   then exits on EOF).
close_session() {
	local pg
	pg=$(cat "$1/sessions/$2.pid" 2>/dev/null) || return 0
	_pgkg_raw_kill KILL "-$pg" || true
	wait_gone "$pg" 2000 || true
	rm -f "$1/sessions/$2.pid"
}

_pgkg_kill_sessions() {
	local dir=$1 f pg
	local -a groups=()
	for f in "$dir"/sessions/*.pid; do
		[ -f "$f" ] || continue
		pg=$(cat "$f") && groups+=("$pg")
		rm -f "$f"
	done
	[ ${#groups[@]} -gt 0 ] || return 0
	# KILL, not TERM: on SIGTERM runuser waits 2 s before it kills its child.
	# The backend just sees its client go away (EOF), which is no crash.
	_pgkg_raw_kill KILL "${groups[@]/#/-}" || true
	for pg in "${groups[@]}"; do wait_gone "$pg" 2000 || true; done
}

# backend_pid DIR APPNAME : wait (<= 5 s) for APPNAME's client backend, print its pid.
backend_pid() {
	local dir=$1 app pid left=100
	app=$(_pgkg_sql_quote "$2")
	while :; do
		pid=$(cluster_psql "$dir" "select pid from pg_stat_activity
			where application_name = $app and backend_type = 'client backend'
			order by backend_start limit 1" 2>/dev/null) || pid=""
		[ -n "$pid" ] && { printf '%s\n' "$pid"; return 0; }
		[ "$left" -gt 0 ] || _pgkg_die "no backend for application_name $2" || return 1
		sleep 0.05
		left=$((left - 1))
	done
}

# backend_pids DIR PREFIX : print the pids of all client backends whose
#   application_name starts with PREFIX, one per line, in connection order.
backend_pids() {
	cluster_psql "$1" "select pid from pg_stat_activity
		where backend_type = 'client backend'
		and left(application_name, length($(_pgkg_sql_quote "$2"))) = $(_pgkg_sql_quote "$2")
		order by backend_start, pid"
}

# count_sessions DIR PREFIX : print how many client backends have an
#   application_name starting with PREFIX.
count_sessions() {
	cluster_psql "$1" "select count(*) from pg_stat_activity
		where backend_type = 'client backend'
		and left(application_name, length($(_pgkg_sql_quote "$2"))) = $(_pgkg_sql_quote "$2")"
}

# aux_pid DIR BACKEND_TYPE : print the pid of an auxiliary process
#   (checkpointer, "background writer", walwriter, "autovacuum launcher",
#   "logical replication launcher", archiver, ...).  Uses
#   pg_stat_activity.backend_type; falls back to the process title of the
#   postmaster's children (exact title, so a role named like one does not match).
aux_pid() {
	local dir=$1 type=$2 pid pm
	pid=$(cluster_psql "$dir" "select pid from pg_stat_activity
		where backend_type = $(_pgkg_sql_quote "$type") limit 1" 2>/dev/null) || pid=""
	if [ -z "$pid" ]; then
		pm=$(cluster_pm_pid "$dir") || return 1
		pid=$(pgrep -P "$pm" -f "^postgres: ([^ ]+: )?$type ?\$" | head -1) || true
	fi
	[ -n "$pid" ] || _pgkg_die "no '$type' process in $dir" || return 1
	printf '%s\n' "$pid"
}

# ------------------------------------------------------------------ cleanup

# cleanup_all : kill registered pids, destroy every registered cluster.
cleanup_all() {
	local pid d
	set +e
	for pid in "${_PGKG_PIDS[@]}"; do _pgkg_raw_kill TERM "$pid"; done
	for pid in "${_PGKG_PIDS[@]}"; do
		wait_gone "$pid" 2000 || _pgkg_raw_kill KILL "$pid"
	done
	_PGKG_PIDS=()
	for d in "${_PGKG_CLUSTERS[@]}"; do cluster_destroy "$d"; done
	_PGKG_CLUSTERS=()
	[ -z "$_PGKG_TMP" ] || rm -rf "$_PGKG_TMP"
	_PGKG_TMP=""
}

# setup_traps : run cleanup_all on exit, and exit on INT/TERM/HUP.
setup_traps() {
	trap 'cleanup_all' EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	trap 'exit 129' HUP
}

# require_root_or_skip_all : skip the script unless running as root.
require_root_or_skip_all() {
	_pgkg_is_root || skip_all "needs root (creates the $PGKG_TEST_USER user, switches users)"
}
