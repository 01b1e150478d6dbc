/* SPDX-License-Identifier: MIT */
/* tcpecho server: one goroutine per connection, each reading into a
 * 64-byte buffer and writing back what it read, until end of stream.
 * The goc side of the tcpecho benchmark; the load is
 * bench_tcpecho_client, which drives the Go twin (bench/go/tcpecho) the
 * same way, so the server is what is compared (bench_net.h).
 *
 *   bench_tcpecho [-addr 127.0.0.1:0] [-life 120]
 *
 * Prints the address it listens on, then serves until killed or until
 * -life seconds have passed. */
#include <errno.h>
#include <stdint.h>

#include <goc.h>

#include "bench.h"
#include "bench_net.h"

/* The twin's buffer size too: one 64-byte message per read. */
#define ECHO_BUF 64

static const char *addr;
static long life_s;

static void echo(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char buf[ECHO_BUF];
    for (;;) {
        ssize_t n = goc_read(fd, buf, sizeof buf, NULL);
        if (n <= 0) /* end of stream, or the client reset it */
            break;
        if (goc_write(fd, buf, (size_t)n, NULL) != n)
            break;
    }
    (void)goc_close(fd);
}

static void bench_main(void *arg)
{
    (void)arg;
    bench_serve("tcpecho", addr, life_s, echo);
}

int main(int argc, char **argv)
{
    addr = bench_str_flag(argc, argv, "addr", "127.0.0.1:0");
    life_s = bench_flag(argc, argv, "life", 120);
    bench_raise_nofile();
    return goc_run(bench_main, NULL) == 0 ? 0 : 1;
}
