/* SPDX-License-Identifier: MIT */
/*
 * chan.h - channel internals shared by chan.c and select.c: the channel,
 * the waiter record (Go's sudog) and the wait queues.  Design:
 * docs/design/channels.md.
 */
#ifndef GOC_CHAN_H
#define GOC_CHAN_H

#include "internal.h"

typedef struct goc__waiter goc__waiter;

/* What a select's waiters share: which of them fired.  The first party to
 * CAS done 0 -> 1 owns the select's outcome; all others skip its waiters.
 * Written under the lock of the fired waiter's channel; read by the select
 * after it wakes. */
typedef struct goc__selstate {
    _Atomic uint32_t done;
    goc__waiter *fired;
} goc__selstate;

/* A goroutine (or plain thread) blocked on one channel: for a plain send
 * or receive one record, for a select one per case.  It lives on the
 * blocked caller's stack, which stays put while it waits.
 * Invariants (under the channel's lock):
 *   queued <=> the record is on c's recvq or sendq;
 *   success is written by the party that dequeues it, before the wake.
 */
struct goc__waiter {
    goc__waiter *next, *prev; /* c->recvq or c->sendq; c->lock */
    goc_chan *c;
    goc__g *g;                /* the goroutine to ready, or NULL */
    goc__note *note;          /* else the plain thread's note to wake */
    void *elem;               /* where to copy to (recv) or from (send) */
    goc__selstate *sel;       /* NULL unless part of a select */
    int case_index;           /* in the select's cases */
    bool queued;
    bool success;             /* true: a value moved; false: closed */
};

typedef struct goc__waitq {
    goc__waiter *first, *last;
} goc__waitq;

/* Invariants (under lock):
 *   qcount <= cap; the buffered values are buf[(recvx + i) % cap] for
 *   i < qcount; sendx == (recvx + qcount) % cap;
 *   qcount > 0 => recvq is empty;  qcount < cap => sendq is empty
 *   (except for one select's own waiters on both queues of one
 *   unbuffered channel);
 *   closed => sendq is empty.
 * Locking: lock protects everything but refs; it is taken alone or, by
 * select, several at once in address order.  It sits below sched.lock
 * (goc__ready is called after it is released). */
struct goc_chan {
    goc__mutex lock;
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

/* Dequeue the first waiter that can still fire (skipping the waiters of
 * selects that another case already won).  Requires: c->lock. */
goc__waiter *goc__waitq_dequeue(goc__waitq *q);
void goc__waitq_enqueue(goc__waitq *q, goc__waiter *w);
void goc__waitq_remove(goc__waitq *q, goc__waiter *w);

/* The operations once the lock is held and the peer is known.
 * Requires: c->lock; they do not release it. */
void goc__chan_send_to(goc_chan *c, goc__waiter *w, const void *elem);
void goc__chan_recv_from(goc_chan *c, goc__waiter *w, void *elem);
void goc__chan_buf_put(goc_chan *c, const void *elem);
void goc__chan_buf_take(goc_chan *c, void *elem);

/* Wake a dequeued waiter's goroutine or thread.  Call after unlocking. */
void goc__waiter_wake(goc__waiter *w);

/* Block the caller until *w (and, for a select, its siblings) fires.
 * Releases (by calling unlock(arg) once the caller can no longer miss the
 * wake-up) and may park.  reason: the wait reason for dumps. */
void goc__waiter_block(goc__waiter *w, void (*unlock)(void *), void *arg,
                       const char *reason);

/* Every channel and select operation calls this before taking a lock. */
void goc__chan_enter(void);

/* Block forever (nil channel, empty select). */
__attribute__((noreturn)) void goc__block_forever(const char *reason);

#endif /* GOC_CHAN_H */
