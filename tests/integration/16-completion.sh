#!/bin/bash
# 16-completion.sh - bash completion for pgkillguard (packaging/completion):
# subcommands, options, signal names, files, groups, commands after `exec --`,
# and for `explain` the pids of a live cluster's processes; `make install`
# puts it where bash-completion looks.
set -eu
. "$(dirname "$0")/../lib/cluster.sh"
. "$(dirname "$0")/../lib/guard.sh"

guard_test_begin
TOP=$(cd "$(dirname "$0")/../.." && pwd)
COMPLETION=$TOP/packaging/completion/pgkillguard.bash

# shellcheck source=../../packaging/completion/pgkillguard.bash
. "$COMPLETION"
t_like "$(complete -p pgkillguard)" "complete -F _pgkillguard pgkillguard" "sourcing it registers _pgkillguard"

# comp WORD... : what completing the last WORD offers (sorted, one line, blank separated).
comp() {
	COMP_WORDS=(pgkillguard "$@")
	COMP_CWORD=$#
	COMP_LINE="${COMP_WORDS[*]}"
	COMP_POINT=${#COMP_LINE}
	COMPREPLY=()
	_pgkillguard pgkillguard "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
	printf '%s\n' "${COMPREPLY[@]}" | LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//'
}

t_is "$(comp '')" "--help --version check disable enable exec explain shell status" "subcommands"
t_is "$(comp ex)" "exec explain" "ex -> exec explain"
t_is "$(comp explain -)" "--policy --program --signal -p -s" "explain options"
t_is "$(comp explain -s KI)" "KILL" "explain -s KI -> KILL"
t_is "$(comp explain --signal SIGTE)" "SIGTERM" "explain --signal SIGTE -> SIGTERM"
t_like "$(comp explain -s RTMIN+)" "^RTMIN\+1 " "explain -s RTMIN+ -> real-time signals"
t_is "$(comp explain -p pg_)" "pg_ctl" "explain -p pg_ -> pg_ctl"
t_is "$(comp check /etc/host)" "$(compgen -f /etc/host | LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//')" "check: policy files"
t_is "$(comp exec -)" "-- --policy" "exec options"
t_like "$(comp exec -- bas)" "(^| )bash( |$)" "exec -- bas: commands"
t_is "$(comp enable --)" "--group --library --login-shells --root --system" "enable options"
t_is "$(comp disable --)" "--all --login-shells --root --system" "disable options"
t_is "$(comp status --)" "--library --root" "status options"
t_like "$(comp enable --login-shells --group roo)" "(^| )root( |$)" "enable --group: groups"

new_running_cluster completion
open_idle_session "$D" comp
B=$(backend_pid "$D" comp)
CKPT=$(aux_pid "$D" checkpointer)
PIDS=" $(comp explain '') "
t_like "$PIDS" " $PM " "explain: offers the postmaster's pid"
t_like "$PIDS" " $B " "explain: offers a backend's pid"
t_like "$PIDS" " $CKPT " "explain: offers the checkpointer's pid"
t_ok "explain: not this shell's pid" eval '[[ $PIDS != *" $$ "* ]]'
t_like " $(comp explain "${B:0:2}") " " $B " "explain ${B:0:2}: the backend's pid"

S=$(mktemp -d /tmp/pgkg.comp.XXXXXX)
t_ok "make install-completion" make -C "$TOP" -s PREFIX=/usr DESTDIR="$S" install-completion
t_ok "installed in DATADIR/bash-completion/completions" \
	cmp "$COMPLETION" "$S/usr/share/bash-completion/completions/pgkillguard"
t_ok "make install runs it" eval 'make -C "$TOP" -n install | grep -q "bash-completion/completions/pgkillguard"'
rm -rf "$S"
t_done
