/* SPDX-License-Identifier: MIT */
/*
 * waitgroup.c - the tour: waiting for goroutines with goc_wg
 * (sync.WaitGroup).
 *
 *     var wg sync.WaitGroup
 *     for i := 1; i <= 5; i++ {
 *         wg.Add(1)
 *         go func(i int) { defer wg.Done(); results[i] = work(i) }(i)
 *     }
 *     wg.Wait()
 *
 * goc_wg_add before goc_go (never inside the goroutine: main could reach
 * Wait first and see zero), goc_wg_done when a goroutine ends,
 * goc_wg_wait to park until the counter is zero.  goc_wg_go(wg, fn, arg)
 * does all three (Go 1.25's wg.Go).  Once Wait has returned the same wait
 * group can count the next round.  Each goroutine writes its own slot of
 * results, and Wait returning means every write is visible to main.
 */
#include <stdio.h>

#include <goc.h>

#include "must.h"

#define WORKERS 5

static goc_wg wg;
static long results[WORKERS + 1];

static long work(long i)
{
    long s = 0;
    for (long k = 1; k <= i * 100000; k++)
        s += k % 7;
    return s;
}

static void worker(void *arg)
{
    long i = (long)(intptr_t)arg;
    results[i] = work(i);
    goc_wg_done(&wg); /* defer wg.Done() */
}

static void worker_go(void *arg)
{
    long i = (long)(intptr_t)arg;
    results[i] = -work(i);
}

static void tour(void *arg)
{
    (void)arg;
    for (long i = 1; i <= WORKERS; i++) {
        goc_wg_add(&wg, 1);
        MUST(goc_go(worker, (void *)(intptr_t)i));
    }
    goc_wg_wait(&wg);
    printf("round 1, Add/go/Done/Wait:");
    for (int i = 1; i <= WORKERS; i++)
        printf(" %ld", results[i]);
    printf("\n");

    for (long i = 1; i <= WORKERS; i++)
        MUST(goc_wg_go(&wg, worker_go, (void *)(intptr_t)i)); /* reused */
    goc_wg_wait(&wg);
    printf("round 2, goc_wg_go/Wait:  ");
    for (int i = 1; i <= WORKERS; i++)
        printf(" %ld", results[i]);
    printf("\nWait returned after every goroutine of its round had called "
           "Done, and their writes were visible\n");
}

int main(void)
{
    return goc_run(tour, NULL) == 0 ? 0 : 1;
}
