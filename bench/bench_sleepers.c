/* SPDX-License-Identifier: MIT */
/* sleepers: the course's stress exercise as a new user writes it: n
 * goroutines that each sleep one second, then exit; main waits for all.
 * The wall time (ideally just over 1 s) and the peak RSS.  Twin:
 * bench/go/sleepers. */
#include <goc.h>

#include "bench.h"

static goc_wg wg;

static void sleeper(void *arg)
{
    (void)arg;
    goc_sleep(GOC_SECOND);
    goc_wg_done(&wg);
}

static void bench_main(void *arg)
{
    long n = *(long *)arg;
    double t0 = bench_now();
    goc_wg_add(&wg, n);
    for (long i = 0; i < n; i++)
        BENCH_MUST(goc_go(sleeper, NULL));
    double spawned = bench_now() - t0;
    goc_wg_wait(&wg);
    double el = bench_now() - t0;
    printf("RESULT name=sleepers metric=wall_ms value=%.1f n=%ld "
           "spawn_ms=%.1f peak_rss_kb=%ld gomaxprocs=%d\n",
           el * 1e3, n, spawned * 1e3, bench_vm("VmHWM"), goc_maxprocs(0));
}

int main(int argc, char **argv)
{
    long n = bench_flag(argc, argv, "n", 100000);
    return goc_run(bench_main, &n) == 0 ? 0 : 1;
}
