/* SPDX-License-Identifier: MIT */
/*
 * race.h - what ThreadSanitizer is told, and nothing else: the
 * happens-before edges of the Go memory model, the user memory that the
 * runtime reads and writes on a goroutine's behalf, and the runtime's own
 * work hidden from it.  Design: docs/design/race.md.
 *
 * In a TSan build (GOC_SANITIZE=thread) the library itself is compiled
 * without -fsanitize=thread, as Go's runtime is built without -race: its
 * locks, atomics and queues are shared by every goroutine, and TSan, which
 * sees any instrumented release/acquire pair as an edge, would order every
 * goroutine after every other that touched the same scheduler structure.
 * Goroutine switches do not synchronise either (goroutine.c), so the only
 * edges TSan sees are the annotations below, placed where the Go memory
 * model names an edge (channel send -> receive, unlock -> lock, ...).
 *
 * Two things still reach TSan from uninstrumented code, and this header
 * deals with both:
 *   - annotations (goc__race_*), each a call into the TSan runtime for the
 *     current fiber: the goroutine whose call it is;
 *   - intercepted libc calls.  The library's own memcpy, memset, malloc,
 *     free and mmap go through the wrappers at the end of this file (the
 *     TSan build includes it first in every library file), which hide them
 *     from TSan: the runtime's memory is never shadowed, so headers,
 *     waiter records and buffers handed from goroutine to goroutine report
 *     nothing, and user memory that the runtime copies is announced
 *     explicitly (goc__race_read/write).
 * An M's g0 never carries one goroutine's history to another: it makes no
 * annotation of its own, and what could (a timer firing, which may send
 * on a channel, cancel a context or start a goroutine) runs with
 * synchronisation ignored (timer.c).
 *
 * Outside TSan every function here is an empty inline: the release build
 * is unchanged.
 */
#ifndef GOC_RACE_H
#define GOC_RACE_H

#include <stddef.h>
#include <stdint.h>

#include "check.h"

#ifdef GOC_HAVE_TSAN

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <pthread.h>
#include <sanitizer/tsan_interface.h>

/* The TSan runtime's entry points that its public header leaves out (they
 * are part of its ABI: compiler-generated code and the dynamic annotations
 * call them). */
void __tsan_read_range(void *addr, unsigned long size);
void __tsan_func_entry(void *caller_pc);
void __tsan_func_exit(void);
void __tsan_write_range(void *addr, unsigned long size);
void __tsan_ignore_thread_begin(void);
void __tsan_ignore_thread_end(void);
void AnnotateIgnoreSyncBegin(const char *file, int line);
void AnnotateIgnoreSyncEnd(const char *file, int line);

/* Happens-before: everything the current goroutine did before a release
 * on addr happens before everything done after a later acquire on addr.
 * TSan's release merges into what addr already carries (Go's
 * racereleasemerge); preceded by an acquire of the same address it is
 * Go's plain release as well.  addr only names the edge: it is never
 * read. */
static inline void goc__race_acquire(const void *addr)
{
    __tsan_acquire((void *)addr);
}
static inline void goc__race_release(const void *addr)
{
    __tsan_release((void *)addr);
}

/* A public call that reports to TSan (a spawn, a channel value): the
 * library is not instrumented, so its caller's frame would be missing
 * from the report's stack; enter with the call's return address. */
static inline void goc__race_func_enter(void *caller_pc)
{
    __tsan_func_entry(caller_pc);
}
static inline void goc__race_func_exit(void)
{
    __tsan_func_exit();
}

/* The runtime reads (writes) n bytes of user memory for the current
 * goroutine: a value sent (a value received). */
static inline void goc__race_read(const void *addr, size_t n)
{
    if (addr != NULL && n != 0)
        __tsan_read_range((void *)addr, n);
}
static inline void goc__race_write(void *addr, size_t n)
{
    if (addr != NULL && n != 0)
        __tsan_write_range(addr, n);
}

/* Hide what the current fiber does from TSan until the matching end:
 * memory accesses, and (with sync) acquires and releases too. */
static inline void goc__race_ignore_begin(void)
{
    __tsan_ignore_thread_begin();
}
static inline void goc__race_ignore_end(void)
{
    __tsan_ignore_thread_end();
}
static inline void goc__race_ignore_sync_begin(void)
{
    __tsan_ignore_thread_begin();
    AnnotateIgnoreSyncBegin(__FILE__, __LINE__);
}
static inline void goc__race_ignore_sync_end(void)
{
    AnnotateIgnoreSyncEnd(__FILE__, __LINE__);
    __tsan_ignore_thread_end();
}

/* An M's thread (or sysmon's), created with no history of its creator;
 * what TSan marks written as a thread starts (its TLS: errno, say) is
 * ordered before every goroutine that runs there (goroutine.c). */
int goc__race_thread_create(pthread_t *t, const pthread_attr_t *attr,
                            void *(*fn)(void *), void *arg);

/* A call that TSan intercepts, with its memory accesses hidden: fd
 * operations (the descriptors of the poller and of user sockets go from
 * goroutine to goroutine inside the runtime), formatting into runtime
 * buffers, reading /proc.  Synchronisation stays: a write to a pipe or a
 * socket happens before the read that sees it, as Go's ioSync (TSan's fd
 * edges).  What such a call reads or writes of user memory is announced
 * by the caller (fd.c). */
#define GOC__RACE_HIDE(call)                                              \
    __extension__({                                                       \
        goc__race_ignore_begin();                                         \
        __typeof__(call) goc__race_r = (call);                            \
        goc__race_ignore_end();                                           \
        goc__race_r;                                                      \
    })
/* The same, synchronisation hidden too: the runtime's own descriptors
 * (the poller's), which goroutines and g0 all touch, and the creation of
 * Ms (a new thread would start with its creator's history). */
#define GOC__RACE_HIDE_SYNC(call)                                         \
    __extension__({                                                       \
        goc__race_ignore_sync_begin();                                    \
        __typeof__(call) goc__race_r = (call);                            \
        goc__race_ignore_sync_end();                                      \
        goc__race_r;                                                      \
    })
#define GOC__RACE_HIDE_VOID(call)                                         \
    do {                                                                  \
        goc__race_ignore_begin();                                         \
        (call);                                                           \
        goc__race_ignore_end();                                           \
    } while (0)

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define read(...) GOC__RACE_HIDE(read(__VA_ARGS__))
#define write(...) GOC__RACE_HIDE(write(__VA_ARGS__))
#define close(...) GOC__RACE_HIDE(close(__VA_ARGS__))
#define send(...) GOC__RACE_HIDE(send(__VA_ARGS__))
#define socket(...) GOC__RACE_HIDE(socket(__VA_ARGS__))
#define connect(...) GOC__RACE_HIDE(connect(__VA_ARGS__))
#define bind(...) GOC__RACE_HIDE(bind(__VA_ARGS__))
#define listen(...) GOC__RACE_HIDE(listen(__VA_ARGS__))
#define accept4(...) GOC__RACE_HIDE(accept4(__VA_ARGS__))
#define shutdown(...) GOC__RACE_HIDE(shutdown(__VA_ARGS__))
#define setsockopt(...) GOC__RACE_HIDE(setsockopt(__VA_ARGS__))
#define getsockopt(...) GOC__RACE_HIDE(getsockopt(__VA_ARGS__))
#define getsockname(...) GOC__RACE_HIDE(getsockname(__VA_ARGS__))
#define getpeername(...) GOC__RACE_HIDE(getpeername(__VA_ARGS__))
#define getaddrinfo(...) GOC__RACE_HIDE(getaddrinfo(__VA_ARGS__))
#define freeaddrinfo(...) GOC__RACE_HIDE_VOID(freeaddrinfo(__VA_ARGS__))
#define pipe2(...) GOC__RACE_HIDE(pipe2(__VA_ARGS__))
#define poll(...) GOC__RACE_HIDE(poll(__VA_ARGS__))
#define fcntl(...) GOC__RACE_HIDE(fcntl(__VA_ARGS__))
#define fstat(...) GOC__RACE_HIDE(fstat(__VA_ARGS__))
#define eventfd(...) GOC__RACE_HIDE_SYNC(eventfd(__VA_ARGS__))
#define epoll_create1(...) GOC__RACE_HIDE_SYNC(epoll_create1(__VA_ARGS__))
#define epoll_ctl(...) GOC__RACE_HIDE_SYNC(epoll_ctl(__VA_ARGS__))
#define epoll_wait(...) GOC__RACE_HIDE_SYNC(epoll_wait(__VA_ARGS__))
#define pthread_create(t, a, f, x) goc__race_thread_create(t, a, f, x)
#define pthread_attr_getstack(...) GOC__RACE_HIDE(pthread_attr_getstack(__VA_ARGS__))
#define pthread_getattr_np(...) GOC__RACE_HIDE(pthread_getattr_np(__VA_ARGS__))
#define snprintf(...) GOC__RACE_HIDE(snprintf(__VA_ARGS__))
#define vsnprintf(...) GOC__RACE_HIDE(vsnprintf(__VA_ARGS__))
#define fopen(...) GOC__RACE_HIDE(fopen(__VA_ARGS__))
#define fgets(...) GOC__RACE_HIDE(fgets(__VA_ARGS__))
#define fclose(...) GOC__RACE_HIDE(fclose(__VA_ARGS__))
#define qsort(...) GOC__RACE_HIDE_VOID(qsort(__VA_ARGS__))
#define qsort_r(...) GOC__RACE_HIDE_VOID(qsort_r(__VA_ARGS__))

/* The library's own memory calls (see the top).  An allocation made
 * while ignoring gets clean shadow (no history), and a free while
 * ignoring checks nothing: a runtime object allocated by one goroutine
 * and freed by another is no race.  A mapping made while ignoring has its
 * shadow reset. */
#define memcpy(...) GOC__RACE_HIDE(memcpy(__VA_ARGS__))
#define memmove(...) GOC__RACE_HIDE(memmove(__VA_ARGS__))
#define memset(...) GOC__RACE_HIDE(memset(__VA_ARGS__))
#define malloc(...) GOC__RACE_HIDE(malloc(__VA_ARGS__))
#define calloc(...) GOC__RACE_HIDE(calloc(__VA_ARGS__))
#define realloc(...) GOC__RACE_HIDE(realloc(__VA_ARGS__))
#define aligned_alloc(...) GOC__RACE_HIDE(aligned_alloc(__VA_ARGS__))
#define free(...) GOC__RACE_HIDE_VOID(free(__VA_ARGS__))
#define mmap(...) GOC__RACE_HIDE(mmap(__VA_ARGS__))

#else /* !GOC_HAVE_TSAN: nothing at all */

static inline void goc__race_acquire(const void *addr) { (void)addr; }
static inline void goc__race_release(const void *addr) { (void)addr; }
static inline void goc__race_read(const void *addr, size_t n)
{
    (void)addr;
    (void)n;
}
static inline void goc__race_write(void *addr, size_t n)
{
    (void)addr;
    (void)n;
}
static inline void goc__race_func_enter(void *caller_pc)
{
    (void)caller_pc;
}
static inline void goc__race_func_exit(void) {}
static inline void goc__race_ignore_begin(void) {}
static inline void goc__race_ignore_end(void) {}
static inline void goc__race_ignore_sync_begin(void) {}
static inline void goc__race_ignore_sync_end(void) {}

#endif /* GOC_HAVE_TSAN */

/* Callbacks that the runtime starts in a goroutine of their own when a
 * timer fires or a context is canceled (goc_after_func,
 * goc_ctx_after_func).  The firing runs hidden from TSan, so it carries
 * no history: the registration releases on the callback's address (its
 * arg, or fn if arg is NULL) and the callback's goroutine acquires it
 * before calling fn (goc__spawn_callback, spawn.c). */
static inline const void *goc__race_callback_addr(void (*fn)(void *),
                                                  void *arg)
{
    return arg != NULL ? arg : (const void *)(uintptr_t)fn;
}
static inline void goc__race_callback_registered(void (*fn)(void *),
                                                 void *arg)
{
    goc__race_release(goc__race_callback_addr(fn, arg));
}
int goc__spawn_callback(void (*fn)(void *), void *arg, uintptr_t pc);

#endif /* GOC_RACE_H */
