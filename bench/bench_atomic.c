/* SPDX-License-Identifier: MIT */
/* atomic: the mutex benchmark with a C11 atomic add instead of the lock,
 * for reference.  Twin: bench/go/mutex -mode=atomic. */
#include <stdatomic.h>

#include "bench_counter.h"

static atomic_long counter;

static void counter_worker(void *arg)
{
    (void)arg;
    /* A local bound, as the twin's closure has: `per` may share a cache
     * line with the counter, and each atomic add would reload it. */
    long n = per;
    for (long j = 0; j < n; j++)
        atomic_fetch_add(&counter, 1);
}

static long counter_value(void)
{
    return atomic_load(&counter);
}

int main(int argc, char **argv)
{
    return counter_bench("atomic", argc, argv);
}
