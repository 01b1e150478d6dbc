/* SPDX-License-Identifier: MIT */
/* ring: thread-ring.  K goroutines in a ring pass a token N hops.
 * Twin: bench/go/ring. */
#include <goc.h>

#include "bench.h"

static goc_chan **chs, *done;
static long n, k;

static void node(void *arg)
{
    long id = (long)(intptr_t)arg;
    goc_chan *in = chs[id - 1], *out = chs[id % k];
    long t;
    while (goc_chan_recv(in, &t) == 0) {
        if (t == 0) {
            BENCH_MUST(goc_chan_send(done, &id));
            return;
        }
        t--;
        BENCH_MUST(goc_chan_send(out, &t));
    }
}

static void bench_main(void *arg)
{
    (void)arg;
    chs = malloc((size_t)k * sizeof *chs);
    for (long i = 0; i < k; i++)
        chs[i] = goc_chan_make(sizeof(long), 0);
    done = goc_chan_make(sizeof(long), 0);
    for (long i = 0; i < k; i++)
        BENCH_MUST(goc_go(node, (void *)(intptr_t)(i + 1)));
    double t0 = bench_now();
    BENCH_MUST(goc_chan_send(chs[0], &n));
    long id;
    BENCH_MUST(goc_chan_recv(done, &id));
    double el = bench_now() - t0;
    if (id != n % k + 1) {
        fprintf(stderr, "bad id %ld want %ld\n", id, n % k + 1);
        exit(1);
    }
    printf("RESULT name=ring metric=ns_per_hop value=%.1f n=%ld ring=%ld "
           "winner=%ld gomaxprocs=%d\n",
           el * 1e9 / (double)n, n, k, id, goc_maxprocs(0));
    /* The other nodes stay parked; goc_run frees them when main returns.
     * The channels are ours to free: nobody can use them any more. */
    for (long i = 0; i < k; i++)
        goc_chan_release(chs[i]);
    goc_chan_release(done);
    free(chs);
}

int main(int argc, char **argv)
{
    n = bench_flag(argc, argv, "n", 10000000);
    k = bench_flag(argc, argv, "k", 503);
    return goc_run(bench_main, NULL) == 0 ? 0 : 1;
}
