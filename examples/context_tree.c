/* SPDX-License-Identifier: MIT */
/*
 * context_tree.c - the tour: cancelling a tree of workers with a context.
 * Each worker does its work in steps and checks ctx.Done() between them;
 * each team lead starts its workers under a context of its own.  One
 * cancel at the root stops them all, and a team can be stopped alone.
 */
#include <stdatomic.h>
#include <stdio.h>

#include <goc.h>

#include "must.h"

#define MS GOC_MILLISECOND

struct job {
    goc_ctx *ctx;
    const char *name;
    goc_wg *wg;
};

static _Atomic int stopped;

static void worker(void *arg)
{
    struct job *j = arg;
    goc_case cs[1] = {GOC_RECV_CASE(goc_ctx_done(j->ctx), NULL)};
    int steps = 0;
    /* Work in 5 ms steps until told to stop. */
    while (goc_select_until(cs, 1, goc_now() + 5 * MS) == GOC_ETIMEDOUT)
        steps++;
    printf("  %-9s stopped after %2d steps: %s\n", j->name, steps,
           goc_strerror(goc_ctx_err(j->ctx)));
    atomic_fetch_add(&stopped, 1);
    goc_wg_done(j->wg);
}

struct team {
    goc_ctx *ctx;
    struct job jobs[2];
    char names[2][16];
};

static void start_team(struct team *t, goc_ctx *parent, const char *name,
                       goc_wg *wg)
{
    t->ctx = goc_ctx_with_cancel(parent);
    for (int i = 0; i < 2; i++) {
        snprintf(t->names[i], sizeof t->names[i], "%s.%d", name, i + 1);
        t->jobs[i] = (struct job){t->ctx, t->names[i], wg};
        goc_wg_add(wg, 1);
        MUST(goc_go(worker, &t->jobs[i]));
    }
}

static void tour(void *arg)
{
    (void)arg;
    goc_wg wg = GOC_WG_INIT;
    goc_ctx *root = goc_ctx_with_cancel(NULL);
    struct team red, blue;
    start_team(&red, root, "red", &wg);
    start_team(&blue, root, "blue", &wg);
    int base = goc_num_goroutine();

    goc_sleep(30 * MS);
    printf("1. cancel the red team alone:\n");
    goc_ctx_cancel(red.ctx);
    while (atomic_load(&stopped) < 2)
        goc_sleep(MS);
    printf("   blue still works: %d goroutines left of %d\n",
           goc_num_goroutine(), base);

    goc_sleep(30 * MS);
    printf("2. cancel the root: everything below it stops\n");
    goc_ctx_cancel(root);
    goc_wg_wait(&wg);
    printf("   all stopped: %d goroutine (main) left\n", goc_num_goroutine());
    goc_ctx_release(red.ctx);
    goc_ctx_release(blue.ctx);
    goc_ctx_release(root);
}

int main(void)
{
    return goc_run(tour, NULL) == 0 ? 0 : 1;
}
