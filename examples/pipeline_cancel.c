/* SPDX-License-Identifier: MIT */
/*
 * pipeline_cancel.c - the tour: a pipeline that shuts down cleanly when
 * its consumer stops early.  Every stage sends with a select on the
 * context's done channel, so cancelling the context unblocks them all;
 * goc_num_goroutine shows that no stage is left behind.  (Without the
 * select, each stage would block for ever on its send: a leak.)
 */
#include <stdio.h>

#include <goc.h>

#include "must.h"

struct stage {
    goc_ctx *ctx;
    goc_chan *in, *out; /* in is NULL for the generator */
};

/* Send v on out unless ctx is done.  Returns: false once canceled. */
static bool send_or_quit(goc_ctx *ctx, goc_chan *out, long *v)
{
    goc_case cs[2] = {GOC_SEND_CASE(out, v),
                      GOC_RECV_CASE(goc_ctx_done(ctx), NULL)};
    return goc_select(cs, 2) == 0;
}

static void generate(void *arg)
{
    struct stage *s = arg;
    for (long i = 1;; i++)
        if (!send_or_quit(s->ctx, s->out, &i))
            break;
    MUST(goc_chan_close(s->out));
}

static void square(void *arg)
{
    struct stage *s = arg;
    long v;
    while (goc_chan_recv(s->in, &v) == 0) {
        v *= v;
        if (!send_or_quit(s->ctx, s->out, &v))
            break;
    }
    MUST(goc_chan_close(s->out));
}

static void tour(void *arg)
{
    (void)arg;
    int base = goc_num_goroutine();
    goc_ctx *ctx = goc_ctx_with_cancel(NULL);
    goc_chan *nums = goc_chan_make(sizeof(long), 0);
    goc_chan *squares = goc_chan_make(sizeof(long), 0);
    struct stage gen = {ctx, NULL, nums}, sq = {ctx, nums, squares};
    MUST(goc_go(generate, &gen));
    MUST(goc_go(square, &sq));
    printf("an endless generator -> square -> us, %d goroutines running\n",
           goc_num_goroutine());
    long v, sum = 0;
    for (int i = 0; i < 10; i++) {
        MUST(goc_chan_recv(squares, &v));
        sum += v;
    }
    printf("took the first 10 squares (sum %ld), then cancel\n", sum);
    goc_ctx_cancel(ctx);
    /* Drain what was in flight until the last stage has closed. */
    while (goc_chan_recv(squares, NULL) == 0)
        ;
    while (goc_num_goroutine() > base)
        goc_yield();
    printf("every stage returned: goc_num_goroutine %d -> %d\n",
           base + 2, goc_num_goroutine());
    goc_chan_release(nums);
    goc_chan_release(squares);
    goc_ctx_release(ctx);
}

int main(void)
{
    return goc_run(tour, NULL) == 0 ? 0 : 1;
}
