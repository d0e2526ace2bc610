#!/bin/bash
# 80-package.sh - the packages: `make deb` and `make rpm` build, lintian finds
# no error, the two file lists match; then the .deb's whole life in an
# isolated root (a debootstrap'd minimal chroot, run in a private mount
# namespace): install (nothing enabled), the policy in place and valid,
# enable --system / disable round trips keeping other ld.so.preload entries,
# login-shell preloading for one group, a guarded account, upgrades (a local
# policy kept; the library out of ld.so.preload during the upgrade and back
# only after its load test; a broken new library never enabled), removal
# (no preload entry left) and purge.  The host's /etc is never touched.
#
# The minimal chroot is made once and cached in $PGKG_CHROOT_CACHE
# (default /var/cache/pgkillguard-tests); each run works on a copy.
set -eu
. "$(dirname "$0")/../lib/cluster.sh"

plan_none
[ "$(id -u)" = 0 ] || skip_all "needs root (builds the packages, installs them in a chroot)"
setup_traps
TOP=$(cd "$(dirname "$0")/../.." && pwd)
VERSION=$(sed -n 's/^VERSION *:= *//p' "$TOP/Makefile")
ARCH=$(dpkg --print-architecture 2>/dev/null || echo unknown)
MA=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo unknown)
LIB=/usr/lib/$MA/libpgkillguard.so
CACHE=${PGKG_CHROOT_CACHE:-/var/cache/pgkillguard-tests}
WORK=$(mktemp -d /tmp/pgkg.pkg.XXXXXX)
ROOT=$WORK/root
trap 'rm -rf "$WORK"; cleanup_all' EXIT

command -v dpkg >/dev/null || skip_all "not a Debian system"
make -C "$TOP" -s package-deps >"$WORK/deps.log" 2>&1 ||
	skip_all "cannot install the packaging tools: $(tail -1 "$WORK/deps.log")"
for tool in dpkg-buildpackage lintian rpmbuild debootstrap unshare chroot; do
	command -v "$tool" >/dev/null || skip_all "$tool is not installed"
done

host_preload() { if [ -e /etc/ld.so.preload ]; then sha256sum </etc/ld.so.preload; else echo absent; fi; }
HOST_PRELOAD=$(host_preload)

# run_in CMD... : run CMD, keep RC, OUT_TEXT and ERR_TEXT.
run_in() {
	RC=0
	"$@" >"$WORK/out" 2>"$WORK/err" </dev/null || RC=$?
	OUT_TEXT=$(cat "$WORK/out")
	ERR_TEXT=$(cat "$WORK/err")
}

# timed NAME CMD... : t_ok, with the time taken in a comment.
timed() {
	local s=$SECONDS
	t_ok "$@"
	t_diag "$1: $((SECONDS - s)) s"
}

# ------------------------------------------------------------ the packages

timed "make deb" make -C "$TOP" -s deb
DEB=$(ls "$TOP/build/pgkillguard_$VERSION"-*_"$ARCH".deb 2>/dev/null | head -1)
[ -n "$DEB" ] || { t_done; exit 1; }
run_in lintian --fail-on error "$DEB"
t_is "$RC" 0 "lintian: no errors"
[ -z "$OUT_TEXT" ] || t_diag "lintian: $OUT_TEXT"
t_like "$(dpkg-deb -f "$DEB" Depends)" "libpq5" "Depends names libpq5 (loaded at run time)"
t_is "$(dpkg-deb --ctrl-tarfile "$DEB" | tar -xOf - ./conffiles)" "/etc/pgkillguard/pgkillguard.conf" \
	"the policy is a conffile"
mkdir "$WORK/x"
dpkg-deb -x "$DEB" "$WORK/x"
t_like "$(readelf -d "$WORK/x/usr/bin/pgkillguard" | grep FLAGS)" "BIND_NOW" "hardening: bind now"
t_like "$(readelf -lW "$WORK/x/usr/bin/pgkillguard" | grep GNU_RELRO)" "GNU_RELRO" "hardening: relro"
t_like "$(readelf -h "$WORK/x/usr/bin/pgkillguard" | grep Type:)" "DYN" "hardening: PIE"
t_like "$(readelf -sW --dyn-syms "$WORK/x/usr/bin/pgkillguard" | grep -c '__[a-z]*_chk@' || true)" \
	"^[1-9]" "hardening: fortified calls"
t_like "$(strings "$WORK/x/usr/bin/pgkillguard" | grep -x "$LIB" || true)" "^$LIB\$" \
	"the command knows the multiarch library path"

timed "make rpm (with %check)" make -C "$TOP" -s rpm
RPM=$(ls "$TOP/build/pgkillguard-$VERSION"-*.rpm 2>/dev/null | head -1)

# The file lists, libdir and man page compression aside: Debian's changelog
# and copyright, and rpm's build-id links, are the packaging's own.
deb_list() {
	dpkg-deb -c "$DEB" | awk '{ print $1 " " $6 }' |
		sed -e 's|^d[^ ]* \./\(.*\)/$|dir /\1|' -e 's|^[^d][^ ]* \./|file /|'
}
rpm_list() {
	rpm -qp --qf '[%{FILEMODES:perms} %{FILENAMES}\n]' "$RPM" |
		sed -e 's|^d[^ ]* |dir |' -e 's|^[^d][^ ]* |file |'
}
normalize() {
	sed -e "s|/usr/lib/$MA/|/LIBDIR/|" -e 's|/usr/lib64/|/LIBDIR/|' -e 's|\.gz$||' |
		grep -v -e '^file /usr/share/doc/pgkillguard/changelog.Debian' \
			-e '^file /usr/share/doc/pgkillguard/copyright$' -e ' /usr/lib/\.build-id' \
			-e '^file /usr/share/lintian/' |
		grep -e '^file ' -e '^dir /etc/pgkillguard' | sort
}
DEB_FILES=$(deb_list | normalize)
RPM_FILES=$(rpm_list | normalize)
t_is "$RPM_FILES" "$DEB_FILES" "the .rpm's files are the .deb's (libdir normalized)"
t_like "$(echo $DEB_FILES)" "file /LIBDIR/libpgkillguard.so .*man5/pgkillguard.conf.5" "...and they hold the library and man pages"
t_like "$(echo $DEB_FILES)" "file /usr/share/bash-completion/completions/pgkillguard" "...and the bash completion"
t_is "$(rpm -qpc "$RPM")" "/etc/pgkillguard/pgkillguard.conf" "the rpm's config file is the policy"
t_like "$(rpm -qp --scripts "$RPM")" "preuninstall.*disable --all" "rpm erase disables first"

# ------------------------------------------------------------ the isolated root

# The host's Debian mirror, as apt is configured here (or debootstrap's own).
host_mirror() {
	local codename=$1
	cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk -v c="$codename" '
		/^URIs:/ { u = $2 } /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == c) s = 1 }
		/^$/ { if (s && u && !out) out = u; u = ""; s = 0 }
		END { if (s && u && !out) out = u; if (out) print out }'
	awk -v c="$codename" '$1 == "deb" { for (i = 2; i < NF; i++) if ($(i + 1) == c && $i !~ /^\[/) { print $i; exit } }' \
		/etc/apt/sources.list 2>/dev/null
}

make_chroot_cache() {
	local codename dir=$1 mirror
	codename=$(. /etc/os-release && echo "$VERSION_CODENAME")
	mirror=$(host_mirror "$codename" | head -1)
	rm -rf "$dir.tmp"
	mkdir -p "${dir%/*}"
	debootstrap --variant=minbase --include=libpq5,libseccomp2 "$codename" "$dir.tmp" $mirror \
		>"$WORK/debootstrap.log" 2>&1 || return 1
	rm -rf "$dir"
	mv "$dir.tmp" "$dir"
	touch "$dir/.pgkillguard-complete"
}

BASE=$CACHE/$(. /etc/os-release && echo "$VERSION_CODENAME")-minbase
if [ ! -e "$BASE/.pgkillguard-complete" ]; then
	started=$SECONDS
	make_chroot_cache "$BASE" ||
		skip_all "debootstrap failed, no isolated root: $(tail -1 "$WORK/debootstrap.log")"
	t_diag "debootstrap of a minimal chroot, cached in $BASE: $((SECONDS - started)) s"
fi
timed "copy the cached chroot" cp -a "$BASE" "$ROOT"

# in_root CMD... : CMD chrooted into $ROOT, in a private mount namespace with
# its own /proc, and a clean environment.
in_root() {
	unshare --mount --propagation private -- /bin/sh -c \
		'mount -t proc proc "$0/proc" && exec chroot "$0" "$@"' "$ROOT" \
		env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C.UTF-8 "$@"
}

# preloaded : the entries of the chroot's ld.so.preload, one a line.
preloaded() { [ ! -e "$ROOT/etc/ld.so.preload" ] || sed 's/#.*//' "$ROOT/etc/ld.so.preload" | tr ' \t:' '\n\n\n' | grep . || true; }

# repack VERSION FILE [HOOK] : the built .deb as another version; HOOK DIR may change it.
repack() {
	local dir=$WORK/repack.$1
	rm -rf "$dir"
	dpkg-deb -R "$DEB" "$dir"
	sed -i "s/^Version: .*/Version: $1/" "$dir/DEBIAN/control"
	[ -z "${3:-}" ] || "$3" "$dir"
	dpkg-deb -b "$dir" "$ROOT/tmp/$2" >/dev/null
}

cp "$DEB" "$ROOT/tmp/pgkillguard.deb"
run_in in_root dpkg -i /tmp/pgkillguard.deb
t_is "$RC" 0 "dpkg -i in the chroot"
[ "$RC" = 0 ] || t_diag "$ERR_TEXT"
t_ok "the command is installed" test -x "$ROOT/usr/bin/pgkillguard"
t_ok "the library is in the multiarch directory" test -f "$ROOT$LIB"
t_ok "the policy is in place" test -f "$ROOT/etc/pgkillguard/pgkillguard.conf"
t_ok "policy.d is in place" test -d "$ROOT/etc/pgkillguard/policy.d"
t_like "$(in_root dpkg-query -W -f='${Conffiles}' pgkillguard)" "/etc/pgkillguard/pgkillguard.conf [0-9a-f]{32}" \
	"dpkg knows the policy as a conffile"
t_ok "nothing enabled on install: no ld.so.preload" test ! -e "$ROOT/etc/ld.so.preload"
t_ok "nothing enabled on install: no profile.d snippet" test ! -e "$ROOT/etc/profile.d/pgkillguard.sh"
run_in in_root pgkillguard check
t_is "$RC" 0 "pgkillguard check passes on the installed policy"
t_like "$OUT_TEXT" "^/etc/pgkillguard/pgkillguard.conf: OK" "...and names it"
run_in in_root pgkillguard status
t_like "$RC:$OUT_TEXT" "^0:library: $LIB \(present\)" "status: the library is present"
t_like "$OUT_TEXT" "system: disabled" "status: system disabled"
t_like "$OUT_TEXT" "login-shells: disabled" "status: login shells disabled"
for page in $(dpkg-deb -c "$DEB" | awk '{ print $6 }' | grep '^\./usr/share/man/man./.'); do
	page=$ROOT/usr/share/man/${page#./usr/share/man/}
	t_is "$(cd "$ROOT/usr/share/man" && LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings=w -l "$page" 2>&1 >/dev/null)" "" \
		"man -l ${page#"$ROOT"/usr/share/man/}: no warnings"
done

# ---- enable --system / disable

printf '# site preload\n/lib/%s/libpthread.so.0\n' "$MA" >"$ROOT/etc/ld.so.preload"
run_in in_root pgkillguard enable --system
t_is "$RC" 0 "enable --system"
t_like "$OUT_TEXT" "system: enabled in /etc/ld.so.preload" "...says so"
t_is "$(preloaded)" "/lib/$MA/libpthread.so.0
$LIB" "ld.so.preload: the other entry kept, the multiarch library added"
t_is "$(head -1 "$ROOT/etc/ld.so.preload")" "# site preload" "...and the comment"
t_is "$(stat -c %a "$ROOT/etc/ld.so.preload")" 644 "ld.so.preload is 0644"
run_in in_root pgkillguard enable --system
t_like "$RC:$OUT_TEXT" "^0:system: already enabled" "enable --system again: already enabled"
t_is "$(preloaded | grep -c libpgkillguard)" 1 "...no duplicate entry"
run_in in_root cat /proc/self/maps
t_like "$OUT_TEXT" "$LIB" "a new process in the root preloads the library"
t_is "$ERR_TEXT" "" "...without a word from ld.so"
run_in in_root sh -c 'kill -0 $$ && echo ran'
t_is "$RC:$OUT_TEXT:$ERR_TEXT" "0:ran:" "a shell's kill goes through the library"
run_in in_root pgkillguard status
t_like "$OUT_TEXT" "system: enabled in /etc/ld.so.preload: $LIB \(present\)" "status: enabled, present"
t_like "$OUT_TEXT" "other entry /lib/$MA/libpthread.so.0 \(present\)" "status: the other entry"
ls "$ROOT/etc" | grep -q 'pgkillguard-' && t_diag "left over: $(ls "$ROOT/etc" | grep pgkillguard-)"
t_is "$(ls "$ROOT/etc" | grep -c 'ld.so.preload.pgkillguard-' || true)" 0 "no temporary file left in /etc"
run_in in_root pgkillguard disable --system
t_like "$RC:$OUT_TEXT" "^0:system: disabled" "disable --system"
t_is "$(preloaded)" "/lib/$MA/libpthread.so.0" "ld.so.preload: only the other entry is left"
run_in in_root cat /proc/self/maps
t_ok "a new process no longer preloads it" eval '! grep -q libpgkillguard <<<"$OUT_TEXT"'
run_in in_root pgkillguard disable --system
t_like "$RC:$OUT_TEXT" "^0:system: not enabled" "disable again: nothing to do, exit 0"

# A library that does not load is never written into ld.so.preload.
head -c 4096 "$ROOT$LIB" >"$ROOT/usr/lib/$MA/libpgkillguard-broken.so"
run_in in_root pgkillguard enable --system --library "/usr/lib/$MA/libpgkillguard-broken.so"
t_like "$RC:$ERR_TEXT" "^2:.*not enabled$" "a truncated library fails the load test"
t_is "$(preloaded | grep -c libpgkillguard || true)" 0 "...and is not enabled"
rm -f "$ROOT/usr/lib/$MA/libpgkillguard-broken.so"
echo 'KILL backend explode' >"$ROOT/etc/pgkillguard/policy.d/99-broken.conf"
run_in in_root pgkillguard enable --system
t_like "$RC:$ERR_TEXT" "^2:.*99-broken.conf:1: .*fix it first" "an invalid policy: not enabled"
rm -f "$ROOT/etc/pgkillguard/policy.d/99-broken.conf"

# ---- login shells of one group

in_root groupadd dba
in_root useradd -m -s /bin/bash -G dba alice
in_root useradd -m -s /bin/bash bob
run_in in_root pgkillguard enable --login-shells --group dba
t_like "$RC:$OUT_TEXT" "^0:login-shells: enabled in /etc/profile.d/pgkillguard.sh: interactive login shells of group dba" \
	"enable --login-shells --group dba"
# shellcheck disable=SC2016
LD='echo "LD_PRELOAD=${LD_PRELOAD-}"'
t_is "$(in_root runuser -u alice -- bash -lic "$LD" 2>/dev/null)" "LD_PRELOAD=$LIB" \
	"alice (dba), interactive login bash: preloaded"
t_is "$(in_root runuser -u alice -- dash -lic "$LD" 2>/dev/null)" "LD_PRELOAD=$LIB" \
	"alice (dba), interactive login dash: preloaded"
t_is "$(in_root runuser -u bob -- bash -lic "$LD" 2>/dev/null)" "LD_PRELOAD=" "bob (not dba): not preloaded"
t_is "$(in_root runuser -u alice -- bash -lc "$LD" 2>/dev/null)" "LD_PRELOAD=" "alice, non-interactive: not preloaded"
t_is "$(in_root runuser -u alice -- env LD_PRELOAD="/lib/$MA/libpthread.so.0" bash -lic "$LD" 2>/dev/null)" \
	"LD_PRELOAD=/lib/$MA/libpthread.so.0:$LIB" "an existing LD_PRELOAD is kept, the library appended"
t_is "$(in_root runuser -u alice -- env LD_PRELOAD="$LIB" bash -lic "$LD" 2>/dev/null)" \
	"LD_PRELOAD=$LIB" "...and not added twice"
t_like "$(in_root runuser -u alice -- bash -lic 'cat /proc/self/maps' 2>/dev/null)" "$LIB" \
	"alice's programs load it"
run_in in_root pgkillguard status
t_like "$OUT_TEXT" "login-shells: enabled in /etc/profile.d/pgkillguard.sh for group dba: $LIB \(present\)" \
	"status: login shells for dba"

# ---- a guarded account

in_root useradd -m -s /bin/bash robot
run_in in_root pgkillguard-account guard robot --setuid --shell /bin/bash
t_is "$RC" 0 "pgkillguard-account guard robot --setuid"
[ "$RC" = 0 ] || t_diag "$ERR_TEXT"
t_is "$(in_root getent passwd robot | cut -d: -f7)" /usr/bin/pgkillguard-shell "robot's login shell is pgkillguard-shell"
t_ok "pgkillguard-shell is in /etc/shells" grep -qx /usr/bin/pgkillguard-shell "$ROOT/etc/shells"
t_is "$(stat -c %a "$ROOT/usr/bin/pgkillguard-shell")" 4755 "pgkillguard-shell is setuid root"
t_like "$(in_root dpkg-statoverride --list /usr/bin/pgkillguard-shell)" "root root 4755" "...recorded with dpkg-statoverride"
t_is "$(cat "$ROOT/etc/pgkillguard/login-shell")" /bin/bash "the real shell is configured"
run_in in_root runuser robot -c 'id -un; grep -E "^(Seccomp|NoNewPrivs):" /proc/self/status'
t_like "$OUT_TEXT" "^robot
NoNewPrivs:[[:space:]]+0
Seccomp:[[:space:]]+2$" "robot's commands run as robot, under the seccomp guard, sudo-capable"
t_like "$(in_root pgkillguard-account list)" "guarded: robot" "pgkillguard-account list"
run_in in_root pgkillguard-account unguard robot
t_is "$RC:$(in_root getent passwd robot | cut -d: -f7)" 0:/bin/bash "unguard: robot's shell is back"
in_root pgkillguard-account guard robot >/dev/null

# ---- upgrades

in_root pgkillguard enable --system >/dev/null
echo "# local change" >>"$ROOT/etc/pgkillguard/pgkillguard.conf"
spy_preinst() {
	printf '#!/bin/sh\ncat /etc/ld.so.preload >/tmp/at-preinst 2>&1 || :\n' >"$1/DEBIAN/preinst"
	chmod 755 "$1/DEBIAN/preinst"
}
repack "$VERSION-2" v2.deb spy_preinst
run_in in_root dpkg -i /tmp/v2.deb
t_is "$RC" 0 "upgrade to $VERSION-2"
[ "$RC" = 0 ] || t_diag "$ERR_TEXT"
t_is "$(in_root dpkg-query -W -f='${Version} ${Status}' pgkillguard)" "$VERSION-2 install ok installed" "...configured"
t_is "$(tail -1 "$ROOT/etc/pgkillguard/pgkillguard.conf")" "# local change" "the local policy change is kept"
t_ok "no .dpkg-dist or .dpkg-new beside it" test ! -e "$ROOT/etc/pgkillguard/pgkillguard.conf.dpkg-dist" -a \
	! -e "$ROOT/etc/pgkillguard/pgkillguard.conf.dpkg-new"
t_ok "during the upgrade (new preinst), ld.so.preload did not name the library" \
	eval '! grep -q libpgkillguard "$ROOT/tmp/at-preinst"'
t_like "$(cat "$ROOT/tmp/at-preinst")" "libpthread.so.0" "...but kept the other entry"
t_is "$(preloaded | grep libpgkillguard)" "$LIB" "after the upgrade it is enabled again (once)"
t_ok "the upgrade note is gone" test ! -e "$ROOT/var/lib/pgkillguard/reenable-system"
t_ok "the login-shell snippet stayed" test -e "$ROOT/etc/profile.d/pgkillguard.sh"
t_is "$(stat -c %a "$ROOT/usr/bin/pgkillguard-shell")" 4755 "pgkillguard-shell is still setuid (statoverride)"

new_upstream_conf() { echo "# upstream change" >>"$1/etc/pgkillguard/pgkillguard.conf"; }
repack "$VERSION-3" v3.deb new_upstream_conf
run_in in_root dpkg -i --force-confold /tmp/v3.deb
t_is "$RC" 0 "upgrade to $VERSION-3, whose policy changed too (--force-confold)"
t_is "$(tail -1 "$ROOT/etc/pgkillguard/pgkillguard.conf")" "# local change" "the local policy is kept"
t_is "$(tail -1 "$ROOT/etc/pgkillguard/pgkillguard.conf.dpkg-dist" 2>/dev/null)" "# upstream change" \
	"...the new one is beside it as .dpkg-dist"

truncate_lib() { head -c 4096 "$1$LIB" >"$1/lib.tmp" && mv "$1/lib.tmp" "$1$LIB"; }
repack "$VERSION-4" v4.deb truncate_lib
run_in in_root dpkg -i --force-confold /tmp/v4.deb
t_ok "upgrade to a broken library: dpkg reports the failure" test "$RC" != 0
t_like "$ERR_TEXT" "NOT put back into /etc/ld.so.preload" "...and says the library was not put back"
t_is "$(preloaded | grep -c libpgkillguard || true)" 0 "the broken library is not in ld.so.preload"
run_in in_root true
t_is "$ERR_TEXT" "" "processes start without a word from ld.so"
run_in in_root dpkg -i --force-confold /tmp/v3.deb
t_is "$RC" 0 "back to $VERSION-3"
t_is "$(preloaded | grep libpgkillguard)" "$LIB" "...and the library, tested, is enabled again"

# ---- removal and purge

run_in in_root dpkg -r pgkillguard
t_is "$RC" 0 "dpkg -r"
[ "$RC" = 0 ] || t_diag "$ERR_TEXT"
t_like "$ERR_TEXT" "still log in through pgkillguard-shell: robot" "removal warns about the guarded account"
t_is "$(preloaded)" "/lib/$MA/libpthread.so.0" "removal left no pgkillguard entry, the other one kept"
t_ok "the profile.d snippet is gone" test ! -e "$ROOT/etc/profile.d/pgkillguard.sh"
t_ok "the library is gone" test ! -e "$ROOT$LIB"
run_in in_root true
t_is "$ERR_TEXT" "" "processes start without a word from ld.so"
t_ok "the policy stays until purge" test -f "$ROOT/etc/pgkillguard/pgkillguard.conf"
run_in in_root dpkg -P pgkillguard
t_is "$RC" 0 "dpkg -P"
t_ok "purge removed the policy" test ! -e "$ROOT/etc/pgkillguard/pgkillguard.conf"
t_ok "purge removed /var/lib/pgkillguard" test ! -e "$ROOT/var/lib/pgkillguard"

t_is "$(host_preload)" "$HOST_PRELOAD" "the host's /etc/ld.so.preload is untouched"
t_done
