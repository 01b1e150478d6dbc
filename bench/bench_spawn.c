/* SPDX-License-Identifier: MIT */
/* spawn: start n goroutines that each call goc_wg_done; wait for all.
 * Twin: bench/go/spawn. */
#include <goc.h>

#include "bench.h"

static goc_wg wg;

static void child(void *arg)
{
    (void)arg;
    goc_wg_done(&wg);
}

static void bench_main(void *arg)
{
    long n = *(long *)arg;
    double t0 = bench_now();
    goc_wg_add(&wg, n);
    for (long i = 0; i < n; i++)
        if (goc_go(child, NULL) != 0)
            exit(1);
    goc_wg_wait(&wg);
    double el = bench_now() - t0;
    printf("RESULT name=spawn metric=ns_per_goroutine value=%.1f n=%ld "
           "total_ms=%.2f gomaxprocs=%d peak_rss_kb=%ld\n",
           el * 1e9 / (double)n, n, el * 1e3, goc_maxprocs(0),
           bench_vm("VmHWM"));
}

int main(int argc, char **argv)
{
    long n = bench_flag(argc, argv, "n", 1000000);
    return goc_run(bench_main, &n) == 0 ? 0 : 1;
}
