/* SPDX-License-Identifier: MIT */
/* tcpecho client: the load generator of the tcpecho benchmark, in plain
 * C (threads and epoll; no goroutines), so that one client drives both
 * goc's server (bench_tcpecho) and the Go twin's (bench/go/tcpecho) and
 * the servers are what is compared.
 *
 *   bench_tcpecho_client -addr HOST:PORT [-c 1000] [-m 200] [-s 64]
 *                        [-t 1] [-d 30] [-name tcpecho] [-pid SERVER_PID]
 *
 * Opens -c connections, 256 at a time, each warmed by one untimed round
 * trip (so the server has accepted it and its goroutine has run once).
 * Then, timed, every connection does -m round trips: write an -s byte
 * message, read the whole echo back, write the next: -c messages in
 * flight.  Bounded twice: by the count, and by -d seconds (a run cut
 * short says complete=0, and its rate counts what finished).
 * Prints two lines, the rate and the p99 latency of a round trip:
 *   RESULT name=NAME metric=rtt_per_s value=... p50_us=... p99_us=...
 *   RESULT name=NAME_p99 metric=p99_us value=...
 * client_cpu is the client's CPU time over the run's wall time, per
 * thread: near 1.0 the client, not the server, limits the rate.  With
 * -pid, server_us_per_op is the server's CPU time (user and system, from
 * /proc) per round trip during the timed phase: the server's cost, which
 * the rate hides once the client is the bottleneck. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "bench.h"
#include "bench_net.h"

/* Connections dialed before their warm-ups are read: well under the
 * listen backlog (somaxconn). */
#define DIAL_BATCH 256
#define EVENTS 256         /* per epoll_wait */
#define SETUP_TIMEOUT_S 10 /* bound on one connect or warm-up read */

static struct {
    const char *addr, *name;
    long conns, asked, msgs, size, threads, secs, pid;
} opt;

/* One connection: one message in flight at a time. */
struct conn {
    int fd;
    long got;           /* bytes of the echo read so far */
    long done;          /* round trips completed */
    int64_t sent;       /* when the message in flight was written (ns) */
    unsigned char *out; /* the message: opt.size bytes, its own pattern */
    unsigned char *in;  /* the echo as it arrives */
    uint32_t *lat;      /* round-trip times in ns, opt.msgs of them */
};

/* A thread drives a slice of the connections through its own epoll. */
struct worker {
    pthread_t th;
    struct conn *conns;
    long n;
};

static pthread_barrier_t start_line;
static int64_t deadline; /* ns; written before the threads start */

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void fail(const char *what, int err)
{
    fprintf(stderr, "tcpecho client: %s: %s\n", what, strerror(err));
    exit(1);
}

static void check_echo(const struct conn *c)
{
    if (memcmp(c->in, c->out, (size_t)opt.size) != 0) {
        fprintf(stderr, "tcpecho client: the echo differs from the "
                        "message\n");
        exit(1);
    }
}

/* Write c's message.  With one small message in flight the socket's
 * send buffer is empty, so the whole message always fits: a short write
 * means something is broken, not slow. */
static void send_msg(struct conn *c, int64_t now)
{
    c->sent = now;
    ssize_t w = write(c->fd, c->out, (size_t)opt.size);
    if (w != opt.size)
        fail("write", w < 0 ? errno : EAGAIN);
}

/* c is readable: take what is there of the echo; a whole echo ends a
 * round trip and, unless c is done, sends the next message.
 * Returns: 1 when c has done its last round trip, else 0. */
static int on_readable(struct conn *c)
{
    ssize_t r = read(c->fd, c->in + c->got, (size_t)(opt.size - c->got));
    if (r < 0 && (errno == EAGAIN || errno == EINTR))
        return 0;
    if (r <= 0)
        fail("read", r == 0 ? ECONNRESET : errno);
    c->got += r;
    if (c->got < opt.size)
        return 0;
    int64_t now = now_ns();
    check_echo(c);
    int64_t d = now - c->sent;
    c->lat[c->done++] = d > (int64_t)UINT32_MAX ? UINT32_MAX : (uint32_t)d;
    c->got = 0;
    if (c->done == opt.msgs)
        return 1;
    send_msg(c, now);
    return 0;
}

static void *worker_run(void *arg)
{
    struct worker *w = arg;
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0)
        fail("epoll_create1", errno);
    for (long i = 0; i < w->n; i++) {
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &w->conns[i]};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, w->conns[i].fd, &ev) != 0)
            fail("epoll_ctl", errno);
    }
    pthread_barrier_wait(&start_line);
    for (long i = 0; i < w->n; i++)
        send_msg(&w->conns[i], now_ns());
    long active = w->n;
    struct epoll_event evs[EVENTS];
    while (active > 0) {
        int64_t left = deadline - now_ns();
        if (left <= 0)
            break; /* the time bound: main reports complete=0 */
        int k = epoll_wait(ep, evs, EVENTS, (int)(left / 1000000) + 1);
        if (k < 0 && errno != EINTR)
            fail("epoll_wait", errno);
        for (int e = 0; e < k; e++)
            active -= on_readable(evs[e].data.ptr);
    }
    close(ep);
    return NULL;
}

/* A blocking connection to ai, with TCP_NODELAY (as goc's and Go's
 * sockets have); its timeouts bound the set-up phase. */
static int dial(const struct addrinfo *ai)
{
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        fail("socket", errno);
    struct timeval tv = {.tv_sec = SETUP_TIMEOUT_S};
    int one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0 ||
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0)
        fail("setsockopt", errno);
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0)
        fail("connect", errno);
    return fd;
}

static void read_echo_blocking(struct conn *c)
{
    for (c->got = 0; c->got < opt.size;) {
        ssize_t r = read(c->fd, c->in + c->got, (size_t)(opt.size - c->got));
        if (r <= 0)
            fail("warm-up read", r == 0 ? ECONNRESET : errno);
        c->got += r;
    }
    check_echo(c);
    c->got = 0;
}

/* Open every connection, a batch at a time: dial the batch and write
 * each one's warm-up message, then read the echoes back.  A batch stays
 * below the listen backlog, so no connection waits for a SYN retry. */
static void connect_all(struct conn *cs, const struct addrinfo *ai)
{
    for (long i = 0; i < opt.conns; i += DIAL_BATCH) {
        long end = i + DIAL_BATCH < opt.conns ? i + DIAL_BATCH : opt.conns;
        for (long j = i; j < end; j++) {
            cs[j].fd = dial(ai);
            if (write(cs[j].fd, cs[j].out, (size_t)opt.size) != opt.size)
                fail("warm-up write", errno);
        }
        for (long j = i; j < end; j++) {
            read_echo_blocking(&cs[j]);
            int fl = fcntl(cs[j].fd, F_GETFL);
            if (fl < 0 || fcntl(cs[j].fd, F_SETFL, fl | O_NONBLOCK) != 0)
                fail("fcntl", errno);
        }
    }
}

/* "host:port" or "[v6]:port" to an address. */
static struct addrinfo *resolve(const char *addr)
{
    char host[256];
    const char *colon = strrchr(addr, ':');
    size_t hl = colon == NULL ? 0 : (size_t)(colon - addr);
    if (colon == NULL || hl == 0 || hl >= sizeof host) {
        fprintf(stderr, "tcpecho client: bad -addr %s\n", addr);
        exit(1);
    }
    memcpy(host, addr, hl);
    host[hl] = '\0';
    char *h = host;
    if (h[0] == '[' && h[hl - 1] == ']') {
        h[hl - 1] = '\0';
        h++;
    }
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM};
    struct addrinfo *ai;
    int rc = getaddrinfo(h, colon + 1, &hints, &ai);
    if (rc != 0) {
        fprintf(stderr, "tcpecho client: %s: %s\n", addr, gai_strerror(rc));
        exit(1);
    }
    return ai;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

/* The CPU time of process pid so far, user and system, in seconds
 * (utime and stime of /proc/pid/stat, in clock ticks), or -1. */
static double proc_cpu_s(long pid)
{
    char path[64], line[1024];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    char *got = fgets(line, sizeof line, f);
    fclose(f);
    /* The name, field 2, is in parentheses and may hold spaces: count
     * the fields from the last ')', which ends it (field 3 follows). */
    char *p = got == NULL ? NULL : strrchr(line, ')');
    unsigned long utime, stime;
    if (p == NULL ||
        sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
               &utime, &stime) != 2)
        return -1;
    return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

/* Take the flags; fit the connections under the descriptor limit. */
static void parse(int argc, char **argv)
{
    opt.addr = bench_str_flag(argc, argv, "addr", NULL);
    opt.name = bench_str_flag(argc, argv, "name", "tcpecho");
    opt.conns = opt.asked = bench_flag(argc, argv, "c", 1000);
    opt.msgs = bench_flag(argc, argv, "m", 200);
    opt.size = bench_flag(argc, argv, "s", 64);
    opt.threads = bench_flag(argc, argv, "t", 1);
    opt.secs = bench_flag(argc, argv, "d", 30);
    opt.pid = bench_flag(argc, argv, "pid", 0);
    if (opt.addr == NULL || opt.conns < 1 || opt.msgs < 1 || opt.size < 1 ||
        opt.size > 65536 || opt.threads < 1 || opt.threads > 64 ||
        opt.secs < 1) {
        fprintf(stderr,
                "usage: %s -addr HOST:PORT [-c conns] [-m round "
                "trips per conn] [-s size] [-t threads] [-d max "
                "seconds] [-name name] [-pid server pid]\n",
                argv[0]);
        exit(2);
    }
    /* Every connection is a descriptor, and a few more are in use
     * (stdio, the epoll instances). */
    long fit = bench_raise_nofile() - 16 - opt.threads;
    if (opt.conns > fit) {
        fprintf(stderr,
                "# tcpecho client: the descriptor limit (hard) "
                "allows %ld connections, not %ld\n",
                fit, opt.conns);
        opt.conns = fit;
    }
    if (opt.threads > opt.conns)
        opt.threads = opt.conns;
}

static void report(struct conn *cs, double connect_s, double run_s, double cpu,
                   double server_cpu)
{
    long total = 0;
    uint32_t *all = malloc((size_t)(opt.conns * opt.msgs) * sizeof *all);
    if (all == NULL)
        fail("malloc", ENOMEM);
    for (long i = 0; i < opt.conns; i++) {
        memcpy(all + total, cs[i].lat, (size_t)cs[i].done * sizeof *all);
        total += cs[i].done;
    }
    qsort(all, (size_t)total, sizeof *all, cmp_u32);
#define PCT_US(p)                                                              \
    (total == 0 ? 0.0 : (double)all[(long)((p) * (double)(total - 1))] / 1e3)
    int complete = total == opt.conns * opt.msgs;
    if (!complete)
        fprintf(stderr,
                "tcpecho client: time bound of %ld s reached: "
                "%ld of %ld round trips\n",
                opt.secs, total, opt.conns * opt.msgs);
    printf("RESULT name=%s metric=rtt_per_s value=%.0f p50_us=%.1f "
           "p99_us=%.1f max_us=%.1f conns=%ld conns_asked=%ld "
           "msgs_per_conn=%ld size=%ld threads=%ld connect_ms=%.1f "
           "run_ms=%.1f client_cpu=%.2f",
           opt.name, (double)total / run_s, PCT_US(0.5), PCT_US(0.99),
           PCT_US(1.0), opt.conns, opt.asked, opt.msgs, opt.size, opt.threads,
           connect_s * 1e3, run_s * 1e3, cpu / run_s / (double)opt.threads);
    if (server_cpu >= 0 && total > 0)
        printf(" server_cpu=%.2f server_us_per_op=%.2f", server_cpu / run_s,
               server_cpu * 1e6 / (double)total);
    printf(" complete=%d\n", complete);
    printf("RESULT name=%s_p99 metric=p99_us value=%.1f conns=%ld "
           "complete=%d\n",
           opt.name, PCT_US(0.99), opt.conns, complete);
#undef PCT_US
    free(all);
}

int main(int argc, char **argv)
{
    parse(argc, argv);
    struct addrinfo *ai = resolve(opt.addr);
    struct conn *cs = calloc((size_t)opt.conns, sizeof *cs);
    unsigned char *bufs = malloc((size_t)(opt.conns * opt.size * 2));
    uint32_t *lat = malloc((size_t)(opt.conns * opt.msgs) * sizeof *lat);
    struct worker *ws = calloc((size_t)opt.threads, sizeof *ws);
    if (cs == NULL || bufs == NULL || lat == NULL || ws == NULL)
        fail("malloc", ENOMEM);
    for (long i = 0; i < opt.conns; i++) {
        cs[i].out = bufs + i * opt.size * 2;
        cs[i].in = cs[i].out + opt.size;
        cs[i].lat = lat + i * opt.msgs;
        for (long j = 0; j < opt.size; j++)
            cs[i].out[j] = (unsigned char)(i * 31 + j);
    }

    double t0 = bench_now();
    connect_all(cs, ai);
    double connect_s = bench_now() - t0;
    freeaddrinfo(ai);

    pthread_barrier_init(&start_line, NULL, (unsigned)opt.threads + 1);
    deadline = now_ns() + opt.secs * 1000000000;
    for (long i = 0, at = 0; i < opt.threads; i++) {
        long n = (opt.conns - at) / (opt.threads - i);
        ws[i].conns = cs + at;
        ws[i].n = n;
        at += n;
        if (pthread_create(&ws[i].th, NULL, worker_run, &ws[i]) != 0)
            fail("pthread_create", EAGAIN);
    }
    double cpu0 = cpu_s();
    double srv0 = opt.pid > 0 ? proc_cpu_s(opt.pid) : -1;
    pthread_barrier_wait(&start_line);
    double t1 = bench_now();
    for (long i = 0; i < opt.threads; i++)
        pthread_join(ws[i].th, NULL);
    double run_s = bench_now() - t1;
    double cpu = cpu_s() - cpu0;
    double srv1 = srv0 >= 0 ? proc_cpu_s(opt.pid) : -1;

    for (long i = 0; i < opt.conns; i++)
        close(cs[i].fd);
    report(cs, connect_s, run_s, cpu, srv1 >= 0 ? srv1 - srv0 : -1);
    pthread_barrier_destroy(&start_line);
    free(ws);
    free(lat);
    free(bufs);
    free(cs);
    return 0;
}
