/* SPDX-License-Identifier: MIT */
/*
 * worker_pool.c - the tour: a pool of workers reads jobs from one channel
 * and writes results to another; main hands out the jobs, closes the jobs
 * channel, and collects every result.
 */
#include <stdio.h>

#include <goc.h>

#include "must.h"

#define WORKERS 4
#define JOBS 20

static goc_chan *jobs, *results;

struct result {
    int job, square, worker;
};

static void worker(void *arg)
{
    int id = (int)(intptr_t)arg, j;
    while (goc_chan_recv(jobs, &j) == 0) { /* until jobs is closed */
        goc_yield(); /* stands for real work: the other workers get jobs */
        struct result r = {j, j * j, id};
        MUST(goc_chan_send(results, &r));
    }
}

static void tour(void *arg)
{
    (void)arg;
    jobs = goc_chan_make(sizeof(int), 0); /* each job handed to a waiting worker */
    results = goc_chan_make(sizeof(struct result), JOBS);
    for (int w = 1; w <= WORKERS; w++)
        MUST(goc_go(worker, (void *)(intptr_t)w));
    for (int j = 1; j <= JOBS; j++)
        MUST(goc_chan_send(jobs, &j));
    MUST(goc_chan_close(jobs));
    int per[WORKERS + 1] = {0};
    long sum = 0;
    for (int k = 0; k < JOBS; k++) {
        struct result r;
        MUST(goc_chan_recv(results, &r));
        sum += r.square;
        per[r.worker]++;
    }
    printf("%d jobs done by %d workers; sum of squares %ld (want %d)\n", JOBS,
           WORKERS, sum, JOBS * (JOBS + 1) * (2 * JOBS + 1) / 6);
    for (int w = 1; w <= WORKERS; w++)
        printf("  worker %d did %d\n", w, per[w]);
    /* The workers have left their loops or will at their next receive:
     * goc_run abandons whatever is still parked when main returns. */
    goc_chan_release(results);
}

int main(void)
{
    int rc = goc_run(tour, NULL);
    goc_chan_release(jobs); /* nobody uses it once the run is over */
    return rc == 0 ? 0 : 1;
}
