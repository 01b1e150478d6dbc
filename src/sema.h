/* SPDX-License-Identifier: MIT */
/*
 * sema.h - the wait queue that every sync object is built on (sema.c):
 * a FIFO of waiters under a small lock, each waiter a goroutine (parked)
 * or a plain thread (asleep on a futex note).  On top of it, Go's runtime
 * semaphore (semacquire / semrelease on a count of wake-ups) for mutex,
 * rwmutex and waitgroup.  Design: docs/design/sync.md.
 *
 * Invariants (under q->lock):
 *   q->head == NULL, or the waiters form a ring through next/prev with
 *   q->head the oldest (the next to be woken);
 *   w->queued <=> w is on the ring;
 *   q->count > 0 => the ring is empty (semacquire takes a count before it
 *   queues, and semrelease wakes a queued waiter before it counts).
 * Locking: q->lock is a leaf below sched.lock and is never held across
 * goc__ready, a park or another sync object's calls: wakers take waiters
 * off under the lock and wake them after releasing it; a sleeping
 * goroutine's lock is released by its park callback, once it is off its
 * stack.
 */
#ifndef GOC_SEMA_H
#define GOC_SEMA_H

#include "internal.h"

typedef struct goc__semw goc__semw;

/* One blocked caller.  It lives on the caller's stack (goroutine stacks
 * never move) and stays valid until the caller is woken.
 *   queued   on the ring; written under q->lock
 *   sleeping the owner has gone to sleep (or is about to, with q->lock
 *            held until it cannot miss the wake-up): whoever takes it off
 *            the queue must wake it.  A waiter taken off before it sleeps
 *            (goc_cond's two steps) notices !queued and does not sleep.
 * Once a waker has taken it off the queue it owns the record until the
 * wake-up; nothing else touches it.  So a third party (a context being
 * canceled, later) may take a waiter off with goc__semq_take and set
 * `result` before waking it. */
struct goc__semw {
    goc__semw *next, *prev; /* the ring; q->lock.  After the take: the
                               waker's wake list (next only) */
    goc__parker who;        /* the goroutine, or the plain thread... */
    goc__note note;         /* ...which sleeps here */
    int64_t n;              /* what it waits for (goc_sem: units) */
    goc_chan *signal;       /* if set, the wake is a send on it (a waiter
                               that selects on it and a context's done
                               channel: goc_sem_acquire with a ctx) */
    int result;             /* what the waker tells it (0 so far) */
    bool queued;
    bool sleeping;
};

/* Waiters taken off a queue, to be woken once its lock is released. */
typedef struct goc__wakelist {
    goc__semw *first, **tail;
} goc__wakelist;

/* ---- the queue (q->lock) ---- */

/* The queue lock is the public struct's uint32_t, used as a goc__mutex
 * (the public header cannot use _Atomic: it also compiles as C++).  At
 * GOC_DEBUG >= 2 a goc__mutex also holds its rank, for which the public
 * word has no room: the queue lock then records its rank (SEMQ) itself
 * and takes the word with the rank-less lock functions, which touch
 * only the key. */
_Static_assert(offsetof(goc__mutex, key) == 0 &&
                   sizeof(((goc__mutex *)0)->key) == sizeof(uint32_t) &&
                   _Alignof(goc__mutex) == _Alignof(uint32_t),
               "goc__sema.lock must hold a goc__mutex's key");
static inline goc__mutex *goc__semq_mutex(goc__sema *q)
{
    return (goc__mutex *)(void *)&q->lock;
}
void goc__semq_lock(goc__sema *q);
static inline void goc__semq_unlock(goc__sema *q)
{
#if GOC_DEBUG >= 2
    goc__lockrank_release(q);
    goc__mutex *l = goc__semq_mutex(q);
    if (atomic_exchange_explicit(&l->key, 0, memory_order_release) == 2)
        goc__unlock_wake(l);
#else
    goc__unlock(goc__semq_mutex(q));
#endif
}

/* Fill in who is waiting: the current goroutine, or this thread's note. */
void goc__semw_init(goc__semw *w, int64_t n);

static inline goc__semw *goc__semq_first(goc__sema *q)
{
    return (goc__semw *)q->head;
}

/* Queue w at the tail, or (lifo) at the head.  Requires: q->lock. */
void goc__semq_push(goc__sema *q, goc__semw *w, bool lifo);
/* Take w off q; if it sleeps, append it to *wl for goc__wake_all.
 * Requires: q->lock, w queued. */
void goc__semq_take(goc__sema *q, goc__semw *w, goc__wakelist *wl);

/* Sleep until a waker takes w off q, unless one already has.
 * Requires: q->lock, w pushed on q (or taken off since).
 * Releases: q->lock (for a goroutine, after it is off its stack).
 * May park: yes.  reason: the wait reason shown in dumps. */
void goc__semq_sleep(goc__sema *q, goc__semw *w, const char *reason);

static inline void goc__wakelist_init(goc__wakelist *wl)
{
    wl->first = NULL;
    wl->tail = &wl->first;
}
/* Wake every waiter of wl, in order.  Call after unlocking the queue: a
 * woken caller may free the object at once. */
void goc__wake_all(goc__wakelist *wl);

/* ---- Go's runtime semaphore on q->count ---- */

/* Wait for a wake-up: take one counted in q->count, or queue (at the head
 * with lifo: a mutex waiter that lost its turn) and sleep.
 * May park: yes. */
void goc__semacquire(goc__sema *q, bool lifo, const char *reason);
/* Give n wake-ups: to queued waiters first (oldest first), the rest into
 * q->count for waiters that have not queued yet.  The caller does not
 * touch q afterwards except through another call.  May park: no. */
void goc__semrelease(goc__sema *q, uint32_t n);

/* ---- shared by the sync objects ---- */

/* A plain thread about to use a sync object: count it as a possible waker
 * for deadlock detection before it can hold a lock that a goroutine waits
 * for, or wake one (as goc__chan_enter).  Every public sync call that can
 * block, hold or wake starts with it.
 * The fast path is two loads and no call: sync_epoch is the run in which
 * this thread last made the check (an M of that run, or a plain thread
 * already counted), so only a thread's first sync call of each run takes
 * the slow path.  Call it at the start of the public call only, before
 * anything that may park: a goroutine may resume on another thread, and
 * the thread-local read must be the current thread's. */
extern __thread uint64_t goc__sync_epoch
    __attribute__((tls_model("initial-exec")));
void goc__sync_enter_slow(void);
static inline void goc__sync_enter(void)
{
    /* relaxed: a stale epoch only sends us to the slow path. */
    if (goc__unlikely(goc__sync_epoch !=
                      atomic_load_explicit(&goc__sched_epoch,
                                           memory_order_relaxed)))
        goc__sync_enter_slow();
}

/* goc__sync_enter and goc__preempt_check (park.h) in one: the entry of a
 * public sync call that may block (lock, wait, acquire).  One branch for
 * both rare cases and one cold call, so the fast path keeps its
 * arguments in the registers they came in (two calls made the compiler
 * save one across both, on every lock). */
void goc__sync_enter_block_slow(void);
static inline __attribute__((always_inline)) void goc__sync_enter_block(void)
{
    /* relaxed: as goc__sync_enter and goc__preempt_check. */
    if (goc__unlikely(
            goc__sync_epoch != atomic_load_explicit(&goc__sched_epoch,
                                                    memory_order_relaxed) ||
            __atomic_load_n(&goc__preempt_word, __ATOMIC_RELAXED) != 0))
        goc__sync_enter_block_slow();
}

/* Busy-wait hint for a spin loop: n pause instructions. */
static inline void goc__sync_pause(int n)
{
    for (int i = 0; i < n; i++)
        goc__cpu_relax();
}

#endif /* GOC_SEMA_H */
