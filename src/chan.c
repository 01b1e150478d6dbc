/* SPDX-License-Identifier: MIT */
/*
 * chan.c - channels: make/retain/release, send, receive, close, len, cap,
 * and the wait queues and waiter records that select.c shares.  Go's
 * chan.go is the model; the design is docs/design/channels.md.
 *
 * A sender that finds a parked receiver copies its value straight into the
 * receiver's destination (one copy, no trip through the buffer) and readies
 * it into the sender's runnext, so a ping-pong pair stays on one P.  A
 * receiver that finds a parked sender on a full buffer takes the head of
 * the buffer and puts the sender's value at the tail, keeping FIFO order.
 *
 * Waiters are goroutines (parked with goc__park; the channel lock is
 * released by the unlock callback, after the goroutine is off its stack)
 * or plain threads (a futex note on the thread's stack).
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chan.h"

#define ELEM_MAX 65535

/* ---- wait queues (c->lock) ---- */

void goc__waitq_enqueue(goc__waitq *q, goc__waiter *w)
{
    w->next = NULL;
    w->prev = q->last;
    if (q->last != NULL)
        q->last->next = w;
    else
        q->first = w;
    q->last = w;
    w->queued = true;
}

void goc__waitq_remove(goc__waitq *q, goc__waiter *w)
{
    if (!w->queued)
        return;
    if (w->prev != NULL)
        w->prev->next = w->next;
    else
        q->first = w->next;
    if (w->next != NULL)
        w->next->prev = w->prev;
    else
        q->last = w->prev;
    w->next = w->prev = NULL;
    w->queued = false;
}

goc__waiter *goc__waitq_dequeue(goc__waitq *q)
{
    for (;;) {
        goc__waiter *w = q->first;
        if (w == NULL)
            return NULL;
        goc__waitq_remove(q, w);
        if (w->sel == NULL)
            return w;
        /* A select waits on several channels; only the first case to
         * fire may.  acq_rel: pairs with the other cases' CAS, and makes
         * the winner's writes (fired, success) reach the select, which
         * reads them after its wake-up (itself a synchronisation). */
        uint32_t zero = 0;
        if (atomic_compare_exchange_strong_explicit(&w->sel->done, &zero, 1,
                                                    memory_order_acq_rel,
                                                    memory_order_acquire)) {
            w->sel->fired = w;
            return w;
        }
        /* Lost: another case fired; the select removes its other waiters
         * itself once it runs.  This one is already off the queue. */
    }
}

/* ---- copying values (c->lock) ---- */

static void *slot(goc_chan *c, size_t i)
{
    return c->buf + i * c->elem_size;
}

static void copy_elem(goc_chan *c, void *dst, const void *src)
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

static void zero_elem(goc_chan *c, void *dst)
{
    if (c->elem_size != 0 && dst != NULL)
        memset(dst, 0, c->elem_size);
}

static size_t qcount(goc_chan *c)
{
    return atomic_load_explicit(&c->qcount, memory_order_relaxed);
}

void goc__chan_buf_put(goc_chan *c, const void *elem)
{
    copy_elem(c, slot(c, c->sendx), elem);
    if (++c->sendx == c->cap)
        c->sendx = 0;
    atomic_store_explicit(&c->qcount, qcount(c) + 1, memory_order_relaxed);
}

void goc__chan_buf_take(goc_chan *c, void *elem)
{
    copy_elem(c, elem, slot(c, c->recvx));
    zero_elem(c, slot(c, c->recvx));
    if (++c->recvx == c->cap)
        c->recvx = 0;
    atomic_store_explicit(&c->qcount, qcount(c) - 1, memory_order_relaxed);
}

/* A receiver w is parked: hand it the value directly. */
void goc__chan_send_to(goc_chan *c, goc__waiter *w, const void *elem)
{
    copy_elem(c, w->elem, elem);
    w->success = true;
}

/* A sender w is parked (so the buffer, if any, is full): take the oldest
 * value and let w's value join the tail, or, unbuffered, take w's. */
void goc__chan_recv_from(goc_chan *c, goc__waiter *w, void *elem)
{
    if (c->cap == 0) {
        copy_elem(c, elem, w->elem);
    } else {
        copy_elem(c, elem, slot(c, c->recvx));
        copy_elem(c, slot(c, c->recvx), w->elem);
        if (++c->recvx == c->cap)
            c->recvx = 0;
        c->sendx = c->recvx;
    }
    w->success = true;
}

/* ---- invariants (GOC_DEBUG >= 3) ---- */

#if GOC_DEBUG >= 3
static bool waitq_is_valid(goc__waitq *q)
{
    goc__waiter *prev = NULL;
    for (goc__waiter *w = q->first; w != NULL; prev = w, w = w->next)
        if (!w->queued || w->prev != prev)
            return false;
    return q->last == prev;
}

/* The invariants of chan.h, checked on every lock acquisition.
 * Requires: c->lock. */
static bool chan_is_valid(goc_chan *c)
{
    size_t q = qcount(c);
    if (q > c->cap || !waitq_is_valid(&c->recvq) ||
        !waitq_is_valid(&c->sendq))
        return false;
    if (c->cap == 0 ? (q != 0 || c->sendx != 0 || c->recvx != 0)
                    : c->sendx != (c->recvx + q) % c->cap)
        return false;
    if (q > 0 && c->recvq.first != NULL)
        return false;
    if (q < c->cap && c->sendq.first != NULL)
        return false;
    if (atomic_load_explicit(&c->closed, memory_order_relaxed) &&
        c->sendq.first != NULL)
        return false;
    return true;
}
#endif

static void chan_lock(goc_chan *c)
{
    goc__lock(&c->lock);
    GOC_ASSERT_EXPENSIVE(chan_is_valid(c));
}

/* ---- blocking ---- */

void goc__waiter_wake(goc__waiter *w)
{
    if (w->g != NULL)
        goc__ready(w->g);
    else
        goc__notewakeup(w->note);
}

struct unlock_call {
    void (*unlock)(void *);
    void *arg;
};

static bool park_unlock(goc__g *g, void *arg)
{
    (void)g;
    struct unlock_call *u = arg;
    u->unlock(u->arg);
    return true;
}

void goc__waiter_block(goc__waiter *w, void (*unlock)(void *), void *arg,
                       const char *reason)
{
    if (w->g != NULL) {
        struct unlock_call u = {unlock, arg};
        goc__park(park_unlock, &u, reason);
        return;
    }
    unlock(arg); /* a plain thread: goc__chan_enter counted it */
    goc__notesleep(w->note);
}

void goc__block_forever(const char *reason)
{
    if (goc__getg() != NULL) {
        for (;;)
            goc__park(NULL, NULL, reason);
    }
    for (;;)
        pause();
}

/* Fill in who is waiting: the current goroutine, or this thread's note. */
static void waiter_init(goc__waiter *w, goc_chan *c, void *elem,
                        goc__note *note)
{
    w->c = c;
    w->elem = elem;
    w->sel = NULL;
    w->case_index = 0;
    w->success = false;
    w->g = goc__getg();
    w->note = NULL;
    if (w->g == NULL) {
        goc__noteclear(note);
        w->note = note;
    }
}

/* A plain thread about to touch a channel: count it as a possible waker
 * before it can dequeue (and so wake) a goroutine, so that checkdead never
 * sees a goroutine about to be woken as deadlocked. */
void goc__chan_enter(void)
{
    if (goc__unlikely(goc__getm() == NULL) &&
        atomic_load_explicit(&goc__sched.running, memory_order_acquire))
        goc__extern_thread();
}

static void unlock_chan(void *arg)
{
    goc__unlock(&((goc_chan *)arg)->lock);
}

/* ---- make, retain, release ---- */

goc_chan *goc_chan_make(size_t elem_size, size_t cap)
{
    if (elem_size > ELEM_MAX || (elem_size != 0 && cap > SIZE_MAX / 2 /
                                                             elem_size))
        return NULL;
    goc_chan *c = calloc(1, sizeof *c + elem_size * cap);
    if (c == NULL)
        return NULL;
    c->elem_size = (uint32_t)elem_size;
    c->cap = cap;
    atomic_store_explicit(&c->refs, 1, memory_order_relaxed);
    return c;
}

void goc_chan_retain(goc_chan *c)
{
    if (c != NULL)
        atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
}

void goc_chan_release(goc_chan *c)
{
    /* acq_rel: every use by other holders happens before the free. */
    if (c != NULL &&
        atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) == 1)
        free(c);
}

/* Lock c for an operation that a closed channel refuses (send, close).
 * Returns: true with c->lock held, or false (unlocked) if c is closed. */
static bool lock_open(goc_chan *c)
{
    goc__chan_enter();
    chan_lock(c);
    if (atomic_load_explicit(&c->closed, memory_order_relaxed)) {
        goc__unlock(&c->lock);
        return false;
    }
    return true;
}

/* ---- send ---- */

static int chan_send(goc_chan *c, const void *elem, bool block)
{
    if (c == NULL) {
        if (!block)
            return GOC_EAGAIN;
        goc__block_forever("chan send (nil chan)");
    }
    if (elem == NULL && c->elem_size != 0)
        return GOC_EINVAL;
    if (!lock_open(c))
        return GOC_ECLOSED;
    goc__waiter *r = goc__waitq_dequeue(&c->recvq);
    if (r != NULL) {
        goc__chan_send_to(c, r, elem);
        goc__unlock(&c->lock);
        goc__waiter_wake(r);
        return 0;
    }
    if (qcount(c) < c->cap) {
        goc__chan_buf_put(c, elem);
        goc__unlock(&c->lock);
        return 0;
    }
    if (!block) {
        goc__unlock(&c->lock);
        return GOC_EAGAIN;
    }
    goc__waiter w;
    goc__note note;
    waiter_init(&w, c, (void *)elem, &note);
    goc__waitq_enqueue(&c->sendq, &w);
    goc__waiter_block(&w, unlock_chan, c, "chan send");
    /* Woken by a receiver (success) or by close.  Either way the other
     * party has finished with w and with c's lock. */
    return w.success ? 0 : GOC_ECLOSED;
}

int goc_chan_send(goc_chan *c, const void *elem)
{
    return chan_send(c, elem, true);
}

int goc_chan_try_send(goc_chan *c, const void *elem)
{
    return chan_send(c, elem, false);
}

/* ---- receive ---- */

static int chan_recv(goc_chan *c, void *elem, bool block)
{
    if (c == NULL) {
        if (!block)
            return GOC_EAGAIN;
        goc__block_forever("chan receive (nil chan)");
    }
    goc__chan_enter();
    chan_lock(c);
    goc__waiter *s = goc__waitq_dequeue(&c->sendq);
    if (s != NULL) {
        goc__chan_recv_from(c, s, elem);
        goc__unlock(&c->lock);
        goc__waiter_wake(s);
        return 0;
    }
    if (qcount(c) > 0) {
        goc__chan_buf_take(c, elem);
        goc__unlock(&c->lock);
        return 0;
    }
    if (atomic_load_explicit(&c->closed, memory_order_relaxed)) {
        goc__unlock(&c->lock);
        zero_elem(c, elem);
        return GOC_ECLOSED;
    }
    if (!block) {
        goc__unlock(&c->lock);
        return GOC_EAGAIN;
    }
    goc__waiter w;
    goc__note note;
    waiter_init(&w, c, elem, &note);
    goc__waitq_enqueue(&c->recvq, &w);
    goc__waiter_block(&w, unlock_chan, c, "chan receive");
    return w.success ? 0 : GOC_ECLOSED; /* close zero-filled elem */
}

int goc_chan_recv(goc_chan *c, void *elem)
{
    return chan_recv(c, elem, true);
}

int goc_chan_try_recv(goc_chan *c, void *elem)
{
    return chan_recv(c, elem, false);
}

/* ---- close ---- */

int goc_chan_close(goc_chan *c)
{
    if (c == NULL)
        return GOC_EINVAL;
    if (!lock_open(c))
        return GOC_ECLOSED;
    atomic_store_explicit(&c->closed, 1, memory_order_relaxed); /* lock */
    /* Collect every waiter, then wake them after unlocking: a woken
     * goroutine may release the channel at once. */
    goc__waiter *wake = NULL, **tail = &wake, *w;
    while ((w = goc__waitq_dequeue(&c->recvq)) != NULL) {
        zero_elem(c, w->elem);
        w->success = false;
        *tail = w;
        tail = &w->next;
    }
    while ((w = goc__waitq_dequeue(&c->sendq)) != NULL) {
        w->success = false;
        *tail = w;
        tail = &w->next;
    }
    *tail = NULL;
    goc__unlock(&c->lock);
    while (wake != NULL) {
        w = wake;
        wake = w->next; /* read before the wake: w may vanish after it */
        goc__waiter_wake(w);
    }
    return 0;
}

/* ---- len, cap ---- */

size_t goc_chan_len(goc_chan *c)
{
    return c != NULL ? qcount(c) : 0;
}

size_t goc_chan_cap(goc_chan *c)
{
    return c != NULL ? c->cap : 0;
}
