/* SPDX-License-Identifier: MIT */
/* test_sched.c - GOMAXPROCS, parallelism, work stealing, locked threads. */
#include <fenv.h>
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include "test.h"

/* ---- GOMAXPROCS: default, environment, before and during a run ---- */

static void procs_main(void *arg)
{
    int want = (int)(intptr_t)arg;
    ASSERT_EQ(goc_maxprocs(0), want);
    ASSERT_EQ(goc_maxprocs(3), want);
    ASSERT_EQ(goc_maxprocs(-1), 3);
    ASSERT_EQ(goc_maxprocs(1), 3);
    ASSERT_EQ(goc_maxprocs(0), 1);
}
TEST(sched_maxprocs)
{
    unsetenv("GOMAXPROCS");
    int def = goc_maxprocs(0);
    ASSERT_GE(def, 1);
    setenv("GOMAXPROCS", "5", 1);
    ASSERT_EQ(goc_maxprocs(0), 5);
    run_main(procs_main, (void *)(intptr_t)5);
    ASSERT_EQ(goc_maxprocs(7), 5); /* before a run: sets the next one */
    run_main(procs_main, (void *)(intptr_t)7);
    ASSERT_EQ(goc_maxprocs(100000), 7);
    ASSERT_EQ(goc_maxprocs(0), GOC_MAXPROCS_MAX);
}

/* ---- two goroutines spinning on an atomic handshake need two Ps ---- */

static _Atomic long turn;
#define ROUNDS 2000

static void ping(void *arg)
{
    long me = (long)(intptr_t)arg;
    for (long i = 0; i < ROUNDS; i++) {
        while (atomic_load(&turn) % 2 != me)
            ; /* spin: no yield, no park */
        atomic_fetch_add(&turn, 1);
    }
}
static void handshake_main(void *arg)
{
    (void)arg;
    ASSERT_OK(goc_go(ping, (void *)(intptr_t)1));
    ping((void *)(intptr_t)0); /* main is the other side */
    while (goc_num_goroutine() > 1)
        goc_yield();
    ASSERT_EQ(atomic_load(&turn), 2 * ROUNDS);
}
TEST(sched_two_ps_run_in_parallel)
{
    goc_maxprocs(2);
    run_main(handshake_main, NULL);
}

/* ---- an idle P steals work ---- */

#define STEAL_N 64
static int ran_on[STEAL_N];
static bool ran_while_spun[STEAL_N];
static _Atomic int steal_done, spinner_tid;
static void steal_child(void *arg)
{
    ran_on[(intptr_t)arg] = test_gettid();
    ran_while_spun[(intptr_t)arg] = atomic_load(&spinner_tid) != 0;
    atomic_fetch_add(&steal_done, 1);
}
/* One round: spawn STEAL_N children, spin until they all ran.
 * Returns: how many ran on another thread while main spun. */
static int steal_round(void)
{
    atomic_store(&spinner_tid, 0);
    atomic_store(&steal_done, 0);
    for (intptr_t i = 0; i < STEAL_N; i++)
        ASSERT_OK(goc_go(steal_child, (void *)i));
    /* Spin without yielding: main keeps P0, so only another P can run the
     * children, and they sit in P0's queue: it must steal them.  (A
     * spawn may yield for preemption, when the spawns took a whole slice
     * (TSan): the children that ran then ran on main's thread, before
     * the spin, and prove nothing.) */
    int me = test_gettid();
    atomic_store(&spinner_tid, me);
    while (atomic_load(&steal_done) < STEAL_N)
        ;
    int stolen = 0;
    for (int i = 0; i < STEAL_N; i++)
        if (ran_while_spun[i]) {
            ASSERT_NE(ran_on[i], me);
            stolen++;
        }
    return stolen;
}
static void steal_main(void *arg)
{
    (void)arg;
    /* The other P may steal and run every child before main starts its
     * spin (seen under qemu): such a round shows no steal while spun,
     * so it is run again, up to 20 times. */
    int stolen = 0;
    for (int round = 0; round < 20 && stolen == 0; round++)
        stolen = steal_round();
    ASSERT_GT(stolen, 0);
}
TEST(sched_work_stealing)
{
    goc_maxprocs(2);
    run_main(steal_main, NULL);
}

/* ---- GOMAXPROCS changes under load ---- */

static _Atomic long resize_done;
static void resize_child(void *arg)
{
    (void)arg;
    for (int i = 0; i < 10; i++)
        goc_yield();
    atomic_fetch_add(&resize_done, 1);
}
static void resize_main(void *arg)
{
    (void)arg;
    long n = scaled(20000);
    for (long i = 0; i < n; i++) {
        ASSERT_OK(goc_go(resize_child, NULL));
        if (i % 1000 == 0)
            goc_maxprocs(1 + (int)(i / 1000) % 4);
    }
    goc_maxprocs(4);
    while (atomic_load(&resize_done) < n)
        goc_yield();
    goc_maxprocs(1);
    while (goc_num_goroutine() > 1)
        goc_yield();
}
TEST(sched_maxprocs_resize)
{
    run_main(resize_main, NULL);
}

/* ---- goc_lock_os_thread ---- */

static _Atomic int locked_done, others_progress;
static void locked_child(void *arg)
{
    (void)arg;
    goc_lock_os_thread();
    int tid = test_gettid();
    for (int i = 0; i < 200; i++) {
        goc_yield();
        ASSERT_EQ(test_gettid(), tid);
    }
    goc_unlock_os_thread();
    atomic_store(&locked_done, 1);
}
static void busy_child(void *arg)
{
    (void)arg;
    while (!atomic_load(&locked_done)) {
        atomic_fetch_add(&others_progress, 1);
        goc_yield();
    }
}
static void lock_main(void *arg)
{
    (void)arg;
    ASSERT_OK(goc_go(locked_child, NULL));
    ASSERT_OK(goc_go(busy_child, NULL));
    while (!atomic_load(&locked_done))
        goc_yield();
    while (goc_num_goroutine() > 1)
        goc_yield();
    ASSERT_GT(atomic_load(&others_progress), 0);
}
TEST(sched_lock_os_thread)
{
    goc_maxprocs(1); /* the locked thread must hand its P around */
    run_main(lock_main, NULL);
}

/* ---- the floating-point environment ----
 * The rounding mode and exception masks are the thread's, like errno
 * (src/arch.h), unless goc is built with GOC_SWITCH_FPENV; a goroutine
 * locked to its thread keeps them either way. */

static goc_chan *fe_c;
static int fe_seen;

static void fe_other(void *arg)
{
    (void)arg;
    fe_seen = fegetround();
    ASSERT_EQ(fesetround(FE_DOWNWARD), 0);
    ASSERT_OK(goc_chan_send(fe_c, NULL));
}

/* Sets a mode, then exits into a goroutine that has never run: that one
 * starts on this one's stack (goc__g_exit_into), not through a switch. */
static int fe_seen_after_exit;
static void fe_fresh(void *arg)
{
    (void)arg;
    fe_seen_after_exit = fegetround();
    ASSERT_OK(goc_chan_send(fe_c, NULL));
}
static void fe_exiter(void *arg)
{
    (void)arg;
    ASSERT_EQ(fesetround(FE_DOWNWARD), 0);
    ASSERT_OK(goc_go(fe_fresh, NULL));
}

static void fe_main(void *arg)
{
    bool locked = arg != NULL;
    if (locked)
        goc_lock_os_thread();
    fe_c = goc_chan_make(0, 0);
    ASSERT_EQ(fesetround(FE_UPWARD), 0);
    ASSERT_OK(goc_go(fe_other, NULL));
    ASSERT_OK(goc_chan_recv(fe_c, NULL)); /* fe_other runs meanwhile */
#ifdef GOC_SWITCH_FPENV
    ASSERT_EQ(fe_seen, FE_TONEAREST); /* a new goroutine's default */
    ASSERT_EQ(fegetround(), FE_UPWARD);
#else
    if (!locked)
        ASSERT_EQ(fe_seen, FE_UPWARD); /* the one P's thread's mode */
    ASSERT_EQ(fegetround(), locked ? FE_UPWARD : FE_DOWNWARD);
#endif
    if (!locked) {
        ASSERT_OK(goc_go(fe_exiter, NULL));
        ASSERT_OK(goc_chan_recv(fe_c, NULL));
#ifdef GOC_SWITCH_FPENV
        ASSERT_EQ(fe_seen_after_exit, FE_TONEAREST);
#else
        ASSERT_EQ(fe_seen_after_exit, FE_DOWNWARD);
#endif
    }
    ASSERT_EQ(fesetround(FE_TONEAREST), 0);
    goc_chan_release(fe_c);
}
TEST(sched_fpenv)
{
    goc_maxprocs(1); /* both run on the thread that holds the one P */
    run_main(fe_main, NULL);
    run_main(fe_main, (void *)1); /* locked: main keeps its thread's mode */
    ASSERT_EQ(fegetround(), FE_TONEAREST);
}

/* A goroutine that exits while locked takes its thread with it. */
static _Atomic int exiter_tid;
static void locked_exiter(void *arg)
{
    (void)arg;
    goc_lock_os_thread();
    atomic_store(&exiter_tid, test_gettid());
}
static void lock_exit_main(void *arg)
{
    (void)arg;

    ASSERT_OK(goc_go(locked_exiter, NULL));
    while (goc_num_goroutine() > 1 || atomic_load(&exiter_tid) == 0)
        goc_yield();
    /* The exiting thread leaves soon after its goroutine, unless it is
     * the thread that called goc_run: that one waits for the run's end. */
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%d", atomic_load(&exiter_tid));
    if (atomic_load(&exiter_tid) != getpid()) {
        while (access(path, F_OK) == 0)
            goc_yield();
    }
}
TEST(sched_lock_os_thread_exit)
{
    goc_maxprocs(2);
    run_main(lock_exit_main, NULL);
    run_main(lock_exit_main, NULL);
}

/* ---- teardown frees threads and mappings ---- */

static void spin_up(void *arg)
{
    (void)arg;
    for (int i = 0; i < 100; i++)
        goc_yield();
}
static void abandon_child(void *arg)
{
    (void)arg;
    goc__park(NULL, NULL, "test: abandoned");
}
/* More goroutines at once than the header chunks that are mappings of
 * their own hold (2048): the later ones come from a huge-page arena
 * (goroutine.c), which each teardown unmaps and the next run maps anew. */
#define TEARDOWN_ABANDONED 3000
static void teardown_main(void *arg)
{
    (void)arg;
    for (int i = 0; i < 1000; i++)
        ASSERT_OK(goc_go(spin_up, NULL));
    for (int i = 0; i < TEARDOWN_ABANDONED; i++)
        ASSERT_OK(goc_go(abandon_child, NULL)); /* left parked */
    while (goc_num_goroutine() > TEARDOWN_ABANDONED + 1)
        goc_yield();
}
static int count_maps(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    int n = 0, c;
    while ((c = fgetc(f)) != EOF)
        n += c == '\n';
    fclose(f);
    return n;
}
TEST(sched_teardown)
{
    goc_maxprocs(4);
    /* glibc gives each thread that mallocs an arena (64 MiB of address
     * space), up to 8 per CPU, and makes a new one whenever more threads
     * than ever before malloc at once: how many Ms a run has at its peak
     * depends on the machine's load, so arenas would grow the address
     * space without any leak.  Two arenas keep that out of the count. */
    mallopt(M_ARENA_MAX, 2);
    /* Warm up lazily created state: glibc keeps the stacks of exited
     * threads for reuse (two mappings each) and ASan maps a region per
     * size class at first use, so the first runs may add mappings that
     * later runs reuse.  A leak grows with every run. */
    for (int i = 0; i < 3; i++)
        run_main(teardown_main, NULL);
    int threads = test_threads();
    int maps = count_maps();
    long vm = test_vm_kb();
    for (int i = 0; i < 10; i++)
        run_main(teardown_main, NULL);
    /* pthread_join returns when the kernel clears the thread's tid, which
     * is before it takes the task off the process's list: on a loaded
     * machine the count lags the joins (seen: 4 vs 1).  No event says
     * when it is done, so look again, for 5 s at most. */
    int now_threads = test_threads();
    for (int i = 0; i < 500 && now_threads != threads; i++) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
        now_threads = test_threads();
    }
    ASSERT_EQ(now_threads, threads);
    /* Slabs and thread stacks are unmapped.  The address space says it
     * best: a run's slabs are 64 MiB each, and the kernel merges adjacent
     * anonymous mappings, so leaked slabs need not add mappings.  glibc
     * may still reserve a 64 MiB malloc arena (one or two mappings) or
     * cache one more 8 MiB thread stack (two) for a run that used one more
     * thread than any before, so allow a little of both.  TSan maps shadow
     * memory for each new address: no such count holds under it. */
    if (!TEST_TSAN) {
        ASSERT_LT(test_vm_kb() - vm, 200 * 1024);
        ASSERT_LE(count_maps(), maps + 6);
    }
    ASSERT_EQ(goc_num_goroutine(), 0);
}

/* ---- an idle run sleeps in the kernel: no CPU while everything waits ---- */

static _Atomic(test_g *) idle_main_g;
static _Atomic int idle_thread_known;
static bool idle_publish(test_g *g, void *arg)
{
    (void)arg;
    atomic_store(&idle_main_g, g);
    return true;
}
static void idle_noop(void *arg)
{
    (void)arg;
}
static void *idle_waker(void *arg)
{
    (void)arg;
    ASSERT_OK(goc_go(idle_noop, NULL)); /* makes this thread known */
    atomic_store(&idle_thread_known, 1);
    while (atomic_load(&idle_main_g) == NULL)
        sched_yield();
    usleep(300 * 1000);
    goc__ready(atomic_load(&idle_main_g));
    return NULL;
}
static double cpu_seconds(long *switches)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    *switches = ru.ru_nvcsw;
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 +
           (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec * 1e-6;
}
/* A token around a ring of goroutines: a chain of hand-offs, which the
 * other P's spinner cannot take from, and lingers on (proc.c). */
#define IDLE_RING 8
static goc_chan *idle_ring[IDLE_RING];
static goc_wg idle_ring_wg;
static void idle_ring_node(void *arg)
{
    intptr_t i = (intptr_t)arg;
    long hops;
    while (goc_chan_recv(idle_ring[i], &hops) == 0) {
        if (hops == 0) {
            for (int k = 0; k < IDLE_RING; k++)
                ASSERT_OK(goc_chan_close(idle_ring[k]));
            break;
        }
        hops--;
        ASSERT_OK(goc_chan_send(idle_ring[(i + 1) % IDLE_RING], &hops));
    }
    goc_wg_done(&idle_ring_wg);
}
static void idle_main(void *arg)
{
    (void)arg;
    for (int k = 0; k < IDLE_RING; k++)
        idle_ring[k] = goc_chan_make(sizeof(long), 0);
    goc_wg_add(&idle_ring_wg, IDLE_RING);
    for (intptr_t k = 0; k < IDLE_RING; k++)
        ASSERT_OK(goc_go(idle_ring_node, (void *)k));
    long hops = scaled(200000);
    ASSERT_OK(goc_chan_send(idle_ring[0], &hops));
    goc_wg_wait(&idle_ring_wg);
    for (int k = 0; k < IDLE_RING; k++)
        goc_chan_release(idle_ring[k]);
    pthread_t t;
    ASSERT_EQ(pthread_create(&t, NULL, idle_waker, NULL), 0);
    while (!atomic_load(&idle_thread_known))
        goc_yield();
    long s0, s1;
    double c0 = cpu_seconds(&s0);
    /* Every M goes idle while main waits 300 ms for the plain thread. */
    goc__park(idle_publish, NULL, "test: idle");
    double used = cpu_seconds(&s1) - c0;
    pthread_join(t, NULL);
    /* Spinning Ms give up after a few steal passes, or a millisecond of
     * naps after a chain of hand-offs; the rest is futex sleep.  A
     * busy-waiting scheduler would burn ~0.6 s here, one that never
     * stopped napping would switch thousands of times. */
    ASSERT_LT(used * 1000, 60);
    ASSERT_LT(s1 - s0, 200);
}
TEST(sched_idle_uses_no_cpu)
{
    goc_maxprocs(4);
    run_main(idle_main, NULL);
}

/* ---- a pair of goroutines readying each other does not starve the
 * others (GOMAXPROCS 1, no preemption yet) ---- */

static goc_chan *pp_a, *pp_b;
static _Atomic int starved_ran, pp_stop;
static void pp_side(void *arg)
{
    bool first = arg != NULL;
    int v = 0;
    /* Main closes both channels to stop the pair: a send or receive
     * may then fail with GOC_ECLOSED, which ends the side. */
    if (first && goc_chan_send(pp_a, &v) != 0)
        return;
    while (!atomic_load(&pp_stop)) {
        if (goc_chan_recv(first ? pp_b : pp_a, &v) != 0)
            return;
        if (goc_chan_send(first ? pp_a : pp_b, &v) != 0)
            return;
    }
}
static void starved(void *arg)
{
    (void)arg;
    atomic_store(&starved_ran, 1);
}
static void starve_main(void *arg)
{
    (void)arg;
    pp_a = goc_chan_make(sizeof(int), 0);
    pp_b = goc_chan_make(sizeof(int), 0);
    /* The pair first: the first of a storm of spawns holds runnext, the
     * others queue behind it, starved last. */
    ASSERT_OK(goc_go(pp_side, NULL));
    ASSERT_OK(goc_go(pp_side, (void *)1));
    ASSERT_OK(goc_go(starved, NULL));
    while (!atomic_load(&starved_ran))
        goc_yield();                          /* to the global queue */
    atomic_store(&pp_stop, 1);
    ASSERT_OK(goc_chan_close(pp_a));
    ASSERT_OK(goc_chan_close(pp_b));
    while (goc_num_goroutine() > 1)
        goc_yield();
    goc_chan_release(pp_a);
    goc_chan_release(pp_b);
}
TEST(sched_runnext_pair_does_not_starve)
{
    goc_maxprocs(1);
    run_main(starve_main, NULL);
}

/* ---- a spawn storm lets the spawned run: without preemption, a
 * goroutine spawning in a tight loop yields every so often ---- */

static _Atomic long storm_ran;
static void storm_child(void *arg)
{
    (void)arg;
    atomic_fetch_add(&storm_ran, 1);
}
static void storm_main(void *arg)
{
    (void)arg;
    long n = 10000, ran_during = 0;
    for (long i = 0; i < n; i++)
        ASSERT_OK(goc_go(storm_child, NULL));
    ran_during = atomic_load(&storm_ran);
    /* One P: only main's own yields can have run them. */
    ASSERT_GT(ran_during, n / 2);
    while (atomic_load(&storm_ran) < n)
        goc_yield();
}
TEST(sched_spawn_storm_yields)
{
    goc_maxprocs(1);
    run_main(storm_main, NULL);
}

/* ---- a spawn storm whose children yield once: started children wait in
 * the global queue holding their stacks, and the spawner's own yields
 * must let them finish before it starts many more ---- */

static _Atomic long sy_live, sy_peak;
static void sy_child(void *arg)
{
    (void)arg;
    long live = atomic_fetch_add(&sy_live, 1) + 1;
    long peak = atomic_load(&sy_peak);
    while (live > peak && !atomic_compare_exchange_weak(&sy_peak, &peak, live))
        ;
    goc_yield();
    atomic_fetch_sub(&sy_live, 1);
}
static void sy_main(void *arg)
{
    (void)arg;
    long n = scaled(300000);
    for (long i = 0; i < n; i++)
        ASSERT_OK(goc_go(sy_child, NULL));
    while (goc_num_goroutine() > 1)
        goc_yield();
    /* Seen: ~1,000 at most; a spawner that came back ahead of them
     * piled up 150,000 (600 MB of stacks). */
    ASSERT_LT(atomic_load(&sy_peak), 20000);
}
TEST(sched_spawn_yield_bounded)
{
    goc_maxprocs(2);
    run_main(sy_main, NULL);
}

/* ---- a goroutine that exits hands its M straight to the next one in
 * the local queue; a chain of such exits (each goroutine spawns its
 * successor, then exits) must still let timers fire and the global
 * queue be served (GOMAXPROCS 1, no preemption yet) ---- */

static _Atomic int chain_stop;
static _Atomic long chain_len;
static goc_chan *chain_done;
static void chain_link(void *arg)
{
    (void)arg;
    atomic_fetch_add(&chain_len, 1);
    if (atomic_load(&chain_stop)) {
        ASSERT_OK(goc_chan_close(chain_done));
        return;
    }
    ASSERT_OK(goc_go(chain_link, NULL));
}
static void chain_sleeper(void *arg)
{
    (void)arg;
    goc_sleep(GOC_MILLISECOND); /* a timer on our only P */
    atomic_store(&chain_stop, 1);
}
static void chain_yielder(void *arg)
{
    (void)arg;
    goc_yield(); /* to the global queue */
    atomic_store(&chain_stop, 1);
}
static void chain_run(void (*stopper)(void *))
{
    atomic_store(&chain_stop, 0);
    atomic_store(&chain_len, 0);
    chain_done = goc_chan_make(0, 0);
    /* The chain first: it holds runnext, so its first links run before
     * the stopper can stop it. */
    ASSERT_OK(goc_go(chain_link, NULL));
    ASSERT_OK(goc_go(stopper, NULL));
    ASSERT_EQ(goc_chan_recv(chain_done, NULL), GOC_ECLOSED);
    ASSERT_GT(atomic_load(&chain_len), 1);
    goc_chan_release(chain_done);
}
static void chain_main(void *arg)
{
    (void)arg;
    chain_run(chain_sleeper);
    chain_run(chain_yielder);
}
TEST(sched_exit_chain_does_not_starve)
{
    goc_maxprocs(1);
    run_main(chain_main, NULL);
}
