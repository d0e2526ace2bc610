/*
 * fdpass.h - one message over a Unix socket, with at most one descriptor
 * riding along (SCM_RIGHTS).  The only code in the tree that builds or reads
 * that control message: the seccomp listener the child hands to the
 * supervisor (supervise.c) and the pidfd that rides with a rewrite request
 * (rwproto.c) both go through here.  Linked into the preload library, so
 * async-signal-safe (fdpass.c rule 1).
 */
#ifndef PGKG_FDPASS_H
#define PGKG_FDPASS_H

#include <stddef.h>
#include <sys/types.h>

/* Send len bytes of buf as one message, with fd attached when fd >= 0.
 * 0 when the whole message went; -EPIPE when the peer is gone; else -errno
 * (-EMSGSIZE for a short send). */
int pgkg_fdpass_send(int sock, const void *buf, size_t len, int fd);

/* Receive one message of at most len bytes into buf.  fd: where the one
 * descriptor that came with it goes (close-on-exec), -1 when none came; NULL
 * accepts none (the kernel discards any).  timeout_ms < 0 waits for ever.
 * Returns the message's length (0: the peer closed), or -ETIMEDOUT,
 * -EMSGSIZE (longer than len), or -errno; *fd is -1 on every error. */
ssize_t pgkg_fdpass_recv(int sock, void *buf, size_t len, int *fd, long long timeout_ms);

/* A descriptor alone (a one-byte message): 0 or -errno; the descriptor, or -1. */
int pgkg_fdpass_send_fd(int sock, int fd);
int pgkg_fdpass_recv_fd(int sock);

#endif
