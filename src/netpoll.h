/* SPDX-License-Identifier: MIT */
/*
 * netpoll.h - the network poller: poll descriptors (one per descriptor
 * goc owns, in a table indexed by descriptor number), the wait a call
 * makes when its descriptor is not ready, and what the scheduler asks of
 * the poller (netpoll.c); below it, the backend (netpoll_epoll.c), kept
 * to five calls so that another one can replace it.  Go's netpoll.go and
 * netpoll_epoll.go are the model; docs/design/netpoll.md the design.
 */
#ifndef GOC_NETPOLL_H
#define GOC_NETPOLL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "park.h"
#include "runtime.h"

/* ---- the backend (netpoll_epoll.c) ----
 * A descriptor is registered once for its whole life, edge-triggered, for
 * reading and writing, with a 64-bit tag that comes back with each of its
 * events.  Only on: any thread. */
enum { GOC__NP_READ = 1, GOC__NP_WRITE = 2 };
int goc__np_init(void);                 /* 0 or -errno; once */
int goc__np_open(int fd, uint64_t tag); /* 0 or -errno (EPERM: a file) */
int goc__np_close(int fd);              /* 0 or -errno */
/* Wait up to delay ns (< 0: for ever, 0: not at all) for events, or for a
 * goc__np_break; call f(tag, GOC__NP_* bits, arg) for each.  Returns: the
 * number of events passed to f. */
int goc__np_poll(int64_t delay, void (*f)(uint64_t tag, int modes, void *arg),
                 void *arg);
void goc__np_break(void); /* end a goc__np_poll in progress (or the next) */

/* ---- poll descriptors (netpoll.c) ---- */

/* One goroutine or thread waiting on a descriptor; in its own frame. */
typedef struct goc__pdwaiter goc__pdwaiter;

/* States of a table slot. */
enum {
    GOC__PD_FREE = 0, /* goc does not own the descriptor */
    GOC__PD_POLL,     /* owned and registered with the backend */
    GOC__PD_FILE,     /* owned, not pollable (a regular file): its calls
                         run in a blocking section */
};

/* Invariants (lock = the descriptor's lock, rank PD):
 *   state, closing, is_socket, rready/wready and the waiter
 *   lists change under lock; a waiter is on rq (wq, eq) only while its
 *   owner is parked in goc__pd_wait for reading (writing, either), and
 *   whoever takes it off the list (a readiness event, a close, its ctx)
 *   is the one who wakes it;
 *   rready (wready) set => rq (wq) is empty: an event that found nobody
 *   waiting, kept for the next wait;
 *   seq changes (under lock) each time the descriptor is let go, so a
 *   late event tagged with an older seq is dropped;
 *   calls: 2 per call in progress (goc__pd_acquire), plus 1 once goc_close
 *   has begun; the descriptor is closed by whoever brings it to 1, and
 *   the 1 stays until its close(2) has run (pd_destroy): meanwhile calls
 *   fail and an owner of the reused number waits (goc__pd_open).
 * A slot is never freed while the process lives: an event or a stale call
 * may look at it at any time. */
typedef struct goc__pd {
    goc__spinlock lock;
    int32_t fd;                   /* immutable: the slot's number */
    _Atomic uint32_t seq;         /* lock for writes; read by events */
    _Atomic uint8_t state;        /* GOC__PD_*; read without lock by calls */
    bool is_socket;               /* send(MSG_NOSIGNAL) instead of write */
    bool pipe;                    /* a goc_net_pipe end: its peer is in the
                                     process, so a wait on it is durable
                                     in a synctest bubble */
    bool closing;                 /* goc_close or goc_fd_forget has begun */
    bool close_fd;                /* closing by goc_close (else forget) */
    bool rready, wready;
    goc__pdwaiter *rq, *wq;       /* waiting to read, to write */
    goc__pdwaiter *eq;            /* waiting for either (goc_fd_wait) */
    _Atomic uint32_t calls;
} goc__pd;

/* The slot of fd, allocating its part of the table (NULL: fd out of
 * range, or out of memory).  Only lookups: goc__pd_find. */
goc__pd *goc__pd_slot(int fd);
goc__pd *goc__pd_find(int fd); /* NULL if goc never had fd */

/* Own fd (goc_fd_wrap): non-blocking, registered.  Returns: 0, -errno. */
int goc__pd_open(int fd);
/* Begin a call on fd, owning it first if goc does not.  Returns: 0 with
 * *pdp set (pair with goc__pd_release), or GOC_ECLOSED, -EBADF, ... */
int goc__pd_acquire(int fd, goc__pd **pdp);
void goc__pd_release(goc__pd *pd);
/* A call's start: a ctx that is done already fails it before it tries
 * anything (Go's expired deadline), then goc__pd_acquire. */
int goc__pd_begin(int fd, goc_ctx *ctx, goc__pd **pdp);
/* goc_close (close_fd) or goc_fd_forget.  Returns: 0, GOC_ECLOSED,
 * -EBADF (goc does not own fd). */
int goc__pd_close(int fd, bool close_fd);

/* Wait until pd is ready for mode (GOC__NP_READ, GOC__NP_WRITE or both:
 * either will do), pd is closed, or ctx is done.  The caller has just seen EAGAIN: a readiness
 * event since then (or one kept in rready/wready) returns at once.
 * Returns: 0 (try again: ready, or maybe), GOC_ECLOSED, or ctx's error.
 * May park: yes.  Only on: a goroutine or a plain thread, holding a call
 * on pd. */
int goc__pd_wait(goc__pd *pd, int mode, goc_ctx *ctx);

/* ---- what the scheduler asks (netpoll.c) ---- */

/* Has any descriptor been registered in this process (the poller exists)?
 * From then on the idle M that sleeps for the timers sleeps in the
 * poller. */
bool goc__netpoll_inited(void);
/* Goroutines and threads parked on descriptors right now (a hint). */
int32_t goc__netpoll_waiters(void);
/* Of them, those on descriptors that are not goc_net_pipe ends. */
int32_t goc__netpoll_waiters_ext(void);
/* Poll for up to delay ns (< 0: until an event or a break) and ready every
 * waiter whose descriptor became ready: into m's P if m holds one, else
 * the global queue (m: the caller's M; any M, with or without a P).
 * Returns: the number of goroutines and threads woken. */
int goc__netpoll(int64_t delay, goc__m *m);
/* The same in two steps, for the M that polls without a P: take the
 * waiters off their descriptors (they are no longer on any list, and
 * must be woken), then, once it holds a P, wake them into it (Go's
 * findRunnable: a P first, then the goroutines). */
goc__pdwaiter *goc__netpoll_take(int64_t delay);
int goc__netpoll_wake(goc__m *m, goc__pdwaiter *list);
/* Wake an M blocked in goc__netpoll (deduplicated). */
void goc__netpoll_break(void);
/* Forget every waiter (the run is over: their goroutines are gone). */
void goc__netpoll_teardown(void);

#endif /* GOC_NETPOLL_H */
