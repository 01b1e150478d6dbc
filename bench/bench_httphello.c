/* SPDX-License-Identifier: MIT */
/* httphello server: a minimal HTTP/1.1 keep-alive responder, one
 * goroutine per connection.  The goc side of the httphello benchmark;
 * wrk is the load, and drives the Go twin (bench/go/httphello: the same
 * parsing on plain net, not net/http) the same way (bench_net.h).
 *
 *   bench_httphello [-addr 127.0.0.1:0] [-life 120]
 *
 * Each request is read up to its blank line ("\r\n\r\n") and answered
 * with one fixed 200 response; the connection stays open for the next,
 * unless the request says "Connection: close" or the peer ends the
 * stream.  Requests that arrive together (pipelined) are answered in
 * order; bodies are not expected (wrk sends GETs).  A header block longer
 * than the buffer closes the connection. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <strings.h>

#include <goc.h>

#include "bench.h"
#include "bench_net.h"

#define REQ_BUF 1024 /* the twin's too; wrk's requests are ~40 bytes */

static const char response[] = "HTTP/1.1 200 OK\r\n"
                               "Content-Type: text/plain\r\n"
                               "Content-Length: 13\r\n"
                               "\r\n"
                               "Hello, World!";

static const char *addr;
static long life_s;

/* Does the header block req[0..len) (ending in "\r\n\r\n") carry
 * "Connection: close"?  Names and the value in any case, as HTTP says. */
static bool wants_close(const char *req, size_t len)
{
    static const char name[] = "connection:";
    const size_t nl = sizeof name - 1;
    const char *end = req + len;
    for (const char *p = req; p < end;) {
        const char *nlp = memchr(p, '\n', (size_t)(end - p));
        const char *line = nlp == NULL ? end : nlp + 1;
        if (line >= end)
            break;
        p = line;
        if ((size_t)(end - line) < nl || strncasecmp(line, name, nl) != 0)
            continue;
        const char *v = line + nl;
        while (v < end && (*v == ' ' || *v == '\t'))
            v++;
        return (size_t)(end - v) >= 5 && strncasecmp(v, "close", 5) == 0;
    }
    return false;
}

/* Answer every whole request at the front of buf[0..*have), dropping
 * them from buf.  Returns: false when the connection should end. */
static bool answer(int fd, char *buf, size_t *have)
{
    size_t at = 0;
    bool keep = true;
    while (keep) {
        const char *blank = memmem(buf + at, *have - at, "\r\n\r\n", 4);
        if (blank == NULL)
            break;
        size_t len = (size_t)(blank + 4 - (buf + at));
        keep = !wants_close(buf + at, len);
        if (goc_write(fd, response, sizeof response - 1, NULL) < 0)
            return false;
        at += len;
    }
    memmove(buf, buf + at, *have - at);
    *have -= at;
    return keep && *have < REQ_BUF; /* a full buffer: headers too long */
}

static void serve(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char buf[REQ_BUF];
    size_t have = 0;
    for (;;) {
        ssize_t n = goc_read(fd, buf + have, sizeof buf - have, NULL);
        if (n <= 0) /* end of stream, or a reset */
            break;
        have += (size_t)n;
        if (!answer(fd, buf, &have))
            break;
    }
    (void)goc_close(fd);
}

static void bench_main(void *arg)
{
    (void)arg;
    bench_serve("httphello", addr, life_s, serve);
}

int main(int argc, char **argv)
{
    addr = bench_str_flag(argc, argv, "addr", "127.0.0.1:0");
    life_s = bench_flag(argc, argv, "life", 120);
    bench_raise_nofile();
    return goc_run(bench_main, NULL) == 0 ? 0 : 1;
}
