/* SPDX-License-Identifier: MIT */
/* test_eintr.c - no goc call lets EINTR through.  A plain thread (the
 * storm) sends SIGUSR2 to every thread of the process every 100-200 us,
 * and the handler is installed without SA_RESTART, so the runtime's
 * sleeping system calls (epoll waits, futex waits, nanosleep) are
 * interrupted again and again, as they will be once goc signals its own
 * threads.  Meanwhile goroutines and plain threads sleep, read and write
 * pipes and socket pairs, accept and dial, select with deadlines, wait on
 * contexts, read in a blocking section and ping-pong across two Ps; every
 * result must be what it is without signals: no -EINTR, no sleep or
 * timeout shorter than asked, no lost or reordered byte. */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "test_net.h"

#define US GOC_MICROSECOND

/* ---- the storm ---- */

#define STORM_MAX_S 60 /* the storm ends by itself should a test hang */

static pthread_t storm_thread;
static _Atomic int storm_stop;
static _Atomic long storm_caught; /* handler runs */

static void storm_handler(int sig)
{
    (void)sig;
    atomic_fetch_add_explicit(&storm_caught, 1, memory_order_relaxed);
}

static int64_t mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * GOC_SECOND + ts.tv_nsec;
}

/* Signal every thread of the process but skip_tid (a thread that exits
 * meanwhile gives ESRCH: nothing to do). */
static void storm_round(int skip_tid)
{
    DIR *d = opendir("/proc/self/task");
    if (d == NULL)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        int tid = atoi(e->d_name);
        if (tid > 0 && tid != skip_tid)
            (void)syscall(SYS_tgkill, getpid(), tid, SIGUSR2);
    }
    closedir(d);
}

/* A round, a nap of 100-200 us, again. */
static void *storm_main(void *arg)
{
    (void)arg;
    sigset_t usr2;
    sigemptyset(&usr2);
    sigaddset(&usr2, SIGUSR2);
    pthread_sigmask(SIG_BLOCK, &usr2, NULL);
    int self = test_gettid();
    unsigned seed = 12345;
    int64_t end = mono_now() + STORM_MAX_S * GOC_SECOND;
    while (!atomic_load(&storm_stop) && mono_now() < end) {
        storm_round(self);
        struct timespec nap = {0, 100 * 1000 + rand_r(&seed) % (100 * 1000)};
        nanosleep(&nap, NULL);
    }
    return NULL;
}

/* The storm blows while the test's main goroutine runs, not during
 * goc_run's start and teardown: the teardown joins threads, and under
 * TSan a signal that lands in the free() inside pthread_join deadlocks
 * TSan's runtime (google/sanitizers#1540).  For the same reason the
 * tests' plain threads say they are done through a channel, and are
 * joined once the storm is over. */
static void storm_begin(void)
{
    storm_round(-1); /* a first round now, so that even a short body gets
                        signals (this thread's own before tgkill returns) */
    atomic_store(&storm_stop, 0);
    ASSERT_EQ(pthread_create(&storm_thread, NULL, storm_main, NULL), 0);
}

/* SIGUSR2 is blocked around the join: a last signal to this thread may
 * still be on its way. */
static void storm_end(void)
{
    atomic_store(&storm_stop, 1);
    sigset_t usr2, mask;
    sigemptyset(&usr2);
    sigaddset(&usr2, SIGUSR2);
    goc_blocking_begin();
    pthread_sigmask(SIG_BLOCK, &usr2, &mask);
    int rc = pthread_join(storm_thread, NULL);
    pthread_sigmask(SIG_SETMASK, &mask, NULL);
    goc_blocking_end();
    ASSERT_EQ(rc, 0);
}

#define PLAIN_MAX 4

static pthread_t plain[PLAIN_MAX];
static int nplain;
static goc_chan *plain_done; /* one value per plain thread that is done */

struct plain_call {
    void *(*fn)(void *);
    void *arg;
};
static struct plain_call plain_calls[PLAIN_MAX];

static void *plain_main(void *arg)
{
    struct plain_call *c = arg;
    c->fn(c->arg);
    ASSERT_OK(goc_chan_send(plain_done, NULL));
    return NULL;
}

/* Start fn(arg) on a plain thread. */
static void plain_start(void *(*fn)(void *), void *arg)
{
    ASSERT_LT(nplain, PLAIN_MAX);
    plain_calls[nplain] = (struct plain_call){fn, arg};
    ASSERT_EQ(pthread_create(&plain[nplain], NULL, plain_main,
                             &plain_calls[nplain]),
              0);
    nplain++;
}

/* Wait until one more plain thread is done (60 s at most).  With a
 * deadline, also because a plain thread counts as one that may wake
 * goroutines only once it has waited in goc (or used a channel): one
 * whose goc_read calls never had to wait does not count yet, and a
 * plain receive here would be "all goroutines are asleep - deadlock!"
 * (the armed timer keeps the deadlock check quiet). */
static void plain_wait(void)
{
    goc_case c = GOC_RECV_CASE(plain_done, NULL);
    ASSERT_EQ(goc_select_until(&c, 1, goc_now() + 60 * GOC_SECOND), 0);
    ASSERT_OK(c.err);
}

static void (*storm_body)(void *);

static void storm_main_g(void *arg)
{
    plain_done = goc_chan_make(0, PLAIN_MAX);
    ASSERT(plain_done != NULL);
    storm_begin();
    storm_body(arg);
    storm_end();
    goc_chan_release(plain_done);
}

/* Run body as the main goroutine at procs Ps, in a storm of SIGUSR2 whose
 * no-op handler lacks SA_RESTART; put the old action back afterwards
 * (after taking any signal still pending for this thread: the others
 * have exited) and check that signals came. */
static void storm_run(int procs, void (*body)(void *))
{
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = storm_handler;
    sa.sa_flags = 0; /* no SA_RESTART: interrupted calls fail with EINTR */
    sigemptyset(&sa.sa_mask);
    ASSERT_EQ(sigaction(SIGUSR2, &sa, &old), 0);
    atomic_store(&storm_caught, 0);
    nplain = 0;
    storm_body = body;
    goc_maxprocs(procs);
    run_main(storm_main_g, NULL);
    for (int i = 0; i < nplain; i++)
        ASSERT_EQ(pthread_join(plain[i], NULL), 0);
    sigset_t usr2, mask;
    sigemptyset(&usr2);
    sigaddset(&usr2, SIGUSR2);
    ASSERT_EQ(pthread_sigmask(SIG_BLOCK, &usr2, &mask), 0);
    struct timespec zero = {0, 0};
    while (sigtimedwait(&usr2, NULL, &zero) == SIGUSR2) {
    }
    ASSERT_EQ(sigaction(SIGUSR2, &old, NULL), 0);
    ASSERT_EQ(pthread_sigmask(SIG_SETMASK, &mask, NULL), 0);
    ASSERT_GT(atomic_load(&storm_caught), 0);
}

/* At least ns passed between t0 and now. */
#define ASSERT_WAITED(t0, ns)                                             \
    do {                                                                  \
        int64_t el_ = goc_now() - (t0), want_ = (ns);                     \
        if (el_ < want_)                                                  \
            FAIL("%s: returned after %lld ns, asked for %lld", #ns,       \
                 (long long)el_, (long long)want_);                       \
    } while (0)

static goc_wg wg;

/* ---- goc_sleep: never shorter than asked, on goroutines and on a
 * plain thread ---- */

static const int64_t sleeps[] = {1, US, 50 * US, 200 * US, MS, 3 * MS,
                                 10 * MS};
#define NSLEEPS (sizeof sleeps / sizeof sleeps[0])

static void sleep_all(void)
{
    for (int round = 0; round < 4; round++)
        for (size_t i = 0; i < NSLEEPS; i++) {
            int64_t t0 = goc_now();
            goc_sleep(sleeps[i]);
            ASSERT_WAITED(t0, sleeps[i]);
        }
}

static void sleeper(void *arg)
{
    (void)arg;
    sleep_all();
    goc_wg_done(&wg);
}

static void *sleeper_thread(void *arg)
{
    (void)arg;
    sleep_all();
    return NULL;
}

static void sleep_main(void *arg)
{
    (void)arg;
    plain_start(sleeper_thread, NULL);
    goc_wg_add(&wg, 4);
    for (int i = 0; i < 4; i++)
        ASSERT_OK(goc_go(sleeper, NULL));
    goc_wg_wait(&wg);
    plain_wait();
}
TEST(eintr_sleep)
{
    storm_run(2, sleep_main);
}

/* ---- pipes and socket pairs: data that arrives late, and a big write
 * to a slow reader; also a plain thread that reads ---- */

#define LATE_ROUNDS 20

struct duct {
    int rd, wr;
    size_t big; /* bytes of the big write */
};

static unsigned char pattern(size_t i)
{
    return (unsigned char)(i * 7 + i / 4096);
}

/* Write one byte per round, each after a nap: the reader is parked. */
static void late_writer(void *arg)
{
    struct duct *d = arg;
    for (int i = 0; i < LATE_ROUNDS; i++) {
        goc_sleep(2 * MS);
        unsigned char b = (unsigned char)i;
        ASSERT_IO(goc_write(d->wr, &b, 1, NULL), 1);
    }
    goc_wg_done(&wg);
}

static void late_reads(int fd)
{
    for (int i = 0; i < LATE_ROUNDS; i++) {
        unsigned char b;
        ASSERT_IO(goc_read(fd, &b, 1, NULL), 1);
        ASSERT_EQ(b, i);
    }
}

/* The whole pattern in one goc_write, then end of stream. */
static void big_writer(void *arg)
{
    struct duct *d = arg;
    unsigned char *buf = malloc(d->big);
    ASSERT(buf != NULL);
    for (size_t i = 0; i < d->big; i++)
        buf[i] = pattern(i);
    ASSERT_IO(goc_write(d->wr, buf, d->big, NULL), d->big);
    free(buf);
    ASSERT_OK(goc_close(d->wr));
    goc_wg_done(&wg);
}

/* Read in small bites with naps, so the writer waits for room often. */
static void slow_reads(const struct duct *d)
{
    unsigned char bite[3000];
    size_t got = 0;
    for (int n = 0;; n++) {
        ssize_t r = goc_read(d->rd, bite, sizeof bite, NULL);
        if (r == 0)
            break;
        ASSERT_GT(r, 0);
        for (ssize_t k = 0; k < r; k++)
            if (bite[k] != pattern(got + (size_t)k))
                FAIL("byte %zu: %u, want %u", got + (size_t)k, bite[k],
                     pattern(got + (size_t)k));
        got += (size_t)r;
        ASSERT_LE(got, d->big);
        if (n % 8 == 0)
            goc_sleep(100 * US);
    }
    ASSERT_EQ(got, d->big);
}

static void *late_reader_thread(void *arg)
{
    late_reads(((struct duct *)arg)->rd);
    return NULL;
}

static void duct_rounds(struct duct *d, bool plain_thread)
{
    goc_wg_add(&wg, 1);
    ASSERT_OK(goc_go(late_writer, d));
    if (plain_thread) {
        plain_start(late_reader_thread, d);
        goc_wg_wait(&wg);
        plain_wait();
    } else {
        late_reads(d->rd);
        goc_wg_wait(&wg);
    }
    goc_wg_add(&wg, 1);
    ASSERT_OK(goc_go(big_writer, d));
    slow_reads(d);
    goc_wg_wait(&wg);
    ASSERT_OK(goc_close(d->rd));
}

static void ducts_main(void *arg)
{
    (void)arg;
    size_t big = (size_t)scaled(4L << 20);
    for (int i = 0; i < 4; i++) {
        int fds[2];
        if (i % 2 == 0)
            ASSERT_EQ(pipe2(fds, O_CLOEXEC), 0);
        else
            ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds),
                      0);
        struct duct d = {.rd = fds[0], .wr = fds[1], .big = big};
        duct_rounds(&d, i >= 2);
    }
}
TEST(eintr_pipes)
{
    storm_run(2, ducts_main);
}

/* ---- TCP on 127.0.0.1: accept that waits for late dials, dials, echo
 * of a message bigger than the socket buffers ---- */

#define TCP_CONNS 12
#define TCP_MSG (256 * 1024)

static char tcp_addr[GOC_ADDR_MAX];

static void echo(void *arg)
{
    int s = (int)(intptr_t)arg;
    char buf[4096];
    for (;;) {
        ssize_t r = goc_read(s, buf, sizeof buf, NULL);
        if (r == 0)
            break;
        ASSERT_GT(r, 0);
        ASSERT_IO(goc_write(s, buf, (size_t)r, NULL), r);
    }
    ASSERT_OK(goc_close(s));
    goc_wg_done(&wg);
}

/* Accept every connection, an echo goroutine each. */
static void acceptor(void *arg)
{
    int l = (int)(intptr_t)arg;
    for (int i = 0; i < TCP_CONNS; i++) {
        int s = goc_accept(l, NULL);
        ASSERT_FD(s);
        goc_wg_add(&wg, 1);
        ASSERT_OK(goc_go(echo, (void *)(intptr_t)s));
    }
    ASSERT_OK(goc_close(l));
    goc_wg_done(&wg);
}

static void send_all(void *arg)
{
    int c = (int)(intptr_t)arg;
    size_t n = (size_t)scaled(TCP_MSG);
    char *buf = malloc(n);
    ASSERT(buf != NULL);
    for (size_t i = 0; i < n; i++)
        buf[i] = (char)pattern(i);
    ASSERT_IO(goc_write(c, buf, n, NULL), n);
    free(buf);
    ASSERT_OK(goc_close_write(c));
    goc_wg_done(&wg);
}

/* Dial after a nap (the acceptor is parked), send the message from
 * another goroutine while reading the echo back, then end of stream. */
static void client(void *arg)
{
    (void)arg;
    goc_sleep(MS);
    int c = goc_tcp_dial(tcp_addr, NULL);
    ASSERT_FD(c);
    goc_wg_add(&wg, 1);
    ASSERT_OK(goc_go(send_all, (void *)(intptr_t)c));
    size_t n = (size_t)scaled(TCP_MSG);
    char *buf = malloc(n);
    ASSERT(buf != NULL);
    ASSERT_IO(read_full(c, buf, n, NULL), n);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)buf[i] != pattern(i))
            FAIL("byte %zu differs", i);
    char b;
    ASSERT_IO(goc_read(c, &b, 1, NULL), 0);
    free(buf);
    ASSERT_OK(goc_close(c));
    goc_wg_done(&wg);
}

static void tcp_main(void *arg)
{
    (void)arg;
    int l = listen_local(tcp_addr, 0);
    goc_wg_add(&wg, 1 + TCP_CONNS);
    ASSERT_OK(goc_go(acceptor, (void *)(intptr_t)l));
    for (int i = 0; i < TCP_CONNS; i++)
        ASSERT_OK(goc_go(client, NULL));
    goc_wg_wait(&wg);
}
TEST(eintr_tcp)
{
    storm_run(2, tcp_main);
}

/* ---- timeouts: goc_select_until, ctx deadlines, goc_after and a read
 * with a deadline end no earlier than asked, on goroutines and on a
 * plain thread ---- */

static const int64_t waits[] = {100 * US, MS, 5 * MS};
#define NWAITS (sizeof waits / sizeof waits[0])

static goc_chan *never_c; /* nobody sends on it */
static int idle_pipe[2];  /* nobody writes to it */

static void timeouts_once(bool on_thread)
{
    for (size_t i = 0; i < NWAITS; i++) {
        int64_t d = waits[i];
        int64_t t0 = goc_now();
        goc_case c = GOC_RECV_CASE(never_c, NULL);
        ASSERT_ERR(goc_select_until(&c, 1, t0 + d), GOC_ETIMEDOUT);
        ASSERT_WAITED(t0, d);

        t0 = goc_now();
        ASSERT_ERR(goc_select_until(NULL, 0, t0 + d), GOC_ETIMEDOUT);
        ASSERT_WAITED(t0, d);

        t0 = goc_now();
        goc_ctx *ctx = goc_ctx_with_timeout(NULL, d);
        ASSERT(ctx != NULL);
        ASSERT_ERR(goc_chan_recv(goc_ctx_done(ctx), NULL), GOC_ECLOSED);
        ASSERT_ERR(goc_ctx_err(ctx), GOC_ETIMEDOUT);
        ASSERT_WAITED(t0, d);
        goc_ctx_release(ctx);

        t0 = goc_now();
        goc_chan *after = goc_after(d);
        ASSERT(after != NULL);
        int64_t fired;
        ASSERT_OK(goc_chan_recv(after, &fired));
        ASSERT_GE(fired - t0, d);
        ASSERT_WAITED(t0, d);
        goc_chan_release(after);

        if (on_thread)
            continue; /* one reader of idle_pipe at a time is enough */
        t0 = goc_now();
        ctx = goc_ctx_with_timeout(NULL, d);
        ASSERT(ctx != NULL);
        char b;
        ASSERT_IO(goc_read(idle_pipe[0], &b, 1, ctx), GOC_ETIMEDOUT);
        ASSERT_WAITED(t0, d);
        goc_ctx_release(ctx);
    }
}

static void timeouts_g(void *arg)
{
    (void)arg;
    for (int round = 0; round < 10; round++)
        timeouts_once(false);
    goc_wg_done(&wg);
}

static void *timeouts_thread(void *arg)
{
    (void)arg;
    for (int round = 0; round < 10; round++)
        timeouts_once(true);
    return NULL;
}

static void timeouts_main(void *arg)
{
    (void)arg;
    never_c = goc_chan_make(0, 0);
    ASSERT(never_c != NULL);
    ASSERT_EQ(pipe2(idle_pipe, O_CLOEXEC), 0);
    plain_start(timeouts_thread, NULL);
    goc_wg_add(&wg, 3);
    for (int i = 0; i < 3; i++)
        ASSERT_OK(goc_go(timeouts_g, NULL));
    goc_wg_wait(&wg);
    plain_wait();
    ASSERT_OK(goc_close(idle_pipe[0]));
    ASSERT_EQ(close(idle_pipe[1]), 0);
    goc_chan_release(never_c);
}
TEST(eintr_timeouts)
{
    storm_run(2, timeouts_main);
}

/* ---- a real read(2) in a blocking section: the program's own call
 * sees EINTR (its handler has no SA_RESTART) and retries; goc's side
 * (the P handed off and taken back) sees nothing of it ---- */

#define BLOCKING_ROUNDS 10

static int bl_pipe[2]; /* blocking, never goc's */
static _Atomic long bl_ticks;
static _Atomic int bl_stop;

static void bl_ticker(void *arg)
{
    (void)arg;
    while (!atomic_load(&bl_stop)) {
        goc_sleep(MS);
        atomic_fetch_add(&bl_ticks, 1);
    }
    goc_wg_done(&wg);
}

static void bl_writer(void *arg)
{
    (void)arg;
    for (int i = 0; i < BLOCKING_ROUNDS; i++) {
        goc_sleep(5 * MS);
        unsigned char b = (unsigned char)(i + 1);
        ASSERT_EQ(write(bl_pipe[1], &b, 1), 1); /* room: 1 byte per round */
    }
    goc_wg_done(&wg);
}

static void blocking_main(void *arg)
{
    (void)arg;
    ASSERT_EQ(pipe2(bl_pipe, O_CLOEXEC), 0);
    goc_wg_add(&wg, 2);
    ASSERT_OK(goc_go(bl_ticker, NULL));
    ASSERT_OK(goc_go(bl_writer, NULL));
    for (int i = 0; i < BLOCKING_ROUNDS; i++) {
        unsigned char b = 0;
        ssize_t r;
        goc_blocking_begin();
        while ((r = read(bl_pipe[0], &b, 1)) < 0 && errno == EINTR) {
        }
        goc_blocking_end();
        ASSERT_EQ(r, 1);
        ASSERT_EQ(b, i + 1);
    }
    atomic_store(&bl_stop, 1);
    goc_wg_wait(&wg);
    ASSERT_GT(atomic_load(&bl_ticks), 0);
    ASSERT_EQ(close(bl_pipe[0]), 0);
    ASSERT_EQ(close(bl_pipe[1]), 0);
}
TEST(eintr_blocking_section)
{
    /* One P: the ticker runs only if the blocked P is handed off. */
    storm_run(1, blocking_main);
}

/* ---- channel ping-pong across two Ps, with naps so that the idle M
 * futex-sleeps and is woken again and again ---- */

static goc_chan *ping_c, *pong_c;

static void ponger(void *arg)
{
    (void)arg;
    long v;
    while (goc_chan_recv(ping_c, &v) == 0) {
        v++;
        ASSERT_OK(goc_chan_send(pong_c, &v));
    }
    goc_wg_done(&wg);
}

static void pingpong_main(void *arg)
{
    (void)arg;
    ping_c = goc_chan_make(sizeof(long), 0);
    pong_c = goc_chan_make(sizeof(long), 0);
    ASSERT(ping_c != NULL && pong_c != NULL);
    goc_wg_add(&wg, 1);
    ASSERT_OK(goc_go(ponger, NULL));
    long n = scaled(20000);
    for (long i = 0; i < n; i++) {
        long v = 2 * i, got = -1;
        ASSERT_OK(goc_chan_send(ping_c, &v));
        ASSERT_OK(goc_chan_recv(pong_c, &got));
        ASSERT_EQ(got, v + 1);
        if (i % 200 == 0)
            goc_sleep(200 * US);
    }
    ASSERT_OK(goc_chan_close(ping_c));
    goc_wg_wait(&wg);
    goc_chan_release(ping_c);
    goc_chan_release(pong_c);
}
TEST(eintr_pingpong)
{
    storm_run(2, pingpong_main);
}

/* ---- the end of stream queued behind data: the peer writes and shuts
 * down before the reader reads, so one edge stands for both; the short
 * read leaves the end queued, and the next goc_read must still see it
 * (it used to wait for an edge that never came) ---- */

/* A short read (the 10 bytes, of 64 asked), then the end. */
static void eof_reads(int fd)
{
    char buf[64];
    ssize_t r = goc_read(fd, buf, sizeof buf, NULL);
    ASSERT_IO(r, 10);
    ASSERT(memcmp(buf, "0123456789", 10) == 0);
    ASSERT_IO(goc_read(fd, buf, sizeof buf, NULL), 0);
}

static void eof_reader(void *arg)
{
    eof_reads((int)(intptr_t)arg);
    goc_wg_done(&wg);
}

static void eof_behind_main(void *arg)
{
    (void)arg;
    for (int round = 0; round < 40; round++) {
        int fds[2];
        if (round % 2 == 0) {
            ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds),
                      0);
            ASSERT_OK(goc_fd_wrap(fds[0]));
        } else {
            conn_pair(&fds[0], &fds[1]);
        }
        /* Half the rounds read from a goroutine started first, which
         * often parks before the data comes (not always: no goroutine
         * dump here to wait for it, as a dump races with goroutines that
         * exit, under TSan). */
        bool parked_first = round % 4 >= 2;
        if (parked_first) {
            goc_wg_add(&wg, 1);
            ASSERT_OK(goc_go(eof_reader, (void *)(intptr_t)fds[0]));
            goc_yield();
        }
        ASSERT_IO(goc_write(fds[1], "0123456789", 10, NULL), 10);
        ASSERT_OK(goc_close_write(fds[1]));
        if (parked_first)
            goc_wg_wait(&wg);
        else
            eof_reads(fds[0]);
        ASSERT_OK(goc_close(fds[0]));
        ASSERT_OK(goc_close(fds[1]));
    }
}
TEST(eintr_eof_behind_data)
{
    storm_run(2, eof_behind_main);
}
