/* SPDX-License-Identifier: MIT */
/*
 * sema.c - the wait queue under every sync object, and Go's runtime
 * semaphore on top of it (Go's runtime/sema.go, in our words).  Design:
 * docs/design/sync.md; invariants and locking: sema.h.
 *
 * Go keys its semaphores by address in a global table of balanced trees,
 * so a sync.Mutex is 8 bytes.  goc keeps the queue in the object itself
 * (a lock word, a count and a head pointer: 16 bytes), which needs no
 * table, no hashing and no allocation, and gives every object its own
 * lock.  The cost is size: a goc_mutex is 24 bytes.
 *
 * The count lives under the queue lock, not in an atomic fast path as in
 * Go.  That keeps one property C needs and Go (with its garbage collector)
 * does not: whoever gives a wake-up touches the object for the last time
 * when it releases the queue lock, and the woken caller can only return
 * after that, so it may free the object at once.
 */
#include "sema.h"

#if GOC_DEBUG >= 3
static bool semq_is_valid(goc__sema *q)
{
    goc__semw *h = goc__semq_first(q);
    if (h == NULL)
        return true;
    if (q->count != 0)
        return false;
    goc__semw *w = h;
    do {
        if (!w->queued || w->next->prev != w || w->prev->next != w)
            return false;
        w = w->next;
    } while (w != h);
    return true;
}
#endif

void goc__semq_lock(goc__sema *q)
{
#if GOC_DEBUG >= 2
    /* the public word has no room for a rank (sema.h) */
    goc__lockrank_acquire(q, GOC__RANK_SEMQ, false);
    uint32_t c = 0;
    goc__mutex *l = goc__semq_mutex(q);
    if (!atomic_compare_exchange_strong_explicit(
            &l->key, &c, 1, memory_order_acquire, memory_order_relaxed))
        goc__lock_slow(l);
#else
    goc__lock(goc__semq_mutex(q));
#endif
    GOC_ASSERT_EXPENSIVE(semq_is_valid(q));
}

void goc__semw_init(goc__semw *w, int64_t n)
{
    w->next = w->prev = NULL;
    goc__parker_init(&w->who, goc__getm(), &w->note);
    w->n = n;
    w->signal = NULL;
    w->result = 0;
    w->queued = false;
    w->sleeping = false;
}

void goc__semq_push(goc__sema *q, goc__semw *w, bool lifo)
{
    GOC_ASSERT_HELD(q);
    goc__semw *h = goc__semq_first(q);
    if (h == NULL) {
        w->next = w->prev = w;
        q->head = w;
    } else {
        /* The tail is h->prev: w goes between the tail and the head. */
        w->next = h;
        w->prev = h->prev;
        h->prev->next = w;
        h->prev = w;
        if (lifo)
            q->head = w;
    }
    w->queued = true;
}

void goc__semq_take(goc__sema *q, goc__semw *w, goc__wakelist *wl)
{
    GOC_ASSERT_HELD(q);
    GOC_ASSERT_INTERNAL(w->queued);
    if (w->next == w) {
        q->head = NULL;
    } else {
        w->prev->next = w->next;
        w->next->prev = w->prev;
        if (q->head == w)
            q->head = w->next;
    }
    w->queued = false;
    if (w->sleeping) {
        w->next = NULL;
        *wl->tail = w;
        wl->tail = &w->next;
    }
}

void goc__wake_all(goc__wakelist *wl)
{
    goc__m *m = goc__getm(); /* we do not park: m stays ours */
    goc__semw *w = wl->first;
    while (w != NULL) {
        /* Read everything before the wake: w lives on a stack that may
         * be gone right after it. */
        goc__semw *next = w->next;
        goc__parker who = w->who;
        goc_chan *sig = w->signal;
        if (sig != NULL)
            (void)!goc_chan_try_send(sig, NULL); /* cap 1, sent once */
        else
            goc__parker_wake(m, &who);
        w = next;
    }
}

/* Park callback, on g0 once the goroutine is off its stack: from here on
 * a waker may take the waiter and ready it. */
static bool sleep_unlock(goc__g *g, void *arg)
{
    (void)g;
    goc__semq_unlock(arg);
    return true;
}

GOC__RUNTIME_TEXT
void goc__semq_sleep(goc__sema *q, goc__semw *w, const char *reason)
{
    GOC_ASSERT_HELD(q);
    if (!w->queued) { /* a waker was first */
        goc__semq_unlock(q);
        return;
    }
    w->sleeping = true;
    goc__parker_sleep(goc__getm(), &w->who, sleep_unlock, q, reason);
    GOC_ASSERT_INTERNAL(!w->queued);
}

/* ---- Go's runtime semaphore ---- */

GOC__RUNTIME_TEXT
void goc__semacquire(goc__sema *q, bool lifo, const char *reason)
{
    goc__semq_lock(q);
    if (q->count > 0) {
        q->count--;
        goc__semq_unlock(q);
        return;
    }
    goc__semw w;
    goc__semw_init(&w, 1);
    goc__semq_push(q, &w, lifo);
    goc__semq_sleep(q, &w, reason);
}

void goc__semrelease(goc__sema *q, uint32_t n)
{
    goc__wakelist wl;
    goc__wakelist_init(&wl);
    goc__semq_lock(q);
    goc__semw *w;
    for (; n > 0 && (w = goc__semq_first(q)) != NULL; n--)
        goc__semq_take(q, w, &wl);
    q->count += n;
    goc__semq_unlock(q);
    goc__wake_all(&wl);
}

/* ---- plain threads ---- */

__thread uint64_t goc__sync_epoch __attribute__((tls_model("initial-exec")));

void goc__sync_enter_slow(void)
{
    /* acquire: pairs with the release increment when a run starts. */
    uint64_t epoch = atomic_load_explicit(&goc__sched_epoch,
                                          memory_order_acquire);
    if (goc__getm() == NULL) {
        /* Outside a run there is nobody to count for: look again next
         * time (goc__extern_thread does the counting). */
        if (!atomic_load_explicit(&goc__sched.running, memory_order_acquire))
            return;
        goc__extern_thread();
    }
    goc__sync_epoch = epoch;
}

void goc__sync_enter_block_slow(void)
{
    goc__preempt_check();
    goc__sync_enter();
}
