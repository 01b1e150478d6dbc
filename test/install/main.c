/* SPDX-License-Identifier: MIT */
/* A consumer of an installed goc: ten goroutines each count once. */
#include <goc.h>
#include <stdatomic.h>
#include <stdio.h>

static atomic_int done;

static void worker(void *arg)
{
    (void)arg;
    atomic_fetch_add(&done, 1);
}

static void main_fn(void *arg)
{
    int n = *(const int *)arg;
    for (int i = 0; i < n; i++)
        if (goc_go(worker, NULL) != 0)
            return;
    while (atomic_load(&done) < n)
        goc_yield();
}

int main(void)
{
    int n = 10;
    if (goc_run(main_fn, &n) != 0 || atomic_load(&done) != n)
        return 1;
    printf("goc %s: %d goroutines ran\n", goc_version_string(), n);
    return 0;
}
