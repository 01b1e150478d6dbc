/* SPDX-License-Identifier: MIT */
/*
 * test_sync.h - helpers shared by the sync tests (test_sync_*.c): plain
 * threads that join a run, and a clock.
 */
#ifndef GOC_TEST_SYNC_H
#define GOC_TEST_SYNC_H

#include <pthread.h>
#include <time.h>

#include "test.h"

/* Plain threads running fn(arg) during a run.  threads_start returns once
 * each has made its first sync call, which makes deadlock detection count
 * it as a possible waker; until then main must not block waiting for it
 * (that would be reported as a deadlock: docs/design/scheduler.md), so it
 * yields until they are known. */
struct threads {
    pthread_t t[8];
    int n;
    void (*fn)(void *);
    void *arg;
    _Atomic int known;
    goc_wg finished;
};

static void *threads_main(void *p)
{
    struct threads *ts = p;
    goc_wg_add(&ts->finished, 0); /* a first sync call */
    atomic_fetch_add(&ts->known, 1);
    ts->fn(ts->arg);
    goc_wg_done(&ts->finished);
    return NULL;
}

static inline void threads_start(struct threads *ts, int n,
                                 void (*fn)(void *), void *arg)
{
    ASSERT(n <= (int)(sizeof ts->t / sizeof ts->t[0]));
    memset(ts, 0, sizeof *ts);
    ts->n = n;
    ts->fn = fn;
    ts->arg = arg;
    goc_wg_add(&ts->finished, n);
    for (int i = 0; i < n; i++)
        ASSERT_EQ(pthread_create(&ts->t[i], NULL, threads_main, ts), 0);
    while (atomic_load(&ts->known) < n)
        goc_yield();
}

/* Wait (as a goroutine: the thread is not blocked) until every thread has
 * returned from fn, then reap them. */
static inline void threads_join(struct threads *ts)
{
    goc_wg_wait(&ts->finished);
    for (int i = 0; i < ts->n; i++)
        ASSERT_EQ(pthread_join(ts->t[i], NULL), 0);
}

static inline int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

#endif /* GOC_TEST_SYNC_H */
