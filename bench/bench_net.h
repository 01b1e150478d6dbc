/* SPDX-License-Identifier: MIT */
/* bench_net.h - what the network benchmarks share: a string flag, the
 * descriptor limit, the servers' start-up line and accept loop.
 *
 * A network benchmark is a server and a load generator, two programs:
 * bench/run.sh starts the server (goc's, then its Go twin), reads the
 * address it listens on from its first line of output, points the same
 * load generator at it (bench_tcpecho_client, or wrk) and stops it.  The
 * load generator prints the RESULT lines, so the servers are what is
 * compared.  Every server stops by itself after -life seconds, in case
 * nobody stops it. */
#ifndef GOC_BENCH_NET_H
#define GOC_BENCH_NET_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <goc.h>

#include "bench.h"

/* "-name value" from argv, or def. */
static inline const char *bench_str_flag(int argc, char **argv,
                                         const char *name, const char *def)
{
    for (int i = 1; i + 1 < argc; i++)
        if (argv[i][0] == '-' && strcmp(argv[i] + 1, name) == 0)
            return argv[i + 1];
    return def;
}

/* Raise the soft limit on descriptors to the hard one (Go 1.19 does the
 * same for every program at start-up; 10,000 connections need it).
 * Returns: the soft limit in force afterwards. */
static inline long bench_raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return 1024;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            (void)getrlimit(RLIMIT_NOFILE, &rl);
    }
    return rl.rlim_cur == RLIM_INFINITY ? 1L << 20 : (long)rl.rlim_cur;
}

/* A server's first line: the address it listens on, alone, flushed at
 * once (stdout is a file under run.sh, so fully buffered). */
static inline void bench_print_addr(int listen_fd)
{
    char addr[GOC_ADDR_MAX];
    int rc = goc_local_addr(listen_fd, addr, sizeof addr);
    if (rc < 0) {
        fprintf(stderr, "local address: %s\n", goc_strerror(rc));
        exit(1);
    }
    printf("%s\n", addr);
    fflush(stdout);
}

/* The servers' life: listen on addr, print the address, and run
 * conn(fd) in a goroutine per accepted connection until life_s seconds
 * have passed (a server nobody stopped goes away by itself); then exit
 * the process (the open connections end with it).  Only on: a
 * goroutine. */
static inline void bench_serve(const char *name, const char *addr,
                               long life_s, void (*conn)(void *))
{
    int ln = goc_tcp_listen(addr, 0);
    if (ln < 0) {
        fprintf(stderr, "listen %s: %s\n", addr, goc_strerror(ln));
        exit(1);
    }
    bench_print_addr(ln);
    goc_ctx *life = goc_ctx_with_timeout(NULL, life_s * GOC_SECOND);
    if (life == NULL)
        exit(1);
    for (;;) {
        int fd = goc_accept(ln, life);
        if (fd == GOC_ETIMEDOUT)
            break;
        if (fd == -ECONNABORTED) /* the client gave up first: next one */
            continue;
        if (fd < 0) {
            fprintf(stderr, "accept: %s\n", goc_strerror(fd));
            exit(1);
        }
        BENCH_MUST(goc_go(conn, (void *)(intptr_t)fd));
    }
    fprintf(stderr, "%s: life bound of %ld s reached\n", name, life_s);
    goc_ctx_release(life);
    exit(0);
}

#endif /* GOC_BENCH_NET_H */
