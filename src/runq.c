/* SPDX-License-Identifier: MIT */
/*
 * runq.c - run queues: each P's bounded lock-free ring plus its runnext
 * slot, the global queue, and stealing (Go's runqput/runqget/runqgrab).
 * Design: docs/design/scheduler.md, "Run queues".
 *
 * Local ring: single producer (the M holding the P), many consumers (the
 * owner and thieves).  The owner writes a slot, then publishes it with a
 * release store of runqtail.  Consumers read slots between head and tail
 * and claim them with a CAS on runqhead; a consumer that loses the CAS
 * drops what it read, which is why slots are (relaxed) atomics: the owner
 * may be rewriting a slot a losing thief just read.  The owner may also
 * put a G at the head (goc__runq_ring_put_head): it writes the slot below
 * the head, then moves runqhead back by a CAS.
 *
 * Invariants:
 *   0 <= tail - head <= GOC__RUNQ_SIZE (uint32 arithmetic, wraps freely)
 *   a G is in at most one of: a ring slot in [head, tail), a runnext, the
 *   global queue.
 * Locking: the global queue (a ring of G pointers that grows by doubling)
 * is protected by sched.lock; runqsize is its length, written under the
 * lock and read without it as a hint.
 */
#include <stdlib.h>
#include <unistd.h>

#include "internal.h"

#define RUNQ_MASK (GOC__RUNQ_SIZE - 1)
_Static_assert((GOC__RUNQ_SIZE & RUNQ_MASK) == 0, "ring size is a power of 2");

static inline goc__g *slot_load(goc__p *p, uint32_t i)
{
    return atomic_load_explicit(&p->runq[i & RUNQ_MASK], memory_order_relaxed);
}

static inline void slot_store(goc__p *p, uint32_t i, goc__g *g)
{
    atomic_store_explicit(&p->runq[i & RUNQ_MASK], g, memory_order_relaxed);
}

/* The owner's puts (goc__runq_ring_put, goc__runq_put and
 * goc__runq_put_next_light) are inline, in runq.h. */

/* Move half the ring plus g to the global queue in one batch, taking
 * sched.lock once (Go's runqputslow); retries the fast path if a thief
 * emptied part of the ring meanwhile.  Only on: the M holding p. */
#if GOC_DEBUG >= 3
/* Returns: true if p's ring is within bounds, 0 <= tail - head <=
 * GOC__RUNQ_SIZE.  Only on: the M holding p (tail is ours; thieves only
 * move head forward, which keeps the bound).  The slots' Gs are not
 * checked: a thief may take one between our loads. */
static bool runq_is_valid(goc__p *p)
{
    uint32_t h = atomic_load_explicit(&p->runqhead, memory_order_acquire);
    uint32_t t = atomic_load_explicit(&p->runqtail, memory_order_relaxed);
    return t - h <= GOC__RUNQ_SIZE;
}
#endif

void goc__runq_put_slow(goc__p *p, goc__g *g)
{
    GOC_ASSERT_EXPENSIVE(runq_is_valid(p));
    goc__g *batch[GOC__RUNQ_SIZE / 2 + 1];
    for (;;) {
        uint32_t h = atomic_load_explicit(&p->runqhead, memory_order_acquire);
        uint32_t t = atomic_load_explicit(&p->runqtail, memory_order_relaxed);
        uint32_t n = (t - h) / 2;
        if (t - h < GOC__RUNQ_SIZE) {
            if (goc__runq_ring_put(p, g))
                return;
            continue;
        }
        for (uint32_t i = 0; i < n; i++)
            batch[i] = slot_load(p, h + i);
        /* release: pairs with the acquire load in goc__runq_put. */
        if (!atomic_compare_exchange_strong_explicit(
                &p->runqhead, &h, h + n, memory_order_release,
                memory_order_relaxed))
            continue;
        batch[n] = g;
        goc__globrunq_put_batch(batch, (int32_t)(n + 1));
        return;
    }
}

/* goc__runq_get and its ring half are inline, in runq.h. */

/* Any thread: a racy emptiness check (used by spin-down rechecks).
 * seq_cst loads: the recheck's half of the pairing in goc__wakep_after. */
bool goc__runq_empty(goc__p *p)
{
    uint32_t h = atomic_load_explicit(&p->runqhead, memory_order_seq_cst);
    uint32_t t = atomic_load_explicit(&p->runqtail, memory_order_seq_cst);
    return h == t &&
           atomic_load_explicit(&p->runnext, memory_order_seq_cst) == NULL;
}

/* Copy half (rounded up) of victim's ring into p's ring starting at slot
 * `at`, without publishing it; claim them with a CAS on victim's head.
 * With stealnext and an empty ring, take victim's runnext instead.
 * Returns: how many Gs were copied. */
static uint32_t runq_grab(goc__p *victim, goc__p *p, uint32_t at,
                          bool stealnext, bool *churn)
{
    for (;;) {
        uint32_t h =
            atomic_load_explicit(&victim->runqhead, memory_order_acquire);
        /* acquire: pairs with the owner's release store of runqtail, so
         * the slots below it are written. */
        uint32_t t =
            atomic_load_explicit(&victim->runqtail, memory_order_acquire);
        uint32_t n = t - h;
        n = n - n / 2;
        if (n == 0) {
            if (!stealnext)
                return 0;
            goc__g *next =
                atomic_load_explicit(&victim->runnext, memory_order_relaxed);
            if (next == NULL)
                return 0;
            /* The victim is probably about to run its runnext itself (a
             * channel hand-off takes far less than this): back off first,
             * as Go does, instead of bouncing the G between threads. */
            if (atomic_load_explicit(&victim->status, memory_order_relaxed) ==
                GOC__PRUNNING)
                usleep(3);
            if (!atomic_compare_exchange_strong_explicit(
                    &victim->runnext, &next, NULL, memory_order_acquire,
                    memory_order_relaxed)) {
                *churn = true; /* it ran that one and readied another */
                continue;
            }
            slot_store(p, at, next);
            return 1;
        }
        if (n > GOC__RUNQ_SIZE / 2)
            continue; /* h and t read at different times; retry */
        for (uint32_t i = 0; i < n; i++)
            slot_store(p, at + i, slot_load(victim, h + i));
        /* release: pairs with the owner's acquire load of runqhead. */
        if (atomic_compare_exchange_strong_explicit(
                &victim->runqhead, &h, h + n, memory_order_release,
                memory_order_relaxed))
            return n;
    }
}

/* runq.h */
goc__g *goc__runq_steal(goc__p *p, goc__p *victim, bool stealnext, bool *churn)
{
    GOC_ASSERT_EXPENSIVE(runq_is_valid(p));
    uint32_t t = atomic_load_explicit(&p->runqtail, memory_order_relaxed);
    uint32_t n = runq_grab(victim, p, t, stealnext, churn);
    if (n == 0)
        return NULL;
    n--;
    goc__g *g = slot_load(p, t + n);
    if (n == 0)
        return g;
    GOC_ASSERT_INTERNAL(t - atomic_load_explicit(&p->runqhead,
                                                 memory_order_relaxed) +
                            n < GOC__RUNQ_SIZE);
    /* release: publishes the stolen slots to our own thieves. */
    atomic_store_explicit(&p->runqtail, t + n, memory_order_release);
    return g;
}

/* ---- global queue (sched.lock) ---- */

static int32_t grunq_len(void)
{
    return atomic_load_explicit(&goc__sched.runqsize, memory_order_relaxed);
}

/* The global queue's first capacity, in Gs; it doubles as it fills.
 * Address space, not memory: the ring restarts at slot 0 whenever it
 * empties (grunq_pop), so only as many of its pages are touched as the
 * queue ever held at once, and a join of 100k goroutines (which overflow
 * the local ring into it) neither copies nor frees a growing ring. */
#define GRUNQ_INITIAL_CAP (1u << 18)

/* Make room for n more.  Requires: sched.lock. */
__attribute__((noinline)) static void grunq_reserve(int32_t n)
{
    GOC_ASSERT_HELD(&goc__sched.lock);
    uint32_t len = (uint32_t)grunq_len();
    if (len + (uint32_t)n <= goc__sched.grunqcap)
        return;
    uint32_t cap = goc__sched.grunqcap ? goc__sched.grunqcap
                                       : GRUNQ_INITIAL_CAP;
    while (cap < len + (uint32_t)n)
        cap *= 2;
    goc__g **v = malloc(cap * sizeof *v);
    if (v == NULL)
        goc__fatal("runtime: out of memory for the global run queue");
    for (uint32_t i = 0; i < len; i++)
        v[i] = goc__sched.grunq[(goc__sched.grunqhead + i) &
                                (goc__sched.grunqcap - 1)];
    free(goc__sched.grunq);
    goc__sched.grunq = v;
    goc__sched.grunqcap = cap;
    goc__sched.grunqhead = 0;
}

#if GOC_DEBUG >= 3
/* Requires: sched.lock.  Returns: true if the ring's bounds hold and every
 * queued G is RUNNABLE. */
static bool grunq_is_valid(void)
{
    uint32_t len = (uint32_t)grunq_len(), cap = goc__sched.grunqcap;
    if (len > cap || (cap & (cap - 1)) != 0 ||
        (cap > 0 && goc__sched.grunqhead >= cap))
        return false;
    for (uint32_t i = 0; i < len; i++) {
        goc__g *g = goc__sched.grunq[(goc__sched.grunqhead + i) & (cap - 1)];
        if (g == NULL || atomic_load_explicit(&g->status,
                                              memory_order_relaxed) !=
                             GOC__GRUNNABLE)
            return false;
    }
    return true;
}
#endif

static void grunq_push(goc__g *g)
{
    uint32_t len = (uint32_t)grunq_len();
    goc__sched.grunq[(goc__sched.grunqhead + len) &
                     (goc__sched.grunqcap - 1)] = g;
    atomic_store_explicit(&goc__sched.runqsize, (int32_t)len + 1,
                          memory_order_relaxed);
}

static goc__g *grunq_pop(void)
{
    uint32_t len = (uint32_t)grunq_len();
    goc__g *g = goc__sched.grunq[goc__sched.grunqhead];
    goc__sched.grunqhead = len == 1 ? 0 /* empty: back to the start */
                                    : (goc__sched.grunqhead + 1) &
                                          (goc__sched.grunqcap - 1);
    atomic_store_explicit(&goc__sched.runqsize, (int32_t)len - 1,
                          memory_order_relaxed);
    return g;
}

void goc__globrunq_put_locked(goc__g *g)
{
    GOC_ASSERT_HELD(&goc__sched.lock);
    if (goc__unlikely((uint32_t)grunq_len() == goc__sched.grunqcap))
        grunq_reserve(1);
    grunq_push(g);
}

/* One G into the global queue, taking sched.lock. */
void goc__globrunqput(goc__g *g)
{
    goc__lock(&goc__sched.lock);
    goc__globrunq_put_locked(g);
    goc__unlock(&goc__sched.lock);
}

/* runq.h */
void goc__globrunq_put_batch(goc__g *const *v, int32_t n)
{
    goc__lock(&goc__sched.lock);
    grunq_reserve(n);
    for (int32_t i = 0; i < n; i++)
        grunq_push(v[i]);
    goc__unlock(&goc__sched.lock);
}

/* Teardown: free the ring. */
void goc__globrunq_free(void)
{
    free(goc__sched.grunq);
    goc__sched.grunq = NULL;
    goc__sched.grunqcap = goc__sched.grunqhead = 0;
    atomic_store_explicit(&goc__sched.runqsize, 0, memory_order_relaxed);
}

/* Take a fair share of the global queue: one G to run, and up to
 * min(size/GOMAXPROCS + 1, max, half a ring) - 1 more into p's ring.
 * Requires: sched.lock; the caller holds p. */
goc__g *goc__globrunq_get(goc__p *p, int32_t max)
{
    GOC_ASSERT_HELD(&goc__sched.lock);
    GOC_ASSERT_EXPENSIVE(grunq_is_valid());
    int32_t size =
        atomic_load_explicit(&goc__sched.runqsize, memory_order_relaxed);
    if (size == 0)
        return NULL;
    int32_t procs =
        atomic_load_explicit(&goc__sched.gomaxprocs, memory_order_relaxed);
    int32_t n = size / procs + 1;
    if (n > size)
        n = size;
    if (max > 0 && n > max)
        n = max;
    if (n > GOC__RUNQ_SIZE / 2)
        n = GOC__RUNQ_SIZE / 2;
    goc__g *g = grunq_pop();
    for (int32_t i = 1; i < n; i++) {
        goc__g *g2 = grunq_pop();
        /* The ring has room: n <= half of it, and callers take more than
         * one G only when they found their local queue empty.  (The slow
         * spill would deadlock here: it takes sched.lock.) */
        if (!goc__runq_ring_put(p, g2))
            goc__globrunq_put_locked(g2);
    }
    return g;
}
