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
 */
int pgkg_classify(const char *procroot, pid_t pid, struct pgkg_target *out);

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
/* Is this cgroup2 path one whose members may be trusted as the service's own? */
bool pgkg_cgroup_is_service(const char *path);
/* Simple glob: '*' any run of bytes (also '/'), '?' one byte; no classes. */
bool pgkg_glob_match(const char *pat, size_t pn, const char *s);

#endif
