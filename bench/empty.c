/*
 * empty.c - libempty.so, the baseline of the start-up benchmark: a
 * preloaded library with one function and no work at load time.
 */
__attribute__((visibility("default"))) int pgkg_bench_empty(void);

int pgkg_bench_empty(void)
{
	return 0;
}
