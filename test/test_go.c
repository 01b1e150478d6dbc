/* SPDX-License-Identifier: MIT */
/* test_go.c - spawning, ids, goroutine counts, yield, goc_exit, errors. */
#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include "test.h"

/* ---- a million goroutines that each yield and finish ---- */

static long million_n;
static _Atomic long million_done;
static int64_t *million_ids;

static void million_child(void *arg)
{
    long i = (long)(intptr_t)arg;
    million_ids[i] = goc_id();
    goc_yield();
    atomic_fetch_add(&million_done, 1);
}

static void million_main(void *arg)
{
    (void)arg;
    for (long i = 0; i < million_n; i++)
        ASSERT_OK(goc_go(million_child, (void *)(intptr_t)i));
    while (atomic_load(&million_done) < million_n)
        goc_yield();
    /* Every id is unique, and none is main's. */
    int64_t max = 0;
    for (long i = 0; i < million_n; i++) {
        ASSERT_GT(million_ids[i], 1);
        if (million_ids[i] > max)
            max = million_ids[i];
    }
    unsigned char *seen = calloc((size_t)max + 1, 1);
    ASSERT(seen != NULL);
    for (long i = 0; i < million_n; i++) {
        ASSERT_EQ(seen[million_ids[i]], 0);
        seen[million_ids[i]] = 1;
    }
    free(seen);
    /* The children have counted themselves done; wait for them to exit. */
    while (goc_num_goroutine() != 1)
        goc_yield();
}

TEST(go_million)
{
    million_n = scaled(1000000);
    million_ids = calloc((size_t)million_n, sizeof *million_ids);
    run_main(million_main, NULL);
    free(million_ids);
}

/* ---- goc_num_goroutine is exact ---- */

static _Atomic int count_release;
static _Atomic int count_started;

static void count_child(void *arg)
{
    (void)arg;
    atomic_fetch_add(&count_started, 1);
    while (!atomic_load(&count_release))
        goc_yield();
}

static void count_main(void *arg)
{
    (void)arg;
    ASSERT_EQ(goc_num_goroutine(), 1);
    for (int i = 0; i < 100; i++) {
        ASSERT_OK(goc_go(count_child, NULL));
        ASSERT_EQ(goc_num_goroutine(), 2 + i);
    }
    while (atomic_load(&count_started) < 100)
        goc_yield();
    ASSERT_EQ(goc_num_goroutine(), 101);
    atomic_store(&count_release, 1);
    while (goc_num_goroutine() != 1)
        goc_yield();
}

TEST(go_num_goroutine)
{
    ASSERT_EQ(goc_num_goroutine(), 0);
    ASSERT_EQ(goc_id(), 0);
    run_main(count_main, NULL);
    ASSERT_EQ(goc_num_goroutine(), 0);
}

/* ---- main is goroutine 1; ids increase ---- */

static _Atomic int64_t child_id;
static void id_child(void *arg)
{
    (void)arg;
    child_id = goc_id();
}
static void id_main(void *arg)
{
    (void)arg;
    ASSERT_EQ(goc_id(), 1);
    ASSERT_OK(goc_go(id_child, NULL));
    while (child_id == 0)
        goc_yield();
    ASSERT_GT(child_id, 1);
}
TEST(go_main_is_one)
{
    run_main(id_main, NULL);
}

/* ---- GOMAXPROCS 1: yield alternates two goroutines ---- */

static char trace[64];
static _Atomic int trace_len;
static void alt_child(void *arg)
{
    char c = (char)(intptr_t)arg;
    for (int i = 0; i < 4; i++) {
        trace[atomic_fetch_add(&trace_len, 1)] = c;
        goc_yield();
    }
}
static void alt_main(void *arg)
{
    (void)arg;
    ASSERT_OK(goc_go(alt_child, (void *)(intptr_t)'a'));
    ASSERT_OK(goc_go(alt_child, (void *)(intptr_t)'b'));
    while (goc_num_goroutine() > 1)
        goc_yield();
}
TEST(go_yield_alternates)
{
    goc_maxprocs(1);
    /* a, the first of main's two spawns in a row, holds runnext and
     * starts (b joined the ring's tail); then they alternate.  One P
     * stays one P only while its thread runs: a machine that stops that
     * thread for 20 ms (a loaded CI runner, TSan) makes sysmon lend a
     * second P, and the two then run side by side.  So the order is
     * checked over up to three runs, and one must alternate. */
    for (int run = 0; run < 3; run++) {
        atomic_store(&trace_len, 0);
        run_main(alt_main, NULL);
        trace[atomic_load(&trace_len)] = '\0';
        if (strcmp(trace, "abababab") == 0)
            return;
    }
    FAIL("never alternated; last trace \"%s\"", trace);
}

/* ---- a goroutine that exits hands its stack to the next one, if that
 * one has never run: each link of this chain fills a deep frame stack
 * with its own pattern, spawns its successor, checks its pattern and
 * dies from the bottom of the recursion (goc_exit); the successor starts
 * over the dead frames, and must find its own frames intact ---- */

#define RELAY_LINKS 2000
static _Atomic long relay_done;
static goc_chan *relay_end;

static long relay_fill(long id, int depth)
{
    volatile unsigned char buf[512];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (unsigned char)(id * 31 + depth + (long)i);
    long sum = 0;
    if (depth > 0)
        sum = relay_fill(id, depth - 1);
    for (size_t i = 0; i < sizeof buf; i++)
        if (buf[i] != (unsigned char)(id * 31 + depth + (long)i))
            FAIL("link %ld: frame %d overwritten", id, depth);
    return sum + buf[7];
}

static void relay_link(void *arg);
static void relay_die(long id, int depth)
{
    if (depth < 0)
        return; /* never: keeps the compiler from calling this endless */
    if (depth > 0) {
        volatile char pad[256];
        pad[0] = (char)depth;
        relay_die(id, depth - 1);
        (void)pad[0];
        return;
    }
    atomic_fetch_add(&relay_done, 1);
    if (id + 1 == RELAY_LINKS) {
        ASSERT_OK(goc_chan_close(relay_end));
    } else {
        ASSERT_OK(goc_go(relay_link, (void *)(intptr_t)(id + 1)));
    }
    goc_exit(); /* from the bottom of the recursion */
}

static void relay_link(void *arg)
{
    long id = (long)(intptr_t)arg;
    ASSERT_EQ(atomic_load(&relay_done), id); /* in order: one at a time */
    (void)relay_fill(id, (int)(id % 17) + 8);
    relay_die(id, (int)(id % 29) + 1);
    FAIL("goc_exit returned");
}

static void relay_main(void *arg)
{
    (void)arg;
    relay_end = goc_chan_make(0, 0);
    ASSERT_OK(goc_go(relay_link, (void *)0));
    ASSERT_EQ(goc_chan_recv(relay_end, NULL), GOC_ECLOSED);
    ASSERT_EQ(atomic_load(&relay_done), RELAY_LINKS);
    goc_chan_release(relay_end);
}
TEST(go_exit_hands_stack_to_next)
{
    goc_maxprocs(1);
    run_main(relay_main, NULL);
    atomic_store(&relay_done, 0);
    goc_maxprocs(2); /* links may also be stolen */
    run_main(relay_main, NULL);
}

/* ---- goc_exit ends only the calling goroutine ---- */

static _Atomic int exit_reached, exit_after;
static void exit_inner(void)
{
    atomic_store(&exit_reached, 1);
    goc_exit();
}
static void exit_child(void *arg)
{
    (void)arg;
    exit_inner();
    atomic_store(&exit_after, 1); /* never runs */
}
static void exit_main(void *arg)
{
    (void)arg;
    ASSERT_OK(goc_go(exit_child, NULL));
    while (goc_num_goroutine() > 1)
        goc_yield();
    ASSERT_EQ(atomic_load(&exit_reached), 1);
    ASSERT_EQ(atomic_load(&exit_after), 0);
}
TEST(go_exit)
{
    run_main(exit_main, NULL);
}

/* goc_exit in main: the others run on; when none is left, Go's fatal. */
static _Atomic int main_exit_child_done;
static void main_exit_child(void *arg)
{
    (void)arg;
    for (int i = 0; i < 10; i++)
        goc_yield();
    atomic_store(&main_exit_child_done, 1);
    printf("child finished\n");
    fflush(stdout);
}
static void main_exit_main(void *arg)
{
    (void)arg;
    ASSERT_OK(goc_go(main_exit_child, NULL));
    goc_exit();
}
static void main_exit_death(void)
{
    ASSERT_OK(goc_run(main_exit_main, NULL));
    printf("goc_run returned\n");
}
TEST(go_exit_main_deadlock)
{
    static struct death d;
    death_run(&d, main_exit_death);
    ASSERT_STATUS(d, 2);
    ASSERT_CONTAINS(d.out, "child finished");
    ASSERT_CONTAINS(d.out,
        "fatal error: no goroutines (main called goc_exit) - deadlock!");
    ASSERT(strstr(d.out, "goc_run returned") == NULL);
}

/* ---- errors ---- */

static void noop(void *arg)
{
    (void)arg;
}
static void errors_main(void *arg)
{
    (void)arg;
    ASSERT_ERR(goc_go(NULL, NULL), GOC_EINVAL);
    ASSERT_ERR(goc_run(noop, NULL), GOC_EBUSY);
    goc_spawn_opts o = {.stack_size = (size_t)1 << 40};
    ASSERT_ERR(goc_go_opts(&o, noop, NULL), GOC_EINVAL);
}
TEST(go_errors)
{
    ASSERT_ERR(goc_run(NULL, NULL), GOC_EINVAL);
    ASSERT_ERR(goc_go(noop, NULL), GOC_EPERM);
    run_main(errors_main, NULL);
    ASSERT(strcmp(goc_err_name(GOC_ECLOSED), "GOC_ECLOSED") == 0);
    ASSERT(strcmp(goc_strerror(GOC_EINVAL), "invalid argument") == 0);
    ASSERT(strcmp(goc_strerror(-ECONNRESET), "Connection reset by peer") == 0);
    ASSERT(GOC_ECLOSED < -4095);
    ASSERT(strcmp(goc_version_string(), "0.1.0") == 0);
}

/* ---- goc_go_opts: stack size and name ---- */

static _Atomic int big_done;
static void big_child(void *arg)
{
    (void)arg;
    /* Touch most of a 1 MiB stack. */
    volatile char buf[768 * 1024];
    for (size_t i = 0; i < sizeof buf; i += 4096)
        buf[i] = (char)i;
    char out[4096];
    goc_stack(out, sizeof out, false);
    ASSERT_CONTAINS(out, "\"big\"");
    atomic_store(&big_done, 1);
}
static void big_main(void *arg)
{
    (void)arg;
    goc_spawn_opts o = {.stack_size = 1 << 20, .name = "big"};
    ASSERT_OK(goc_go_opts(&o, big_child, NULL));
    ASSERT_OK(goc_go_opts(NULL, noop, NULL));
    while (!atomic_load(&big_done))
        goc_yield();
}
TEST(go_opts)
{
    run_main(big_main, NULL);
}

/* ---- goc_run twice, and goc_go from a plain thread ---- */

static _Atomic int plain_ran;
static void plain_child(void *arg)
{
    (void)arg;
    atomic_store(&plain_ran, 1);
}
static void *plain_thread(void *arg)
{
    (void)arg;
    ASSERT_EQ(goc_id(), 0);
    ASSERT_OK(goc_go(plain_child, NULL));
    return NULL;
}
static void plain_main(void *arg)
{
    (void)arg;
    pthread_t t;
    ASSERT_EQ(pthread_create(&t, NULL, plain_thread, NULL), 0);
    while (!atomic_load(&plain_ran))
        goc_yield();
    pthread_join(t, NULL);
}
TEST(go_from_plain_thread)
{
    run_main(plain_main, NULL);
    atomic_store(&plain_ran, 0);
    run_main(plain_main, NULL); /* a second run starts from scratch */
}

/* ---- GOMAXPROCS 1: a plain thread's goroutine wakes the idle P, and the
 * parked main is not a deadlock while a plain thread may still call ---- */

static _Atomic(test_g *) parked_main;
static bool publish_main(test_g *g, void *arg)
{
    (void)arg;
    atomic_store(&parked_main, g);
    return true;
}
static void wake_main(void *arg)
{
    (void)arg;
    goc__ready(atomic_load(&parked_main));
}
static _Atomic int spawner_known;
static void *late_spawner(void *arg)
{
    (void)arg;
    /* The first goc call makes this thread known to the run: from then on
     * it counts as a possible waker, so a parked main is no deadlock. */
    ASSERT_OK(goc_go(noop, NULL));
    atomic_store(&spawner_known, 1);
    while (atomic_load(&parked_main) == NULL)
        sched_yield();
    usleep(20 * 1000); /* let main's thread go idle first */
    ASSERT_OK(goc_go(wake_main, NULL)); /* must wake the only P */
    return NULL;
}
static void late_main(void *arg)
{
    (void)arg;
    pthread_t t;
    ASSERT_EQ(pthread_create(&t, NULL, late_spawner, NULL), 0);
    while (!atomic_load(&spawner_known))
        goc_yield();
    goc__park(publish_main, NULL, "test: waiting for a plain thread");
    pthread_join(t, NULL);
}
TEST(go_from_plain_thread_one_p)
{
    goc_maxprocs(1);
    run_main(late_main, NULL);
}
