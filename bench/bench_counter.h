/* SPDX-License-Identifier: MIT */
/* bench_counter.h - the driver of the shared-counter benchmarks (mutex,
 * atomic): -g goroutines add n increments in all to one counter, each
 * running `worker(per)`; main waits with a WaitGroup.  Twin:
 * bench/go/mutex (its -mode picks mutex or atomic). */
#ifndef GOC_BENCH_COUNTER_H
#define GOC_BENCH_COUNTER_H

#include <goc.h>

#include "bench.h"

static long per;           /* increments per goroutine */
static goc_wg counter_wg;

static void counter_worker(void *arg);   /* defined by the benchmark */
static long counter_value(void);         /* the counter at the end */

struct counter_run {
    const char *name;
    long n, g;
};

static void counter_main(void *arg)
{
    struct counter_run *r = arg;
    per = r->n / r->g;
    double t0 = bench_now();
    for (long i = 0; i < r->g; i++)
        if (goc_wg_go(&counter_wg, counter_worker, NULL) != 0)
            exit(1);
    goc_wg_wait(&counter_wg);
    double el = bench_now() - t0;
    long total = per * r->g;
    if (counter_value() != total) {
        fprintf(stderr, "bad counter\n");
        exit(1);
    }
    printf("RESULT name=%s metric=ns_per_op value=%.2f n=%ld goroutines=%ld "
           "gomaxprocs=%d\n", r->name, el * 1e9 / (double)total, total, r->g,
           goc_maxprocs(0));
}

static int counter_bench(const char *name, int argc, char **argv)
{
    struct counter_run r = {name, bench_flag(argc, argv, "n", 10000000),
                            bench_flag(argc, argv, "g", 8)};
    if (r.g < 1)
        r.g = 1;
    return goc_run(counter_main, &r) == 0 ? 0 : 1;
}

#endif /* GOC_BENCH_COUNTER_H */
