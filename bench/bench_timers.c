/* SPDX-License-Identifier: MIT */
/* timers: n goroutines each sleep a random 1..max ms, then report it on
 * a WaitGroup; wall time, overshoot (wall - max) and the lateness of each
 * sleep.  -report p99 makes the p99 lateness the value.
 * Twin: bench/go/timers. */
#include <stdint.h>
#include <string.h>

#include <goc.h>

#include "bench.h"

static long n, max_ms;
static int64_t *dur, *late, *began;
static int64_t start;
static goc_wg wg;

static void sleeper(void *arg)
{
    long i = (long)(intptr_t)arg;
    int64_t t0 = goc_now();
    began[i] = t0 - start;
    goc_sleep(dur[i]);
    late[i] = goc_now() - t0 - dur[i];
    goc_wg_done(&wg);
}

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static int p99_report;

static void bench_main(void *arg)
{
    (void)arg;
    uint64_t r = 1; /* the same distribution as the twin's, not the same
                       numbers: uniform in 1..max ms */
    for (long i = 0; i < n; i++) {
        r = r * 6364136223846793005ULL + 1442695040888963407ULL;
        dur[i] = (int64_t)(1 + (r >> 33) % (uint64_t)max_ms) *
                 GOC_MILLISECOND;
    }
    goc_wg_add(&wg, n);
    start = goc_now();
    for (long i = 0; i < n; i++)
        if (goc_go(sleeper, (void *)(intptr_t)i) != 0)
            exit(1);
    int64_t spawn_el = goc_now() - start;
    goc_wg_wait(&wg);
    int64_t el = goc_now() - start;
    int64_t last = 0;
    for (long i = 0; i < n; i++)
        if (began[i] > last)
            last = began[i];
    qsort(late, (size_t)n, sizeof *late, cmp64);
#define PCT(p) ((double)late[(long)((p) * (double)(n - 1))] / 1e6)
    double wall = (double)el / 1e6;
    if (p99_report) {
        printf("RESULT name=timers_p99 metric=late_p99_ms value=%.3f "
               "wall_ms=%.2f n=%ld gomaxprocs=%d\n",
               PCT(0.99), wall, n, goc_maxprocs(0));
        return;
    }
    printf("RESULT name=timers metric=wall_ms value=%.2f overshoot_ms=%.2f "
           "late_p50_ms=%.3f late_p99_ms=%.3f late_max_ms=%.3f "
           "spawn_loop_ms=%.2f last_start_ms=%.2f n=%ld gomaxprocs=%d "
           "peak_rss_kb=%ld\n",
           wall, wall - (double)max_ms, PCT(0.5), PCT(0.99), PCT(1.0),
           (double)spawn_el / 1e6, (double)last / 1e6, n, goc_maxprocs(0),
           bench_vm("VmHWM"));
}

int main(int argc, char **argv)
{
    n = bench_flag(argc, argv, "n", 100000);
    max_ms = bench_flag(argc, argv, "max", 100);
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], "-report") == 0 && strcmp(argv[i + 1], "p99") == 0)
            p99_report = 1;
    dur = calloc((size_t)n, sizeof *dur);
    late = calloc((size_t)n, sizeof *late);
    began = calloc((size_t)n, sizeof *began);
    if (dur == NULL || late == NULL || began == NULL)
        return 1;
    int rc = goc_run(bench_main, NULL);
    free(dur);
    free(late);
    free(began);
    return rc == 0 ? 0 : 1;
}
