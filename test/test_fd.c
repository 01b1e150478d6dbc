/* SPDX-License-Identifier: MIT */
/* test_fd.c - the descriptor calls at their edges: goc_close racing the
 * start of a call, a cancel racing the data (nothing is lost), resets,
 * goc_fd_forget, a goc_fd_wait for both directions beside a reader,
 * regular files, argument errors, many deadlines at once, full-duplex
 * transfers, plain threads with a deadline, goc_close of a listener
 * whose goc_accept is backing off out of descriptors, and storms of
 * dials (also into a full accept queue) over several Ps. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "test_net.h"

static goc_chan *res_c; /* int64_t results of the goroutines below */
static int the_fd;

static void reader(void *arg)
{
    goc_ctx *ctx = arg;
    char b;
    int64_t r = goc_read(the_fd, &b, 1, ctx);
    ASSERT_OK(goc_chan_send(res_c, &r));
}

/* ---- goc_close right after a reader was started, with no wait for it
 * to park: whichever comes first, the reader gets GOC_ECLOSED (closing
 * began) or -EBADF (the number was free already), never a hang.
 * A reader that starts after the close uses a free number, which any
 * open(2) in the process may take meanwhile (the runtime's sysmon opens
 * a /proc file now and then); a lower free number, the hole, is what
 * such an open gets instead ---- */

static void close_race_main(void *arg)
{
    (void)arg;
    res_c = goc_chan_make(sizeof(int64_t), 1);
    char addr[GOC_ADDR_MAX];
    int l = listen_local(addr, 0);
    for (int i = 0; i < scaled(500); i++) {
        int hole = open("/dev/null", O_RDONLY | O_CLOEXEC);
        ASSERT_GE(hole, 0);
        int c = goc_tcp_dial(addr, NULL);
        ASSERT_FD(c);
        int s = goc_accept(l, NULL);
        ASSERT_FD(s);
        ASSERT_LT(hole, c);
        ASSERT_EQ(close(hole), 0);
        the_fd = c;
        ASSERT_OK(goc_go(reader, NULL));
        if (i % 3 == 1)
            goc_yield(); /* sometimes the reader gets to park first */
        ASSERT_OK(goc_close(c));
        int64_t r;
        ASSERT_OK(goc_chan_recv(res_c, &r));
        if (r != GOC_ECLOSED && r != -EBADF)
            FAIL("round %d: reader got %s (%lld)", i, goc_err_name((int)r),
                 (long long)r);
        ASSERT_OK(goc_close(s));
    }
    ASSERT_OK(goc_close(l));
    goc_chan_release(res_c);
}
TEST(net_fd_close_races_start)
{
    run_main(close_race_main, NULL);
}

/* ---- a cancel racing the data: the reader gets the byte or
 * GOC_ECANCELED, and then the byte is still there to read ---- */

static void cancel_race_main(void *arg)
{
    (void)arg;
    res_c = goc_chan_make(sizeof(int64_t), 1);
    int c, s;
    conn_pair(&c, &s);
    the_fd = c;
    int got = 0, canceled = 0;
    for (int i = 0; i < scaled(500); i++) {
        goc_ctx *ctx = goc_ctx_with_cancel(NULL);
        ASSERT_OK(goc_go(reader, ctx));
        if (i % 2 == 0)
            goc_yield();
        ASSERT_IO(goc_write(s, "d", 1, NULL), 1);
        goc_ctx_cancel(ctx);
        int64_t r;
        ASSERT_OK(goc_chan_recv(res_c, &r));
        goc_ctx_release(ctx);
        if (r == GOC_ECANCELED) {
            char b;
            ASSERT_IO(goc_read(c, &b, 1, NULL), 1); /* not lost */
            canceled++;
        } else {
            ASSERT_IO(r, 1);
            got++;
        }
    }
    ASSERT_EQ(got + canceled, scaled(500));
    ASSERT_OK(goc_close(c));
    ASSERT_OK(goc_close(s));
    goc_chan_release(res_c);
}
TEST(net_fd_cancel_races_data)
{
    run_main(cancel_race_main, NULL);
}

/* ---- a reset connection: a parked reader and later calls see
 * -ECONNRESET, goc_fd_wait reports it as readable ---- */

static void reset_main(void *arg)
{
    (void)arg;
    res_c = goc_chan_make(sizeof(int64_t), 1);
    int c, s;
    conn_pair(&c, &s);
    the_fd = c;
    ASSERT_OK(goc_go(reader, NULL));
    wait_io_parked(1);
    /* Linger 0: close sends a reset instead of a FIN. */
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    ASSERT_EQ(setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
    ASSERT_OK(goc_close(s));
    int64_t r;
    ASSERT_OK(goc_chan_recv(res_c, &r));
    ASSERT_IO(r, -ECONNRESET);
    ASSERT_EQ(goc_fd_wait(c, GOC_READ, NULL), GOC_READ);
    ASSERT_OK(goc_close(c));
    goc_chan_release(res_c);
}
TEST(net_fd_reset)
{
    run_main(reset_main, NULL);
}

/* ---- goc_fd_forget: parked calls wake with GOC_ECLOSED, the
 * descriptor stays open and non-blocking, and goc can adopt it again */

static void forget_main(void *arg)
{
    (void)arg;
    res_c = goc_chan_make(sizeof(int64_t), 1);
    int p[2];
    ASSERT_EQ(pipe(p), 0);
    ASSERT_OK(goc_fd_wrap(p[0]));
    the_fd = p[0];
    ASSERT_OK(goc_go(reader, NULL));
    wait_io_parked(1);
    ASSERT_OK(goc_fd_forget(p[0]));
    int64_t r;
    ASSERT_OK(goc_chan_recv(res_c, &r));
    ASSERT_IO(r, GOC_ECLOSED);
    int fl = fcntl(p[0], F_GETFL);
    ASSERT_GE(fl, 0); /* open */
    ASSERT(fl & O_NONBLOCK);
    char b;
    ASSERT_EQ(read(p[0], &b, 1), -1);
    ASSERT_EQ(errno, EAGAIN);
    /* Not goc's any more: forgetting again is -EBADF. */
    ASSERT_ERR(goc_fd_forget(p[0]), -EBADF);
    ASSERT_ERR(goc_fd_forget(p[1]), -EBADF);
    /* Adopted again, it works as before. */
    ASSERT_OK(goc_fd_wrap(p[0]));
    ASSERT_EQ(write(p[1], "f", 1), 1);
    ASSERT_IO(goc_read(p[0], &b, 1, NULL), 1);
    ASSERT_OK(goc_close(p[0]));
    close(p[1]);
    goc_chan_release(res_c);
}
TEST(net_fd_forget)
{
    run_main(forget_main, NULL);
}

/* ---- a goc_fd_wait for both directions beside a goc_read on the same
 * descriptor: the data wakes both.  The send buffer is kept full by a
 * third goroutine parked in goc_write (the peer never reads), so the
 * descriptor is neither readable nor writable until the data comes ---- */

static void filler(void *arg)
{
    (void)arg;
    char *big = calloc(1, 16 << 20);
    ASSERT(big != NULL);
    int64_t r = goc_write(the_fd, big, 16 << 20, NULL);
    free(big);
    ASSERT_IO(r, GOC_ECLOSED); /* the test closes it at the end */
    ASSERT_OK(goc_chan_send(res_c, &r));
}
static void both_waiter(void *arg)
{
    (void)arg;
    int64_t r = goc_fd_wait(the_fd, GOC_READ | GOC_WRITE, NULL);
    ASSERT_OK(goc_chan_send(res_c, &r));
}
static void wait_both_main(void *arg)
{
    (void)arg;
    int c, s, small = 16 * 1024;
    conn_pair(&c, &s);
    ASSERT_EQ(setsockopt(c, SOL_SOCKET, SO_SNDBUF, &small, sizeof small), 0);
    ASSERT_EQ(setsockopt(s, SOL_SOCKET, SO_RCVBUF, &small, sizeof small), 0);
    res_c = goc_chan_make(sizeof(int64_t), 3);
    the_fd = c;
    ASSERT_OK(goc_go(filler, NULL));
    wait_io_parked(1);
    ASSERT_OK(goc_go(both_waiter, NULL));
    ASSERT_OK(goc_go(reader, NULL));
    wait_io_parked(3);
    /* Two bytes: the reader takes one, so the waiter, whenever it looks,
     * finds the descriptor readable. */
    ASSERT_IO(goc_write(s, "rr", 2, NULL), 2);
    /* Two results: the reader's byte and the waiter's GOC_READ, in
     * either order.  Bounded: a waiter that is never woken fails the
     * test after 10 s instead of hanging it. */
    int64_t r, want_sum = 1 + GOC_READ, sum = 0;
    int64_t deadline = goc_now() + 10 * GOC_SECOND;
    for (int i = 0; i < 2; i++) {
        goc_case cs = GOC_RECV_CASE(res_c, &r);
        if (goc_select_until(&cs, 1, deadline) == GOC_ETIMEDOUT)
            FAIL("%d of the 2 goroutines woken by the data returned "
                 "(the other is lost: never woken)", i);
        ASSERT(r == 1 || r == GOC_READ);
        sum += r;
    }
    ASSERT_EQ(sum, want_sum);
    ASSERT_OK(goc_close(c));
    ASSERT_OK(goc_chan_recv(res_c, &r)); /* the filler: GOC_ECLOSED */
    ASSERT_OK(goc_close(s));
    goc_chan_release(res_c);
}
TEST(net_fd_wait_both_beside_reader)
{
    run_main(wait_both_main, NULL);
}

/* ---- regular files: wrapped, read and written (in a blocking section),
 * always ready ---- */

static void file_main(void *arg)
{
    (void)arg;
    char path[] = P_tmpdir "/goc-fd-XXXXXX";
    int fd = mkstemp(path);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(unlink(path), 0);
    ASSERT_OK(goc_fd_wrap(fd));
    ASSERT_IO(goc_write(fd, "file data", 9, NULL), 9);
    ASSERT_EQ(goc_fd_wait(fd, GOC_READ | GOC_WRITE, NULL),
              GOC_READ | GOC_WRITE);
    ASSERT_EQ(lseek(fd, 0, SEEK_SET), 0);
    char buf[16];
    ASSERT_IO(read_full(fd, buf, 9, NULL), 9);
    ASSERT(memcmp(buf, "file data", 9) == 0);
    ASSERT_IO(goc_read(fd, buf, sizeof buf, NULL), 0); /* end of file */
    ASSERT_OK(goc_close(fd));
    ASSERT_EQ(fcntl(fd, F_GETFD), -1); /* closed */
}
TEST(net_fd_regular_file)
{
    run_main(file_main, NULL);
}

/* ---- arguments and descriptors goc does not own ---- */

static void args_main(void *arg)
{
    (void)arg;
    char b;
    ASSERT_ERR(goc_close(-1), -EBADF);
    ASSERT_ERR(goc_fd_wrap(-1), -EBADF);
    ASSERT_ERR(goc_fd_forget(-1), -EBADF);
    ASSERT_IO(goc_read(-1, &b, 1, NULL), -EBADF);
    ASSERT_IO(goc_write(-1, &b, 1, NULL), -EBADF);
    ASSERT_ERR(goc_fd_wait(-1, GOC_READ, NULL), -EBADF);
    ASSERT_ERR(goc_accept(-1, NULL), -EBADF);
    /* A descriptor goc never saw: goc_close is close(2). */
    int p[2];
    ASSERT_EQ(pipe(p), 0);
    ASSERT_OK(goc_close(p[1]));
    ASSERT_EQ(fcntl(p[1], F_GETFD), -1);
    /* n == 0 reads nothing and returns 0 without waiting. */
    ASSERT_IO(goc_read(p[0], &b, 0, NULL), 0);
    ASSERT_OK(goc_close(p[0]));
    /* accept on what is not a listener. */
    int c, s;
    conn_pair(&c, &s);
    ASSERT_ERR(goc_accept(c, NULL), -EINVAL);
    ASSERT_OK(goc_close(c));
    ASSERT_OK(goc_close(s));
}
TEST(net_fd_args)
{
    run_main(args_main, NULL);
}

/* ---- many deadlines at once, on idle connections: each read ends with
 * GOC_ETIMEDOUT, none before its own deadline ---- */

#define DEADLINES 200
static goc_wg dl_wg;
static int dl_fd[DEADLINES];
static void dl_reader(void *arg)
{
    int i = (int)(intptr_t)arg;
    goc_ctx *ctx = goc_ctx_with_timeout(NULL, (10 + i % 40) * MS);
    char b;
    ASSERT_IO(goc_read(dl_fd[i], &b, 1, ctx), GOC_ETIMEDOUT);
    ASSERT_GE(goc_now(), goc_ctx_deadline(ctx));
    goc_ctx_release(ctx);
    goc_wg_done(&dl_wg);
}
static void deadlines_main(void *arg)
{
    (void)arg;
    int n = (int)(scaled(DEADLINES) < 20 ? 20 : scaled(DEADLINES)) / 2;
    for (int i = 0; i < n; i++)
        conn_pair(&dl_fd[2 * i], &dl_fd[2 * i + 1]);
    goc_wg_add(&dl_wg, 2 * n);
    for (int i = 0; i < 2 * n; i++)
        ASSERT_OK(goc_go(dl_reader, (void *)(intptr_t)i));
    goc_wg_wait(&dl_wg);
    for (int i = 0; i < 2 * n; i++)
        ASSERT_OK(goc_close(dl_fd[i]));
}
TEST(net_fd_many_deadlines)
{
    run_main(deadlines_main, NULL);
}

/* ---- full duplex: 8 MiB each way at once through small buffers, a
 * reader and a writer goroutine on each end of one connection ---- */

#define DUPLEX (8 << 20)
static goc_wg dx_wg;
struct dx {
    int fd;
    unsigned seed;
};
static void dx_writer(void *arg)
{
    struct dx *d = arg;
    unsigned char *buf = malloc(DUPLEX);
    ASSERT(buf != NULL);
    for (size_t i = 0; i < DUPLEX; i++)
        buf[i] = (unsigned char)(i * d->seed >> 3);
    /* In pieces of varying size, so the two directions interleave. */
    for (size_t off = 0, k = 1; off < DUPLEX; k++) {
        size_t n = (k * 7919) % 300000 + 1;
        if (n > DUPLEX - off)
            n = DUPLEX - off;
        ASSERT_IO(goc_write(d->fd, buf + off, n, NULL), n);
        off += n;
    }
    free(buf);
    goc_wg_done(&dx_wg);
}
static void dx_reader(void *arg)
{
    struct dx *d = arg;
    unsigned char buf[65536];
    size_t off = 0;
    while (off < DUPLEX) {
        ssize_t r = goc_read(d->fd, buf, sizeof buf, NULL);
        ASSERT_GT(r, 0);
        for (ssize_t i = 0; i < r; i++, off++)
            if (buf[i] != (unsigned char)(off * d->seed >> 3))
                FAIL("byte %zu differs", off);
    }
    goc_wg_done(&dx_wg);
}
static void duplex_main(void *arg)
{
    (void)arg;
    int c, s, small = 32 * 1024;
    conn_pair(&c, &s);
    int fds[2] = {c, s};
    for (int i = 0; i < 2; i++) {
        ASSERT_EQ(setsockopt(fds[i], SOL_SOCKET, SO_SNDBUF, &small,
                             sizeof small), 0);
        ASSERT_EQ(setsockopt(fds[i], SOL_SOCKET, SO_RCVBUF, &small,
                             sizeof small), 0);
    }
    /* c writes seed 3 and s reads it; s writes seed 5 and c reads it. */
    struct dx cw = {c, 3}, sr = {s, 3}, sw = {s, 5}, cr = {c, 5};
    goc_wg_add(&dx_wg, 4);
    ASSERT_OK(goc_go(dx_writer, &cw));
    ASSERT_OK(goc_go(dx_writer, &sw));
    ASSERT_OK(goc_go(dx_reader, &sr));
    ASSERT_OK(goc_go(dx_reader, &cr));
    goc_wg_wait(&dx_wg);
    ASSERT_OK(goc_close(c));
    ASSERT_OK(goc_close(s));
}
TEST(net_fd_full_duplex)
{
    run_main(duplex_main, NULL);
}

/* ---- a plain thread during a run: a read with a deadline times out,
 * and a read without one gets what a goroutine writes ---- */

static _Atomic int pt_timed_out;
static int pt_c, pt_s;
static void *pt_thread(void *arg)
{
    (void)arg;
    goc_ctx *ctx = goc_ctx_with_timeout(NULL, 30 * MS);
    char b;
    ASSERT_IO(goc_read(pt_c, &b, 1, ctx), GOC_ETIMEDOUT);
    ASSERT_GE(goc_now(), goc_ctx_deadline(ctx));
    goc_ctx_release(ctx);
    atomic_store(&pt_timed_out, 1);
    ASSERT_IO(goc_read(pt_c, &b, 1, NULL), 1);
    ASSERT_EQ(b, 'g');
    return NULL;
}
static void plain_thread_main(void *arg)
{
    (void)arg;
    conn_pair(&pt_c, &pt_s);
    pthread_t t;
    ASSERT_EQ(pthread_create(&t, NULL, pt_thread, NULL), 0);
    /* Bounded: 10 s.  Yield-and-sleep, not a channel: the thread need
     * not be known to goc's deadlock detection. */
    for (int i = 0; i < 10000 && !atomic_load(&pt_timed_out); i++)
        goc_sleep(MS);
    ASSERT(atomic_load(&pt_timed_out));
    ASSERT_IO(goc_write(pt_s, "g", 1, NULL), 1);
    ASSERT_EQ(pthread_join(t, NULL), 0);
    ASSERT_OK(goc_close(pt_c));
    ASSERT_OK(goc_close(pt_s));
}
TEST(net_fd_plain_thread_deadline)
{
    run_main(plain_thread_main, NULL);
}

/* ---- goc_close of a listener whose goc_accept is backing off out of
 * descriptors: the accept ends with GOC_ECLOSED.  A descriptor is freed
 * right after the close: an accept that slept through the close would
 * then take the queued connection from a closed listener ---- */

static void acceptor(void *arg)
{
    int64_t r = goc_accept(the_fd, arg);
    ASSERT_OK(goc_chan_send(res_c, &r));
}
static void emfile_close_main(void *arg)
{
    (void)arg;
    res_c = goc_chan_make(sizeof(int64_t), 1);
    char addr[GOC_ADDR_MAX];
    int l = listen_local(addr, 0);
    int c = goc_tcp_dial(addr, NULL);
    ASSERT_FD(c);
    struct rlimit old;
    int nfill, *fill = fill_descriptors(&old, 1, &nfill);
    the_fd = l;
    ASSERT_OK(goc_go(acceptor, NULL));
    /* 1.2 s out of descriptors: the back-off (5 ms doubling) has grown
     * to its 640 ms step. */
    goc_sleep(1200 * MS);
    ASSERT_ERR(goc_chan_try_recv(res_c, NULL), GOC_EAGAIN);
    int64_t t0 = goc_now();
    ASSERT_OK(goc_close(l));
    ASSERT_EQ(close(fill[--nfill]), 0);
    int64_t r;
    ASSERT_OK(goc_chan_recv(res_c, &r));
    int64_t waited = goc_now() - t0;
    if (r >= 0) {
        ASSERT_OK(goc_close((int)r));
        FAIL("goc_accept returned connection %d %lld ms after its listener "
             "was closed", (int)r, (long long)(waited / MS));
    }
    ASSERT_ERR((int)r, GOC_ECLOSED);
    unfill_descriptors(&old, fill, nfill);
    ASSERT_OK(goc_close(c));
    goc_chan_release(res_c);
}
TEST(net_fd_close_accept_in_backoff)
{
    run_main(emfile_close_main, NULL);
}

/* ---- a storm of dials from many goroutines over several Ps (they
 * migrate between threads while they wait for their connects): every
 * dial connects; none reports an error of another thread's call ---- */

#define STORM_G 16
#define STORM_DIALS 100
static char storm_addr[GOC_ADDR_MAX];
static goc_wg storm_wg;
static _Atomic int storm_accepted;
static void storm_acceptor(void *arg)
{
    int l = (int)(intptr_t)arg;
    for (;;) {
        int s = goc_accept(l, NULL);
        /* Main closes l at the end: parked here, or between two calls
         * (then the number is free already). */
        if (s == GOC_ECLOSED || s == -EBADF)
            return;
        ASSERT_FD(s);
        atomic_fetch_add(&storm_accepted, 1);
        ASSERT_OK(goc_close(s));
    }
}
static void storm_dialer(void *arg)
{
    (void)arg;
    for (int i = 0; i < scaled(STORM_DIALS); i++) {
        int c = goc_tcp_dial(storm_addr, NULL);
        if (c < 0)
            FAIL("dial %d: %s (%d)", i, goc_err_name(c), c);
        ASSERT_OK(goc_close(c));
    }
    goc_wg_done(&storm_wg);
}
static void storm_main(void *arg)
{
    (void)arg;
    int l = listen_local(storm_addr, 0);
    ASSERT_OK(goc_go(storm_acceptor, (void *)(intptr_t)l));
    goc_wg_add(&storm_wg, STORM_G);
    for (int i = 0; i < STORM_G; i++)
        ASSERT_OK(goc_go(storm_dialer, NULL));
    goc_wg_wait(&storm_wg);
    ASSERT_OK(goc_close(l));
}
TEST(net_fd_dial_storm)
{
    goc_maxprocs(4);
    run_main(storm_main, NULL);
}

/* ---- dials into a full accept queue, from many goroutines over several
 * Ps: each stays in SYN_SENT until its ctx ends it, so every one must
 * end with GOC_ETIMEDOUT; a wake-up before the connect completed (the
 * socket is writable when it is registered, before connect(2)) must not
 * turn into another error ---- */

#define SYN_G 16
#define SYN_DIALS 20
static goc_wg syn_wg;
static _Atomic int syn_other;
static void syn_dialer(void *arg)
{
    (void)arg;
    for (int i = 0; i < scaled(SYN_DIALS); i++) {
        goc_ctx *ctx = goc_ctx_with_timeout(NULL, 20 * MS);
        int c = goc_tcp_dial(storm_addr, ctx);
        goc_ctx_release(ctx);
        if (c >= 0) {
            ASSERT_OK(goc_close(c)); /* the queue had room after all */
        } else if (c != GOC_ETIMEDOUT) {
            fprintf(stderr, "dial into a full queue: %s (%d)\n",
                    goc_err_name(c), c);
            atomic_fetch_add(&syn_other, 1);
        }
    }
    goc_wg_done(&syn_wg);
}
static void syn_main(void *arg)
{
    (void)arg;
    int l = listen_local(storm_addr, 1);
    /* Fill the queue (bounded: 16 dials). */
    int q[16], nq = 0, c = 0;
    while (nq < 16) {
        goc_ctx *ctx = goc_ctx_with_timeout(NULL, 200 * MS);
        c = goc_tcp_dial(storm_addr, ctx);
        goc_ctx_release(ctx);
        if (c < 0)
            break;
        q[nq++] = c;
    }
    ASSERT_ERR(c, GOC_ETIMEDOUT);
    goc_wg_add(&syn_wg, SYN_G);
    for (int i = 0; i < SYN_G; i++)
        ASSERT_OK(goc_go(syn_dialer, NULL));
    goc_wg_wait(&syn_wg);
    int other = atomic_load(&syn_other);
    ASSERT_EQ(other, 0);
    while (nq > 0)
        ASSERT_OK(goc_close(q[--nq]));
    ASSERT_OK(goc_close(l));
}
TEST(net_fd_dial_full_queue_storm)
{
    goc_maxprocs(4);
    run_main(syn_main, NULL);
}
