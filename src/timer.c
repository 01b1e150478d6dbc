/* SPDX-License-Identifier: MIT */
/*
 * timer.c - timers inside the scheduler (Go's time.go): per-P 4-ary heaps,
 * arming, disarming and running timers, the idle M that sleeps until the
 * earliest one, goc_sleep, and the public timers, tickers and goc_after.
 * Design: docs/design/timers.md.
 *
 * There is no timer thread.  Each P has a heap of the timers armed on it;
 * an M runs its P's due timers whenever it looks for work (find_runnable),
 * and those of other Ps when it steals, so the timers of a P whose
 * goroutine runs for a long time still fire.  When every M is out of work,
 * one of them (the timer sleeper, sched.timerm) sleeps on a futex with a
 * timeout until the earliest timer of any P; the others sleep without one.
 * Arming a timer earlier than what the sleeper waits for kicks it.
 *
 * A timer's function runs with the timer's mu held.  So goc__timer_del,
 * which takes mu, waits for a firing in progress: once it returns, the
 * function is not running and will not run.  That is what lets a G keep
 * its sleep / select timeout in its header, pointing at its stack, and
 * lets a user free a goc_timer right after stopping it.
 *
 * Invariants:
 *   t->p != NULL <=> t is in t->p's heap, at heap[t->idx], whose when is
 *   t->when; t->when, t->p and t->idx change only with t->mu and that
 *   heap's lock both held;
 *   heap order: heap[i].when <= heap[4i + k].when for k = 1..4;
 *   timers.first == heap[0].when, or 0 for an empty heap.
 * Locking: t->mu, then a heap's lock (a leaf).  The runner holds a heap's
 * lock and only tries t->mu (goc__trylock): whoever holds mu may be about
 * to take that heap's lock.  A timer function runs under its mu and may
 * take context, channel and sched locks (runtime.h has the whole order).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chan.h" /* goc__race_chan_publish */
#include "internal.h"
#include "netpoll.h"
#include "race.h"

/* ---- the heap (ts->lock) ---- */

static void heap_put(goc__timers *ts, uint32_t i, goc__timer_ent e)
{
    ts->heap[i] = e;
    e.t->idx = (int32_t)i;
}

static void sift_up(goc__timers *ts, uint32_t i)
{
    goc__timer_ent e = ts->heap[i];
    while (i > 0) {
        uint32_t parent = (i - 1) / 4;
        if (ts->heap[parent].when <= e.when)
            break;
        heap_put(ts, i, ts->heap[parent]);
        i = parent;
    }
    heap_put(ts, i, e);
}

static void sift_down(goc__timers *ts, uint32_t i)
{
    goc__timer_ent e = ts->heap[i];
    for (;;) {
        uint32_t c = 4 * i + 1, best = i;
        int64_t w = e.when;
        for (uint32_t k = c; k < c + 4 && k < ts->len; k++) {
            if (ts->heap[k].when < w) {
                w = ts->heap[k].when;
                best = k;
            }
        }
        if (best == i)
            break;
        heap_put(ts, i, ts->heap[best]);
        i = best;
    }
    heap_put(ts, i, e);
}

static void update_first(goc__timers *ts)
{
    /* seq_cst: pairs with the sleeper's loads in goc__timers_next. */
    atomic_store_explicit(&ts->first, ts->len > 0 ? ts->heap[0].when : 0,
                          memory_order_seq_cst);
}

#if GOC_DEBUG >= 3
/* Requires: ts->lock.  Returns: true if ts is in heap order, every entry's
 * timer points back at its slot, and first matches heap[0]. */
static bool heap_is_valid(goc__timers *ts)
{
    if (ts->len > ts->cap)
        return false;
    for (uint32_t i = 0; i < ts->len; i++) {
        goc__timer_ent *e = &ts->heap[i];
        if (e->t->idx != (int32_t)i || e->t->p == NULL ||
            e->t->when != e->when ||
            (i > 0 && ts->heap[(i - 1) / 4].when > e->when))
            return false;
    }
    return atomic_load_explicit(&ts->first, memory_order_relaxed) ==
           (ts->len > 0 ? ts->heap[0].when : 0);
}
#endif

/* Requires: t->mu, ts->lock; t in no heap.  Returns: true if t is now
 * the earliest timer of ts. */
static bool heap_add(goc__timers *ts, goc__p *p, goc__timer *t)
{
    GOC_ASSERT_HELD(&t->mu);
    GOC_ASSERT_HELD(&ts->lock);
    if (ts->len == ts->cap) {
        if (!goc__pages_grow((void **)&ts->heap, &ts->cap, sizeof *ts->heap,
                             (size_t)ts->cap + 1))
            goc__fatal("out of memory: cannot grow a timer heap");
    }
    t->p = p;
    ts->heap[ts->len] = (goc__timer_ent){t->when, t};
    t->idx = (int32_t)ts->len++;
    sift_up(ts, (uint32_t)t->idx);
    update_first(ts);
    GOC_ASSERT_EXPENSIVE(heap_is_valid(ts));
    return t->idx == 0;
}

/* Requires: t->mu, ts->lock; t in ts. */
static void heap_del(goc__timers *ts, goc__timer *t)
{
    GOC_ASSERT_HELD(&t->mu);
    GOC_ASSERT_HELD(&ts->lock);
    uint32_t i = (uint32_t)t->idx;
    t->p = NULL;
    if (--ts->len != i) {
        heap_put(ts, i, ts->heap[ts->len]);
        if (i > 0 && ts->heap[(i - 1) / 4].when > ts->heap[i].when)
            sift_up(ts, i);
        else
            sift_down(ts, i);
    }
    update_first(ts);
    GOC_ASSERT_EXPENSIVE(heap_is_valid(ts));
}

/* ---- the timer sleeper ---- */

void goc__timers_kick(int64_t when)
{
    /* seq_cst: our heap write (update_first) comes before this load, and
     * the sleeper publishes itself before it reads every heap's first:
     * one of us sees the other. */
    if (atomic_load_explicit(&goc__sched.timerm, memory_order_seq_cst) !=
        NULL) {
        int64_t until = atomic_load_explicit(&goc__sched.timer_until,
                                             memory_order_seq_cst);
        if (until == 0 || when < until) {
            goc__notewakeup(&goc__sched.timer_note);
            /* It may sleep in the poller (proc.c, idle_sleep): break it. */
            if (atomic_load_explicit(&goc__sched.timer_via_poll,
                                     memory_order_seq_cst))
                goc__netpoll_break();
        }
        return;
    }
    /* Nobody sleeps on the timers: if a P is idle, an M that looks for
     * work on it will find the timer and become the sleeper. */
    goc__wakep();
}

int64_t goc__timers_next(void)
{
    int64_t next = 0;
    int32_t n = atomic_load_explicit(&goc__sched.nallp, memory_order_acquire);
    for (int32_t i = 0; i < n; i++) {
        goc__p *p = atomic_load_explicit(&goc__sched.allp[i],
                                         memory_order_acquire);
        int64_t w = atomic_load_explicit(&p->timers.first,
                                         memory_order_seq_cst);
        if (w != 0 && (next == 0 || w < next))
            next = w;
    }
    return next;
}

/* ---- arming, disarming, running ---- */

/* The heap a timer armed now goes to: the caller's P, or P 0 from a plain
 * thread (any heap works: every M looks at every P's timers). */
static goc__p *home(void)
{
    goc__m *m = goc__getm();
    if (m != NULL && m->p != NULL)
        return m->p;
    return atomic_load_explicit(&goc__sched.allp[0], memory_order_acquire);
}

/* Requires: t->mu.  Returns: true if t was armed. */
static bool disarm_locked(goc__timer *t)
{
    GOC_ASSERT_HELD(&t->mu);
    goc__p *p = t->p;
    if (p == NULL)
        return false;
    goc__lock(&p->timers.lock);
    heap_del(&p->timers, t);
    goc__unlock(&p->timers.lock);
    return true;
}

/* Requires: t->mu.  Returns: the deadline to kick for, or 0. */
static int64_t arm_locked(goc__timer *t, int64_t when, int64_t period)
{
    GOC_ASSERT_HELD(&t->mu);
    disarm_locked(t);
    goc__p *p = home();
    if (when <= 0)
        when = 1; /* 0 means "not armed" to the heap's first */
    t->when = when;
    t->period = period;
    goc__lock(&p->timers.lock);
    bool earliest = heap_add(&p->timers, p, t);
    goc__unlock(&p->timers.lock);
    return earliest ? when : 0;
}

bool goc__timer_arm_nokick(goc__timer *t, goc__timerf f, void *arg,
                           int64_t when, int64_t period, int64_t *kick)
{
    goc__lock(&t->mu);
    bool was = t->p != NULL;
    t->f = f;
    t->arg = arg;
    *kick = arm_locked(t, when, period);
    goc__unlock(&t->mu);
    return was;
}

bool goc__timer_arm(goc__timer *t, goc__timerf f, void *arg, int64_t when,
                    int64_t period)
{
    int64_t kick;
    bool was = goc__timer_arm_nokick(t, f, arg, when, period, &kick);
    if (kick != 0)
        goc__timers_kick(kick);
    return was;
}

bool goc__timer_del(goc__timer *t)
{
    goc__lock(&t->mu); /* waits for a firing in progress */
    bool was = disarm_locked(t);
    goc__unlock(&t->mu);
    return was;
}

/* The next deadline of a periodic timer that fired at now: the first
 * multiple of the period after now (missed ticks are dropped, as Go's). */
static int64_t next_period(int64_t when, int64_t period, int64_t now)
{
    if (period > INT64_MAX - when)
        return INT64_MAX; /* past the end of the clock: never */
    if (when + period > now)
        return when + period;
    return when + period * (1 + (now - when) / period);
}

int goc__timers_run(goc__p *p, int64_t now)
{
    goc__timers *ts = &p->timers;
    int fired = 0;
    for (;;) {
        goc__lock(&ts->lock);
        if (ts->len == 0 || ts->heap[0].when > now) {
            goc__unlock(&ts->lock);
            return fired;
        }
        goc__timer *t = ts->heap[0].t;
        if (!goc__trylock(&t->mu)) {
            /* Someone is arming, stopping or freeing it, and may be
             * waiting for this heap's lock: let go and look again. */
            goc__unlock(&ts->lock);
            goc__cpu_relax();
            continue;
        }
        heap_del(ts, t);
        if (t->period > 0) {
            t->when = next_period(t->when, t->period, now);
            heap_add(ts, p, t);
        }
        goc__unlock(&ts->lock);
        fired++;
        /* Hidden from the race detector, on whatever fiber: a firing
         * neither races nor orders goroutines.  The edges that timers
         * give (set -> the receive of the value, set -> the callback)
         * are released by the setter (race_timer_set). */
        goc__race_ignore_sync_begin();
        int keep = t->f(t, t->arg, now);
        goc__race_ignore_sync_end();
        if (keep == GOC__TIMER_KEEP)
            goc__unlock(&t->mu);
    }
}

void goc__timers_teardown(goc__p *p)
{
    goc__timers *ts = &p->timers;
    for (uint32_t i = 0; i < ts->len; i++) {
        goc__timer *t = ts->heap[i].t;
        t->p = NULL; /* a later goc_timer_free must not look for us */
        if (t->abandon != NULL)
            t->abandon(t);
    }
    goc__pages_free(ts->heap, ts->cap, sizeof *ts->heap);
    memset(ts, 0, sizeof *ts);
    goc__lock_setrank(&ts->lock, GOC__RANK_TIMERS);
}

bool goc__timers_pending(void)
{
    return goc__timers_next() != 0;
}

/* ---- goc_now, goc_sleep ---- */

/* The deadline ns from now.  Returns: INT64_MAX (never) when that is past
 * the end of the clock: a user's duration may be any int64_t, and the sum
 * must not overflow. */
static int64_t when_after(int64_t ns)
{
    int64_t now = goc__clock();
    return ns > INT64_MAX - now ? INT64_MAX : now + ns;
}

int64_t goc_now(void)
{
    return goc__clock();
}

static int sleep_fire(goc__timer *t, void *arg, int64_t now)
{
    (void)t;
    (void)now;
    goc__ready_ahead(arg);
    return GOC__TIMER_KEEP;
}

/* The park's unlock callback: arm the wake-up only once the goroutine is
 * off its stack, so that a short sleep cannot fire before the park is
 * complete (Go's resetForSleep). */
static bool sleep_arm(goc__g *g, void *arg)
{
    goc__timer_arm(&g->timer, sleep_fire, g, *(int64_t *)arg, 0);
    return true;
}

void goc_sleep(int64_t ns)
{
    goc__preempt_check();
    if (ns <= 0)
        return;
    goc__m *m = goc__getm();
    if (m == NULL || m->curg == NULL) {
        /* A plain thread that sleeps in goc will come back: from now on
         * it counts as a possible waker for deadlock detection. */
        if (m == NULL)
            goc__extern_thread();
        struct timespec ts = {(time_t)(ns / GOC_SECOND),
                              (long)(ns % GOC_SECOND)};
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
            ;
        return;
    }
    int64_t when = when_after(ns);
    goc__park_m(m, sleep_arm, &when, "sleep");
}

/* ---- timers and tickers with a channel, goc_after, goc_after_func ---- */

/* A user timer or ticker.  c is the channel it sends goc_now() on (cap 1:
 * a value nobody took is dropped, as Go's); fn/arg are an AfterFunc's. */
struct goc_timer {
    goc__timer t;
    goc_chan *c;
    void (*fn)(void *);
    void *arg;
};

struct goc_ticker {
    struct goc_timer tm;
};

/* A timer is set (made, reset) by the calling goroutine: what it did so
 * far happens before the receive of the value the timer sends (through
 * the slot of its channel, of capacity 1) or before its callback. */
static void race_timer_set(struct goc_timer *tm)
{
    if (tm->c != NULL)
        goc__race_chan_publish(tm->c);
    else
        goc__race_callback_registered(tm->fn, tm->arg);
}

static int chan_fire(goc__timer *t, void *arg, int64_t now)
{
    (void)t;
    (void)!goc_chan_try_send(arg, &now); /* full: the reader is behind */
    return GOC__TIMER_KEEP;
}

static int func_fire(goc__timer *t, void *arg, int64_t now)
{
    (void)t;
    (void)now;
    struct goc_timer *tm = arg;
    /* Its own goroutine, as Go's AfterFunc: fn may block.  GOC_EPERM: the
     * run is ending, and nothing runs any more. */
    /* "created by goc_after_func" in dumps */
    int rc = goc__spawn_callback(tm->fn, tm->arg,
                                 (uintptr_t)goc_after_func + 1);
    if (rc != 0 && rc != GOC_EPERM)
        goc__fatal("cannot start an AfterFunc goroutine: %s",
                   goc_strerror(rc));
    return GOC__TIMER_KEEP;
}

static bool running(void)
{
    return atomic_load_explicit(&goc__sched.running, memory_order_acquire) &&
           !atomic_load_explicit(&goc__sched.exiting, memory_order_acquire);
}

static struct goc_timer *timer_make(bool with_chan)
{
    if (!running())
        return NULL;
    struct goc_timer *tm = calloc(1, sizeof *tm);
    if (tm == NULL)
        return NULL;
    goc__lock_setrank(&tm->t.mu, GOC__RANK_TIMER);
    if (with_chan) {
        tm->c = goc_chan_make(sizeof(int64_t), 1);
        if (tm->c == NULL) {
            free(tm);
            return NULL;
        }
    }
    return tm;
}

goc_timer *goc_timer_new(int64_t ns)
{
    struct goc_timer *tm = timer_make(true);
    if (tm != NULL) {
        race_timer_set(tm);
        goc__timer_arm(&tm->t, chan_fire, tm->c, when_after(ns), 0);
    }
    return tm;
}

goc_timer *goc_after_func(int64_t ns, void (*fn)(void *), void *arg)
{
    if (fn == NULL)
        return NULL;
    struct goc_timer *tm = timer_make(false);
    if (tm == NULL)
        return NULL;
    tm->fn = fn;
    tm->arg = arg;
    race_timer_set(tm);
    goc__timer_arm(&tm->t, func_fire, tm, when_after(ns), 0);
    return tm;
}

goc_chan *goc_timer_chan(goc_timer *t)
{
    return t != NULL ? t->c : NULL;
}

bool goc_timer_stop(goc_timer *t)
{
    return t != NULL && goc__timer_del(&t->t);
}

bool goc_timer_reset(goc_timer *t, int64_t ns)
{
    if (t == NULL)
        return false;
    race_timer_set(t);
    if (t->c != NULL)
        return goc__timer_arm(&t->t, chan_fire, t->c, when_after(ns),
                              0);
    return goc__timer_arm(&t->t, func_fire, t, when_after(ns), 0);
}

void goc_timer_free(goc_timer *t)
{
    if (t == NULL)
        return;
    goc__timer_del(&t->t);
    goc_chan_release(t->c);
    free(t);
}

goc_ticker *goc_ticker_new(int64_t period)
{
    if (period <= 0)
        return NULL; /* Go panics: "non-positive interval for NewTicker" */
    struct goc_timer *tm = timer_make(true);
    if (tm == NULL)
        return NULL;
    race_timer_set(tm);
    goc__timer_arm(&tm->t, chan_fire, tm->c, when_after(period),
                   period);
    return (goc_ticker *)tm;
}

goc_chan *goc_ticker_chan(goc_ticker *t)
{
    return t != NULL ? t->tm.c : NULL;
}

void goc_ticker_reset(goc_ticker *t, int64_t period)
{
    if (t == NULL || period <= 0)
        return;
    race_timer_set(&t->tm);
    goc__timer_arm(&t->tm.t, chan_fire, t->tm.c, when_after(period),
                   period);
}

void goc_ticker_stop(goc_ticker *t)
{
    if (t != NULL)
        goc__timer_del(&t->tm.t);
}

void goc_ticker_free(goc_ticker *t)
{
    if (t != NULL)
        goc_timer_free(&t->tm);
}

/* goc_after: a one-shot timer that owns itself and one reference to its
 * channel; the caller owns the other and may drop it at any time. */
struct after {
    goc__timer t;
    goc_chan *c;
};

static void after_abandon(goc__timer *t)
{
    struct after *a = (struct after *)t;
    goc_chan_release(a->c);
    free(a);
}

static int after_fire(goc__timer *t, void *arg, int64_t now)
{
    struct after *a = arg;
    (void)!goc_chan_try_send(a->c, &now); /* cap 1, sent once */
    goc__unlock(&t->mu);
    after_abandon(t);
    return GOC__TIMER_GONE;
}

goc_chan *goc_after(int64_t ns)
{
    if (!running())
        return NULL;
    struct after *a = calloc(1, sizeof *a);
    if (a == NULL)
        return NULL;
    goc__lock_setrank(&a->t.mu, GOC__RANK_TIMER);
    a->c = goc_chan_make(sizeof(int64_t), 1);
    if (a->c == NULL) {
        free(a);
        return NULL;
    }
    goc_chan *c = a->c;
    goc_chan_retain(c); /* the timer's reference */
    goc__race_chan_publish(c); /* set -> the receive of its value */
    a->t.abandon = after_abandon;
    /* Once armed, a may fire and free itself on another thread at once:
     * touch it no more. */
    goc__timer_arm(&a->t, after_fire, a, when_after(ns), 0);
    return c;
}
