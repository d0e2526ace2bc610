/*
 * preload-exec.c - `preload-exec LIB|- CMD [ARGS...]`: run CMD with
 * LD_PRELOAD=LIB (or with LD_PRELOAD removed, for "-").  The start-up
 * benchmark runs every arm through this same static wrapper, so the arms
 * differ in the preloaded library only (`env` would add a dynamic exec).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 3) {
		fputs("usage: preload-exec LIB|- CMD [ARGS...]\n", stderr);
		return 2;
	}
	if (strcmp(argv[1], "-") == 0)
		unsetenv("LD_PRELOAD");
	else if (setenv("LD_PRELOAD", argv[1], 1) < 0)
		return 127;
	execv(argv[2], argv + 2);
	perror(argv[2]);
	return 127;
}
