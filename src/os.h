/* SPDX-License-Identifier: MIT */
/*
 * os.h - what the runtime asks of the operating system (os_linux.c):
 * threads, time, signals, the page size, the environment.
 *
 * EINTR never leaves goc.  A signal whose handler lacks SA_RESTART (the
 * program's own, or goc's when it signals its threads) makes some calls
 * fail with EINTR even with SA_RESTART (epoll_wait, nanosleep, futex
 * waits with a timeout, connect, ...).  So every system call is made
 * correct under EINTR where it is made, never by its callers:
 *   - reads, writes, accept4, getsockopt and the like: retried in their
 *     wrapper (goc__sys_*), which never returns -EINTR;
 *   - close(2): never retried; on Linux the descriptor is gone even when
 *     close fails with EINTR (goc__sys_close);
 *   - connect: EINTR means the connection goes on asynchronously; the
 *     wrapper says -EINPROGRESS, and the caller waits for writability and
 *     reads SO_ERROR (calling connect again would fail with EALREADY);
 *   - epoll waits: EINTR is a poll that found nothing; the caller
 *     recomputes its delay from the clock (netpoll_epoll.c);
 *   - timed waits (futex, nanosleep): retried for the time that remains
 *     to an absolute deadline, never for the whole time again and never
 *     cut short; a nap that only paces a retry loop may end early.
 * Design: docs/design/netpoll.md ("EINTR").
 */
#ifndef GOC_OS_H
#define GOC_OS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "runtime.h"

/* madvise advice newer than some C libraries' headers. */
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14 */
#endif
#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102 /* Linux 6.13 */
#endif
#ifndef MADV_GUARD_REMOVE
#define MADV_GUARD_REMOVE 103
#endif

int goc__ncpu(void);                 /* affinity mask and cgroup quota */
int64_t goc__nanotime(void);         /* CLOCK_MONOTONIC */
int goc__gettid(void);
/* The state letter of thread tid of this process, from its stat file in
 * /proc (R running or runnable, S sleeping, D in uninterruptible wait,
 * ...), or 0 if it cannot be read.  Takes a descriptor for a moment. */
char goc__thread_state(int tid);
/* CPU time used so far by the thread whose CPU-time clock is clock (an M's
 * cpuclock), or -1 (a thread that has exited, a clock that cannot be
 * read, or CLOCK_THREAD_CPUTIME_ID: the clock is not known). */
int64_t goc__thread_cpu(int32_t clock);
/* The page size, read once (relaxed: every thread computes the same). */
extern _Atomic size_t goc__page_size;
size_t goc__pagesize_init(void);
static inline size_t goc__pagesize(void)
{
    size_t ps = atomic_load_explicit(&goc__page_size, memory_order_relaxed);
    return goc__likely(ps != 0) ? ps : goc__pagesize_init();
}
/* process_madvise(advice) over iov[0 .. k): one system call for many
 * ranges (Linux 5.10; 6.13 takes the guard and populate advice).  *pidfd
 * is the caller's descriptor of this process, opened at the first call
 * (0: not yet; -1: none to be had).  Returns: true if all were done. */
struct iovec;
bool goc__process_madvise(int *pidfd, const struct iovec *iov, uint32_t k,
                          int advice);
/* *pidfd as goc__process_madvise opens it: the descriptor, or -1. */
int goc__pidfd_self(int *pidfd);
/* A runtime array that grows under a lock (a pool's free list, a timer
 * heap): its own mapping, grown with mremap, so that the pages it has move
 * with their contents and nothing is copied (the kernel faults none of
 * them in again; a VM's host may, below).  A
 * realloc that the C library serves from its heap copies the array into
 * fresh pages, a page fault each, with the lock held: 1-2.5 ms at 100k
 * entries on a VM, in which every other P that needed the lock waited
 * (timers' p99 lateness, docs/performance.md).  The first growth maps 64
 * MiB of address space (MAP_NORESERVE: pages never written cost nothing),
 * so that most arrays never move: a moved page's first touch at its new
 * address is a host fault on a VM with shadow page tables (os_linux.c).
 * *cap is its capacity in elements of elem bytes (0 with *base NULL: none
 * yet; elem at most a page), and the mapping is cap * elem rounded up to
 * whole pages: it grows to at least need elements, at least doubling.
 * Returns: false when out of memory or past UINT32_MAX elements (the
 * array as it was). */
bool goc__pages_grow(void **base, uint32_t *cap, size_t elem, size_t need);
void goc__pages_free(void *base, uint32_t cap, size_t elem);
/* Map in the whole pages of [p, p + len), about to be written, in one
 * system call (MADV_POPULATE_WRITE, Linux 5.14): on a VM a page fault's
 * trap costs several microseconds more than the call's share (~16 us a
 * page written fresh, ~10 populated first).  A hint: where the kernel
 * refuses, the writes fault the pages in as before. */
void goc__pages_populate(void *p, size_t len);
/* len bytes of zeroed memory, page-aligned, mapped in at once (one system
 * call, no page fault each: see goc__pages_populate); NULL when out of
 * memory.  goc__pages_unmap gives them back. */
void *goc__pages_map(size_t len);
void goc__pages_unmap(void *p, size_t len);
/* len bytes of address space (MAP_NORESERVE, nothing mapped in yet) at an
 * address aligned to align, a power of two: a larger mapping with its
 * unaligned ends trimmed.  NULL when out of address space;
 * goc__pages_unmap(p, len) gives it back. */
char *goc__pages_map_aligned(size_t len, size_t align);
/* What one transparent huge page maps (x86-64 and arm64 with 4 KiB
 * pages): the unit of goc__pages_map_huge. */
#define GOC__HUGE_BYTES ((size_t)2 << 20)
/* GOC__HUGE_BYTES of zeroed memory aligned to its size, asked to be one
 * transparent huge page (MADV_HUGEPAGE) and mapped in at once: on a VM
 * with shadow page tables one fault maps all of it, where 4 KiB pages
 * cost one fault each, ~8 us (docs/design/scheduler.md, "Entities").
 * Where the kernel has no huge page to give, or refuses the advice, the
 * same memory in small pages.  NULL when out of memory;
 * goc__pages_unmap(p, GOC__HUGE_BYTES) gives it back. */
void *goc__pages_map_huge(void);
/* Whether the kernel gives transparent huge pages to a mapping that asks
 * (its setting is "always" or "madvise", not "never"): where it does not,
 * goc__pages_map_huge maps small pages, all 512 at once.  Read once. */
bool goc__huge_pages_on(void);
/* The number a file of /proc or /sys holds (vm.max_map_count, say), or -1
 * if it cannot be read. */
long goc__file_long(const char *path);
/* How many bytes equal to c a file holds (the lines of /proc/self/maps:
 * the mappings in use), or -1 if it cannot be read. */
long goc__file_count(const char *path, char c);
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
 * the unity build): each call computes the address afresh.  None returns
 * -EINTR (the rule above). */
ssize_t goc__sys_read(int fd, void *buf, size_t n);
ssize_t goc__sys_write(int fd, const void *buf, size_t n);
ssize_t goc__sys_send(int fd, const void *buf, size_t n, int flags);
ssize_t goc__sys_recv(int fd, void *buf, size_t n, int flags);
int goc__sys_accept(int fd, int flags);             /* accept4, no address */
/* 0, -EINPROGRESS (also for EINTR: it goes on), -EAGAIN, or -errno. */
int goc__sys_connect(int fd, const struct sockaddr *sa, socklen_t len);
int goc__sys_so_error(int fd);   /* SO_ERROR's value (>= 0), or -errno */
int goc__sys_connected(int fd);  /* getpeername: 0 or -errno (-ENOTCONN) */
int goc__sys_close(int fd);      /* 0 or -errno, never retried; EINTR: 0 */

#endif /* GOC_OS_H */
