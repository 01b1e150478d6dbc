/* SPDX-License-Identifier: MIT */
/*
 * pipeline.c - the tour: generate -> square -> sum, one goroutine per
 * stage, each closing its output when its input is exhausted, so the end
 * of the stream flows down the pipeline.
 */
#include <stdio.h>

#include <goc.h>

#include "must.h"

static goc_chan *nums, *squares;

static void generate(void *arg)
{
    int n = (int)(intptr_t)arg;
    for (int i = 1; i <= n; i++)
        MUST(goc_chan_send(nums, &i));
    MUST(goc_chan_close(nums));
}

static void square(void *arg)
{
    (void)arg;
    int v;
    while (goc_chan_recv(nums, &v) == 0) {
        long s = (long)v * v;
        MUST(goc_chan_send(squares, &s));
    }
    MUST(goc_chan_close(squares));
}

static void tour(void *arg)
{
    (void)arg;
    nums = goc_chan_make(sizeof(int), 0);
    squares = goc_chan_make(sizeof(long), 0);
    MUST(goc_go(generate, (void *)(intptr_t)100));
    MUST(goc_go(square, NULL));
    long sum = 0, s;
    int count = 0;
    while (goc_chan_recv(squares, &s) == 0) {
        sum += s;
        count++;
    }
    printf("generate -> square -> sum: %d values, sum %ld (want 338350)\n",
           count, sum);
    /* Both closes were observed downstream: no stage touches the channels
     * any more. */
    goc_chan_release(nums);
    goc_chan_release(squares);
}

int main(void)
{
    return goc_run(tour, NULL) == 0 ? 0 : 1;
}
