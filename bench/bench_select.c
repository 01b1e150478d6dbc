/* SPDX-License-Identifier: MIT */
/* select: one goroutine selects over 4 channels, each fed by its own
 * sender; N messages total.  Twin: bench/go/select. */
#include <goc.h>

#include "bench.h"

#define K 4
static goc_chan *chs[K];
static long per;

static void sender(void *arg)
{
    goc_chan *c = arg;
    int one = 1;
    for (long j = 0; j < per; j++)
        BENCH_MUST(goc_chan_send(c, &one));
    BENCH_MUST(goc_chan_close(c));
}

static void bench_main(void *arg)
{
    long n = (long)(intptr_t)arg;
    per = n / K;
    double t0 = bench_now();
    for (int i = 0; i < K; i++)
        BENCH_MUST(goc_go(sender, chs[i]));
    goc_chan *live[K] = {chs[0], chs[1], chs[2], chs[3]};
    long got = 0;
    int open = K, v;
    while (open > 0) {
        goc_case cs[K];
        for (int i = 0; i < K; i++)
            cs[i] = (goc_case)GOC_RECV_CASE(live[i], &v);
        int i = goc_select(cs, K);
        if (cs[i].err == GOC_ECLOSED) {
            live[i] = NULL;
            open--;
            continue;
        }
        got += v;
    }
    double el = bench_now() - t0;
    if (got != per * K) {
        fprintf(stderr, "bad count\n");
        exit(1);
    }
    printf("RESULT name=select metric=ns_per_msg value=%.1f n=%ld chans=%d "
           "buf=%zu gomaxprocs=%d\n",
           el * 1e9 / (double)got, got, K, goc_chan_cap(chs[0]),
           goc_maxprocs(0));
}

int main(int argc, char **argv)
{
    long n = bench_flag(argc, argv, "n", 4000000);
    long buf = bench_flag(argc, argv, "buf", 0);
    for (int i = 0; i < K; i++)
        chs[i] = goc_chan_make(sizeof(int), (size_t)buf);
    int rc = goc_run(bench_main, (void *)(intptr_t)n);
    for (int i = 0; i < K; i++)
        goc_chan_release(chs[i]);
    return rc == 0 ? 0 : 1;
}
