/* SPDX-License-Identifier: MIT */
/*
 * leak.c - the tour: a goroutine leak (a sender blocked for ever on a
 * channel nobody receives from), found three ways - goc_num_goroutine, the
 * dump, which marks the sender "(leaked)", and goc_leakcheck as a test
 * would call it - and its fix.
 */
#include <stdio.h>
#include <string.h>

#include <goc.h>

#include "must.h"

static void send_result(void *arg)
{
    goc_chan *c = arg;
    int v = 1;
    /* The sender's last use of c: the send owns the sender's reference
     * while it waits (Go's `go func() { ch <- result }()`). */
    (void)!goc_chan_send_release(c, &v); /* blocks for ever if nobody
                                            receives */
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

/* Print the first `lines` lines of the dump from the line holding s. */
static void print_block(const char *dump, const char *s, int lines)
{
    const char *p = strstr(dump, s);
    while (p != NULL && p > dump && p[-1] != '\n')
        p--;
    int n = 0, len = 0;
    while (p != NULL && p[len] != '\0' && n < lines)
        n += p[len++] == '\n';
    printf("%.*s", len, p != NULL ? p : "");
}

static void tour(void *arg)
{
    int base = goc_num_goroutine();
    for (int i = 0; i < 3; i++)
        query(0);
    for (int i = 0; i < 10; i++)
        goc_yield();
    printf("leak: unbuffered channel: goc_num_goroutine %d -> %d\n", base,
           goc_num_goroutine());
    static char buf[16384];
    goc_stack(buf, sizeof buf, true);
    /* Nobody holds the channel but the sender waiting on it: the dump
     * knows that it waits for ever. */
    printf("  the dump shows why, and that it is for good:\n");
    print_block(buf, "[chan send (leaked)]", 5);
    goc_leak_opts quiet = {.fd = -1, .wait_ns = 10 * 1000 * 1000};
    printf("  goc_leakcheck, as a test ends: %d leaked\n",
           goc_leakcheck(&quiet));

    /* The fix: room for the one answer.  Checked the way a test would,
     * ignoring the three leaks above (goleak's IgnoreCurrent). */
    int64_t ids[16];
    size_t n = goc_goroutine_ids(ids, 16);
    int before = goc_num_goroutine();
    for (int i = 0; i < 3; i++)
        query(1);
    goc_leak_opts fixed = {.ignore_ids = ids, .nignore_ids = n};
    int leaked = goc_leakcheck(&fixed);
    printf("fix: a buffer of 1 lets the sender finish: %d -> %d, "
           "goc_leakcheck: %d leaked\n",
           before, goc_num_goroutine(), leaked);
    /* The leaked senders stay parked; goc_run frees them when main returns
     * (the channels they hold leak with them: that is the bug shown).  Run
     * with GOCDEBUG=leakreport=1 to have them listed then. */
    *(int *)arg = leaked;
}

int main(void)
{
    int leaked = -1;
    return goc_run(tour, &leaked) == 0 && leaked == 0 ? 0 : 1;
}
