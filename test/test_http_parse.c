/* SPDX-License-Identifier: MIT */
/* test_http_parse.c - HTTP/1.1 heads and chunked bodies (src/http_parse.c). */
#include "../src/http_parse.h"
#include "test.h"

static goc__http_field fields[16];

static int req(const char *s, goc__http_head *h)
{
    h->fields = fields;
    h->maxfields = sizeof fields / sizeof fields[0];
    return goc__http_parse_request(s, strlen(s), h);
}

static int resp(const char *s, bool head, goc__http_head *h)
{
    h->fields = fields;
    h->maxfields = sizeof fields / sizeof fields[0];
    return goc__http_parse_response(s, strlen(s), head, h);
}

static bool span_eq(goc__span s, const char *lit)
{
    return s.n == strlen(lit) && memcmp(s.p, lit, s.n) == 0;
}

#define ASSERT_SPAN(s, lit)                                               \
    do {                                                                  \
        if (!span_eq((s), (lit)))                                         \
            FAIL("span \"%.*s\", want \"%s\"", (int)(s).n, (s).p, (lit)); \
    } while (0)

TEST(http_parse_request)
{
    goc__http_head h;
    const char *get = "GET /a?b=1 HTTP/1.1\r\nHost: x\r\nX-Y:  v w \r\n\r\n";
    ASSERT_EQ(req(get, &h), (int)strlen(get));
    ASSERT_SPAN(h.method, "GET");
    ASSERT_SPAN(h.target, "/a?b=1");
    ASSERT_EQ(h.minor, 1);
    ASSERT_EQ(h.nfields, 2);
    ASSERT_SPAN(h.fields[1].name, "X-Y");
    ASSERT_SPAN(h.fields[1].value, "v w");
    ASSERT(h.keep_alive);
    ASSERT_EQ(h.body, GOC__HTTP_BODY_NONE);
    goc__span v;
    ASSERT(goc__http_field_get(&h, "host", &v));
    ASSERT_SPAN(v, "x");
    ASSERT(!goc__http_field_get(&h, "cookie", &v));

    /* Every proper prefix is "more, please", never an error. */
    for (size_t n = 0; n < strlen(get); n++) {
        h.fields = fields;
        h.maxfields = 16;
        ASSERT_EQ(goc__http_parse_request(get, n, &h), 0);
    }

    /* Pipelined: the first head ends where the second begins. */
    const char *two = "GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\n";
    int n1 = req(two, &h);
    ASSERT_EQ(n1, 19);
    ASSERT_EQ(req(two + n1, &h), 19);
    ASSERT_SPAN(h.target, "/2");

    /* Bare LF lines; one empty line before the request line. */
    ASSERT_GT(req("\r\nGET / HTTP/1.1\nHost: x\n\n", &h), 0);
    ASSERT_EQ(h.nfields, 1);

    /* Bodies and the connection. */
    ASSERT_GT(req("POST / HTTP/1.1\r\nContent-Length: 12\r\n\r\n", &h), 0);
    ASSERT_EQ(h.body, GOC__HTTP_BODY_LENGTH);
    ASSERT_EQ(h.content_length, 12);
    ASSERT_GT(req("POST / HTTP/1.1\r\nContent-Length: 7, 7\r\n"
                  "content-length: 7\r\n\r\n", &h), 0);
    ASSERT_EQ(h.content_length, 7);
    ASSERT_GT(req("POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n", &h), 0);
    ASSERT_EQ(h.body, GOC__HTTP_BODY_NONE);
    ASSERT_GT(req("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", &h),
              0);
    ASSERT_EQ(h.body, GOC__HTTP_BODY_CHUNKED);
    ASSERT_GT(req("GET / HTTP/1.0\r\n\r\n", &h), 0);
    ASSERT(!h.keep_alive);
    ASSERT_GT(req("GET / HTTP/1.0\r\nConnection: Keep-Alive, Upgrade\r\n\r\n",
                  &h), 0);
    ASSERT(h.keep_alive);
    ASSERT_GT(req("GET / HTTP/1.1\r\nConnection: upgrade, close\r\n\r\n", &h),
              0);
    ASSERT(!h.keep_alive);
    ASSERT_GT(req("PUT / HTTP/1.1\r\nExpect: 100-continue\r\n"
                  "Content-Length: 3\r\n\r\n", &h), 0);
    ASSERT(h.expect_continue);
    ASSERT_GT(req("GET / HTTP/1.2\r\n\r\n", &h), 0); /* 1.x as 1.1 */
    ASSERT_EQ(h.minor, 1);

    /* The four forms of a target (RFC 9112 3.2). */
    static const char *const forms[] = {
        "OPTIONS * HTTP/1.1\r\n\r\n",
        "GET //a/b?c#d HTTP/1.1\r\n\r\n",
        "GET http://example.com:8080/p?q=1 HTTP/1.1\r\n\r\n",
        "GET HTTPS://user:pw@[::1]:443 HTTP/1.1\r\n\r\n",
        "GET http://a?b HTTP/1.1\r\n\r\n",
        "CONNECT example.com:443 HTTP/1.1\r\n\r\n",
        "CONNECT [::1]:443 HTTP/1.1\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++)
        if (req(forms[i], &h) != (int)strlen(forms[i]))
            FAIL("refused: %s", forms[i]);
}

TEST(http_parse_request_rejects)
{
    goc__http_head h;
    static const struct {
        const char *text;
        int rc;
    } bad[] = {
        /* smuggling: two framings, TE in 1.0, chunked not last or twice */
        {"POST / HTTP/1.1\r\nContent-Length: 3\r\n"
         "Transfer-Encoding: chunked\r\n\r\n", -400},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
         "Content-Length: 3\r\n\r\n", -400},
        {"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", -400},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", -400},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
         "Transfer-Encoding: chunked\r\n\r\n", -400},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", -501},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: ,\r\n\r\n", -400},
        /* empty elements: found by the differential test */
        {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked,\r\n\r\n", -400},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: , chunked\r\n\r\n", -400},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: gzip,, chunked\r\n\r\n",
         -400},
        {"POST / HTTP/1.1\r\nTransfer-Encoding:\r\n\r\n", -400},
        /* Content-Length */
        {"POST / HTTP/1.1\r\nContent-Length: 5, 6\r\n\r\n", -400},
        {"POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
         -400},
        {"POST / HTTP/1.1\r\nContent-Length: +5\r\n\r\n", -400},
        {"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", -400},
        {"POST / HTTP/1.1\r\nContent-Length: 0x5\r\n\r\n", -400},
        {"POST / HTTP/1.1\r\nContent-Length:\r\n\r\n", -400},
        {"POST / HTTP/1.1\r\nContent-Length: 99999999999999999\r\n\r\n", -400},
        /* fields */
        {"GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n", -400},
        {"GET / HTTP/1.1\r\nHost : x\r\n\r\n", -400},
        {"GET / HTTP/1.1\r\nNoColon\r\n\r\n", -400},
        {"GET / HTTP/1.1\r\n: empty\r\n\r\n", -400},
        {"GET / HTTP/1.1\r\nX: a\rb\r\n\r\n", -400},
        {"GET / HTTP/1.1\r\nX: a\x01\r\n\r\n", -400},
        {"GET / HTTP/1.1\r\nX(y): a\r\n\r\n", -400},
        /* request line */
        {"GET /\r\n\r\n", -400},
        {"GET  / HTTP/1.1\r\n\r\n", -400},
        {"GET / HTTP/1.1 x\r\n\r\n", -400},
        {"G(T / HTTP/1.1\r\n\r\n", -400},
        {"GET /\x7f HTTP/1.1\r\n\r\n", -400},
        {"GET /\xc3\xa9 HTTP/1.1\r\n\r\n", -400},
        {"GET / http/1.1\r\n\r\n", -400},
        {"GET / HTTP/1\r\n\r\n", -400},
        {"GET / HTTP/2.0\r\n\r\n", -505},
        {"GET / HTTP/1.1\r\r\n\r\n", -400},
        /* the target's form (RFC 9112 3.2), found by the differential
         * test: none of origin, asterisk, absolute, authority */
        {"GET abc HTTP/1.1\r\n\r\n", -400},
        {"GET %2F HTTP/1.1\r\n\r\n", -400},
        {"GET *x HTTP/1.1\r\n\r\n", -400},
        {"GET http:/a HTTP/1.1\r\n\r\n", -400},
        {"GET http:// HTTP/1.1\r\n\r\n", -400},
        {"GET http:///x HTTP/1.1\r\n\r\n", -400},
        {"GET h2://a/ HTTP/1.1\r\n\r\n", -400},
        {"GET urn:isbn:0451450523 HTTP/1.1\r\n\r\n", -400},
        {"GET http://a{b}/ HTTP/1.1\r\n\r\n", -400},
        {"GET http://a#f HTTP/1.1\r\n\r\n", -400},
        {"GET http://u@a@b/ HTTP/1.1\r\n\r\n", -400},
        {"GET a:80 HTTP/1.1\r\n\r\n", -400},
        {"CONNECT /a HTTP/1.1\r\n\r\n", -400},
        {"CONNECT a HTTP/1.1\r\n\r\n", -400},
        {"CONNECT a: HTTP/1.1\r\n\r\n", -400},
        {"CONNECT :80 HTTP/1.1\r\n\r\n", -400},
        {"CONNECT u@a:80 HTTP/1.1\r\n\r\n", -400},
        {"CONNECT a:8x HTTP/1.1\r\n\r\n", -400},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = req(bad[i].text, &h);
        if (rc != bad[i].rc)
            FAIL("case %zu: %d, want %d:\n%s", i, rc, bad[i].rc, bad[i].text);
    }
    /* More fields than the caller has room for: 431. */
    goc__http_field two[2];
    h.fields = two;
    h.maxfields = 2;
    const char *three = "GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n";
    ASSERT_EQ(goc__http_parse_request(three, strlen(three), &h), -431);
}

TEST(http_parse_response)
{
    goc__http_head h;
    const char *ok = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
    ASSERT_EQ(resp(ok, false, &h), (int)strlen(ok) - 5);
    ASSERT_EQ(h.status, 200);
    ASSERT_SPAN(h.reason, "OK");
    ASSERT_EQ(h.body, GOC__HTTP_BODY_LENGTH);
    ASSERT_EQ(h.content_length, 5);
    ASSERT(h.keep_alive);
    /* No length, no coding: read until close, and then no keep-alive. */
    ASSERT_GT(resp("HTTP/1.1 200 OK\r\n\r\n", false, &h), 0);
    ASSERT_EQ(h.body, GOC__HTTP_BODY_CLOSE);
    ASSERT(!h.keep_alive);
    /* No body after HEAD, 1xx, 204, 304, whatever the fields say. */
    ASSERT_GT(resp(ok, true, &h), 0);
    ASSERT_EQ(h.body, GOC__HTTP_BODY_NONE);
    ASSERT(h.keep_alive);
    ASSERT_GT(resp("HTTP/1.1 204 No Content\r\n\r\n", false, &h), 0);
    ASSERT_EQ(h.body, GOC__HTTP_BODY_NONE);
    ASSERT(h.keep_alive);
    ASSERT_GT(resp("HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n",
                   false, &h), 0);
    ASSERT_EQ(h.body, GOC__HTTP_BODY_NONE);
    ASSERT_GT(resp("HTTP/1.1 101 Switching\r\n\r\n", false, &h), 0);
    ASSERT_EQ(h.body, GOC__HTTP_BODY_NONE);
    ASSERT_GT(resp("HTTP/1.1 200\r\nTransfer-Encoding: chunked\r\n\r\n",
                   false, &h), 0);
    ASSERT_EQ(h.body, GOC__HTTP_BODY_CHUNKED);
    ASSERT_EQ(h.reason.n, 0);
    ASSERT_GT(resp("HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n", false, &h),
              0);
    ASSERT(!h.keep_alive);
    ASSERT_EQ(resp("HTTP/1.1 20 OK\r\n\r\n", false, &h), -400);
    ASSERT_EQ(resp("HTTP/1.1 2000 OK\r\n\r\n", false, &h), -400);
    ASSERT_EQ(resp("HTTP/1.1 099 Low\r\n\r\n", false, &h), -400);
    ASSERT_EQ(resp("HTTP/2 200 OK\r\n\r\n", false, &h), -400);
    ASSERT_EQ(resp("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", false,
                   &h), -501);
    ASSERT_EQ(resp("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n"
                   "Transfer-Encoding: chunked\r\n\r\n", false, &h), -400);
    ASSERT_EQ(resp("HTTP/1.1 200 OK\r\nContent-Le", false, &h), 0);
}

/* Decode s whole, then byte by byte: the same data, the same end. */
static void chunked_both(const char *s, const char *want, size_t want_used)
{
    char buf[256];
    size_t len = strlen(s), used;
    memcpy(buf, s, len);
    goc__http_chunked c = {0};
    ASSERT_EQ(goc__http_chunked_decode(&c, buf, &len, &used), 1);
    ASSERT_EQ(used, want_used);
    if (len != strlen(want) || memcmp(buf, want, len) != 0)
        FAIL("decoded \"%.*s\", want \"%s\"", (int)len, buf, want);

    goc__http_chunked d = {0};
    char out[256];
    size_t nout = 0, total = 0;
    int rc = 0;
    for (size_t i = 0; i < strlen(s) && rc == 0; i++) {
        char one = s[i];
        size_t n = 1;
        rc = goc__http_chunked_decode(&d, &one, &n, &used);
        ASSERT_GE(rc, 0);
        ASSERT_EQ(used, 1);
        memcpy(out + nout, &one, n);
        nout += n;
        total++;
    }
    ASSERT_EQ(rc, 1);
    ASSERT_EQ(total, want_used);
    ASSERT(nout == strlen(want) && memcmp(out, want, nout) == 0);
}

TEST(http_parse_chunked)
{
    chunked_both("4\r\nWiki\r\n5;ext=\"a b\"\r\npedia\r\nE\r\n in\r\n\r\nchunks."
                 "\r\n0\r\nTrailer: x\r\n\r\nNEXT",
                 "Wikipedia in\r\n\r\nchunks.", 65);
    chunked_both("0\r\n\r\n", "", 5);
    chunked_both("0000a\r\n0123456789\r\n0\r\n\r\n", "0123456789", 24);
    /* Spaces before an extension or the line's end (BWS). */
    chunked_both("3 ;a=b\r\nabc\r\n3  \r\ndef\r\n0\r\n\r\n", "abcdef", 28);
    /* Trailer lines are field lines: a bare LF ends one, as in a head. */
    chunked_both("3\r\nabc\r\n0\r\nA: b\nC:\r\n\n", "abc", 21);

    /* Found by the differential test (test_http_diff.c): chunk lines end
     * in CRLF alone, the size is followed by spaces, ";" or the CR and
     * nothing else, and trailers are checked as fields are.  A bare LF
     * after a size, or in an extension, is where parsers part: one ends
     * the line there, http_parser reads on to the next CR. */
    static const char *const bad[] = {
        "zz\r\n", "\r\n", "4\r\nWikiX\r\n", "4\r\nWiki\rX",
        "FFFFFFFFFFFFFFFFF\r\n", "4\x00\r\n",
        "3\nabc\r\n0\r\n\r\n", "3\r\nabc\n0\r\n\r\n", "0\n\r\n",
        "3;a\nb\r\nabc\r\n0\r\n\r\n", "3;\x01\r\nabc\r\n", "3x\r\nabc\r\n",
        "3\t\r\nabc\r\n", "3 x\r\nabc\r\n", "0\r\nbad trailer\r\n\r\n",
        "0\r\nX : y\r\n\r\n", "0\r\n: y\r\n\r\n", "0\r\nX: a\r\n b\r\n\r\n",
        "0\r\nX: \x01\r\n\r\n", "0\r\nX: a\rb\r\n\r\n", "0\r\n\rX",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char buf[64];
        size_t len = strlen(bad[i]) + (i == 5), used;
        memcpy(buf, bad[i], len);
        goc__http_chunked c = {0};
        if (goc__http_chunked_decode(&c, buf, &len, &used) != -400)
            FAIL("case %zu accepted", i);
    }
    /* An extension past the line's limit. */
    static char longext[GOC__HTTP_CHUNK_LINE_MAX + 16];
    memset(longext, 'x', sizeof longext);
    memcpy(longext, "1;", 2);
    size_t len = sizeof longext, used;
    goc__http_chunked c = {0};
    ASSERT_EQ(goc__http_chunked_decode(&c, longext, &len, &used), -400);
    /* Data split anywhere comes out whole. */
    char part[] = "5\r\nhel";
    size_t n = strlen(part);
    goc__http_chunked p = {0};
    ASSERT_EQ(goc__http_chunked_decode(&p, part, &n, &used), 0);
    ASSERT_EQ(n, 3);
    ASSERT(memcmp(part, "hel", 3) == 0);
    char rest[] = "lo\r\n0\r\n\r\n";
    n = strlen(rest);
    ASSERT_EQ(goc__http_chunked_decode(&p, rest, &n, &used), 1);
    ASSERT_EQ(n, 2);
    ASSERT_EQ(used, strlen(rest));
}
