# tests/lib/guard.sh - running real clients under the guard (bash, sourced
# after cluster.sh).
#
#   guard_test_begin                 TAP plan, root check, test user, guard_setup
#   guard_setup                      copy build outputs where the test user can
#                                    read them, start a syslog sink
#   new_running_cluster NAME         create and start a cluster; sets D and PM
#   guarded_user CMD...              run CMD as the test user, library preloaded
#   guarded_root CMD...              run CMD as root, library preloaded
#   unguarded_user CMD...            the same, without the library
#   run_capture OUT ERR CMD...       run, keep stdout/stderr in files, set RC
#   audit_lines PATTERN              syslog lines received matching PATTERN
#
# After run_capture: $RC, $OUT_TEXT, $ERR_TEXT.

G_DIR=""
G_LIB=""
G_HELPER=""
G_PROBE=""
G_SYSLOG=""
G_SYSLOG_OUT=""

guard_setup() {
	local top
	top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
	G_DIR=$(mktemp -d /tmp/pgkg.bin.XXXXXX)
	chmod 755 "$G_DIR"
	cp "$top/build/libpgkillguard.so" "$top/build/pgkillguard" "$top/build/tests/probe" "$G_DIR/"
	for f in probe-static probe32 pgkillguard-shell; do
		for src in "$top/build/tests/$f" "$top/build/$f"; do
			[ ! -e "$src" ] || cp "$src" "$G_DIR/"
		done
	done
	G_LIB=$G_DIR/libpgkillguard.so
	G_HELPER=$G_DIR/pgkillguard
	G_PROBE=$G_DIR/probe
	G_SYSLOG=$G_DIR/log.sock
	G_SYSLOG_OUT=$G_DIR/syslog.txt
	: >"$G_SYSLOG_OUT"
	python3 "$top/tests/lib/syslog_sink.py" "$G_SYSLOG" "$G_SYSLOG_OUT" 2>"$G_DIR/sink.err" &
	G_SINK_PID=$!
	disown "$G_SINK_PID" 2>/dev/null || true
	for _ in $(seq 50); do [ -S "$G_SYSLOG" ] && break; sleep 0.05; done
	trap 'guard_teardown; cleanup_all' EXIT
}

guard_test_begin() {
	plan_none
	require_root_or_skip_all
	ensure_test_user
	guard_setup
}

# new_running_cluster NAME : a started throwaway cluster in $D, postmaster $PM.
# Extra postgresql.conf lines may come in $PGKG_EXTRA_CONF.
new_running_cluster() {
	D=$(cluster_new_dir "$1")
	cluster_create "$D" >/dev/null
	cluster_start "$D" >/dev/null
	PM=$(cluster_pm_pid "$D")
}

guard_teardown() {
	[ -z "${G_SINK_PID:-}" ] || kill "$G_SINK_PID" 2>/dev/null || true
	[ -z "$G_DIR" ] || rm -rf "$G_DIR"
}

_guard_env() {
	printf '%s\n' "LD_PRELOAD=$G_LIB" "PGKILLGUARD_HELPER=$G_HELPER" "PGKILLGUARD_SYSLOG=$G_SYSLOG"
}

guarded_user() {
	local -a e
	mapfile -t e < <(_guard_env)
	run_as_test_user "${e[@]}" "$@"
}

guarded_root() {
	local -a e
	mapfile -t e < <(_guard_env)
	env "${e[@]}" "$@"
}

unguarded_user() { run_as_test_user "$@"; }

# run_capture CMD... : run CMD (any of the above), capture its output.
run_capture() {
	local o=$G_DIR/out.$$ e=$G_DIR/err.$$
	RC=0
	"$@" >"$o" 2>"$e" </dev/null || RC=$?
	OUT_TEXT=$(cat "$o")
	ERR_TEXT=$(cat "$e")
	rm -f "$o" "$e"
}

# Lines of stderr that pgkillguard wrote.
guard_lines() { printf '%s\n' "$ERR_TEXT" | grep -c '^pgkillguard: ' || true; }

# The sink writes each datagram soon after the guard sent it, not at once:
# wait up to 2 s for a first match (a busy machine made one check flaky).
audit_lines() {
	local left=40
	until grep -qE -- "$1" "$G_SYSLOG_OUT" || [ "$left" = 0 ]; do
		sleep 0.05
		left=$((left - 1))
	done
	grep -E -- "$1" "$G_SYSLOG_OUT" || true
}

# wait_state PID STATE MS : wait until PID's state letter is STATE.
proc_state() { local s; s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1; s=${s##*) }; echo "${s%% *}"; }
