/* SPDX-License-Identifier: MIT */
/*
 * fanout_fanin.c - the tour: fan-out (several workers read one input
 * channel) and fan-in (one merge loop selects over their output channels
 * until every one is closed).
 */
#include <stdio.h>

#include <goc.h>

#include "must.h"

#define WORKERS 3
#define ITEMS 30

static goc_chan *input;

static void worker(void *arg)
{
    goc_chan *out = arg;
    int v;
    while (goc_chan_recv(input, &v) == 0) {
        int doubled = 2 * v;
        MUST(goc_chan_send(out, &doubled));
        goc_yield(); /* stands for real work */
    }
    MUST(goc_chan_close(out));
}

static void feed(void *arg)
{
    (void)arg;
    for (int i = 1; i <= ITEMS; i++)
        MUST(goc_chan_send(input, &i));
    MUST(goc_chan_close(input));
}

static void tour(void *arg)
{
    (void)arg;
    input = goc_chan_make(sizeof(int), 0);
    goc_chan *outs[WORKERS];
    for (int w = 0; w < WORKERS; w++) {
        outs[w] = goc_chan_make(sizeof(int), 0);
        MUST(goc_go(worker, outs[w])); /* fan-out: all read `input` */
    }
    MUST(goc_go(feed, NULL));

    /* Fan-in: one select over every output; a closed one is disabled. */
    goc_chan *live[WORKERS];
    int open = WORKERS, count[WORKERS] = {0}, v;
    long sum = 0;
    for (int w = 0; w < WORKERS; w++)
        live[w] = outs[w];
    while (open > 0) {
        goc_case cs[WORKERS];
        for (int w = 0; w < WORKERS; w++)
            cs[w] = GOC_RECV_CASE(live[w], &v);
        int w = goc_select(cs, WORKERS);
        if (cs[w].err == GOC_ECLOSED) {
            live[w] = NULL;
            open--;
            continue;
        }
        sum += v;
        count[w]++;
    }
    printf("fan-in of %d workers: sum %ld (want %d)\n", WORKERS, sum,
           ITEMS * (ITEMS + 1));
    for (int w = 0; w < WORKERS; w++) {
        printf("  worker %d produced %d\n", w + 1, count[w]);
        goc_chan_release(outs[w]);
    }
    goc_chan_release(input);
}

int main(void)
{
    return goc_run(tour, NULL) == 0 ? 0 : 1;
}
