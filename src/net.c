/* SPDX-License-Identifier: MIT */
/*
 * net.c - sockets: TCP and Unix stream listeners and connections, Go's
 * address forms, and name resolution off the scheduler (Go's net
 * package: ipsock.go SplitHostPort, dial.go, tcpsock_posix.go,
 * lookup_unix.go).
 *
 * Every socket is created non-blocking and owned by the poller
 * (goc__pd_open) at once; connect and accept park on it through
 * goc__pd_wait like a read.  getaddrinfo can block for seconds: it runs
 * in a blocking section (its P moves on, sysmon.c) and at most
 * min(500, RLIMIT_NOFILE - 30) lookups run at once (Go's cgo resolver);
 * a literal address never gets there.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "goc.h"
#include "internal.h"
#include "netpoll.h"

#define HOST_MAX 256
#define PORT_MAX_LEN 32
#define ACCEPT_BACKOFF_MIN_NS (5 * 1000 * 1000LL)    /* Go's http.Server */
#define ACCEPT_BACKOFF_MAX_NS (1000 * 1000 * 1000LL)
#define LOOKUPS_MAX 500

/* ---- addresses ---- */

/* Split "host:port", "[host]:port" or ":port" (Go's SplitHostPort).
 * Returns: 0, or GOC_EINVAL (no port, too many colons, too long, a port
 * number past 65535). */
static int split_host_port(const char *addr, char *host, char *port)
{
    if (addr == NULL)
        return GOC_EINVAL;
    const char *colon = strrchr(addr, ':');
    if (colon == NULL)
        return GOC_EINVAL; /* "missing port in address" */
    const char *h = addr, *he = colon;
    if (addr[0] == '[') {
        const char *close = strchr(addr, ']');
        if (close == NULL || close + 1 != colon)
            return GOC_EINVAL;
        h = addr + 1;
        he = close;
    } else if (memchr(addr, ':', (size_t)(colon - addr)) != NULL) {
        return GOC_EINVAL; /* "too many colons": IPv6 needs brackets */
    }
    size_t hl = (size_t)(he - h), pl = strlen(colon + 1);
    if (hl >= HOST_MAX || pl == 0 || pl >= PORT_MAX_LEN)
        return GOC_EINVAL;
    memcpy(host, h, hl);
    host[hl] = '\0';
    memcpy(port, colon + 1, pl + 1);
    bool numeric = true;
    for (const char *c = port; *c != '\0'; c++)
        numeric = numeric && *c >= '0' && *c <= '9';
    if (numeric && (pl > 5 || atoi(port) > 65535))
        return GOC_EINVAL;
    return 0;
}

/* getaddrinfo's result rc as a goc error; err: errno after the call
 * (read by the caller, in the call's frame: os.h). */
static int gai_to_goc(int rc, int err)
{
    switch (rc) {
    case EAI_NONAME:
#ifdef EAI_NODATA
    case EAI_NODATA:
#endif
    case EAI_ADDRFAMILY:
        return -ENOENT; /* "no such host" */
    case EAI_SERVICE:
        return GOC_EINVAL; /* "unknown port" */
    case EAI_AGAIN:
        return -EAGAIN;
    case EAI_MEMORY:
        return GOC_ENOMEM;
    case EAI_SYSTEM:
        return err > 0 && err != EINTR ? -err : -EIO;
    default:
        return -EIO;
    }
}

static goc_sem lookups;
static pthread_once_t lookups_once = PTHREAD_ONCE_INIT;

static void lookups_init(void)
{
    struct rlimit rl;
    int64_t n = LOOKUPS_MAX;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        (int64_t)rl.rlim_cur - 30 < n)
        n = (int64_t)rl.rlim_cur - 30;
    goc_sem_init(&lookups, n < 1 ? 1 : n);
}

/* getaddrinfo in a blocking section.  EAI_SYSTEM with EINTR (an NSS
 * module whose call a signal interrupted; glibc's own DNS code retries
 * by itself) is looked up again: EINTR never leaves goc (os.h).
 * Returns: 0 or an error.  Out of line (os.h, goc__sys_read: errno after
 * a park); resolve parks. */
static __attribute__((noinline)) int
gai_blocking(const char *node, const char *port, const struct addrinfo *hints,
             struct addrinfo **res)
{
    goc_blocking_begin();
    int rc;
    do {
        errno = 0;
        rc = getaddrinfo(node, port, hints, res);
    } while (rc == EAI_SYSTEM && errno == EINTR);
    int err = rc == 0 ? 0 : gai_to_goc(rc, errno);
    goc_blocking_end();
    return err;
}

/* Resolve host and port into *res.  A literal address (or an empty host)
 * with a numeric port resolves at once; anything else waits for a lookup
 * slot (ctx bounds the wait) and runs getaddrinfo in a blocking section.
 * Returns: 0 or an error. */
static int resolve(const char *host, const char *port, bool passive,
                   goc_ctx *ctx, struct addrinfo **res)
{
    struct addrinfo hints = {0};
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV |
                     (passive ? AI_PASSIVE : 0);
    const char *node = host[0] != '\0' ? host : NULL;
    /* Numeric host and service: no system call, no EAI_SYSTEM. */
    int rc = getaddrinfo(node, port, &hints, res);
    if (rc == 0)
        return 0;
    if (node == NULL && rc != EAI_SERVICE && rc != EAI_NONAME)
        return gai_to_goc(rc, 0);
    hints.ai_flags = passive ? AI_PASSIVE : AI_ADDRCONFIG;
    pthread_once(&lookups_once, lookups_init);
    if ((rc = goc_sem_acquire(&lookups, 1, ctx)) != 0)
        return rc;
    rc = gai_blocking(node, port, &hints, res);
    goc_sem_release(&lookups, 1);
    return rc;
}

/* Write sa in Go's form into buf.  Returns: the length, or GOC_EINVAL if
 * it does not fit. */
static int format_addr(const struct sockaddr_storage *ss, socklen_t len,
                       char *buf, size_t cap)
{
    char host[INET6_ADDRSTRLEN + IF_NAMESIZE + 2] = "";
    int n;
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *in = (const void *)ss;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
        n = snprintf(buf, cap, "%s:%u", host, ntohs(in->sin_port));
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const void *)ss;
        if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) { /* as Go prints it */
            inet_ntop(AF_INET, &in6->sin6_addr.s6_addr[12], host, sizeof host);
            n = snprintf(buf, cap, "%s:%u", host, ntohs(in6->sin6_port));
        } else {
            inet_ntop(AF_INET6, &in6->sin6_addr, host, INET6_ADDRSTRLEN);
            char zone[IF_NAMESIZE + 1] = "";
            if (in6->sin6_scope_id != 0 &&
                if_indextoname(in6->sin6_scope_id, zone + 1) != NULL)
                zone[0] = '%';
            n = snprintf(buf, cap, "[%s%s]:%u", host, zone,
                         ntohs(in6->sin6_port));
        }
    } else if (ss->ss_family == AF_UNIX) {
        const struct sockaddr_un *un = (const void *)ss;
        size_t pl = len > offsetof(struct sockaddr_un, sun_path)
                        ? len - offsetof(struct sockaddr_un, sun_path)
                        : 0;
        if (pl > 0 && un->sun_path[0] == '\0') /* abstract: "@name" */
            n = snprintf(buf, cap, "@%.*s", (int)(pl - 1), un->sun_path + 1);
        else
            n = snprintf(buf, cap, "%.*s", (int)strnlen(un->sun_path, pl),
                         un->sun_path);
    } else {
        return -EAFNOSUPPORT;
    }
    if (n < 0 || (size_t)n >= cap)
        return GOC_EINVAL;
    return n;
}

static int sock_addr(int fd, char *buf, size_t len, bool peer)
{
    if (buf == NULL)
        return GOC_EINVAL;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    memset(&ss, 0, sizeof ss);
    int rc = peer ? getpeername(fd, (struct sockaddr *)&ss, &sl)
                  : getsockname(fd, (struct sockaddr *)&ss, &sl);
    if (rc != 0)
        return -errno;
    return format_addr(&ss, sl, buf, len);
}

int goc_local_addr(int fd, char *buf, size_t len)
{
    return sock_addr(fd, buf, len, false);
}

int goc_remote_addr(int fd, char *buf, size_t len)
{
    return sock_addr(fd, buf, len, true);
}

/* ---- sockets ---- */

/* A new non-blocking socket, owned by the poller.  Returns: it, -errno.
 * Out of line, as every function here that reads errno and has callers
 * that park (os.h, goc__sys_read). */
static __attribute__((noinline)) int new_socket(int family)
{
    int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int rc = goc__pd_open(fd);
    if (rc != 0) {
        (void)goc__sys_close(fd);
        return rc;
    }
    return fd;
}

static void set_nodelay(int fd)
{
    int one = 1;
    /* Fails on a Unix socket: nothing to set there. */
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/* Bind and listen on one address.  Returns: the descriptor, -errno.
 * Out of line: it reads errno (new_socket). */
static __attribute__((noinline)) int listen_on(const struct sockaddr *sa, socklen_t len, int backlog,
                     bool dual_stack)
{
    int fd = new_socket(sa->sa_family);
    if (fd < 0)
        return fd;
    int one = 1, zero = 0, rc = 0;
    if (sa->sa_family != AF_UNIX)
        (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (dual_stack)
        (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
    /* backlog <= 0: the kernel caps INT_MAX at net.core.somaxconn. */
    if (bind(fd, sa, len) != 0 ||
        listen(fd, backlog > 0 ? backlog : INT_MAX) != 0)
        rc = -errno;
    if (rc != 0) {
        (void)goc_close(fd);
        return rc;
    }
    return fd;
}

int goc_tcp_listen(const char *addr, int backlog)
{
    char host[HOST_MAX], port[PORT_MAX_LEN];
    int rc = split_host_port(addr, host, port);
    if (rc != 0)
        return rc;
    if (host[0] == '\0') {
        /* Every address: one IPv6 socket that takes IPv4 too, as Go does,
         * or IPv4 alone where the system has no IPv6. */
        struct addrinfo hints = {0}, *res;
        hints.ai_family = AF_INET6;
        hints.ai_socktype = SOCK_STREAM;
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
        if (getaddrinfo(NULL, port, &hints, &res) == 0) {
            rc = listen_on(res->ai_addr, res->ai_addrlen, backlog, true);
            freeaddrinfo(res);
            if (rc != -EAFNOSUPPORT && rc != GOC_EINVAL)
                return rc;
        }
    }
    struct addrinfo *res;
    if ((rc = resolve(host, port, true, NULL, &res)) != 0)
        return rc;
    rc = listen_on(res->ai_addr, res->ai_addrlen, backlog, false);
    freeaddrinfo(res);
    return rc;
}

/* Wait for a non-blocking connect on fd to finish.  Returns: 0 or an
 * error (the socket's, or the wait's). */
static int connect_wait(int fd, goc_ctx *ctx)
{
    goc__pd *pd;
    int rc = goc__pd_acquire(fd, &pd);
    if (rc != 0)
        return rc;
    /* errno only through goc__sys_* (os.h): this function parks. */
    for (;;) {
        if ((rc = goc__pd_wait(pd, GOC__NP_WRITE, ctx)) != 0)
            break;
        int soerr = goc__sys_so_error(fd);
        if (soerr < 0) {
            rc = soerr;
            break;
        }
        if (soerr == EINPROGRESS || soerr == EALREADY || soerr == EINTR)
            continue;
        if (soerr != 0) {
            rc = -soerr;
            break;
        }
        /* Writable and no error: connected, unless this was a stale
         * readiness; getpeername tells. */
        rc = goc__sys_connected(fd);
        if (rc != -ENOTCONN)
            break;
        rc = 0;
    }
    goc__pd_release(pd);
    return rc;
}

/* Connect to one address.  Returns: the descriptor, or an error. */
static int dial_one(const struct sockaddr *sa, socklen_t len, goc_ctx *ctx)
{
    int fd = new_socket(sa->sa_family);
    if (fd < 0)
        return fd;
    /* EINPROGRESS, also for an interrupted connect (goc__sys_connect);
     * EAGAIN: a Unix socket whose listener's queue is full. */
    int rc = goc__sys_connect(fd, sa, len);
    if (rc == -EINPROGRESS || rc == -EAGAIN)
        rc = connect_wait(fd, ctx);
    if (rc != 0) {
        (void)goc_close(fd);
        return rc;
    }
    set_nodelay(fd);
    return fd;
}

int goc_tcp_dial(const char *addr, goc_ctx *ctx)
{
    char host[HOST_MAX], port[PORT_MAX_LEN];
    int rc = split_host_port(addr, host, port);
    if (rc != 0)
        return rc;
    if (ctx != NULL && (rc = goc_ctx_err(ctx)) != 0)
        return rc;
    /* An empty or unspecified host means the local system (Go's Dial). */
    if (host[0] == '\0' || strcmp(host, "0.0.0.0") == 0)
        strcpy(host, "127.0.0.1");
    else if (strcmp(host, "::") == 0)
        strcpy(host, "::1");
    struct addrinfo *res;
    if ((rc = resolve(host, port, false, ctx, &res)) != 0)
        return rc;
    rc = -ECONNREFUSED;
    for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
        rc = dial_one(ai->ai_addr, ai->ai_addrlen, ctx);
        if (rc >= 0 || rc == GOC_ETIMEDOUT || rc == GOC_ECANCELED)
            break; /* connected, or out of time for the others */
    }
    freeaddrinfo(res);
    return rc;
}

/* path as a Unix socket address ('@': abstract).  Returns: 0, or
 * GOC_EINVAL (NULL, empty, too long). */
static int unix_addr(const char *path, struct sockaddr_un *un,
                     socklen_t *len)
{
    if (path == NULL || path[0] == '\0')
        return GOC_EINVAL;
    size_t pl = strlen(path);
    if (pl >= sizeof un->sun_path)
        return GOC_EINVAL;
    memset(un, 0, sizeof *un);
    un->sun_family = AF_UNIX;
    memcpy(un->sun_path, path, pl);
    if (path[0] == '@')
        un->sun_path[0] = '\0';
    *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + pl +
                       (path[0] == '@' ? 0 : 1));
    return 0;
}

int goc_unix_listen(const char *path, int backlog)
{
    struct sockaddr_un un;
    socklen_t len;
    int rc = unix_addr(path, &un, &len);
    if (rc != 0)
        return rc;
    return listen_on((const struct sockaddr *)&un, len, backlog, false);
}

int goc_unix_dial(const char *path, goc_ctx *ctx)
{
    struct sockaddr_un un;
    socklen_t len;
    int rc = unix_addr(path, &un, &len);
    if (rc != 0)
        return rc;
    if (ctx != NULL && (rc = goc_ctx_err(ctx)) != 0)
        return rc;
    return dial_one((const struct sockaddr *)&un, len, ctx);
}

/* accept's back-off: wait ns on the listener, so that its close (and
 * ctx) ends the wait, and a new connection too (one more try costs
 * nothing).  Returns: 0 (try again), GOC_ECLOSED, or ctx's error. */
static int backoff_wait(goc__pd *pd, int64_t ns, goc_ctx *ctx)
{
    goc_ctx *t = goc_ctx_with_timeout(ctx, ns);
    if (t == NULL)
        return GOC_ENOMEM;
    int rc = goc__pd_wait(pd, GOC__NP_READ, t);
    goc_ctx_release(t);
    if (rc == GOC_ETIMEDOUT || rc == GOC_ECANCELED) /* t's, or ctx's? */
        rc = ctx != NULL ? goc_ctx_err(ctx) : 0;
    return rc;
}

int goc_accept(int listen_fd, goc_ctx *ctx)
{
    goc__pd *pd;
    int rc = goc__pd_begin(listen_fd, ctx, &pd);
    if (rc != 0)
        return rc;
    int64_t backoff = 0;
    /* errno only through goc__sys_* (os.h): this function parks. */
    for (;;) {
        int fd = goc__sys_accept(listen_fd, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            if ((rc = goc__pd_open(fd)) != 0) {
                (void)goc__sys_close(fd);
                break;
            }
            set_nodelay(fd);
            rc = fd;
            break;
        }
        int e = -fd; /* never EINTR (os.h) */
        if (e == ECONNABORTED)
            continue; /* a connection reset while queued: the next one */
        if (e == EMFILE || e == ENFILE) {
            /* Out of descriptors: the connection waits in the backlog;
             * retry later rather than fail the listener or spin. */
            backoff = backoff == 0 ? ACCEPT_BACKOFF_MIN_NS : backoff * 2;
            if (backoff > ACCEPT_BACKOFF_MAX_NS)
                backoff = ACCEPT_BACKOFF_MAX_NS;
            if ((rc = backoff_wait(pd, backoff, ctx)) != 0)
                break;
            continue;
        }
        if (e != EAGAIN) {
            rc = -e;
            break;
        }
        backoff = 0;
        if ((rc = goc__pd_wait(pd, GOC__NP_READ, ctx)) != 0)
            break;
    }
    goc__pd_release(pd);
    return rc;
}

int goc_net_pipe(int fds[2])
{
    if (fds == NULL)
        return GOC_EINVAL;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0,
                   sv) != 0)
        return -errno;
    int rc = goc_fd_wrap(sv[0]);
    if (rc == 0)
        rc = goc_fd_wrap(sv[1]);
    if (rc != 0) {
        (void)goc_close(sv[0]); /* close(2) on one goc does not own */
        (void)goc_close(sv[1]);
        return rc;
    }
    for (int i = 0; i < 2; i++) {
        goc__pd *pd = goc__pd_find(sv[i]); /* wrapped: it has one */
        goc__spin_lock(&pd->lock);
        pd->pipe = true; /* read by goc__pd_wait under the same lock */
        goc__spin_unlock(&pd->lock);
    }
    fds[0] = sv[0];
    fds[1] = sv[1];
    return 0;
}
