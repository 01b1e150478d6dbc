/* SPDX-License-Identifier: MIT */
/*
 * deadline.c - the tour: a deadline on a slow operation.  The caller gives
 * the operation a context with a timeout; the operation gives up when the
 * context is done and says why (GOC_ETIMEDOUT: "context deadline
 * exceeded"), and a deadline set higher up applies to everything below.
 */
#include <stdio.h>

#include <goc.h>

#define MS GOC_MILLISECOND

/* A "slow query" that takes `work` unless ctx is done first. */
static int slow_query(goc_ctx *ctx, int64_t work)
{
    goc_chan *done = goc_ctx_done(ctx);
    goc_case cs[1] = {GOC_RECV_CASE(done, NULL)};
    if (goc_select_until(cs, 1, goc_now() + work) == GOC_ETIMEDOUT)
        return 0; /* finished in time */
    return goc_ctx_err(ctx);
}

static void attempt(goc_ctx *parent, int64_t timeout, int64_t work)
{
    goc_ctx *ctx = goc_ctx_with_timeout(parent, timeout);
    int64_t t0 = goc_now();
    int rc = slow_query(ctx, work);
    printf("  timeout %3lld ms, work %3lld ms: %s after %lld ms\n",
           (long long)(timeout / MS), (long long)(work / MS),
           rc == 0 ? "done" : goc_strerror(rc),
           (long long)((goc_now() - t0) / MS));
    goc_ctx_cancel(ctx); /* Go's defer cancel(): frees the timer early */
    goc_ctx_release(ctx);
}

static void tour(void *arg)
{
    (void)arg;
    printf("1. a query within its deadline, and one past it\n");
    attempt(NULL, 100 * MS, 20 * MS);
    attempt(NULL, 30 * MS, 200 * MS);

    printf("2. the earlier deadline wins: a request with 40 ms left asks\n"
           "   for a 500 ms timeout below it\n");
    goc_ctx *request = goc_ctx_with_timeout(NULL, 40 * MS);
    attempt(request, 500 * MS, 200 * MS);
    goc_ctx_release(request);
}

int main(void)
{
    return goc_run(tour, NULL) == 0 ? 0 : 1;
}
