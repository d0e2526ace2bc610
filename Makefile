# pgkillguard - see README.md.  `make`, `make check`, `make demo`, `make install`.

VERSION     := 0.1.0
PREFIX      ?= /usr/local
BINDIR      ?= $(PREFIX)/bin
LIBDIR      ?= $(PREFIX)/lib
SYSCONFDIR  ?= $(if $(filter /usr,$(PREFIX)),/etc,$(PREFIX)/etc)
DATADIR     ?= $(PREFIX)/share
MANDIR      ?= $(DATADIR)/man
DOCDIR      ?= $(DATADIR)/doc/pgkillguard
DESTDIR     ?=

CC          ?= cc
CFLAGS      ?= -O2 -g
LDFLAGS     ?=
B           := build

WARN     := -Wall -Wextra -Werror -Wformat=2 -Wshadow -Wstrict-prototypes \
            -Wmissing-prototypes -Wno-unused-parameter
HARDEN   := -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fPIC
DEFS     := -D_GNU_SOURCE -DPGKG_VERSION='"$(VERSION)"' \
            -DPGKG_SYSCONFDIR='"$(SYSCONFDIR)"' \
            -DPGKG_HELPER_PATH='"$(BINDIR)/pgkillguard"' \
            -DPGKG_LIBDIR='"$(LIBDIR)"'
CPPFLAGS_ALL := -Ipolicy -Ishim -I$(B) $(DEFS) $(CPPFLAGS)
CFLAGS_ALL   := -std=gnu11 $(WARN) $(HARDEN) -fvisibility=hidden $(CFLAGS)
LDHARDEN     := -Wl,-z,relro -Wl,-z,now -Wl,--as-needed

PQ_CFLAGS   := -I$(shell pg_config --includedir 2>/dev/null || echo /usr/include/postgresql)

# The decision core: no libpq, no allocation; linked into all three.
CORE_SRC := policy/util.c policy/accounts.c policy/kinds.c policy/title.c policy/procfs.c \
            policy/signals.c policy/policy.c policy/grammar.c \
            policy/options.c policy/load.c policy/decide.c
CORE_OBJ := $(CORE_SRC:%.c=$(B)/%.o) $(B)/default_policy.o

# Shared by the two front-ends: the guard's pipeline and its wording, audit,
# caller identity, fd passing and the rewrite helper's protocol (libc only).
SHIM_COMMON_SRC := shim/guard.c shim/sweep.c shim/ptraceguard.c shim/say.c shim/sayrewrite.c \
                   shim/price.c shim/audit.c shim/sigcall.c shim/fdpass.c shim/rwproto.c
SHIM_COMMON_OBJ := $(SHIM_COMMON_SRC:%.c=$(B)/%.o)

LIB_SRC  := shim/preload.c shim/helperlink.c
LIB_OBJ  := $(LIB_SRC:%.c=$(B)/%.o)

# Both programs share everything but main(): pgkillguard-shell is the one
# that may be installed setuid root, so it carries no other subcommand.
SUP_SRC  := shim/die.c shim/rewrite.c shim/pgwire.c shim/supervise.c shim/filter.c shim/actas.c shim/shell.c
SUP_OBJ  := $(SUP_SRC:%.c=$(B)/%.o)
CLI_SRC  := shim/cli.c shim/explain.c shim/helper.c shim/enable.c shim/forcekill.c
CLI_OBJ  := $(CLI_SRC:%.c=$(B)/%.o) $(SUP_OBJ)

UNIT_TESTS := $(patsubst tests/unit/%.c,$(B)/tests/%,$(wildcard tests/unit/test_*.c))

all: $(B)/libpgkillguard.so $(B)/pgkillguard $(B)/pgkillguard-shell

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) -MMD -MP -c $< -o $@

# Only rewrite.c sees libpq's header; it loads libpq with dlopen() when needed,
# so no program links it.
$(B)/shim/rewrite.o: CPPFLAGS_ALL += $(PQ_CFLAGS)

$(B)/default_policy.c: policy/pgkillguard.conf policy/embed.sh
	@mkdir -p $(B)
	sh policy/embed.sh $< > $@.tmp && mv $@.tmp $@

$(B)/default_policy.o: $(B)/default_policy.c
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) -c $< -o $@

# A SONAME, as for any library in a library directory (the .deb installs it in
# the multiarch one); programs never link it, they preload it by path.
$(B)/libpgkillguard.so: $(LIB_OBJ) $(SHIM_COMMON_OBJ) $(CORE_OBJ) shim/preload.map
	$(CC) -shared $(CFLAGS_ALL) $(LDHARDEN) -Wl,-soname,libpgkillguard.so \
	    -Wl,--version-script=shim/preload.map \
	    -o $@ $(LIB_OBJ) $(SHIM_COMMON_OBJ) $(CORE_OBJ) $(LDFLAGS)

$(B)/pgkillguard: $(CLI_OBJ) $(SHIM_COMMON_OBJ) $(CORE_OBJ)
	$(CC) $(CFLAGS_ALL) -pie $(LDHARDEN) -o $@ $^ $(LDFLAGS) -lseccomp

$(B)/pgkillguard-shell: $(B)/shim/shellmain.o $(SUP_OBJ) $(SHIM_COMMON_OBJ) $(CORE_OBJ)
	$(CC) $(CFLAGS_ALL) -pie $(LDHARDEN) -o $@ $^ $(LDFLAGS) -lseccomp

$(B)/tests/%: tests/unit/%.c $(CORE_OBJ) $(SHIM_COMMON_OBJ) tests/tap.h
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) -Itests -o $@ $< $(CORE_OBJ) $(SHIM_COMMON_OBJ) $(LDFLAGS)

$(B)/tests/probe: tests/tools/probe.c policy/rawsys.h
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) -o $@ $<

$(B)/tests/probe-static: tests/tools/probe.c policy/rawsys.h
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) -static -o $@ $<

# A 32-bit static probe proves 32-bit programs live under the seccomp filter;
# without a multilib toolchain the test says it skipped, and why.
$(B)/tests/probe32: tests/tools/probe.c policy/rawsys.h
	@mkdir -p $(dir $@)
	@$(CC) -m32 -static $(CPPFLAGS_ALL) $(CFLAGS_ALL) -o $@ $< 2>/dev/null || \
	    { echo "note: no 32-bit toolchain (gcc-multilib); the x86 test will skip"; rm -f $@; }

unit: $(UNIT_TESTS)

# The unit tests only (no root, no cluster): what dh_auto_test and %check run.
unit-check: unit
	@set -e; for t in $(UNIT_TESTS); do echo "== $$t"; $$t; done

deps:
	sh tests/lib/deps.sh

# the demo needs no other PostgreSQL versions (tests/lib/pg-versions.sh)
demo: export PGKG_VERSIONS = none

# The whole suite, then again against an ASan+UBSan build and a clang build
# (mk/sanitize.mk).  CHECK_VARIANTS=no skips the second part.  The last line
# is "N passed, N failed, N skipped" over all that ran (CI reads it): each
# tests/run.sh adds its own counts to $PGKG_COUNTS.
CHECK_VARIANTS ?= yes
check: deps all unit $(B)/tests/probe $(B)/tests/probe-static $(B)/tests/probe32
	@rm -f $(B)/check.counts
	PGKG_COUNTS=$(abspath $(B))/check.counts bash tests/run.sh
	@if [ "$(CHECK_VARIANTS)" = yes ]; then rc=0; \
	    PGKG_COUNTS=$(abspath $(B))/check.counts $(MAKE) --no-print-directory check-variants || rc=1; \
	    echo "make check: the normal variant (with the version matrix), asan and clang together:"; \
	    cat $(B)/check.counts 2>/dev/null | awk -v rc=$$rc '{ p += $$1; f += $$2; s += $$3 } \
	        END { if (rc && !f) f = 1; printf "%d passed, %d failed, %d skipped\n", p, f, s }'; \
	    exit $$rc; fi

demo: deps all
	bash tests/tools/demo.sh

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(SYSCONFDIR)/pgkillguard/policy.d
	install -m 0755 $(B)/pgkillguard $(DESTDIR)$(BINDIR)/pgkillguard
	install -m 0755 $(B)/pgkillguard-shell $(DESTDIR)$(BINDIR)/pgkillguard-shell
	install -m 0644 $(B)/libpgkillguard.so $(DESTDIR)$(LIBDIR)/libpgkillguard.so
	test -e $(DESTDIR)$(SYSCONFDIR)/pgkillguard/pgkillguard.conf || \
	    install -m 0644 policy/pgkillguard.conf $(DESTDIR)$(SYSCONFDIR)/pgkillguard/pgkillguard.conf

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/pgkillguard $(DESTDIR)$(BINDIR)/pgkillguard-shell \
	    $(DESTDIR)$(LIBDIR)/libpgkillguard.so

clean:
	rm -rf $(B)

.PHONY: all unit unit-check deps check demo install uninstall clean
-include $(patsubst %.o,%.d,$(CORE_OBJ) $(SHIM_COMMON_OBJ) $(LIB_OBJ) $(CLI_OBJ) $(B)/shim/shellmain.o)

# Further targets (fuzzing, sanitizers, packaging, ...) live in mk/*.mk.
include $(sort $(wildcard mk/*.mk))
