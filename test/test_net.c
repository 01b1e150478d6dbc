/* SPDX-License-Identifier: MIT */
/* test_net.c - the network calls (goc.h, "Network and blocking calls"):
 * echo over many connections, deadlines and cancellation through a ctx,
 * goc_close racing a parked call and descriptor reuse, half-close, EPIPE
 * without SIGPIPE, refused dials, Go's address forms, Unix sockets,
 * goc_fd_wait, accept under EMFILE, idle connections, name resolution.
 *
 * Traffic stays on loopback and Unix sockets.  Where a test must know that
 * a goroutine is parked in the poller before it acts (a close or a cancel
 * that should wake it, not fail it at the start), it waits until the
 * goroutine dump shows "[IO wait]": an observable state, not a sleep. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "test_net.h"

/* Raise the soft RLIMIT_NOFILE to the hard one.  Returns: the limit. */
static long raise_nofile(void)
{
    struct rlimit rl;
    ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &rl), 0);
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &rl), 0);
    }
    return rl.rlim_cur == RLIM_INFINITY ? 1L << 20 : (long)rl.rlim_cur;
}

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 +
           (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec * 1e-6;
}

/* ---- echo over 1,000 connections: a goroutine per connection on both
 * sides, each client checking every message that comes back ---- */

#define ECHO_CONNS 1000
#define ECHO_MSGS 4
#define ECHO_LEN 100
static int echo_conns, echo_lfd;
static char echo_addr[GOC_ADDR_MAX];
static goc_wg echo_wg;

static void echo_server_conn(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char buf[512];
    ssize_t n;
    while ((n = goc_read(fd, buf, sizeof buf, NULL)) > 0)
        ASSERT_IO(goc_write(fd, buf, (size_t)n, NULL), n);
    ASSERT_IO(n, 0); /* the client's close, nothing else */
    ASSERT_OK(goc_close(fd));
    goc_wg_done(&echo_wg);
}
static void echo_acceptor(void *arg)
{
    (void)arg;
    for (int i = 0; i < echo_conns; i++) {
        int fd = goc_accept(echo_lfd, NULL);
        ASSERT_FD(fd);
        ASSERT_OK(goc_go(echo_server_conn, (void *)(intptr_t)fd));
    }
    goc_wg_done(&echo_wg);
}
static void echo_client(void *arg)
{
    int id = (int)(intptr_t)arg;
    int fd = goc_tcp_dial(echo_addr, NULL);
    ASSERT_FD(fd);
    for (int m = 0; m < ECHO_MSGS; m++) {
        char out[ECHO_LEN], in[ECHO_LEN];
        memset(out, 'a' + (id + m) % 26, sizeof out);
        snprintf(out, sizeof out, "client %d message %d", id, m);
        ASSERT_IO(goc_write(fd, out, sizeof out, NULL), sizeof out);
        ASSERT_IO(read_full(fd, in, sizeof in, NULL), sizeof in);
        ASSERT(memcmp(in, out, sizeof in) == 0);
    }
    ASSERT_OK(goc_close(fd));
    goc_wg_done(&echo_wg);
}
static void echo_main(void *arg)
{
    (void)arg;
    echo_lfd = listen_local(echo_addr, 0);
    goc_wg_add(&echo_wg, 1 + 2 * (int64_t)echo_conns);
    ASSERT_OK(goc_go(echo_acceptor, NULL));
    for (int i = 0; i < echo_conns; i++)
        ASSERT_OK(goc_go(echo_client, (void *)(intptr_t)i));
    goc_wg_wait(&echo_wg);
    ASSERT_OK(goc_close(echo_lfd));
}
TEST(net_echo_1000)
{
    /* Two descriptors a connection, plus some for the runtime.  A hard
     * limit too low for 1,000 connections gets as many as fit, and a
     * note; sanitizer builds run fewer (scaled), at least 100. */
    long limit = raise_nofile();
    long want = scaled(ECHO_CONNS) < 100 ? 100 : scaled(ECHO_CONNS);
    long fit = (limit - 64) / 2;
    if (fit < want) {
        fprintf(stderr, "net_echo_1000: RLIMIT_NOFILE %ld: %ld connections\n",
                limit, fit);
        want = fit;
    }
    ASSERT_GT(want, 0);
    echo_conns = (int)want;
    run_main(echo_main, NULL);
}

/* ---- deadlines: read, write, accept, dial; each GOC_ETIMEDOUT, never
 * before the ctx's deadline, and the descriptor still works after ---- */

static void read_deadline_main(void *arg)
{
    (void)arg;
    int c, s;
    conn_pair(&c, &s);
    char buf[16];
    goc_ctx *ctx = goc_ctx_with_timeout(NULL, 50 * MS);
    ASSERT_IO(goc_read(c, buf, sizeof buf, ctx), GOC_ETIMEDOUT);
    ASSERT_GE(goc_now(), goc_ctx_deadline(ctx));
    /* Expired: every later call with it fails at once, data or not. */
    ASSERT_IO(goc_write(s, "ping", 4, NULL), 4);
    ASSERT_IO(goc_read(c, buf, sizeof buf, ctx), GOC_ETIMEDOUT);
    goc_ctx_release(ctx);
    /* A timeout does not break the connection (as Go's deadlines). */
    ASSERT_IO(read_full(c, buf, 4, NULL), 4);
    ASSERT(memcmp(buf, "ping", 4) == 0);
    ASSERT_OK(goc_close(c));
    ASSERT_OK(goc_close(s));
}
TEST(net_read_deadline)
{
    run_main(read_deadline_main, NULL);
}

/* The peer never reads: small socket buffers on both sides, and far more
 * data than they hold, so the writer must wait for room. */
#define FLOOD (16 << 20)
static void write_deadline_main(void *arg)
{
    (void)arg;
    int c, s, small = 16 * 1024;
    conn_pair(&c, &s);
    ASSERT_EQ(setsockopt(c, SOL_SOCKET, SO_SNDBUF, &small, sizeof small), 0);
    ASSERT_EQ(setsockopt(s, SOL_SOCKET, SO_RCVBUF, &small, sizeof small), 0);
    char *big = calloc(1, FLOOD);
    ASSERT(big != NULL);
    goc_ctx *ctx = goc_ctx_with_timeout(NULL, 100 * MS);
    ASSERT_IO(goc_write(c, big, FLOOD, ctx), GOC_ETIMEDOUT);
    ASSERT_GE(goc_now(), goc_ctx_deadline(ctx));
    goc_ctx_release(ctx);
    free(big);
    ASSERT_OK(goc_close(c));
    ASSERT_OK(goc_close(s));
}
TEST(net_write_deadline)
{
    run_main(write_deadline_main, NULL);
}

static void accept_deadline_main(void *arg)
{
    (void)arg;
    char addr[GOC_ADDR_MAX];
    int l = listen_local(addr, 0);
    goc_ctx *ctx = goc_ctx_with_timeout(NULL, 50 * MS);
    ASSERT_ERR(goc_accept(l, ctx), GOC_ETIMEDOUT);
    ASSERT_GE(goc_now(), goc_ctx_deadline(ctx));
    goc_ctx_release(ctx);
    /* The listener still accepts. */
    int c = goc_tcp_dial(addr, NULL);
    ASSERT_FD(c);
    int s = goc_accept(l, NULL);
    ASSERT_FD(s);
    ASSERT_OK(goc_close(s));
    ASSERT_OK(goc_close(c));
    ASSERT_OK(goc_close(l));
}
TEST(net_accept_deadline)
{
    run_main(accept_deadline_main, NULL);
}

/* A dial deadline, with loopback only (a blackholed address is out of
 * bounds for the tests): a listener of backlog 1 that never accepts.
 * Once its queue is full the kernel drops further SYNs, so the next
 * connect waits (for SYN retransmits) until the ctx ends it.  How many
 * dials fill the queue is the kernel's business (Linux: backlog + 1):
 * dial until one times out, at most 16 times.  Then a ctx that expired
 * before the call: the dial fails without connecting. */
#define DIAL_TRIES 16
static void dial_deadline_main(void *arg)
{
    (void)arg;
    char addr[GOC_ADDR_MAX];
    int l = listen_local(addr, 1);
    int fds[DIAL_TRIES], n = 0, rc = 0;
    while (n < DIAL_TRIES) {
        goc_ctx *ctx = goc_ctx_with_timeout(NULL, 300 * MS);
        rc = goc_tcp_dial(addr, ctx);
        if (rc == GOC_ETIMEDOUT)
            ASSERT_GE(goc_now(), goc_ctx_deadline(ctx));
        goc_ctx_release(ctx);
        if (rc < 0)
            break;
        fds[n++] = rc;
    }
    ASSERT_ERR(rc, GOC_ETIMEDOUT);
    ASSERT_GE(n, 1); /* the queue took some before it was full */
    for (int i = 0; i < n; i++)
        ASSERT_OK(goc_close(fds[i]));
    ASSERT_OK(goc_close(l));

    /* Expired before the call: GOC_ETIMEDOUT, and no connection was
     * started (the listener's queue stays empty). */
    l = listen_local(addr, 0);
    goc_ctx *past = goc_ctx_with_deadline(NULL, goc_now() - MS);
    ASSERT_ERR(goc_tcp_dial(addr, past), GOC_ETIMEDOUT);
    goc_ctx_release(past);
    goc_ctx *ctx = goc_ctx_with_timeout(NULL, 50 * MS);
    ASSERT_ERR(goc_accept(l, ctx), GOC_ETIMEDOUT);
    goc_ctx_release(ctx);
    ASSERT_OK(goc_close(l));
}
TEST(net_dial_deadline)
{
    run_main(dial_deadline_main, NULL);
}

/* ---- cancel from another goroutine while one is parked in goc_read ---- */

static goc_chan *result_c;
static int cancel_fd;
static goc_ctx *cancel_ctx;
static void cancel_reader(void *arg)
{
    (void)arg;
    char buf[16];
    int64_t r = goc_read(cancel_fd, buf, sizeof buf, cancel_ctx);
    ASSERT_OK(goc_chan_send(result_c, &r));
}
static void cancel_main(void *arg)
{
    (void)arg;
    int c, s;
    conn_pair(&c, &s);
    result_c = goc_chan_make(sizeof(int64_t), 1);
    cancel_fd = c;
    cancel_ctx = goc_ctx_with_cancel(NULL);
    ASSERT_OK(goc_go(cancel_reader, NULL));
    wait_io_parked(1);
    goc_ctx_cancel(cancel_ctx);
    int64_t r;
    ASSERT_OK(goc_chan_recv(result_c, &r));
    ASSERT_IO(r, GOC_ECANCELED);
    goc_ctx_release(cancel_ctx);
    /* The connection survives the cancel. */
    char buf[4];
    ASSERT_IO(goc_write(s, "pong", 4, NULL), 4);
    ASSERT_IO(read_full(c, buf, 4, NULL), 4);
    goc_chan_release(result_c);
    ASSERT_OK(goc_close(c));
    ASSERT_OK(goc_close(s));
}
TEST(net_read_cancel)
{
    run_main(cancel_main, NULL);
}

/* ---- a ctx that is done already fails every call at once, even when
 * the call could succeed without waiting, and consumes nothing ---- */

static void done_ctx_main(void *arg)
{
    (void)arg;
    char addr[GOC_ADDR_MAX], buf[4];
    int l = listen_local(addr, 0);
    int c = goc_tcp_dial(addr, NULL);
    ASSERT_FD(c);
    goc_ctx *canceled = goc_ctx_with_cancel(NULL);
    goc_ctx_cancel(canceled);
    goc_ctx *expired = goc_ctx_with_deadline(NULL, goc_now() - MS);
    /* A connection is queued: accept would not wait. */
    ASSERT_ERR(goc_accept(l, canceled), GOC_ECANCELED);
    ASSERT_ERR(goc_accept(l, expired), GOC_ETIMEDOUT);
    int s = goc_accept(l, NULL);
    ASSERT_FD(s);
    /* Data is there and there is room: still the ctx's error. */
    ASSERT_IO(goc_write(s, "data", 4, NULL), 4);
    ASSERT_ERR(goc_fd_wait(c, GOC_READ, canceled), GOC_ECANCELED);
    ASSERT_IO(goc_read(c, buf, sizeof buf, canceled), GOC_ECANCELED);
    ASSERT_IO(goc_read(c, buf, sizeof buf, expired), GOC_ETIMEDOUT);
    ASSERT_IO(goc_write(c, "x", 1, canceled), GOC_ECANCELED);
    ASSERT_IO(goc_write(c, "x", 1, expired), GOC_ETIMEDOUT);
    ASSERT_ERR(goc_tcp_dial(addr, canceled), GOC_ECANCELED);
    /* Nothing was consumed or sent. */
    ASSERT_IO(read_full(c, buf, 4, NULL), 4);
    ASSERT(memcmp(buf, "data", 4) == 0);
    goc_ctx *ctx = goc_ctx_with_timeout(NULL, 30 * MS);
    ASSERT_IO(goc_read(s, buf, 1, ctx), GOC_ETIMEDOUT);
    goc_ctx_release(ctx);
    goc_ctx_release(canceled);
    goc_ctx_release(expired);
    ASSERT_OK(goc_close(s));
    ASSERT_OK(goc_close(c));
    ASSERT_OK(goc_close(l));
}
TEST(net_done_ctx_fails_at_once)
{
    run_main(done_ctx_main, NULL);
}

/* ---- goc_close from another goroutine wakes the calls parked on the
 * descriptor; later calls fail; the number comes back for a new socket,
 * which works (no stale registration or wake-up) ---- */

static int close_fd;
static void close_reader(void *arg)
{
    (void)arg;
    char buf[16];
    int64_t r = goc_read(close_fd, buf, sizeof buf, NULL);
    ASSERT_OK(goc_chan_send(result_c, &r));
}
static void close_writer(void *arg)
{
    (void)arg;
    /* The peer never reads: this parks once the buffers are full. */
    size_t n = FLOOD;
    char *big = calloc(1, n);
    ASSERT(big != NULL);
    int64_t r = goc_write(close_fd, big, n, NULL);
    free(big);
    ASSERT_OK(goc_chan_send(result_c, &r));
}
static void close_waiter(void *arg)
{
    (void)arg;
    int64_t r = goc_fd_wait(close_fd, GOC_READ, NULL);
    ASSERT_OK(goc_chan_send(result_c, &r));
}
static void close_main(void *arg)
{
    (void)arg;
    char addr[GOC_ADDR_MAX], buf[8];
    int l = listen_local(addr, 0), small = 16 * 1024;
    int c = goc_tcp_dial(addr, NULL);
    ASSERT_FD(c);
    int s = goc_accept(l, NULL);
    ASSERT_FD(s);
    ASSERT_EQ(setsockopt(c, SOL_SOCKET, SO_SNDBUF, &small, sizeof small), 0);
    ASSERT_EQ(setsockopt(s, SOL_SOCKET, SO_RCVBUF, &small, sizeof small), 0);
    result_c = goc_chan_make(sizeof(int64_t), 3);
    close_fd = c;
    ASSERT_OK(goc_go(close_reader, NULL));
    ASSERT_OK(goc_go(close_writer, NULL));
    ASSERT_OK(goc_go(close_waiter, NULL));
    wait_io_parked(3);
    ASSERT_OK(goc_close(c));
    for (int i = 0; i < 3; i++) {
        int64_t r;
        ASSERT_OK(goc_chan_recv(result_c, &r));
        ASSERT_IO(r, GOC_ECLOSED);
    }
    /* Afterwards: GOC_ECLOSED while goc still knows the descriptor,
     * -EBADF once the number is free. */
    ssize_t r = goc_read(c, buf, sizeof buf, NULL);
    ASSERT(r == GOC_ECLOSED || r == -EBADF);
    r = goc_write(c, "x", 1, NULL);
    ASSERT(r == GOC_ECLOSED || r == -EBADF);
    int rc = goc_close(c);
    ASSERT(rc == GOC_ECLOSED || rc == -EBADF);

    /* The lowest free number (POSIX) is c's: the next socket gets it. */
    int c2 = goc_tcp_dial(addr, NULL);
    ASSERT_FD(c2);
    ASSERT_EQ(c2, c);
    int s2 = goc_accept(l, NULL);
    ASSERT_FD(s2);
    /* A reader parked on the new socket is woken by its data, and only
     * by it: nothing left over from the old one reaches it. */
    close_fd = c2;
    ASSERT_OK(goc_go(close_reader, NULL));
    wait_io_parked(1);
    ASSERT_IO(goc_write(s2, "new", 3, NULL), 3);
    int64_t r2;
    ASSERT_OK(goc_chan_recv(result_c, &r2));
    ASSERT_IO(r2, 3);
    ASSERT_IO(goc_write(c2, "back", 4, NULL), 4);
    ASSERT_IO(read_full(s2, buf, 4, NULL), 4);
    ASSERT(memcmp(buf, "back", 4) == 0);
    goc_chan_release(result_c);
    ASSERT_OK(goc_close(c2));
    ASSERT_OK(goc_close(s2));
    ASSERT_OK(goc_close(s));
    ASSERT_OK(goc_close(l));
}
TEST(net_close_wakes_parked)
{
    run_main(close_main, NULL);
}

/* goc_close of a listener wakes its goc_accept. */
static void close_acceptor(void *arg)
{
    (void)arg;
    int64_t r = goc_accept(close_fd, NULL);
    ASSERT_OK(goc_chan_send(result_c, &r));
}
static void close_accept_main(void *arg)
{
    (void)arg;
    char addr[GOC_ADDR_MAX];
    result_c = goc_chan_make(sizeof(int64_t), 1);
    close_fd = listen_local(addr, 0);
    ASSERT_OK(goc_go(close_acceptor, NULL));
    wait_io_parked(1);
    ASSERT_OK(goc_close(close_fd));
    int64_t r;
    ASSERT_OK(goc_chan_recv(result_c, &r));
    ASSERT_ERR((int)r, GOC_ECLOSED);
    goc_chan_release(result_c);
}
TEST(net_close_wakes_accept)
{
    run_main(close_accept_main, NULL);
}

/* ---- half-close: the peer reads the data, then end of stream, and can
 * still write back ---- */

static void half_close_main(void *arg)
{
    (void)arg;
    int c, s;
    char buf[16];
    conn_pair(&c, &s);
    ASSERT_IO(goc_write(c, "request", 7, NULL), 7);
    ASSERT_OK(goc_close_write(c));
    ASSERT_IO(read_full(s, buf, 7, NULL), 7);
    ASSERT(memcmp(buf, "request", 7) == 0);
    ASSERT_IO(goc_read(s, buf, sizeof buf, NULL), 0);
    ASSERT_IO(goc_read(s, buf, sizeof buf, NULL), 0); /* and stays so */
    ASSERT_IO(goc_write(s, "reply", 5, NULL), 5);
    ASSERT_OK(goc_close(s));
    ASSERT_IO(read_full(c, buf, 5, NULL), 5);
    ASSERT(memcmp(buf, "reply", 5) == 0);
    ASSERT_IO(goc_read(c, buf, sizeof buf, NULL), 0);
    ASSERT_OK(goc_close(c));
    /* Not a socket: an error, not a crash. */
    int p[2];
    ASSERT_EQ(pipe(p), 0);
    ASSERT_ERR(goc_close_write(p[1]), -ENOTSOCK);
    close(p[0]);
    close(p[1]);
}
TEST(net_half_close)
{
    run_main(half_close_main, NULL);
}

/* ---- EPIPE, never SIGPIPE: a connection whose peer closed, and a pipe
 * whose reader closed.  SIGPIPE's default action (terminate) is set, so
 * a raised SIGPIPE would kill the test ---- */

static bool sigpipe_pending(void)
{
    sigset_t s;
    sigpending(&s);
    return sigismember(&s, SIGPIPE);
}
static void epipe_socket_main(void *arg)
{
    (void)arg;
    int c, s;
    conn_pair(&c, &s);
    ASSERT_OK(goc_close(s));
    /* The first writes may go out before the peer's reset comes back;
     * -ECONNRESET may show once; then -EPIPE.  At most 1,000 tries over
     * about a second. */
    ssize_t r = 0;
    for (int i = 0; i < 1000 && r != -EPIPE; i++) {
        r = goc_write(c, "x", 1, NULL);
        ASSERT(r == 1 || r == -EPIPE || r == -ECONNRESET);
        if (i >= 10)
            goc_sleep(MS);
    }
    ASSERT_IO(r, -EPIPE);
    ASSERT_IO(goc_write(c, "x", 1, NULL), -EPIPE);
    ASSERT(!sigpipe_pending());
    ASSERT_OK(goc_close(c));
}
TEST(net_epipe_socket)
{
    signal(SIGPIPE, SIG_DFL);
    run_main(epipe_socket_main, NULL);
}

static void epipe_pipe_main(void *arg)
{
    (void)arg;
    int p[2];
    ASSERT_EQ(pipe(p), 0);
    ASSERT_OK(goc_fd_wrap(p[1]));
    ASSERT_EQ(close(p[0]), 0); /* never goc's: close(2) is right */
    ASSERT_IO(goc_write(p[1], "x", 1, NULL), -EPIPE);
    ASSERT_IO(goc_write(p[1], "xyz", 3, NULL), -EPIPE);
    ASSERT(!sigpipe_pending());
    ASSERT_OK(goc_close(p[1]));
}
TEST(net_epipe_pipe)
{
    signal(SIGPIPE, SIG_DFL);
    run_main(epipe_pipe_main, NULL);
    /* Outside a run too: the calls work on plain threads. */
    epipe_pipe_main(NULL);
}

/* ---- a refused dial ---- */

static void refused_main(void *arg)
{
    (void)arg;
    char addr[GOC_ADDR_MAX];
    int l = listen_local(addr, 0);
    ASSERT_OK(goc_close(l));
    ASSERT_ERR(goc_tcp_dial(addr, NULL), -ECONNREFUSED);
}
TEST(net_dial_refused)
{
    run_main(refused_main, NULL);
}

/* ---- address forms ---- */

/* Dial addr, accept on l, and check the four address strings: the
 * client's remote is the listener's local (when `exact`, i.e. the
 * listener has one address), the server's remote is the client's local,
 * and a byte goes each way. */
static void check_pair(int l, const char *addr, bool exact)
{
    char la[GOC_ADDR_MAX], cl[GOC_ADDR_MAX], cr[GOC_ADDR_MAX];
    char sl[GOC_ADDR_MAX], sr[GOC_ADDR_MAX], b;
    int c = goc_tcp_dial(addr, NULL);
    ASSERT_FD(c);
    int s = goc_accept(l, NULL);
    ASSERT_FD(s);
    ASSERT_GT(goc_local_addr(l, la, sizeof la), 0);
    ASSERT_GT(goc_local_addr(c, cl, sizeof cl), 0);
    ASSERT_GT(goc_remote_addr(c, cr, sizeof cr), 0);
    ASSERT_GT(goc_local_addr(s, sl, sizeof sl), 0);
    ASSERT_GT(goc_remote_addr(s, sr, sizeof sr), 0);
    if (exact) {
        if (strcmp(cr, la) != 0 || strcmp(sl, la) != 0)
            FAIL("listener %s, client's peer %s, server %s", la, cr, sl);
    }
    if (strcmp(sr, cl) != 0 || strcmp(cr, sl) != 0)
        FAIL("client %s -> %s, server %s <- %s", cl, cr, sl, sr);
    ASSERT_IO(goc_write(c, "c", 1, NULL), 1);
    ASSERT_IO(goc_read(s, &b, 1, NULL), 1);
    ASSERT_IO(goc_write(s, "s", 1, NULL), 1);
    ASSERT_IO(goc_read(c, &b, 1, NULL), 1);
    ASSERT_OK(goc_close(c));
    ASSERT_OK(goc_close(s));
}

/* The port of a "host:port" string. */
static int port_of(const char *addr)
{
    const char *colon = strrchr(addr, ':');
    ASSERT(colon != NULL);
    return atoi(colon + 1);
}

static void addr_forms_main(void *arg)
{
    (void)arg;
    char a[GOC_ADDR_MAX], want[GOC_ADDR_MAX], dial[GOC_ADDR_MAX];

    /* IPv4 loopback: Go's form, and a real port. */
    int l = goc_tcp_listen("127.0.0.1:0", 0);
    ASSERT_FD(l);
    int n = goc_local_addr(l, a, sizeof a);
    ASSERT_EQ(n, (int)strlen(a));
    snprintf(want, sizeof want, "127.0.0.1:%d", port_of(a));
    ASSERT_GT(port_of(a), 0);
    if (strcmp(a, want) != 0)
        FAIL("local address %s", a);
    check_pair(l, a, true);
    ASSERT_OK(goc_close(l));

    /* IPv6 loopback, in brackets. */
    bool v6 = true;
    l = goc_tcp_listen("[::1]:0", 0);
    if (l == -EADDRNOTAVAIL || l == -EAFNOSUPPORT) {
        fprintf(stderr, "net_addr_forms: no IPv6 loopback (%s): "
                        "[::1] skipped\n", goc_err_name(l));
        v6 = false;
    } else {
        ASSERT_FD(l);
        ASSERT_GT(goc_local_addr(l, a, sizeof a), 0);
        snprintf(want, sizeof want, "[::1]:%d", port_of(a));
        if (strcmp(a, want) != 0)
            FAIL("local address %s", a);
        check_pair(l, a, true);
        ASSERT_OK(goc_close(l));
    }

    /* A name: "localhost" resolves (to 127.0.0.1 or ::1). */
    l = goc_tcp_listen("localhost:0", 0);
    ASSERT_FD(l);
    ASSERT_GT(goc_local_addr(l, a, sizeof a), 0);
    if (strncmp(a, "127.0.0.1:", 10) != 0 && strncmp(a, "[::1]:", 6) != 0)
        FAIL("localhost listens on %s", a);
    check_pair(l, a, true);
    ASSERT_OK(goc_close(l));

    /* ":0": every address; dials to the local system reach it. */
    l = goc_tcp_listen(":0", 0);
    ASSERT_FD(l);
    ASSERT_GT(goc_local_addr(l, a, sizeof a), 0);
    int port = port_of(a);
    snprintf(want, sizeof want, "[::]:%d", port);
    snprintf(dial, sizeof dial, "0.0.0.0:%d", port);
    if (strcmp(a, want) != 0 && strcmp(a, dial) != 0)
        FAIL(":0 listens on %s", a);
    snprintf(dial, sizeof dial, "127.0.0.1:%d", port);
    check_pair(l, dial, false);
    snprintf(dial, sizeof dial, ":%d", port);
    check_pair(l, dial, false);
    if (v6 && a[0] == '[') {
        snprintf(dial, sizeof dial, "[::1]:%d", port);
        check_pair(l, dial, false);
    }
    ASSERT_OK(goc_close(l));
}
TEST(net_addr_forms)
{
    run_main(addr_forms_main, NULL);
}

static void addr_bad_main(void *arg)
{
    (void)arg;
    static const char *const bad[] = {
        "nocolon", "1.2.3.4:99999", "127.0.0.1:", "::1:80", "[::1:80",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = goc_tcp_listen(bad[i], 0);
        if (rc != GOC_EINVAL)
            FAIL("listen \"%s\": %s, want GOC_EINVAL", bad[i],
                 goc_err_name(rc));
        rc = goc_tcp_dial(bad[i], NULL);
        if (rc != GOC_EINVAL)
            FAIL("dial \"%s\": %s, want GOC_EINVAL", bad[i],
                 goc_err_name(rc));
    }
    ASSERT_ERR(goc_tcp_listen(NULL, 0), GOC_EINVAL);
    ASSERT_ERR(goc_tcp_dial(NULL, NULL), GOC_EINVAL);

    /* Address buffers: too small, NULL, not a socket. */
    char a[GOC_ADDR_MAX];
    int l = listen_local(a, 0);
    char tiny[4];
    ASSERT_ERR(goc_local_addr(l, tiny, sizeof tiny), GOC_EINVAL);
    ASSERT_ERR(goc_local_addr(l, NULL, 0), GOC_EINVAL);
    ASSERT_ERR(goc_remote_addr(l, a, sizeof a), -ENOTCONN);
    ASSERT_OK(goc_close(l));
    int p[2];
    ASSERT_EQ(pipe(p), 0);
    ASSERT_ERR(goc_local_addr(p[0], a, sizeof a), -ENOTSOCK);
    close(p[0]);
    close(p[1]);
}
TEST(net_addr_bad)
{
    run_main(addr_bad_main, NULL);
}

/* ---- Unix sockets: a path in a fresh directory, and an abstract name */

/* Listen on path, dial it, check the addresses and a round trip. */
static void unix_round_trip(const char *path)
{
    char a[GOC_ADDR_MAX], buf[8];
    int l = goc_unix_listen(path, 0);
    ASSERT_FD(l);
    ASSERT_GT(goc_local_addr(l, a, sizeof a), 0);
    if (strcmp(a, path) != 0)
        FAIL("unix listener at %s, want %s", a, path);
    int c = goc_unix_dial(path, NULL);
    ASSERT_FD(c);
    int s = goc_accept(l, NULL);
    ASSERT_FD(s);
    ASSERT_GT(goc_remote_addr(c, a, sizeof a), 0);
    if (strcmp(a, path) != 0)
        FAIL("unix peer %s, want %s", a, path);
    ASSERT_IO(goc_write(c, "unix", 4, NULL), 4);
    ASSERT_IO(read_full(s, buf, 4, NULL), 4);
    ASSERT(memcmp(buf, "unix", 4) == 0);
    ASSERT_OK(goc_close_write(s));
    ASSERT_IO(goc_read(c, buf, sizeof buf, NULL), 0);
    ASSERT_OK(goc_close(c));
    ASSERT_OK(goc_close(s));
    ASSERT_OK(goc_close(l));
}
static void unix_main(void *arg)
{
    (void)arg;
    char dir[] = P_tmpdir "/goc-net-XXXXXX";
    ASSERT(mkdtemp(dir) != NULL);
    char path[GOC_ADDR_MAX];
    snprintf(path, sizeof path, "%s/sock", dir);
    unix_round_trip(path);
    /* goc removes nothing: the socket file stays, and blocks a listen. */
    ASSERT_ERR(goc_unix_listen(path, 0), -EADDRINUSE);
    ASSERT_EQ(unlink(path), 0);
    unix_round_trip(path); /* free again */
    ASSERT_EQ(unlink(path), 0);
    ASSERT_ERR(goc_unix_dial(path, NULL), -ENOENT);
    ASSERT_EQ(rmdir(dir), 0);

    /* Abstract: no file; the name is free again once closed. */
    char name[64];
    snprintf(name, sizeof name, "@goc-net-test-%d", (int)getpid());
    unix_round_trip(name);
    unix_round_trip(name);

    char longp[200];
    memset(longp, 'p', sizeof longp - 1);
    longp[sizeof longp - 1] = '\0';
    const char *const bad[] = {NULL, "", longp};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ASSERT_ERR(goc_unix_listen(bad[i], 0), GOC_EINVAL);
        ASSERT_ERR(goc_unix_dial(bad[i], NULL), GOC_EINVAL);
    }
}
TEST(net_unix)
{
    run_main(unix_main, NULL);
}

/* ---- goc_fd_wait on a pipe, from a goroutine and from plain threads */

static int fdw_pipe[2];
static void fdw_waiter(void *arg)
{
    (void)arg;
    int64_t r = goc_fd_wait(fdw_pipe[0], GOC_READ, NULL);
    ASSERT_OK(goc_chan_send(result_c, &r));
}
static void fd_wait_main(void *arg)
{
    (void)arg;
    int *p = fdw_pipe;
    ASSERT_EQ(pipe(p), 0);
    ASSERT_OK(goc_fd_wrap(p[0]));
    ASSERT_OK(goc_fd_wrap(p[1]));
    ASSERT_OK(goc_fd_wrap(p[1])); /* harmless twice */
    ASSERT_ERR(goc_fd_wait(p[0], 0, NULL), GOC_EINVAL);
    ASSERT_ERR(goc_fd_wait(p[0], 4, NULL), GOC_EINVAL);
    /* An empty pipe: writable now, readable never. */
    ASSERT_EQ(goc_fd_wait(p[1], GOC_WRITE, NULL), GOC_WRITE);
    goc_ctx *ctx = goc_ctx_with_timeout(NULL, 30 * MS);
    ASSERT_ERR(goc_fd_wait(p[0], GOC_READ, ctx), GOC_ETIMEDOUT);
    goc_ctx_release(ctx);
    /* A parked waiter wakes when data comes. */
    result_c = goc_chan_make(sizeof(int64_t), 1);
    ASSERT_OK(goc_go(fdw_waiter, NULL));
    wait_io_parked(1);
    ASSERT_IO(goc_write(p[1], "z", 1, NULL), 1);
    int64_t r;
    ASSERT_OK(goc_chan_recv(result_c, &r));
    ASSERT_EQ(r, GOC_READ);
    /* Asked for both, the read end is only readable. */
    ASSERT_EQ(goc_fd_wait(p[0], GOC_READ | GOC_WRITE, NULL), GOC_READ);
    char b;
    ASSERT_IO(goc_read(p[0], &b, 1, NULL), 1);
    /* The writer gone: readable (end of stream). */
    ASSERT_OK(goc_close(p[1]));
    ASSERT_EQ(goc_fd_wait(p[0], GOC_READ, NULL), GOC_READ);
    ASSERT_IO(goc_read(p[0], &b, 1, NULL), 0);
    ASSERT_OK(goc_close(p[0]));
    goc_chan_release(result_c);
}
TEST(net_fd_wait_pipe)
{
    run_main(fd_wait_main, NULL);
}

/* A plain thread waits; the test's thread (or main goroutine) writes
 * once the waiter is about to wait (whether it is parked yet does not
 * change the answer).  The handshake is an atomic, not a channel: in a
 * run, a plain thread counts as a possible waker only from its first
 * call into goc, and main parked on a channel before that would be a
 * deadlock. */
static _Atomic int fdw_started;
static void *fdw_thread(void *arg)
{
    (void)arg;
    atomic_store(&fdw_started, 1);
    ASSERT_EQ(goc_fd_wait(fdw_pipe[0], GOC_READ, NULL), GOC_READ);
    ASSERT_EQ(goc_fd_wait(fdw_pipe[1], GOC_WRITE, NULL), GOC_WRITE);
    return NULL;
}
static void fd_wait_threads(void)
{
    ASSERT_EQ(pipe(fdw_pipe), 0);
    atomic_store(&fdw_started, 0);
    pthread_t t;
    ASSERT_EQ(pthread_create(&t, NULL, fdw_thread, NULL), 0);
    for (int i = 0; i < 10000 && !atomic_load(&fdw_started); i++)
        goc_sleep(MS); /* bounded: 10 s */
    ASSERT(atomic_load(&fdw_started));
    ASSERT_IO(goc_write(fdw_pipe[1], "t", 1, NULL), 1);
    ASSERT_EQ(pthread_join(t, NULL), 0);
    char b;
    ASSERT_IO(goc_read(fdw_pipe[0], &b, 1, NULL), 1);
    ASSERT_EQ(b, 't');
    ASSERT_OK(goc_close(fdw_pipe[0]));
    ASSERT_OK(goc_close(fdw_pipe[1]));
}
static void fd_wait_threads_main(void *arg)
{
    (void)arg;
    fd_wait_threads();
}
TEST(net_fd_wait_plain_thread)
{
    fd_wait_threads(); /* no run at all */
    run_main(fd_wait_threads_main, NULL); /* threads beside a run */
}

/* ---- EMFILE: accept neither fails nor spins while out of descriptors,
 * and succeeds once one is free ---- */

/* Free descriptor numbers above the highest open one. */
#define EMFILE_SPARE 4
static goc_chan *emfile_c;
static int emfile_l;
static void emfile_acceptor(void *arg)
{
    (void)arg;
    int64_t r = goc_accept(emfile_l, NULL);
    ASSERT_OK(goc_chan_send(emfile_c, &r));
}
static void emfile_main(void *arg)
{
    (void)arg;
    char addr[GOC_ADDR_MAX];
    emfile_c = goc_chan_make(sizeof(int64_t), 1);
    emfile_l = listen_local(addr, 0);
    /* The connection is made first (it needs a descriptor), then the
     * rest are taken. */
    int c = goc_tcp_dial(addr, NULL);
    ASSERT_FD(c);
    struct rlimit old;
    int nfill, *fill = fill_descriptors(&old, EMFILE_SPARE, &nfill);

    ASSERT_OK(goc_go(emfile_acceptor, NULL));
    /* Half a second out of descriptors: the acceptor backs off.  A loose
     * bound: spinning would burn the whole half second on one CPU. */
    double c0 = cpu_seconds();
    goc_sleep(500 * MS);
    double used = cpu_seconds() - c0;
    ASSERT_ERR(goc_chan_try_recv(emfile_c, NULL), GOC_EAGAIN);
    if (used > 0.3)
        FAIL("accept spun out of descriptors: %.3f s of CPU in 0.5 s", used);

    /* One free descriptor: the accept takes the connection. */
    ASSERT_EQ(close(fill[--nfill]), 0);
    int64_t s;
    ASSERT_OK(goc_chan_recv(emfile_c, &s));
    ASSERT_FD((int)s);
    ASSERT_IO(goc_write(c, "ok", 2, NULL), 2);
    char b[2];
    ASSERT_IO(read_full((int)s, b, 2, NULL), 2);

    unfill_descriptors(&old, fill, nfill);
    ASSERT_OK(goc_close((int)s));
    ASSERT_OK(goc_close(c));
    ASSERT_OK(goc_close(emfile_l));
    goc_chan_release(emfile_c);
}
TEST(net_accept_emfile)
{
    run_main(emfile_main, NULL);
}

/* ---- idle is free: every goroutine waits on a socket or a channel;
 * the program uses almost no CPU and is not a deadlock (the network may
 * wake it).  The wake-up comes from a thread goc does not know: it
 * writes to a socketpair with write(2) a second later ---- */

#define IDLE_CONNS 100
static goc_wg idle_wg, idle_started;
static goc_chan *idle_c;
static int idle_pair[2];
static void idle_reader(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char b;
    goc_wg_done(&idle_started);
    ssize_t r = goc_read(fd, &b, 1, NULL);
    ASSERT(r == 0 || r == GOC_ECLOSED);
    goc_wg_done(&idle_wg);
}
static void idle_waker(void *arg)
{
    (void)arg;
    char b;
    goc_wg_done(&idle_started);
    ASSERT_IO(goc_read(idle_pair[0], &b, 1, NULL), 1);
    ASSERT_OK(goc_chan_send(idle_c, NULL));
}
static void *idle_foreign_thread(void *arg)
{
    (void)arg;
    usleep(1000 * 1000);
    ASSERT_EQ(write(idle_pair[1], "w", 1), 1);
    return NULL;
}
static void idle_main(void *arg)
{
    (void)arg;
    char addr[GOC_ADDR_MAX];
    int l = listen_local(addr, 0), c[IDLE_CONNS], s[IDLE_CONNS];
    for (int i = 0; i < IDLE_CONNS; i++) {
        c[i] = goc_tcp_dial(addr, NULL);
        ASSERT_FD(c[i]);
        s[i] = goc_accept(l, NULL);
        ASSERT_FD(s[i]);
    }
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, idle_pair), 0);
    idle_c = goc_chan_make(0, 0);
    goc_wg_add(&idle_wg, 2 * IDLE_CONNS);
    goc_wg_add(&idle_started, 2 * IDLE_CONNS + 1);
    for (int i = 0; i < IDLE_CONNS; i++) {
        ASSERT_OK(goc_go(idle_reader, (void *)(intptr_t)c[i]));
        ASSERT_OK(goc_go(idle_reader, (void *)(intptr_t)s[i]));
    }
    ASSERT_OK(goc_go(idle_waker, NULL));
    goc_wg_wait(&idle_started);
    wait_io_parked(2 * IDLE_CONNS + 1);

    pthread_t t;
    double c0 = cpu_seconds();
    ASSERT_EQ(pthread_create(&t, NULL, idle_foreign_thread, NULL), 0);
    ASSERT_OK(goc_chan_recv(idle_c, NULL)); /* main parks, too */
    double used = cpu_seconds() - c0;
    ASSERT_EQ(pthread_join(t, NULL), 0);
    if (used > 0.1)
        FAIL("idle program used %.3f s of CPU in 1 s", used);

    /* Closing one side ends both readers of each connection. */
    for (int i = 0; i < IDLE_CONNS; i++)
        ASSERT_OK(goc_close(c[i]));
    goc_wg_wait(&idle_wg);
    for (int i = 0; i < IDLE_CONNS; i++)
        ASSERT_OK(goc_close(s[i]));
    ASSERT_OK(goc_close(l));
    goc_chan_release(idle_c);
    close(idle_pair[1]);
    ASSERT_OK(goc_close(idle_pair[0]));
}
TEST(net_idle_is_free)
{
    run_main(idle_main, NULL);
}

/* ---- name resolution ---- */

/* A name that does not resolve.  A well-formed one such as
 * "no-such-host.invalid" would send a query to the configured DNS server,
 * and the tests keep their traffic on this machine; an empty label makes
 * the resolver give up before it asks anyone (EAI_NONAME), through the
 * same path: a name, looked up in a blocking section. */
#define NO_SUCH_HOST "no-such-host..invalid:80"
static void resolve_main(void *arg)
{
    (void)arg;
    char addr[GOC_ADDR_MAX], name[GOC_ADDR_MAX];
    int l = listen_local(addr, 0);
    snprintf(name, sizeof name, "localhost:%d", port_of(addr));
    int c = goc_tcp_dial(name, NULL);
    ASSERT_FD(c);
    int s = goc_accept(l, NULL);
    ASSERT_FD(s);
    ASSERT_IO(goc_write(c, "hi", 2, NULL), 2);
    char b[2];
    ASSERT_IO(read_full(s, b, 2, NULL), 2);
    ASSERT_OK(goc_close(c));
    ASSERT_OK(goc_close(s));
    ASSERT_OK(goc_close(l));

    goc_ctx *ctx = goc_ctx_with_timeout(NULL, 10 * GOC_SECOND);
    int rc = goc_tcp_dial(NO_SUCH_HOST, ctx);
    if (rc >= 0 || rc == GOC_EINVAL)
        FAIL("dial %s: %s", NO_SUCH_HOST, goc_err_name(rc));
    ASSERT_ERR(goc_tcp_listen(NO_SUCH_HOST, 0), -ENOENT);
    goc_ctx_release(ctx);
}
TEST(net_resolve)
{
    alarm(30); /* a hung lookup fails the test, also outside CTest */
    run_main(resolve_main, NULL);
    alarm(0);
}
