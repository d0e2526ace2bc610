#!/bin/bash
# killer.sh HOW DIR PM SECONDS WRITER... - one side of the kill storm
# (tests/stress/storm.sh).  Until SECONDS have passed, sends KILL, QUIT,
# ABRT, SEGV and BUS in turn to the current backend of each WRITER (the pid
# in DIR/backend.N), each backend at most once, and only while it is a live
# child of the postmaster PM (so a stale pid is never signalled).
#   HOW preload : the bash `kill` builtin of this shell (run it with the
#                 library preloaded: one process, one cached helper)
#   HOW exec    : `pgkillguard exec -- busybox kill`, a new supervisor per
#                 kill ($PGKG_GUARD_BIN names the command)
# Appends "HOW SIG PID RC" per kill to DIR/kills.HOW and what the guard
# said to DIR/guard.HOW.
set -u
how=$1 dir=$2 pm=$3 secs=$4
shift 4
sigs=(9 3 6 11 7)
n=0
end=$((EPOCHSECONDS + secs))
declare -A last

# is_backend PID : PID is alive (not a zombie) and a child of $pm.
is_backend() {
	local stat rest
	read -r stat <"/proc/$1/stat" 2>/dev/null || return 1
	rest=${stat##*) }
	set -- $rest
	[ "$1" != Z ] && [ "$2" = "$pm" ]
}

while [ "$EPOCHSECONDS" -lt "$end" ]; do
	for w in "$@"; do
		read -r pid <"$dir/backend.$w" 2>/dev/null || continue
		[ "${last[$w]:-}" != "$pid" ] || continue
		is_backend "$pid" || continue
		sig=${sigs[$((n % ${#sigs[@]}))]}
		n=$((n + 1))
		if [ "$how" = exec ]; then
			"$PGKG_GUARD_BIN" exec -- busybox kill -"$sig" "$pid" 2>>"$dir/guard.$how"
		else
			kill -"$sig" "$pid" 2>>"$dir/guard.$how"
		fi
		echo "$how $sig $pid $?" >>"$dir/kills.$how"
		last[$w]=$pid
	done
	sleep 0.02
done
