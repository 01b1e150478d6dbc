/* SPDX-License-Identifier: MIT */
/* prodcons: P producers, C consumers, one buffered channel, N ints total.
 * Twin: bench/go/prodcons (which joins with WaitGroups; here a channel). */
#include <stdatomic.h>

#include <goc.h>

#include "bench.h"

static goc_chan *ch, *done;
static long n, np, nc, per;
static atomic_llong total;

static void consumer(void *arg)
{
    (void)arg;
    long long s = 0, v;
    while (goc_chan_recv(ch, &v) == 0)
        s += v;
    atomic_fetch_add(&total, s);
    BENCH_MUST(goc_chan_send(done, NULL));
}

static void producer(void *arg)
{
    long long base = (long long)(intptr_t)arg * per;
    for (long long i = 0; i < per; i++) {
        long long v = base + i;
        BENCH_MUST(goc_chan_send(ch, &v));
    }
    BENCH_MUST(goc_chan_send(done, NULL));
}

static void bench_main(void *arg)
{
    long buf = (long)(intptr_t)arg;
    ch = goc_chan_make(sizeof(long long), (size_t)buf);
    done = goc_chan_make(0, 0);
    per = n / np;
    double t0 = bench_now();
    for (long c = 0; c < nc; c++)
        BENCH_MUST(goc_go(consumer, NULL));
    for (long p = 0; p < np; p++)
        BENCH_MUST(goc_go(producer, (void *)(intptr_t)p));
    for (long p = 0; p < np; p++)
        BENCH_MUST(goc_chan_recv(done, NULL));
    BENCH_MUST(goc_chan_close(ch));
    for (long c = 0; c < nc; c++)
        BENCH_MUST(goc_chan_recv(done, NULL));
    double el = bench_now() - t0;
    long long m = (long long)per * np;
    if (atomic_load(&total) != m * (m - 1) / 2) {
        fprintf(stderr, "bad sum\n");
        exit(1);
    }
    printf("RESULT name=prodcons metric=Mops_per_s value=%.2f n=%lld "
           "producers=%ld consumers=%ld buf=%ld ns_per_op=%.1f "
           "gomaxprocs=%d\n",
           (double)m / el / 1e6, m, np, nc, buf, el * 1e9 / (double)m,
           goc_maxprocs(0));
    goc_chan_release(ch);
    goc_chan_release(done);
}

int main(int argc, char **argv)
{
    n = bench_flag(argc, argv, "n", 10000000);
    np = bench_flag(argc, argv, "p", 4);
    nc = bench_flag(argc, argv, "c", 4);
    long buf = bench_flag(argc, argv, "buf", 128);
    return goc_run(bench_main, (void *)(intptr_t)buf) == 0 ? 0 : 1;
}
