/*
 * sigcall.h - the one decoder of intercepted calls, shared by the preload
 * library and the seccomp supervisor, so the two can never read a call
 * differently again.
 *
 *  1. Arguments are read as the kernel reads them: int and unsigned int
 *     arguments from the low 32 bits of their register, whatever the upper
 *     half holds.
 *  2. A pidfd_send_signal call names its target through an fd: the decoder
 *     only says so; each front-end resolves the fd (pgkg_fd_target) and
 *     hands the result to pgkg_sigcall_fd_call, which applies the flags the
 *     way the kernel does (PIDFD_SIGNAL_PROCESS_GROUP: the group whose id
 *     is the fd's pid).
 *  3. Pure functions: no system calls, no allocation.
 */
#ifndef PGKG_SIGCALL_H
#define PGKG_SIGCALL_H

#include <stdbool.h>
#include <stdint.h>

#include "guard.h"

#ifndef PIDFD_SIGNAL_THREAD
#define PIDFD_SIGNAL_THREAD (1U << 0)
#endif
#ifndef PIDFD_SIGNAL_THREAD_GROUP
#define PIDFD_SIGNAL_THREAD_GROUP (1U << 1)
#endif
#ifndef PIDFD_SIGNAL_PROCESS_GROUP
#define PIDFD_SIGNAL_PROCESS_GROUP (1U << 2)
#endif

/* The intercepted system calls, independent of the ABI's numbering. */
enum pgkg_sysc {
	PGKG_SC_NONE = 0,
	PGKG_SC_KILL,
	PGKG_SC_TKILL,
	PGKG_SC_TGKILL,
	PGKG_SC_RT_SIGQUEUEINFO,
	PGKG_SC_RT_TGSIGQUEUEINFO,
	PGKG_SC_PIDFD_SEND_SIGNAL,
	PGKG_SC_FCNTL,		/* fcntl and fcntl64 */
	PGKG_SC_IOCTL,
	PGKG_SC_PTRACE,
};

enum pgkg_sigcall_kind {
	PGKG_SIGCALL_NONE = 0,	/* nothing to judge: not a signal, not an owner change */
	PGKG_SIGCALL_PID,	/* a signal by pid (or group, or broadcast) */
	PGKG_SIGCALL_FD,	/* pidfd_send_signal: the target is behind fd */
	PGKG_SIGCALL_OWNER,	/* F_SETOWN-like: pid (or -pgid) will receive SIGIO */
	PGKG_SIGCALL_PTRACE,	/* ptrace(request, pid, _, data): ptraceguard.c judges it */
};

/* How an owner call passes its owner. */
enum pgkg_owner_arg {
	PGKG_OWNER_REG = 0,	/* fcntl F_SETOWN: in the register (pid) */
	PGKG_OWNER_EX,		/* fcntl F_SETOWN_EX: struct f_owner_ex at ptr */
	PGKG_OWNER_INT,		/* ioctl FIOSETOWN / SIOCSPGRP: int at ptr */
};

struct pgkg_sigcall {
	enum pgkg_sigcall_kind kind;
	const char *how;	/* "kill", "tgkill", "fcntl(F_SETOWN)", ... */
	long pid;		/* PID: as the kernel reads it; OWNER (REG): the owner */
	int sig;
	int fd;			/* FD: the caller's fd number */
	unsigned flags;		/* FD: pidfd_send_signal's flags */
	uint64_t ptr;		/* FD: the caller's siginfo; OWNER: where the owner is */
	enum pgkg_owner_arg owner_arg;
	long request;		/* PTRACE: the request; data is in ptr */
};

/* Map a system call name (libseccomp's) to its kind; PGKG_SC_NONE if not ours. */
enum pgkg_sysc pgkg_sysc_from_name(const char *name);
/* The same for this ABI's native numbers. */
enum pgkg_sysc pgkg_sysc_from_nr(long nr);

/* Decode one call from its six raw arguments. */
void pgkg_sigcall_decode(enum pgkg_sysc sc, const uint64_t args[6], struct pgkg_sigcall *out);

/* The guard call for a PID call. */
struct pgkg_call pgkg_sigcall_pid_call(const struct pgkg_sigcall *sc);

/* The guard call for an FD call whose fd names process fd_pid (> 0):
 * with PIDFD_SIGNAL_PROCESS_GROUP the kernel signals the process group
 * whose id is fd_pid (every member, leader or not), else fd_pid itself. */
struct pgkg_call pgkg_sigcall_fd_call(const struct pgkg_sigcall *sc, long fd_pid, int pin);

/* The owner an OWNER call names once its memory argument is read:
 * F_SETOWN_EX (type, pid) or the int of the ioctls. */
long pgkg_sigcall_owner_ex(int type, int pid);

#endif
