# mk/sanitize.mk - the same suite in other builds, and static analysis.
#
#   make check-asan      the whole suite (unit + integration) against a clang
#                        build with AddressSanitizer and UBSan (build/asan)
#   make check-clang     the whole suite against a plain clang build (build/clang)
#   make check-variants  both (what CI runs after `make check`)
#   make analyze         cppcheck and clang-tidy over the C sources; fails on
#                        any finding not triaged in docs/ANALYSIS.md
#   make check-all       check, check-variants, analyze and a short fuzz run
#
# How the ASan variant is put together (tests/tools/variant.sh runs the suite in a
# copy of the tree whose build/ links to the variant's outputs):
#  - the command, the setuid shell, the unit tests and the test programs are
#    ASan+UBSan builds; every process writes its reports to a log directory
#    and any report fails the run, whoever started the process;
#  - the library the tests preload is a UBSan build in trap mode
#    (-fsanitize-trap: no runtime, so it loads into bash, psql, python ...
#    like the real one; undefined behaviour is a SIGILL in the caller);
#  - the ASan build of the library itself needs the ASan runtime loaded
#    first; tests/integration/86-asan-preload.sh preloads both into real
#    programs (PGKG_ASAN_RT names the runtime);
#  - the programs the tests drive (probes, callers, writer) are test tools,
#    and the static ones cannot be sanitized: they come from build/.
# _FORTIFY_SOURCE is left out of sanitizer builds: its checked wrappers hide
# the calls from ASan's interceptors.  The clang build writes DWARF 4, which
# valgrind 3.19 (84-valgrind.sh) can read; clang 14's default DWARF 5 it cannot.

SAN_CC        ?= clang
SAN_FLAGS     := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
ASAN_B        := $(B)/asan
CLANG_B       := $(B)/clang
SAN_TARGETS   := all unit

san-deps:
	@command -v $(SAN_CC) >/dev/null 2>&1 || PGKG_DEPS="clang" sh tests/lib/deps.sh

SAN_DRIVERS   := all test-programs $(B)/tests/probe $(B)/tests/probe-static $(B)/tests/probe32

asan-build: deps san-deps $(SAN_DRIVERS)
	$(MAKE) --no-print-directory B=$(ASAN_B) CC=$(SAN_CC) HARDEN="-fstack-protector-strong -fPIC" \
	    CFLAGS="-O1 -g $(SAN_FLAGS)" $(SAN_TARGETS)
	$(MAKE) --no-print-directory B=$(ASAN_B)/preload CC=$(SAN_CC) \
	    CFLAGS="-O1 -g -fsanitize=undefined -fsanitize-trap=undefined" $(ASAN_B)/preload/libpgkillguard.so

clang-build: deps san-deps $(SAN_DRIVERS)
	$(MAKE) --no-print-directory B=$(CLANG_B) CC=$(SAN_CC) CFLAGS="-O2 -g -gdwarf-4" $(SAN_TARGETS)

check-asan: asan-build
	PGKG_ASAN_RT="$$($(SAN_CC) -print-file-name=libclang_rt.asan-$$(uname -m).so)" \
	    bash tests/tools/variant.sh asan $(ASAN_B) $(ASAN_B)/preload/libpgkillguard.so

check-clang: clang-build
	bash tests/tools/variant.sh clang $(CLANG_B)

check-variants:
	$(MAKE) --no-print-directory check-asan
	$(MAKE) --no-print-directory check-clang

# ---- static analysis (tests/tools/analyze.sh; docs/ANALYSIS.md says what is
# checked, and why each finding in tests/tools/analysis.baseline is not a defect)
analyze: deps $(B)/default_policy.c
	@command -v cppcheck >/dev/null 2>&1 && command -v clang-tidy >/dev/null 2>&1 || \
	    PGKG_DEPS="cppcheck clang-tidy" sh tests/lib/deps.sh
	PGKG_BUILD=$(B) bash tests/tools/analyze.sh

check-all: check check-variants analyze
	$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=30

.PHONY: san-deps asan-build clang-build check-asan check-clang check-variants analyze check-all
