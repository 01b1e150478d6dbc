/* SPDX-License-Identifier: MIT */
/*
 * run.c - a run of the scheduler: goc_run's start (reset goc__sched, make
 * the Ps, queue the main goroutine, start the first M and wait for the
 * run's end) and teardown (join the Ms, free Ps, stacks and headers, or
 * leave to the process what cannot be stopped), and GOMAXPROCS, before a
 * run and during one (procresize), with the Ps sysmon lends.  Go's schedinit and procresize; the loop
 * itself and the M/P lists are proc.c, the floor below.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "compact.h"
#include "goc.h"
#include "internal.h"
#include "netpoll.h"
#include "race.h"

static int maxprocs_next; /* goc_maxprocs before a run; 0 = default */

int goc__maxprocs_next_swap(int n)
{
    int prev = maxprocs_next;
    maxprocs_next = n;
    return prev;
}
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
        /* No M yet: no CPU clock to read (sysmon's lend). */
        atomic_store_explicit(&p->mclock, (int32_t)CLOCK_THREAD_CPUTIME_ID,
                              memory_order_relaxed);
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

bool goc__procs_lend(int delta)
{
    goc__lock(&goc__sched.lock);
    int32_t n = goc__gomaxprocs();
    int32_t lent = goc__sched.lentprocs;
    bool ok = !goc__exiting() &&
              (delta > 0 ? n < GOC_MAXPROCS_MAX : lent > 0) &&
              procresize(n + delta);
    if (ok)
        goc__sched.lentprocs = lent + delta;
    goc__unlock(&goc__sched.lock);
    if (ok && delta > 0)
        goc__wakep(); /* an M for the new idle P */
    return ok;
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
    /* Ps that sysmon lent are not the program's: they come on top. */
    int32_t lent = goc__sched.lentprocs;
    int prev = goc__gomaxprocs() - lent;
    bool grew = false;
    if (n > 0 && n != prev && !goc__exiting()) {
        grew = n > prev;
        int32_t want = n + lent > GOC_MAXPROCS_MAX ? GOC_MAXPROCS_MAX
                                                   : n + lent;
        (void)procresize(want);
    }
    goc__unlock(&goc__sched.lock);
    if (grew)
        goc__wakep();
    return prev;
}

/* ------------------------------------------------------------------------
 * goc_run: start and teardown
 * ------------------------------------------------------------------------ */

/* How long the end of a run lets an M that is running a goroutine (not
 * in a declared blocking call) compute before it gives up on it: CPU
 * time, not wall time, since on a loaded machine a thread may wait longer
 * than that for a CPU and then come back at once (a test suite beside
 * other builds saw it: the next goc_run got GOC_EBUSY for nothing).  An M
 * whose thread is blocked in the kernel (an undeclared read or sleep) is
 * given up on after the same time on the clock. */
#define EXIT_GRACE_NS (200 * 1000 * 1000)
/* The bound for an M the kernel does not run at all. */
#define EXIT_WAIT_MAX_NS (10LL * 1000 * 1000 * 1000)

/* Should the end of the run stop waiting for m, which has not left its
 * loop after waited ns, having used cpu ns of CPU since (-1: unknown)? */
static bool give_up_on(goc__m *m, int64_t waited, int64_t cpu)
{
    if (atomic_load_explicit(&m->oldp, memory_order_relaxed) != NULL)
        return true; /* in a declared blocking call */
    if (waited > EXIT_WAIT_MAX_NS)
        return true;
    if (waited <= EXIT_GRACE_NS)
        return false;
    /* curg is the M's own: a racy look, as a dump's.  An M in the
     * scheduler leaves its loop as soon as it runs. */
    if (__atomic_load_n(&m->curg, __ATOMIC_RELAXED) == NULL)
        return false;
    if (cpu < 0 || cpu > EXIT_GRACE_NS)
        return true; /* computing */
    char st = goc__thread_state(m->tid);
    return st == 'S' || st == 'D'; /* blocked; R: waiting for a CPU */
}

/* Wait until every M has left its loop, as long as it may take one that
 * is on its way; give up on those that are in a blocking call, or still
 * running a goroutine after EXIT_GRACE_NS (give_up_on).
 * Returns: false if some M was given up on. */
static bool wait_ms(void)
{
    int64_t start = goc__nanotime();
    /* The CPU clock of an M that runs a goroutine (it has set its clock
     * up: an M that has just been created may not have); -1 otherwise. */
    for (goc__m *m = goc__sched.allm; m != NULL; m = m->alllink)
        m->exitcpu = __atomic_load_n(&m->curg, __ATOMIC_RELAXED) != NULL
                         ? goc__thread_cpu(m->cpuclock)
                         : -1;
    bool all = true;
    for (goc__m *m = goc__sched.allm; m != NULL; m = m->alllink) {
        long nap = 20 * 1000;
        for (;;) {
            goc__lock(&goc__sched.lock);
            bool exited = m->exited;
            goc__unlock(&goc__sched.lock);
            if (exited)
                break;
            int64_t cpu = m->exitcpu < 0 ? -1 : goc__thread_cpu(m->cpuclock);
            if (give_up_on(m, goc__nanotime() - start,
                           cpu < 0 ? -1 : cpu - m->exitcpu)) {
                all = false;
                break;
            }
            struct timespec ts = {0, nap};
            nanosleep(&ts, NULL);
            if (nap < 1000 * 1000)
                nap *= 2;
        }
    }
    return all;
}

/* Every M has left its loop: join them, free everything.  No M is
 * created once exiting is set (startm checks it under the lock), so allm
 * is final. */
static void teardown(void)
{
    for (goc__m *m = goc__sched.allm; m != NULL; m = m->alllink) {
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
        free(m);
        m = next;
    }
    goc__sched.allm = NULL;
    int32_t nallp = atomic_load_explicit(&goc__sched.nallp,
                                         memory_order_relaxed);
    for (int32_t i = 0; i < nallp; i++) {
        goc__preempt_clear(goc__allp(i)); /* goc__preempt_pending to 0 */
        goc__timers_teardown(goc__allp(i));
        free(goc__allp(i));
    }
    goc__compact_stop(); /* no M is left to wait in one of its faults */
    goc__stack_teardown();
    goc__g_teardown();
    goc__globrunq_free();
    goc__netpoll_teardown();
    goc__signals_restore();
}

/* The run is over but some M could not be stopped (it sits in a blocking
 * call, or its goroutine runs on without coming back): its goroutine's
 * stack, its P and the scheduler's state stay as they are, for it to
 * use when it comes back, and the process keeps them (as a Go program
 * whose main returns just exits).  Threads are detached, not joined. */
static void abandon(void)
{
    for (goc__m *m = goc__sched.allm; m != NULL; m = m->alllink) {
        goc__lock(&goc__sched.lock);
        bool detached = m->detached;
        m->detached = true; /* an M still running must not detach again */
        goc__unlock(&goc__sched.lock);
        if (!detached)
            pthread_detach(m->thread);
    }
    goc__compact_abandon();
    goc__netpoll_teardown();
    goc__signals_restore();
}

/* goc__sched as a new run finds it: no Ms, no Ps, empty queues,
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
    goc__sched.mcount = 0;
    goc__sched.mnext = 0;
    goc__sched.allm = NULL;
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
    atomic_store(&goc__sched.timer_via_poll, false);
    goc__sched.lentprocs = 0;
    /* An abandoned run's Ps may have left flags counted. */
    __atomic_store_n(&goc__preempt_word, 0, __ATOMIC_RELAXED);
    atomic_store(&goc__sched.lastpoll, goc__nanotime());
    goc__noteclear(&goc__sched.timer_note);
    goc__noteclear(&goc__sched.run_done);
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
    goc__compact_start();
    goc__membarrier_init();
    goc__preempt_init(); /* before sysmon, which reads it */

    goc__lock(&goc__sched.lock);
    bool ok = procresize(nprocs);
    goc__p *p0 = ok ? goc__pidleget() : NULL;
    goc__unlock(&goc__sched.lock);
    if (p0 == NULL)
        goto fail;
    if (goc__signals_install() != 0)
        goto fail; /* sigaction cannot fail with these arguments */

    goc__g *g;
    if (goc__newproc(goc__stack_slot_default, NULL, main_fn, arg,
                     (uintptr_t)__builtin_return_address(0), false, &g) != 0)
        goto fail;
    g->is_main = true;
    goc__runq_put(p0, g, true);
    /* release: what the run set up is visible to whoever sees it running
     * (goc__extern_thread, spawn, ... load it acquire). */
    atomic_store_explicit(&goc__sched.running, true, memory_order_release);
    /* The calling thread only waits: the goroutines run on Ms, so that a
     * goroutine stuck in a blocking call can never hold the thread that
     * must return from goc_run. */
    if (goc__sysmon_start() != 0)
        goc__fatal("runtime: cannot create the sysmon thread");
    goc__startm_p(p0);
    goc__notesleep(&goc__sched.run_done);
    goc__race_acquire(&goc__sched.run_done); /* main's end (goroutine.c) */
    goc__sysmon_stop();
    if (wait_ms()) {
        teardown();
        atomic_store_explicit(&goc__sched.running, false,
                              memory_order_release);
        atomic_store_explicit(&run_claimed, false, memory_order_release);
    } else {
        /* run_claimed stays set: the next goc_run returns GOC_EBUSY, as
         * the threads left behind still use the scheduler's state. */
        abandon();
        atomic_store_explicit(&goc__sched.running, false,
                              memory_order_release);
    }
    return 0;

fail:
    teardown();
    atomic_store_explicit(&run_claimed, false, memory_order_release);
    return GOC_ENOMEM;
}
