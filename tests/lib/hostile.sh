# tests/lib/hostile.sh - helpers shared by the reliability tests
# (tests/integration/8x-*.sh), sourced after cluster.sh and guard.sh.
#
#   t_todo NAME REASON CMD...   a TAP TODO test: a known gap awaiting a
#                               decision; reported, never counted as failed
#   rewritten                   how many rewrites $ERR_TEXT reports as done
#   gone_all PID...             every one of them has exited (3 s each)

t_todo() {
	local name=$1 why=$2 res=ok
	shift 2
	"$@" >/dev/null 2>&1 || res="not ok"
	_T_N=$((_T_N + 1))
	printf '%s %d - %s # TODO %s\n' "$res" "$_T_N" "$name" "$why"
}

rewritten() {
	printf '%s\n' "$ERR_TEXT" | grep -c 'rewritten to pg_terminate_backend: exited after' || true
}

gone_all() {
	local p
	for p in "$@"; do wait_gone "$p" 3000 || return 1; done
}
