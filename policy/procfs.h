/*
 * procfs.h - reading /proc, postmaster.pid and titles to classify a target.
 *
 * Everything takes the proc root ("/proc" in production, a fixture tree in
 * tests).  Async-signal-safe: open/read/readlink/close only, fixed buffers,
 * no allocation.  Returns 0 or a negative errno; never prints.
 */
#ifndef PGKG_PROCFS_H
#define PGKG_PROCFS_H

#include <stdbool.h>
#include <sys/types.h>

#include "kinds.h"
#include "title.h"

#define PGKG_PATH_MAX 1024

/* The executable names a postmaster can have (comm).  Compile-time list,
 * override with -DPGKG_SERVER_NAMES='"postgres","postmaster",...'. */
bool pgkg_is_server_name(const char *comm);
/* The pid file names looked up in the postmaster's cwd. */
extern const char *const pgkg_pidfile_names[];

struct pgkg_procstat {
	pid_t pid;
	char comm[16];
	char state;		/* R S D Z T t X ... */
	pid_t ppid;
	pid_t pgrp;
	pid_t session;
	int tty_nr;		/* controlling terminal (field 7), 0: none */
	unsigned long long starttime;	/* clock ticks since boot, field 22 */
	uid_t uid;		/* owner of /proc/PID (the process's euid) */
};

/* Parse the contents of /proc/PID/stat (comm may contain ')' and spaces). Pure. */
int pgkg_parse_stat(const char *buf, size_t len, struct pgkg_procstat *out);
/* Read and parse <procroot>/<pid>/stat; fills uid from stat() of the dir. */
int pgkg_read_stat(const char *procroot, pid_t pid, struct pgkg_procstat *out);
/* Read <procroot>/<pid>/comm without the newline. */
int pgkg_read_comm(const char *procroot, pid_t pid, char comm[16]);
/* Read the title (<procroot>/<pid>/cmdline up to the first NUL). Returns length or -errno. */
ssize_t pgkg_read_title(const char *procroot, pid_t pid, char *buf, size_t cap);

/* What a postmaster's pid file says (PG-FACTS "postmaster.pid"). */
struct pgkg_pidfile {
	long long pid;		/* line 1 */
	char datadir[PGKG_PATH_MAX];	/* line 2 */
	long long start_time;	/* line 3 */
	int port;		/* line 4, 0 if absent */
	char sockdir[PGKG_PATH_MAX];	/* line 5, may be "" */
	char listen[256];	/* line 6 */
	char status[16];	/* line 8, trailing spaces removed, may be "" */
};
/* Parse pid file contents. Pure. -EINVAL when line 1 is not a pid. */
int pgkg_parse_pidfile(const char *buf, size_t len, struct pgkg_pidfile *out);

struct pgkg_cluster {
	pid_t postmaster;
	uid_t owner;		/* the postmaster's uid */
	unsigned long long pm_starttime;
	char pidfile_name[16];	/* "postmaster.pid" or "kingbase.pid" */
	char datadir[PGKG_PATH_MAX];	/* from /proc/PM/cwd, as the server sees it */
	struct pgkg_pidfile pf;
};

/*
 * Is pid a postmaster?  comm is a server name and <procroot>/<pid>/cwd/<pidfile>
 * names pid on line 1 (or the pid's innermost NSpid, for a containerised server).
 * Returns 1 and fills *out if it is, 0 if it is not, or a negative errno
 * when it cannot tell (-EACCES: cwd not readable by us; -ESRCH: gone).
 */
int pgkg_probe_postmaster(const char *procroot, pid_t pid, struct pgkg_cluster *out);

struct pgkg_target {
	pid_t pid;
	pid_t ns_pid;		/* the pid as the target's server sees it (its postmaster's
				 * pid namespace); == pid outside containers */
	struct pgkg_procstat st;
	enum pgkg_kind kind;	/* PGKG_KIND_NONE: not protected */
	struct pgkg_title title;	/* for children */
	struct pgkg_cluster cluster;	/* valid when kind != NONE */
	bool unverified;	/* server-named child whose parent could not be checked (EACCES) */
};

/*
 * Classify pid: the postmaster, a child of a postmaster (kind from its title)
 * or not protected (kind NONE).  Reads /proc/PID/stat first and stops there
 * when comm is not a server name or the process is a zombie (a signal to a
 * zombie does nothing).  Returns 0, or -ESRCH if pid is gone.
 * When the parent is server-named but cannot be checked (-EACCES), kind is
 * PGKG_KIND_UNKNOWN_CHILD and unverified is set (fail closed).
 * A server-titled process whose cwd pid file names a postmaster that no
 * longer exists is PGKG_KIND_ORPHAN (title.kind keeps what it was; cluster
 * holds the pid file, the data directory and the dead postmaster's pid).
 */
int pgkg_classify(const char *procroot, pid_t pid, struct pgkg_target *out);

/*
 * What <procroot>/<pid>/status says: the one parser of that file, streamed
 * through a small buffer (the Groups line can be long).  A line counts in
 * `have` when it is there and well formed, in `bad` when it is there but is
 * not (Groups: also more than PGKG_STATUS_MAX_GROUPS of them); the fields of
 * a line that is not in `have` are not to be used.
 */
#define PGKG_STATUS_MAX_GROUPS 256
#define PGKG_STATUS_MAX_NSPID 33	/* the kernel nests pid namespaces 32 deep */
enum {
	PGKG_STATUS_STATE = 1u << 0,
	PGKG_STATUS_TGID = 1u << 1,
	PGKG_STATUS_TRACER = 1u << 2,
	PGKG_STATUS_UID = 1u << 3,
	PGKG_STATUS_GID = 1u << 4,
	PGKG_STATUS_GROUPS = 1u << 5,
	PGKG_STATUS_NSPID = 1u << 6,
	PGKG_STATUS_CAPEFF = 1u << 7,
	PGKG_STATUS_SECCOMP = 1u << 8,
};
struct pgkg_status {
	unsigned have, bad;	/* PGKG_STATUS_* */
	char state;		/* State: R S D Z T t X ... */
	pid_t tgid;		/* Tgid: */
	pid_t tracer;		/* TracerPid: 0 when not traced */
	uid_t uid[4];		/* Uid: real, effective, saved, filesystem */
	gid_t gid[4];		/* Gid: */
	int ngroups;		/* Groups: */
	gid_t groups[PGKG_STATUS_MAX_GROUPS];
	int nnspid;		/* NSpid: the pid in each pid namespace, ours first */
	pid_t nspid[PGKG_STATUS_MAX_NSPID];
	unsigned long long cap_eff;	/* CapEff: */
	int seccomp;		/* Seccomp: 0 none, 1 strict, 2 filter */
};
/* Parse the contents of a status file.  Pure; always 0 (see have/bad). */
int pgkg_parse_status(const char *buf, size_t len, struct pgkg_status *out);
/* Read and parse the status file at path, stopping once every line of want
 * (PGKG_STATUS_*; 0: the whole file) is in have or bad: 0, or -errno. */
int pgkg_read_status_file(const char *path, unsigned want, struct pgkg_status *out);
/* The same for <procroot>/<pid>/status: 0, -ESRCH (gone) or -errno. */
int pgkg_read_status(const char *procroot, pid_t pid, unsigned want, struct pgkg_status *out);

/* A thread's credentials, from <procroot>/<tid>/status (creds are per thread). */
#define PGKG_CREDS_MAX_GROUPS PGKG_STATUS_MAX_GROUPS
struct pgkg_creds {
	pid_t tgid;
	uid_t uid[4];		/* real, effective, saved, filesystem */
	gid_t gid[4];
	int ngroups;
	gid_t groups[PGKG_CREDS_MAX_GROUPS];
	unsigned long long cap_eff;
};
/* 0, -ESRCH (gone), or -EINVAL (a line missing or too many groups). */
int pgkg_read_creds(const char *procroot, pid_t tid, struct pgkg_creds *out);

/* What an fd passed to pidfd_send_signal turned out to be. */
enum pgkg_fd_kind {
	PGKG_FD_OTHER = 0,	/* not a process fd: the kernel says EBADF */
	PGKG_FD_PIDFD,		/* a pidfd of a live process (pid returned) */
	PGKG_FD_PROCDIR,	/* an open("/proc/PID") directory of our procfs (pid returned) */
	PGKG_FD_GONE,		/* a process fd whose process has exited: ESRCH */
	PGKG_FD_UNVERIFIED,	/* a process fd we cannot map to a pid of ours: refuse */
};

/*
 * The process that fd (in this process) names, for pidfd_send_signal.
 * Resolved through the fd itself, never through a path name:
 *  - a pidfd: the "Pid:" of its fdinfo, read through our own procfs (0 there
 *    means the process is outside our pid namespace: UNVERIFIED);
 *  - a procfs directory: only one of procroot's own superblock (a procfs
 *    mounted elsewhere, e.g. by another pid namespace, counts pids
 *    differently: UNVERIFIED), whose pid is read from its own "stat" and
 *    which must be the very directory procroot shows for that pid (same
 *    device and inode: a task directory or a reused pid is UNVERIFIED).
 * Returns the pid for PIDFD and PROCDIR, else 0.  Async-signal-safe.
 */
long pgkg_fd_target(const char *procroot, int fd, enum pgkg_fd_kind *kind);

/* ---- why a process does not go away ---- */

/* TracerPid: of <procroot>/<pid>/status (0: not traced). */
int pgkg_read_tracer(const char *procroot, pid_t pid, pid_t *tracer);
/* <procroot>/<pid>/wchan ("" when not waiting in the kernel); length or -errno. */
ssize_t pgkg_read_wchan(const char *procroot, pid_t pid, char *buf, size_t cap);
/* How many sessions (client backends and walsenders) the postmaster has,
 * not counting pid `except`: what a crash-restart drops.  -errno on failure. */
int pgkg_count_sessions(const char *procroot, pid_t postmaster, pid_t except);

/* ---- who the caller is to a cluster (slow path only) ---- */

#define PGKG_REL_PARENT 1u	/* the caller is the postmaster's parent */
#define PGKG_REL_NSINIT 2u	/* PID 1 of the postmaster's pid namespace */
#define PGKG_REL_CGROUP 4u	/* in the postmaster's service/container cgroup */

struct pgkg_caller_rel {
	char exe[PGKG_PATH_MAX];	/* readlink <procroot>/PID/exe; "" unknown */
	char cgroup[512];	/* cgroup2 path ("0::" line); "" unknown */
	unsigned rel;		/* PGKG_REL_* toward the cluster's postmaster */
};

/*
 * Facts about caller that cannot be set by the caller itself: its exe, its
 * cgroup2 path, and its relation to the postmaster of cl (parent, PID 1 of
 * the same pid namespace, same cgroup when that cgroup is a service or
 * container cgroup: not "/", no user-*.slice, user@*.service, user.slice or
 * session-*.scope component).  Whatever cannot be read stays unknown (no
 * trust).  Async-signal-safe; a few /proc reads: call it only for a target
 * already classified as a cluster process.  Returns 0 or -errno.
 */
int pgkg_read_caller_relation(const char *procroot, pid_t caller, const struct pgkg_cluster *cl,
			      struct pgkg_caller_rel *out);
/*
 * For an orphan (its postmaster is gone, so pgkg_read_caller_relation found
 * no relation): the relation to the orphan itself, after that call filled
 * out->exe and out->cgroup.  PID 1 of the orphan's pid namespace, or a
 * process of the orphan's service/container cgroup (the one its postmaster
 * ran in: a manager's SIGKILL sweep after it killed the postmaster); never
 * "parent" (an orphan's parent is whoever reaps it).  0 or -ESRCH.
 */
int pgkg_read_caller_relation_orphan(const char *procroot, pid_t caller, pid_t orphan,
				     struct pgkg_caller_rel *out);
/* Is this cgroup2 path one whose members may be trusted as the service's own? */
bool pgkg_cgroup_is_service(const char *path);
/* Simple glob: '*' any run of bytes (also '/'), '?' one byte; no classes. */
bool pgkg_glob_match(const char *pat, size_t pn, const char *s);

#endif
