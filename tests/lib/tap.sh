#!/bin/bash
# tests/lib/tap.sh - TAP output for the shell tests.  tests/lib/cluster.sh
# sources it, so a test that sources cluster.sh has these too:
#
#   plan_none                        # start counting; t_done prints 1..N
#   t_ok "backend alive" alive "$pid"
#   t_is "$got" "$want" "name";  t_like "$got" 'regex' "name"
#   t_skip "name" "why";  t_diag "a comment"
#   t_done                           # the plan; status 1 if anything failed
#
# t_ok keeps CMD's output in the scratch directory $_PGKG_TMP (made on
# demand by _pgkg_tmp; cluster.sh's cleanup_all removes it).

[ -n "${_PGKG_TAP_SH:-}" ] && return 0
_PGKG_TAP_SH=1

_PGKG_TMP=""            # scratch dir for t_ok output, made on demand

# _pgkg_tmp : make sure $_PGKG_TMP exists (call it directly, not in $(...)).
_pgkg_tmp() {
	if [ -z "$_PGKG_TMP" ] || [ ! -d "$_PGKG_TMP" ]; then
		_PGKG_TMP=$(mktemp -d /tmp/pgkg-tap.XXXXXX)
	fi
}

_T_N=0
_T_FAIL=0

# plan_none : start counting (the plan, 1..N, is printed by t_done).
plan_none() { _T_N=0; _T_FAIL=0; }

# t_diag MSG... : a TAP comment line.
t_diag() { printf '# %s\n' "$*"; }

_t_result() {   # _t_result STATUS NAME
	_T_N=$((_T_N + 1))
	if [ "$1" = 0 ]; then
		printf 'ok %d - %s\n' "$_T_N" "$2"
	else
		printf 'not ok %d - %s\n' "$_T_N" "$2"
		_T_FAIL=$((_T_FAIL + 1))
	fi
}

# t_ok NAME CMD [ARGS...] : ok when CMD exits 0; CMD's output is shown only on failure.
t_ok() {
	local name=$1 out rc=0; shift
	_pgkg_tmp
	out=$_PGKG_TMP/t_ok.out
	"$@" >"$out" 2>&1 || rc=$?
	_t_result "$rc" "$name"
	if [ "$rc" != 0 ]; then
		t_diag "command failed (exit $rc): $*"
		sed 's/^/#   /' "$out"
	fi
	return 0
}

# t_is GOT WANT NAME : string equality.
t_is() {
	local rc=0
	[ "$1" = "$2" ] || rc=1
	_t_result "$rc" "$3"
	if [ "$rc" != 0 ]; then t_diag "  got: '$1'"; t_diag " want: '$2'"; fi
	return 0
}

# t_like STRING REGEX NAME : bash =~ match (extended regex).
t_like() {
	local rc=0
	[[ $1 =~ $2 ]] || rc=1
	_t_result "$rc" "$3"
	if [ "$rc" != 0 ]; then t_diag "'$1'"; t_diag "  doesn't match /$2/"; fi
	return 0
}

# t_unlike STRING REGEX NAME : STRING must not match REGEX.
t_unlike() {
	local rc=0
	[[ $1 =~ $2 ]] && rc=1
	_t_result "$rc" "$3"
	if [ "$rc" != 0 ]; then t_diag "'$1'"; t_diag "  matches /$2/"; fi
	return 0
}

# t_skip NAME REASON : a skipped test.
t_skip() {
	_T_N=$((_T_N + 1))
	printf 'ok %d - %s # SKIP %s\n' "$_T_N" "$1" "$2"
}

# t_done : print the plan; return 1 if anything failed.
t_done() {
	printf '1..%d\n' "$_T_N"
	[ "$_T_FAIL" = 0 ]
}

# skip_all REASON : the whole script is skipped (one skipped test), exit 0.
skip_all() {
	t_skip "${0##*/}" "$1"
	t_done
	exit 0
}
