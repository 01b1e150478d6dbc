/* SPDX-License-Identifier: MIT */
/* bench_net.h - what the network benchmarks share: a string flag, the
 * descriptor limit, and the servers' start-up line.
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

#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include <goc.h>

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

#endif /* GOC_BENCH_NET_H */
