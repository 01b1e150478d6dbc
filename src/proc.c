/* SPDX-License-Identifier: MIT */
/*
 * proc.c - the scheduler core: each M's loop on g0, finding work (local
 * queue, global queue with fairness, stealing), spinning Ms, parking and
 * waking Ms on futex notes, locked threads, the end of a run
 * (begin_exit).  Parking and readying goroutines, with the direct
 * hand-off, are park.c, the floor above; goc_run's start and teardown and
 * GOMAXPROCS are run.c, above that.
 * Go's proc.go is the model.  Design, invariants and the lock order:
 * docs/design/scheduler.md.
 *
 * The shape of an M's life (m_loop):
 *
 *     for (;;) {
 *         g = find_runnable()   -- runs due timers; blocks (the timer
 *                                  sleeper, or stopm) when there is no
 *                                  work; NULL once the run is exiting
 *         g = execute(g)        -- switch g0 -> g (taking its stack at its
 *                                  first run); returns the goroutine that
 *                                  switches back to g0 asking for m->after
 *                                  (g, or one g handed the M to straight:
 *                                  goc__park, goc__goexit: park.c), or NULL
 *                                  if g found no stack (start_or_wait)
 *         after_switch(g)       -- YIELD: global queue; PARK: WAITING,
 *                                  unlockf; EXIT: free header and slot
 *     }
 *
 * Spinning (Go's protocol, proc.go's opening comment): an M out of local
 * work that looks for work to steal is "spinning" and counted in
 * sched.nmspinning.  Whoever makes work (spawn, ready) calls wakep(),
 * which starts one spinning M when there is an idle P and no spinner.  A
 * spinner that finds work calls wakep() for the next one.  A spinner that
 * gives up decrements nmspinning, then rechecks every run queue.  That is
 * a store-then-load on each side (work, then nmspinning; nmspinning, then
 * the queues), closed by an asymmetric fence: the spinner giving up pays a
 * membarrier (goc__fence_heavy), whoever makes work a compiler barrier
 * (goc__fence_light in goc__wakep_after, proc.h), so that new work and
 * the last spinner cannot miss each other.  Work is made at every channel
 * hand-off; spinners give up once per idle period.
 */
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "goc.h"
#include "internal.h"
#include "netpoll.h"

#ifdef GOC_HAVE_TSAN
#include <sanitizer/tsan_interface.h>
#endif

struct goc__sched goc__sched = {
    .lock = GOC__MUTEX_INIT(GOC__RANK_SCHED),
};
/* Incremented at every goc_run (release); never reset, so a thread's
 * remembered epoch from an earlier run never matches a later one. */
_Atomic uint64_t goc__sched_epoch;

__thread goc__m *goc__tls_m;

#if !(defined(__x86_64__) || defined(__aarch64__)) || defined(GOC_GETM_CALL)
/* goc__getm (proc.h) where it is not inline: noinline plus the empty
 * asm keep the compiler from hoisting or merging the load. */
__attribute__((noinline)) goc__m *goc__getm(void)
{
    goc__m *m = goc__tls_m;
    __asm__ __volatile__("" : "+r"(m)::"memory");
    return m;
}
#endif

goc__g *goc__getg(void)
{
    goc__m *m = goc__getm();
    return m != NULL ? m->curg : NULL;
}

/* ------------------------------------------------------------------------
 * P and M lists (sched.lock)
 * ------------------------------------------------------------------------ */

void goc__acquirep(goc__m *m, goc__p *p)
{
    GOC_ASSERT_INTERNAL(m->p == NULL && p->m == NULL);
    m->p = p;
    p->m = m;
    atomic_store_explicit(&p->mclock, m->cpuclock, memory_order_relaxed);
    atomic_store_explicit(&p->mtid, m->tid, memory_order_relaxed);
    atomic_store_explicit(&p->status, GOC__PRUNNING, memory_order_relaxed);
}

static goc__p *releasep(goc__m *m)
{
    goc__p *p = m->p;
    GOC_ASSERT_INTERNAL(p != NULL && p->m == m);
    p->m = NULL;
    m->p = NULL;
    return p;
}

#if GOC_DEBUG >= 3
/* Requires: sched.lock.  Returns: true if every P on the idle list is
 * IDLE with empty queues, and npidle is the list's length. */
static bool pidle_is_valid(void)
{
    int32_t n = 0;
    for (goc__p *p = goc__sched.pidle; p != NULL; p = p->link, n++)
        if (atomic_load_explicit(&p->status, memory_order_relaxed) !=
                GOC__PIDLE ||
            !goc__runq_empty(p))
            return false;
    return n == atomic_load_explicit(&goc__sched.npidle,
                                     memory_order_relaxed);
}
#endif

/* Requires: sched.lock; p's queues are empty. */
void goc__pidleput(goc__p *p)
{
    GOC_ASSERT_HELD(&goc__sched.lock);
    GOC_ASSERT_INTERNAL(goc__runq_empty(p));
    goc__preempt_clear(p); /* its slice is over */
    atomic_store_explicit(&p->status, GOC__PIDLE, memory_order_relaxed);
    p->link = goc__sched.pidle;
    goc__sched.pidle = p;
    atomic_fetch_add_explicit(&goc__sched.npidle, 1, memory_order_seq_cst);
    GOC_ASSERT_EXPENSIVE(pidle_is_valid());
}

/* Requires: sched.lock.  The P leaves the idle list already marked
 * RUNNING: it is promised to an M that will acquirep it after the lock is
 * dropped, and procresize (under the lock) must not take an IDLE status
 * for "on the idle list" meanwhile — it once marked such a P DEAD, put it
 * back on the list when GOMAXPROCS grew, and two Ms ran it. */
goc__p *goc__pidleget(void)
{
    GOC_ASSERT_HELD(&goc__sched.lock);
    goc__p *p = goc__sched.pidle;
    if (p != NULL) {
        atomic_store_explicit(&p->status, GOC__PRUNNING,
                              memory_order_relaxed);
        goc__sched.pidle = p->link;
        p->link = NULL;
        atomic_fetch_sub_explicit(&goc__sched.npidle, 1, memory_order_seq_cst);
    }
    GOC_ASSERT_EXPENSIVE(pidle_is_valid());
    return p;
}

goc__p *goc__pidletake(void)
{
    goc__lock(&goc__sched.lock);
    goc__p *p = goc__exiting() ? NULL : goc__pidleget();
    goc__unlock(&goc__sched.lock);
    return p;
}

/* Requires: sched.lock.  Unlink an idle P (GOMAXPROCS shrinking). */
void goc__pidleremove(goc__p *p)
{
    GOC_ASSERT_HELD(&goc__sched.lock);
    for (goc__p **pp = &goc__sched.pidle; *pp != NULL; pp = &(*pp)->link) {
        if (*pp == p) {
            *pp = p->link;
            p->link = NULL;
            atomic_fetch_sub_explicit(&goc__sched.npidle, 1,
                                      memory_order_seq_cst);
            return;
        }
    }
}

/* Requires: sched.lock. */
static goc__m *mget(void)
{
    GOC_ASSERT_HELD(&goc__sched.lock);
    goc__m *m = goc__sched.midle;
    if (m != NULL) {
        goc__sched.midle = m->schedlink;
        goc__sched.nmidle--;
    }
    return m;
}

/* ------------------------------------------------------------------------
 * Starting and stopping Ms
 * ------------------------------------------------------------------------ */

/* ------------------------------------------------------------------------
 * Deadlock detection
 * ------------------------------------------------------------------------ */

struct census {
    int waiting, runnable;
};

static void count_one(goc__g *g, void *arg)
{
    struct census *c = arg;
    uint32_t s = atomic_load_explicit(&g->status, memory_order_acquire);
    if (g->system)
        return;
    if (s == GOC__GWAITING)
        c->waiting++;
    else if (s == GOC__GRUNNABLE || s == GOC__GRUNNING)
        c->runnable++;
}

/* Is the only M not idle the sleeper, in the poller, with nothing that
 * could end its sleep but a goroutine that is not waiting? */
static bool sleeper_waits_for_nothing(void)
{
    return atomic_load_explicit(&goc__sched.timerm, memory_order_seq_cst) !=
               NULL &&
           atomic_load_explicit(&goc__sched.timer_via_poll,
                                memory_order_seq_cst) &&
           goc__netpoll_waiters() == 0 && !goc__timers_pending();
}

/* Called whenever an M goes idle (Go's checkdead).  If that was the last
 * M that could run anything, and no goroutine is runnable, nothing can
 * ever wake the waiting ones: report the deadlock as Go does (goc__fatal dumps every goroutine).
 * Requires: sched.lock. */
static void checkdead(void)
{
    GOC_ASSERT_HELD(&goc__sched.lock);
    if (atomic_load_explicit(&goc__sched.exiting, memory_order_acquire))
        return;
    int32_t run = goc__sched.mcount - goc__sched.nmidle -
                  goc__sched.nmidlelocked + goc__sched.nextern;
    /* The one M left may be the sleeper, in the poller with nothing to
     * wake it: no goroutine waits on a descriptor, no timer is armed.
     * It is as idle as the others (a goroutine about to wait on a
     * descriptor counts itself before it parks, and is not WAITING yet). */
    if (run == 1 && sleeper_waits_for_nothing())
        run = 0;
    if (run > 0)
        return;
    if (run < 0)
        goc__fatal("checkdead: inconsistent counts mcount=%d nmidle=%d "
                   "nmidlelocked=%d",
                   goc__sched.mcount, goc__sched.nmidle,
                   goc__sched.nmidlelocked);
    if (atomic_load_explicit(&goc__sched.runqsize, memory_order_relaxed) > 0)
        return; /* a plain thread just queued work; its wakep follows */
    if (goc__timers_pending())
        return; /* a timer will wake somebody (Go's checkdead does so) */
    struct census c = {0, 0};
    goc__g_each(count_one, &c);
    if (c.runnable > 0)
        return;
    if (c.waiting == 0) {
        if (goc__sched.main_goexited)
            goc__fatal("no goroutines (main called goc_exit) - deadlock!");
        return;
    }
    goc__fatal("all goroutines are asleep - deadlock!");
}

/* Set up the calling thread as m's thread: TLS, signal stack, g0's stack
 * bounds for ASan, the thread's own TSan fiber. */
void goc__m_init_thread(goc__m *m)
{
    goc__tls_m = m;
    m->tid = goc__gettid();
    clockid_t clock;
    m->cpuclock = pthread_getcpuclockid(pthread_self(), &clock) == 0
                      ? (int32_t)clock
                      : (int32_t)CLOCK_THREAD_CPUTIME_ID; /* "unknown" */
    /* In a bubble the M's draws (select's order) follow the seed. */
    uint64_t salt = atomic_load_explicit(&goc__bubble.on, memory_order_relaxed)
                        ? goc__bubble.seed
                        : (uint64_t)goc__nanotime();
    m->rand = ((uint64_t)(m->id + 1) * 0x9E3779B97F4A7C15ULL ^ salt) | 1;
    goc__thread_stack(&m->g0_stack_lo, &m->g0_stack_size);
    (void)goc__altstack_init(m); /* without one, overflow is a plain SEGV */
    /* A thread inherits its creator's signal mask: a program that blocked
     * SIGURG before goc_run would turn off dumps of running goroutines
     * and asynchronous preemption on every M (Go's minit unblocks too). */
    sigset_t urg;
    sigemptyset(&urg);
    sigaddset(&urg, SIGURG);
    pthread_sigmask(SIG_UNBLOCK, &urg, NULL);
#ifdef GOC_HAVE_TSAN
    m->tsan_g0_fiber = __tsan_get_current_fiber();
#endif
}

static void *mstart(void *arg)
{
    goc__m *m = arg;
    goc__m_init_thread(m);
    if (m->nextp != NULL) {
        goc__acquirep(m, m->nextp);
        m->nextp = NULL;
    }
    goc__m_loop(m);
    goc__altstack_free(m);
    goc__tls_m = NULL;
    goc__lock(&goc__sched.lock);
    m->exited = true;
    goc__sched.mcount--;
    /* Leaving before the run ends (its locked goroutine exited): nobody
     * will join this thread, so it detaches itself.  Decided under the
     * lock, which teardown takes to read the same flag. */
    bool detach = !goc__exiting();
    m->detached = detach;
    /* This thread leaving may leave every remaining M idle: check, as
     * Go's mexit does. */
    checkdead();
    goc__unlock(&goc__sched.lock);
    /* From here on m may be freed by teardown: do not touch it. */
    if (detach)
        pthread_detach(pthread_self());
    return NULL;
}

/* Go's default limit on the threads of a program (debug.SetMaxThreads):
 * a program that blocks this many threads in calls is broken. */
#define GOC__MAXTHREADS_DEFAULT 10000

/* Start a new M that will hold p.  Requires: nothing; takes sched.lock. */
static void newm(goc__p *p, bool spinning)
{
    goc__m *m = calloc(1, sizeof *m);
    if (m == NULL)
        goc__fatal("runtime: cannot allocate an M");
    m->nextp = p;
    m->spinning = spinning;
    goc__lock(&goc__sched.lock);
    int64_t max = goc__env.max_threads > 0 ? goc__env.max_threads
                                           : GOC__MAXTHREADS_DEFAULT;
    if (goc__sched.mcount >= max)
        goc__fatal("thread exhaustion: program exceeds %lld-thread limit "
                   "(GOC_MAXTHREADS)",
                   (long long)max);
    m->id = goc__sched.mnext++;
    m->alllink = goc__sched.allm;
    goc__sched.allm = m;
    goc__sched.mcount++;
    int rc = goc__thread_start(m, mstart);
    goc__unlock(&goc__sched.lock);
    if (rc != 0)
        goc__fatal("runtime: cannot create a thread: %s", goc_strerror(rc));
}

/* m stops counting as a spinner (NULL: a spinner counted for an M that
 * will not start, startm).  seq_cst: the spin-down path orders this
 * decrement before its rechecks (see "Spinning" above). */
static void stop_spinning(goc__m *m)
{
    if (m != NULL) {
        m->spinning = false;
        m->spin_since = 0;
    }
    int32_t left = atomic_fetch_sub_explicit(&goc__sched.nmspinning, 1,
                                             memory_order_seq_cst) - 1;
    GOC_ASSERT_INTERNAL(left >= 0);
    (void)left;
}

/* Run some M on p (an idle P if p is NULL); with spinning, the M starts
 * spinning (the caller already counted it in nmspinning). */
static void startm(goc__p *p, bool spinning)
{
    goc__lock(&goc__sched.lock);
    if (goc__exiting()) {
        if (p != NULL)
            goc__pidleput(p);
        goc__unlock(&goc__sched.lock);
        if (spinning)
            stop_spinning(NULL);
        return;
    }
    if (p == NULL) {
        p = goc__pidleget();
        if (p == NULL) {
            goc__unlock(&goc__sched.lock);
            if (spinning)
                stop_spinning(NULL);
            return;
        }
    }
    goc__m *m = mget();
    goc__unlock(&goc__sched.lock);
    if (m == NULL) {
        newm(p, spinning);
        return;
    }
    m->spinning = spinning;
    m->nextp = p; /* published by the release in notewakeup */
    goc__notewakeup(&m->park);
}

/* Put m to sleep until startm hands it a P.  Returns: false when woken
 * because the run is exiting. */
static bool stopm(goc__m *m)
{
    GOC_ASSERT_INTERNAL(m->p == NULL && !m->spinning);
    goc__lock(&goc__sched.lock);
    if (goc__exiting()) {
        goc__unlock(&goc__sched.lock);
        return false;
    }
    m->schedlink = goc__sched.midle;
    goc__sched.midle = m;
    goc__sched.nmidle++;
    checkdead();
    goc__unlock(&goc__sched.lock);
    goc__notesleep(&m->park);
    goc__noteclear(&m->park);
    if (goc__exiting())
        return false;
    goc__acquirep(m, m->nextp);
    m->nextp = NULL;
    return true;
}

void goc__startm_spinning(void)
{
    startm(NULL, true);
}

void goc__startm_p(goc__p *p)
{
    startm(p, false);
}

void goc__wakep(void)
{
    goc__m *m = goc__getm();
    goc__wakep_after(m != NULL && m->p != NULL);
}

/* Does p have work for an M: goroutines queued, here or globally? */
static bool p_has_work(goc__p *p)
{
    return !goc__runq_empty(p) ||
           atomic_load_explicit(&goc__sched.runqsize, memory_order_relaxed) >
               0;
}

/* Would the poller be left without anyone to poll it?  (Waiters on
 * descriptors, and no M sleeping in it.) */
static bool poller_unwatched(void)
{
    return goc__netpoll_waiters() > 0 &&
           atomic_load_explicit(&goc__sched.timerm, memory_order_seq_cst) ==
               NULL;
}

void goc__handoffp(goc__p *p)
{
    if (p_has_work(p)) {
        startm(p, false);
        return;
    }
    int32_t zero = 0;
    if (atomic_load_explicit(&goc__sched.npidle, memory_order_seq_cst) +
                atomic_load_explicit(&goc__sched.nmspinning,
                                     memory_order_seq_cst) ==
            0 &&
        atomic_compare_exchange_strong_explicit(&goc__sched.nmspinning, &zero,
                                                1, memory_order_seq_cst,
                                                memory_order_relaxed)) {
        startm(p, true); /* nobody else is looking for work */
        return;
    }
    if (poller_unwatched()) {
        startm(p, false); /* it will sleep in the poller */
        return;
    }
    goc__lock(&goc__sched.lock);
    if (atomic_load_explicit(&goc__sched.runqsize, memory_order_relaxed) > 0 &&
        !goc__exiting()) {
        goc__unlock(&goc__sched.lock);
        startm(p, false);
        return;
    }
    int64_t timer = atomic_load_explicit(&p->timers.first,
                                         memory_order_relaxed);
    goc__pidleput(p);
    goc__unlock(&goc__sched.lock);
    if (timer != 0)
        goc__timers_kick(timer); /* the sleeper, or an M for the idle P */
}

/* ------------------------------------------------------------------------
 * Locked threads (goc_lock_os_thread)
 * ------------------------------------------------------------------------ */

/* m's locked G is not running: give away m's P and sleep until the G is
 * runnable and somebody hands m a P to run it on (startlockedm).
 * Returns: false when woken because the run is exiting. */
bool goc__stoplockedm(goc__m *m)
{
    if (m->p != NULL)
        goc__handoffp(releasep(m));
    goc__lock(&goc__sched.lock);
    if (goc__exiting()) {
        goc__unlock(&goc__sched.lock);
        return false;
    }
    goc__sched.nmidlelocked++;
    checkdead();
    goc__unlock(&goc__sched.lock);
    goc__notesleep(&m->park);
    goc__noteclear(&m->park);
    goc__lock(&goc__sched.lock);
    goc__sched.nmidlelocked--;
    goc__unlock(&goc__sched.lock);
    if (goc__exiting())
        return false;
    goc__acquirep(m, m->nextp);
    m->nextp = NULL;
    return true;
}

/* m dequeued g, which is locked to another M: hand that M our P, and stop.
 * Returns: false when the run is exiting. */
static bool startlockedm(goc__m *m, goc__g *g)
{
    goc__m *lm = g->lockedm;
    goc__p *p = releasep(m);
    lm->nextp = p; /* published by the release in notewakeup */
    goc__notewakeup(&lm->park);
    return stopm(m);
}

/* The M whose locked G exited without unlocking: as in Go, the thread
 * goes with it (m_loop returns; mstart ends the thread). */
static void locked_m_retire(goc__m *m)
{
    goc__handoffp(releasep(m));
}

void goc_lock_os_thread(void)
{
    goc__m *m = goc__getm();
    if (m == NULL || m->curg == NULL)
        return;
    goc__g *g = m->curg;
    g->lockcount++;
    g->lockedm = m;
    m->lockedg = g;
}

void goc_unlock_os_thread(void)
{
    goc__m *m = goc__getm();
    if (m == NULL || m->curg == NULL)
        return;
    goc__g *g = m->curg;
    if (g->lockcount == 0)
        return;
    if (--g->lockcount == 0) {
        g->lockedm = NULL;
        m->lockedg = NULL;
    }
}

/* ------------------------------------------------------------------------
 * Finding work
 * ------------------------------------------------------------------------ */

/* Run p's timers that are due (any P: the caller holds one of its own).
 * Returns: true if some fired. */
static bool run_due_timers(goc__p *p)
{
    int64_t first = atomic_load_explicit(&p->timers.first,
                                         memory_order_relaxed);
    if (goc__likely(first == 0))
        return false;
    int64_t now = goc__clock();
    return now >= first && goc__timers_run(p, now) > 0;
}

#define TIMER_OVERDUE_NS 100000 /* another P's timers this late: run them */

/* Run the timers of other Ps that are overdue by TIMER_OVERDUE_NS: their
 * owner is busy, or its thread was preempted by the kernel while holding
 * the P (on 2 cores, one timeslice is ~3 ms: that was the p99 lateness of
 * the timers benchmark before this check).  Checked every 8th look for
 * work on p, so a busy P pays one load per other P now and then. */
static void run_overdue_timers(goc__p *p)
{
    if (!goc__timer_look_due(++p->timercheck))
        return;
    int32_t n = atomic_load_explicit(&goc__sched.nallp, memory_order_acquire);
    int64_t now = 0;
    for (int32_t i = 0; i < n; i++) {
        goc__p *v = goc__allp(i);
        int64_t first = atomic_load_explicit(&v->timers.first,
                                             memory_order_relaxed);
        if (v == p || first == 0)
            continue;
        if (now == 0)
            now = goc__clock();
        /* A difference, not first + TIMER_OVERDUE_NS: a timer at the end
         * of the clock (INT64_MAX, "never") would overflow the sum. */
        if (now - first >= TIMER_OVERDUE_NS)
            goc__timers_run(v, now);
    }
}

/* Steal from other Ps: 4 passes in a random order that visits every P
 * once per pass (start at a random P, step by a random stride coprime to
 * n); runnext only on the last pass.  *churn: see goc__runq_steal. */
static goc__g *steal_work(goc__m *m, goc__p *p, bool *churn)
{
    int32_t n = goc__gomaxprocs();
    for (int pass = 0; pass < 4; pass++) {
        uint32_t r = goc__fastrand(m);
        uint32_t start = r % (uint32_t)n;
        uint32_t step = 1;
        if (n > 2) {
            step = (r >> 16) % (uint32_t)n;
            for (;;) {
                uint32_t a = step, b = (uint32_t)n;
                while (b != 0) {
                    uint32_t t = a % b;
                    a = b;
                    b = t;
                }
                if (step != 0 && a == 1)
                    break;
                step = step + 1 == (uint32_t)n ? 1 : step + 1;
            }
        }
        for (int32_t i = 0; i < n; i++) {
            goc__p *v = goc__allp((int32_t)((start + (uint32_t)i * step) %
                                       (uint32_t)n));
            if (v == p || v == NULL)
                continue;
            /* Last pass: the due timers of the others too (Go's
             * stealWork), so that a P busy with one long goroutine does
             * not hold its timers back.  What they ready comes to us. */
            bool inherit;
            goc__g *g;
            if (pass == 3 && run_due_timers(v) &&
                (g = goc__runq_get(p, &inherit)) != NULL)
                return g;
            uint32_t vs = atomic_load_explicit(&v->status,
                                               memory_order_relaxed);
            if (vs != GOC__PRUNNING && vs != GOC__PSYSCALL)
                continue;
            g = goc__runq_steal(p, v, pass == 3, churn);
            if (g != NULL)
                return g;
        }
    }
    return NULL;
}

/* p's id is at or past GOMAXPROCS (it shrank): move p's work to the global
 * queue and leave m without a P.  Under sched.lock, p becomes DEAD, or
 * IDLE if GOMAXPROCS grew back meanwhile (procresize only revives DEAD
 * Ps, so a P must never be left RUNNING without an M).
 * Returns: an idle P for m to carry on with, or NULL. */
static goc__p *retire_p(goc__m *m)
{
    goc__p *p = m->p;
    bool inherit;
    goc__g *g;
    while ((g = goc__runq_get(p, &inherit)) != NULL)
        goc__globrunqput(g);
    goc__stack_flush_cache(p);
    goc__g_flush_cache(p);
    releasep(m);
    goc__lock(&goc__sched.lock);
    if (p->id >= goc__gomaxprocs())
        atomic_store_explicit(&p->status, GOC__PDEAD, memory_order_relaxed);
    else
        goc__pidleput(p);
    goc__p *np = goc__pidleget();
    goc__unlock(&goc__sched.lock);
    return np;
}

/* m has no P and found no work.  If some timer is armed, or goroutines
 * wait on descriptors, and no other M sleeps for them, become the
 * sleeper: sleep until the earliest deadline of any P, or until
 * goc__timers_kick says an earlier timer was armed; once the poller
 * exists, sleep in it (so a descriptor's readiness wakes it too, and the
 * kick breaks the poll).  Only the M that won the CAS clears the note (an
 * M that lost it once cleared the kick meant for the winner), and it
 * reads the deadlines after the clear and after it said where it sleeps
 * (timer_via_poll): a kick that the clear erased, or that looked before
 * that store, was sent after its timer was in a heap, so the read sees
 * that timer.  The seq_cst fence keeps the clear before the reads.
 * What the poll found is left in *polled, for the caller to wake once it
 * holds a P.  Returns: true if m slept (it should now look for work
 * again). */
static bool idle_sleep(goc__m *m, goc__pdwaiter **polled)
{
    bool net = goc__netpoll_waiters() > 0;
    /* A bubble's timers are on its virtual clock: bubble_idle moves it,
     * and an idle M of a bubble sleeps for descriptors only. */
    bool timed = !atomic_load_explicit(&goc__bubble.on, memory_order_relaxed);
    if (!net && (!timed || goc__timers_next() == 0))
        return false;
    goc__m *none = NULL;
    if (!atomic_compare_exchange_strong_explicit(&goc__sched.timerm, &none, m,
                                                 memory_order_seq_cst,
                                                 memory_order_relaxed))
        return false; /* another M sleeps on them */
    goc__noteclear(&goc__sched.timer_note);
    bool via_poll = goc__netpoll_inited();
    atomic_store_explicit(&goc__sched.timer_via_poll, via_poll,
                          memory_order_seq_cst);
    atomic_thread_fence(memory_order_seq_cst);
    int64_t next = timed ? goc__timers_next() : 0;
    atomic_store_explicit(&goc__sched.timer_until, next, memory_order_seq_cst);
    if (!goc__exiting()) {
        if (via_poll && (net || next != 0)) {
            int64_t delay = -1;
            if (next != 0) {
                delay = next - goc__nanotime();
                if (delay < 0)
                    delay = 0;
            }
            *polled = goc__netpoll_take(delay);
        } else if (next != 0) {
            goc__notetsleep(&goc__sched.timer_note, next - goc__nanotime());
        }
    }
    atomic_store_explicit(&goc__sched.timer_until, 0, memory_order_seq_cst);
    atomic_store_explicit(&goc__sched.timer_via_poll, false,
                          memory_order_seq_cst);
    atomic_store_explicit(&goc__sched.timerm, NULL, memory_order_seq_cst);
    return true;
}

/* Poll the descriptors without blocking, before stealing (Go's
 * findRunnable): only when somebody waits on one and no M sleeps in the
 * poller (it would get the events anyway).  What it readies goes to p. */
static bool poll_ready(goc__m *m)
{
    if (goc__likely(goc__netpoll_waiters() == 0) ||
        atomic_load_explicit(&goc__sched.timer_via_poll,
                             memory_order_relaxed))
        return false;
    return goc__netpoll(0, m) > 0;
}

/* m has no P (it lost it in a blocking call): take an idle one, or sleep
 * until handed one.  Returns: false when the run is exiting. */
static bool reacquire_p(goc__m *m)
{
    goc__p *np = goc__pidletake();
    if (np != NULL) {
        goc__acquirep(m, np);
        return true;
    }
    return stopm(m);
}

/* Has any P in [0, GOMAXPROCS) or the global queue got work?  Racy; used
 * after giving up the P, by the spin-down recheck. */
static bool any_work(void)
{
    /* seq_cst loads: see goc__wakep_after (proc.h). */
    if (atomic_load_explicit(&goc__sched.runqsize, memory_order_seq_cst) > 0)
        return true;
    int32_t n = goc__gomaxprocs();
    for (int32_t i = 0; i < n; i++) {
        goc__p *p = goc__allp(i);
        if (p != NULL && !goc__runq_empty(p))
            return true;
    }
    return false;
}

#define SPIN_LINGER_NS (1000 * 1000) /* a spinner keeps looking this long */
#define SPINNER_NAP_NS (20 * 1000)   /* between two looks */

/* A spinner that found nothing to steal, because the one G it might have
 * taken was a P's runnext that its owner ran meanwhile and replaced (a
 * chain of channel hand-offs: ring, a pipeline with one item in flight),
 * stays a spinner for SPIN_LINGER_NS, napping between looks, as long as
 * another P runs goroutines (most looks at such a P find its runnext
 * empty, between a take and the next put: they go on lingering).  Were it
 * to sleep, the next hand-off would find an idle P and nobody spinning and
 * wake it again (wakep), to fail the same way: at 2 Ps ring paid ~15%
 * for that churn, one cycle every ~6,000 hops, each a futex wake on the
 * busy thread (whose CPU the wakee often lands on) and the give-up's
 * membarrier IPI.  While it lingers, nmspinning stays 1 and a wakep costs
 * the busy P two loads.  Returns: true to look again. */
static bool spin_linger(goc__m *m)
{
    int64_t now = goc__nanotime();
    int32_t others =
        goc__gomaxprocs() - 1 -
        atomic_load_explicit(&goc__sched.npidle, memory_order_relaxed);
    if (others <= 0 ||
        (m->spin_since != 0 && now - m->spin_since >= SPIN_LINGER_NS)) {
        m->spin_since = 0;
        return false;
    }
    if (m->spin_since == 0)
        m->spin_since = now;
    struct timespec nap = {0, SPINNER_NAP_NS};
    nanosleep(&nap, NULL);
    return true;
}

static void begin_exit(void);

/* What the goroutines of a bubble are doing, seen from its idle M. */
struct bubble_census {
    int running;   /* RUNNING with the P given up: in a blocking call */
    int runnable;
};

static void bubble_count(goc__g *g, void *arg)
{
    struct bubble_census *c = arg;
    uint32_t s = atomic_load_explicit(&g->status, memory_order_acquire);
    if (s == GOC__GRUNNABLE)
        c->runnable++;
    else if (s == GOC__GRUNNING)
        c->running++;
}

/* A bubble's deadlock: every goroutine waits, durably, and no timer can
 * wake one.  Say so with the dump and the seed, and end the run (its
 * goroutines are abandoned, as when main returns). */
static void bubble_deadlock(void)
{
    goc__printf(2, "goc_synctest: deadlock: every goroutine in the bubble "
                   "is blocked, and no timer is pending\n\n");
    goc_dump(2);
    goc__bubble.result = GOC_EDEADLK; /* goc_synctest_run says the seed */
    begin_exit();
}

/* m, of a bubble (docs/design/synctest.md), gave up the bubble's one P
 * and found nothing to run.  Take the P back and decide, in order:
 *   - a goroutine is runnable after all: run it;
 *   - one is in a blocking call, or waits on a descriptor that is not a
 *     goc_net_pipe end: not durably blocked (the world outside wakes
 *     it), so m waits as any idle M does, on real time;
 *   - the poller has events for the pipes (their writers wrote before
 *     they blocked): run what they ready;
 *   - a goroutine waits in goc_synctest_wait: ready it;
 *   - a timer is pending: move the virtual clock to the earliest one
 *     (the look that follows runs it);
 *   - none of these: the bubble is deadlocked.
 * Returns: 1 to look again (m holds the P), 0 to wait as an idle M
 * (without the P), -1 when the run ends. */
static int bubble_idle(goc__m *m)
{
    goc__p *p = goc__pidletake();
    if (p == NULL)
        return 0; /* a goroutine back from a blocking call has it */
    goc__acquirep(m, p);
    struct bubble_census c = {0, 0};
    goc__lock(&goc__sched.lock);
    goc__g_each(bubble_count, &c);
    goc__unlock(&goc__sched.lock);
    if (c.runnable > 0 ||
        atomic_load_explicit(&goc__sched.runqsize, memory_order_relaxed) > 0)
        return 1;
    if (c.running == 0 && goc__netpoll_inited() &&
        goc__netpoll_waiters() > 0) {
        goc__pdwaiter *polled = goc__netpoll_take(0);
        if (polled != NULL) {
            (void)goc__netpoll_wake(m, polled);
            return 1;
        }
    }
    if (c.running > 0 || goc__netpoll_waiters_ext() > 0) {
        goc__lock(&goc__sched.lock);
        releasep(m);
        goc__pidleput(p);
        goc__unlock(&goc__sched.lock);
        return 0;
    }
    goc__lock(&goc__sched.lock);
    goc__g *w = goc__bubble.waiter;
    goc__bubble.waiter = NULL;
    goc__unlock(&goc__sched.lock);
    if (w != NULL) {
        goc__ready_m(m, w);
        return 1;
    }
    int64_t next = goc__timers_next();
    if (next != 0) {
        if (next > atomic_load_explicit(&goc__bubble.vclock,
                                        memory_order_relaxed))
            atomic_store_explicit(&goc__bubble.vclock, next,
                                  memory_order_relaxed);
        /* The next look runs p's due timers; another P has none. */
        return 1;
    }
    bubble_deadlock();
    return -1;
}

/* Find a G to run; blocks until there is one.  On return m holds a P, and
 * *inherit says whether the G shares the previous time slice.
 * Returns: NULL once the run is exiting (m may or may not hold a P). */
static goc__g *find_runnable(goc__m *m, bool *inherit)
{
top:
    *inherit = false;
    if (goc__exiting())
        return NULL;
    if (m->lockedg != NULL)
        return goc__stoplockedm(m) ? m->lockedg : NULL;
    if (goc__unlikely(m->p == NULL) && !reacquire_p(m))
        return NULL;
    goc__p *p = m->p;
    if (goc__unlikely(p->id >= goc__gomaxprocs())) {
        goc__p *np = retire_p(m);
        if (m->spinning) /* it may sleep below: stop counting it */
            stop_spinning(m);
        if (np == NULL)
            goto idle; /* the timers may need a sleeper, as any idle M */
        goc__acquirep(m, np);
        goto top;
    }

    /* 0. Our P's timers that are due, and other Ps' that are overdue:
     *    what they ready is queued here. */
    run_due_timers(p);
    run_overdue_timers(p);
    /* 1. Fairness: every 61st tick take one G from the global queue, so
     *    two Gs that keep readying each other cannot starve it. */
    goc__g *g;
    if (goc__global_turn(p)) {
        p->global_next = false;
        goc__lock(&goc__sched.lock);
        g = goc__globrunq_get(p, 1);
        goc__unlock(&goc__sched.lock);
        if (g != NULL)
            return g;
    }
    /* 2. Local queue, runnext first. */
    if ((g = goc__runq_get(p, inherit)) != NULL)
        return g;
    /* 3. Global queue. */
    if (atomic_load_explicit(&goc__sched.runqsize, memory_order_relaxed) > 0) {
        goc__lock(&goc__sched.lock);
        g = goc__globrunq_get(p, 0);
        goc__unlock(&goc__sched.lock);
        if (g != NULL)
            return g;
    }
    /* 4. Descriptors that became ready (no M sleeps in the poller). */
    if (poll_ready(m) && (g = goc__runq_get(p, inherit)) != NULL)
        return g;
    /* 5. Steal, spinning; at most half the busy Ps spin at once. */
    int32_t procs = goc__gomaxprocs();
    if (m->spinning ||
        2 * atomic_load_explicit(&goc__sched.nmspinning,
                                 memory_order_relaxed) <
            procs - atomic_load_explicit(&goc__sched.npidle,
                                         memory_order_relaxed)) {
        if (!m->spinning) {
            m->spinning = true;
            atomic_fetch_add_explicit(&goc__sched.nmspinning, 1,
                                      memory_order_seq_cst);
        }
        bool churn = false;
        if ((g = steal_work(m, p, &churn)) != NULL)
            return g;
        if ((churn || m->spin_since != 0) && spin_linger(m))
            goto top;
    }
    /* 6. Nothing: a last look at the global queue under the lock, then
     *    give up the P. */
    goc__lock(&goc__sched.lock);
    if (goc__exiting()) {
        goc__unlock(&goc__sched.lock);
        return NULL;
    }
    if ((g = goc__globrunq_get(p, 0)) != NULL) {
        goc__unlock(&goc__sched.lock);
        return g;
    }
    releasep(m);
    goc__pidleput(p);
    goc__unlock(&goc__sched.lock);

    /* 7. Spin down: decrement nmspinning first, then recheck everything;
     *    the heavy fence pairs with goc__wakep_after's light one. */
    if (m->spinning) {
        stop_spinning(m); /* spin_since is 0 here: step 5 cleared it */
        goc__fence_heavy();
        if (any_work()) {
            goc__lock(&goc__sched.lock);
            goc__p *np = goc__pidleget();
            goc__unlock(&goc__sched.lock);
            if (np != NULL) {
                goc__acquirep(m, np);
                m->spinning = true;
                atomic_fetch_add_explicit(&goc__sched.nmspinning, 1,
                                          memory_order_seq_cst);
                goto top;
            }
        }
    }
idle:;
    /* 7b. In a bubble: move its virtual clock, or end it deadlocked. */
    if (goc__unlikely(atomic_load_explicit(&goc__bubble.on,
                                           memory_order_relaxed))) {
        int b = bubble_idle(m);
        if (b > 0)
            goto top;
        if (b < 0)
            return NULL;
    }
    /* 8. Timers pending somewhere, or goroutines waiting on descriptors:
     *    sleep until the earliest timer or a descriptor's event, unless
     *    another M already does.  Then take an idle P and look again: the
     *    timers are due, or what the poll readied is queued. */
    goc__pdwaiter *polled = NULL;
    if (idle_sleep(m, &polled)) {
        goc__p *np = goc__pidletake();
        if (np != NULL)
            goc__acquirep(m, np);
        /* Into np if we got one (no other thread to wake), else the
         * global queue with a wake-up; at the end of a run, nobody. */
        (void)goc__netpoll_wake(m, polled);
        if (goc__exiting())
            return NULL;
        if (np != NULL)
            goto top;
    }
    /* 9. Sleep until handed a P. */
    if (!stopm(m))
        return NULL;
    goto top;
}

/* A spinning M found work: stop counting it, and wake another spinner so
 * the remaining work also finds a thread (Go's resetspinning). */
static void reset_spinning(goc__m *m)
{
    stop_spinning(m);
    goc__wakep();
}

/* ------------------------------------------------------------------------
 * Running goroutines
 * ------------------------------------------------------------------------ */


#define STACK_WAIT_SPINS 64               /* failures before a sleep */
#define STACK_WAIT_NS (1000 * 1000)        /* the sleep */
#define STACK_WAIT_MAX_NS (1000000000LL)   /* no progress this long: give up */

/* g, RUNNING on m, is to run for the first time.  Take its stack; when
 * none can be had (the memory ran out after its spawn, or the kernel
 * refuses more mappings), back off: g goes back to the global queue as
 * RUNNABLE and m moves on, so that goroutines that already have stacks
 * run, exit and free them.  Only when m finds nothing but stackless
 * goroutines for a while does it sleep between attempts, and a whole
 * second without running anything else ends the run.
 * Returns: true if g can run now. */
static bool start_or_wait(goc__m *m, goc__p *p, goc__g *g)
{
    if (goc__likely(goc__g_start(p, g)))
        return true;
    goc__gstatus_leave_running(g, GOC__GRUNNABLE);
    goc__globrunqput(g);
    int64_t now = goc__nanotime();
    if (m->stackwait_since == 0)
        m->stackwait_since = now;
    else if (now - m->stackwait_since > STACK_WAIT_MAX_NS)
        goc__fatal("out of memory: cannot allocate a goroutine stack");
    if (++m->stackwait_fails >= STACK_WAIT_SPINS) {
        m->stackwait_fails = 0;
        struct timespec ts = {0, STACK_WAIT_NS};
        nanosleep(&ts, NULL);
    }
    return false;
}

/* Switch to g; returns when a goroutine switches back to g0: g, or one
 * that g (or its successors) switched to directly.
 * Returns: the goroutine that came back, or NULL if g could not start
 * (no stack: start_or_wait requeued it). */
static goc__g *execute(goc__m *m, goc__g *g, bool inherit)
{
    goc__gstatus_run(g);
    if (g->sp == NULL && !start_or_wait(m, m->p, g))
        return NULL;
    if (goc__unlikely(m->stackwait_since != 0))
        m->stackwait_since = m->stackwait_fails = 0; /* progress */
    g->m = m;
    m->curg = g;
    if (!inherit)
        goc__p_new_slice(m->p);
    goc__p_runtick(m->p);
    goc__switch_to_g(m, g);
    goc__g *back = m->curg;
    m->curg = NULL;
    back->m = NULL;
    return back;
}

/* On g0, act on what g asked for when it switched away.  *m_done is set
 * when m's thread must end (its locked G exited).
 * Returns: a G to run at once (a park that its unlockf aborted), or NULL. */
static goc__g *after_switch(goc__m *m, goc__g *g, bool *m_done)
{
    int after = m->after;
    m->after = GOC__AFTER_NONE;
    switch (after) {
    case GOC__AFTER_YIELD:
        /* To the global queue, as Go's Gosched: a G that yields in a loop
         * while waiting for others must let the local queue drain, or the
         * global queue is served only once per 61 ticks. */
        goc__gstatus_leave_running(g, GOC__GRUNNABLE);
        goc__globrunqput(g);
        if (m->p == NULL) /* back from a blocking call without a P */
            goc__wakep_after(false);
        return NULL;
    case GOC__AFTER_PREEMPT:
        /* Behind the P's own queue: the goroutine keeps its P and what it
         * shares a cache with (through the global queue, as Go's
         * gopreempt_m, skynet lost 4%).  The global queue is served next
         * if it holds anything: a slice is 10 ms, and its 1-in-61 turn
         * would come once in 610 ms on a P that preemption keeps busy. */
        goc__gstatus_leave_running(g, GOC__GRUNNABLE);
        goc__runq_put(m->p, g, false);
        if (atomic_load_explicit(&goc__sched.runqsize, memory_order_relaxed) >
            0)
            m->p->global_next = true;
        return NULL;
    case GOC__AFTER_PARK:
        return goc__finish_park(m, g) ? g : NULL;
    case GOC__AFTER_EXIT: {
        bool is_main = g->is_main;
        bool locked = m->lockedg == g;
        if (locked) {
            m->lockedg = NULL;
            g->lockedm = NULL;
        }
        goc__g_release(m, g);
        if (is_main && !goc__sched.main_goexited) {
            begin_exit();
        } else if (locked) {
            locked_m_retire(m);
            *m_done = true;
        }
        return NULL;
    }
    default:
        goc__fatal("runtime: bad switch request %d", after);
    }
}

void goc__m_loop(goc__m *m)
{
    goc__g *g = NULL;
    bool inherit = false;
    for (;;) {
        if (g == NULL) {
            g = find_runnable(m, &inherit);
            if (g == NULL)
                return;
            if (m->spinning)
                reset_spinning(m);
        }
        if (g->lockedm != NULL && g->lockedm != m) {
            /* Only its own M may run a locked G. */
            if (!startlockedm(m, g))
                return;
            g = NULL;
            continue;
        }
        g = execute(m, g, inherit);
        if (g == NULL)
            continue;
        bool m_done = false;
        g = after_switch(m, g, &m_done);
        inherit = true;
        if (m_done)
            return;
    }
}

/* ------------------------------------------------------------------------
 * Work elsewhere, plain threads
 * ------------------------------------------------------------------------ */

/* Has a P other than p an armed timer?  (run_overdue_timers' loads.) */
bool goc__timers_elsewhere(goc__p *p)
{
    int32_t n = atomic_load_explicit(&goc__sched.nallp, memory_order_acquire);
    for (int32_t i = 0; i < n; i++) {
        goc__p *v = goc__allp(i);
        if (v != p &&
            atomic_load_explicit(&v->timers.first, memory_order_relaxed) != 0)
            return true;
    }
    return false;
}

/* A plain thread is calling into goc: if a run is in progress, from now on
 * the thread counts as a possible waker for deadlock detection (it may
 * call again at any time).  Outside a run there is nobody to count for.
 * Every plain-thread entry (channels, sync, goc_sleep, spawn, ready) comes
 * here, before it can hold or wake anything. */
void goc__extern_thread(void)
{
    /* acquire: pairs with the release store in goc_run that marks the
     * run set up. */
    if (!atomic_load_explicit(&goc__sched.running, memory_order_acquire))
        return;
    static __thread uint64_t seen_epoch;
    uint64_t epoch = atomic_load_explicit(&goc__sched_epoch,
                                          memory_order_acquire);
    if (seen_epoch == epoch)
        return;
    seen_epoch = epoch;
    goc__lock(&goc__sched.lock);
    goc__sched.nextern++;
    goc__unlock(&goc__sched.lock);
}

/* The run is ending: every M, the sleeper (on its note or in the
 * poller), sysmon and goc_run's thread wake to see it. */
static void begin_exit(void)
{
    goc__lock(&goc__sched.lock);
    atomic_store_explicit(&goc__sched.exiting, true, memory_order_release);
    for (goc__m *m = goc__sched.allm; m != NULL; m = m->alllink)
        goc__notewakeup(&m->park);
    goc__notewakeup(&goc__sched.timer_note);
    goc__notewakeup(&goc__sched.sysmon_note);
    goc__notewakeup(&goc__sched.run_done);
    goc__unlock(&goc__sched.lock);
    goc__netpoll_break();
}
