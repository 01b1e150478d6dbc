/* SPDX-License-Identifier: MIT */
/*
 * counter_race.c - the tour: `counter++` from many goroutines at once is
 * a data race (build with -fsanitize=thread to see TSan report it), and
 * three fixes, each timed: a goc_mutex around the increment (sync.Mutex),
 * an atomic counter (sync/atomic), and a goroutine that owns the counter
 * and takes increments from a channel ("share memory by communicating").
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */

#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

#include <goc.h>

#include "must.h"

#define G 8
#define N 100000

static long racy;
static long guarded; /* only touched with mu held */
static goc_mutex mu;
static atomic_long atomic_counter;
static goc_chan *incr;
static goc_wg wg;

static void racy_worker(void *arg)
{
    (void)arg;
    for (int i = 0; i < N / 10; i++) {
        long v = racy; /* read, add, write: increments get lost */
        if (i % 64 == 0)
            goc_yield(); /* widen the window, as a busy program would */
        racy = v + 1;
    }
}

static void mutex_worker(void *arg)
{
    (void)arg;
    for (int i = 0; i < N; i++) {
        goc_mutex_lock(&mu);
        guarded++;
        goc_mutex_unlock(&mu);
    }
}

static void atomic_worker(void *arg)
{
    (void)arg;
    for (int i = 0; i < N; i++)
        atomic_fetch_add(&atomic_counter, 1);
}

static void channel_worker(void *arg)
{
    (void)arg;
    for (int i = 0; i < N; i++)
        MUST(goc_chan_send(incr, NULL));
}

static long owned; /* touched only by owner() */
static void owner(void *arg)
{
    goc_chan *result = arg;
    while (goc_chan_recv(incr, NULL) == 0)
        owned++;
    MUST(goc_chan_send(result, &owned));
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Run G goroutines of fn and wait for them; returns ns per increment. */
static double run(void (*fn)(void *))
{
    double t0 = now();
    for (int g = 0; g < G; g++)
        MUST(goc_wg_go(&wg, fn, NULL));
    goc_wg_wait(&wg);
    return (now() - t0) * 1e9 / ((double)G * N);
}

static void tour(void *arg)
{
    (void)arg;
    run(racy_worker);
    printf("counter++ from %d goroutines:  %ld (want %d; lost updates%s)\n",
           G, racy, G * N / 10,
           racy == G * N / 10 ? " happened not to show" : "");
    printf("%d goroutines x %d increments with each fix (GOMAXPROCS=%d):\n",
           G, N, goc_maxprocs(0));

    double t = run(mutex_worker);
    printf("fix 1, a goc_mutex:            %ld  %6.1f ns per increment\n",
           guarded, t);
    t = run(atomic_worker);
    printf("fix 2, atomic_fetch_add:       %ld  %6.1f ns per increment\n",
           atomic_load(&atomic_counter), t);

    incr = goc_chan_make(0, 64);
    goc_chan *result = goc_chan_make(sizeof(long), 0);
    MUST(goc_go(owner, result));
    t = run(channel_worker);
    MUST(goc_chan_close(incr)); /* the owner sees the end and reports */
    long total;
    MUST(goc_chan_recv(result, &total));
    printf("fix 3, one owner + a channel:  %ld  %6.1f ns per increment\n",
           total, t);
    goc_chan_release(incr);
    goc_chan_release(result);
    printf("the atomic is cheapest for a lone counter; a mutex guards any "
           "amount of state;\n"
           "a channel hands the state to one goroutine, which pays a "
           "hand-off per message\n");
}

int main(void)
{
    return goc_run(tour, NULL) == 0 ? 0 : 1;
}
