#!/bin/sh
# tests/lib/deps.sh - `make deps`: install what the build, the tests and the
# demo need on Debian 12, in one apt-get call, only if something is missing.
# POSIX sh (the Makefile runs it with `sh`).
#
# It never creates, starts or touches the distribution's own cluster beyond
# what installing the postgresql package does; while installing it blocks
# service starts with a temporary /usr/sbin/policy-rc.d (exit 101) unless one
# already exists, so Debian's 15/main is created but not started.
#
# PGKG_DEPS (space-separated) overrides the package list; PGKG_DEPS_SERVER=no
# skips the check for a PostgreSQL server (packaging/deps.sh).
set -eu

PACKAGES=${PGKG_DEPS:-"gcc gcc-multilib clang libclang-rt-14-dev valgrind make libc6-dev libseccomp-dev libpq-dev postgresql
  busybox-static psmisc procps python3 perl util-linux passwd postgresql-plperl-15"}

installed() {
	[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
}

missing_packages() {
	for p in $PACKAGES; do
		installed "$p" || printf '%s ' "$p"
	done
}

policy_rc_d=/usr/sbin/policy-rc.d
our_policy=""

block_service_starts() {
	[ -e "$policy_rc_d" ] && return 0
	printf '#!/bin/sh\n# temporary, from pgkillguard tests/lib/deps.sh\nexit 101\n' >"$policy_rc_d"
	chmod 755 "$policy_rc_d"
	our_policy=1
}

unblock_service_starts() {
	[ -z "$our_policy" ] || rm -f "$policy_rc_d"
}

apt_install() {
	log=$(mktemp /tmp/pgkg-deps.XXXXXX)
	trap 'unblock_service_starts; rm -f "$log"' EXIT
	trap 'exit 130' INT TERM
	block_service_starts
	export DEBIAN_FRONTEND=noninteractive
	echo "deps: installing: $*"
	if ! apt-get -q update >"$log" 2>&1 ||
	   ! apt-get -q -y --no-install-recommends -o Dpkg::Options::=--force-confold \
		install "$@" >>"$log" 2>&1; then
		echo "deps: apt-get failed; last lines of its output:" >&2
		tail -30 "$log" >&2
		exit 1
	fi
}

check_server() {
	[ "${PGKG_DEPS_SERVER:-yes}" = yes ] || return 0	# packaging/deps.sh: tools only
	bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
	if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
		echo "deps: no PostgreSQL server found under /usr/lib/postgresql/*/bin" >&2
		exit 1
	fi
	echo "deps: ok (PostgreSQL server: $bindir)"
}

main() {
	if ! command -v dpkg-query >/dev/null 2>&1; then
		echo "deps: not a Debian system; make sure these are installed: $PACKAGES" >&2
		check_server
		return 0
	fi
	missing=$(missing_packages)
	if [ -n "$missing" ]; then
		if [ "$(id -u)" != 0 ]; then
			echo "deps: missing packages; as root, run:" >&2
			echo "  apt-get update && apt-get install -y $missing" >&2
			exit 1
		fi
		# shellcheck disable=SC2086
		apt_install $missing
		missing=$(missing_packages)
		if [ -n "$missing" ]; then
			echo "deps: still missing after install: $missing" >&2
			exit 1
		fi
	fi
	check_server
}

main "$@"
