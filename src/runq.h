/* SPDX-License-Identifier: MIT */
/*
 * runq.h - run queues (runq.c): a P's ring and runnext, the global queue.
 * The inline fast paths beside their slow halves.  "Make a G runnable"
 * (queue it, then wake an idle P) is proc.h's: waking is the scheduler's.
 */
#ifndef GOC_RUNQ_H
#define GOC_RUNQ_H

#include <stdbool.h>
#include <stdint.h>

#include "goroutine.h"
#include "lock.h"
#include "runtime.h"

/* Move half the ring plus g to the global queue (the ring is full). */
void goc__runq_put_slow(goc__p *p, goc__g *g);

/* Append g to p's ring if it has room.  Only on: the M holding p. */
static inline bool goc__runq_ring_put(goc__p *p, goc__g *g)
{
    /* acquire: pairs with the release CAS of consumers, so the slot we are
     * about to reuse has been read by whoever claimed it. */
    uint32_t h = atomic_load_explicit(&p->runqhead, memory_order_acquire);
    uint32_t t = atomic_load_explicit(&p->runqtail, memory_order_relaxed);
    if (t - h >= GOC__RUNQ_SIZE)
        return false;
    /* A relaxed atomic slot: a losing thief may be reading it. */
    atomic_store_explicit(&p->runq[t % GOC__RUNQ_SIZE], g,
                          memory_order_relaxed);
    /* release: publishes the slot; pairs with the acquire loads of
     * runqtail in runq_grab. */
    atomic_store_explicit(&p->runqtail, t + 1, memory_order_release);
    return true;
}

/* Put g at the head of p's ring, before everything queued there, if it
 * has room: runnext's promise (run next) for a goroutine whose timer
 * fired, without displacing the runnext of a hand-off.  The head moves
 * back by a CAS, as consumers move it forward: a thief that read the old
 * head loses its CAS and reads again; the owner's store of the slot is
 * published by its release CAS, which the acquire loads of runqhead
 * pair with.  Only the owner moves the head back, so it never returns to
 * a value a consumer read (no ABA).  Only on: the M holding p. */
static inline bool goc__runq_ring_put_head(goc__p *p, goc__g *g)
{
    for (;;) {
        /* acquire: as in goc__runq_ring_put (the slot below the head was
         * read by whoever claimed it). */
        uint32_t h = atomic_load_explicit(&p->runqhead, memory_order_acquire);
        uint32_t t = atomic_load_explicit(&p->runqtail, memory_order_relaxed);
        if (t - h >= GOC__RUNQ_SIZE)
            return false;
        atomic_store_explicit(&p->runq[(h - 1) % GOC__RUNQ_SIZE], g,
                              memory_order_relaxed);
        if (atomic_compare_exchange_weak_explicit(&p->runqhead, &h, h - 1,
                                                  memory_order_release,
                                                  memory_order_relaxed))
            return true;
    }
}

/* Put g on p's queue; into runnext when next is set, kicking the old
 * runnext to the tail.  A full ring spills half of itself to the global
 * queue (taking sched.lock), so the caller must not hold sched.lock.
 * Only on: the M holding p. */
static inline void goc__runq_put(goc__p *p, goc__g *g, bool next)
{
    if (next) {
        /* acq_rel: the new G's fields travel to a thief that CASes it
         * out; the old one's fields come to us.  (The order against an M
         * going idle is goc__wakep_after's fence.) */
        g = atomic_exchange_explicit(&p->runnext, g, memory_order_acq_rel);
        if (g == NULL)
            return;
    }
    if (!goc__runq_ring_put(p, g))
        goc__runq_put_slow(p, g);
}

/* runq_put(p, g, true), with a plain store into an empty runnext (ready
 * and spawn).  Only on: the M holding p. */
static inline void goc__runq_put_next_light(goc__p *p, goc__g *g)
{
    /* An empty runnext is written by nobody but us: thieves only CAS a G
     * out of it.  So when it is empty a plain store is enough (release:
     * the G's fields travel to whoever takes it); only a full one needs
     * the exchange, which also races a thief for the old G. */
    if (atomic_load_explicit(&p->runnext, memory_order_relaxed) == NULL) {
        atomic_store_explicit(&p->runnext, g, memory_order_release);
        return;
    }
    goc__runq_put(p, g, true);
}

/* p's runnext, if any.  Only on: the M holding p (thieves CAS too). */
static inline goc__g *goc__runq_take_runnext(goc__p *p)
{
    goc__g *next = atomic_load_explicit(&p->runnext, memory_order_relaxed);
    /* acquire: pairs with the release store or the acq_rel exchange that
     * put it there. */
    if (next != NULL &&
        atomic_compare_exchange_strong_explicit(&p->runnext, &next, NULL,
                                                memory_order_acquire,
                                                memory_order_relaxed))
        return next;
    return NULL;
}

/* Having taken a goroutine that has parked before from the ring head h
 * (of tail t), start fetching what the ones behind it will touch first
 * when they resume.  Goroutines that slept long (a channel closed over
 * 100k waiters) stall on the first touch of each one's stack: a page walk
 * and then a miss for each line its frames span from sp up (224 bytes for
 * a goroutine parked in a channel receive: four lines).  Fetched for one
 * goroutine at a time, nothing overlaps those misses: the returns that
 * climb the frames after a switch are mispredicted, so each waits for its
 * line, and a prefetch that misses the TLB holds its place until the walk
 * is done.  So every RUNQ_FETCH_GROUP-th take fetches a group at once,
 * whose walks and misses then overlap: the stack tops of the next group,
 * and the header lines holding sp of the group after it (read by the next
 * such take).  Joining 100k at GOMAXPROCS 1 took 25 ms, not 32; one
 * goroutine at a time, at distances 1 to 6, saved nothing
 * (docs/performance.md).  The caller asks only when the goroutine taken
 * has parked in its life (waitreason set): a spawn storm's goroutines
 * have no stack yet, and goroutines that only yield come back before
 * their stacks go cold, so those pay nothing.  A hint only: a thief may
 * take the next ones and their sp change meanwhile, so sp is read with a
 * relaxed atomic load (a stale value costs useless prefetches; a
 * prefetch never faults, and headers stay mapped for the run); not under
 * TSan, which would see that read race the switch. */
#define RUNQ_FETCH_GROUP 8
#define RUNQ_FETCH_LINES 4  /* at most, up to the end of sp's page */
#define RUNQ_FETCH_PAGE 4096 /* the smallest page size (a bound only) */

static inline void runq_fetch_stack(const char *sp)
{
    /* The lines from sp up, or the page's last ones if sp is nearer its
     * end: below sp is the same page, so those cost no walk. */
    uintptr_t a = (uintptr_t)sp & ~(uintptr_t)(GOC__CACHE_LINE - 1);
    uintptr_t last = ((uintptr_t)sp | (RUNQ_FETCH_PAGE - 1)) + 1 -
                     RUNQ_FETCH_LINES * GOC__CACHE_LINE;
    const char *l = (const char *)(a < last ? a : last);
    for (int k = 0; k < RUNQ_FETCH_LINES; k++)
        __builtin_prefetch(l + k * GOC__CACHE_LINE);
}

static inline void runq_prefetch_next(goc__p *p, uint32_t h, uint32_t t)
{
#ifndef GOC_HAVE_TSAN
    if (h % RUNQ_FETCH_GROUP != 0)
        return;
    uint32_t behind = t - h - 1; /* queued behind the one taken */
    uint32_t j = 1, stacks_end = behind < RUNQ_FETCH_GROUP ? behind + 1
                                                           : RUNQ_FETCH_GROUP + 1;
    for (; j < stacks_end; j++) {
        goc__g *g = atomic_load_explicit(&p->runq[(h + j) % GOC__RUNQ_SIZE],
                                         memory_order_relaxed);
        const char *sp = __atomic_load_n(&g->sp, __ATOMIC_RELAXED);
        if (sp != NULL)
            runq_fetch_stack(sp);
    }
    uint32_t heads_end = behind < 2 * RUNQ_FETCH_GROUP
                             ? behind + 1
                             : 2 * RUNQ_FETCH_GROUP + 1;
    for (; j < heads_end; j++) {
        goc__g *g = atomic_load_explicit(&p->runq[(h + j) % GOC__RUNQ_SIZE],
                                         memory_order_relaxed);
        __builtin_prefetch(&g->sp);
    }
#else
    (void)p;
    (void)h;
    (void)t;
#endif
}

/* The ring head, if any.  Only on: the M holding p (thieves CAS too). */
static inline goc__g *goc__runq_take_head(goc__p *p)
{
    for (;;) {
        uint32_t h = atomic_load_explicit(&p->runqhead, memory_order_acquire);
        uint32_t t = atomic_load_explicit(&p->runqtail, memory_order_relaxed);
        if (t == h)
            return NULL;
        goc__g *g = atomic_load_explicit(&p->runq[h % GOC__RUNQ_SIZE],
                                         memory_order_relaxed);
        /* release: pairs with the acquire load of runqhead in put. */
        if (atomic_compare_exchange_weak_explicit(&p->runqhead, &h, h + 1,
                                                  memory_order_release,
                                                  memory_order_relaxed)) {
            /* ours now: plain reads */
            if (g->sp != NULL && g->waitreason != NULL)
                runq_prefetch_next(p, h, t);
            return g;
        }
    }
}

/* Take the next G: runnext first (*inherit = true: it shares the time
 * slice of the G that readied it, as Go's inheritTime; two goroutines
 * that ready each other through runnext keep the P until that slice is
 * over, and preemption ends it: proc.h), then the ring head.
 * Only on: the M holding p. */
static inline goc__g *goc__runq_get(goc__p *p, bool *inherit)
{
    goc__g *g;
    if ((g = goc__runq_take_runnext(p)) != NULL) {
        *inherit = true;
        return g;
    }
    *inherit = false;
    return goc__runq_take_head(p);
}
bool goc__runq_empty(goc__p *p);
/* Steal half of victim's ring into p and return one G; with stealnext and
 * an empty ring, victim's runnext (after a back-off).  *churn is set when
 * that runnext was run by the victim during the back-off, and another
 * readied in its place.  Only on: the M holding p. */
goc__g *goc__runq_steal(goc__p *p, goc__p *victim, bool stealnext, bool *churn);
goc__g *goc__globrunq_get(goc__p *p, int32_t max); /* Requires: lock */
void goc__globrunq_put_locked(goc__g *g);          /* Requires: lock */
void goc__globrunqput(goc__g *g);                   /* takes lock */
/* Append v[0 .. n) to the global queue, in order.  Takes sched.lock. */
void goc__globrunq_put_batch(goc__g *const *v, int32_t n);
void goc__globrunq_free(void);                      /* teardown */

#endif /* GOC_RUNQ_H */
