/* SPDX-License-Identifier: MIT */
/* mutex: 8 goroutines increment a shared counter under a goc_mutex, 10M
 * increments in all.  Twin: bench/go/mutex (-mode=mutex). */
#include "bench_counter.h"

static goc_mutex mu;
static long counter;

static void counter_worker(void *arg)
{
    (void)arg;
    long n = per; /* a local bound, as the twin's (see bench_atomic.c) */
    for (long j = 0; j < n; j++) {
        goc_mutex_lock(&mu);
        counter++;
        goc_mutex_unlock(&mu);
    }
}

static long counter_value(void)
{
    return counter;
}

int main(int argc, char **argv)
{
    return counter_bench("mutex", argc, argv);
}
