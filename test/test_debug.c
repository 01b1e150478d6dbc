/* SPDX-License-Identifier: MIT */
/* test_debug.c - deadlock detection and goroutine dumps. */
#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include "test.h"

/* Goroutines that have parked for good (counted from the unlockf, which
 * runs once the goroutine is off its stack). */
static _Atomic int parked;
static bool count_parked(test_g *g, void *arg)
{
    (void)g;
    (void)arg;
    atomic_fetch_add(&parked, 1);
    return true;
}

__attribute__((noinline)) static void park_forever(const char *reason)
{
    goc__park(count_parked, NULL, reason);
    FAIL("woke from a park nobody can end");
}

/* ---- main alone, parked forever ---- */

static void lonely_main(void *arg)
{
    (void)arg;
    park_forever("chan receive");
}
static void lonely_death(void)
{
    ASSERT_OK(goc_run(lonely_main, NULL));
}
TEST(deadlock_main_alone)
{
    static struct death d;
    death_run(&d, lonely_death);
    ASSERT_STATUS(d, 2);
    char line[256];
    ASSERT(strcmp(first_line(&d, line, sizeof line),
                  "fatal error: all goroutines are asleep - deadlock!") == 0);
    ASSERT_CONTAINS(d.out, "\n\ngoroutine 1 [chan receive]:\n");
    ASSERT_CONTAINS(d.out, "lonely_main(...)");
}

/* GOC_TRACEBACK=none, set before goc_run (the environment is parsed once
 * there, not at the failure): the first line only. */
static void traceback_none_death(void)
{
    setenv("GOC_TRACEBACK", "none", 1);
    ASSERT_OK(goc_run(lonely_main, NULL));
}
TEST(deadlock_traceback_none)
{
    static struct death d;
    death_run(&d, traceback_none_death);
    ASSERT_STATUS(d, 2);
    ASSERT(strcmp(d.out,
                  "fatal error: all goroutines are asleep - deadlock!\n") == 0);
}

/* ---- several goroutines, each stuck; the dump names every one ---- */

static void stuck_sender(void *arg)
{
    (void)arg;
    park_forever("chan send");
}
static void stuck_selector(void *arg)
{
    (void)arg;
    park_forever("select");
}
static void crowd_main(void *arg)
{
    (void)arg;
    ASSERT_OK(goc_go(stuck_sender, NULL));
    goc_spawn_opts o = {.name = "selector"};
    ASSERT_OK(goc_go_opts(&o, stuck_selector, NULL));
    for (int i = 0; i < 10; i++)
        goc_yield(); /* let them park */
    park_forever("chan receive (nil chan)");
}
static void crowd_death(void)
{
    goc_maxprocs(2);
    ASSERT_OK(goc_run(crowd_main, NULL));
}
TEST(deadlock_crowd)
{
    static struct death d;
    death_run(&d, crowd_death);
    ASSERT_STATUS(d, 2);
    char line[256];
    ASSERT(strcmp(first_line(&d, line, sizeof line),
                  "fatal error: all goroutines are asleep - deadlock!") == 0);
    ASSERT_CONTAINS(d.out, "goroutine 1 [chan receive (nil chan)]:\n");
    ASSERT_CONTAINS(d.out, "[chan send]:\npark_forever(...)\n");
    ASSERT_CONTAINS(d.out, "[select] \"selector\":\npark_forever(...)\n");
    ASSERT_CONTAINS(d.out, "stuck_sender(...)\n");
    ASSERT_CONTAINS(d.out, "stuck_selector(...)\n");
    ASSERT_CONTAINS(d.out, "created by crowd_main in goroutine 1\n");
}

/* ---- no false alarm while a goroutine can still run ---- */

static _Atomic int worker_done;
static void slow_worker(void *arg)
{
    (void)arg;
    for (int i = 0; i < 1000; i++)
        goc_yield();
    atomic_store(&worker_done, 1);
}
static void no_alarm_main(void *arg)
{
    (void)arg;
    /* One goroutine parked forever, another still working: not a
     * deadlock.  Main waits for the worker, then returns normally. */
    ASSERT_OK(goc_go(stuck_sender, NULL));
    ASSERT_OK(goc_go(slow_worker, NULL));
    while (!atomic_load(&worker_done))
        goc_yield();
}
TEST(deadlock_not_while_running)
{
    goc_maxprocs(2);
    run_main(no_alarm_main, NULL);
}

/* ---- goc_stack and goc_dump on demand ---- */

static void dump_self_main(void *arg)
{
    (void)arg;
    char buf[4096];
    size_t n = goc_stack(buf, sizeof buf, false);
    ASSERT_EQ(n, strlen(buf));
    ASSERT(strncmp(buf, "goroutine 1 [running]:\ndump_self_main(...)\n",
                   43) == 0);
    /* A tiny buffer truncates, NUL-terminated. */
    char small[10];
    ASSERT_EQ(goc_stack(small, sizeof small, false), 9);
    ASSERT_EQ(small[9], '\0');
}
TEST(dump_stack_self)
{
    char buf[16] = "x";
    ASSERT_EQ(goc_stack(buf, sizeof buf, true), 0); /* no goroutine here */
    run_main(dump_self_main, NULL);
}

static void dump_all_main(void *arg)
{
    (void)arg;
    ASSERT_OK(goc_go(stuck_sender, NULL));
    goc_spawn_opts o = {.name = "selector"};
    ASSERT_OK(goc_go_opts(&o, stuck_selector, NULL));
    while (atomic_load(&parked) < 2)
        goc_yield();
    static char buf[64 * 1024];
    goc_stack(buf, sizeof buf, true);
    ASSERT(strncmp(buf, "goroutine 1 [running]:\n", 23) == 0);
    ASSERT_CONTAINS(buf, "[chan send]:\npark_forever(...)\n");
    ASSERT_CONTAINS(buf, "stuck_sender(...)\n");
    ASSERT_CONTAINS(buf, "[select] \"selector\":\n");
    ASSERT_CONTAINS(buf, "created by dump_all_main in goroutine 1\n");
    /* goc_dump writes the same to a descriptor. */
    int fds[2];
    ASSERT(pipe(fds) == 0);
    goc_dump(fds[1]);
    close(fds[1]);
    static char out[64 * 1024];
    ssize_t r, n = 0;
    while ((r = read(fds[0], out + n, sizeof out - 1 - (size_t)n)) > 0)
        n += r;
    out[n] = '\0';
    close(fds[0]);
    ASSERT_CONTAINS(out, "[chan send]:\npark_forever(...)\n");
    ASSERT_CONTAINS(out, "goroutine 1 [running]:\n");
}
TEST(dump_all)
{
    goc_maxprocs(2);
    run_main(dump_all_main, NULL);
}

/* ---- runtime frames are hidden by where they live, not by name ---- */

/* Blocks in goc_select, whose static helpers (select.c) sit on the stack
 * between it and the park: the dump must leave them out and show the user
 * frames below. */
__attribute__((noinline)) static void select_forever(goc_chan *c)
{
    int v;
    goc_case cs[] = {GOC_RECV_CASE(c, &v), GOC_RECV_CASE(c, &v)};
    int i = goc_select(cs, 2); /* until main closes c */
    ASSERT(i == 0 || i == 1);
    ASSERT_ERR(cs[i].err, GOC_ECLOSED);
}
static _Atomic int selwait_done;
static void selwait(void *arg)
{
    select_forever(arg);
    atomic_store(&selwait_done, 1);
}
static void dump_hides_main(void *arg)
{
    (void)arg;
    goc_chan *c = goc_chan_make(sizeof(int), 0);
    goc_spawn_opts o = {.name = "selwait"};
    ASSERT_OK(goc_go_opts(&o, selwait, c));
    static char buf[64 * 1024];
    const char *g; /* the selwait goroutine's part of the dump */
    for (;;) { /* until it has parked in its select */
        goc_stack(buf, sizeof buf, true);
        if ((g = strstr(buf, "[select] \"selwait\":\n")) != NULL)
            break;
        goc_yield();
    }
    ASSERT_CONTAINS(g, "select_forever(...)\n");
    ASSERT_CONTAINS(g, "selwait(...)\n");
    ASSERT(strstr(g, "select_block") == NULL);
    ASSERT(strstr(g, "select_mode") == NULL);
    ASSERT(strstr(g, "goc__") == NULL);
    ASSERT_OK(goc_chan_close(c));
    while (!atomic_load(&selwait_done))
        goc_yield();
    goc_chan_release(c);
}
TEST(dump_hides_static_runtime_frames)
{
    run_main(dump_hides_main, NULL);
}

/* ---- dumps racing with hand-offs ---- */

/* Pairs of goroutines ping-pong over unbuffered channels (every round
 * parks one and runs the other, often on the other P) while the main
 * goroutine and a plain thread dump everything again and again.  A dump
 * must never walk a stack while its goroutine runs (at GOC_DEBUG >= 2
 * the dump checks that itself) and must always see every worker in one
 * of the states a worker can be in.  (Neither dumper may loop until the
 * other has dumped: the dump lock is not fair.) */
#define RACE_PAIRS 4
static goc_chan *race_start;
static _Atomic bool race_stop;
static _Atomic long race_rounds;

struct race_pair {
    goc_chan *c;
    bool pinger;
};

/* The pinger sends until race_stop, then -1; the ponger echoes. */
static void race_worker(void *arg)
{
    struct race_pair *rp = arg;
    ASSERT_ERR(goc_chan_recv(race_start, NULL), GOC_ECLOSED);
    for (int v = 0;; v++) {
        if (rp->pinger) {
            int out = atomic_load(&race_stop) ? -1 : v;
            ASSERT_OK(goc_chan_send(rp->c, &out));
            if (out < 0)
                return;
            int in;
            ASSERT_OK(goc_chan_recv(rp->c, &in));
            ASSERT_EQ(in, v);
            atomic_fetch_add(&race_rounds, 1);
        } else {
            int in;
            ASSERT_OK(goc_chan_recv(rp->c, &in));
            if (in < 0)
                return;
            ASSERT_OK(goc_chan_send(rp->c, &in));
        }
    }
}

/* Every worker's header in dump text buf names a state a worker can be
 * in (the first header, the dumper itself or a worker, is not looked at).
 * Returns: how many it saw. */
static int race_check(const char *buf, bool started)
{
    int n = 0;
    for (const char *p = buf; (p = strstr(p, "\ngoroutine ")) != NULL; p++) {
        const char *st = strchr(p, '[');
        ASSERT(st != NULL);
        bool ok = strncmp(st, "[chan receive]", 14) == 0;
        if (started)
            ok = ok || strncmp(st, "[chan send]", 11) == 0 ||
                 strncmp(st, "[runnable]", 10) == 0 ||
                 strncmp(st, "[running]", 9) == 0;
        if (!ok)
            FAIL("unexpected state in:\n%.200s", p + 1);
        n++;
    }
    return n;
}

static void *race_thread(void *arg)
{
    (void)arg;
    static char buf[64 * 1024];
    for (long i = 0; i < scaled(100); i++) {
        goc_stack(buf, sizeof buf, true); /* not a goroutine: every one */
        ASSERT_LE(race_check(buf, true), 2 * RACE_PAIRS);
    }
    return NULL;
}

static void race_main(void *arg)
{
    (void)arg;
    race_start = goc_chan_make(0, 0);
    static struct race_pair rp[RACE_PAIRS][2];
    goc_wg wg = {0};
    for (int i = 0; i < RACE_PAIRS; i++) {
        goc_chan *c = goc_chan_make(sizeof(int), 0);
        for (int j = 0; j < 2; j++) {
            rp[i][j] = (struct race_pair){c, j == 0};
            ASSERT_OK(goc_wg_go(&wg, race_worker, &rp[i][j]));
        }
    }
    static char buf[64 * 1024];
    /* Before the start every worker waits on race_start. */
    for (;;) {
        goc_stack(buf, sizeof buf, true);
        int waiting = 0;
        for (const char *p = buf; (p = strstr(p, "[chan receive]")) != NULL;
             p++)
            waiting++;
        if (waiting == 2 * RACE_PAIRS)
            break;
        goc_yield();
    }
    ASSERT_EQ(race_check(buf, false), 2 * RACE_PAIRS);
    pthread_t t;
    ASSERT_EQ(pthread_create(&t, NULL, race_thread, NULL), 0);
    ASSERT_OK(goc_chan_close(race_start));
    for (long i = 0; i < scaled(300); i++) {
        goc_stack(buf, sizeof buf, true);
        ASSERT_LE(race_check(buf, true), 2 * RACE_PAIRS);
        goc_yield();
    }
    ASSERT_EQ(pthread_join(t, NULL), 0); /* the workers run on meanwhile */
    atomic_store(&race_stop, true);
    goc_wg_wait(&wg);
    ASSERT_GT(atomic_load(&race_rounds), 0);
    for (int i = 0; i < RACE_PAIRS; i++)
        goc_chan_release(rp[i][0].c);
    goc_chan_release(race_start);
}
TEST(dump_races_handoffs)
{
    goc_maxprocs(2);
    run_main(race_main, NULL);
}

/* ---- a locked thread's goroutine parked forever is a deadlock too ---- */

static void locked_main(void *arg)
{
    (void)arg;
    goc_lock_os_thread();
    park_forever("select (no cases)");
}
static void locked_death(void)
{
    goc_maxprocs(2);
    ASSERT_OK(goc_run(locked_main, NULL));
}
TEST(deadlock_locked_thread)
{
    static struct death d;
    death_run(&d, locked_death);
    ASSERT_STATUS(d, 2);
    ASSERT_CONTAINS(d.out,
                    "fatal error: all goroutines are asleep - deadlock!\n");
    ASSERT_CONTAINS(d.out,
                    "goroutine 1 [select (no cases), locked to thread]:\n");
}

/* ---- SIGQUIT dumps every goroutine and exits 2, as in Go ---- */

static void quit_main(void *arg)
{
    (void)arg;
    ASSERT_OK(goc_go(stuck_sender, NULL));
    while (atomic_load(&parked) < 1)
        goc_yield();
    raise(SIGQUIT);
    /* The handler sends it on to sysmon, which dumps and exits: this
     * goroutine runs on meanwhile (shown running, where it spins). */
    int64_t end = goc_now() + (int64_t)10 * 1000 * 1000 * 1000;
    while (goc_now() < end)
        ;
    FAIL("survived SIGQUIT");
}
static void quit_death(void)
{
    ASSERT_OK(goc_run(quit_main, NULL));
}
static void quit_exec_ignored(void)
{
    signal(SIGQUIT, SIG_IGN);
    setenv("GOC_TEST_QUIT_CHILD", "1", 1);
    /* The path, not /proc/self/exe itself: under valgrind that is
     * valgrind's tool, and readlink is answered with the program's. */
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        _exit(98);
    self[n] = '\0';
    execl(self, "goc_tests", "dump_on_sigquit_inherited_ignored",
          (char *)NULL);
    _exit(99);
}
/* A death by SIGQUIT: exit 2, the signal named first, the parked
 * sender in the dump. */
static bool test_under_valgrind(void);
static void assert_quit_dump(const struct death *d)
{
    ASSERT_STATUS(*d, 2);
    char line[256];
    ASSERT(strcmp(first_line(d, line, sizeof line), "SIGQUIT: quit") == 0);
    /* (ASan may print its swapcontext warning between the two lines: the
     * dump's first line lookup switches stacks.) */
    ASSERT_CONTAINS(d->out, " [chan send]:\n");
    ASSERT_CONTAINS(d->out, "\npark_forever(...)\n");
}
TEST(dump_on_sigquit)
{
    static struct death d;
    death_run(&d, quit_death);
    assert_quit_dump(&d);
    ASSERT_CONTAINS(d.out, "goroutine 1 [running]:\n");
}

/* SIGQUIT left ignored by the parent (a process started with it
 * ignored): the dump all the same, as Go.  The child ignores SIGQUIT and
 * execs this test again, which then runs quit_death. */
TEST(dump_on_sigquit_inherited_ignored)
{
    if (getenv("GOC_TEST_QUIT_CHILD") != NULL) {
        quit_death();
        return;
    }
    if (TEST_EMULATED)
        return; /* an exec of the test binary would not go through qemu */
    static struct death d;
    death_run(&d, quit_exec_ignored);
    assert_quit_dump(&d);
}

/* SIGQUIT to an idle program: sysmon, caught in its sleep, prints the
 * dump with source lines (when libdw loads and the tests have line
 * tables; TSan would report libdw's allocations in a handler).  The
 * signal comes from a plain thread while main sleeps: every P idle. */
static void *quit_later(void *arg)
{
    (void)arg;
    while (atomic_load(&parked) < 1)
        usleep(1000);
    usleep(20 * 1000); /* main is asleep by now, or soon */
    pthread_kill(pthread_self(), SIGQUIT);
    return NULL;
}
static void quit_idle_main(void *arg)
{
    (void)arg;
    ASSERT_OK(goc_go(stuck_sender, NULL));
    pthread_t t;
    ASSERT(pthread_create(&t, NULL, quit_later, NULL) == 0);
    ASSERT(pthread_detach(t) == 0);
    goc_sleep((int64_t)10 * 1000 * 1000 * 1000);
    FAIL("survived SIGQUIT");
}
static void quit_idle_death(void)
{
    ASSERT_OK(goc_run(quit_idle_main, NULL));
}
TEST(dump_sigquit_has_lines)
{
    static struct death d;
    death_run(&d, quit_idle_death);
    assert_quit_dump(&d);
    ASSERT_CONTAINS(d.out, "goroutine 1 [sleep]:\n"); /* (ASan may warn */
    ASSERT_CONTAINS(d.out, "goc_sleep(...)\n");       /*  in between) */
    void *dw = dlopen("libdw.so.1", RTLD_NOW | RTLD_LOCAL);
    if (TEST_DEBUGINFO && dw != NULL && !test_under_valgrind() && !TEST_TSAN)
        ASSERT_CONTAINS(d.out, "park_forever(...)\n\t" __FILE__ ":");
    if (dw != NULL)
        dlclose(dw);
}

/* A program that blocks SIGQUIT everywhere and waits for it with sigwait
 * keeps it: goc's handler (and sysmon, which inherits the mask) stays
 * out of the way. */
static void *quit_waiter(void *arg)
{
    sigset_t *set = arg;
    int sig = 0;
    if (sigwait(set, &sig) == 0 && sig == SIGQUIT) {
        printf("sigwait: SIGQUIT\n");
        fflush(stdout);
        _exit(0);
    }
    _exit(97);
}
static void quit_sigwait_main(void *arg)
{
    (void)arg;
    kill(getpid(), SIGQUIT);
    goc_sleep((int64_t)10 * 1000 * 1000 * 1000);
    FAIL("nobody took SIGQUIT");
}
static void quit_sigwait_death(void)
{
    static sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGQUIT);
    ASSERT(pthread_sigmask(SIG_BLOCK, &set, NULL) == 0);
    pthread_t t;
    ASSERT(pthread_create(&t, NULL, quit_waiter, &set) == 0);
    ASSERT_OK(goc_run(quit_sigwait_main, NULL));
}
TEST(dump_sigquit_sigwait_by_program)
{
    static struct death d;
    death_run(&d, quit_sigwait_death);
    ASSERT_STATUS(d, 0);
    ASSERT_CONTAINS(d.out, "sigwait: SIGQUIT\n");
    ASSERT(strstr(d.out, "goroutine ") == NULL);
}

/* A program that ignores SIGQUIT itself keeps it ignored. */
static void quit_ignored_main(void *arg)
{
    (void)arg;
    raise(SIGQUIT);
}
static void quit_ignored_death(void)
{
    signal(SIGQUIT, SIG_IGN);
    ASSERT_OK(goc_run(quit_ignored_main, NULL));
    printf("ignored\n");
}
TEST(dump_sigquit_ignored_by_program)
{
    static struct death d;
    death_run(&d, quit_ignored_death);
    ASSERT_STATUS(d, 0);
    ASSERT_CONTAINS(d.out, "ignored\n");
}

/* ---- frames point at the line (srclines.c) ---- */

#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
static bool test_under_valgrind(void)
{
    return RUNNING_ON_VALGRIND;
}
#else
static bool test_under_valgrind(void)
{
    return false;
}
#endif

static goc_chan *line_ch;
static _Atomic int line_parked_at; /* read by line_main: no race */
static int line_spawned_at;

static void line_parked(void *arg)
{
    (void)arg;
    int at = __LINE__ + 2; /* the line of the call */
    atomic_store_explicit(&line_parked_at, at, memory_order_relaxed);
    ASSERT_EQ(goc_chan_recv(line_ch, NULL), GOC_ECLOSED);
}

static void line_main(void *arg)
{
    static char buf[1 << 16];
    (void)arg;
    line_ch = goc_chan_make(0, 0);
    line_spawned_at = __LINE__ + 1;
    ASSERT_OK(goc_go(line_parked, NULL));
    while (atomic_load_explicit(&line_parked_at, memory_order_relaxed) == 0)
        goc_yield();
    for (int i = 0; i < 100000; i++) { /* until it waits */
        goc_stack(buf, sizeof buf, true);
        if (strstr(buf, "goroutine 2 [chan receive]:\n") != NULL)
            break;
        goc_yield();
    }
    ASSERT_CONTAINS(buf, "goroutine 2 [chan receive]:\n");
    ASSERT_CONTAINS(buf, "line_parked(...)\n\t");
    char want[128];
    /* libdw loads, this file has line tables, and no valgrind (where goc
     * leaves libdw out): file:line, Go's layout; else the module and its
     * offset. */
    void *dw = dlopen("libdw.so.1", RTLD_NOW | RTLD_LOCAL);
    if (TEST_DEBUGINFO && dw != NULL && !test_under_valgrind()) {
        snprintf(want, sizeof want, "line_parked(...)\n\t%s:%d +0x",
                 __FILE__,
                 atomic_load_explicit(&line_parked_at, memory_order_relaxed));
        ASSERT_CONTAINS(buf, want);
        snprintf(want, sizeof want,
                 "created by line_main in goroutine 1\n\t%s:%d +0x",
                 __FILE__, line_spawned_at);
        ASSERT_CONTAINS(buf, want);
    } else {
        ASSERT_CONTAINS(buf, "line_parked(...)\n\t");
        ASSERT_CONTAINS(buf, "goc_tests +0x");
    }
    if (dw != NULL)
        dlclose(dw);
    ASSERT_OK(goc_chan_close(line_ch));
    while (goc_num_goroutine() > 1)
        goc_yield();
    goc_chan_release(line_ch);
}

TEST(dump_file_line)
{
    ASSERT_OK(goc_run(line_main, NULL));
}

/* ---- the last running thread leaves with its locked goroutine ---- */

static _Atomic int leaver_locked;
static void locked_leaver(void *arg)
{
    (void)arg;
    goc_lock_os_thread();
    atomic_store(&leaver_locked, 1);
    while (atomic_load(&parked) < 1) /* until main has parked */
        goc_yield();
    /* Exit while locked: this thread ends, and it was the last one
     * running. */
}
static void leaver_main(void *arg)
{
    (void)arg;
    ASSERT_OK(goc_go(locked_leaver, NULL));
    /* Keep this thread busy so the leaver locks itself to another one. */
    while (!atomic_load(&leaver_locked))
        ;
    park_forever("chan receive");
}
static void leaver_death(void)
{
    goc_maxprocs(2);
    ASSERT_OK(goc_run(leaver_main, NULL));
}
TEST(deadlock_after_locked_exit)
{
    static struct death d;
    death_run(&d, leaver_death);
    ASSERT_STATUS(d, 2);
    ASSERT_CONTAINS(d.out,
                    "fatal error: all goroutines are asleep - deadlock!\n");
    ASSERT_CONTAINS(d.out, "goroutine 1 [chan receive]:\n");
}
