# mk/bench.mk - `make bench`: what the guard costs, measured side by side,
# written to BENCHMARKS.md by bench/run.sh.  Not part of `make check`:
# timings are not tests, and CI stays deterministic.

BENCH_BIN := $(B)/bench/pgkg-bench $(B)/bench/preload-exec $(B)/bench/libempty.so \
             $(B)/bench/linkpq $(B)/bench/nolinkpq

$(B)/bench/pgkg-bench: bench/driver.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) -pie $(LDHARDEN) -o $@ $< $(LDFLAGS)

# Static, so that the wrapper every start-up arm goes through costs little.
$(B)/bench/preload-exec: bench/preload-exec.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) -static -o $@ $< $(LDFLAGS)

# The start-up baseline: a preloaded library that does nothing.
$(B)/bench/libempty.so: bench/empty.c
	@mkdir -p $(dir $@)
	$(CC) -shared $(CPPFLAGS_ALL) $(CFLAGS_ALL) $(LDHARDEN) -o $@ $< $(LDFLAGS)

# What linking libpq costs a program at start (the helper no longer does).
$(B)/bench/linkpq: bench/linkpq.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_ALL) $(PQ_CFLAGS) -DWITH_LIBPQ $(CFLAGS_ALL) -pie $(LDHARDEN) -o $@ $< $(LDFLAGS) -lpq

$(B)/bench/nolinkpq: bench/linkpq.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) -pie $(LDHARDEN) -o $@ $< $(LDFLAGS)

bench: all $(BENCH_BIN)
	bash bench/run.sh

# Only the picture (docs/kill9-timeline.png), which `make bench` draws too.
bench-timeline: all
	bash bench/timeline.sh

.PHONY: bench bench-timeline
