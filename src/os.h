/* SPDX-License-Identifier: MIT */
/*
 * os.h - what the runtime asks of the operating system (os_linux.c):
 * threads, time, signals, the page size, the environment.
 */
#ifndef GOC_OS_H
#define GOC_OS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "runtime.h"

int goc__ncpu(void);                 /* affinity mask and cgroup quota */
int64_t goc__nanotime(void);         /* CLOCK_MONOTONIC */
int goc__gettid(void);
/* The state letter of thread tid of this process, from its stat file in
 * /proc (R running or runnable, S sleeping, D in uninterruptible wait,
 * ...), or 0 if it cannot be read.  Takes a descriptor for a moment. */
char goc__thread_state(int tid);
/* The page size, read once (relaxed: every thread computes the same). */
extern _Atomic size_t goc__page_size;
size_t goc__pagesize_init(void);
static inline size_t goc__pagesize(void)
{
    size_t ps = atomic_load_explicit(&goc__page_size, memory_order_relaxed);
    return goc__likely(ps != 0) ? ps : goc__pagesize_init();
}
int goc__thread_start(goc__m *m, void *(*fn)(void *)); /* 0 or -errno */
void goc__thread_stack(void **lo, size_t *size); /* calling thread's */
int goc__signals_install(void);      /* SIGSEGV overflow, SIGQUIT, SIGURG */
void goc__signals_restore(void);
int goc__altstack_init(goc__m *m);   /* per-M sigaltstack */
void goc__altstack_free(goc__m *m);

/* System calls for code that parks between two of them (the descriptor
 * and socket calls): each returns its result, or -errno read in its own
 * frame.  A goroutine may resume on another thread after a park, errno is
 * per thread, and compilers compute errno's address once per function
 * (__errno_location is declared const), so a function that parks must
 * never read errno itself after a park.  Out of line (noinline, even in
 * the unity build): each call computes the address afresh.  EINTR is
 * returned like any error. */
ssize_t goc__sys_read(int fd, void *buf, size_t n);
ssize_t goc__sys_write(int fd, const void *buf, size_t n);
ssize_t goc__sys_send(int fd, const void *buf, size_t n, int flags);
int goc__sys_accept(int fd, int flags);             /* accept4, no address */
int goc__sys_connect(int fd, const struct sockaddr *sa, socklen_t len);
int goc__sys_so_error(int fd);   /* SO_ERROR's value (>= 0), or -errno */
int goc__sys_connected(int fd);  /* getpeername: 0 or -errno (-ENOTCONN) */

#endif /* GOC_OS_H */
