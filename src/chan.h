/* SPDX-License-Identifier: MIT */
/*
 * chan.h - channel internals shared by chan.c and select.c: the channel,
 * the wait queues of waiter records (Go's sudogs; the record's type is in
 * runtime.h, as the goroutine header holds one).  Design:
 * docs/design/channels.md.
 */
#ifndef GOC_CHAN_H
#define GOC_CHAN_H

#include <string.h>

#include "internal.h"
#include "race.h"

/* What a select's waiters share: which of them fired.  The first party to
 * claim it (goc__sel_claim: done 0 -> 1) owns the select's outcome; all
 * others skip its waiters.  fired is written by that party (a dequeuer,
 * under the fired waiter's channel lock; or the deadline) and read by the
 * select after it wakes. */
struct goc__selstate {
    _Atomic uint32_t done;
    goc__waiter *fired;       /* NULL: the deadline fired (select_until) */
    goc__g *g;                /* the selecting goroutine (for its timer) */
};

/* first is written under the channel's lock but may be read without it
 * (relaxed), as a hint: select peeks at it to skip locking channels that
 * cannot proceed (goc__waitq_first). */
typedef struct goc__waitq {
    _Atomic(goc__waiter *) first;
    goc__waiter *last;
} goc__waitq;

/* Invariants (under lock):
 *   qcount <= cap; the buffered values are buf[(recvx + i) % cap] for
 *   i < qcount; sendx == (recvx + qcount) % cap;
 *   qcount > 0 => recvq is empty;  qcount < cap => sendq is empty
 *   (except for one select's own waiters on both queues of one
 *   unbuffered channel);
 *   closed => sendq is empty; a non-empty recvq on a closed channel
 *   holds the receivers that its close, still running, has not woken
 *   yet (goc_chan_close wakes them in rounds).
 * Locking: lock protects everything but refs; it is taken alone or, by
 * select, several at once in address order.  It sits below sched.lock
 * (goc__ready is called after it is released). */
struct goc_chan {
    goc__spinlock lock;         /* a spin lock: the sections are short */
    _Atomic uint32_t refs;      /* references; the last release frees */
    uint32_t elem_size;         /* immutable */
    size_t cap;                 /* immutable */
    _Atomic size_t qcount;      /* written under lock; goc_chan_len reads
                                   it without (relaxed: a snapshot) */
    size_t sendx, recvx;
    _Atomic uint32_t closed;    /* under lock; atomic (relaxed) only so a
                                   future lock-free fast path may peek */
    goc__waitq recvq, sendq;
    _Alignas(16) unsigned char buf[]; /* cap * elem_size bytes */
};

/* Claim a select's outcome: the first party to call this for st (a
 * dequeuer of one of its waiters, its deadline, a plain thread's timeout)
 * gets true and owns the outcome; all others get false.  acq_rel: pairs
 * with the other claimants' CAS, and makes the winner's writes (fired,
 * success) reach the select, which reads them after its wake-up (itself a
 * synchronisation). */
static inline bool goc__sel_claim(goc__selstate *st)
{
    uint32_t zero = 0;
    return atomic_compare_exchange_strong_explicit(
        &st->done, &zero, 1, memory_order_acq_rel, memory_order_acquire);
}

/* ---- wait queues (c->lock) ---- */

/* The first waiter: under the lock, exact; without it, a hint. */
static inline goc__waiter *goc__waitq_first(goc__waitq *q)
{
    return atomic_load_explicit(&q->first, memory_order_relaxed);
}

static inline void goc__waitq_set_first(goc__waitq *q, goc__waiter *w)
{
    atomic_store_explicit(&q->first, w, memory_order_relaxed);
}

static inline void goc__waitq_enqueue(goc__waitq *q, goc__waiter *w)
{
    w->next = NULL;
    w->prev = q->last;
    if (q->last != NULL)
        q->last->next = w;
    else
        goc__waitq_set_first(q, w);
    q->last = w;
    w->queued = true;
}

static inline void goc__waitq_remove(goc__waitq *q, goc__waiter *w)
{
    if (!w->queued)
        return;
    if (w->prev != NULL)
        w->prev->next = w->next;
    else
        goc__waitq_set_first(q, w->next);
    if (w->next != NULL)
        w->next->prev = w->prev;
    else
        q->last = w->prev;
    w->next = w->prev = NULL;
    w->queued = false;
}

/* Dequeue the first waiter that can still fire (skipping the waiters of
 * selects that another case already won).  Requires: c->lock. */
static inline goc__waiter *goc__waitq_dequeue(goc__waitq *q)
{
    for (;;) {
        goc__waiter *w = goc__waitq_first(q);
        if (w == NULL)
            return NULL;
        goc__waitq_remove(q, w);
        if (goc__likely(w->sel == NULL))
            return w;
        /* A select waits on several channels; only the first case to
         * fire may. */
        if (goc__sel_claim(w->sel)) {
            w->sel->fired = w;
            return w;
        }
        /* Lost: another case fired; the select removes its other waiters
         * itself once it runs.  This one is already off the queue. */
    }
}

/* ---- race detector edges (race.h; nothing outside TSan) ----
 * As Go's chan.go: a buffered value carries its sender's history to its
 * receiver through its slot, and the k-th receive's to the (k+cap)-th
 * send (each slot is acquired then released by every send and receive
 * that uses it: Go's racenotify).  A value handed to a parked goroutine
 * goes through its waiter record (alive on its stack until it returns,
 * while the channel may be freed as soon as it is woken): the parked side
 * releases it before it queues and acquires it when woken; the side that
 * finds it acquires and releases it (Go's racesync, pairwise).  Close
 * releases &c->closed for the receives that find the channel closed, and
 * each waiter record it wakes.  The runtime's copies are hidden from TSan (race.h),
 * so each side announces its own access to user memory: the sender reads
 * its value, the receiver writes its destination. */

/* The edge of buffer slot i (zero-size elements share one, as in Go). */
static inline void goc__race_chan_slot(goc_chan *c, size_t i)
{
    const void *a = c->elem_size != 0 ? (const void *)(c->buf + i *
                                                       c->elem_size)
                                      : (const void *)c;
    goc__race_acquire(a);
    goc__race_release(a);
}

/* A goroutine about to queue w on c: a sender (elem its value) or a
 * receiver (elem NULL). */
static inline void goc__race_chan_park(goc_chan *c, goc__waiter *w,
                                       const void *send_elem)
{
#ifdef GOC_HAVE_TSAN
    w->race_size = c->elem_size;
#endif
    goc__race_read(send_elem, c->elem_size);
    goc__race_release(w);
}

/* A queued goroutine woken, by a peer or by close: w is its record,
 * recv_elem a receiver's destination (NULL for a sender).  w->c may be
 * gone by now (its last holder may free it as soon as we are woken). */
static inline void goc__race_chan_woken(goc__waiter *w, void *recv_elem)
{
    goc__race_acquire(w);
#ifdef GOC_HAVE_TSAN
    goc__race_write(recv_elem, w->race_size);
#else
    (void)recv_elem;
#endif
}

/* What the caller did so far happens before the receive of whatever is
 * next put in c's slot sendx (a timer's send, done hidden from TSan). */
static inline void goc__race_chan_publish(goc_chan *c)
{
    goc__race_release(c->elem_size != 0 ? (const void *)(c->buf +
                                                 c->sendx * c->elem_size)
                                              : (const void *)c);
}

/* A receive that finds c closed and drained. */
static inline void goc__race_chan_closed(goc_chan *c, void *recv_elem)
{
    goc__race_acquire(&c->closed);
    goc__race_write(recv_elem, c->elem_size);
}

/* ---- values: the operations once the lock is held and the peer is
 * known.  Requires: c->lock; they do not release it. ---- */

static inline void *goc__chan_slot(goc_chan *c, size_t i)
{
    return c->buf + i * c->elem_size;
}

static inline void goc__chan_copy(goc_chan *c, void *dst, const void *src)
{
    if (dst == NULL)
        return;
    /* Constant sizes become plain loads and stores (the common element
     * types); the rest goes through memcpy. */
    switch (c->elem_size) {
    case 0:
        return;
    case 4:
        memcpy(dst, src, 4);
        return;
    case 8:
        memcpy(dst, src, 8);
        return;
    case 16:
        memcpy(dst, src, 16);
        return;
    default:
        memcpy(dst, src, c->elem_size);
    }
}

/* Is c abandoned: every reference held by a waiter on it (chan.c)?
 * Never waits.  Returns: 1 yes, 0 no, -1 unknown (c's lock was busy). */
int goc__chan_abandoned(goc_chan *c);

static inline void goc__chan_zero(goc_chan *c, void *dst)
{
    if (c->elem_size != 0 && dst != NULL)
        memset(dst, 0, c->elem_size);
}

static inline size_t goc__chan_qcount(goc_chan *c)
{
    return atomic_load_explicit(&c->qcount, memory_order_relaxed);
}

static inline void goc__chan_buf_put(goc_chan *c, const void *elem)
{
    GOC_ASSERT_HELD(&c->lock);
    goc__race_read(elem, c->elem_size);
    goc__race_chan_slot(c, c->sendx);
    goc__chan_copy(c, goc__chan_slot(c, c->sendx), elem);
    if (++c->sendx == c->cap)
        c->sendx = 0;
    atomic_store_explicit(&c->qcount, goc__chan_qcount(c) + 1,
                          memory_order_relaxed);
}

static inline void goc__chan_buf_take(goc_chan *c, void *elem)
{
    GOC_ASSERT_HELD(&c->lock);
    /* The slot keeps its stale bytes: nothing reads a slot outside
     * [recvx, recvx + qcount), and C has no collector to keep alive what
     * they point to (Go clears it for its GC). */
    goc__race_chan_slot(c, c->recvx);
    goc__race_write(elem, c->elem_size);
    goc__chan_copy(c, elem, goc__chan_slot(c, c->recvx));
    if (++c->recvx == c->cap)
        c->recvx = 0;
    atomic_store_explicit(&c->qcount, goc__chan_qcount(c) - 1,
                          memory_order_relaxed);
}

/* A receiver w is parked: hand it the value directly. */
static inline void goc__chan_send_to(goc_chan *c, goc__waiter *w,
                                     const void *elem)
{
    goc__race_read(elem, c->elem_size);
    goc__race_acquire(w);
    if (c->cap != 0) /* as if through the buffer (Go) */
        goc__race_chan_slot(c, c->recvx);
    goc__race_release(w);
    goc__chan_copy(c, w->elem, elem);
    w->success = true;
}

/* A sender w is parked (so the buffer, if any, is full): take the oldest
 * value and let w's value join the tail, or, unbuffered, take w's. */
static inline void goc__chan_recv_from(goc_chan *c, goc__waiter *w,
                                       void *elem)
{
    /* Our receive is ordered after w's send, and w's send, as the value
     * it puts at the tail, before that value's receiver (slot). */
    goc__race_acquire(w);
    if (c->cap != 0)
        goc__race_chan_slot(c, c->recvx);
    goc__race_release(w);
    goc__race_write(elem, c->elem_size);
    if (c->cap == 0) {
        goc__chan_copy(c, elem, w->elem);
    } else {
        goc__chan_copy(c, elem, goc__chan_slot(c, c->recvx));
        goc__chan_copy(c, goc__chan_slot(c, c->recvx), w->elem);
        if (++c->recvx == c->cap)
            c->recvx = 0;
        c->sendx = c->recvx;
    }
    w->success = true;
}

/* Wake a dequeued waiter's goroutine or thread.  Call after unlocking.
 * m: goc__getm() of the caller (NULL on a plain thread). */
static inline void goc__waiter_wake(goc__m *m, goc__waiter *w)
{
    goc__parker_wake(m, &w->who);
}

/* Every channel and select operation calls this before taking a lock: a
 * plain thread counts as a possible waker from then on, before it can
 * dequeue (and so wake) a goroutine, so that checkdead never sees a
 * goroutine about to be woken as deadlocked.
 * Returns: goc__getm(), NULL on a plain thread. */
static inline goc__m *goc__chan_enter(void)
{
    goc__m *m = goc__getm();
    if (goc__unlikely(m == NULL))
        goc__extern_thread();
    return m;
}

/* Block forever (nil channel, empty select). */
__attribute__((noreturn)) void goc__block_forever(const char *reason);

#endif /* GOC_CHAN_H */
