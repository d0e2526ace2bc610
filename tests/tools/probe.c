/*
 * tests/tools/probe.c - make one kill-family call exactly as named, print what the
 * kernel (or the guard) answered: "ok" or the errno name.  Exit 0 / 1.
 *
 *   probe kill PID SIG            libc kill()
 *   probe killpg PGID SIG         libc killpg()
 *   probe sigqueue PID SIG        libc sigqueue()
 *   probe tgkill PID SIG          libc tgkill(PID, PID, SIG)
 *   probe sys-kill PID SIG        syscall(SYS_kill, ...)
 *   probe sys-tkill PID SIG       syscall(SYS_tkill, ...)
 *   probe sys-tgkill PID SIG      syscall(SYS_tgkill, PID, PID, SIG)
 *   probe sys-sigqueue PID SIG    syscall(SYS_rt_sigqueueinfo, ...)
 *   probe pidfd PID SIG           pidfd_open() + libc pidfd_send_signal()
 *   probe sys-pidfd PID SIG       pidfd_open() + syscall(SYS_pidfd_send_signal)
 *   probe procfd PID SIG          open("/proc/PID") + syscall(SYS_pidfd_send_signal), as killall
 *   probe raw-kill PID SIG        the kill system call with no libc at all (inline asm)
 *   probe keep-errno PID SIG      kill() with errno preset to EILSEQ: prints "ok EILSEQ"
 *                                 when a successful call left errno alone
 *   probe listener 0 0            try to install a seccomp filter with a listener of
 *                                 our own (what a process escaping the guard would do)
 *
 * Built twice: dynamic (build/tests/probe) and static (build/tests/probe-static).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#define PGKG_RAWSYS_OPTIONAL 1	/* a 32-bit build has no raw-kill */
#include "rawsys.h"

static long do_call(const char *how, pid_t pid, int sig)
{
	siginfo_t info = {.si_signo = sig, .si_code = SI_QUEUE, .si_pid = getpid(), .si_uid = getuid()};
	int fd;

	if (!strcmp(how, "kill"))
		return kill(pid, sig);
	if (!strcmp(how, "killpg"))
		return killpg(pid, sig);
	if (!strcmp(how, "sigqueue"))
		return sigqueue(pid, sig, (union sigval){0});
	if (!strcmp(how, "tgkill"))
		return tgkill(pid, pid, sig);
	if (!strcmp(how, "sys-kill"))
		return syscall(SYS_kill, pid, sig);
	if (!strcmp(how, "sys-tkill"))
		return syscall(SYS_tkill, pid, sig);
	if (!strcmp(how, "sys-tgkill"))
		return syscall(SYS_tgkill, pid, pid, sig);
	if (!strcmp(how, "sys-sigqueue"))
		return syscall(SYS_rt_sigqueueinfo, pid, sig, &info);
#ifdef PGKG_HAVE_RAWSYS
	if (!strcmp(how, "raw-kill"))
		return pgkg_raw_errno(pgkg_raw(SYS_kill, pid, sig, 0, 0));
#endif
	if (!strcmp(how, "pidfd") || !strcmp(how, "sys-pidfd")) {
		if ((fd = (int)syscall(SYS_pidfd_open, pid, 0)) < 0)
			return -1;
		return !strcmp(how, "pidfd") ? pidfd_send_signal(fd, sig, NULL, 0)
					     : syscall(SYS_pidfd_send_signal, fd, sig, NULL, 0);
	}
	if (!strcmp(how, "procfd")) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/%d", pid);
		if ((fd = open(path, O_RDONLY | O_DIRECTORY)) < 0)
			return -1;
		return syscall(SYS_pidfd_send_signal, fd, sig, NULL, 0);
	}
	if (!strcmp(how, "listener")) {
		struct sock_filter allow = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
		struct sock_fprog prog = {.len = 1, .filter = &allow};
		prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
		return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER,
			       &prog) < 0 ? -1 : 0;
	}
	fprintf(stderr, "probe: unknown call %s\n", how);
	exit(2);
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: probe CALL PID SIG\n");
		return 2;
	}
	pid_t pid = (pid_t)strtol(argv[2], NULL, 10);
	int sig = (int)strtol(argv[3], NULL, 10);
	if (!strcmp(argv[1], "keep-errno")) {
		errno = EILSEQ;
		long r = kill(pid, sig);
		printf("%s %s\n", r == 0 ? "ok" : "failed", strerrorname_np(errno));
		return r != 0;
	}
	errno = 0;
	long r = do_call(argv[1], pid, sig);
	if (r == 0) {
		printf("ok\n");
		return 0;
	}
	printf("%s\n", strerrorname_np(errno) ? strerrorname_np(errno) : "?");
	return 1;
}
