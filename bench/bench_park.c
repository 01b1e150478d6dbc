/* SPDX-License-Identifier: MIT */
/* park: n goroutines block receiving from one shared channel; the RSS it
 * took, per parked goroutine (and the page tables, VmPTE, which VmRSS
 * leaves out); then the channel is closed and all join.
 * -compact 1: with parked-stack compaction (GOCDEBUG=compactstacks=1,
 * its default compactafter of 1 s), measured once every parked stack is
 * compacted (compact_ms: from all parked to all compacted); the join
 * then restores each one.  Twin: bench/go/park (which has no such
 * mode: its -compact is the same run as without). */
#include <stdatomic.h>
#include <stdlib.h>

#include <goc.h>

#include "bench.h"

static goc_chan *ch;
static goc_wg wg;
static _Atomic long ready;

static void parked(void *arg)
{
    (void)arg;
    atomic_fetch_add_explicit(&ready, 1, memory_order_relaxed);
    BENCH_MUST_BE(goc_chan_recv(ch, NULL), GOC_ECLOSED); /* until the close */
    goc_wg_done(&wg);
}

static bool compact;

/* Wait until n stacks are compacted (at most 10 minutes).
 * Returns: how long it took, in seconds. */
static double compact_wait(long n)
{
    double t0 = bench_now();
    goc_compact_stats st;
    goc_compact_stats_read(&st);
    if (st.state != GOC_COMPACT_ON) {
        fprintf(stderr, "compaction: %s\n",
                st.why != NULL ? st.why : "off");
        exit(1);
    }
    while (st.compacted < n && bench_now() - t0 < 600) {
        goc_sleep(10 * GOC_MILLISECOND);
        goc_compact_stats_read(&st);
    }
    if (st.compacted < n) {
        fprintf(stderr, "compacted %lld of %ld\n", (long long)st.compacted,
                n);
        exit(1);
    }
    return bench_now() - t0;
}

static void bench_main(void *arg)
{
    long n = *(long *)arg;
    ch = goc_chan_make(0, 0);
    int base = goc_num_goroutine();
    long rss0 = bench_vm("VmRSS"), pte0 = bench_vm("VmPTE");
    double t0 = bench_now();
    goc_wg_add(&wg, n);
    for (long i = 0; i < n; i++)
        if (goc_go(parked, NULL) != 0)
            exit(1);
    while (atomic_load_explicit(&ready, memory_order_relaxed) != n)
        goc_sleep(GOC_MILLISECOND);
    double spawn_el = bench_now() - t0;
    goc_sleep(50 * GOC_MILLISECOND); /* the last ones reach their receive */
    double compact_el = compact ? compact_wait(n) : 0;
    int parked_n = goc_num_goroutine() - base;
    long rss1 = bench_vm("VmRSS"), pte1 = bench_vm("VmPTE");
    if (parked_n != n) {
        fprintf(stderr, "goc_num_goroutine delta %d != %ld\n", parked_n, n);
        exit(1);
    }
    double t1 = bench_now();
    BENCH_MUST(goc_chan_close(ch));
    goc_wg_wait(&wg);
    double join_el = bench_now() - t1;
    goc_chan_release(ch);
    printf("RESULT name=park metric=rss_bytes_per_goroutine value=%.0f n=%ld "
           "parked=%d rss0_kb=%ld rss1_kb=%ld spawn_park_ms=%.1f "
           "join_ms=%.1f gomaxprocs=%d peak_rss_kb=%ld "
           "pte_bytes_per_goroutine=%.0f compact_ms=%.1f\n",
           (double)(rss1 - rss0) * 1024 / (double)n, n, parked_n, rss0, rss1,
           spawn_el * 1e3, join_el * 1e3, goc_maxprocs(0), bench_vm("VmHWM"),
           (double)(pte1 - pte0) * 1024 / (double)n, compact_el * 1e3);
}

int main(int argc, char **argv)
{
    long n = bench_flag(argc, argv, "n", 100000);
    compact = bench_flag(argc, argv, "compact", 0) != 0;
    if (compact)
        setenv("GOCDEBUG", "compactstacks=1", 1);
    return goc_run(bench_main, &n) == 0 ? 0 : 1;
}
