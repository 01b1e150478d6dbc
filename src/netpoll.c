/* SPDX-License-Identifier: MIT */
/*
 * netpoll.c - poll descriptors and the waits on them (Go's netpoll.go),
 * and the poller's side of the scheduler.
 *
 * A call (fd.c, net.c) tries its system call first; on EAGAIN it waits in
 * goc__pd_wait, parked on its descriptor's read or write list, until a
 * readiness event, a close or its ctx wakes it; then it tries again.
 * There is no lost wake-up: an event that finds nobody waiting sets
 * rready (wready) under the descriptor's lock, and a wait that finds the
 * flag set consumes it and returns at once, so an event between the
 * EAGAIN and the wait is kept.  An event wakes every waiter of its
 * direction: with edge-triggered polling, one edge may stand for several
 * connections to accept or for data several readers share, and a woken
 * caller that finds nothing (EAGAIN) waits again.
 *
 * Each waiter is woken by exactly one party, the one that takes it off
 * its list under the lock: the event, the close, or the cancel of its ctx
 * (a context watch, context.h, which runs under the context's lock, so the
 * waiter's goc__ctx_unwatch also waits out a cancel in progress before
 * the waiter's frame goes away).
 *
 * Who polls: at most one idle M blocks in the poller, the same M that
 * sleeps until the next timer (proc.c, idle_sleep); Ms that run out of
 * work poll without blocking before they steal; sysmon polls when nobody
 * did for 10 ms (sysmon.c).  A plain thread parked on a descriptor during
 * a run relies on them; outside a run it polls for itself.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "context.h"
#include "internal.h"
#include "netpoll.h"

/* Why a waiter woke up. */
enum { WHY_NONE = 0, WHY_READY, WHY_CLOSED, WHY_CTX };

struct goc__pdwaiter {
    goc__pdwaiter *next;      /* on its list; pd lock */
    goc__pdwaiter **list;     /* the list it waits on (rq, wq or eq) */
    goc__parker parker;
    goc__note note;           /* a plain thread sleeps on it */
    goc__pd *pd;
    int why;                  /* WHY_*; pd lock */
    int err;                  /* the ctx's error for WHY_CTX; pd lock */
    goc__ctxwatch watch;      /* ctx_fired finds w from it */
};

/* ---- the table: fd -> descriptor, in chunks allocated on first use ---- */

#define CHUNK_SHIFT 10
#define CHUNK_SIZE (1 << CHUNK_SHIFT)
#define NCHUNKS (1 << 14) /* descriptors below 2^24 */
static _Atomic(goc__pd *) chunks[NCHUNKS];

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_err;
static _Atomic bool inited;
static _Atomic int32_t nwaiters;
static _Atomic int32_t nwaiters_ext; /* of them, not on a pipe end */

goc__pd *goc__pd_find(int fd)
{
    if (fd < 0 || (fd >> CHUNK_SHIFT) >= NCHUNKS)
        return NULL;
    /* acquire: pairs with the release CAS that published the chunk */
    goc__pd *c = atomic_load_explicit(&chunks[fd >> CHUNK_SHIFT],
                                      memory_order_acquire);
    return c != NULL ? &c[fd & (CHUNK_SIZE - 1)] : NULL;
}

goc__pd *goc__pd_slot(int fd)
{
    if (fd < 0 || (fd >> CHUNK_SHIFT) >= NCHUNKS)
        return NULL;
    goc__pd *pd = goc__pd_find(fd);
    if (pd != NULL)
        return pd;
    goc__pd *c = calloc(CHUNK_SIZE, sizeof *c);
    if (c == NULL)
        return NULL;
    int base = fd & ~(CHUNK_SIZE - 1);
    for (int i = 0; i < CHUNK_SIZE; i++) {
        c[i].fd = base + i;
        goc__lock_setrank(&c[i].lock, GOC__RANK_PD);
    }
    goc__pd *none = NULL;
    if (!atomic_compare_exchange_strong_explicit(&chunks[fd >> CHUNK_SHIFT],
                                                 &none, c,
                                                 memory_order_acq_rel,
                                                 memory_order_acquire))
        free(c); /* another thread won: none is its chunk */
    return goc__pd_find(fd);
}

/* ---- the poller's creation ---- */

static void init_poller(void)
{
    init_err = goc__np_init();
    if (init_err != 0)
        return;
    /* seq_cst: the idle M that sleeps for the timers reads it (proc.c,
     * idle_sleep) after it publishes itself; we kick it after this store,
     * so it moves into the poller either way. */
    atomic_store_explicit(&inited, true, memory_order_seq_cst);
    if (atomic_load_explicit(&goc__sched.running, memory_order_acquire))
        goc__timers_kick(1);
}

bool goc__netpoll_inited(void)
{
    return atomic_load_explicit(&inited, memory_order_seq_cst);
}

int32_t goc__netpoll_waiters(void)
{
    return atomic_load_explicit(&nwaiters, memory_order_seq_cst);
}

int32_t goc__netpoll_waiters_ext(void)
{
    return atomic_load_explicit(&nwaiters_ext, memory_order_seq_cst);
}

static uint64_t tag_of(goc__pd *pd)
{
    return (uint64_t)atomic_load_explicit(&pd->seq, memory_order_relaxed)
               << 32 |
           (uint32_t)pd->fd;
}

/* ---- owning and letting go ---- */

/* Out of line: it reads errno, and callers park (os.h, goc__sys_read). */
__attribute__((noinline)) int goc__pd_open(int fd)
{
    if (fd < 0)
        return -EBADF;
    goc__pd *pd = goc__pd_slot(fd);
    if (pd == NULL)
        return (fd >> CHUNK_SHIFT) >= NCHUNKS ? GOC_EINVAL : GOC_ENOMEM;
    pthread_once(&init_once, init_poller);
    if (init_err != 0)
        return init_err;
    int rc = 0;
    goc__spin_lock(&pd->lock);
    if (atomic_load_explicit(&pd->state, memory_order_relaxed) !=
        GOC__PD_FREE) {
        rc = pd->closing ? GOC_ECLOSED : 0;
        goto out;
    }
    if (atomic_load_explicit(&pd->calls, memory_order_acquire) & 1) {
        /* The last close of this number is between its unlock and its
         * close(2) (pd_destroy): a few instructions.  The number may be
         * ours already (socket(2) reused it): wait for the slot. */
        goc__spin_unlock(&pd->lock);
        while (atomic_load_explicit(&pd->calls, memory_order_acquire) & 1)
            goc__cpu_relax();
        return goc__pd_open(fd);
    }
    int fl = fcntl(fd, F_GETFL);
    struct stat st;
    if (fl < 0 || fstat(fd, &st) != 0) {
        rc = -errno;
        goto out;
    }
    if (!(fl & O_NONBLOCK) && fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0) {
        rc = -errno;
        goto out;
    }
    pd->is_socket = S_ISSOCK(st.st_mode);
    pd->pipe = false;
    pd->rready = pd->wready = false;
    pd->closing = false;
    rc = goc__np_open(fd, tag_of(pd));
    uint8_t state = GOC__PD_POLL;
    if (rc == -EPERM) { /* a regular file or a directory: never waits */
        state = GOC__PD_FILE;
        rc = 0;
    }
    if (rc == 0)
        /* release: a call that sees the state sees the fields above */
        atomic_store_explicit(&pd->state, state, memory_order_release);
out:
    goc__spin_unlock(&pd->lock);
    return rc;
}

/* The last call on a closing descriptor is over: unregister it, move to
 * the next sequence (late events are dropped), and close it if goc_close
 * asked for that.  Only one caller gets here per close (the one that
 * brought calls to 1). */
static void pd_destroy(goc__pd *pd)
{
    goc__spin_lock(&pd->lock);
    if (atomic_load_explicit(&pd->state, memory_order_relaxed) ==
        GOC__PD_POLL)
        (void)goc__np_close(pd->fd);
    atomic_store_explicit(&pd->seq,
                          atomic_load_explicit(&pd->seq,
                                               memory_order_relaxed) + 1,
                          memory_order_relaxed);
    bool close_fd = pd->close_fd;
    pd->closing = false;
    pd->close_fd = false;
    pd->rready = pd->wready = false;
    atomic_store_explicit(&pd->state, GOC__PD_FREE, memory_order_release);
    goc__spin_unlock(&pd->lock);
    if (close_fd)
        (void)close(pd->fd); /* as Go, the error of a deferred close is
                                nobody's to hear; EINTR still closed it */
    /* Last: until here the closing bit makes a late call fail, and a call
     * that would own the number again waits (goc__pd_open).  Once it is
     * clear, a new owner finds the slot free. */
    atomic_store_explicit(&pd->calls, 0, memory_order_release);
}

int goc__pd_acquire(int fd, goc__pd **pdp)
{
    for (;;) {
        goc__pd *pd = goc__pd_find(fd);
        /* acquire: pairs with the release in goc__pd_open */
        if (pd == NULL || atomic_load_explicit(&pd->state,
                                               memory_order_acquire) ==
                              GOC__PD_FREE) {
            /* Not owned: own it (a call racing the close that just
             * finished then gets -EBADF, or owns what reused the number,
             * as a C call on a closed descriptor would). */
            int rc = goc__pd_open(fd);
            if (rc != 0)
                return rc;
            continue;
        }
        uint32_t c = atomic_load_explicit(&pd->calls, memory_order_relaxed);
        do {
            if (c & 1)
                return GOC_ECLOSED;
        } while (!atomic_compare_exchange_weak_explicit(
            &pd->calls, &c, c + 2, memory_order_acquire,
            memory_order_relaxed));
        if (atomic_load_explicit(&pd->state, memory_order_acquire) ==
            GOC__PD_FREE) {
            goc__pd_release(pd); /* lost a race with a close: again */
            continue;
        }
        *pdp = pd;
        return 0;
    }
}

int goc__pd_begin(int fd, goc_ctx *ctx, goc__pd **pdp)
{
    goc__preempt_check(); /* every descriptor call begins here */
    /* A plain thread's descriptor call may ready a goroutine (a write its
     * reader waits for) without ever waiting itself: count it as a
     * possible waker, as its channel calls do. */
    if (goc__unlikely(goc__getm() == NULL))
        goc__extern_thread();
    int err = ctx != NULL ? goc_ctx_err(ctx) : 0;
    return err != 0 ? err : goc__pd_acquire(fd, pdp);
}

void goc__pd_release(goc__pd *pd)
{
    /* acq_rel: the destroy sees every call's effects */
    if (atomic_fetch_sub_explicit(&pd->calls, 2, memory_order_acq_rel) == 3)
        pd_destroy(pd);
}

/* Wake every waiter of list w (take_all marked each with why).
 * Requires: the list was taken off its descriptor under the lock, which
 * the caller has released. */
static int wake_list(goc__m *m, goc__pdwaiter *w)
{
    int n = 0;
    while (w != NULL) {
        goc__pdwaiter *next = w->next; /* w may be gone once woken */
        goc__parker p = w->parker;
        goc__parker_wake(m, &p);
        w = next;
        n++;
    }
    return n;
}

/* Take list *q, marking each waiter with why.  Requires: pd lock. */
static goc__pdwaiter *take_all(goc__pdwaiter **q, int why)
{
    goc__pdwaiter *w = *q;
    *q = NULL;
    for (goc__pdwaiter *x = w; x != NULL; x = x->next)
        x->why = why;
    return w;
}

/* Append list b to list a. */
static goc__pdwaiter *join(goc__pdwaiter *a, goc__pdwaiter *b)
{
    if (a == NULL)
        return b;
    goc__pdwaiter *t = a;
    while (t->next != NULL)
        t = t->next;
    t->next = b;
    return a;
}

int goc__pd_close(int fd, bool close_fd)
{
    goc__pd *pd = goc__pd_find(fd);
    if (pd == NULL ||
        atomic_load_explicit(&pd->state, memory_order_acquire) ==
            GOC__PD_FREE) {
        if (!close_fd)
            return -EBADF;
        return close(fd) == 0 || errno == EINTR ? 0 : -errno;
    }
    goc__spin_lock(&pd->lock);
    if (pd->closing ||
        atomic_load_explicit(&pd->state, memory_order_relaxed) ==
            GOC__PD_FREE) {
        bool closing = pd->closing;
        goc__spin_unlock(&pd->lock);
        return closing ? GOC_ECLOSED : goc__pd_close(fd, close_fd);
    }
    pd->closing = true;
    pd->close_fd = close_fd;
    goc__pdwaiter *w = join(join(take_all(&pd->rq, WHY_CLOSED),
                                 take_all(&pd->wq, WHY_CLOSED)),
                            take_all(&pd->eq, WHY_CLOSED));
    goc__spin_unlock(&pd->lock);
    (void)wake_list(goc__getm(), w);
    if (atomic_fetch_or_explicit(&pd->calls, 1, memory_order_acq_rel) == 0)
        pd_destroy(pd);
    return 0;
}

/* ---- waiting ---- */

static bool unlock_pd(goc__g *g, void *arg)
{
    (void)g;
    goc__spin_unlock(&((goc__pd *)arg)->lock);
    return true;
}

/* The waiter's ctx was canceled (under the ctx's lock). */
static void ctx_fired(goc__ctxwatch *watch, int err)
{
    goc__pdwaiter *w = (goc__pdwaiter *)((char *)watch -
                                         offsetof(goc__pdwaiter, watch));
    goc__pd *pd = w->pd;
    goc__spin_lock(&pd->lock);
    if (w->why != WHY_NONE) { /* woken already */
        goc__spin_unlock(&pd->lock);
        return;
    }
    w->why = WHY_CTX;
    w->err = err;
    /* On its list (parked), or not yet (it will see why before parking):
     * w->list is NULL until it queues, under this lock. */
    bool listed = false;
    for (goc__pdwaiter **pp = w->list; pp != NULL && *pp != NULL;
         pp = &(*pp)->next) {
        if (*pp == w) {
            *pp = w->next;
            listed = true;
            break;
        }
    }
    goc__spin_unlock(&pd->lock);
    if (listed) {
        goc__parker p = w->parker;
        goc__parker_wake(goc__getm(), &p);
    }
}

/* A plain thread waits: woken by whoever takes w off its list.  During a
 * run the Ms poll for it (wake one if a P is idle); outside a run it polls
 * for itself. */
static void thread_sleep(goc__pdwaiter *w)
{
    if (atomic_load_explicit(&goc__sched.running, memory_order_acquire)) {
        goc__extern_thread();
        goc__wakep();
        goc__notesleep(&w->note);
        return;
    }
    while (!goc__notetsleep(&w->note, 0))
        (void)goc__netpoll(10 * 1000 * 1000, NULL);
}

GOC__RUNTIME_TEXT
int goc__pd_wait(goc__pd *pd, int mode, goc_ctx *ctx)
{
    goc__m *m = goc__getm();
    goc__pdwaiter w;
    w.next = NULL;
    w.list = NULL;
    w.pd = pd;
    w.why = WHY_NONE;
    w.err = 0;
    if (ctx != NULL) {
        int err = goc__ctx_watch(ctx, &w.watch, ctx_fired);
        if (err != 0)
            return err;
    } else {
        w.watch.anchor = NULL;
    }
    goc__spin_lock(&pd->lock);
    int rc = 0;
    bool r = (mode & GOC__NP_READ) && pd->rready;
    bool wr = (mode & GOC__NP_WRITE) && pd->wready;
    if (w.why == WHY_CTX) {
        rc = w.err;
    } else if (pd->closing) {
        rc = GOC_ECLOSED;
    } else if (r || wr) {
        if (r)
            pd->rready = false;
        if (wr)
            pd->wready = false;
    } else {
        goc__pdwaiter **q = mode == GOC__NP_READ    ? &pd->rq
                            : mode == GOC__NP_WRITE ? &pd->wq
                                                    : &pd->eq;
        w.next = *q;
        *q = &w;
        w.list = q;
        goc__parker_init(&w.parker, m, &w.note);
        atomic_fetch_add_explicit(&nwaiters, 1, memory_order_seq_cst);
        bool ext = !pd->pipe;
        if (ext)
            atomic_fetch_add_explicit(&nwaiters_ext, 1, memory_order_seq_cst);
        if (w.parker.g != NULL) {
            goc__park_m(m, unlock_pd, pd, "IO wait");
        } else {
            goc__spin_unlock(&pd->lock);
            thread_sleep(&w);
        }
        atomic_fetch_sub_explicit(&nwaiters, 1, memory_order_relaxed);
        if (ext)
            atomic_fetch_sub_explicit(&nwaiters_ext, 1, memory_order_relaxed);
        goc__ctx_unwatch(&w.watch); /* waits out a cancel touching w */
        /* why was written under the lock by the waker, before the wake */
        switch (w.why) {
        case WHY_READY:
            return 0;
        case WHY_CLOSED:
            return GOC_ECLOSED;
        case WHY_CTX:
            return w.err;
        default:
            goc__fatal("netpoll: waiter woken without a reason");
        }
    }
    goc__spin_unlock(&pd->lock);
    goc__ctx_unwatch(&w.watch);
    return rc;
}

/* ---- the scheduler's side ---- */

/* One event: take the waiters of each ready direction onto *arg (a list
 * to wake once the poll is over), or keep the readiness for the next
 * wait. */
static void pd_event(uint64_t tag, int modes, void *arg)
{
    goc__pdwaiter **batch = arg;
    goc__pd *pd = goc__pd_find((int)(uint32_t)tag);
    if (pd == NULL)
        return;
    uint32_t seq = (uint32_t)(tag >> 32);
    goc__spin_lock(&pd->lock);
    if (atomic_load_explicit(&pd->seq, memory_order_relaxed) != seq ||
        atomic_load_explicit(&pd->state, memory_order_relaxed) !=
            GOC__PD_POLL) {
        goc__spin_unlock(&pd->lock); /* for a closed, maybe reused, fd */
        return;
    }
    goc__pdwaiter *w = take_all(&pd->eq, WHY_READY);
    if (modes & GOC__NP_READ) {
        if (pd->rq != NULL)
            w = join(w, take_all(&pd->rq, WHY_READY));
        else
            pd->rready = true;
    }
    if (modes & GOC__NP_WRITE) {
        if (pd->wq != NULL)
            w = join(w, take_all(&pd->wq, WHY_READY));
        else
            pd->wready = true;
    }
    goc__spin_unlock(&pd->lock);
    *batch = join(w, *batch);
}

goc__pdwaiter *goc__netpoll_take(int64_t delay)
{
    if (!goc__netpoll_inited())
        return NULL;
    goc__pdwaiter *batch = NULL;
    (void)goc__np_poll(delay, pd_event, &batch);
    atomic_store_explicit(&goc__sched.lastpoll, goc__nanotime(),
                          memory_order_relaxed);
    return batch;
}

int goc__netpoll_wake(goc__m *m, goc__pdwaiter *list)
{
    return wake_list(m, list);
}

int goc__netpoll(int64_t delay, goc__m *m)
{
    return wake_list(m, goc__netpoll_take(delay));
}

void goc__netpoll_break(void)
{
    if (goc__netpoll_inited())
        goc__np_break();
}

void goc__netpoll_teardown(void)
{
    for (int c = 0; c < NCHUNKS; c++) {
        goc__pd *pds = atomic_load_explicit(&chunks[c], memory_order_acquire);
        if (pds == NULL)
            continue;
        for (int i = 0; i < CHUNK_SIZE; i++) {
            goc__spin_lock(&pds[i].lock);
            pds[i].rq = pds[i].wq = pds[i].eq = NULL;
            goc__spin_unlock(&pds[i].lock);
        }
    }
    atomic_store_explicit(&nwaiters, 0, memory_order_relaxed);
    atomic_store_explicit(&nwaiters_ext, 0, memory_order_relaxed);
}
