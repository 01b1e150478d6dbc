/* SPDX-License-Identifier: MIT */
/* yield: two goroutines (main and one other) hand the only P back and forth
 * with goc_yield, n yields in all.  Twin: bench/go/yield (runtime.Gosched). */
#include <stdatomic.h>

#include <goc.h>

#include "bench.h"

static long n;
static atomic_int child_done;

static void child(void *arg)
{
    (void)arg;
    for (long i = 0; i < n / 2; i++)
        goc_yield();
    atomic_store(&child_done, 1);
}

static void bench_main(void *arg)
{
    (void)arg;
    double t0 = bench_now();
    if (goc_go(child, NULL) != 0)
        exit(1);
    for (long i = 0; i < n / 2; i++)
        goc_yield();
    while (!atomic_load(&child_done))
        goc_yield();
    double el = bench_now() - t0;
    printf("RESULT name=yield metric=ns_per_yield value=%.1f n=%ld "
           "gomaxprocs=%d\n",
           el * 1e9 / (double)n, n, goc_maxprocs(0));
}

int main(int argc, char **argv)
{
    n = bench_flag(argc, argv, "n", 10000000);
    goc_maxprocs(1);
    return goc_run(bench_main, NULL) == 0 ? 0 : 1;
}
