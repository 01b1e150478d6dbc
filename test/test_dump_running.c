/* SPDX-License-Identifier: MIT */
/*
 * test_dump_running.c - dumps of goroutines that run on another thread:
 * the dump stops that thread with a SIGURG and walks the stack from where
 * the signal found it (src/sigurg.c, src/debug.c).
 *
 * Where signal delivery differs, the tests assert only what holds there:
 *   TSan delivers a signal that arrives while the thread runs
 *   instrumented code only at its next intercepted call, with the context
 *   of its arrival, which is stale by then; goc's handler refuses such a
 *   late call, so a goroutine spinning in plain code shows "stack
 *   unavailable" under TSan.  So does one blocked in read(2): TSan's
 *   (clang 14) read interceptor defers signals until the call returns.
 *   valgrind runs one thread at a time and delivers a signal between
 *   blocks of code, with the guest's registers as the context: the walk
 *   works there as natively (two of these tests run under memcheck,
 *   test/CMakeLists.txt).
 */
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include "test.h"

/* The spinner's part of dump text buf: from its header (named "spinner")
 * to the blank line after it.  Copied into out. */
static void block_of(const char *buf, const char *name, char *out,
                     size_t len)
{
    size_t n;
    const char *b = test_dump_block(buf, name, &n);
    if (b == NULL)
        FAIL("no goroutine \"%s\" in:\n%s", name, buf);
    if (n >= len)
        n = len - 1;
    memcpy(out, b, n);
    out[n] = '\0';
}

/* Dump every goroutine into buf and copy the block of the one named name
 * into blk, again (at most 5 times) while it shows "stack unavailable":
 * a thread that the machine's load keeps off a CPU for longer than the
 * dump waits (100 ms) is not a failure.  Under TSan once: it never
 * answers (see the top of the file). */
static void dump_walked(char *buf, size_t len, const char *name, char *blk,
                        size_t blen)
{
    for (int i = 0; i < (TEST_TSAN ? 1 : 5); i++) {
        goc_stack(buf, len, true);
        block_of(buf, name, blk, blen);
        if (strstr(blk, "stack unavailable") == NULL)
            return;
    }
}

/* ---- a goroutine spinning in plain code ---- */

static _Atomic bool spin_stop;
static _Atomic bool spin_in;
/* At least seconds of spinning everywhere (the stop flag ends it long
 * before), so the loop is bounded without calling anything. */
#define SPIN_MAX (1ul << 40)

/* A pure loop: no goc call, no libc call (so no safe point of any kind),
 * a name to look for. */
__attribute__((noinline)) static unsigned long
dump_running_spin_loop(void)
{
    atomic_store_explicit(&spin_in, true, memory_order_release);
    unsigned long i = 0;
    /* acquire: under TSan the dump does not stop this thread and reads
     * our header racily (it is running); the stop flag orders that read
     * before our exit frees the header. */
    while (!atomic_load_explicit(&spin_stop, memory_order_acquire) &&
           i < SPIN_MAX)
        i++;
    return i;
}

static _Atomic unsigned long spin_count;
__attribute__((noinline)) static void dump_running_spinner(void *wg)
{
    atomic_store(&spin_count, dump_running_spin_loop());
    goc_wg_done(wg);
}

/* Start the spinner on a P of its own and wait until it spins. */
static void spinner_start(goc_wg *wg)
{
    atomic_store(&spin_stop, false);
    atomic_store(&spin_in, false);
    atomic_store(&spin_count, 0);
    goc_spawn_opts o = {.name = "spinner"};
    goc_wg_add(wg, 1);
    ASSERT_OK(goc_go_opts(&o, dump_running_spinner, wg));
    for (long i = 0; !atomic_load(&spin_in); i++) {
        ASSERT_LT(i, 20000); /* 20 s */
        goc_sleep(GOC_MILLISECOND);
    }
}

static void spinner_stop(goc_wg *wg)
{
    atomic_store(&spin_stop, true);
    goc_wg_wait(wg);
    ASSERT_GT(atomic_load(&spin_count), 0);
}

static void spinner_main(void *arg)
{
    (void)arg;
    goc_wg wg = {0};
    spinner_start(&wg);
    static char buf[64 * 1024], blk[8 * 1024];
    dump_walked(buf, sizeof buf, "spinner", blk, sizeof blk);
    ASSERT(strncmp(buf, "goroutine 1 [running]:\n", 23) == 0);
    ASSERT_CONTAINS(blk, "[running] \"spinner\":\n");
    ASSERT_CONTAINS(blk, "created by spinner_start in goroutine 1\n");
    if (TEST_TSAN) {
        ASSERT_CONTAINS(blk, "stack unavailable");
    } else {
        ASSERT_CONTAINS(blk, "[running] \"spinner\":\n"
                             "dump_running_spin_loop(...)\n");
        ASSERT_CONTAINS(blk, "dump_running_spinner(...)\n");
        ASSERT(strstr(blk, "stack unavailable") == NULL);
        ASSERT(strstr(blk, "goc__") == NULL);
    }
    /* The spinner ran on: it still spins, and stops when told. */
    ASSERT(!atomic_load(&spin_count));
    spinner_stop(&wg);
}
TEST(dump_running_spinner)
{
    goc_maxprocs(2);
    run_main(spinner_main, NULL);
}

/* Many dumps in a row while the spinner spins: each stops and releases
 * its thread, which spins on; no request leaves the handshake in a state
 * that fails the next (most are walked: the rest, at most, lost to the
 * machine's load). */
static void spinner_many_main(void *arg)
{
    (void)arg;
    goc_wg wg = {0};
    spinner_start(&wg);
    static char buf[64 * 1024], blk[8 * 1024];
    long n = TEST_TSAN ? 3 : scaled(200), walked = 0;
    for (long i = 0; i < n; i++) {
        goc_stack(buf, sizeof buf, true);
        block_of(buf, "spinner", blk, sizeof blk);
        if (strstr(blk, "stack unavailable") == NULL) {
            ASSERT_CONTAINS(blk, "[running] \"spinner\":\n"
                                 "dump_running_spin_loop(...)\n");
            walked++;
        }
    }
    if (!TEST_TSAN)
        ASSERT_GE(walked, n / 2);
    ASSERT(!atomic_load(&spin_count)); /* it spins still */
    spinner_stop(&wg);
}
TEST(dump_running_spinner_repeated)
{
    goc_maxprocs(2);
    run_main(spinner_many_main, NULL);
}

/* ---- SIGQUIT while a goroutine spins ---- */

static void quit_spin_main(void *arg)
{
    (void)arg;
    goc_wg wg = {0};
    spinner_start(&wg);
    raise(SIGQUIT);
    /* sysmon dumps and exits (the handler sends the signal on to it):
     * this goroutine runs on meanwhile. */
    int64_t end = goc_now() + (int64_t)10 * 1000 * 1000 * 1000;
    while (goc_now() < end)
        ;
    FAIL("survived SIGQUIT");
}
static void quit_spin_death(void)
{
    goc_maxprocs(2);
    ASSERT_OK(goc_run(quit_spin_main, NULL));
}
TEST(dump_running_on_sigquit)
{
    static struct death d;
    static char blk[8 * 1024];
    /* Again (at most 3 times) if the spinner's thread did not answer in
     * time: see dump_walked. */
    for (int i = 0; i < (TEST_TSAN ? 1 : 3); i++) {
        death_run(&d, quit_spin_death);
        ASSERT_STATUS(d, 2);
        block_of(d.out, "spinner", blk, sizeof blk);
        if (strstr(blk, "stack unavailable") == NULL)
            break;
    }
    char line[256];
    ASSERT(strcmp(first_line(&d, line, sizeof line), "SIGQUIT: quit") == 0);
    ASSERT_CONTAINS(d.out, "goroutine 1 [running]:\n");
    if (TEST_TSAN) {
        ASSERT_CONTAINS(blk, "stack unavailable");
    } else {
        ASSERT_CONTAINS(blk, "[running] \"spinner\":\n"
                             "dump_running_spin_loop(...)\n");
        ASSERT_CONTAINS(blk, "dump_running_spinner(...)\n");
        ASSERT(strstr(blk, "stack unavailable") == NULL);
    }
}

/* ---- a goroutine blocked in read(2) inside a blocking section ---- */

static _Atomic int reader_tid;
static _Atomic ssize_t reader_got;
static char reader_byte;

/* Is thread tid asleep in the kernel (state S in its stat file)? */
static bool thread_sleeping(int tid)
{
    char path[64], st[512];
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", tid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return false;
    size_t n = fread(st, 1, sizeof st - 1, f);
    fclose(f);
    st[n] = '\0';
    const char *p = strrchr(st, ')');
    return p != NULL && p[1] == ' ' && p[2] == 'S';
}

__attribute__((noinline)) static ssize_t dump_running_read_blocked(int fd)
{
    atomic_store(&reader_tid, test_gettid());
    ssize_t r = read(fd, &reader_byte, 1);
    atomic_store(&reader_tid, 0);
    return r;
}

static int reader_fd;
__attribute__((noinline)) static void dump_running_reader(void *wg)
{
    goc_blocking_begin();
    ssize_t r = dump_running_read_blocked(reader_fd);
    goc_blocking_end();
    atomic_store(&reader_got, r);
    goc_wg_done(wg);
}

static void reader_main(void *arg)
{
    (void)arg;
    int fds[2];
    ASSERT(pipe(fds) == 0);
    atomic_store(&reader_got, -2);
    goc_wg wg = {0};
    reader_fd = fds[0];
    goc_spawn_opts o = {.name = "reader"};
    goc_wg_add(&wg, 1);
    ASSERT_OK(goc_go_opts(&o, dump_running_reader, &wg));
    /* Until it sleeps in read (then it stays there until we write). */
    for (long i = 0;; i++) {
        ASSERT_LT(i, 20000); /* 20 s */
        int tid = atomic_load(&reader_tid);
        if (tid != 0 && thread_sleeping(tid))
            break;
        goc_sleep(GOC_MILLISECOND);
    }
    static char buf[64 * 1024], blk[8 * 1024];
    for (int i = 0; i < 3; i++) { /* each dump interrupts the read */
        dump_walked(buf, sizeof buf, "reader", blk, sizeof blk);
        ASSERT_CONTAINS(blk, "[running] \"reader\":\n");
        if (TEST_TSAN) {
            ASSERT_CONTAINS(blk, "stack unavailable");
            continue;
        }
        /* The interrupted frame: libc's read (by one of its names). */
        const char *first = strchr(blk, '\n') + 1;
        const char *eol = strchr(first, '\n');
        ASSERT(eol != NULL && eol - first >= 9 &&
               strncmp(eol - 9, "read(...)", 9) == 0);
        ASSERT_CONTAINS(blk, "dump_running_read_blocked(...)\n");
        ASSERT_CONTAINS(blk, "dump_running_reader(...)\n");
        ASSERT(strstr(blk, "stack unavailable") == NULL);
    }
    /* SA_RESTART: the read went on, and now completes normally. */
    ASSERT_EQ(atomic_load(&reader_got), -2);
    ASSERT_EQ(write(fds[1], "x", 1), 1);
    goc_wg_wait(&wg);
    ASSERT_EQ(atomic_load(&reader_got), 1);
    ASSERT_EQ(reader_byte, 'x');
    close(fds[0]);
    close(fds[1]);
}
TEST(dump_running_blocked_read)
{
    goc_maxprocs(2);
    run_main(reader_main, NULL);
}

/* ---- a thread that blocks SIGURG: the dump goes on without it ---- */

static _Atomic bool deaf_in, deaf_stop;
__attribute__((noinline)) static void dump_running_deaf(void *wg)
{
    goc_lock_os_thread(); /* the mask is the thread's: keep this one */
    sigset_t urg, old;
    sigemptyset(&urg);
    sigaddset(&urg, SIGURG);
    ASSERT_EQ(pthread_sigmask(SIG_BLOCK, &urg, &old), 0);
    atomic_store(&deaf_in, true);
    for (unsigned long i = 0; !atomic_load(&deaf_stop) && i < SPIN_MAX; i++)
        ;
    ASSERT_EQ(pthread_sigmask(SIG_SETMASK, &old, NULL), 0);
    goc_unlock_os_thread();
    goc_wg_done(wg);
}
static void deaf_main(void *arg)
{
    (void)arg;
    goc_wg wg = {0};
    goc_spawn_opts o = {.name = "deaf"};
    goc_wg_add(&wg, 1);
    ASSERT_OK(goc_go_opts(&o, dump_running_deaf, &wg));
    for (long i = 0; !atomic_load(&deaf_in); i++) {
        ASSERT_LT(i, 20000); /* 20 s */
        goc_sleep(GOC_MILLISECOND);
    }
    static char buf[64 * 1024], blk[8 * 1024];
    for (int i = 0; i < 3; i++) {
        goc_stack(buf, sizeof buf, true); /* returns, bounded */
        block_of(buf, "deaf", blk, sizeof blk);
        ASSERT_CONTAINS(blk, "[running, locked to thread] \"deaf\":\n"
                             "\tgoroutine running on other thread; "
                             "stack unavailable\n");
    }
    atomic_store(&deaf_stop, true);
    goc_wg_wait(&wg); /* the pending SIGURG, unblocked, was harmless */
}
TEST(dump_running_signal_blocked)
{
    goc_maxprocs(2);
    run_main(deaf_main, NULL);
}

/* ---- the program's own SIGURG handler ---- */

static _Atomic int prog_urgs;
static void prog_urg_info(int sig, siginfo_t *si, void *uc)
{
    (void)si;
    (void)uc;
    if (sig == SIGURG)
        atomic_fetch_add(&prog_urgs, 1);
}
static void prog_urg_plain(int sig)
{
    if (sig == SIGURG)
        atomic_fetch_add(&prog_urgs, 100);
}

/* A SIGURG that is not goc's reaches the program's handler, from a
 * goroutine's thread too; goc's own reach it not.  A request the
 * spinner's thread did not answer in time (TSan; an overloaded machine)
 * has its signal reach the program's handler whenever it comes, as a
 * spurious SIGURG: then the count may be higher. */
static bool urg_answered;
static void forward_main(void *arg)
{
    int per_signal = *(int *)arg;
    goc_wg wg = {0};
    spinner_start(&wg);
    static char buf[64 * 1024], blk[8 * 1024];
    goc_stack(buf, sizeof buf, true); /* goc's SIGURG to the spinner */
    block_of(buf, "spinner", blk, sizeof blk);
    urg_answered = strstr(blk, "stack unavailable") == NULL;
    if (urg_answered)
        ASSERT_EQ(atomic_load(&prog_urgs), 0);
    int before = atomic_load(&prog_urgs);
    ASSERT_EQ(pthread_kill(pthread_self(), SIGURG), 0);
    if (urg_answered)
        ASSERT_EQ(atomic_load(&prog_urgs), before + per_signal);
    else
        ASSERT_GE(atomic_load(&prog_urgs), before + per_signal);
    spinner_stop(&wg);
}
static void forward_with(struct sigaction *sa, int per_signal)
{
    struct sigaction old, cur;
    ASSERT_EQ(sigaction(SIGURG, sa, &old), 0);
    atomic_store(&prog_urgs, 0);
    goc_maxprocs(2);
    run_main(forward_main, &per_signal);
    int n = atomic_load(&prog_urgs);
    if (urg_answered)
        ASSERT_EQ(n, per_signal);
    else
        ASSERT(n >= per_signal && n % per_signal == 0);
    ASSERT_EQ(sigaction(SIGURG, &old, &cur), 0);
    /* The run gave the program its handler back. */
    if (sa->sa_flags & SA_SIGINFO)
        ASSERT(cur.sa_sigaction == sa->sa_sigaction);
    else
        ASSERT(cur.sa_handler == sa->sa_handler);
}
TEST(dump_running_sigurg_forwarded)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_SIGINFO;
    sa.sa_sigaction = prog_urg_info;
    forward_with(&sa, 1);
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = prog_urg_plain;
    forward_with(&sa, 100);
}
