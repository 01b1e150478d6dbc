/* SPDX-License-Identifier: MIT */
/* preempt: how late a light goroutine gets its ticks while 2*GOMAXPROCS
 * goroutines compute without blocking.  The spinners repeat the same
 * integer step until a stop flag is set, calling goc_checkpoint each
 * iteration (--pure: without it; for asynchronous preemption, not part
 * of make bench).  The main goroutine reads a ticker of -period_us
 * (1000) until -n (1000) of its due times have passed, and records for
 * each due time T_k = start + k*period how late it was received: the
 * time from T_k to the receive of the first tick sent at or after T_k
 * (a tick the reader has not taken makes the ticker drop the next ones,
 * as in Go: those due times count until the next receive).  The value
 * is the p99 lateness in microseconds; spin_mips is the spinners'
 * iterations per second, in millions.  Bounded if preemption is broken:
 * a plain thread sets the stop flag -limit (10) seconds after the start
 * (keep it above n * period), and the line then says watchdog=1 and
 * shows the starvation.
 * Twin: bench/go/preempt (a plain loop: Go preempts it asynchronously). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <goc.h>

#include "bench.h"

static long n, period_us, spinners, limit_s;
static int pure;
static int64_t *late; /* late[k - 1]: lateness of due time k, ns */
static goc_wg wg; /* the spinners (goc_wg_go) */
static atomic_int stop, watchdog_fired;
static atomic_ulong spun;      /* iterations, all spinners */
static atomic_ulong spin_sink; /* their values: the work cannot be dropped */

/* One iteration's work, the twin's too: a 64-bit LCG step and an
 * xorshift, a chain of dependent operations whose result is kept. */
static inline uint64_t spin_step(uint64_t x)
{
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    return x ^ (x >> 29);
}

static void spin_done(uint64_t x, unsigned long iters)
{
    atomic_fetch_add(&spun, iters);
    atomic_fetch_xor(&spin_sink, x);
}

/* Two loops rather than one with a test of `pure`: the only difference
 * between them is the checkpoint. */
static void spin_checkpoint(void *arg)
{
    uint64_t x = (uint64_t)(uintptr_t)arg + 1;
    unsigned long iters = 0;
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        x = spin_step(x);
        iters++;
        goc_checkpoint();
    }
    spin_done(x, iters);
}

static void spin_pure(void *arg)
{
    uint64_t x = (uint64_t)(uintptr_t)arg + 1;
    unsigned long iters = 0;
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        x = spin_step(x);
        iters++;
    }
    spin_done(x, iters);
}

/* A plain thread, so that it runs even if no goroutine can: after limit_s
 * seconds it stops the spinners.  Detached; the process ends it. */
static void *watchdog(void *arg)
{
    (void)arg;
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += limit_s;
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL) != 0)
        ;
    if (!atomic_load(&stop)) {
        atomic_store(&watchdog_fired, 1);
        atomic_store(&stop, 1);
    }
    return NULL;
}

/* Read the ticker until due time n is covered; returns the ticks read. */
static long read_ticks(int64_t start, int64_t period)
{
    goc_ticker *tk = goc_ticker_new(period);
    if (tk == NULL)
        exit(1);
    long k = 1, got = 0; /* k: the first due time not yet covered */
    while (k <= n) {
        int64_t sent;
        BENCH_MUST(goc_chan_recv(goc_ticker_chan(tk), &sent));
        int64_t now = goc_now();
        got++;
        for (; k <= n && start + k * period <= sent; k++)
            late[k - 1] = now - (start + k * period);
    }
    goc_ticker_free(tk);
    return got;
}

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static void bench_main(void *arg)
{
    (void)arg;
    int procs = goc_maxprocs(0);
    long g = spinners > 0 ? spinners : 2L * procs;
    double t0 = bench_now();
    for (long i = 0; i < g; i++)
        if (goc_wg_go(&wg, pure ? spin_pure : spin_checkpoint,
                      (void *)(intptr_t)i) != 0)
            exit(1);
    /* Before the ticker is made: its due times are at or after ours. */
    int64_t start = goc_now();
    long got = read_ticks(start, period_us * 1000);
    atomic_store(&stop, 1);
    goc_wg_wait(&wg);
    double el = bench_now() - t0;
    qsort(late, (size_t)n, sizeof *late, cmp64);
#define PCT(p) ((double)late[(long)((p) * (double)(n - 1))] / 1e3)
    printf("RESULT name=preempt metric=tick_p99_us value=%.1f p50_us=%.1f "
           "max_us=%.1f ticks=%ld received=%ld period_us=%ld spinners=%ld "
           "spin=%s spin_mips=%.1f watchdog=%d gomaxprocs=%d\n",
           PCT(0.99), PCT(0.5), PCT(1.0), n, got, period_us, g,
           pure ? "pure" : "checkpoint",
           (double)atomic_load(&spun) / el / 1e6,
           atomic_load(&watchdog_fired), procs);
}

int main(int argc, char **argv)
{
    n = bench_flag(argc, argv, "n", 1000);
    period_us = bench_flag(argc, argv, "period_us", 1000);
    spinners = bench_flag(argc, argv, "g", 0);
    limit_s = bench_flag(argc, argv, "limit", 10);
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--pure") == 0 || strcmp(argv[i], "-pure") == 0)
            pure = 1;
    if (n < 1 || period_us < 1 || limit_s < 1)
        return 1;
    late = calloc((size_t)n, sizeof *late);
    pthread_t wd;
    if (late == NULL || pthread_create(&wd, NULL, watchdog, NULL) != 0)
        return 1;
    pthread_detach(wd);
    int rc = goc_run(bench_main, NULL);
    free(late);
    return rc == 0 ? 0 : 1;
}
