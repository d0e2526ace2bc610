/*
 * rawsys.h - system calls without libc, for the preload library.
 *
 * The library interposes syscall() itself, so it cannot forward through
 * libc's; and it must not resolve symbols lazily inside a signal handler.
 * These inline the trap instruction.  pgkg_raw() returns the kernel's value
 * (-4095..-1 is -errno); pgkg_raw_errno() converts that into libc's -1/errno.
 */
#ifndef PGKG_RAWSYS_H
#define PGKG_RAWSYS_H

#include <errno.h>

#if defined(__x86_64__)
#define PGKG_HAVE_RAWSYS 1
static inline long pgkg_raw6(long n, long a, long b, long c, long d, long e, long f)
{
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	register long r9 __asm__("r9") = f;
	long ret;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}
#elif defined(__aarch64__)
#define PGKG_HAVE_RAWSYS 1
static inline long pgkg_raw6(long n, long a, long b, long c, long d, long e, long f)
{
	register long x8 __asm__("x8") = n;
	register long x0 __asm__("x0") = a;
	register long x1 __asm__("x1") = b;
	register long x2 __asm__("x2") = c;
	register long x3 __asm__("x3") = d;
	register long x4 __asm__("x4") = e;
	register long x5 __asm__("x5") = f;

	__asm__ volatile("svc 0"
			 : "+r"(x0)
			 : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5)
			 : "memory", "cc");
	return x0;
}
#elif !defined(PGKG_RAWSYS_OPTIONAL)
#error "pgkillguard: add the raw system call sequence for this architecture to shim/rawsys.h"
#endif

#ifdef PGKG_HAVE_RAWSYS
static inline long pgkg_raw(long n, long a, long b, long c, long d)
{
	return pgkg_raw6(n, a, b, c, d, 0, 0);
}

/* libc convention: -1 and errno on failure; errno untouched on success. */
static inline long pgkg_raw_errno(long ret)
{
	if (ret < 0 && ret > -4096) {
		errno = (int)-ret;
		return -1;
	}
	return ret;
}
#endif

#endif
