/* SPDX-License-Identifier: MIT */
/*
 * synctest.c - the tour: the course's timeout, cancellation and ticker
 * examples as deterministic tests (Go's testing/synctest), and a race by
 * order found by searching seeds.
 *
 * Each test runs in a bubble (goc_synctest): time is virtual and jumps to
 * the next timer whenever every goroutine waits, so a test that covers
 * hours takes milliseconds, and what it asserts about time is exact.
 * Every scheduling choice is drawn from a seed: the last part runs a
 * hand-rolled wait with a lost wake-up under many seeds, finds the seed
 * that loses it, and replays that seed to show the same failure again.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <goc.h>

#include "must.h"

#define SEC GOC_SECOND
#define MIN (60 * SEC)
#define HOUR (60 * MIN)

/* Virtual time since the bubble began, in seconds. */
static double vt_s(void)
{
    return (double)(goc_now() - GOC_SYNCTEST_EPOCH) / SEC;
}

static double real_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* A check inside a bubble: a failed one fails the bubble. */
#define CHECK(cond)                                                       \
    do {                                                                  \
        if (!(cond)) {                                                    \
            printf("   check failed: %s (line %d)\n", #cond, __LINE__);   \
            return 1;                                                     \
        }                                                                 \
    } while (0)

/* ---- 1. a timeout: context.WithTimeout against a slow call ---- */

static void slow_call(void *arg)
{
    goc_chan *res = arg;
    goc_sleep(30 * SEC);
    int answer = 42;
    (void)!goc_chan_try_send(res, &answer); /* nobody reads any more */
    goc_chan_release(res);
}

static int test_timeout(void *arg)
{
    (void)arg;
    goc_ctx *ctx = goc_ctx_with_timeout(NULL, 5 * SEC);
    goc_chan *res = goc_chan_make(sizeof(int), 1);
    goc_chan_retain(res); /* one reference for slow_call */
    MUST(goc_go(slow_call, res));
    int v;
    goc_case cs[2] = {GOC_RECV_CASE(res, &v),
                      GOC_RECV_CASE(goc_ctx_done(ctx), NULL)};
    int which = goc_select(cs, 2);
    printf("   the call gave up after %.0f s: %s\n", vt_s(),
           goc_err_name(goc_ctx_err(ctx)));
    CHECK(which == 1 && goc_ctx_err(ctx) == GOC_ETIMEDOUT);
    CHECK(vt_s() == 5.0); /* exactly: no scheduler jitter in a bubble */
    goc_ctx_release(ctx);
    goc_chan_release(res);
    return 0; /* the bubble waits for slow_call's 30 s */
}

/* ---- 2. cancellation: a worker tree stopped by cancel ---- */

static _Atomic int stopped;

static void worker(void *arg)
{
    goc_ctx *ctx = arg;
    goc_ticker *t = goc_ticker_new(SEC);
    for (;;) {
        goc_case cs[2] = {GOC_RECV_CASE(goc_ticker_chan(t), NULL),
                          GOC_RECV_CASE(goc_ctx_done(ctx), NULL)};
        if (goc_select(cs, 2) == 1)
            break;
    }
    goc_ticker_stop(t);
    goc_ticker_free(t);
    atomic_fetch_add(&stopped, 1);
    goc_ctx_release(ctx);
}

static int test_cancel(void *arg)
{
    (void)arg;
    atomic_store(&stopped, 0);
    goc_ctx *root = goc_ctx_with_cancel(NULL);
    for (int i = 0; i < 4; i++) {
        goc_ctx *child = goc_ctx_with_cancel(root);
        MUST(goc_go(worker, child));
    }
    goc_sleep(10 * MIN); /* the workers tick every second meanwhile */
    goc_ctx_cancel(root);
    goc_synctest_wait(); /* every worker has seen it and exited */
    printf("   cancelled at %.0f s; %d of 4 workers stopped, %d goroutines "
           "left\n",
           vt_s(), atomic_load(&stopped), goc_num_goroutine() - 1);
    CHECK(atomic_load(&stopped) == 4 && goc_num_goroutine() == 1);
    goc_ctx_release(root);
    return 0;
}

/* ---- 3. a ticker: a day of hourly ticks ---- */

static int test_ticker(void *arg)
{
    (void)arg;
    goc_ticker *t = goc_ticker_new(HOUR);
    int late = 0;
    for (int i = 1; i <= 24; i++) {
        int64_t at;
        MUST(goc_chan_recv(goc_ticker_chan(t), &at));
        late += at - GOC_SYNCTEST_EPOCH != i * HOUR;
    }
    goc_ticker_stop(t);
    goc_ticker_free(t);
    printf("   24 ticks, %d late; the day ended at %.0f h\n", late,
           vt_s() / 3600);
    CHECK(late == 0 && vt_s() == 24 * 3600.0);
    return 0;
}

/* ---- 4. a lost wake-up, found by seed ---- */

static _Atomic bool ready;
static goc_chan *wake;
static goc_mutex log_mu;
static int waits;

/* The bug: between its look at `ready` and its receive, the waiter makes
 * a goc call; if the notifier runs in that window, its non-blocking send
 * finds nobody waiting and the wake-up is lost. */
static void waiter(void *arg)
{
    goc_wg *wg = arg;
    if (!atomic_load(&ready)) {
        goc_mutex_lock(&log_mu);
        waits++;
        goc_mutex_unlock(&log_mu);
        (void)!goc_chan_recv(wake, NULL);
    }
    goc_wg_done(wg);
}

static void notifier(void *arg)
{
    goc_wg *wg = arg;
    atomic_store(&ready, true);
    (void)!goc_chan_try_send(wake, NULL);
    goc_wg_done(wg);
}

static int test_wakeup(void *arg)
{
    (void)arg;
    atomic_store(&ready, false);
    wake = goc_chan_make(0, 0);
    goc_wg wg = {0};
    goc_wg_add(&wg, 2);
    MUST(goc_go(waiter, &wg));
    MUST(goc_go(notifier, &wg));
    goc_wg_wait(&wg);
    goc_chan_release(wake);
    return 0;
}

/* The fix: a buffered signal waits for its waiter. */
static void notifier_fixed(void *arg)
{
    goc_wg *wg = arg;
    atomic_store(&ready, true);
    MUST(goc_chan_send(wake, NULL)); /* cap 1: never blocks, never lost */
    goc_wg_done(wg);
}

static int test_wakeup_fixed(void *arg)
{
    (void)arg;
    atomic_store(&ready, false);
    wake = goc_chan_make(0, 1);
    goc_wg wg = {0};
    goc_wg_add(&wg, 2);
    MUST(goc_go(waiter, &wg));
    MUST(goc_go(notifier_fixed, &wg));
    goc_wg_wait(&wg);
    goc_chan_release(wake);
    return 0;
}

static int run(const char *title, int (*fn)(void *))
{
    printf("%s\n", title);
    double t0 = real_ms();
    goc_synctest_opts o = {.seed = 1};
    int rc = goc_synctest_run(&o, fn, NULL);
    printf("   %s in %.1f ms of real time\n", rc == 0 ? "passed" : "FAILED",
           real_ms() - t0);
    return rc;
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0); /* in order with the search's lines */
    int failed = 0;
    failed |= run("1. a timeout: a 30 s call under a 5 s context", test_timeout);
    failed |= run("2. cancellation: four workers ticking for 10 minutes, then "
                  "cancel",
                  test_cancel);
    failed |= run("3. a ticker: one tick an hour for a day", test_ticker);

    printf("4. a lost wake-up: search 100 seeds with extra yields at goc "
           "calls\n");
    double t0 = real_ms();
    goc_synctest_opts o = {.seed = 1, .yields = 4, .yield_odds = 2,
                           .quiet = true};
    int rc = goc_synctest_search(&o, 100, test_wakeup, NULL);
    printf("   seed %llu %s (%.0f ms, each seed in a child process)\n",
           (unsigned long long)o.seed_used,
           rc == GOC_EDEADLK ? "deadlocks: the wake-up was lost"
                             : "(none failed)",
           real_ms() - t0);
    if (rc != GOC_EDEADLK) {
        failed = 1;
    } else {
        /* Replay: the same seed, the same interleaving, the same end. */
        goc_synctest_opts again = {.seed = o.seed_used, .yields = 4,
                                   .yield_odds = 2, .quiet = true};
        int rc2 = goc_synctest_search(&again, 1, test_wakeup, NULL);
        printf("   replayed with GOC_SEED=%llu: %s\n",
               (unsigned long long)o.seed_used,
               rc2 == GOC_EDEADLK ? "the same deadlock" : "DIFFERENT");
        failed |= rc2 != GOC_EDEADLK;
    }
    printf("5. the fix (a buffered signal): the same 100 seeds\n");
    goc_synctest_opts fixed = {.seed = 1, .yields = 4, .yield_odds = 2,
                               .quiet = true};
    rc = goc_synctest_search(&fixed, 100, test_wakeup_fixed, NULL);
    printf("   %s\n", rc == 0 ? "all 100 pass" : "FAILED");
    failed |= rc != 0;
    printf("\nIn a bubble an hour of goc_sleep costs nothing, time is exact, "
           "and a\nschedule is a seed: a failure prints GOC_SEED=<n>, and the "
           "same seed\nreplays it.\n");
    printf("\nsummary: %s\n", failed ? "FAILED" : "ok");
    return failed ? 1 : 0;
}
