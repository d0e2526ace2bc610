#!/bin/bash
# 79-man.sh - the man pages (packaging/man/): each renders with groff -ww and
# `man -l` without a warning, installed ones too (the .so link); every
# command, option and variable of `pgkillguard --help` is in pgkillguard.1;
# their version is the Makefile's.
set -eu
. "$(dirname "$0")/../lib/cluster.sh"

plan_none
setup_traps
TOP=$(cd "$(dirname "$0")/../.." && pwd)
PGKG=$TOP/build/pgkillguard
MAN=$TOP/packaging/man
export LC_ALL=C.UTF-8 MANWIDTH=80

if [ "$(id -u)" = 0 ]; then
	make -C "$TOP" -s package-deps >/dev/null 2>&1 || true
fi
command -v groff >/dev/null && command -v man >/dev/null ||
	skip_all "groff and man-db are not installed (as root: make package-deps)"

# The pages themselves (a page that is only a `.so` link is rendered below).
for page in "$MAN"/*.[158]; do
	name=${page##*/}
	if grep -q '^\.so ' "$page"; then continue; fi
	t_is "$(groff -ww -man -Tutf8 "$page" 2>&1 >/dev/null)" "" "groff -ww $name: no warnings"
	t_is "$(man --warnings=w -l "$page" 2>&1 >/dev/null)" "" "man -l $name: no warnings"
	t_like "$(sed -n 's/^\.TH .*"pgkillguard \([0-9.]*\)".*/\1/p' "$page")" \
		"^$(sed -n 's/^VERSION *:= *//p' "$TOP/Makefile")\$" "$name: version is the Makefile's"
done

# Installed, the .so link resolves.
STAGE=$(mktemp -d /tmp/pgkg.man.XXXXXX)
make -C "$TOP" -s MANDIR="$STAGE/man" install-man >/dev/null
for page in "$STAGE"/man/man*/*; do
	name=${page#"$STAGE"/man/}
	t_is "$(cd "$STAGE/man" && man --warnings=w -l "$page" 2>&1 >/dev/null)" "" \
		"installed $name renders without warnings"
done
t_like "$(cd "$STAGE/man" && man -l man1/pgkillguard-shell.1 2>/dev/null | head -20)" \
	"pgkillguard-shell" "pgkillguard-shell(1) is pgkillguard(1)"
rm -rf "$STAGE"

# Everything --help names is in pgkillguard(1).
HELP=$("$PGKG" --help)
PAGE=$(groff -man -Tutf8 -P-cbou "$MAN/pgkillguard.1" 2>/dev/null)
commands=$(printf '%s\n' "$HELP" | sed -n '/^Commands:/,/^$/p' | grep -oE '^  [a-z][a-z_-]*' | tr -d ' ')
t_like "$(echo $commands)" "explain.*check.*enable.*disable.*status" "--help lists the commands"
for c in $commands; do
	t_like "$PAGE" "(^|[^a-z-])pgkillguard $c( |$)" "pgkillguard.1 synopsis has: $c"
	t_like "$PAGE" $'\n       '"$c( |$)" "pgkillguard.1 describes: $c"
done
options=$(printf '%s\n' "$HELP" | grep -oE -- '(^|[ [|])--?[a-zA-Z][a-zA-Z-]*' | sed 's/^[ [|]//' | sort -u)
t_like "$(echo $options)" "--login-shells" "--help names options"
for o in $options; do
	t_like "$PAGE" "(^|[^a-zA-Z-])$o([^a-zA-Z-]|$)" "pgkillguard.1 has option $o"
done
for v in $(printf '%s\n' "$HELP" | grep -oE 'PGKILLGUARD_[A-Z_]+' | sort -u); do
	t_like "$PAGE" "$v" "pgkillguard.1 has $v"
done
t_done
