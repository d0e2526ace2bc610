/*
 * filter.c - the seccomp filter of an enforced session.
 *
 * Rules:
 *  1. Every kill-family call with a non-zero signal is notified to the
 *     supervisor; so are the calls that name a signal recipient by proxy
 *     (F_SETOWN and friends: the owner gets SIGIO, or the F_SETSIG signal).
 *  2. Arguments are compared as the kernel reads them: int and unsigned int
 *     arguments on their low 32 bits only (SCMP_CMP_MASKED_EQ), so junk in a
 *     register's upper half cannot steer a call past the filter.  The
 *     signal test is "any bit set" on the whole register: a superset, the
 *     supervisor decodes the low half (sigcall.c).
 *     ptrace requests that attach or carry a signal are notified too.
 *  3. No process of the session may install a listener of its own (it could
 *     answer CONTINUE to its own calls), nor create a user namespace
 *     (unshare/clone with CLONE_NEWUSER: EPERM; clone3, whose flags are in
 *     memory the filter cannot read: ENOSYS, so libc falls back to clone).
 *     A user namespace gives its creator every capability over what it
 *     mounts and names, which undoes the assumptions the guard makes about
 *     /proc, fds and credentials; SECURITY.md says what this costs.
 */
#include "filter.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <sched.h>
#include <sys/ptrace.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#ifndef SECCOMP_FILTER_FLAG_NEW_LISTENER
#define SECCOMP_FILTER_FLAG_NEW_LISTENER (1UL << 3)
#endif

#define LOW32 0xffffffffULL

/* Where the signal number sits, per guarded system call. */
static const struct {
	const char *name;
	unsigned sig_arg;
} guarded[] = {
	{"kill", 1}, {"tkill", 1}, {"tgkill", 2},
	{"rt_sigqueueinfo", 1}, {"rt_tgsigqueueinfo", 2}, {"pidfd_send_signal", 1},
};

/* Signals by proxy: the owner of a file receives SIGIO (sigcall.c decodes). */
static const struct {
	const char *name;
	unsigned long request;
} owner_calls[] = {
	{"fcntl", F_SETOWN}, {"fcntl", F_SETOWN_EX},
	{"fcntl64", F_SETOWN}, {"fcntl64", F_SETOWN_EX},
	{"ioctl", FIOSETOWN}, {"ioctl", SIOCSPGRP},
};

static int add_signal_rules(scmp_filter_ctx ctx)
{
	int r = 0;

	for (size_t i = 0; i < sizeof(guarded) / sizeof(guarded[0]) && !r; i++) {
		int nr = seccomp_syscall_resolve_name(guarded[i].name);
		if (nr == __NR_SCMP_ERROR)
			continue;
		r = seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, nr, 1,
				     SCMP_CMP64(guarded[i].sig_arg, SCMP_CMP_NE, 0, 0));
	}
	return r;
}

static int add_owner_rules(scmp_filter_ctx ctx)
{
	int r = 0;

	for (size_t i = 0; i < sizeof(owner_calls) / sizeof(owner_calls[0]) && !r; i++) {
		int nr = seccomp_syscall_resolve_name(owner_calls[i].name);
		if (nr == __NR_SCMP_ERROR)
			continue;
		r = seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, nr, 1,
				     SCMP_A1_64(SCMP_CMP_MASKED_EQ, LOW32, owner_calls[i].request));
		if (r == -EDOM || r == -EINVAL)
			r = 0;	/* fcntl64 exists on 32-bit ABIs only */
	}
	return r;
}

/* ptrace: attaching (a warning, or a policy refusal), PTRACE_KILL, and the
 * resume requests when they carry a signal (data != 0): the supervisor
 * judges them with the preload library's rules (ptraceguard.c).  The request and
 * the data are compared whole, as the kernel reads them (long, unsigned long). */
static int add_ptrace_rules(scmp_filter_ctx ctx)
{
	static const long always[] = {PTRACE_ATTACH, PTRACE_SEIZE, PTRACE_KILL, PTRACE_SETOPTIONS};
	static const long with_signal[] = {PTRACE_CONT, PTRACE_SYSCALL, PTRACE_SINGLESTEP,
					   PTRACE_DETACH, PTRACE_LISTEN, PTRACE_SYSEMU,
					   PTRACE_SYSEMU_SINGLESTEP};
	int r = 0;

	for (size_t i = 0; i < sizeof(always) / sizeof(always[0]) && !r; i++)
		r = seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(ptrace), 1,
				     SCMP_A0_64(SCMP_CMP_EQ, (uint64_t)always[i], 0));
	for (size_t i = 0; i < sizeof(with_signal) / sizeof(with_signal[0]) && !r; i++)
		r = seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(ptrace), 2,
				     SCMP_A0_64(SCMP_CMP_EQ, (uint64_t)with_signal[i], 0),
				     SCMP_A3_64(SCMP_CMP_NE, 0, 0));
	return r;
}

static int add_refusals(scmp_filter_ctx ctx)
{
	int r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(seccomp), 1,
				 SCMP_A1_64(SCMP_CMP_MASKED_EQ, SECCOMP_FILTER_FLAG_NEW_LISTENER,
					    SECCOMP_FILTER_FLAG_NEW_LISTENER));

	if (!r)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(unshare), 1,
				     SCMP_A0_64(SCMP_CMP_MASKED_EQ, CLONE_NEWUSER, CLONE_NEWUSER));
	if (!r)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
				     SCMP_A0_64(SCMP_CMP_MASKED_EQ, CLONE_NEWUSER, CLONE_NEWUSER));
	if (!r && seccomp_syscall_resolve_name("clone3") != __NR_SCMP_ERROR)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), seccomp_syscall_resolve_name("clone3"), 0);
	return r;
}

scmp_filter_ctx pgkg_filter_build(bool nnp, const char **what)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	int r;

	if (!ctx) {
		*what = "seccomp_init";
		return NULL;
	}
	/* 32-bit and x32 programs must not die on their first system call. */
	if (seccomp_arch_native() == SCMP_ARCH_X86_64) {
		seccomp_arch_add(ctx, SCMP_ARCH_X86);
		seccomp_arch_add(ctx, SCMP_ARCH_X32);
	}
	if ((r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, nnp)) < 0 ||
	    (r = add_signal_rules(ctx)) < 0 || (r = add_owner_rules(ctx)) < 0 ||
	    (r = add_ptrace_rules(ctx)) < 0 ||
	    (r = add_refusals(ctx)) < 0) {
		*what = "building the seccomp filter";
		seccomp_release(ctx);
		errno = -r;
		return NULL;
	}
	return ctx;
}
