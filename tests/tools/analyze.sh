#!/bin/bash
# tests/tools/analyze.sh - `make analyze`: cppcheck and clang-tidy over the
# shipped C sources (policy/, shim/), compared with the triaged findings in
# tests/tools/analysis.baseline.  Fails on any finding not in the baseline; says
# which baseline entries no longer occur (to be removed).  docs/ANALYSIS.md
# explains the checks chosen and every baseline entry.
#
# A finding is keyed "FILE|CHECK|SOURCE LINE" (the line's text, trimmed), so
# the baseline survives edits elsewhere in a file.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -u
cd "$(dirname "$0")/../.." || exit 1
BUILD=${PGKG_BUILD:-build}
BASELINE=tests/tools/analysis.baseline
SRC=$(ls policy/*.c shim/*.c)
DEFS=(-D_GNU_SOURCE -DPGKG_VERSION='"0"' -DPGKG_SYSCONFDIR='"/etc"' -DPGKG_HELPER_PATH='"/usr/bin/pgkillguard"')
INC=(-Ipolicy -Ishim -I"$BUILD" -I"$(pg_config --includedir 2>/dev/null || echo /usr/include/postgresql)")

# Checks: everything in these families, less those that do not fit C or this
# code (docs/ANALYSIS.md says why for each).
TIDY=-*,bugprone-*,cert-*,clang-analyzer-*,misc-*,performance-*,portability-*
TIDY=$TIDY,-bugprone-easily-swappable-parameters,-bugprone-narrowing-conversions
TIDY=$TIDY,-clang-analyzer-security.insecureAPI.DeprecatedOrUnsafeBufferHandling
TIDY=$TIDY,-cert-err33-c,-misc-no-recursion,-misc-unused-parameters
TIDY=$TIDY,-bugprone-suspicious-string-compare

OUT=$(mktemp -d /tmp/pgkg-analyze.XXXXXX)
trap 'rm -rf "$OUT"' EXIT

# key FILE LINE CHECK : "FILE|CHECK|text of FILE:LINE, blanks squeezed"
key() {
	local text
	text=$(sed -n "$2p" "$1" | tr -s ' \t' ' ' | sed 's/^ //; s/ $//')
	printf '%s|%s|%s\n' "$1" "$3" "$text"
}

echo "analyze: cppcheck $(cppcheck --version | sed 's/.* //')"
# die() and friends are C11 noreturn (<stdnoreturn.h>, which cppcheck does not read)
cppcheck --quiet --std=c11 --enable=warning,portability,performance --inline-suppr \
	--suppress=missingIncludeSystem "-Dnoreturn=__attribute__((noreturn))" "-D__$(uname -m)__" \
	--template='{file}:{line}:{id}' "${DEFS[@]}" "${INC[@]}" $SRC 2>"$OUT/cppcheck.raw"
echo "analyze: clang-tidy $(clang-tidy --version | sed -n 's/.*version \([0-9.]*\).*/\1/p' | head -1)"
printf '%s\n' $SRC | xargs -P "$(nproc)" -n 4 sh -c 'clang-tidy --quiet --checks="$0" "$@" -- '"$(printf '%q ' "${DEFS[@]}" "${INC[@]}")"' -std=gnu11 2>/dev/null' "$TIDY" \
	>"$OUT/tidy.raw"

{
	sed -n 's/^\([^:]*\):\([0-9]*\):\(.*\)$/\1 \2 cppcheck-\3/p' "$OUT/cppcheck.raw"
	sed -n 's#^'"$PWD"'/\([^:]*\):\([0-9]*\):[0-9]*: \(warning\|error\): .*\[\([^]]*\)\]$#\1 \2 \4#p' "$OUT/tidy.raw"
} | sort -u | while read -r file line check; do key "$file" "$line" "$check"; done | sort -u >"$OUT/found"

grep -v '^#' "$BASELINE" | grep -v '^$' | sort -u >"$OUT/baseline"
new=$(comm -23 "$OUT/found" "$OUT/baseline")
gone=$(comm -13 "$OUT/found" "$OUT/baseline")
echo "analyze: $(wc -l <"$OUT/found") findings, $(printf '%s' "$new" | grep -c . ) not triaged"
if [ -n "$gone" ]; then
	echo "analyze: baseline entries that no longer occur (remove them from $BASELINE):"
	printf '%s\n' "$gone" | sed 's/^/  /'
fi
if [ -n "$new" ]; then
	echo "analyze: FAILED: new findings (fix them, or triage them into $BASELINE and docs/ANALYSIS.md):"
	printf '%s\n' "$new" | sed 's/^/  /'
	grep -h -A3 -F -f <(printf '%s\n' "$new" | cut -d'|' -f1 | sort -u) "$OUT/tidy.raw" "$OUT/cppcheck.raw" 2>/dev/null | head -60
	exit 1
fi
echo "analyze: ok"
