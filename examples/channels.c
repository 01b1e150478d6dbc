/* SPDX-License-Identifier: MIT */
/*
 * channels.c - the tour: unbuffered and buffered channels, close and range,
 * and `v, ok := <-c`.
 *
 * Ownership: goc_chan_make returns one reference; whoever may still call an
 * operation on a channel holds one.  Once a receive has observed a value or
 * the close, the sending (or closing) call no longer touches the channel,
 * so main may release it right after its last receive.
 */
#include <stdio.h>

#include <goc.h>

#include "must.h"

static goc_chan *unbuf, *buf;

static void sender(void *arg)
{
    (void)arg;
    int v = 42;
    printf("  sender: sending 42 on the unbuffered channel (blocks until main receives)\n");
    MUST(goc_chan_send(unbuf, &v));
    printf("  sender: main has it\n");
}

static void producer(void *arg)
{
    (void)arg;
    for (int i = 1; i <= 5; i++)
        MUST(goc_chan_send(buf, &i));
    MUST(goc_chan_close(buf)); /* no more values: receivers drain, then stop */
}

static void tour(void *arg)
{
    (void)arg;
    printf("1. unbuffered: a hand-off between two goroutines\n");
    unbuf = goc_chan_make(sizeof(int), 0);
    MUST(goc_go(sender, NULL));
    int v;
    MUST(goc_chan_recv(unbuf, &v));
    printf("  main: received %d\n", v);
    goc_yield(); /* let the sender print */
    goc_chan_release(unbuf);

    printf("2. buffered: sends do not block until the buffer is full\n");
    goc_chan *b = goc_chan_make(sizeof(int), 3);
    for (int i = 0; i < 3; i++)
        MUST(goc_chan_send(b, &i));
    printf("  len=%zu cap=%zu; a fourth try_send says %s\n", goc_chan_len(b),
           goc_chan_cap(b), goc_err_name(goc_chan_try_send(b, &v)));
    goc_chan_release(b);

    printf("3. close and range: for v := range c\n");
    buf = goc_chan_make(sizeof(int), 2);
    MUST(goc_go(producer, NULL));
    printf("  received:");
    while (goc_chan_recv(buf, &v) == 0)
        printf(" %d", v);
    printf("\n");

    printf("4. v, ok := <-c on a closed, drained channel\n");
    v = 99;
    int rc = goc_chan_recv(buf, &v);
    printf("  ok=%s v=%d (%s: zero value, as in Go)\n", rc == 0 ? "true" : "false",
           v, goc_err_name(rc));
    goc_chan_release(buf);
}

int main(void)
{
    return goc_run(tour, NULL) == 0 ? 0 : 1;
}
