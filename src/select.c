/* SPDX-License-Identifier: MIT */
/*
 * select.c - goc_select and goc_select_try (Go's selectgo).  Design:
 * docs/design/channels.md.
 *
 *   1. Check the cases and shuffle the enabled ones (poll order): the
 *      first ready case in a uniformly random order is a uniformly random
 *      ready case.
 *      Pass 0: in poll order, peek at each channel without its lock; lock
 *      only those that look ready, one at a time, and do the first that
 *      really is.  (Go 1.19 locks every channel first; on busy channels
 *      most selects end here with one lock taken instead of n.)
 *   2. Lock every distinct channel in address order (lock order), so two
 *      selects over the same channels cannot deadlock.
 *   3. Pass 1: the first case, in poll order, that can proceed does so.
 *   4. Otherwise (blocking select) enqueue one waiter per case, all sharing
 *      one goc__selstate, and park; the unlock callback releases every
 *      channel once the goroutine is off its stack.
 *   5. Whoever dequeues one of our waiters first wins the selstate CAS and
 *      completes that case; every later dequeuer skips our waiters.  After
 *      the wake-up, take the other waiters off their queues (locking each
 *      channel in turn), so no stale waiter survives the call.
 */
#include <stdlib.h>
#include <string.h>

#include "chan.h"

#define SELECT_MAX 65536

enum { MODE_BLOCK, MODE_TRY, MODE_UNTIL };
#define SMALL 16 /* cases handled with stack arrays only */

/* 32 random bits: the M's generator, or on a plain thread (m NULL) a
 * thread-local one. */
static uint32_t select_rand32(goc__m *m)
{
    if (goc__likely(m != NULL))
        return goc__fastrand(m);
    static __thread uint64_t x;
    if (x == 0)
        x = ((uint64_t)goc__nanotime() << 1) ^ (uint64_t)goc__gettid() ^ 1;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return (uint32_t)(x >> 32);
}

struct sel {
    goc_case *cases;
    uint32_t *lockorder; /* case indices with a channel, by address */
    uint32_t nlock;
};

static int cmp_case_chan(const void *a, const void *b, void *arg)
{
    goc_case *cases = arg;
    uintptr_t x = (uintptr_t)cases[*(const uint32_t *)a].chan;
    uintptr_t y = (uintptr_t)cases[*(const uint32_t *)b].chan;
    return x < y ? -1 : x > y;
}

static void sellock(struct sel *s)
{
    goc_chan *prev = NULL;
    for (uint32_t k = 0; k < s->nlock; k++) {
        goc_chan *c = s->cases[s->lockorder[k]].chan;
        if (c != prev)
            goc__spin_lock(&c->lock);
        prev = c;
    }
}

#if GOC_DEBUG >= 2
/* Returns: true if this thread holds every channel lock of s. */
static bool sel_held(struct sel *s)
{
    for (uint32_t k = 0; k < s->nlock; k++)
        if (!goc__lockrank_held(&s->cases[s->lockorder[k]].chan->lock))
            return false;
    return true;
}
#endif

static void selunlock(void *arg)
{
    struct sel *s = arg;
    /* Reverse order is not needed for correctness; it keeps the lock
     * hand-offs symmetric with sellock.  The same channel appearing in
     * several cases is unlocked once. */
    for (uint32_t k = s->nlock; k-- > 0;) {
        goc_chan *c = s->cases[s->lockorder[k]].chan;
        if (k == 0 || s->cases[s->lockorder[k - 1]].chan != c)
            goc__spin_unlock(&c->lock);
    }
}

static bool selunlock_f(goc__g *g, void *arg)
{
    (void)g;
    selunlock(arg);
    return true;
}

/* With cs's channel locked: do the case if it can proceed.
 * Returns: true if it did; *peer is then the waiter to wake once the
 * lock is released (or NULL). */
static bool case_proceed(goc_case *cs, goc__waiter **peer)
{
    goc_chan *c = cs->chan;
    *peer = NULL;
    if (cs->op == GOC_RECV) {
        if ((*peer = goc__waitq_dequeue(&c->sendq)) != NULL) {
            goc__chan_recv_from(c, *peer, cs->elem);
        } else if (goc__chan_qcount(c) > 0) {
            goc__chan_buf_take(c, cs->elem);
        } else if (atomic_load_explicit(&c->closed, memory_order_relaxed)) {
            goc__race_chan_closed(c, cs->elem);
            goc__chan_zero(c, cs->elem);
            cs->err = GOC_ECLOSED;
        } else {
            return false;
        }
    } else {
        if (atomic_load_explicit(&c->closed, memory_order_relaxed)) {
            cs->err = GOC_ECLOSED;
        } else if ((*peer = goc__waitq_dequeue(&c->recvq)) != NULL) {
            goc__chan_send_to(c, *peer, cs->elem);
        } else if (goc__chan_qcount(c) < c->cap) {
            goc__chan_buf_put(c, cs->elem);
        } else {
            return false;
        }
    }
    return true;
}

/* Without any lock: could the case proceed?  A hint only (the fields are
 * read racily); case_proceed decides under the lock. */
static inline __attribute__((always_inline)) bool
case_may_proceed(const goc_case *cs)
{
    goc_chan *c = cs->chan;
    if (atomic_load_explicit(&c->closed, memory_order_relaxed))
        return true;
    if (cs->op == GOC_RECV)
        return goc__waitq_first(&c->sendq) != NULL ||
               goc__chan_qcount(c) > 0;
    return goc__waitq_first(&c->recvq) != NULL ||
           goc__chan_qcount(c) < c->cap;
}

/* Pass 0: in poll order, lock just the channel of each case that looks
 * ready and try it.  Most selects over busy channels end here, taking one
 * lock instead of all of them.  m: goc__getm().
 * Returns: the index of the case done, or -1. */
static int poll_unlocked(goc__m *m, goc_case *cases, const uint32_t *poll,
                         uint32_t np)
{
    for (uint32_t k = 0; k < np; k++) {
        goc_case *cs = &cases[poll[k]];
        if (!case_may_proceed(cs))
            continue;
        goc__waiter *peer;
        goc__spin_lock(&cs->chan->lock);
        bool done = case_proceed(cs, &peer);
        goc__spin_unlock(&cs->chan->lock);
        if (done) {
            if (peer != NULL)
                goc__waiter_wake(m, peer);
            return (int)poll[k];
        }
    }
    return -1;
}

/* Pass 1: try case i with every lock held.  m: goc__getm().
 * Returns: true if it proceeded (locks released, peer woken). */
static bool try_case(goc__m *m, struct sel *s, uint32_t i)
{
    goc__waiter *peer;
    /* Under the lock the hint is exact: most cases of a select that is
     * about to block fail here, without the call. */
    if (!case_may_proceed(&s->cases[i]) || !case_proceed(&s->cases[i], &peer))
        return false;
    selunlock(s);
    if (peer != NULL)
        goc__waiter_wake(m, peer);
    return true;
}

/* Returns: true if cs is a well-formed case (GOC_EINVAL otherwise). */
static inline bool case_valid(const goc_case *cs)
{
    if (cs->op == GOC_RECV)
        return true;
    return cs->op == GOC_SEND &&
           (cs->chan == NULL || cs->elem != NULL || cs->chan->elem_size == 0);
}

/* Step 1: check every case, clear its err, and put the indices of those
 * with a channel into poll[] in a uniformly random order (Fisher-Yates).
 * One 32-bit draw serves several steps: step k takes its index from the
 * high half of r * (k + 1) and keeps the low half for the next step (a
 * batched ranged draw, after Brackett-Rozinsky and Lemire); a fresh draw
 * comes before the product of the bounds used passes 2^16, so no index
 * is further from uniform than a single draw of 16 bits would make it
 * (under 2^-16 for a 4-case select, which takes one draw in all).
 * Returns: how many indices are in poll[], or -1 if a case is invalid. */
static int64_t poll_order(goc__m *m, goc_case *cases, uint32_t n,
                          uint32_t *poll)
{
    uint32_t np = 0, r = 0;
    uint64_t used = 1u << 16; /* the product of the bounds r has served */
    for (uint32_t i = 0; i < n; i++) {
        goc_case *cs = &cases[i];
        if (goc__unlikely(!case_valid(cs)))
            return -1;
        cs->err = 0;
        if (cs->chan == NULL)
            continue;
        uint32_t j = 0;
        if (np > 0) {
            uint32_t bound = np + 1;
            if (used * bound > (1u << 16)) { /* too few bits left */
                r = select_rand32(m);
                used = 1;
            }
            uint64_t x = (uint64_t)r * bound;
            j = (uint32_t)(x >> 32);
            r = (uint32_t)x;
            used *= bound;
        }
        poll[np] = poll[j];
        poll[j] = i;
        np++;
    }
    return np;
}

/* The deadline of a select_until fired: if no case has, it wins. */
static int sel_timeout(goc__timer *t, void *arg, int64_t now)
{
    (void)t;
    (void)now;
    goc__selstate *st = arg;
    if (goc__sel_claim(st)) {
        st->fired = NULL;
        goc__ready_ahead(st->g);
    }
    return GOC__TIMER_KEEP;
}

struct timed_park {
    struct sel *s;
    goc__selstate *st;
    int64_t deadline;
};

/* The park's unlock callback of a select with a deadline: arm the G's
 * timer before the channels are unlocked (once they are, a case may fire,
 * and the G may return and reuse the stack that st lives on; the timer
 * must be armed by then so the G's goc__timer_del finds it).  The G timer
 * may be armed holding channel locks: its function only readies. */
static bool timed_unlock(goc__g *g, void *arg)
{
    struct timed_park *tp = arg;
    int64_t kick;
    goc__timer_arm_nokick(&g->timer, sel_timeout, tp->st, tp->deadline, 0,
                          &kick);
    selunlock(tp->s);
    if (kick != 0)
        goc__timers_kick(kick);
    return true;
}

/* A plain thread waits on its note until the deadline (without one it
 * is goc__parker_sleep).  Requires: all locks released. */
static void thread_wait(goc__selstate *st, goc__note *note, int64_t deadline)
{
    GOC_ASSERT_NONE_HELD();
    if (goc__notetsleep(note, deadline - goc__clock()))
        return;
    if (goc__sel_claim(st)) {
        st->fired = NULL; /* timed out */
        return;
    }
    goc__notesleep(note); /* a case won the race: its waker is coming */
}

/* Block on every case until one fires, or until deadline (0: none).
 * Requires: all locks held.  m: goc__getm().
 * Returns: the fired case's index, or GOC_ETIMEDOUT. */
/* In the runtime text: it sits on a parked goroutine's stack, and dumps
 * hide those frames (CONTRIBUTING.md). */
GOC__RUNTIME_TEXT
static int select_block(goc__m *m, struct sel *s, goc__waiter *ws,
                        int64_t deadline)
{
    GOC_ASSERT_INTERNAL(sel_held(s));
    goc__selstate st;
    atomic_init(&st.done, 0);
    st.fired = NULL;
    goc__note note;
    goc__parker who; /* every case's waiter: one goroutine or thread */
    goc__parker_init(&who, m, &note);
    goc__g *g = who.g;
    st.g = g;
    for (uint32_t k = 0; k < s->nlock; k++) {
        uint32_t i = s->lockorder[k];
        goc_case *cs = &s->cases[i];
        goc__waiter *w = &ws[k];
        memset(w, 0, sizeof *w);
        w->c = cs->chan;
        w->who = who;
        w->elem = cs->elem;
        w->sel = &st;
        w->case_index = (int)i;
        goc__race_chan_park(cs->chan, w, cs->op == GOC_RECV ? NULL : cs->elem);
        goc__waitq_enqueue(cs->op == GOC_RECV ? &cs->chan->recvq
                                              : &cs->chan->sendq,
                           w);
    }
    if (deadline == 0) {
        goc__parker_sleep(m, &who, selunlock_f, s, "select");
    } else if (g == NULL) {
        selunlock(s);
        thread_wait(&st, &note, deadline);
    } else {
        struct timed_park tp = {s, &st, deadline};
        goc__park_m(m, timed_unlock, &tp, "select");
        goc__timer_del(&g->timer); /* waits out a firing in progress */
    }

    /* Woken: st.fired completed, or the deadline passed.  Take every
     * other waiter off its queue (some were already dropped by dequeuers
     * that lost the CAS), one channel at a time: the select is decided,
     * so nothing needs them locked together.  The fired waiter is off its
     * queue already (its dequeuer took it off), so its channel is not
     * locked at all. */
    goc__waiter *f = st.fired;
    for (uint32_t k = 0; k < s->nlock; k++) {
        goc__waiter *w = &ws[k];
        if (w == f)
            continue;
        goc_case *cs = &s->cases[w->case_index];
        goc__spin_lock(&cs->chan->lock);
        goc__waitq_remove(cs->op == GOC_RECV ? &cs->chan->recvq
                                             : &cs->chan->sendq,
                          w);
        goc__spin_unlock(&cs->chan->lock);
    }
    if (f == NULL)
        return GOC_ETIMEDOUT;
    goc__race_chan_woken(f, s->cases[f->case_index].op == GOC_RECV ? f->elem
                                                                    : NULL);
    if (!f->success)
        s->cases[f->case_index].err = GOC_ECLOSED; /* elem zeroed by close */
    return f->case_index;
}

/* No case can ever proceed: block forever, say "would block", or wait out
 * the deadline. */
GOC__RUNTIME_TEXT
static int select_nothing(int mode, int64_t deadline)
{
    if (mode == MODE_TRY)
        return GOC_EAGAIN;
    if (mode == MODE_BLOCK)
        goc__block_forever("select (no cases)");
    goc_sleep(deadline - goc__clock());
    return GOC_ETIMEDOUT;
}

/* mode: MODE_BLOCK (goc_select), MODE_TRY (goc_select_try) or
 * MODE_UNTIL (goc_select_until, with deadline). */
GOC__RUNTIME_TEXT
static int select_mode(goc_case *cases, size_t n, int mode, int64_t deadline)
{
    if (mode == MODE_UNTIL && deadline <= goc__clock()) {
        int rc = select_mode(cases, n, MODE_TRY, 0); /* poll once */
        return rc == GOC_EAGAIN ? GOC_ETIMEDOUT : rc;
    }
    if (n == 0)
        return select_nothing(mode, deadline);
    if (cases == NULL || n > SELECT_MAX)
        return GOC_EINVAL;

    uint32_t small_poll[SMALL], small_lock[SMALL];
    goc__waiter small_w[SMALL];
    uint32_t *poll = small_poll, *lock = small_lock;
    goc__waiter *ws = small_w;
    void *heap = NULL;
    if (n > SMALL) {
        heap = malloc(n * (2 * sizeof(uint32_t) + sizeof(goc__waiter)));
        if (heap == NULL)
            return GOC_ENOMEM;
        ws = heap;
        poll = (uint32_t *)(ws + n);
        lock = poll + n;
    }

    /* 1. Poll order: the enabled cases, shuffled. */
    goc__m *m = goc__getm();
    int64_t order = poll_order(m, cases, (uint32_t)n, poll);
    if (order < 0) {
        free(heap);
        return GOC_EINVAL;
    }
    if (goc__unlikely(m == NULL))
        goc__extern_thread(); /* as goc__chan_enter */
    if (order == 0) {
        free(heap);
        return select_nothing(mode, deadline);
    }
    uint32_t np = (uint32_t)order;
    int done = poll_unlocked(m, cases, poll, np);
    if (done >= 0) {
        if (heap != NULL)
            free(heap);
        return done;
    }
    /* 2. Lock order: by channel address. */
    if (np <= SMALL) {
        for (uint32_t a = 0; a < np; a++) { /* insertion sort */
            uint32_t v = poll[a], b = a;
            while (b > 0 && (uintptr_t)cases[lock[b - 1]].chan >
                                (uintptr_t)cases[v].chan) {
                lock[b] = lock[b - 1];
                b--;
            }
            lock[b] = v;
        }
    } else {
        memcpy(lock, poll, np * sizeof *lock);
        qsort_r(lock, np, sizeof *lock, cmp_case_chan, cases);
    }
    struct sel s = {cases, lock, np};
    sellock(&s);

    /* 3. Pass 1. */
    for (uint32_t k = 0; k < np; k++) {
        if (try_case(m, &s, poll[k])) {
            if (heap != NULL)
                free(heap);
            return (int)poll[k];
        }
    }
    if (mode == MODE_TRY) {
        selunlock(&s);
        free(heap);
        return GOC_EAGAIN;
    }
    /* 4-5. Wait on all of them. */
    int rc = select_block(m, &s, ws, mode == MODE_UNTIL ? deadline : 0);
    if (heap != NULL)
        free(heap);
    return rc;
}

int goc_select(goc_case *cases, size_t n)
{
    goc__race_func_enter(__builtin_return_address(0)); /* race.h */
    goc__preempt_check();
    int rc = select_mode(cases, n, MODE_BLOCK, 0);
    goc__race_func_exit();
    GOC__KEEP_FRAME();
    return rc;
}

int goc_select_try(goc_case *cases, size_t n)
{
    goc__race_func_enter(__builtin_return_address(0)); /* race.h */
    goc__preempt_check();
    int rc = select_mode(cases, n, MODE_TRY, 0);
    goc__race_func_exit();
    return rc;
}

int goc_select_until(goc_case *cases, size_t n, int64_t deadline)
{
    goc__race_func_enter(__builtin_return_address(0)); /* race.h */
    goc__preempt_check();
    int rc = select_mode(cases, n, MODE_UNTIL, deadline);
    goc__race_func_exit();
    GOC__KEEP_FRAME();
    return rc;
}
