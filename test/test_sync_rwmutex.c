/* SPDX-License-Identifier: MIT */
/* test_sync_rwmutex.c - goc_rwmutex: try operations, readers inside
 * together, a waiting writer keeping new readers out, and exclusion under
 * mixed contention from goroutines and plain threads. */
#include "test_sync.h"

/* ---- zero value and the try operations ---- */

static goc_rwmutex static_rw = GOC_RWMUTEX_INIT;

static void basic_main(void *arg)
{
    (void)arg;
    goc_rwmutex rw = {0};
    goc_rwmutex_rlock(&rw);
    goc_rwmutex_rlock(&rw); /* readers share it */
    ASSERT(goc_rwmutex_tryrlock(&rw));
    ASSERT(!goc_rwmutex_trylock(&rw));
    goc_rwmutex_runlock(&rw);
    goc_rwmutex_runlock(&rw);
    goc_rwmutex_runlock(&rw);
    ASSERT(goc_rwmutex_trylock(&rw));
    ASSERT(!goc_rwmutex_trylock(&rw));
    ASSERT(!goc_rwmutex_tryrlock(&rw));
    goc_rwmutex_unlock(&rw);
    goc_rwmutex_lock(&rw);
    ASSERT(!goc_rwmutex_tryrlock(&rw));
    goc_rwmutex_unlock(&rw);
    ASSERT(goc_rwmutex_tryrlock(&rw));
    goc_rwmutex_runlock(&rw);

    goc_rwmutex_lock(&static_rw);
    goc_rwmutex_unlock(&static_rw);
}
TEST(sync_rwmutex_basic)
{
    run_main(basic_main, NULL);
}

/* ---- readers really hold it together: each waits, holding its read
 * lock, until all of them are inside ---- */

#define NREADERS 6
static goc_rwmutex trw;
static _Atomic int together;

static void together_reader(void *arg)
{
    (void)arg;
    goc_rwmutex_rlock(&trw);
    atomic_fetch_add(&together, 1);
    while (atomic_load(&together) < NREADERS)
        goc_yield();
    goc_rwmutex_runlock(&trw);
}
static void together_main(void *arg)
{
    (void)arg;
    goc_wg wg = {0};
    struct threads ts;
    threads_start(&ts, 2, together_reader, NULL);
    for (int i = 0; i < NREADERS - 2; i++)
        ASSERT_OK(goc_wg_go(&wg, together_reader, NULL));
    goc_wg_wait(&wg);
    threads_join(&ts);
    ASSERT(goc_rwmutex_trylock(&trw)); /* all gone */
    goc_rwmutex_unlock(&trw);
}
TEST(sync_rwmutex_readers_together)
{
    run_main(together_main, NULL);
}

/* ---- writer preference: with a reader inside and a writer waiting, a
 * new reader waits for the writer ---- */

static goc_rwmutex prw;
static _Atomic int order_next, writer_order, reader_order;

static void pref_writer(void *arg)
{
    (void)arg;
    goc_rwmutex_lock(&prw);
    atomic_store(&writer_order, atomic_fetch_add(&order_next, 1));
    goc_rwmutex_unlock(&prw);
}
static void pref_reader(void *arg)
{
    (void)arg;
    goc_rwmutex_rlock(&prw);
    atomic_store(&reader_order, atomic_fetch_add(&order_next, 1));
    goc_rwmutex_runlock(&prw);
}
static void preference_main(void *arg)
{
    (void)arg;
    atomic_store(&order_next, 1);
    goc_wg wg = {0};
    goc_rwmutex_rlock(&prw);
    ASSERT_OK(goc_wg_go(&wg, pref_writer, NULL));
    /* Until the writer is pending, a try-read succeeds. */
    while (goc_rwmutex_tryrlock(&prw)) {
        goc_rwmutex_runlock(&prw);
        goc_yield();
    }
    ASSERT_OK(goc_wg_go(&wg, pref_reader, NULL));
    for (int i = 0; i < 10; i++)
        goc_yield(); /* the reader runs, finds the writer pending, waits */
    ASSERT_EQ(atomic_load(&reader_order), 0);
    ASSERT_EQ(atomic_load(&writer_order), 0);
    goc_rwmutex_runlock(&prw); /* the writer gets in, then the reader */
    goc_wg_wait(&wg);
    ASSERT_EQ(atomic_load(&writer_order), 1);
    ASSERT_EQ(atomic_load(&reader_order), 2);
}
TEST(sync_rwmutex_writer_preference)
{
    run_main(preference_main, NULL);
}

/* ---- a stream of readers does not starve a writer: readers overlap all
 * the time, yet the writer gets in and each reader after it waits ---- */

static goc_rwmutex srw;
static _Atomic int stream_stop;
static _Atomic long stream_reads;

static void stream_reader(void *arg)
{
    (void)arg;
    while (!atomic_load(&stream_stop)) {
        goc_rwmutex_rlock(&srw);
        atomic_fetch_add(&stream_reads, 1);
        goc_yield(); /* stay inside while the others come in */
        goc_rwmutex_runlock(&srw);
    }
}
static void stream_main(void *arg)
{
    (void)arg;
    goc_wg wg = {0};
    for (int i = 0; i < 4; i++)
        ASSERT_OK(goc_wg_go(&wg, stream_reader, NULL));
    while (atomic_load(&stream_reads) < 100)
        goc_yield();
    for (int k = 0; k < 10; k++) {
        goc_rwmutex_lock(&srw);
        goc_rwmutex_unlock(&srw);
    }
    atomic_store(&stream_stop, 1);
    goc_wg_wait(&wg);
}
TEST(sync_rwmutex_writer_not_starved)
{
    run_main(stream_main, NULL);
}

/* ---- exclusion under mixed contention: a writer is alone; readers see
 * the plain pair (a, b) whole ---- */

static goc_rwmutex xrw;
static long xa, xb, xiters;
static _Atomic int xreaders, xwriters;

static void mixed(void *arg)
{
    (void)arg;
    for (long i = 0; i < xiters; i++) {
        if (i % 8 == 0) {
            goc_rwmutex_lock(&xrw);
            ASSERT_EQ(atomic_fetch_add(&xwriters, 1), 0);
            ASSERT_EQ(atomic_load(&xreaders), 0);
            xa++;
            if (i % 64 == 0)
                goc_yield();
            xb++;
            atomic_fetch_sub(&xwriters, 1);
            goc_rwmutex_unlock(&xrw);
        } else {
            bool got = i % 3 == 0 ? goc_rwmutex_tryrlock(&xrw) : false;
            if (!got)
                goc_rwmutex_rlock(&xrw);
            atomic_fetch_add(&xreaders, 1);
            ASSERT_EQ(atomic_load(&xwriters), 0);
            ASSERT_EQ(xa, xb);
            atomic_fetch_sub(&xreaders, 1);
            goc_rwmutex_runlock(&xrw);
        }
    }
}
static void mixed_main(void *arg)
{
    (void)arg;
    xiters = scaled(40000);
    goc_wg wg = {0};
    struct threads ts;
    threads_start(&ts, 2, mixed, NULL);
    for (int i = 0; i < 6; i++)
        ASSERT_OK(goc_wg_go(&wg, mixed, NULL));
    goc_wg_wait(&wg);
    threads_join(&ts);
    ASSERT_EQ(xa, 8 * ((xiters + 7) / 8));
    ASSERT_EQ(xb, xa);
}
TEST(sync_rwmutex_contention)
{
    run_main(mixed_main, NULL);
}
