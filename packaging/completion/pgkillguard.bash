# bash completion for pgkillguard(1)                       -*- shell-script -*-
# Installed by `make install` and the packages as
# $(DATADIR)/bash-completion/completions/pgkillguard.
#
# Completes the subcommands, their options, signal names for `explain -s`,
# policy files, groups for `enable --group`, and for `explain` the pids of
# PostgreSQL processes on this host (a process whose comm is a server name:
# postmasters and their children, as the guard recognises them).

# _pgkillguard_pids : pids of server-named processes, from /proc.
_pgkillguard_pids()
{
	local p c
	for p in /proc/[0-9]*; do
		{ read -r c <"$p/comm"; } 2>/dev/null || continue
		case $c in
		postgres | postmaster | edb-postgres | kingbase) printf '%s\n' "${p#/proc/}" ;;
		esac
	done
}

# _pgkillguard_signals : signal names as `explain -s` takes them: KILL, TERM,
#   ..., or SIGKILL, SIGTERM, ... once SIG is typed.
_pgkillguard_signals()
{
	local s
	for s in $(compgen -A signal); do
		case $cur in SIG*) printf '%s\n' "$s" ;; *) printf '%s\n' "${s#SIG}" ;; esac
	done
}

# _pgkillguard_reply WORD... : COMPREPLY = the words that start with $cur.
_pgkillguard_reply()
{
	local w
	COMPREPLY=()
	for w in "$@"; do
		[[ $w == "$cur"* ]] && COMPREPLY+=("$w")
	done
}

_pgkillguard_files()
{
	compopt -o filenames 2>/dev/null || true
	mapfile -t COMPREPLY < <(compgen -f -- "$cur")
}

_pgkillguard()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
	local cmd="" i dashdash=0
	local -a words

	COMPREPLY=()
	for ((i = 1; i < COMP_CWORD; i++)); do
		if [ -z "$cmd" ]; then
			case ${COMP_WORDS[i]} in -*) ;; *) cmd=${COMP_WORDS[i]} ;; esac
		elif [ "${COMP_WORDS[i]}" = -- ]; then
			dashdash=$i
			break
		fi
	done

	if [ -z "$cmd" ]; then
		_pgkillguard_reply explain check exec shell enable disable status --help --version
		return 0
	fi

	case $cmd in
	explain)
		case $prev in
		-s | --signal)
			mapfile -t words < <(_pgkillguard_signals)
			_pgkillguard_reply "${words[@]}"
			return 0 ;;
		--policy) _pgkillguard_files; return 0 ;;
		-p | --program) _pgkillguard_reply pg_ctl pid1 bash kill pkill killall; return 0 ;;
		esac
		case $cur in
		-*) _pgkillguard_reply -s --signal --policy -p --program ;;
		*) mapfile -t words < <(_pgkillguard_pids)
			_pgkillguard_reply "${words[@]}" ;;
		esac
		;;
	check)
		_pgkillguard_files
		;;
	exec)
		if [ "$dashdash" -gt 0 ]; then
			if [ "$COMP_CWORD" = $((dashdash + 1)) ]; then
				mapfile -t COMPREPLY < <(compgen -c -- "$cur")
			elif declare -F _command_offset >/dev/null; then
				_command_offset $((dashdash + 1))
			else
				_pgkillguard_files
			fi
		elif [ "$prev" = --policy ]; then
			_pgkillguard_files
		else
			_pgkillguard_reply --policy --
		fi
		;;
	shell)
		_pgkillguard_files
		;;
	enable | disable | status)
		case $prev in
		--group) mapfile -t COMPREPLY < <(compgen -g -- "$cur"); return 0 ;;
		--library) _pgkillguard_files; return 0 ;;
		--root) compopt -o filenames 2>/dev/null || true
			mapfile -t COMPREPLY < <(compgen -d -- "$cur"); return 0 ;;
		esac
		case $cmd in
		enable) _pgkillguard_reply --system --login-shells --group --library --root ;;
		disable) _pgkillguard_reply --system --login-shells --all --root ;;
		status) _pgkillguard_reply --library --root ;;
		esac
		;;
	esac
	return 0
} &&
	complete -F _pgkillguard pgkillguard
