/* SPDX-License-Identifier: MIT */
/*
 * park.c - parking and readying goroutines: goc__park (WAITING until a
 * goc__ready), goc_yield, goc_exit and a goroutine's end, blocking
 * sections (goc_blocking_begin/end: the goroutine lets go of its P and
 * takes it back, or another), with the direct
 * hand-off that switches from a parking or exiting goroutine straight to
 * the one it has just readied (skipping g0 and the M loop).  The floor
 * above proc.c: it asks proc.c what find_runnable would do next
 * (goc__local_queue_first) and falls back to g0's loop (goc__mcall's
 * switch) otherwise.  Design: docs/design/scheduler.md.
 */
#include <sched.h>

#include "goc.h"
#include "internal.h"
#include "race.h"

/* Switch from m's current goroutine to g0 with a request (m->after).
 * Always inlined: it then lives in its callers, all runtime text (check.h),
 * which goroutine dumps hide. */
static inline __attribute__((always_inline)) void mcall_m(goc__m *m,
                                                          int after)
{
    m->after = after;
    goc__switch_to_g0(m, m->curg, after == GOC__AFTER_EXIT);
}

/* The G to switch to straight from a parking or exiting G: the one
 * find_runnable would pick, when it would pick from the local queue
 * (nothing locked, no retirement or exit pending, no timer or global
 * queue to look at first): runnext (a channel hand-off, which shares
 * the slice), else the ring head (a spawn storm's children).  With
 * `adopt`, a G that has never run and whose stack class is adopt's comes
 * back unstarted, to take over adopt's stack.
 * `parking`: the parking G's unlockf (its channel's lock, say) runs only
 * once the next G is on its stack, so a G that has never run is started
 * here only if its stack comes warm from p's cache.  A refill (the pool's
 * lock, syscalls) or a cold slot's first write (a host fault on a VM)
 * would hold that lock meanwhile: at 2 Ps, 100k goroutines spawned to
 * park on one channel took 1,105 ms so, the other P napping on the
 * channel's lock, and 783 ms with this rule (docs/performance.md, "Spawn
 * + park at 2 Ps").  g0's loop starts such a G after the unlock.
 * Returns: it, now RUNNING on m, or NULL. */
static inline __attribute__((always_inline)) goc__g *
direct_next(goc__m *m, const goc__g *adopt, bool parking)
{
    goc__p *p = m->p;
    if (m->lockedg != NULL || p->id >= goc__gomaxprocs() || goc__exiting())
        return NULL;
    goc__g *h = goc__runq_take_runnext(p);
    if (h == NULL) {
        bool inherit;
        if (!goc__local_queue_first(p) ||
            (h = goc__runq_get(p, &inherit)) == NULL)
            return NULL;
        if (!inherit)
            goc__p_new_slice(p);
    }
    if (h->lockedm != NULL ||
        (parking && h->sp == NULL &&
         goc__stack_alloc_is_slow(p, h->slot_size))) {
        /* Only its own M runs it, or it has never run, we park, and its
         * stack would be slow to get (below): g0's loop hands it over.
         * Back to runnext, which is empty or kicked to the tail. */
        goc__runq_put(p, h, true);
        return NULL;
    }
    goc__gstatus_run(h);
    if (h->sp == NULL && !(adopt != NULL && h->slot_size == adopt->slot_size) &&
        !goc__g_start(p, h)) {
        /* No stack for it now: g0's loop starts it or backs off. */
        goc__gstatus_leave_running(h, GOC__GRUNNABLE);
        goc__runq_put(p, h, true);
        return NULL;
    }
    h->m = m;
    return h;
}

/* Hand m from g to next (RUNNING on m, from direct_next): next finishes
 * g's park or exit (after) once g is off its stack (goc__after_resume). */
static inline __attribute__((always_inline)) void
hand_over(goc__m *m, goc__g *g, goc__g *next, int after)
{
    m->curg = next;
    m->handoff = g;
    m->after = after;
    goc__p_runtick(m->p);
}

/* hand_over, then switch straight from g to next. */
static inline __attribute__((always_inline)) void
switch_direct(goc__m *m, goc__g *g, goc__g *next, int after)
{
    hand_over(m, g, next, after);
    goc__switch_g_to_g(g, next, after == GOC__AFTER_EXIT);
}

GOC__RUNTIME_TEXT
void goc__park(goc__unlockf unlockf, void *arg, const char *reason)
{
    goc__park_m(goc__getm(), unlockf, arg, reason);
}

GOC__RUNTIME_TEXT
void goc__park_m(goc__m *m, goc__unlockf unlockf, void *arg,
                 const char *reason)
{
    goc__g *g = m->curg;
    GOC__ASSERT_ALWAYS(g != NULL);
    g->waitreason = reason;
    g->waitsince = atomic_load_explicit(&goc__coarse.now, memory_order_relaxed);
    g->spawnstreak = 0;
    m->unlockf = unlockf;
    m->unlock_arg = arg;
    /* A channel hand-off has just put the peer in runnext: switch to it
     * straight, skipping g0 and the M loop.  The peer finishes our park
     * (WAITING, then unlockf) once we are off our stack. */
    goc__g *next = direct_next(m, NULL, true);
    if (next != NULL) {
        switch_direct(m, g, next, GOC__AFTER_PARK);
        return;
    }
    mcall_m(m, GOC__AFTER_PARK);
}

GOC__RUNTIME_TEXT
void goc__goexit(void)
{
    goc__m *m = goc__getm();
    goc__g *g = m->curg;
    /* The main goroutine's exit ends the run, and a locked G takes its
     * thread along: both need g0.  Any other G that readied a peer (a
     * send to a waiting receiver, say) hands the M straight to it, and
     * the peer frees us once we are off our stack. */
    if (!g->is_main && m->lockedg != g) {
        goc__g *next = direct_next(m, g, false);
        if (next != NULL) {
            if (next->sp == NULL) { /* it has never run: give it our stack */
                hand_over(m, g, next, GOC__AFTER_EXIT);
                goc__g_exit_into(g, next);
            }
            switch_direct(m, g, next, GOC__AFTER_EXIT);
            __builtin_unreachable();
        }
    }
    mcall_m(m, GOC__AFTER_EXIT); /* g0 sees is_main and begins the exit */
    __builtin_unreachable();
}

GOC__RUNTIME_TEXT
void goc__after_resume(void)
{
    goc__m *m = goc__getm();
    goc__g *prev = m->handoff;
    if (goc__likely(prev == NULL))
        return;
    m->handoff = NULL;
    int after = m->after;
    m->after = GOC__AFTER_NONE;
    if (after == GOC__AFTER_EXIT) {
        goc__g_release(m, prev);
        return;
    }
    prev->m = NULL;
    if (goc__finish_park(m, prev))
        goc__runq_put(m->p, prev, true);
}

void goc__ready(goc__g *g)
{
    goc__ready_m(goc__getm(), g);
}

void goc__ready_batch(goc__m *m, goc__g *const *v, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        goc__gstatus_ready(v[i]);
    bool holds_p = m != NULL && m->p != NULL;
    uint32_t i = 0;
    if (holds_p)
        while (i < n && goc__runq_ring_put(m->p, v[i]))
            i++;
    if (i < n)
        goc__globrunq_put_batch(v + i, (int32_t)(n - i));
    goc__wakep_after(holds_p);
}

void goc__ready_ahead(goc__g *g)
{
    goc__gstatus_ready(g);
    goc__runq_put_ahead_wake(goc__getm(), g);
}

GOC__RUNTIME_TEXT
void goc__yield_m(goc__m *m)
{
    m->curg->spawnstreak = 0;
    mcall_m(m, GOC__AFTER_YIELD);
}

void goc_yield(void)
{
    goc__m *m = goc__getm();
    if (m == NULL || m->curg == NULL) {
        sched_yield();
        return;
    }
    m->curg->spawnstreak = 0;
    mcall_m(m, GOC__AFTER_YIELD);
}

/* ---- cooperative preemption (proc.h tells the protocol) ---- */

/* A line of its own: every goc call on every P reads the word, and a
 * neighbour written now and then (it fell beside the tail of goc__sched,
 * which idle Ms write) cost pingpong at 2 Ps 9%.  The exported name and
 * a hidden one, which the library's own checks load straight, where the
 * exported name costs a load from the GOT first. */
static struct {
    _Alignas(GOC__CACHE_LINE) uint32_t word;
    char pad[GOC__CACHE_LINE - sizeof(uint32_t)];
} preempt_line __attribute__((used));
extern uint32_t goc__preempt_pending __attribute__((alias("preempt_line")));
extern uint32_t goc__preempt_word
    __attribute__((alias("preempt_line"), visibility("hidden")));

GOC__RUNTIME_TEXT
void goc__preempt_slow(void)
{
    goc__m *m = goc__getm();
    if (goc__unlikely(atomic_load_explicit(&goc__bubble.on,
                                           memory_order_relaxed))) {
        if (m != NULL && m->curg != NULL && m->p != NULL)
            goc__bubble_choose(m);
        return;
    }
    /* Not a goroutine (a plain thread, g0), or in a blocking call: no
     * slice of ours is over. */
    if (m == NULL || m->curg == NULL || m->p == NULL ||
        atomic_load_explicit(&m->p->preempt, memory_order_relaxed) == 0)
        return;
    goc__p *p = m->p;
    goc__preempt_clear(p);
    /* Nothing else waits for this P (its queues, the global queue, its
     * timers): the yield would only hand the goroutine back, or to a
     * spinning M of another P, which split a channel pair preempted every
     * 10 ms across two threads (pingpong at 2 Ps: 9% slower).  A fresh
     * slice instead. */
    if (goc__runq_empty(p) &&
        atomic_load_explicit(&goc__sched.runqsize, memory_order_relaxed) ==
            0 &&
        atomic_load_explicit(&p->timers.first, memory_order_relaxed) == 0) {
        goc__p_new_slice(p);
        return;
    }
    m->curg->spawnstreak = 0;
    mcall_m(m, GOC__AFTER_PREEMPT);
}

void goc_exit(void)
{
    goc__m *m = goc__getm();
    if (m == NULL || m->curg == NULL)
        goc__fatal("goc_exit called outside a goroutine");
    if (m->curg->is_main) {
        goc__lock(&goc__sched.lock);
        goc__sched.main_goexited = true;
        goc__unlock(&goc__sched.lock);
    }
    goc__race_release(&goc__sched.run_done); /* as a return from fn */
    goc__goexit();
}

/* ---- blocking calls (Go's entersyscall/exitsyscall; sysmon.c's header
 * tells the protocol with sysmon) ---- */

void goc_blocking_begin(void)
{
    goc__m *m = goc__getm();
    if (m == NULL || m->curg == NULL ||
        atomic_load_explicit(&m->oldp, memory_order_relaxed) != NULL)
        return; /* a plain thread (nothing to give), or nested */
    goc__p *p = m->p;
    atomic_fetch_add_explicit(&p->syscalltick, 1, memory_order_relaxed);
    atomic_store_explicit(&m->oldp, p, memory_order_relaxed);
    p->m = NULL;
    m->p = NULL;
    /* release: sysmon, or the M that takes it, sees the P as we left it */
    atomic_store_explicit(&p->status, GOC__PSYSCALL, memory_order_release);
    /* sysmon sleeps deeply while every P was idle: this call may be
     * long, and it is sysmon that must notice (Go's entersyscall). */
    if (goc__unlikely(atomic_load_explicit(&goc__sched.sysmon_wait,
                                           memory_order_relaxed)))
        goc__sysmon_wake();
}

void goc_blocking_end(void)
{
    goc__m *m = goc__getm();
    if (m == NULL || m->curg == NULL)
        return;
    goc__p *p = atomic_load_explicit(&m->oldp, memory_order_relaxed);
    if (p == NULL)
        return;
    atomic_store_explicit(&m->oldp, NULL, memory_order_relaxed);
    uint32_t s = GOC__PSYSCALL;
    /* acquire: pairs with the release in goc_blocking_begin (ours, or
     * another M's that entered a call on p since). */
    if (goc__likely(atomic_compare_exchange_strong_explicit(
            &p->status, &s, GOC__PRUNNING, memory_order_acquire,
            memory_order_relaxed))) {
        goc__acquirep(m, p);
        return;
    }
    goc__p *np = goc__pidletake();
    if (np != NULL) {
        goc__acquirep(m, np);
        return;
    }
    goc__yield_m(m); /* via the global queue: m looks for a P, or sleeps */
}
