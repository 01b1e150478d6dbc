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

/* ---- invariants (GOC_DEBUG >= 3) ---- */

#if GOC_DEBUG >= 3
static bool waitq_is_valid(goc__waitq *q)
{
    goc__waiter *prev = NULL;
    for (goc__waiter *w = goc__waitq_first(q); w != NULL;
         prev = w, w = w->next)
        if (!w->queued || w->prev != prev)
            return false;
    return q->last == prev;
}

/* The invariants of chan.h, checked on every lock acquisition.
 * Requires: c->lock. */
static bool chan_is_valid(goc_chan *c)
{
    GOC_ASSERT_HELD(&c->lock);
    size_t q = goc__chan_qcount(c);
    if (q > c->cap || !waitq_is_valid(&c->recvq) ||
        !waitq_is_valid(&c->sendq))
        return false;
    if (c->cap == 0 ? (q != 0 || c->sendx != 0 || c->recvx != 0)
                    : c->sendx != (c->recvx + q) % c->cap)
        return false;
    if (q > 0 && goc__waitq_first(&c->recvq) != NULL)
        return false;
    if (q < c->cap && goc__waitq_first(&c->sendq) != NULL)
        return false;
    if (atomic_load_explicit(&c->closed, memory_order_relaxed) &&
        goc__waitq_first(&c->sendq) != NULL)
        return false;
    return true;
}
#endif

static void chan_lock(goc_chan *c)
{
    goc__spin_lock(&c->lock);
    GOC_ASSERT_EXPENSIVE(chan_is_valid(c));
}

/* ---- blocking ---- */

GOC__RUNTIME_TEXT
void goc__block_forever(const char *reason)
{
    if (goc__getg() != NULL) {
        for (;;)
            goc__park(NULL, NULL, reason);
    }
    for (;;)
        pause();
}

/* Fill in who is waiting: m's current goroutine, or (m NULL) this
 * thread's note. */
static void waiter_init(goc__waiter *w, goc__m *m, goc_chan *c, void *elem,
                        goc__note *note)
{
    w->c = c;
    w->elem = elem;
    w->sel = NULL;
    w->case_index = 0;
    w->success = false;
    goc__parker_init(&w->who, m, note);
}

/* The unlock callback of a single-channel wait. */
static bool unlock_chan(goc__g *g, void *arg)
{
    (void)g;
    goc__spin_unlock(&((goc_chan *)arg)->lock);
    return true;
}

/* ---- make, retain, release ---- */

goc_chan *goc_chan_make(size_t elem_size, size_t cap)
{
    /* Refused before any allocation: a sanitizer's allocator aborts on a
     * request it cannot serve instead of returning NULL. */
    if (elem_size > GOC_CHAN_ELEM_MAX || cap > GOC_CHAN_CAP_MAX ||
        (elem_size != 0 && cap > GOC_CHAN_BUF_MAX / elem_size))
        return NULL;
    goc_chan *c = calloc(1, sizeof *c + elem_size * cap);
    if (c == NULL)
        return NULL;
    goc__lock_setrank(&c->lock, GOC__RANK_CHAN);
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
 * Requires: goc__chan_enter.
 * Returns: true with c->lock held, or false (unlocked) if c is closed. */
static bool lock_open(goc_chan *c)
{
    chan_lock(c);
    if (atomic_load_explicit(&c->closed, memory_order_relaxed)) {
        goc__spin_unlock(&c->lock);
        return false;
    }
    return true;
}

/* ---- send ---- */

/* Queue w on q (c's sendq or recvq) and wait: chan_block's body.  note:
 * a plain thread's, NULL for a goroutine.
 * Requires: c->lock, which it releases.  May park: yes. */
static inline __attribute__((always_inline)) int
chan_wait(goc__m *m, goc_chan *c, goc__waitq *q, void *elem,
          const char *reason, bool owns_ref, goc__waiter *w, goc__note *note)
{
    bool send = q == &c->sendq;
    waiter_init(w, m, c, elem, note);
    w->owns_ref = owns_ref;
    goc__g_waiting_on(w->who.g, c);
    goc__race_chan_park(c, w, send ? elem : NULL);
    goc__waitq_enqueue(q, w);
    goc__parker_sleep(m, &w->who, unlock_chan, c, reason);
    /* Woken by the peer (success) or by close.  Either way the other
     * party has finished with w and with c's lock (and c may be gone). */
    goc__race_chan_woken(w, send ? NULL : elem);
    return w->success ? 0 : GOC_ECLOSED;
}

/* chan_block with the record on the caller's stack: a plain thread's
 * wait, and under TSan every wait (see chan_block). */
GOC__RUNTIME_TEXT __attribute__((noinline))
static int chan_block_on_stack(goc__m *m, goc_chan *c, goc__waitq *q,
                               void *elem, const char *reason, bool owns_ref)
{
    goc__waiter w;
    goc__note note;
    return chan_wait(m, c, q, elem, reason, owns_ref, &w, &note);
}

/* The blocking part of a send or a receive: queue on q (c's sendq or
 * recvq) and wait.  A goroutine waits on the record in its header (it
 * blocks in one channel operation at a time), so that the waiters of a
 * channel sit in dense headers: closing a channel that 100k goroutines
 * wait on walked one stack page per waiter, half of the time they took
 * to wake (docs/performance.md, "Many goroutines").  Under TSan the
 * record is on the stack: it is a synchronisation object (race.h), and
 * TSan would carry one goroutine's edges on it to the next goroutine of
 * the header, hiding races; its stack slots serve one goroutine only
 * (stack.c).  Out of line, so that the fast paths stay small (few
 * registers to save); in the runtime text so dumps hide it.
 * Requires: c->lock, which it releases.  May park: yes.
 * Returns: 0 once a peer took or gave the value, GOC_ECLOSED once c was
 * closed (a receiver's elem zero-filled by close). */
GOC__RUNTIME_TEXT __attribute__((noinline))
static int chan_block(goc__m *m, goc_chan *c, goc__waitq *q, void *elem,
                      const char *reason, bool owns_ref)
{
    GOC_ASSERT_HELD(&c->lock);
#ifndef GOC_HAVE_TSAN
    goc__g *g = m != NULL ? m->curg : NULL;
    if (goc__likely(g != NULL))
        return chan_wait(m, c, q, elem, reason, owns_ref, &g->chanwait,
                         NULL);
#endif
    return chan_block_on_stack(m, c, q, elem, reason, owns_ref);
}

/* Always inlined into the public calls: a frame of its own would show in
 * goroutine dumps. */
static inline __attribute__((always_inline)) int
chan_send(goc_chan *c, const void *elem, bool block, bool owns_ref)
{
    if (goc__unlikely(c == NULL)) {
        if (!block)
            return GOC_EAGAIN;
        goc__block_forever("chan send (nil chan)");
    }
    if (goc__unlikely(elem == NULL && c->elem_size != 0))
        return GOC_EINVAL;
    goc__m *m = goc__chan_enter();
    if (!lock_open(c))
        return GOC_ECLOSED;
    goc__waiter *r = goc__waitq_dequeue(&c->recvq);
    if (r != NULL) {
        goc__chan_send_to(c, r, elem);
        goc__spin_unlock(&c->lock);
        goc__waiter_wake(m, r);
        return 0;
    }
    if (goc__chan_qcount(c) < c->cap) {
        goc__chan_buf_put(c, elem);
        goc__spin_unlock(&c->lock);
        return 0;
    }
    if (!block) {
        goc__spin_unlock(&c->lock);
        return GOC_EAGAIN;
    }
    return chan_block(m, c, &c->sendq, (void *)elem, "chan send", owns_ref);
}

/* goc__race_func_enter: the caller's frame in TSan's report of a race on
 * the value (race.h). */
int goc_chan_send(goc_chan *c, const void *elem)
{
    goc__race_func_enter(__builtin_return_address(0));
    goc__preempt_check();
    int rc = chan_send(c, elem, true, false);
    goc__race_func_exit();
    GOC__KEEP_FRAME();
    return rc;
}

/* The waiter owns the caller's reference while it waits, so that a
 * channel left with nothing but such waiters is known to be abandoned
 * (goc__chan_abandoned); dropped here, once the send is over. */
int goc_chan_send_release(goc_chan *c, const void *elem)
{
    goc__race_func_enter(__builtin_return_address(0));
    goc__preempt_check();
    int rc = chan_send(c, elem, true, true);
    goc_chan_release(c);
    goc__race_func_exit();
    return rc;
}

int goc_chan_try_send(goc_chan *c, const void *elem)
{
    goc__race_func_enter(__builtin_return_address(0));
    int rc = chan_send(c, elem, false, false);
    goc__race_func_exit();
    return rc;
}

/* ---- receive ---- */

static inline __attribute__((always_inline)) int
chan_recv(goc_chan *c, void *elem, bool block)
{
    if (goc__unlikely(c == NULL)) {
        if (!block)
            return GOC_EAGAIN;
        goc__block_forever("chan receive (nil chan)");
    }
    goc__m *m = goc__chan_enter();
    chan_lock(c);
    goc__waiter *s = goc__waitq_dequeue(&c->sendq);
    if (s != NULL) {
        goc__chan_recv_from(c, s, elem);
        goc__spin_unlock(&c->lock);
        goc__waiter_wake(m, s);
        return 0;
    }
    if (goc__chan_qcount(c) > 0) {
        goc__chan_buf_take(c, elem);
        goc__spin_unlock(&c->lock);
        return 0;
    }
    if (atomic_load_explicit(&c->closed, memory_order_relaxed)) {
        goc__spin_unlock(&c->lock);
        goc__race_chan_closed(c, elem);
        goc__chan_zero(c, elem);
        return GOC_ECLOSED;
    }
    if (!block) {
        goc__spin_unlock(&c->lock);
        return GOC_EAGAIN;
    }
    return chan_block(m, c, &c->recvq, elem, "chan receive", false);
}

int goc_chan_recv(goc_chan *c, void *elem)
{
    goc__race_func_enter(__builtin_return_address(0));
    goc__preempt_check();
    int rc = chan_recv(c, elem, true);
    goc__race_func_exit();
    GOC__KEEP_FRAME();
    return rc;
}

int goc_chan_try_recv(goc_chan *c, void *elem)
{
    goc__race_func_enter(__builtin_return_address(0));
    goc__preempt_check(); /* a polling loop's goc call */
    int rc = chan_recv(c, elem, false);
    goc__race_func_exit();
    return rc;
}

/* ---- close ---- */

/* A close wakes its receivers this many at a time: it takes them off the
 * queue under the lock, then readies them without it (goc__ready_batch),
 * then locks again for the next ones.  One pass over the waiter records,
 * whose lines a second pass over 100k of them had to fetch again, and the
 * lock is never held for the whole queue. */
#define CLOSE_BATCH 64

/* Take w, just dequeued by close, as woken by the close: a receiving
 * goroutine into batch (when batch is not NULL), any other onto the list
 * *rest (linked through next, which the dequeue cleared).
 * Requires: c->lock. */
static void close_take(goc_chan *c, goc__waiter *w, goc__g **batch,
                       uint32_t *n, goc__waiter **rest)
{
    goc__race_release(w); /* close -> the wait it ends */
    if (batch != NULL) /* a receiver: its destination zero-filled */
        goc__chan_zero(c, w->elem);
    w->success = false;
    if (batch != NULL && w->who.g != NULL) {
        batch[(*n)++] = w->who.g;
    } else {
        w->next = *rest;
        *rest = w;
    }
}

/* Wake what close_take collected.  Called without c->lock: a woken
 * goroutine or thread may release c at once. */
static void close_wake(goc__m *m, goc__g *const *batch, uint32_t n,
                       goc__waiter *rest)
{
    while (rest != NULL) {
        goc__waiter *w = rest;
        rest = w->next; /* read before the wake: w may vanish after it */
        goc__waiter_wake(m, w);
    }
    if (n > 0)
        goc__ready_batch(m, batch, n);
}

/* Every sender is woken in the first round, however many: a receiver
 * that comes between two rounds must find none to take a value from (a
 * send blocked at the close fails).  Receivers left between rounds are
 * touched by nobody else: a receive, a send and a select on a closed
 * channel never dequeue one (a select whose other case fired takes its
 * own waiter off, as at any time).  While any are left the close holds a
 * reference of its own: a goroutine it woke may release c, whose lock the
 * next round takes. */
int goc_chan_close(goc_chan *c)
{
    if (c == NULL)
        return GOC_EINVAL;
    goc__m *m = goc__chan_enter();
    if (!lock_open(c))
        return GOC_ECLOSED;
    atomic_store_explicit(&c->closed, 1, memory_order_relaxed); /* lock */
    goc__race_release(&c->closed); /* close -> a receive that sees it */
    goc__g *batch[CLOSE_BATCH];
    goc__waiter *rest = NULL, *w;
    uint32_t n = 0;
    bool held = false;
    while ((w = goc__waitq_dequeue(&c->sendq)) != NULL)
        close_take(c, w, NULL, &n, &rest);
    for (;;) {
        while (n < CLOSE_BATCH &&
               (w = goc__waitq_dequeue(&c->recvq)) != NULL)
            close_take(c, w, batch, &n, &rest);
        bool more = goc__waitq_first(&c->recvq) != NULL;
        if (more && !held) {
            goc_chan_retain(c);
            held = true;
        }
        goc__spin_unlock(&c->lock);
        close_wake(m, batch, n, rest);
        if (!more)
            break;
        n = 0;
        rest = NULL;
        chan_lock(c);
    }
    if (held)
        goc_chan_release(c);
    return 0;
}

/* ---- abandoned channels (the dumps' partial deadlocks) ---- */

/* Count c's waiters that own a reference (goc_chan_send_release).
 * Requires: c->lock. */
static uint32_t owning_waiters(goc__waitq *q)
{
    uint32_t n = 0;
    for (goc__waiter *w = goc__waitq_first(q); w != NULL; w = w->next)
        n += w->owns_ref;
    return n;
}

/* Every reference of c is held by a goroutine or thread that waits on c
 * and cannot return before an operation on c: nobody can ever operate on
 * c again, so every waiter on it waits for ever.  Once true, it stays
 * true: a reference is only ever taken (retain) by a holder.  Uses a
 * try-lock, so it never waits (a dump may run anywhere).
 * Returns: 1 abandoned, 0 not, -1 unknown (c's lock was busy). */
int goc__chan_abandoned(goc_chan *c)
{
    if (!goc__spin_trylock(&c->lock))
        return -1;
    uint32_t owned = owning_waiters(&c->sendq) + owning_waiters(&c->recvq);
    /* acquire: pairs with release's acq_rel decrement. */
    uint32_t refs = atomic_load_explicit(&c->refs, memory_order_acquire);
    goc__spin_unlock(&c->lock);
    return owned > 0 && refs == owned;
}

/* ---- len, cap ---- */

size_t goc_chan_len(goc_chan *c)
{
    return c != NULL ? goc__chan_qcount(c) : 0;
}

size_t goc_chan_cap(goc_chan *c)
{
    return c != NULL ? c->cap : 0;
}
