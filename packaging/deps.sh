#!/bin/sh
# packaging/deps.sh - `make package-deps` (run by `make deb` and `make rpm`):
# the tools that build and check the packages, installed (as root, on
# Debian 12, one apt-get call, only when missing) by tests/lib/deps.sh.
#
# PGKG_PKG_DEPS (space-separated) overrides the package list.
set -eu
PGKG_DEPS=${PGKG_PKG_DEPS:-"gcc make libc6-dev libseccomp-dev libpq-dev dpkg-dev debhelper
  lintian rpm debootstrap groff man-db tar gzip"}
PGKG_DEPS_SERVER=no
export PGKG_DEPS PGKG_DEPS_SERVER
exec sh "$(dirname "$0")/../tests/lib/deps.sh"
