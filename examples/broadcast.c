/* SPDX-License-Identifier: MIT */
/*
 * broadcast.c - the tour: closing a channel is a broadcast.  Every
 * goroutine blocked receiving from it wakes at once (a receive on a closed
 * channel never blocks), which makes a "start" or "stop" signal for any
 * number of goroutines.  elem_size 0: a chan struct{}.
 */
#include <stdio.h>

#include <goc.h>

#include "must.h"

#define RUNNERS 5

static goc_chan *start, *ready, *finished;

static void runner(void *arg)
{
    int id = (int)(intptr_t)arg;
    MUST(goc_chan_send(ready, NULL));
    /* Everybody waits here for the close. */
    MUST_BE(goc_chan_recv(start, NULL), GOC_ECLOSED);
    printf("  runner %d: go!\n", id);
    MUST(goc_chan_send(finished, NULL));
}

static void tour(void *arg)
{
    (void)arg;
    start = goc_chan_make(0, 0);
    ready = goc_chan_make(0, 0);
    finished = goc_chan_make(0, 0);
    for (int i = 1; i <= RUNNERS; i++)
        MUST(goc_go(runner, (void *)(intptr_t)i));
    for (int i = 0; i < RUNNERS; i++)
        MUST(goc_chan_recv(ready, NULL));
    printf("all %d runners are waiting; main closes the start channel\n",
           RUNNERS);
    MUST(goc_chan_close(start));
    for (int i = 0; i < RUNNERS; i++)
        MUST(goc_chan_recv(finished, NULL));
    printf("one close released all %d\n", RUNNERS);
    goc_chan_release(start);
    goc_chan_release(ready);
    goc_chan_release(finished);
}

int main(void)
{
    return goc_run(tour, NULL) == 0 ? 0 : 1;
}
