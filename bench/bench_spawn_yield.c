/* SPDX-License-Identifier: MIT */
/* spawn_yield: main starts n goroutines that each yield once and finish,
 * then waits (yielding) until all have counted themselves done.
 * Twin: bench/go/spawn_yield. */
#include <stdatomic.h>

#include <goc.h>

#include "bench.h"

static long n;
static atomic_long done;

static void child(void *arg)
{
    (void)arg;
    goc_yield();
    atomic_fetch_add(&done, 1);
}

static void bench_main(void *arg)
{
    (void)arg;
    double t0 = bench_now();
    for (long i = 0; i < n; i++)
        if (goc_go(child, NULL) != 0)
            exit(1);
    while (atomic_load(&done) < n)
        goc_yield();
    double el = bench_now() - t0;
    printf("RESULT name=spawn_yield metric=ns_per_goroutine value=%.1f n=%ld "
           "total_ms=%.2f gomaxprocs=%d peak_rss_kb=%ld\n",
           el * 1e9 / (double)n, n, el * 1e3, goc_maxprocs(0),
           bench_vm("VmHWM"));
}

int main(int argc, char **argv)
{
    n = bench_flag(argc, argv, "n", 1000000);
    return goc_run(bench_main, NULL) == 0 ? 0 : 1;
}
