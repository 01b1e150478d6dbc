/* SPDX-License-Identifier: MIT */
/*
 * stress_100k.c - tour step 2: 100,000 goroutines alive at once, and what
 * each one costs in memory.
 *
 * A thread costs megabytes of stack and a kernel task; a goroutine costs the
 * pages of its stack it actually touches plus a small header.  goc gives
 * every goroutine a 256 KiB stack slot (with a guard page below it), but the
 * kernel commits only the pages that are written, so a goroutine that has
 * run a little and is now waiting costs about one page.
 *
 * The program starts 100,000 goroutines, waits until all of them have run
 * and are waiting, reads the process's resident memory (VmRSS in
 * /proc/self/status) before and after, prints goc_num_goroutine() and the
 * difference per goroutine, then lets them all finish and waits until only
 * main is left.
 *
 * How they wait: each one blocks receiving from one channel, `<-release`
 * in Go, and main closes it once it has measured; a WaitGroup tells main
 * that all of them have started, another that all have returned.  A
 * parked goroutine costs no CPU: the two threads sleep meanwhile.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */

#include <goc.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define N 100000

static goc_chan *release; /* closed by main once it has measured */
static goc_wg started;     /* done when a goroutine is about to wait */
static goc_wg finished;    /* done when a goroutine returns */

static void waiter(void *arg)
{
    (void)arg;
    goc_wg_done(&started);
    (void)!goc_chan_recv(release, NULL); /* GOC_ECLOSED once released */
    goc_wg_done(&finished);
}

/* Resident set size of this process in KiB, from /proc/self/status. */
static long vmrss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (f == NULL)
        return -1;
    char line[256];
    long kib = -1;
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, "VmRSS:", 6) == 0) {
            kib = strtol(line + 6, NULL, 10);
            break;
        }
    }
    fclose(f);
    return kib;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void main_fn(void *arg)
{
    (void)arg;
    long rss0 = vmrss_kib();
    double t0 = now_ms();

    printf("starting %d goroutines (GOMAXPROCS=%d)...\n", N, goc_maxprocs(0));
    release = goc_chan_make(0, 0);
    goc_wg_add(&started, N);
    goc_wg_add(&finished, N);
    for (int i = 0; i < N; i++) {
        int rc = goc_go(waiter, NULL);
        if (rc < 0) {
            fprintf(stderr, "goc_go #%d: %s\n", i, goc_strerror(rc));
            exit(1);
        }
    }
    double t1 = now_ms();
    /* Wait until every one of them has run (touched its stack) and is
     * about to block; a goroutine on its way to the receive still counts
     * as alive, so the count below is exact either way. */
    goc_wg_wait(&started);
    double t2 = now_ms();

    long rss1 = vmrss_kib();
    int live = goc_num_goroutine();
    printf("goc_num_goroutine() = %d  (%d waiting + main)\n", live, N);
    printf("spawned in %.0f ms; all had run after %.0f ms\n", t1 - t0,
           t2 - t0);
    if (rss0 >= 0 && rss1 >= 0) {
        printf("VmRSS: %ld KiB before, %ld KiB with all alive: "
               "%.2f KiB per goroutine\n",
               rss0, rss1, (double)(rss1 - rss0) / N);
        printf("  (a thread reserves 8 MiB of stack and a kernel task; a "
               "goroutine's 256 KiB stack\n"
               "   is committed by the kernel only where it is touched: "
               "here its top page or so)\n");
    } else {
        printf("VmRSS: /proc/self/status not readable, no memory figure\n");
    }
    if (live != N + 1) {
        fprintf(stderr, "expected %d live goroutines, saw %d\n", N + 1, live);
        exit(1);
    }

    /* close(release): wake them all, then wait until every one has
     * returned and the count is back to 1 (main), the leak check a Go
     * test would do with runtime.NumGoroutine. */
    (void)!goc_chan_close(release);
    goc_wg_wait(&finished);
    while (goc_num_goroutine() > 1) /* the last ones are exiting */
        goc_yield();
    double t3 = now_ms();
    printf("released; goc_num_goroutine() = %d after %.0f ms; "
           "VmRSS now %ld KiB (free stacks past the cache limit go back "
           "to the OS)\n",
           goc_num_goroutine(), t3 - t2, vmrss_kib());
    goc_chan_release(release);
}

int main(void)
{
    int rc = goc_run(main_fn, NULL);
    if (rc < 0) {
        fprintf(stderr, "goc_run: %s\n", goc_strerror(rc));
        return 1;
    }
    return 0;
}
