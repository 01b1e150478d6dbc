/* SPDX-License-Identifier: MIT */
/*
 * rwmutex_cache.c - the tour: a read-heavy cache behind a goc_rwmutex
 * (sync.RWMutex).
 *
 * Eight goroutines look keys up in a small cache; one in a thousand
 * lookups misses and stores the value.  Lookups take the read lock, so
 * they run side by side; a store takes the write lock, which waits for
 * the readers inside and keeps new ones out until it is done (so a steady
 * stream of readers cannot starve it).  The same work with a plain
 * goc_mutex serialises every lookup.  The program prints how many readers
 * were inside at once, at most, and the time for each lock.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */

#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

#include <goc.h>

#include "must.h"

#define READERS 8
#define LOOKUPS 5000
#define SLOTS 64

static long cache[SLOTS];
static goc_rwmutex rw;
static goc_mutex mu;
static bool use_rw;
static _Atomic int inside, most_inside;

static long compute(long key)
{
    return key * 1000 + 7;
}

/* Read the slot and work on the value a little (say, format it) while
 * still holding the lock: with the rwmutex others are inside beside us. */
static long read_slot(long key)
{
    int now = atomic_fetch_add(&inside, 1) + 1;
    int most = atomic_load(&most_inside);
    while (now > most &&
           !atomic_compare_exchange_weak(&most_inside, &most, now))
        ;
    long v = cache[key % SLOTS];
    volatile long work = v; /* local: the readers share no cache line */
    for (int i = 0; i < 2000; i++)
        work = work + (v ^ i);
    if (key % 256 == 0)
        goc_yield();
    atomic_fetch_sub(&inside, 1);
    return v;
}

static void lookup(long key)
{
    if (use_rw) {
        goc_rwmutex_rlock(&rw);
        long v = read_slot(key);
        goc_rwmutex_runlock(&rw);
        if (v != 0 && key % 1000 != 0)
            return;
        goc_rwmutex_lock(&rw); /* a miss: store it */
        cache[key % SLOTS] = compute(key % SLOTS);
        goc_rwmutex_unlock(&rw);
    } else {
        goc_mutex_lock(&mu);
        long v = read_slot(key);
        if (v == 0 || key % 1000 == 0)
            cache[key % SLOTS] = compute(key % SLOTS);
        goc_mutex_unlock(&mu);
    }
}

static void reader(void *arg)
{
    long seed = (long)(intptr_t)arg;
    for (long i = 0; i < LOOKUPS; i++)
        lookup(seed * 7919 + i);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void run(bool rwlock)
{
    use_rw = rwlock;
    atomic_store(&most_inside, 0);
    goc_wg wg = {0};
    double t0 = now_s();
    for (long r = 0; r < READERS; r++)
        MUST(goc_wg_go(&wg, reader, (void *)(intptr_t)r));
    goc_wg_wait(&wg);
    double el = now_s() - t0;
    printf("%-14s %d goroutines x %d lookups: at most %d inside at once, "
           "%.1f ms\n", rwlock ? "goc_rwmutex:" : "goc_mutex:", READERS,
           LOOKUPS, atomic_load(&most_inside), el * 1e3);
}

static void tour(void *arg)
{
    (void)arg;
    run(false);
    run(true);
    for (long k = 0; k < SLOTS; k++)
        if (cache[k] != compute(k)) {
            printf("cache slot %ld is wrong\n", k);
            return;
        }
    printf("every slot holds its value: writers were alone, readers saw "
           "whole values\n");
}

int main(void)
{
    return goc_run(tour, NULL) == 0 ? 0 : 1;
}
