/* SPDX-License-Identifier: MIT */
/*
 * hello_goroutines.c - tour step 1: the output of 1,000 goroutines is not
 * in the order they were started.
 *
 * The Go program this mirrors:
 *
 *     for i := 0; i < 1000; i++ {
 *         go func(i int) { fmt.Println("hello from goroutine", i) }(i)
 *     }
 *     wg.Wait()
 *
 * `go f(x)` is goc_go(f, x).  Goroutine i prints its index; the main
 * goroutine waits for all of them and then checks the order the lines came
 * out in.  Why that order is not 0, 1, 2, ... (printed at the end too):
 *
 *   - M:N scheduling.  Goroutines run on GOMAXPROCS OS threads at once.  A
 *     goroutine started by goc_go may run on another thread immediately,
 *     while main is still starting the rest; two threads print in parallel.
 *   - runnext.  goc_go puts the new goroutine in its P's "runnext" slot,
 *     bumping the previous occupant to the tail of the local run queue, so
 *     the most recently started goroutine is the next one to run (Go does
 *     the same: a goroutine you just started usually runs soon, its data is
 *     hot in the cache).
 *   - Bounded queues and work stealing.  A P's local queue holds 256
 *     goroutines; past that half of it moves to the global queue.  An idle
 *     P steals half of a busy P's queue, so each thread works through a
 *     different slice of the indices.
 *
 * main waits with a WaitGroup, as the Go program does: goc_wg_add(&wg, N)
 * before starting them (wg.Add), goc_wg_done(&wg) at the end of each
 * (defer wg.Done()), goc_wg_wait(&wg) (wg.Wait) parks main until the
 * counter is back to zero.
 */
#define _POSIX_C_SOURCE 200809L /* flockfile */

#include <goc.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define N 1000

static goc_wg wg;            /* sync.WaitGroup: the zero value is ready */
static int printed[N];       /* printed[k]: index of the k-th line */
static int nprinted;         /* guarded by the stdout lock */

static void hello(void *arg)
{
    int i = (int)(intptr_t)arg;
    /* Record the line's position and print it under stdout's own lock, so
     * the recorded order is exactly the order of the lines.  (A thread-level
     * lock is fine here: nothing inside it can switch goroutines.  Around
     * anything that can block, a goc_mutex is the lock to use.) */
    flockfile(stdout);
    printed[nprinted++] = i;
    printf("hello from goroutine %3d (goc_id %lld)\n", i,
           (long long)goc_id());
    funlockfile(stdout);
    goc_wg_done(&wg);
}

static void main_fn(void *arg)
{
    (void)arg;
    printf("main: starting %d goroutines on GOMAXPROCS=%d threads; "
           "each prints its index\n",
           N, goc_maxprocs(0));
    goc_wg_add(&wg, N);
    for (int i = 0; i < N; i++) {
        int rc = goc_go(hello, (void *)(intptr_t)i);
        if (rc < 0) {
            fprintf(stderr, "goc_go: %s\n", goc_strerror(rc));
            exit(1);
        }
    }

    goc_wg_wait(&wg); /* wg.Wait() */

    /* Every index exactly once?  And how far from the spawn order? */
    static unsigned char seen[N];
    int dup = 0, out_of_order = 0, descents = 0;
    for (int k = 0; k < nprinted; k++) {
        int i = printed[k];
        if (seen[i]++)
            dup++;
        if (i != k)
            out_of_order++; /* the k-th line is not goroutine k */
        if (k > 0 && i < printed[k - 1])
            descents++;     /* a lower index after a higher one */
    }

    /* Where did the last goroutine started come out? */
    int last_pos = 0, overtaken = 0;
    for (int k = 0; k < nprinted; k++) {
        if (printed[k] == N - 1) {
            last_pos = k;
            break;
        }
    }
    for (int k = last_pos + 1; k < nprinted; k++)
        overtaken++; /* every later line is a goroutine started earlier */

    int procs = goc_maxprocs(0);
    printf("\nwhy not 0, 1, 2, ...?\n");
    if (procs > 1)
        printf("  - M:N scheduling: %d threads ran goroutines in parallel, "
               "another thread\n"
               "    printing while main was still starting goroutines;\n",
               procs);
    else
        printf("  - GOMAXPROCS=1: no parallelism, the order comes from the "
               "run queues alone;\n");
    printf("  - runnext: goc_go puts the newest goroutine in its P's "
           "runnext slot, ahead of\n"
           "    the queue; index %d, started last, was line %d of %d, "
           "before %d older ones;\n"
           "  - a P's local queue holds 256: when full, half moves to the "
           "global queue, and\n"
           "    an idle P steals half of a busy P's queue (work "
           "stealing).\n",
           N - 1, last_pos + 1, nprinted, overtaken);
    printf("summary: %d of %d indices printed%s; out of spawn order: %s "
           "(%d lines not at their spawn position, %d times a lower index "
           "followed a higher one)\n",
           nprinted, N, dup == 0 ? ", each exactly once" : " WITH DUPLICATES",
           out_of_order > 0 ? "yes" : "no", out_of_order, descents);
    if (nprinted != N || dup != 0)
        exit(1);
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
