/* SPDX-License-Identifier: MIT */
/* skynet: N goroutines in a div-ary tree; each leaf sends its number, each
 * parent sums its children.  Twin: bench/go/skynet.
 *
 * A child's arguments live in its parent's frame, which outlives the child's
 * copy of them (the parent waits for every child's sum), as Go's `go
 * skynet(rc, sub, size/div, div)` copies them into the new goroutine and
 * allocates nothing.  A malloc and a free per goroutine had been a fifth of
 * the run, the free mostly on another thread than the malloc. */
#include <goc.h>

#include "bench.h"

#define MAX_DIV 16

struct node {
    goc_chan *c;
    long long num, size, div;
};

static void skynet(void *arg)
{
    struct node nd = *(struct node *)arg;
    if (nd.size == 1) {
        BENCH_MUST(goc_chan_send(nd.c, &nd.num));
        return;
    }
    goc_chan *rc = goc_chan_make(sizeof(long long), 0);
    struct node sub[MAX_DIV];
    for (long long i = 0; i < nd.div; i++) {
        sub[i] = (struct node){rc, nd.num + i * (nd.size / nd.div),
                               nd.size / nd.div, nd.div};
        if (goc_go(skynet, &sub[i]) != 0)
            exit(1);
    }
    long long sum = 0, v;
    for (long long i = 0; i < nd.div; i++) {
        BENCH_MUST(goc_chan_recv(rc, &v));
        sum += v;
    }
    goc_chan_release(rc); /* the children no longer touch it */
    BENCH_MUST(goc_chan_send(nd.c, &sum));
}

static long long n, dv;

static void bench_main(void *arg)
{
    (void)arg;
    double t0 = bench_now();
    goc_chan *c = goc_chan_make(sizeof(long long), 0);
    struct node root = {c, 0, n, dv};
    BENCH_MUST(goc_go(skynet, &root));
    long long sum;
    BENCH_MUST(goc_chan_recv(c, &sum));
    double el = bench_now() - t0;
    goc_chan_release(c);
    if (sum != n * (n - 1) / 2) {
        fprintf(stderr, "bad sum %lld want %lld\n", sum, n * (n - 1) / 2);
        exit(1);
    }
    printf("RESULT name=skynet metric=ms value=%.2f sum=%lld n=%lld "
           "gomaxprocs=%d peak_rss_kb=%ld\n",
           el * 1e3, sum, n, goc_maxprocs(0), bench_vm("VmHWM"));
}

int main(int argc, char **argv)
{
    n = bench_flag(argc, argv, "n", 1000000);
    dv = bench_flag(argc, argv, "div", 10);
    if (dv < 2 || dv > MAX_DIV) {
        fprintf(stderr, "-div: 2 to %d\n", MAX_DIV);
        return 2;
    }
    return goc_run(bench_main, NULL) == 0 ? 0 : 1;
}
