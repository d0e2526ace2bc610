/*
 * sigcall.c - the one decoder of intercepted calls (see sigcall.h).
 */
#include "sigcall.h"

#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <linux/sockios.h>

#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

static const struct {
	const char *name;
	enum pgkg_sysc sc;
} names[] = {
	{"kill", PGKG_SC_KILL},
	{"tkill", PGKG_SC_TKILL},
	{"tgkill", PGKG_SC_TGKILL},
	{"rt_sigqueueinfo", PGKG_SC_RT_SIGQUEUEINFO},
	{"rt_tgsigqueueinfo", PGKG_SC_RT_TGSIGQUEUEINFO},
	{"pidfd_send_signal", PGKG_SC_PIDFD_SEND_SIGNAL},
	{"fcntl", PGKG_SC_FCNTL},
	{"fcntl64", PGKG_SC_FCNTL},
	{"ioctl", PGKG_SC_IOCTL},
	{"ptrace", PGKG_SC_PTRACE},
};

enum pgkg_sysc pgkg_sysc_from_name(const char *name)
{
	for (size_t i = 0; name && i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(name, names[i].name))
			return names[i].sc;
	return PGKG_SC_NONE;
}

enum pgkg_sysc pgkg_sysc_from_nr(long nr)
{
	switch (nr) {
	case SYS_kill: return PGKG_SC_KILL;
	case SYS_tkill: return PGKG_SC_TKILL;
	case SYS_tgkill: return PGKG_SC_TGKILL;
	case SYS_rt_sigqueueinfo: return PGKG_SC_RT_SIGQUEUEINFO;
	case SYS_rt_tgsigqueueinfo: return PGKG_SC_RT_TGSIGQUEUEINFO;
	case SYS_pidfd_send_signal: return PGKG_SC_PIDFD_SEND_SIGNAL;
	default: return PGKG_SC_NONE;
	}
}

/* int and unsigned int arguments: the low half of the register. */
static int arg_int(uint64_t v)
{
	return (int)(uint32_t)v;
}

static unsigned arg_uint(uint64_t v)
{
	return (uint32_t)v;
}

static void by_pid(struct pgkg_sigcall *o, const char *how, uint64_t pid, uint64_t sig)
{
	o->kind = PGKG_SIGCALL_PID;
	o->how = how;
	o->pid = arg_int(pid);
	o->sig = arg_int(sig);
}

static void owner(struct pgkg_sigcall *o, const char *how, enum pgkg_owner_arg arg, uint64_t v)
{
	o->kind = PGKG_SIGCALL_OWNER;
	o->how = how;
	o->owner_arg = arg;
	if (arg == PGKG_OWNER_REG)
		o->pid = arg_int(v);	/* f_setown(filp, (int)arg, 1) */
	else
		o->ptr = v;
}

static void decode_fcntl(const uint64_t a[6], struct pgkg_sigcall *o)
{
	switch (arg_uint(a[1])) {
	case F_SETOWN:
		owner(o, "fcntl(F_SETOWN)", PGKG_OWNER_REG, a[2]);
		break;
	case F_SETOWN_EX:
		owner(o, "fcntl(F_SETOWN_EX)", PGKG_OWNER_EX, a[2]);
		break;
	}
}

static void decode_ioctl(const uint64_t a[6], struct pgkg_sigcall *o)
{
	switch (arg_uint(a[1])) {
	case FIOSETOWN:
		owner(o, "ioctl(FIOSETOWN)", PGKG_OWNER_INT, a[2]);
		break;
	case SIOCSPGRP:
		owner(o, "ioctl(SIOCSPGRP)", PGKG_OWNER_INT, a[2]);
		break;
	}
}

void pgkg_sigcall_decode(enum pgkg_sysc sc, const uint64_t a[6], struct pgkg_sigcall *o)
{
	memset(o, 0, sizeof(*o));
	o->fd = -1;
	switch (sc) {
	case PGKG_SC_KILL: by_pid(o, "kill", a[0], a[1]); break;
	case PGKG_SC_TKILL: by_pid(o, "tkill", a[0], a[1]); break;
	case PGKG_SC_TGKILL: by_pid(o, "tgkill", a[0], a[2]); break;
	case PGKG_SC_RT_SIGQUEUEINFO: by_pid(o, "rt_sigqueueinfo", a[0], a[1]); break;
	case PGKG_SC_RT_TGSIGQUEUEINFO: by_pid(o, "rt_tgsigqueueinfo", a[0], a[2]); break;
	case PGKG_SC_PIDFD_SEND_SIGNAL:
		o->kind = PGKG_SIGCALL_FD;
		o->how = "pidfd_send_signal";
		o->fd = arg_int(a[0]);
		o->sig = arg_int(a[1]);
		o->ptr = a[2];
		o->flags = arg_uint(a[3]);
		break;
	case PGKG_SC_FCNTL: decode_fcntl(a, o); break;
	case PGKG_SC_IOCTL: decode_ioctl(a, o); break;
	case PGKG_SC_PTRACE:
		/* long request, long pid (a pid_t to the kernel), unsigned long data */
		o->kind = PGKG_SIGCALL_PTRACE;
		o->how = "ptrace";
		o->request = (long)a[0];
		o->pid = arg_int(a[1]);
		o->ptr = a[3];
		break;
	case PGKG_SC_NONE: break;
	}
	/* tkill, tgkill and the thread-directed queue call name a thread: only
	 * a positive id means anything to the kernel (EINVAL otherwise). */
	if (o->kind == PGKG_SIGCALL_PID && sc != PGKG_SC_KILL && o->pid <= 0)
		o->kind = PGKG_SIGCALL_NONE;
	if ((o->kind == PGKG_SIGCALL_PID || o->kind == PGKG_SIGCALL_FD) && o->sig == 0)
		o->kind = PGKG_SIGCALL_NONE;	/* existence checks */
}

struct pgkg_call pgkg_sigcall_pid_call(const struct pgkg_sigcall *sc)
{
	return (struct pgkg_call){.how = sc->how, .pid = sc->pid, .sig = sc->sig, .pidfd = -1};
}

struct pgkg_call pgkg_sigcall_fd_call(const struct pgkg_sigcall *sc, long fd_pid, int pin)
{
	struct pgkg_call c = {.how = sc->how, .pid = fd_pid, .sig = sc->sig, .pidfd = pin};

	if (sc->flags & PIDFD_SIGNAL_PROCESS_GROUP) {
		c.pid = -fd_pid;	/* kill_pgrp_info(sig, info, pid): pgid == fd_pid */
		c.pidfd = -1;
	}
	return c;
}

long pgkg_sigcall_owner_ex(int type, int pid)
{
	return type == F_OWNER_PGRP ? -(long)pid : pid;
}
