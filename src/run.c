/* SPDX-License-Identifier: MIT */
/*
 * run.c - a run of the scheduler: goc_run's start (reset goc__sched, make
 * m0 and the Ps, queue the main goroutine, enter m0's loop) and teardown
 * (join the Ms, free Ps, stacks and headers), and GOMAXPROCS, before a run
 * and during one (procresize).  Go's schedinit and procresize; the loop
 * itself and the M/P lists are proc.c, the floor below.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "goc.h"
#include "internal.h"

static int maxprocs_next; /* goc_maxprocs before a run; 0 = default */
/* A goc_run is between its start and its return (goc__sched.running is
 * set only once the run is fully set up, and cleared before this). */
static _Atomic bool run_claimed;

/* ------------------------------------------------------------------------
 * GOMAXPROCS
 * ------------------------------------------------------------------------ */

static int default_maxprocs(void)
{
    if (maxprocs_next > 0)
        return maxprocs_next;
    int64_t v = goc__env.gomaxprocs;
    if (v > 0)
        return v > GOC_MAXPROCS_MAX ? GOC_MAXPROCS_MAX : (int)v;
    int n = goc__ncpu();
    return n > GOC_MAXPROCS_MAX ? GOC_MAXPROCS_MAX : n;
}

/* Change the number of Ps to n.  Requires: sched.lock.
 * Returns: false if a P could not be allocated (nothing changed). */
static bool procresize(int32_t n)
{
    GOC_ASSERT_HELD(&goc__sched.lock);
    int32_t old = goc__gomaxprocs();
    int32_t nallp = atomic_load_explicit(&goc__sched.nallp,
                                         memory_order_relaxed);
    for (int32_t i = nallp; i < n; i++) {
        goc__p *p = aligned_alloc(GOC__CACHE_LINE,
                                  (sizeof *p + GOC__CACHE_LINE - 1) &
                                      ~(size_t)(GOC__CACHE_LINE - 1));
        if (p == NULL)
            return false;
        memset(p, 0, sizeof *p);
        goc__lock_setrank(&p->timers.lock, GOC__RANK_TIMERS);
        p->id = i;
        atomic_store_explicit(&p->status, GOC__PDEAD, memory_order_relaxed);
        /* release: pairs with the acquire in goc__allp(). */
        atomic_store_explicit(&goc__sched.allp[i], p, memory_order_release);
        atomic_store_explicit(&goc__sched.nallp, i + 1, memory_order_relaxed);
    }
    for (int32_t i = 0; i < n; i++) {
        goc__p *p = goc__allp(i);
        if (atomic_load_explicit(&p->status, memory_order_relaxed) ==
            GOC__PDEAD)
            goc__pidleput(p);
    }
    for (int32_t i = n; i < old; i++) {
        goc__p *p = goc__allp(i);
        if (atomic_load_explicit(&p->status, memory_order_relaxed) ==
            GOC__PIDLE) {
            goc__pidleremove(p);
            atomic_store_explicit(&p->status, GOC__PDEAD,
                                  memory_order_relaxed);
        }
        /* A running P retires itself at its next find_runnable. */
    }
    atomic_store_explicit(&goc__sched.gomaxprocs, n, memory_order_relaxed);
    return true;
}

int goc_maxprocs(int n)
{
    if (n > GOC_MAXPROCS_MAX)
        n = GOC_MAXPROCS_MAX;
    if (!atomic_load_explicit(&goc__sched.running, memory_order_acquire)) {
        goc__env_read(); /* the next run's default, as it would see it */
        int prev = default_maxprocs();
        if (n > 0)
            maxprocs_next = n;
        return prev;
    }
    goc__lock(&goc__sched.lock);
    int prev = goc__gomaxprocs();
    bool grew = false;
    if (n > 0 && n != prev && !goc__exiting()) {
        grew = n > prev;
        (void)procresize(n);
    }
    goc__unlock(&goc__sched.lock);
    if (grew)
        goc__wakep();
    return prev;
}

/* ------------------------------------------------------------------------
 * goc_run: start and teardown
 * ------------------------------------------------------------------------ */

static void teardown(goc__m *m0)
{
    /* No M is created once exiting is set (startm checks it under the
     * lock), so allm is final. */
    for (goc__m *m = goc__sched.allm; m != NULL; m = m->alllink) {
        if (m == m0)
            continue;
        goc__lock(&goc__sched.lock);
        bool detached = m->detached;
        goc__unlock(&goc__sched.lock);
        if (!detached)
            pthread_join(m->thread, NULL);
    }
#ifdef GOC_HAVE_TSAN
    /* Only TSan keeps per-goroutine state outside the headers. */
    goc__g_each(goc__g_abandon, NULL);
#endif
    goc__m *m = goc__sched.allm;
    while (m != NULL) {
        goc__m *next = m->alllink;
        if (m != m0)
            free(m);
        m = next;
    }
    int32_t nallp = atomic_load_explicit(&goc__sched.nallp,
                                         memory_order_relaxed);
    for (int32_t i = 0; i < nallp; i++) {
        goc__timers_teardown(goc__allp(i));
        free(goc__allp(i));
    }
    goc__stack_teardown();
    goc__g_teardown();
    goc__globrunq_free();
    goc__signals_restore();
    goc__altstack_free(m0);
    goc__tls_m = NULL;
    free(m0);
}

/* goc__sched as a new run finds it: no Ms but m0, no Ps, empty queues,
 * nothing spinning or exiting; a new epoch for goc__extern_thread.
 * Only on: the thread starting a run, before `running` is set. */
static void sched_reset(void)
{
    memset(&goc__sched.lock, 0, sizeof goc__sched.lock);
    goc__lock_setrank(&goc__sched.lock, GOC__RANK_SCHED);
    goc__globrunq_free();
    goc__sched.pidle = NULL;
    goc__sched.midle = NULL;
    goc__sched.nmidle = goc__sched.nmidlelocked = 0;
    goc__sched.nextern = 0;
    atomic_fetch_add_explicit(&goc__sched_epoch, 1, memory_order_release);
    goc__sched.mcount = 1;
    goc__sched.mnext = 1;
    goc__sched.main_goexited = false;
    atomic_store(&goc__sched.runqsize, 0);
    atomic_store(&goc__sched.npidle, 0);
    atomic_store(&goc__sched.nmspinning, 0);
    atomic_store(&goc__sched.gomaxprocs, 0);
    atomic_store(&goc__sched.nallp, 0);
    atomic_store(&goc__sched.goidgen, 0);
    atomic_store(&goc__sched.ngoroutine, 0);
    atomic_store(&goc__sched.exiting, false);
    atomic_store(&goc__sched.timerm, NULL);
    atomic_store(&goc__sched.timer_until, 0);
    goc__noteclear(&goc__sched.timer_note);
}

int goc_run(void (*main_fn)(void *), void *arg)
{
    goc__sanitizer_check();
    if (main_fn == NULL)
        return GOC_EINVAL;
    if (goc__getm() != NULL)
        return GOC_EBUSY; /* called from inside a run */
    bool idle = false;
    if (!atomic_compare_exchange_strong_explicit(&run_claimed, &idle, true,
                                                 memory_order_acq_rel,
                                                 memory_order_relaxed))
        return GOC_EBUSY;
    goc__env_read(); /* before any M or signal handler of this run */
    int32_t nprocs = default_maxprocs();

    /* Reset everything; `running` stays false until the main goroutine is
     * queued, so that a plain thread calling in meanwhile finds no run
     * (rather than one half set up: a spawn would take goroutine id 1, or
     * carve from a stack pool being reset). */
    sched_reset();
    goc__stack_init();
    goc__membarrier_init();

    goc__m *m0 = calloc(1, sizeof *m0);
    if (m0 == NULL)
        goto fail_m0;
    m0->is_m0 = true;
    goc__sched.allm = m0;
    goc__lock(&goc__sched.lock);
    bool ok = procresize(nprocs);
    goc__p *p0 = ok ? goc__pidleget() : NULL;
    goc__unlock(&goc__sched.lock);
    if (p0 == NULL)
        goto fail_p;
    goc__m_init_thread(m0);
    goc__acquirep(m0, p0);
    if (goc__signals_install() != 0)
        goto fail_p; /* sigaction cannot fail with these arguments */

    goc__g *g;
    if (goc__newproc(goc__stack_slot_default, NULL, main_fn, arg,
                     (uintptr_t)__builtin_return_address(0), false, &g) != 0) {
        teardown(m0);
        goto fail_m0;
    }
    g->is_main = true;
    goc__runq_put(p0, g, true);
    /* release: what the run set up is visible to whoever sees it running
     * (goc__extern_thread, spawn, ... load it acquire). */
    atomic_store_explicit(&goc__sched.running, true, memory_order_release);
    goc__m_loop(m0);
    teardown(m0);
    atomic_store_explicit(&goc__sched.running, false, memory_order_release);
    atomic_store_explicit(&run_claimed, false, memory_order_release);
    return 0;

fail_p:
    teardown(m0);
fail_m0:
    atomic_store_explicit(&run_claimed, false, memory_order_release);
    return GOC_ENOMEM;
}
