/* SPDX-License-Identifier: MIT */
/*
 * leak.c - the tour: a goroutine leak (a sender blocked for ever on a
 * channel nobody receives from), found with goc_num_goroutine and a dump,
 * and its fix.
 */
#include <stdio.h>
#include <string.h>

#include <goc.h>

#include "must.h"

static void send_result(void *arg)
{
    goc_chan *c = arg;
    int v = 1;
    MUST(goc_chan_send(c, &v)); /* blocks for ever if nobody receives */
}

/* Ask a "server" for an answer but give up without reading it. */
static void query(size_t cap)
{
    goc_chan *c = goc_chan_make(sizeof(int), cap);
    goc_chan_retain(c); /* the sender's reference */
    MUST(goc_go(send_result, c));
    goc_yield();        /* ... and we never receive */
    goc_chan_release(c);
}

static void tour(void *arg)
{
    (void)arg;
    int base = goc_num_goroutine();
    for (int i = 0; i < 3; i++)
        query(0);
    for (int i = 0; i < 10; i++)
        goc_yield();
    printf("leak: unbuffered channel: goc_num_goroutine %d -> %d\n", base,
           goc_num_goroutine());
    static char buf[16384];
    goc_stack(buf, sizeof buf, true);
    /* The dump's header line of a leaked sender, and its first frames. */
    char *p = strstr(buf, "[chan send]");
    while (p != NULL && p > buf && p[-1] != '\n')
        p--;
    int lines = 0, len = 0;
    while (p != NULL && p[len] != '\0' && lines < 5)
        lines += p[len++] == '\n';
    printf("  the dump shows why:\n%.*s", len, p != NULL ? p : "");

    int before = goc_num_goroutine();
    for (int i = 0; i < 3; i++)
        query(1); /* the fix: room for the one answer */
    for (int i = 0; i < 10; i++)
        goc_yield();
    printf("fix: a buffer of 1 lets the sender finish: %d -> %d "
           "(none left behind)\n", before,
           goc_num_goroutine());
    /* The leaked senders stay parked; goc_run frees them when main returns
     * (the channels they hold leak with them: that is the bug shown). */
}

int main(void)
{
    return goc_run(tour, NULL) == 0 ? 0 : 1;
}
