/* SPDX-License-Identifier: MIT */
/*
 * context.c - contexts (Go's context package): cancellation trees,
 * deadlines on the scheduler's timers, values, causes and AfterFunc.
 * Design: docs/design/timers.md, "Contexts".
 *
 * A cancelable context (with_cancel, with_deadline, with_timeout) owns a
 * done channel that is closed when it is canceled, and a list of the
 * cancelable contexts below it (through value contexts) that its cancel
 * must reach.  A value context is not cancelable: its done channel, error
 * and cause are those of its nearest cancelable ancestor ("the anchor").
 *
 * Lifetime: references.  The creator holds one; every child holds one on
 * its parent, so a context lives while any descendant does; an AfterFunc
 * registration holds one until it is stopped.  The anchor's list of
 * children is weak: a child that is freed takes itself off it.  A
 * holder may drop a context the moment it sees it canceled, while the
 * cancel is still under way: so the public cancel holds a reference of
 * its own, and a cancel clears each child's anchor only once it is done
 * with the child (a child's free waits on the anchor's mu until then).
 *
 * Invariants:
 *   err == 0 until canceled, then GOC_ECANCELED or GOC_ETIMEDOUT for ever;
 *   canceled <=> done is closed (for cancelable contexts);
 *   c is on a's children list <=> c->anchor == a, and then a is not
 *   canceled (cancel empties the list and clears each child's anchor);
 *   deadline: the earliest of the own one and every ancestor's, 0 if none.
 * Locking: mu of a cancelable context protects err, cause, children,
 * anchor links of its children and its AfterFunc list.  A cancel holds a
 * parent's mu while it cancels the children (parent before child, as Go).
 * A deadline timer's function cancels under the timer's mu, so no context
 * lock is ever held while a context's timer is disarmed (release disarms
 * first).  Context locks sit above channel locks (cancel closes done).
 */
#include <stdlib.h>
#include <string.h>

#include "context.h"
#include "internal.h"
#include "race.h"

enum { KIND_BACKGROUND, KIND_CANCEL, KIND_VALUE };

struct goc_ctx {
    _Atomic uint32_t refs;
    int kind;
    goc_ctx *parent;             /* referenced; NULL for background */
    int64_t deadline;            /* immutable */

    /* Cancelable contexts. */
    goc__mutex mu;
    _Atomic int err;             /* written under mu; read without it */
    int cause;                   /* mu */
    goc_chan *done;              /* immutable; closed by cancel */
    goc_ctx *children;           /* mu: weak list of anchored contexts */
    goc_ctx *sib_prev, *sib_next;/* the anchor's mu */
    _Atomic(goc_ctx *) anchor;   /* where this one is listed, or NULL;
                                    written under the anchor's mu */
    goc_ctx_afterfunc *afs;      /* mu: registered AfterFuncs */
    goc__ctxwatch *watches;     /* mu: the runtime's watches (context.h) */
    bool has_timer;              /* immutable */
    goc__timer timer;

    /* Value contexts. */
    const void *key;
    void *value;
};

/* AfterFunc states: pending until cancel starts fn or stop prevents it. */
enum { AF_PENDING, AF_STARTED, AF_STOPPED };

struct goc_ctx_afterfunc {
    _Atomic int state;
    void (*fn)(void *);
    void *arg;
    goc_ctx *ctx;                /* the anchor; referenced until stop */
    goc_ctx_afterfunc *next, *prev; /* ctx->mu */
    bool listed;                 /* ctx->mu */
};

static goc_ctx background = {.refs = 1, .kind = KIND_BACKGROUND};

goc_ctx *goc_ctx_background(void)
{
    return &background;
}

static goc_ctx *or_background(goc_ctx *c)
{
    return c != NULL ? c : &background;
}

/* The nearest cancelable context at or above c, or NULL. */
static goc_ctx *anchor_of(goc_ctx *c)
{
    while (c != NULL && c->kind == KIND_VALUE)
        c = c->parent;
    return c != NULL && c->kind == KIND_CANCEL ? c : NULL;
}

/* ---- cancel ---- */

static void start_afterfuncs(goc_ctx *c);
static void call_watches(goc_ctx *c, int err);

/* Cancel c and everything anchored below it.  Requires: c->mu. */
static void cancel_locked(goc_ctx *c, int err, int cause)
{
    GOC_ASSERT_HELD(&c->mu);
    if (atomic_load_explicit(&c->err, memory_order_relaxed) != 0)
        return;
    /* release: what the canceler did before is visible to whoever reads
     * the error without the lock (goc_ctx_err, acquire). */
    goc__race_release(c); /* cancel -> ctx_err; done's close: its own */
    atomic_store_explicit(&c->err, err, memory_order_release);
    c->cause = cause != 0 ? cause : err;
    /* Cannot fail: done exists from the make, and the err test above lets
     * one cancel through (`!` keeps gcc from warning on the drop). */
    (void)!goc_chan_close(c->done);
    for (goc_ctx *k = c->children, *next; k != NULL; k = next) {
        goc__lock(&k->mu);
        cancel_locked(k, err, c->cause);
        goc__unlock(&k->mu);
        next = k->sib_next;
        /* The last touch of k.  Its holder may have seen it canceled and
         * dropped it: until this store its free waits for c->mu, after
         * it the free goes ahead (ctx_free; release: pairs with its
         * acquire load). */
        atomic_store_explicit(&k->anchor, NULL, memory_order_release);
    }
    c->children = NULL;
    call_watches(c, err);
    start_afterfuncs(c);
}

static void cancel(goc_ctx *c, int err, int cause)
{
    goc__lock(&c->mu);
    cancel_locked(c, err, cause);
    goc__unlock(&c->mu);
}

void goc_ctx_cancel(goc_ctx *c)
{
    goc_ctx_cancel_cause(c, 0);
}

void goc_ctx_cancel_cause(goc_ctx *c, int cause)
{
    if (c == NULL || c->kind != KIND_CANCEL)
        return;
    /* A reference of the cancel's own: whoever waits for the cancel
     * (done closed, err set) may drop the last reference while the
     * cancel still walks c's children, watches and AfterFuncs, as Go
     * code does (a goroutine cancels the context its spawner waits on,
     * and the spawner then lets it go). */
    goc_ctx_retain(c);
    cancel(c, GOC_ECANCELED, cause);
    goc_ctx_release(c);
}

static int deadline_fire(goc__timer *t, void *arg, int64_t now)
{
    (void)t;
    (void)now;
    cancel(arg, GOC_ETIMEDOUT, GOC_ETIMEDOUT);
    return GOC__TIMER_KEEP;
}

/* ---- construction ---- */

static goc_ctx *ctx_alloc(goc_ctx *parent, int kind)
{
    goc_ctx *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    atomic_init(&c->refs, 1);
    goc__lock_setrank(&c->mu, GOC__RANK_CTX);
    goc__lock_setrank(&c->timer.mu, GOC__RANK_TIMER);
    c->kind = kind;
    c->parent = parent;
    c->deadline = parent->deadline;
    if (parent != &background)
        atomic_fetch_add_explicit(&parent->refs, 1, memory_order_relaxed);
    return c;
}

/* A cancelable context below parent, with deadline (0: only the
 * parent's).  Returns: it, or NULL when out of memory. */
static goc_ctx *cancel_ctx_new(goc_ctx *parent, int64_t deadline)
{
    parent = or_background(parent);
    goc_ctx *c = ctx_alloc(parent, KIND_CANCEL);
    if (c == NULL)
        return NULL;
    c->done = goc_chan_make(0, 0);
    if (c->done == NULL) {
        goc_ctx_release(c);
        return NULL;
    }
    bool own_deadline = deadline != 0 &&
                        (c->deadline == 0 || deadline < c->deadline);
    if (own_deadline)
        c->deadline = deadline;
    goc_ctx *a = anchor_of(parent);
    int born = 0, cause = 0;
    if (a != NULL) {
        goc__lock(&a->mu);
        born = atomic_load_explicit(&a->err, memory_order_relaxed);
        if (born != 0) {
            cause = a->cause;
        } else {
            c->sib_next = a->children;
            if (a->children != NULL)
                a->children->sib_prev = c;
            a->children = c;
            atomic_store_explicit(&c->anchor, a, memory_order_relaxed);
        }
        goc__unlock(&a->mu);
    }
    if (born != 0) { /* a child of a canceled parent is born canceled */
        cancel(c, born, cause);
        return c;
    }
    if (own_deadline) {
        if (deadline <= goc__clock()) {
            cancel(c, GOC_ETIMEDOUT, GOC_ETIMEDOUT);
        } else {
            c->has_timer = true;
            goc__timer_arm(&c->timer, deadline_fire, c, deadline, 0);
        }
    }
    return c;
}

goc_ctx *goc_ctx_with_cancel(goc_ctx *parent)
{
    return cancel_ctx_new(parent, 0);
}

goc_ctx *goc_ctx_with_deadline(goc_ctx *parent, int64_t deadline)
{
    /* A deadline of 0 or less is long past, not "none". */
    return cancel_ctx_new(parent, deadline > 0 ? deadline : 1);
}

goc_ctx *goc_ctx_with_timeout(goc_ctx *parent, int64_t ns)
{
    /* Past the end of the clock (the sum would overflow): no deadline
     * ever reached, as in Go. */
    int64_t now = goc__clock();
    return goc_ctx_with_deadline(parent,
                                 ns > INT64_MAX - now ? INT64_MAX : now + ns);
}

goc_ctx *goc_ctx_with_value(goc_ctx *parent, const void *key, void *value)
{
    if (key == NULL)
        return NULL; /* Go panics: "nil key" */
    goc_ctx *c = ctx_alloc(or_background(parent), KIND_VALUE);
    if (c == NULL)
        return NULL;
    c->key = key;
    c->value = value;
    return c;
}

/* ---- queries ---- */

goc_chan *goc_ctx_done(goc_ctx *c)
{
    goc_ctx *a = anchor_of(c);
    return a != NULL ? a->done : NULL;
}

int goc_ctx_err(goc_ctx *c)
{
    goc__preempt_check(); /* a cancellable loop's goc call */
    return goc__ctx_err(c);
}

int goc__ctx_err(goc_ctx *c)
{
    goc_ctx *a = anchor_of(c);
    /* acquire: pairs with the release store in cancel_locked. */
    int err = a != NULL ? atomic_load_explicit(&a->err, memory_order_acquire)
                        : 0;
    if (err != 0)
        goc__race_acquire(a);
    return err;
}

int goc_ctx_cause(goc_ctx *c)
{
    goc_ctx *a = anchor_of(c);
    if (a == NULL)
        return 0;
    goc__lock(&a->mu);
    int cause = atomic_load_explicit(&a->err, memory_order_relaxed) != 0
                    ? a->cause
                    : 0;
    goc__unlock(&a->mu);
    if (cause != 0)
        goc__race_acquire(a); /* cancel -> the cause it set, as ctx_err */
    return cause;
}

int64_t goc_ctx_deadline(goc_ctx *c)
{
    return c != NULL ? c->deadline : 0;
}

void *goc_ctx_value(goc_ctx *c, const void *key)
{
    for (; c != NULL; c = c->parent)
        if (c->kind == KIND_VALUE && c->key == key)
            return c->value;
    return NULL;
}

/* ---- release ---- */

void goc_ctx_retain(goc_ctx *c)
{
    if (c != NULL && c != &background)
        atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
}

/* c's last reference is gone: nothing below it exists any more (each
 * child held one).  Take it off its anchor's list, free it, and drop its
 * reference on its parent. */
static void ctx_free(goc_ctx *c)
{
    if (c->kind == KIND_CANCEL) {
        if (c->has_timer)
            goc__timer_del(&c->timer); /* waits out a firing deadline */
        /* acquire: NULL means the anchor's cancel is done with c
         * (cancel_locked's release store). */
        goc_ctx *a = atomic_load_explicit(&c->anchor, memory_order_acquire);
        if (a != NULL) {
            /* a is alive: c's parent chain holds it. */
            goc__lock(&a->mu);
            if (atomic_load_explicit(&c->anchor, memory_order_relaxed) == a) {
                if (c->sib_prev != NULL)
                    c->sib_prev->sib_next = c->sib_next;
                else
                    a->children = c->sib_next;
                if (c->sib_next != NULL)
                    c->sib_next->sib_prev = c->sib_prev;
            }
            goc__unlock(&a->mu);
        }
        goc_chan_release(c->done);
    }
    goc_ctx *parent = c->parent;
    free(c);
    goc_ctx_release(parent);
}

void goc_ctx_release(goc_ctx *c)
{
    /* acq_rel: every use by other holders happens before the free. */
    if (c != NULL && c != &background &&
        atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) == 1)
        ctx_free(c);
}

/* ---- the runtime's watches ---- */

/* Call every watch of c, once each.  Requires: c->mu; c canceled. */
static void call_watches(goc_ctx *c, int err)
{
    GOC_ASSERT_HELD(&c->mu);
    goc__ctxwatch *w = c->watches;
    c->watches = NULL;
    while (w != NULL) {
        goc__ctxwatch *next = w->next; /* fn may let w go */
        w->listed = false;
        w->fn(w, err);
        w = next;
    }
}

int goc__ctx_watch(goc_ctx *c, goc__ctxwatch *w, goc__ctx_watchf fn)
{
    w->fn = fn;
    w->next = w->prev = NULL;
    w->listed = false;
    goc_ctx *a = anchor_of(c);
    w->anchor = a;
    if (a == NULL)
        return 0; /* never canceled */
    goc__lock(&a->mu);
    int err = atomic_load_explicit(&a->err, memory_order_relaxed);
    if (err == 0) {
        w->next = a->watches;
        if (w->next != NULL)
            w->next->prev = w;
        a->watches = w;
        w->listed = true;
    }
    goc__unlock(&a->mu);
    return err;
}

void goc__ctx_unwatch(goc__ctxwatch *w)
{
    goc_ctx *a = w->anchor;
    if (a == NULL)
        return;
    /* The lock also waits out a cancel calling w->fn right now. */
    goc__lock(&a->mu);
    if (w->listed) {
        if (w->prev != NULL)
            w->prev->next = w->next;
        else
            a->watches = w->next;
        if (w->next != NULL)
            w->next->prev = w->prev;
        w->listed = false;
    }
    goc__unlock(&a->mu);
    w->anchor = NULL;
}

/* ---- AfterFunc ---- */

/* fn(arg) in a goroutine of its own, from under a context lock (so with
 * the spawn that never yields).  Only a run that is ending refuses. */
static void spawn_afterfunc(void (*fn)(void *), void *arg)
{
    /* "created by goc_ctx_after_func" in dumps */
    int rc = goc__spawn_callback(fn, arg, (uintptr_t)goc_ctx_after_func + 1);
    if (rc != 0 && rc != GOC_EPERM)
        goc__fatal("cannot start an AfterFunc goroutine: %s",
                   goc_strerror(rc));
}

/* Start every registered function in a goroutine of its own.
 * Requires: c->mu; c canceled. */
static void start_afterfuncs(goc_ctx *c)
{
    GOC_ASSERT_HELD(&c->mu);
    goc_ctx_afterfunc *f = c->afs;
    c->afs = NULL;
    for (; f != NULL; f = f->next) {
        f->listed = false;
        int pending = AF_PENDING;
        if (atomic_compare_exchange_strong_explicit(
                &f->state, &pending, AF_STARTED, memory_order_acq_rel,
                memory_order_relaxed))
            /* EPERM: the run is ending; ENOMEM: as Go, which would die */
            spawn_afterfunc(f->fn, f->arg);
    }
}

goc_ctx_afterfunc *goc_ctx_after_func(goc_ctx *c, void (*fn)(void *),
                                      void *arg)
{
    if (fn == NULL)
        return NULL;
    goc_ctx_afterfunc *f = calloc(1, sizeof *f);
    if (f == NULL)
        return NULL;
    f->fn = fn;
    f->arg = arg;
    atomic_init(&f->state, AF_PENDING);
    goc__race_callback_registered(fn, arg);
    goc_ctx *a = anchor_of(c);
    if (a == NULL)
        return f; /* never canceled: fn never runs */
    goc_ctx_retain(a);
    f->ctx = a;
    goc__lock(&a->mu);
    if (atomic_load_explicit(&a->err, memory_order_relaxed) != 0) {
        atomic_store_explicit(&f->state, AF_STARTED, memory_order_relaxed);
        spawn_afterfunc(fn, arg);
    } else {
        f->next = a->afs;
        if (f->next != NULL)
            f->next->prev = f;
        a->afs = f;
        f->listed = true;
    }
    goc__unlock(&a->mu);
    return f;
}

bool goc_ctx_after_func_stop(goc_ctx_afterfunc *f)
{
    if (f == NULL)
        return false;
    int pending = AF_PENDING;
    bool stopped = atomic_compare_exchange_strong_explicit(
        &f->state, &pending, AF_STOPPED, memory_order_acq_rel,
        memory_order_relaxed);
    goc_ctx *a = f->ctx;
    if (a != NULL) {
        goc__lock(&a->mu);
        if (f->listed) {
            if (f->prev != NULL)
                f->prev->next = f->next;
            else
                a->afs = f->next;
            if (f->next != NULL)
                f->next->prev = f->prev;
        }
        goc__unlock(&a->mu);
        goc_ctx_release(a);
    }
    free(f);
    return stopped;
}
