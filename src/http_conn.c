/* SPDX-License-Identifier: MIT */
/*
 * http_conn.c - an HTTP/1.1 connection's reading side (http_conn.h has
 * the buffer's layout and rules), and the small public helpers of
 * goc/http.h that both the server and the client use.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "http_conn.h"

/* ---- public helpers ---- */

bool goc_http_str_eq(goc_http_str s, const char *lit)
{
    size_t n = strlen(lit);
    return s.n == n && (n == 0 || memcmp(s.p, lit, n) == 0);
}

bool goc_http_field_get(const goc_http_field *fields, size_t n,
                        const char *name, goc_http_str *value)
{
    size_t len = strlen(name);
    for (size_t i = 0; i < n; i++) {
        if (fields[i].name.n == len &&
            strncasecmp(fields[i].name.p, name, len) == 0) {
            *value = fields[i].value;
            return true;
        }
    }
    return false;
}

const char *goc_http_status_text(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 413: return "Request Entity Too Large";
    case 414: return "Request URI Too Long";
    case 415: return "Unsupported Media Type";
    case 417: return "Expectation Failed";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "";
    }
}

const char *goc__http_date(char date[30], int64_t *sec)
{
    time_t now = time(NULL);
    if ((int64_t)now != *sec) {
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(date, 30, "%a, %d %b %Y %H:%M:%S GMT", &tm);
        *sec = (int64_t)now;
    }
    return date;
}

int goc__http_reserve(char **buf, size_t *cap, size_t need)
{
    if (need <= *cap)
        return 0;
    size_t c = *cap != 0 ? *cap * 2 : 256;
    while (c < need)
        c *= 2;
    char *b = realloc(*buf, c);
    if (b == NULL)
        return GOC_ENOMEM;
    *buf = b;
    *cap = c;
    return 0;
}

ssize_t goc__http_read_all(ssize_t (*read)(void *obj, void *buf, size_t n),
                           void *obj, void *buf, size_t cap)
{
    size_t len = 0;
    for (;;) {
        if (len == cap) {
            char b;
            ssize_t k = read(obj, &b, 1); /* at the end? */
            if (k == 0)
                return (ssize_t)len;
            return k < 0 ? k : GOC_E2BIG;
        }
        ssize_t k = read(obj, (char *)buf + len, cap - len);
        if (k <= 0)
            return k < 0 ? k : (ssize_t)len;
        len += (size_t)k;
    }
}

/* ---- the input buffer ---- */

int goc__http_rd_init(goc__http_rd *rd, int fd)
{
    memset(rd, 0, sizeof *rd);
    rd->fd = fd;
    rd->buf = malloc(GOC__HTTP_RD_INIT);
    if (rd->buf == NULL)
        return GOC_ENOMEM;
    rd->cap = GOC__HTTP_RD_INIT;
    rd->body_done = true;
    return 0;
}

void goc__http_rd_free(goc__http_rd *rd)
{
    free(rd->buf);
    rd->buf = NULL;
}

/* Move the unread bytes [off, have) down to `keep`. */
static void compact(goc__http_rd *rd)
{
    if (rd->off == rd->keep)
        return;
    size_t n = rd->have - rd->off;
    memmove(rd->buf + rd->keep, rd->buf + rd->off, n);
    rd->off = rd->keep;
    rd->have = rd->keep + n;
}

/* Grow the buffer to at least want bytes.  Only while no head is live
 * (keep == 0): spans would dangle.  Returns: 0 or GOC_ENOMEM. */
static int grow(goc__http_rd *rd, size_t want)
{
    return goc__http_reserve(&rd->buf, &rd->cap, want);
}

int goc__http_rd_head(goc__http_rd *rd, goc__http_parse_fn *parse,
                      void *parse_arg, goc__http_head *h, size_t max,
                      goc_ctx *ctx, int (*first_byte)(void *), void *fb_arg)
{
    bool started = goc__http_rd_buffered(rd);
    if (started && first_byte != NULL) {
        int err = first_byte(fb_arg);
        if (err != 0)
            return err;
    }
    for (;;) {
        if (rd->off < rd->have) {
            int r = parse(rd->buf + rd->off, rd->have - rd->off, h,
                          parse_arg);
            if (r < 0)
                return r;
            if (r > 0) {
                if (rd->cap - (rd->off + (size_t)r) < GOC__HTTP_RD_SLACK) {
                    /* Room for a chunked body's input above the head:
                     * move it down and grow, then parse again, as the
                     * spans moved. */
                    compact(rd);
                    if (rd->cap - (size_t)r < GOC__HTTP_RD_SLACK) {
                        int err = grow(rd, (size_t)r + GOC__HTTP_RD_SLACK);
                        if (err != 0)
                            return err;
                    }
                    r = parse(rd->buf, rd->have, h, parse_arg);
                }
                rd->off += (size_t)r;
                rd->keep = rd->off;
                return r;
            }
            if (rd->have - rd->off >= max)
                return -431;
        }
        compact(rd);
        if (rd->have == rd->cap) {
            int err = grow(rd, rd->cap + 1);
            if (err != 0)
                return err;
        }
        size_t room = rd->cap - rd->have;
        if (room > max + 1 - (rd->have - rd->off))
            room = max + 1 - (rd->have - rd->off); /* enough to see 431 */
        ssize_t n = goc_read(rd->fd, rd->buf + rd->have, room, ctx);
        if (n == 0)
            return rd->have == rd->off ? 0 : GOC_EPROTO;
        if (n < 0)
            return (int)n;
        rd->have += (size_t)n;
        if (!started) {
            started = true;
            if (first_byte != NULL) {
                int err = first_byte(fb_arg);
                if (err != 0)
                    return err;
            }
        }
    }
}

void goc__http_rd_body_start(goc__http_rd *rd, const goc__http_head *h,
                             uint64_t max)
{
    rd->body = h->body;
    rd->left = h->content_length;
    memset(&rd->chunk, 0, sizeof rd->chunk);
    rd->chunk_end = false;
    rd->dec_off = rd->dec_len = 0;
    rd->body_done = h->body == GOC__HTTP_BODY_NONE ||
                    (h->body == GOC__HTTP_BODY_LENGTH && rd->left == 0);
    rd->body_err = 0;
    rd->body_total = 0;
    rd->body_max = max;
}

/* Copy up to n buffered bytes to p.  Returns: the count. */
static size_t take(goc__http_rd *rd, void *p, size_t n)
{
    size_t k = rd->have - rd->off;
    if (k > n)
        k = n;
    memcpy(p, rd->buf + rd->off, k);
    rd->off += k;
    return k;
}

/* Read more of a chunked body into the buffer above `keep`.
 * Returns: 0, or an error (GOC_EPROTO for an early end). */
static int fill(goc__http_rd *rd, goc_ctx *ctx)
{
    compact(rd);
    ssize_t n = goc_read(rd->fd, rd->buf + rd->have, rd->cap - rd->have, ctx);
    if (n == 0)
        return GOC_EPROTO;
    if (n < 0)
        return (int)n;
    rd->have += (size_t)n;
    return 0;
}

static ssize_t chunked_read(goc__http_rd *rd, void *p, size_t n,
                            goc_ctx *ctx)
{
    while (rd->dec_len == 0) {
        if (rd->chunk_end)
            return 0; /* the last chunk and trailer are read */
        if (rd->off == rd->have) {
            int err = fill(rd, ctx);
            if (err != 0)
                return err;
        }
        size_t len = rd->have - rd->off, used;
        int st = goc__http_chunked_decode(&rd->chunk, rd->buf + rd->off, &len,
                                          &used);
        if (st < 0)
            return GOC_EPROTO;
        rd->dec_off = rd->off;
        rd->dec_len = len;
        rd->off += used;
        if (st == 1)
            rd->chunk_end = true;
    }
    size_t k = rd->dec_len < n ? rd->dec_len : n;
    memcpy(p, rd->buf + rd->dec_off, k);
    rd->dec_off += k;
    rd->dec_len -= k;
    return (ssize_t)k;
}

ssize_t goc__http_rd_body(goc__http_rd *rd, void *p, size_t n, goc_ctx *ctx)
{
    if (rd->body_err != 0)
        return rd->body_err;
    if (rd->body_done || n == 0)
        return 0;
    ssize_t r;
    switch (rd->body) {
    case GOC__HTTP_BODY_LENGTH:
        if (n > rd->left)
            n = (size_t)rd->left;
        if (goc__http_rd_buffered(rd))
            r = (ssize_t)take(rd, p, n);
        else if ((r = goc_read(rd->fd, p, n, ctx)) == 0)
            r = GOC_EPROTO; /* the peer ended before Content-Length */
        if (r > 0 && (rd->left -= (uint64_t)r) == 0)
            rd->body_done = true;
        break;
    case GOC__HTTP_BODY_CLOSE:
        if (goc__http_rd_buffered(rd))
            r = (ssize_t)take(rd, p, n);
        else if ((r = goc_read(rd->fd, p, n, ctx)) == 0)
            rd->body_done = true;
        break;
    case GOC__HTTP_BODY_CHUNKED:
        r = chunked_read(rd, p, n, ctx);
        if (r == 0)
            rd->body_done = true;
        break;
    default:
        rd->body_done = true;
        return 0;
    }
    if (r > 0) {
        rd->body_total += (uint64_t)r;
        if (rd->body_max != 0 && rd->body_total > rd->body_max)
            r = GOC_E2BIG;
    }
    if (r < 0)
        rd->body_err = (int)r;
    return r;
}

bool goc__http_rd_drain(goc__http_rd *rd, uint64_t limit, goc_ctx *ctx)
{
    if (rd->body == GOC__HTTP_BODY_LENGTH && !rd->body_done &&
        rd->left > limit)
        return false;
    char tmp[2048];
    uint64_t got = 0;
    while (!rd->body_done && rd->body_err == 0 && got <= limit) {
        ssize_t r = goc__http_rd_body(rd, tmp, sizeof tmp, ctx);
        if (r > 0)
            got += (uint64_t)r;
    }
    return rd->body_done && rd->body_err == 0;
}

void goc__http_rd_next(goc__http_rd *rd)
{
    rd->keep = 0;
    compact(rd);
}
