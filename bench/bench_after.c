/* SPDX-License-Identifier: MIT */
/* after: a receive with a timeout that never fires, n times: a sender
 * goroutine feeds an unbuffered channel, the receiver selects on it and on
 * a deadline a second away.  goc_select_until allocates nothing for the
 * timeout (Go's time.After allocates a timer and a channel each time).
 * Twin: bench/go/after. */
#include <goc.h>

#include "bench.h"

static long n;
static goc_chan *c;

static void sender(void *arg)
{
    (void)arg;
    for (long i = 0; i < n; i++)
        BENCH_MUST(goc_chan_send(c, &i));
}

static void bench_main(void *arg)
{
    (void)arg;
    c = goc_chan_make(sizeof(long), 0);
    if (goc_go(sender, NULL) != 0)
        exit(1);
    long v, sum = 0;
    double t0 = bench_now();
    for (long i = 0; i < n; i++) {
        goc_case cs[1] = {GOC_RECV_CASE(c, &v)};
        if (goc_select_until(cs, 1, goc_now() + GOC_SECOND) != 0) {
            fprintf(stderr, "timed out\n");
            exit(1);
        }
        sum += v;
    }
    double el = bench_now() - t0;
    if (sum != n * (n - 1) / 2) {
        fprintf(stderr, "bad sum\n");
        exit(1);
    }
    printf("RESULT name=after metric=ns_per_op value=%.1f n=%ld "
           "gomaxprocs=%d peak_rss_kb=%ld\n",
           el * 1e9 / (double)n, n, goc_maxprocs(0), bench_vm("VmHWM"));
    goc_chan_release(c);
}

int main(int argc, char **argv)
{
    n = bench_flag(argc, argv, "n", 1000000);
    return goc_run(bench_main, NULL) == 0 ? 0 : 1;
}
