/* SPDX-License-Identifier: MIT */
/*
 * once.c - the tour: lazy initialisation with goc_once (sync.Once).
 *
 * Ten goroutines need a table that is expensive to build, and whichever
 * comes first should build it.  "if (!ready) { build(); ready = true; }"
 * is a data race: several goroutines see !ready and build it, and others
 * may see ready before the table is filled in.  goc_once_do runs build
 * exactly once; every other caller, concurrent or later, waits until it
 * has returned and then sees the whole table.
 */
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>

#include <goc.h>

#include "must.h"

#define USERS 10

static int table[256];
static _Atomic int builds;

static void build(void *arg)
{
    (void)arg;
    atomic_fetch_add(&builds, 1);
    for (int i = 0; i < 256; i++) {
        table[i] = i * i;
        if (i % 64 == 0)
            goc_yield(); /* expensive: others get to run meanwhile */
    }
}

/* The racy way: a plain flag.  (TSan reports it; this is what not to do.) */
static bool ready;
static void naive_user(void *arg)
{
    (void)arg;
    if (!ready) {
        build(NULL);
        ready = true;
    }
}

static goc_once once;
static _Atomic int wrong;
static void once_user(void *arg)
{
    (void)arg;
    goc_once_do(&once, build, NULL);
    if (table[255] != 255 * 255)
        atomic_fetch_add(&wrong, 1); /* never: Do returned after build */
}

static void run(void (*fn)(void *))
{
    goc_wg wg = {0};
    atomic_store(&builds, 0);
    for (int i = 0; i < USERS; i++)
        MUST(goc_wg_go(&wg, fn, NULL));
    goc_wg_wait(&wg);
}

static void tour(void *arg)
{
    (void)arg;
    run(naive_user);
    printf("a plain `if (!ready)` flag, %d goroutines: the table was built "
           "%d times\n", USERS, atomic_load(&builds));
    run(once_user);
    printf("goc_once_do, %d goroutines:                the table was built "
           "%d time%s, and %d callers saw it unfinished\n",
           USERS, atomic_load(&builds), atomic_load(&builds) == 1 ? "" : "s",
           atomic_load(&wrong));
    run(once_user);
    printf("later calls return at once: built %d more times\n",
           atomic_load(&builds));
}

int main(void)
{
    return goc_run(tour, NULL) == 0 ? 0 : 1;
}
