# mk/stress.mk - the kill storm and the programs the reliability tests drive.
#
#   make stress [STORM_SECONDS=300] [STORM_WRITERS=8]
#       tests/stress/storm.sh on a throwaway cluster: writers inserting with
#       synchronous commit while a steady stream of KILL/QUIT/ABRT/SEGV/BUS
#       goes to their backends through a guarded shell (LD_PRELOAD) and
#       through `pgkillguard exec busybox kill`.  Prints the figures; fails
#       on a crash-restart, a new postmaster, a lost acknowledged insert or a
#       rewrite that did not report success.  `make check` runs a short
#       version (tests/integration/85-kill-storm.sh).
#
# The test programs below are built for `make check` too (the prerequisites
# are added to `check` from here, so the Makefile itself needs no change).

STORM_SECONDS ?= 300
STORM_WRITERS ?= 8

$(B)/tests/writer: tests/stress/writer.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_ALL) $(PQ_CFLAGS) $(CFLAGS_ALL) -o $@ $< $(LDFLAGS) -lpq

$(B)/tests/callers: tests/tools/callers.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) -o $@ $< $(LDFLAGS)

TEST_PROGRAMS := $(B)/tests/writer $(B)/tests/callers $(B)/tests/attack $(B)/tests/dropcheck $(B)/tests/r1 $(B)/tests/r2

test-programs: $(TEST_PROGRAMS)

check: $(TEST_PROGRAMS)

stress: deps all $(TEST_PROGRAMS) $(B)/tests/probe
	STORM_SECONDS=$(STORM_SECONDS) STORM_WRITERS=$(STORM_WRITERS) bash tests/stress/storm.sh

.PHONY: stress test-programs
