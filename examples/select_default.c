/* SPDX-License-Identifier: MIT */
/*
 * select_default.c - the tour: select with default (goc_select_try),
 * non-blocking send and receive, and a select loop that disables the
 * cases of closed channels by setting them to NULL (Go sets them to nil).
 */
#include <stdio.h>

#include <goc.h>

#include "must.h"

static void feed(void *arg)
{
    goc_chan *c = arg;
    for (int i = 0; i < 3; i++)
        MUST(goc_chan_send(c, &i));
    MUST(goc_chan_close(c));
}

static void tour(void *arg)
{
    (void)arg;
    goc_chan *c = goc_chan_make(sizeof(int), 1);
    int v = 7;

    printf("1. select with default: nothing ready\n");
    goc_case cs[1] = {GOC_RECV_CASE(c, &v)};
    if (goc_select_try(cs, 1) == GOC_EAGAIN)
        printf("  no value ready: took the default branch\n");

    printf("2. non-blocking send: the first fits, the second would block\n");
    int first = goc_chan_try_send(c, &v);
    int second = goc_chan_try_send(c, &v);
    printf("  try_send: %s, then %s\n", goc_err_name(first),
           goc_err_name(second));
    goc_chan_release(c);

    printf("3. select over two producers until both are closed\n");
    goc_chan *a = goc_chan_make(sizeof(int), 0), *b = goc_chan_make(sizeof(int), 0);
    goc_chan_retain(a); /* each producer holds a reference for its close */
    goc_chan_retain(b);
    MUST(goc_go(feed, a));
    MUST(goc_go(feed, b));
    goc_chan *live[2] = {a, b};
    int open = 2, got = 0;
    while (open > 0) {
        goc_case sel[2] = {GOC_RECV_CASE(live[0], &v), GOC_RECV_CASE(live[1], &v)};
        int i = goc_select(sel, 2);
        if (sel[i].err == GOC_ECLOSED) {
            printf("  channel %c closed: its case is disabled\n", "ab"[i]);
            live[i] = NULL;
            open--;
            continue;
        }
        printf("  from %c: %d\n", "ab"[i], v);
        got++;
    }
    printf("  %d values, then both closed\n", got);
    goc_chan_release(a);
    goc_chan_release(b);
    goc_chan_release(a); /* the producers' references: they have closed */
    goc_chan_release(b);
}

int main(void)
{
    return goc_run(tour, NULL) == 0 ? 0 : 1;
}
