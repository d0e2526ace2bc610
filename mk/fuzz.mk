# mk/fuzz.mk - libFuzzer targets for the parsers that read what others write:
# the policy language, process titles, /proc/PID/stat and status, postmaster.pid and
# what a server sends the wire-protocol client (shim/pgwire.c)
# (tests/fuzz/fuzz_*.c; what each checks is at the top of its file).
#
#   make fuzz [FUZZ_SECONDS=60] [FUZZ_TARGETS="policy title stat status pidfile pgwire"]
#       build (clang, libFuzzer + ASan + UBSan) and run each target for
#       FUZZ_SECONDS, starting from tests/fuzz/corpus/NAME and
#       tests/fuzz/regress/NAME; fails if any target finds a crash
#   make fuzz-build   build only
#
# Everything goes to build/fuzz/: new inputs to build/fuzz/corpus/NAME (the
# seed corpus in the tree is never written), crashes to
# build/fuzz/artifacts/NAME/.  A crash becomes a regression test by copying
# the input to tests/fuzz/regress/NAME/ (test_fuzzcorpus replays it in
# `make check`).  Needs clang (Debian: the clang package).

FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= policy title stat status pidfile pgwire
FUZZ_B       := $(B)/fuzz
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_BINS     = $(FUZZ_TARGETS:%=$(B)/fuzz/fuzz_%)

fuzz-build:
	@command -v $(FUZZ_CC) >/dev/null || { echo "fuzz: $(FUZZ_CC) not found (apt-get install clang)"; exit 1; }
	$(MAKE) --no-print-directory B=$(FUZZ_B) CC=$(FUZZ_CC) HARDEN=-fPIC \
	    CFLAGS="-O1 -g $(FUZZ_SAN) -fsanitize=fuzzer-no-link" fuzz-bins

fuzz-bins: $(FUZZ_BINS)

$(B)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(CORE_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) -Itests/fuzz -fsanitize=fuzzer -o $@ $< $(CORE_OBJ) $(LDFLAGS)

# fuzz_pgwire.c includes shim/pgwire.c (its static parsers, no extra object)
$(B)/fuzz/fuzz_pgwire: shim/pgwire.c shim/pgwire.h
$(B)/tests/test_fuzzcorpus: $(wildcard tests/fuzz/fuzz_*.c) tests/fuzz/fuzz.h shim/pgwire.c

fuzz: fuzz-build
	@bad=""; for t in $(FUZZ_TARGETS); do \
	    mkdir -p $(FUZZ_B)/corpus/$$t $(FUZZ_B)/artifacts/$$t; \
	    dirs="$(FUZZ_B)/corpus/$$t tests/fuzz/corpus/$$t"; \
	    [ ! -d tests/fuzz/regress/$$t ] || dirs="$$dirs tests/fuzz/regress/$$t"; \
	    dict=""; [ ! -f tests/fuzz/$$t.dict ] || dict=-dict=tests/fuzz/$$t.dict; \
	    echo "fuzz: $$t for $(FUZZ_SECONDS) s"; \
	    if $(FUZZ_B)/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -timeout=10 \
	        -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 $$dict \
	        -artifact_prefix=$(FUZZ_B)/artifacts/$$t/ $$dirs \
	        >$(FUZZ_B)/fuzz_$$t.log 2>&1; then \
	        echo "fuzz: $$t: no crash; $$(grep -E '^stat::number_of_executed_units' $(FUZZ_B)/fuzz_$$t.log | sed 's/.*: *//') runs, $$(ls $(FUZZ_B)/corpus/$$t | wc -l) new corpus inputs"; \
	    else \
	        echo "fuzz: $$t: FAILED, see $(FUZZ_B)/fuzz_$$t.log and $(FUZZ_B)/artifacts/$$t/"; \
	        grep -E 'ERROR|promise broken|SUMMARY' $(FUZZ_B)/fuzz_$$t.log | head -5; \
	        bad="$$bad $$t"; \
	    fi; \
	done; \
	[ -z "$$bad" ] || { echo "fuzz: crashes in:$$bad"; exit 1; }

.PHONY: fuzz fuzz-build fuzz-bins
