/* SPDX-License-Identifier: MIT */
/* pingpong: two goroutines bounce an int over two unbuffered channels.
 * Twin: bench/go/pingpong.  Run with GOMAXPROCS=1 and 2. */
#include <goc.h>

#include "bench.h"

static goc_chan *ping, *pong;
static long n;

static void echo(void *arg)
{
    (void)arg;
    long v;
    while (goc_chan_recv(ping, &v) == 0) {
        v++;
        BENCH_MUST(goc_chan_send(pong, &v));
    }
    BENCH_MUST(goc_chan_close(pong));
}

static void bench_main(void *arg)
{
    (void)arg;
    ping = goc_chan_make(sizeof(long), 0);
    pong = goc_chan_make(sizeof(long), 0);
    if (goc_go(echo, NULL) != 0)
        exit(1);
    for (long i = 0; i < 1000; i++) { /* short warm-up */
        BENCH_MUST(goc_chan_send(ping, &i));
        BENCH_MUST(goc_chan_recv(pong, NULL));
    }
    double t0 = bench_now();
    long v = 0;
    for (long i = 0; i < n; i++) {
        BENCH_MUST(goc_chan_send(ping, &v));
        BENCH_MUST(goc_chan_recv(pong, &v));
    }
    double el = bench_now() - t0;
    BENCH_MUST(goc_chan_close(ping));
    BENCH_MUST_BE(goc_chan_recv(pong, NULL), GOC_ECLOSED);
    if (v != n) {
        fprintf(stderr, "bad count\n");
        exit(1);
    }
    printf("RESULT name=pingpong metric=ns_per_roundtrip value=%.1f n=%ld "
           "gomaxprocs=%d\n", el * 1e9 / (double)n, n, goc_maxprocs(0));
    goc_chan_release(ping);
    goc_chan_release(pong);
}

int main(int argc, char **argv)
{
    n = bench_flag(argc, argv, "n", 2000000);
    return goc_run(bench_main, NULL) == 0 ? 0 : 1;
}
