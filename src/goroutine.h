/* SPDX-License-Identifier: MIT */
/*
 * goroutine.h - goroutine headers, their first run, exit and the context
 * switches (goroutine.c), and the G status transitions done on hot paths.
 */
#ifndef GOC_GOROUTINE_H
#define GOC_GOROUTINE_H

#include <stdbool.h>
#include <stdint.h>

#include "lock.h"
#include "runtime.h"
#include "race.h"
#include "stack.h"

#ifdef GOC_HAVE_TSAN
#include <sanitizer/tsan_interface.h>
#include <stdio.h>

/* Name a goroutine's fiber "goroutine N", as TSan's reports call it. */
static inline void goc__race_name_fiber(void *fiber, int64_t goid)
{
    char name[32];
    snprintf(name, sizeof name, "goroutine %lld", (long long)goid);
    __tsan_set_fiber_name(fiber, name);
}
#endif

int goc__newproc(size_t slot_size, const char *name, void (*fn)(void *),
                 void *arg, uintptr_t pc, bool system, goc__g **out);
/* First run of g (g->sp == NULL), now RUNNING on the M holding p: take
 * the warmest free slot and build the first context there.
 * Returns: false if no slot could be had (g is left as it was). */
bool goc__g_start(goc__p *p, goc__g *g);
void goc__g_flush_cache(goc__p *p);  /* P's dead headers back to the pool */
/* Every header ever carved in this run: fn(g, arg) for each; lock-free,
 * read each g's status (acquire) before trusting its fields. */
void goc__g_each(void (*fn)(goc__g *g, void *arg), void *arg);
/* Header number i of this run (the order goc__g_each walks), or NULL past
 * the last one carved; lock-free, as goc__g_each. */
goc__g *goc__g_at(uint64_t i);
void goc__g_teardown(void);          /* free every header */
void goc__switch_to_g0(goc__m *m, goc__g *g, bool dying);
void goc__switch_to_g(goc__m *m, goc__g *g);
/* G to G on one M, skipping g0 (goc__park's direct path). */
void goc__switch_g_to_g(goc__g *from, goc__g *to, bool dying);
void goc__g_release(goc__m *m, goc__g *g); /* after exit, off its stack */
/* Exit g into next, which takes g's stack (goroutine.c). */
__attribute__((noreturn)) void goc__g_exit_into(goc__g *g, goc__g *next);
void goc__g_abandon(goc__g *g, void *arg); /* teardown of a live G */
void goc__gstatus_bad(goc__g *g, uint32_t want); /* fatal */
/* A dump is reading some goroutine's stack (debug.c). */
extern _Atomic bool goc__dumping;
void goc__dump_wait(goc__g *g);      /* until the dump is done with g */

/* RUNNABLE -> RUNNING, by the M that took g from a queue (g is in one
 * queue at most, so that M is the only writer).  A plain store, then the
 * check against a dump reading g's stack: the store comes before the load
 * of goc__dumping (an asymmetric fence: the dump pays for it with a
 * membarrier), so either the dump sees RUNNING and leaves the stack alone,
 * or we see the dump and wait until it is done with g (debug.c).
 * release: publishes what the spawner wrote (goid, fn...) to a dump that
 * reads RUNNING, as the CAS did before; plain on x86. */
static inline void goc__gstatus_run(goc__g *g)
{
    if (goc__unlikely(atomic_load_explicit(&g->status, memory_order_relaxed) !=
                      GOC__GRUNNABLE))
        goc__gstatus_bad(g, GOC__GRUNNABLE);
    atomic_store_explicit(&g->status, GOC__GRUNNING, memory_order_release);
    goc__fence_light();
    /* acquire: a dump that has ended (or moved on, see goc__dump_wait)
     * read g's stack before we run on it; pairs with its release stores. */
    if (goc__unlikely(atomic_load_explicit(&goc__dumping,
                                           memory_order_acquire)))
        goc__dump_wait(g);
#if GOC_DEBUG >= 2
    atomic_fetch_add_explicit(&g->nexec, 1, memory_order_seq_cst);
#endif
}

/* WAITING -> RUNNABLE, by the one goroutine or thread entitled to wake g
 * (the one that took it off a wait queue, or won its select's claim).  g
 * stays off its stack, so the dump does not care: a checked plain store.
 * release: pairs with the dump's acquire load. */
static inline void goc__gstatus_ready(goc__g *g)
{
    if (goc__unlikely(atomic_load_explicit(&g->status, memory_order_relaxed) !=
                      GOC__GWAITING))
        goc__gstatus_bad(g, GOC__GWAITING);
    atomic_store_explicit(&g->status, GOC__GRUNNABLE, memory_order_release);
}

/* RUNNING -> to, by g's own M once g is off its stack.  Nobody else
 * writes a running G's status.  release: g's saved context and wait
 * reason travel to the dump's acquire load (and to whoever takes g next,
 * though queues and wait-queue locks carry their own ordering). */
static inline void goc__gstatus_leave_running(goc__g *g, uint32_t to)
{
    GOC_ASSERT_INTERNAL(atomic_load_explicit(&g->status,
                                             memory_order_relaxed) ==
                        GOC__GRUNNING);
    atomic_store_explicit(&g->status, to, memory_order_release);
}

/* A park's unlockf(g, arg), run by g's M once g is off its stack (on g0
 * or on the goroutine g switched to: proc.h, goc__finish_park).  Under
 * TSan it runs hidden (race.h): done as whoever runs it, it would order
 * g after that one or that one after g.  (Not as g's fiber: once the
 * unlockf lets go of its lock, g may run elsewhere at once.) */
static inline __attribute__((always_inline)) bool
goc__race_unlockf(goc__unlockf f, goc__g *g, void *arg)
{
    goc__race_ignore_sync_begin();
    bool ok = f(g, arg);
    goc__race_ignore_sync_end();
    return ok;
}

/* ---- creating a G (spawn.c queues it; run.c makes the main one) ---- */

/* Refill p's header cache from the pool (or, without a P, take one).
 * Returns: a free header, or NULL when out of memory. */
goc__g *goc__g_alloc_slow(goc__p *p);

/* A free header: p's cache (its top), else the pool.  p may be NULL. */
static inline goc__g *goc__g_alloc(goc__p *p)
{
    if (goc__likely(p != NULL && p->ngfree > 0))
        return p->gfree[--p->ngfree];
    return goc__g_alloc_slow(p);
}

/* Live user goroutines are counted per P, so that spawn and exit need no
 * shared atomic (the line bounced between the Ps: skynet spent 8% there).
 * A P's count only moves on its owner M; a plain thread's spawn goes to
 * the global count.  relaxed: goc_num_goroutine's sum is a snapshot, as
 * Go's NumGoroutine is. */
static inline void goc__g_count(goc__p *p, int64_t d)
{
    if (goc__likely(p != NULL))
        atomic_store_explicit(&p->ngoroutine,
                              atomic_load_explicit(&p->ngoroutine,
                                                   memory_order_relaxed) +
                                  d,
                              memory_order_relaxed);
    else
        atomic_fetch_add_explicit(&goc__sched.ngoroutine, (int32_t)d,
                                  memory_order_relaxed);
}

static inline int64_t goc__goid_next(goc__p *p)
{
    if (p == NULL)
        return atomic_fetch_add_explicit(&goc__sched.goidgen, 1,
                                         memory_order_relaxed) + 1;
    if (p->goidnext == p->goidend) {
        int64_t base = atomic_fetch_add_explicit(&goc__sched.goidgen,
                                                 GOC__GOID_BATCH,
                                                 memory_order_relaxed);
        p->goidnext = base + 1;
        p->goidend = base + 1 + GOC__GOID_BATCH;
    }
    return p->goidnext++;
}

/* Create a RUNNABLE goroutine running fn(arg); *out receives it.  The
 * caller queues it.  Returns: 0 or GOC_ENOMEM / GOC_EINVAL.
 * Only on: a goroutine, g0, or (p == NULL) a plain thread during a run;
 * m is the caller's (goc__getm()). */
static inline __attribute__((always_inline)) int
goc__newproc_m(goc__m *m, size_t slot_size, const char *name, void (*fn)(void *),
        void *arg, uintptr_t pc, bool system, goc__g **out)
{
    goc__p *p = m != NULL ? m->p : NULL;
    if (!goc__stack_available(p, slot_size))
        return GOC_ENOMEM;
    goc__g *g = goc__g_alloc(p);
    if (g == NULL)
        return GOC_ENOMEM;
    goc__g *parent = m != NULL ? m->curg : NULL;
    /* The first line only: the rest is as the last release left it (sp
     * NULL: the stack is taken and the context built at the first run,
     * goc__g_start). */
    g->system = system;
    g->is_main = false;
    g->fn = fn;
    g->arg = arg;
    g->goid = goc__goid_next(p);
    g->parent_goid = parent != NULL ? parent->goid : 0;
    g->gopc = pc;
    g->name = name;
    g->slot_size = slot_size;
#ifdef GOC_HAVE_TSAN
    /* Created here, by the spawner's fiber: TSan starts the new fiber
     * after everything the spawner did (go -> start) and shows the
     * spawner's stack as "created by". */
    g->tsan_fiber = __tsan_create_fiber(0);
    goc__race_name_fiber(g->tsan_fiber, g->goid);
#endif
    if (!system)
        goc__g_count(p, 1);
    /* release: the fields above are visible to a dump that sees the
     * status; queues carry their own release/acquire for the runner. */
    atomic_store_explicit(&g->status, GOC__GRUNNABLE, memory_order_release);
    *out = g;
    return 0;
}

#endif /* GOC_GOROUTINE_H */
