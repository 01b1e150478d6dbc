/* SPDX-License-Identifier: MIT */
/*
 * test_net.h - helpers shared by the network tests (test_net.c,
 * test_fd.c): I/O assertions that print error names, loopback
 * listeners and connected pairs, exact reads, and a wait for goroutines
 * to park in the poller.
 */
#ifndef GOC_TEST_NET_H
#define GOC_TEST_NET_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <unistd.h>

#include "test.h"

#define MS GOC_MILLISECOND

/* An I/O result: n bytes, or an error printed by name. */
#define ASSERT_IO(expr, want)                                             \
    do {                                                                  \
        ssize_t r_ = (expr), w_ = (ssize_t)(want);                        \
        if (r_ != w_)                                                     \
            FAIL("%s: got %zd (%s), want %zd", #expr, r_,                 \
                 r_ < 0 ? goc_err_name((int)r_) : "bytes", w_);           \
    } while (0)

/* A descriptor, or an error printed by name. */
#define ASSERT_FD(fd)                                                     \
    do {                                                                  \
        if ((fd) < 0)                                                     \
            FAIL("%s: %s (%d)", #fd, goc_err_name((int)(fd)), (int)(fd)); \
    } while (0)

/* Listen on a free loopback port; its address in addr (GOC_ADDR_MAX). */
static inline int listen_local(char *addr, int backlog)
{
    int l = goc_tcp_listen("127.0.0.1:0", backlog);
    ASSERT_FD(l);
    ASSERT_GT(goc_local_addr(l, addr, GOC_ADDR_MAX), 0);
    return l;
}

/* A connected loopback pair: *c dialed, *s accepted. */
static inline void conn_pair(int *c, int *s)
{
    char addr[GOC_ADDR_MAX];
    int l = listen_local(addr, 0);
    *c = goc_tcp_dial(addr, NULL);
    ASSERT_FD(*c);
    *s = goc_accept(l, NULL);
    ASSERT_FD(*s);
    ASSERT_OK(goc_close(l));
}

/* Read exactly n bytes (goc_read may return fewer).
 * Returns: n, 0 at an early end of stream, or the error. */
static inline ssize_t read_full(int fd, void *buf, size_t n, goc_ctx *ctx)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = goc_read(fd, (char *)buf + got, n - got, ctx);
        if (r <= 0)
            return r;
        got += (size_t)r;
    }
    return (ssize_t)n;
}

/* How many goroutines the dump shows with `state`. */
static inline int count_state(const char *state)
{
    static char dump[256 * 1024];
    goc_stack(dump, sizeof dump, true);
    int n = 0;
    for (const char *p = dump; (p = strstr(p, state)) != NULL; p++)
        n++;
    return n;
}

/* Wait until at least n goroutines are parked in the poller.  Bounded:
 * 10 s of 1 ms looks, then the test fails. */
static inline void wait_io_parked(int n)
{
    for (int i = 0; i < 10000; i++) {
        if (count_state("[IO wait") >= n)
            return;
        goc_sleep(MS);
    }
    FAIL("fewer than %d goroutines reached [IO wait] in 10 s", n);
}

/* The highest descriptor number open in this process. */
static inline int highest_fd(void)
{
    DIR *d = opendir("/proc/self/fd");
    ASSERT(d != NULL);
    int top = -1;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.' && atoi(e->d_name) > top)
            top = atoi(e->d_name);
    closedir(d);
    return top;
}

/* Out of descriptors: lower the soft RLIMIT_NOFILE (the old one saved
 * in *old) to the highest open number + 1 + spare, then fill every free
 * number below it (there may be gaps: descriptors the process
 * inherited).  Returns: the filled descriptors, *n of them. */
static inline int *fill_descriptors(struct rlimit *old, int spare, int *n)
{
    ASSERT_EQ(getrlimit(RLIMIT_NOFILE, old), 0);
    struct rlimit low = *old;
    low.rlim_cur = (rlim_t)highest_fd() + 1 + (rlim_t)spare;
    ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
    int *fill = malloc(low.rlim_cur * sizeof *fill);
    ASSERT(fill != NULL);
    *n = 0;
    while (*n < (int)low.rlim_cur) {
        int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            ASSERT_EQ(errno, EMFILE);
            break;
        }
        fill[(*n)++] = fd;
    }
    ASSERT_GE(*n, spare);
    ASSERT_LT(*n, (int)low.rlim_cur);
    return fill;
}

/* Close the n descriptors of fill, free it, restore the limit. */
static inline void unfill_descriptors(const struct rlimit *old, int *fill,
                                      int n)
{
    while (n > 0)
        ASSERT_EQ(close(fill[--n]), 0);
    free(fill);
    ASSERT_EQ(setrlimit(RLIMIT_NOFILE, old), 0);
}

#endif /* GOC_TEST_NET_H */
