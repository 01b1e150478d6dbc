/* SPDX-License-Identifier: MIT */
/*
 * parallel_fetch.c - the tour: fetching several endpoints one after the
 * other, then all at once with a goroutine each, then with an errgroup
 * (goc_group) that gives up on all of them at the first error.  The
 * "network" is simulated: each fetch sleeps its latency.
 */
#include <stdio.h>
#include <string.h>

#include <goc.h>

#include "must.h"

#define MS GOC_MILLISECOND

struct endpoint {
    const char *name;
    int64_t latency;
    int fails; /* the simulated fetch fails with this error, or 0 */
};

static const struct endpoint endpoints[] = {
    {"users", 80 * MS, 0},
    {"orders", 120 * MS, 0},
    {"prices", 60 * MS, 0},
    {"stock", 100 * MS, 0},
};
#define N (sizeof endpoints / sizeof endpoints[0])

/* Fetch e, or give up when ctx is done.  Returns 0, e's error, or ctx's. */
static int fetch(goc_ctx *ctx, const struct endpoint *e)
{
    goc_case cs[1] = {GOC_RECV_CASE(goc_ctx_done(ctx), NULL)};
    if (goc_select_until(cs, 1, goc_now() + e->latency) != GOC_ETIMEDOUT)
        return goc_ctx_err(ctx);
    return e->fails;
}

struct fetch_job {
    const struct endpoint *e;
    goc_chan *results; /* chan int: one result per job */
};

static void fetch_one(void *arg)
{
    struct fetch_job *j = arg;
    int rc = fetch(NULL, j->e);
    MUST(goc_chan_send(j->results, &rc));
}

static int group_fetch(goc_ctx *ctx, void *arg)
{
    return fetch(ctx, arg);
}

static void tour(void *arg)
{
    (void)arg;
    printf("1. sequential: the latencies add up\n");
    int64_t t0 = goc_now();
    for (size_t i = 0; i < N; i++)
        fetch(NULL, &endpoints[i]);
    printf("  %zu fetches in %lld ms\n", N, (long long)((goc_now() - t0) / MS));

    printf("2. concurrent, one goroutine each: the slowest one counts\n");
    goc_chan *results = goc_chan_make(sizeof(int), 0);
    struct fetch_job jobs[N];
    t0 = goc_now();
    for (size_t i = 0; i < N; i++) {
        jobs[i] = (struct fetch_job){&endpoints[i], results};
        MUST(goc_go(fetch_one, &jobs[i]));
    }
    for (size_t i = 0; i < N; i++)
        MUST(goc_chan_recv(results, NULL));
    printf("  %zu fetches in %lld ms\n", N, (long long)((goc_now() - t0) / MS));
    goc_chan_release(results);

    printf("3. errgroup: the first failure cancels the rest\n");
    struct endpoint bad[N];
    memcpy(bad, endpoints, sizeof bad);
    bad[2].fails = GOC_ECLOSED; /* "prices" breaks after 60 ms */
    goc_group *g = goc_group_new(NULL, 0);
    t0 = goc_now();
    for (size_t i = 0; i < N; i++)
        MUST(goc_group_go(g, group_fetch, &bad[i]));
    int rc = goc_group_wait(g);
    printf("  first error %s after %lld ms; the others were canceled\n",
           goc_err_name(rc), (long long)((goc_now() - t0) / MS));
    goc_group_free(g);
}

int main(void)
{
    return goc_run(tour, NULL) == 0 ? 0 : 1;
}
