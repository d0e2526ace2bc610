#!/bin/sh
# packaging/deps.sh - `make package-deps` (run by `make deb` and `make rpm`):
# install what building and checking the packages needs on Debian 12, in one
# apt-get call, only if something is missing.  POSIX sh.
#
# PGKG_PKG_DEPS (space-separated) overrides the package list.  Not root, or not
# Debian: say what is missing and fail, or only warn if nothing is.
set -eu

PACKAGES=${PGKG_PKG_DEPS:-"gcc make libc6-dev libseccomp-dev libpq-dev dpkg-dev debhelper
  lintian rpm debootstrap groff man-db tar gzip"}

installed() {
	[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
}

missing_packages() {
	for p in $PACKAGES; do
		installed "$p" || printf '%s ' "$p"
	done
}

apt_install() {
	log=$(mktemp /tmp/pgkg-pkgdeps.XXXXXX)
	trap 'rm -f "$log"' EXIT
	echo "package-deps: installing: $*"
	export DEBIAN_FRONTEND=noninteractive
	if ! apt-get -q update >"$log" 2>&1 ||
	   ! apt-get -q -y --no-install-recommends install "$@" >>"$log" 2>&1; then
		echo "package-deps: apt-get failed; last lines of its output:" >&2
		tail -30 "$log" >&2
		exit 1
	fi
}

main() {
	if ! command -v dpkg-query >/dev/null 2>&1; then
		echo "package-deps: not a Debian system; make sure these are installed: $PACKAGES" >&2
		return 0
	fi
	missing=$(missing_packages)
	[ -n "$missing" ] || return 0
	if [ "$(id -u)" != 0 ]; then
		echo "package-deps: missing packages; as root, run:" >&2
		echo "  apt-get update && apt-get install -y $missing" >&2
		exit 1
	fi
	# shellcheck disable=SC2086
	apt_install $missing
	missing=$(missing_packages)
	if [ -n "$missing" ]; then
		echo "package-deps: still missing after install: $missing" >&2
		exit 1
	fi
}

main "$@"
