/* SPDX-License-Identifier: MIT */
/*
 * gomaxprocs1.c - tour step 3: GOMAXPROCS=1 and cooperative scheduling.
 *
 * GOMAXPROCS is the number of Ps: the number of goroutines that can run at
 * the same instant.  With one P, goroutines take turns on one thread, and a
 * running goroutine gives the P up only at a scheduling point: here
 * goc_yield (runtime.Gosched), returning, or (later) blocking on a channel,
 * mutex or timer.  The program shows, in order:
 *
 *   1. GOMAXPROCS=1, A and B each do 5 steps without yielding: each runs
 *      to completion before the other starts.  B, started last, runs first:
 *      goc_go puts the newest goroutine in the P's runnext slot.
 *   2. GOMAXPROCS=1, the same with a goc_yield after every step: the steps
 *      interleave exactly at the yields, B1 A1 B2 A2 ...
 *   3. GOMAXPROCS=1, main starts a "ticker" goroutine (it counts and yields
 *      in a loop) and then spins for a fixed 5 ms without yielding: the
 *      ticker does not tick once until main yields.
 *   4. GOMAXPROCS=2, the same: the ticker runs on the second P while main
 *      spins, and ticks thousands of times.
 *
 * About preemption: Go (since 1.14) preempts a goroutine that has run for
 * more than 10 ms, and goc's sysmon is specified to do the same.  The spin
 * here is 5 ms, well under that, so step 3 stays purely cooperative either
 * way; spin for a second instead and, once preemption exists, the ticker
 * gets the P every ~10 ms even with GOMAXPROCS=1.
 *
 * The goroutines share state through C11 atomics only, and main waits for
 * the others with an atomic counter and goc_yield rather than a WaitGroup,
 * so that every scheduling point in the program is one you can see.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */

#include <goc.h>

#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* ------------------------------------------------------------------------
 * Steps 1 and 2: two goroutines, A and B, recording their steps.
 * ------------------------------------------------------------------------ */

#define STEPS 5

static char trace_letter[2 * STEPS];
static int trace_step[2 * STEPS];
static _Atomic int trace_len;
static _Atomic int ab_done;

struct ab_arg {
    char letter;
    bool yield; /* goc_yield after each step? */
};

static void ab_worker(void *p)
{
    const struct ab_arg *a = p;
    for (int i = 1; i <= STEPS; i++) {
        int k = atomic_fetch_add(&trace_len, 1);
        trace_letter[k] = a->letter;
        trace_step[k] = i;
        if (a->yield)
            goc_yield(); /* the only point where B can get the P */
    }
    atomic_fetch_add(&ab_done, 1);
}

static void run_ab(bool yield)
{
    /* Arguments must outlive the goroutines that read them; static
     * storage makes that obvious (this function also waits for both). */
    static struct ab_arg a, b;
    a = (struct ab_arg){'A', yield};
    b = (struct ab_arg){'B', yield};
    atomic_store(&trace_len, 0);
    atomic_store(&ab_done, 0);
    if (goc_go(ab_worker, &a) < 0 || goc_go(ab_worker, &b) < 0) {
        fprintf(stderr, "goc_go failed\n");
        exit(1);
    }
    while (atomic_load(&ab_done) < 2)
        goc_yield();
    printf("   order of steps:");
    for (int k = 0; k < atomic_load(&trace_len); k++)
        printf(" %c%d", trace_letter[k], trace_step[k]);
    printf("\n");
}

/* ------------------------------------------------------------------------
 * Steps 3 and 4: a ticker that counts and yields, against a spinning main.
 * ------------------------------------------------------------------------ */

#define SPIN_MS 5

static atomic_long ticks;
static atomic_bool stop_ticker;
static _Atomic int ticker_done;

static void ticker(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop_ticker)) {
        atomic_fetch_add(&ticks, 1);
        goc_yield();
    }
    atomic_fetch_add(&ticker_done, 1);
}

static long elapsed_ns(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (t.tv_sec - t0->tv_sec) * 1000000000L + (t.tv_nsec - t0->tv_nsec);
}

/* Start the ticker, spin SPIN_MS without any scheduling point, and report
 * how often the ticker ran meanwhile.  Returns the ticks during the spin. */
static long spin_against_ticker(void)
{
    atomic_store(&ticks, 0);
    atomic_store(&stop_ticker, false);
    atomic_store(&ticker_done, 0);
    if (goc_go(ticker, NULL) < 0) {
        fprintf(stderr, "goc_go failed\n");
        exit(1);
    }

    /* Spin: read the clock and the ticker's count, never yield.  (Reading
     * the clock is a vDSO call, not a scheduling point.) */
    long sample[SPIN_MS];
    long iterations = 0;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int ms = 1; ms <= SPIN_MS; ms++) {
        while (elapsed_ns(&t0) < ms * 1000000L)
            iterations++;
        sample[ms - 1] = atomic_load(&ticks);
    }
    long during = atomic_load(&ticks);

    printf("   main spun %d ms (%ld loop iterations) without yielding;\n"
           "   ticker's count seen at 1..%d ms:",
           SPIN_MS, iterations, SPIN_MS);
    for (int i = 0; i < SPIN_MS; i++)
        printf(" %ld", sample[i]);
    printf("\n");

    goc_yield(); /* one scheduling point */
    printf("   after one goc_yield by main the count is %ld\n",
           atomic_load(&ticks));

    atomic_store(&stop_ticker, true);
    while (atomic_load(&ticker_done) < 1)
        goc_yield();
    return during;
}

static void main_fn(void *arg)
{
    (void)arg;
    int prev = goc_maxprocs(1);
    printf("goc_maxprocs(1): GOMAXPROCS %d -> %d: one P, so one goroutine "
           "runs at a time\n\n",
           prev, goc_maxprocs(0));

    printf("1. A and B, %d steps each, no goc_yield (GOMAXPROCS=1):\n", STEPS);
    run_ab(false);
    printf("   each ran to completion: nothing made it give the P up.  B "
           "was started\n"
           "   last but ran first: goc_go puts the newest goroutine in the "
           "P's runnext slot.\n\n");

    printf("2. A and B with goc_yield after every step (GOMAXPROCS=1):\n");
    run_ab(true);
    printf("   they alternate exactly at the yields: goc_yield puts the "
           "caller at the back\n"
           "   of the run queue and hands the only P to the next "
           "goroutine.\n\n");

    printf("3. main spins while a ticker goroutine is runnable "
           "(GOMAXPROCS=1):\n");
    long one = spin_against_ticker();
    printf("   the ticker could not run at all while main held the only "
           "P: scheduling\n"
           "   is cooperative until a goroutine reaches a scheduling "
           "point.\n\n");
    if (one != 0) {
        fprintf(stderr, "unexpected: the ticker ran %ld times on the only P "
                        "while main spun\n", one);
        exit(1);
    }

    prev = goc_maxprocs(2);
    printf("4. the same with goc_maxprocs(2): GOMAXPROCS %d -> %d\n", prev,
           goc_maxprocs(0));
    long two = spin_against_ticker();
    printf("   %s\n",
           two > 0 ? "the ticker ran on the second P, in parallel with the "
                     "spinning main: both made progress."
                   : "the ticker did not get the second P in time (the "
                     "machine may be busy); run it again.");
    printf("\nsummary: ticks during the spin: %ld with GOMAXPROCS=1, %ld "
           "with GOMAXPROCS=2\n", one, two);
}

int main(void)
{
    int rc = goc_run(main_fn, NULL);
    if (rc < 0) {
        fprintf(stderr, "goc_run: %s\n", goc_strerror(rc));
        return 1;
    }
    return 0;
}
