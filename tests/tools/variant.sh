#!/bin/bash
# tests/tools/variant.sh NAME BUILD [PRELOAD-LIB] - run the whole suite
# (tests/run.sh) against another build of the tree: `make check-asan`,
# `make check-clang` (mk/sanitize.mk).
#
# The scripts find their programs in TOP/build, so the suite runs in a copy
# of the tree, BUILD/variant/tree, whose build/ holds links to BUILD's
# outputs: the command, the unit tests and the test programs.  PRELOAD-LIB,
# when given, is the libpgkillguard.so the tests preload (for the ASan
# variant: a UBSan build in trap mode, which needs no runtime and so loads
# into any program); BUILD's own library is linked as
# libpgkillguard-asan.so for tests/integration/86-asan-preload.sh.  The
# programs the tests drive (probes, callers, writer) come from TOP/build: a
# sanitizer cannot build the static ones, and an instrumented driver would
# clash with the ASan runtime 86-asan-preload.sh preloads.
#
# Sanitizer reports from every process (helpers and supervisors included,
# whose stderr is /dev/null) go to files under a log directory; any such
# file fails the run, and is printed.  Exit status: the suite's, or 1.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -u
NAME=$1 BUILD=$(cd "$2" && pwd) LIB=${3:-}
TOP=$(cd "$(dirname "$0")/../.." && pwd)
V=$BUILD/variant
TREE=$V/tree
STAGE=$TREE/build

rm -rf "$V"
mkdir -p "$TREE"
# the sources, without git metadata or any build
tar -C "$TOP" --exclude=./.git --exclude=./build --exclude='./build-*' -cf - . | tar -C "$TREE" -xf - || exit 1
mkdir -p "$STAGE/tests"
for f in pgkillguard pgkillguard-shell; do ln -s "$BUILD/$f" "$STAGE/$f"; done
if [ -n "$LIB" ]; then
	ln -s "$(cd "$(dirname "$LIB")" && pwd)/$(basename "$LIB")" "$STAGE/libpgkillguard.so"
	ln -s "$BUILD/libpgkillguard.so" "$STAGE/libpgkillguard-asan.so"
else
	ln -s "$BUILD/libpgkillguard.so" "$STAGE/libpgkillguard.so"
fi
# the unit tests are the variant's; the programs the integration tests drive
# (probes, callers, writer) are test tools, not code under test: plain builds
for f in "$BUILD"/tests/test_*; do ln -s "$f" "$STAGE/tests/${f##*/}"; done
for f in "$TOP"/build/tests/*; do
	[ -e "$STAGE/tests/${f##*/}" ] || ln -s "$f" "$STAGE/tests/${f##*/}"
done

LOGS=$(mktemp -d /tmp/pgkg-san.XXXXXX)
chmod 1777 "$LOGS"
trap 'rm -rf "$LOGS"' EXIT
export ASAN_OPTIONS="log_path=$LOGS/asan:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="log_path=$LOGS/ubsan:print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}"

echo "variant $NAME: suite in $TREE"
# the version matrix (tests/run.sh) runs in the normal variant only
echo "variant $NAME: on Debian's PostgreSQL only; the version matrix runs in the normal variant"
export PGKG_VERSIONS=none
start=$SECONDS
(cd "$TREE" && bash tests/run.sh ${PGKG_VARIANT_FILTER:-})
rc=$?
echo "variant $NAME: suite took $((SECONDS - start)) s"
if compgen -G "$LOGS/*" >/dev/null; then
	echo "variant $NAME: FAILED: sanitizer reports:"
	for f in "$LOGS"/*; do echo "--- ${f##*/}"; head -60 "$f"; done
	rc=1
fi
[ "$rc" = 0 ] && echo "variant $NAME: ok" || echo "variant $NAME: FAILED"
exit "$rc"
