/* SPDX-License-Identifier: MIT */
/*
 * debug_serve.c - goc_debug_serve: an opt-in HTTP endpoint that shows the
 * runtime's state, as Go's net/http/pprof and expvar do:
 *   /debug/ (and /debug/pprof/)   an HTML index of what follows
 *   /debug/goroutines?debug=1     goroutines grouped by identical stacks,
 *   (/debug/pprof/goroutine)      in the text of Go's goroutine profile
 *   /debug/goroutines?debug=2     every goroutine, as goc_dump prints them
 *   /debug/vars                   runtime counters as one JSON object
 * Formats, security stance and limits: docs/design/debug_serve.md.
 *
 * The HTTP is the least this endpoint needs, not a general server: GET
 * and HEAD only, the request head read up to HEAD_MAX bytes (else 431),
 * every response with Content-Length and `Connection: close`.  One
 * goroutine accepts, one serves each connection (at most MAX_CONNS at
 * once: the accept loop waits for a free one), each connection under a
 * deadline (a child of the server's ctx, so goc_debug_serve_stop cancels
 * them all), so a slow client cannot keep a goroutine for ever.
 *
 * The server's goroutines are system goroutines, as goc's own: not in
 * goc_num_goroutine, not in dumps, not in deadlock detection's census
 * (a listener parked in the poller keeps deadlock detection quiet
 * anyway, as a net.Listener does in Go).  Go's pprof handlers are
 * ordinary goroutines; here a debug endpoint left on would otherwise
 * show up in every leak check a program makes with goc_num_goroutine,
 * and the page would count itself.
 *
 * Everything is computed at request time from state the runtime keeps
 * anyway: the dump through goc_stack, the counts from a walk of the
 * goroutine headers and the scheduler's fields.  No hot path pays for it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "goc.h"
#include "internal.h"
#include "netpoll.h"

#define HEAD_MAX 8192                   /* request line and headers */
#define MAX_CONNS 32                    /* connections served at once */
#define DUMP_MAX ((size_t)256 << 20)    /* the largest dump served */
#define DRAIN_MAX (256 * 1024)          /* bytes read after a response */
#define DRAIN_NS GOC_SECOND             /* how long they are waited for */

/* Each connection's deadline, from its accept to its close.  Not API:
 * the tests shorten it before they start a server. */
int64_t goc__debug_serve_timeout = 30 * GOC_SECOND;

/* The server's goroutines that have not finished (for the tests). */
static _Atomic int32_t nlive;
int goc__debug_serve_live(void)
{
    return atomic_load_explicit(&nlive, memory_order_acquire);
}

struct server {
    int lfd;             /* the listener; the accept loop closes it */
    uint64_t epoch;      /* the run it belongs to */
    int64_t timeout;     /* goc__debug_serve_timeout at the start */
    goc_ctx *ctx;        /* canceled by goc_debug_serve_stop */
    goc_wg wg;           /* the accept loop and every connection */
    goc_sem conns;       /* MAX_CONNS units, one per connection */
    struct server *next; /* in servers; reglock */
};

/* Every server started and not stopped, also those of earlier runs
 * (abandoned with their run: their goroutines are gone, and the memory
 * stays reachable from here).  reglock is held for list operations
 * only, never across a goc call that may block. */
static pthread_mutex_t reglock = PTHREAD_MUTEX_INITIALIZER;
static struct server *servers;

/* ---- a growing buffer: the body of a response ---- */

struct buf {
    char *p;
    size_t len, cap;
    bool oom; /* an append failed: the response is a 500 */
};

static bool buf_grow(struct buf *b, size_t n)
{
    if (b->oom)
        return false;
    if (b->cap - b->len >= n)
        return true;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap - b->len < n) {
        if (cap > SIZE_MAX / 2) {
            b->oom = true;
            return false;
        }
        cap *= 2;
    }
    char *p = realloc(b->p, cap);
    if (p == NULL) {
        b->oom = true;
        return false;
    }
    b->p = p;
    b->cap = cap;
    return true;
}

static void buf_put(struct buf *b, const char *s, size_t n)
{
    if (n > 0 && buf_grow(b, n)) {
        memcpy(b->p + b->len, s, n);
        b->len += n;
    }
}

static void buf_puts(struct buf *b, const char *s)
{
    buf_put(b, s, strlen(s));
}

__attribute__((format(printf, 2, 3))) static void
buf_printf(struct buf *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof tmp) {
        buf_put(b, tmp, (size_t)n);
        return;
    }
    if (!buf_grow(b, (size_t)n + 1))
        return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* s[0 .. n) as the body of a JSON string, quotes included.  Valid UTF-8
 * passes as it is; a byte that does not start a valid sequence becomes
 * U+FFFD, as Go's encoding/json does, so the document stays valid. */
static void buf_json_str(struct buf *b, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    buf_puts(b, "\"");
    for (size_t i = 0; i < n;) {
        unsigned c = u[i];
        if (c == '"' || c == '\\') {
            buf_put(b, "\\", 1);
            buf_put(b, s + i, 1);
            i++;
        } else if (c < 0x20 || c == 0x7f) {
            buf_printf(b, "\\u%04x", c);
            i++;
        } else if (c < 0x80) {
            buf_put(b, s + i, 1);
            i++;
        } else {
            /* The length of a well-formed sequence at i (RFC 3629), or 0. */
            size_t len = 0;
            unsigned lo = 0x80, hi = 0xbf;
            if (c >= 0xc2 && c <= 0xdf)
                len = 2;
            else if (c >= 0xe0 && c <= 0xef) {
                len = 3;
                if (c == 0xe0)
                    lo = 0xa0;
                else if (c == 0xed)
                    hi = 0x9f;
            } else if (c >= 0xf0 && c <= 0xf4) {
                len = 4;
                if (c == 0xf0)
                    lo = 0x90;
                else if (c == 0xf4)
                    hi = 0x8f;
            }
            if (len > n - i)
                len = 0;
            for (size_t k = 1; k < len; k++) {
                unsigned lo_k = k == 1 ? lo : 0x80, hi_k = k == 1 ? hi : 0xbf;
                if (u[i + k] < lo_k || u[i + k] > hi_k) {
                    len = 0;
                    break;
                }
            }
            if (len == 0) {
                buf_puts(b, "\\ufffd");
                i++;
            } else {
                buf_put(b, s + i, len);
                i += len;
            }
        }
    }
    buf_puts(b, "\"");
}

/* ---- the dump, as goc_stack formats it ---- */

/* Every goroutine but the caller (the serving goroutine, which
 * goc_stack always puts first).  Returns: the text (malloc'd, NUL-
 * terminated, *len bytes), or NULL when out of memory.  *truncated is set
 * when the dump was larger than DUMP_MAX. */
static char *served_dump_text(size_t *len, bool *truncated)
{
    size_t n;
    char *text = goc__dump_text(DUMP_MAX, &n, truncated);
    if (text == NULL)
        return NULL;
    /* Drop the first block: our own goroutine. */
    char head[48];
    snprintf(head, sizeof head, "goroutine %lld [", (long long)goc_id());
    if (strncmp(text, head, strlen(head)) == 0) {
        const char *end = strstr(text, "\n\n");
        size_t skip = end != NULL ? (size_t)(end + 2 - text) : n;
        memmove(text, text + skip, n - skip + 1);
        n -= skip;
    }
    *len = n;
    return text;
}

/* One goroutine's frames in the dump: the lines after its header up to
 * "created by" (or the end of its block). */
struct stk {
    const char *p;
    size_t n;
    int count;
};

static bool next_line(const char **p, const char *end, const char **line,
                      size_t *n);

/* A frame's function line up to its arguments: goroutines waiting in the
 * same call on different channels ("goc_chan_recv(0x..: cap 0, len 0)")
 * have the same stack, as Go's profile groups them by pc. */
static size_t fn_len(const char *l, size_t n)
{
    const char *paren = memchr(l, '(', n);
    return paren != NULL ? (size_t)(paren - l) : n;
}

/* Stacks compared line by line, function lines without their arguments. */
static int stk_cmp_text(const void *a, const void *b)
{
    const struct stk *x = a, *y = b;
    const char *p = x->p, *pe = x->p + x->n, *q = y->p, *qe = y->p + y->n;
    const char *l, *m;
    size_t ln, mn;
    for (;;) {
        bool more_x = next_line(&p, pe, &l, &ln);
        bool more_y = next_line(&q, qe, &m, &mn);
        if (!more_x || !more_y)
            return more_x - more_y;
        if (ln > 0 && l[0] != '\t')
            ln = fn_len(l, ln);
        if (mn > 0 && m[0] != '\t')
            mn = fn_len(m, mn);
        int c = memcmp(l, m, ln < mn ? ln : mn);
        if (c != 0)
            return c;
        if (ln != mn)
            return ln < mn ? -1 : 1;
    }
}

/* Go's order: the largest group first; equal counts by their text. */
static int stk_cmp_count(const void *a, const void *b)
{
    const struct stk *x = a, *y = b;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    return stk_cmp_text(a, b);
}

/* The next line of [*p, end), without its newline; advances *p. */
static bool next_line(const char **p, const char *end, const char **line,
                      size_t *n)
{
    if (*p >= end)
        return false;
    const char *nl = memchr(*p, '\n', (size_t)(end - *p));
    const char *e = nl != NULL ? nl : end;
    *line = *p;
    *n = (size_t)(e - *p);
    *p = nl != NULL ? nl + 1 : end;
    return true;
}

/* A frame's second line, "\t<file:line or module> +0x<offset>": split
 * into where and the offset's digits (none when there is no offset). */
static void split_where(const char *l, size_t n, const char **where,
                        size_t *wn, const char **off, size_t *on)
{
    l++; /* the tab */
    n--;
    *where = l;
    *wn = n;
    *off = NULL;
    *on = 0;
    for (size_t i = n; i >= 4; i--) {
        if (memcmp(l + i - 4, " +0x", 4) == 0) {
            *wn = i - 4;
            *off = l + i;
            *on = n - i;
            return;
        }
    }
}

/* The frames of a stack as the lines of Go's debug=1 records: the
 * addresses (into b's "@" line) or the "#" lines (all = true). */
static void print_stk(struct buf *b, const struct stk *s, bool lines)
{
    const char *p = s->p, *end = s->p + s->n, *l;
    size_t n;
    const char *fn = NULL;
    size_t fnn = 0;
    while (next_line(&p, end, &l, &n)) {
        if (n > 0 && l[0] != '\t') {
            fn = l;
            fnn = fn_len(l, n); /* "f(...)", "goc_chan_recv(0x..: ...)" */
            continue;
        }
        if (n == 0)
            continue;
        const char *where, *off;
        size_t wn, on;
        split_where(l, n, &where, &wn, &off, &on);
        if (!lines) {
            if (off != NULL)
                buf_printf(b, " 0x%.*s", (int)on, off);
        } else if (fn != NULL) {
            buf_printf(b, "#\t0x%.*s\t%.*s\t%.*s\n", (int)on, off ? off : "0",
                       (int)fnn, fn, (int)wn, where);
        } else {
            /* A line without a function: "goroutine running on other
             * thread; stack unavailable". */
            buf_printf(b, "#\t%.*s\n", (int)wn, where);
        }
        fn = NULL;
    }
}

/* Go's goroutine profile at debug=1: "goroutine profile: total N", then
 * one record per distinct stack, the largest group first. */
static void goroutines_grouped(struct buf *b, const char *text, size_t len)
{
    size_t cap = 64, n = 0;
    struct stk *v = malloc(cap * sizeof *v);
    if (v == NULL) {
        b->oom = true;
        return;
    }
    const char *p = text, *end = text + len;
    while (p < end) {
        /* A block: the header, frames, "created by" and its line. */
        const char *bend = strstr(p, "\n\n");
        if (bend == NULL)
            bend = end;
        const char *l;
        size_t ln;
        const char *q = p;
        if (next_line(&q, bend, &l, &ln) && ln > 10 &&
            memcmp(l, "goroutine ", 10) == 0) {
            const char *fs = q;
            const char *fe = bend;
            const char *r = q;
            while (next_line(&r, bend, &l, &ln)) {
                if (ln >= 11 && memcmp(l, "created by ", 11) == 0) {
                    fe = l;
                    break;
                }
            }
            if (n == cap) {
                struct stk *nv = realloc(v, 2 * cap * sizeof *v);
                if (nv == NULL) {
                    free(v);
                    b->oom = true;
                    return;
                }
                v = nv;
                cap *= 2;
            }
            v[n++] = (struct stk){fs, (size_t)(fe - fs), 1};
        }
        p = bend < end ? bend + 2 : end;
    }
    /* Group equal stacks, then order the groups. */
    qsort(v, n, sizeof *v, stk_cmp_text);
    size_t groups = 0;
    for (size_t i = 0; i < n; i++) {
        if (groups > 0 && stk_cmp_text(&v[groups - 1], &v[i]) == 0)
            v[groups - 1].count++;
        else
            v[groups++] = v[i];
    }
    qsort(v, groups, sizeof *v, stk_cmp_count);
    buf_printf(b, "goroutine profile: total %zu\n", n);
    for (size_t i = 0; i < groups; i++) {
        buf_printf(b, "%d @", v[i].count);
        print_stk(b, &v[i], false);
        buf_puts(b, "\n");
        print_stk(b, &v[i], true);
        buf_puts(b, "\n");
    }
    free(v);
}

/* ---- /debug/vars ---- */

struct vars_census {
    int running, runnable, waiting;
    int nreasons;
    struct reason {
        const char *name;
        int count;
    } reasons[64];
};

/* As checkdead's count (proc.c): the status (acquire) first, then the
 * fields it publishes.  A snapshot: a goroutine may move on meanwhile,
 * and then shows the reason of its park at the time of the read or of
 * the next one. */
static void vars_census_one(goc__g *g, void *arg)
{
    struct vars_census *c = arg;
    uint32_t s = atomic_load_explicit(&g->status, memory_order_acquire);
    if (s != GOC__GRUNNABLE && s != GOC__GRUNNING && s != GOC__GWAITING)
        return;
    if (g->system)
        return;
    if (s == GOC__GRUNNING) {
        c->running++;
        return;
    }
    if (s == GOC__GRUNNABLE) {
        c->runnable++;
        return;
    }
    c->waiting++;
    /* A string literal (every park's), read once. */
    const char *why = __atomic_load_n(&g->waitreason, __ATOMIC_RELAXED);
    if (why == NULL)
        why = "waiting";
    for (int i = 0; i < c->nreasons; i++)
        if (c->reasons[i].name == why ||
            strcmp(c->reasons[i].name, why) == 0) {
            c->reasons[i].count++;
            return;
        }
    if (c->nreasons < (int)(sizeof c->reasons / sizeof c->reasons[0]))
        c->reasons[c->nreasons++] = (struct reason){why, 1};
}

static int reason_cmp(const void *a, const void *b)
{
    return strcmp(((const struct reason *)a)->name,
                  ((const struct reason *)b)->name);
}

/* The process's arguments, as expvar's "cmdline" (os.Args): a JSON
 * array, from /proc/self/cmdline. */
static void vars_cmdline(struct buf *b)
{
    char args[16384];
    ssize_t n = 0;
    goc_blocking_begin();
    int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t r;
        while (n < (ssize_t)sizeof args &&
               ((r = read(fd, args + n, sizeof args - (size_t)n)) > 0 ||
                (r < 0 && errno == EINTR)))
            if (r > 0)
                n += r;
        close(fd);
    }
    goc_blocking_end();
    buf_puts(b, "[");
    for (ssize_t i = 0; i < n;) {
        size_t l = strnlen(args + i, (size_t)(n - i));
        if (i > 0)
            buf_puts(b, ", ");
        buf_json_str(b, args + i, l);
        i += (ssize_t)l + 1;
    }
    buf_puts(b, "]");
}

/* A P's goid batch, read while its owner M may take the next one: a
 * hint, hidden from TSan (as debug.c's g_m_hint). */
__attribute__((no_sanitize("thread"))) static int64_t
unused_ids(const goc__p *p)
{
    int64_t next = *(const volatile int64_t *)&p->goidnext;
    int64_t end = *(const volatile int64_t *)&p->goidend;
    return end > next ? end - next : 0;
}

/* Goroutines created in this run (goc's own included): the ids handed
 * out, less those the Ps hold in their batches but have not used.  The
 * batches are read first: one taken meanwhile counts as spawned, so the
 * figure may run ahead by a batch (GOC__GOID_BATCH) per P at most. */
static int64_t spawned(void)
{
    int64_t unused = 0;
    int32_t np = atomic_load_explicit(&goc__sched.nallp,
                                      memory_order_acquire);
    for (int32_t i = 0; i < np; i++)
        unused += unused_ids(atomic_load_explicit(&goc__sched.allp[i],
                                                  memory_order_acquire));
    int64_t n = atomic_load_explicit(&goc__sched.goidgen,
                                     memory_order_acquire) - unused;
    return n > 0 ? n : 0;
}

static void vars(struct buf *b)
{
    struct vars_census c;
    memset(&c, 0, sizeof c);
    goc__g_each(vars_census_one, &c);
    qsort(c.reasons, (size_t)c.nreasons, sizeof c.reasons[0], reason_cmp);
    /* gomaxprocs as goc_maxprocs tells it: without the Ps that sysmon
     * lent for goroutines stuck in undeclared blocking calls (run.c). */
    goc__lock(&goc__sched.lock);
    int32_t mcount = goc__sched.mcount, nmidle = goc__sched.nmidle;
    int32_t lent = goc__sched.lentprocs;
    int32_t procs = goc__gomaxprocs() - lent;
    goc__unlock(&goc__sched.lock);
    goc__stack_stats st;
    goc__stack_stats_read(&st);

    buf_puts(b, "{\n\"cmdline\": ");
    vars_cmdline(b);
    buf_printf(b, ",\n\"goc_version\": \"%s\"", goc_version_string());
    buf_printf(b, ",\n\"goroutines\": %d", goc_num_goroutine());
    buf_printf(b, ",\n\"goroutines_by_state\": {\"running\": %d, "
                  "\"runnable\": %d, \"waiting\": %d}",
               c.running, c.runnable, c.waiting);
    buf_puts(b, ",\n\"goroutines_waiting\": {");
    for (int i = 0; i < c.nreasons; i++) {
        buf_puts(b, i > 0 ? ", " : "");
        buf_json_str(b, c.reasons[i].name, strlen(c.reasons[i].name));
        buf_printf(b, ": %d", c.reasons[i].count);
    }
    buf_puts(b, "}");
    buf_printf(b, ",\n\"goroutines_spawned\": %lld",
               (long long)spawned());
    buf_printf(b, ",\n\"gomaxprocs\": %d", (int)procs);
    buf_printf(b, ",\n\"procs_lent\": %d", (int)lent);
    buf_printf(b, ",\n\"threads\": %d", (int)mcount);
    buf_printf(b, ",\n\"threads_idle\": %d", (int)nmidle);
    buf_printf(b, ",\n\"netpoll_waiters\": %d",
               (int)goc__netpoll_waiters());
    buf_printf(b, ",\n\"stack_bytes_mapped\": %llu",
               (unsigned long long)st.mapped);
    buf_printf(b, ",\n\"stack_bytes_carved\": %llu",
               (unsigned long long)st.carved);
    buf_printf(b, ",\n\"stack_bytes_committed\": %llu",
               (unsigned long long)st.resident);
    goc_compact_stats cs;
    goc_compact_stats_read(&cs);
    static const char *const cstate[] = {"off", "on", "unavailable"};
    buf_printf(b, ",\n\"stack_compaction\": {\"state\": \"%s\", "
                  "\"compacted\": %lld, \"copy_bytes\": %lld, "
                  "\"compactions\": %llu, \"restores\": %llu}",
               cstate[cs.state], (long long)cs.compacted,
               (long long)cs.copy_bytes, (unsigned long long)cs.compactions,
               (unsigned long long)cs.restores);
    buf_printf(b, ",\n\"stack_bytes_free\": %llu",
               (unsigned long long)st.free);
    buf_printf(b, ",\n\"stack_bytes_released\": %llu",
               (unsigned long long)st.released);
    buf_puts(b, "\n}\n");
}

/* ---- the index page ---- */

static void index_page(struct buf *b)
{
    buf_printf(b,
               "<!DOCTYPE html>\n"
               "<html lang=\"en\">\n"
               "<head>\n"
               "<meta charset=\"utf-8\">\n"
               "<title>goc debug</title>\n"
               "</head>\n"
               "<body>\n"
               "<h1>goc debug</h1>\n"
               "<p>goc %s: %d goroutines.</p>\n"
               "<ul>\n"
               "<li><a href=\"/debug/goroutines?debug=1\">goroutines</a>: "
               "grouped by stack, the largest group first</li>\n"
               "<li><a href=\"/debug/goroutines?debug=2\">full goroutine "
               "dump</a>: every goroutine, as goc_dump prints it</li>\n"
               "<li><a href=\"/debug/vars\">vars</a>: runtime counters "
               "(JSON)</li>\n"
               "</ul>\n"
               "</body>\n"
               "</html>\n",
               goc_version_string(), goc_num_goroutine());
}

/* ---- HTTP ---- */

static const char *status_text(int code)
{
    switch (code) {
    case 200: return "OK";
    case 301: return "Moved Permanently";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    default: return "Error";
    }
}

struct resp {
    int code;
    const char *type;   /* Content-Type */
    const char *extra;  /* more header lines, each ending in CRLF, or "" */
    struct buf body;
};

/* A plain-text error response. */
static void resp_error(struct resp *r, int code, const char *extra)
{
    r->code = code;
    r->type = "text/plain; charset=utf-8";
    r->extra = extra;
    r->body.len = 0;
    r->body.oom = false;
    buf_printf(&r->body, "%d %s\n", code, status_text(code));
}

static bool write_response(int fd, struct resp *r, bool head, goc_ctx *ctx)
{
    if (r->body.oom) {
        free(r->body.p);
        r->body = (struct buf){0};
        resp_error(r, 500, "");
    }
    char h[512];
    int n = snprintf(h, sizeof h,
                     "HTTP/1.1 %d %s\r\n"
                     "Content-Type: %s\r\n"
                     "Content-Length: %zu\r\n"
                     "%s"
                     "Cache-Control: no-store\r\n"
                     "X-Content-Type-Options: nosniff\r\n"
                     "Connection: close\r\n"
                     "\r\n",
                     r->code, status_text(r->code), r->type, r->body.len,
                     r->extra);
    if (n < 0 || (size_t)n >= sizeof h)
        return false;
    if (goc_write(fd, h, (size_t)n, ctx) < 0)
        return false;
    if (!head && r->body.len > 0 &&
        goc_write(fd, r->body.p, r->body.len, ctx) < 0)
        return false;
    return true;
}

/* The value of query parameter `name` in q (without '?'), or NULL;
 * *n is its length. */
static const char *query_param(const char *q, size_t qn, const char *name,
                               size_t *n)
{
    size_t nn = strlen(name);
    const char *p = q, *end = q + qn;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *e = amp != NULL ? amp : end;
        if ((size_t)(e - p) > nn && memcmp(p, name, nn) == 0 &&
            p[nn] == '=') {
            *n = (size_t)(e - p - (ptrdiff_t)nn - 1);
            return p + nn + 1;
        }
        if ((size_t)(e - p) == nn && memcmp(p, name, nn) == 0) {
            *n = 0;
            return p + nn;
        }
        p = amp != NULL ? amp + 1 : end;
    }
    return NULL;
}

static bool is(const char *s, size_t n, const char *lit)
{
    return strlen(lit) == n && memcmp(s, lit, n) == 0;
}

/* Route a request and fill r.  method and target are the request line's. */
static void route(struct resp *r, const char *method, size_t mn,
                  const char *target, size_t tn)
{
    const char *q = memchr(target, '?', tn);
    size_t pn = q != NULL ? (size_t)(q - target) : tn;
    size_t qn = q != NULL ? tn - pn - 1 : 0;
    q = q != NULL ? q + 1 : "";
    enum { INDEX, GOROUTINES, VARS, REDIRECT } what;
    if (is(target, pn, "/debug/") || is(target, pn, "/debug/pprof/"))
        what = INDEX;
    else if (is(target, pn, "/debug/goroutines") ||
             is(target, pn, "/debug/pprof/goroutine"))
        what = GOROUTINES;
    else if (is(target, pn, "/debug/vars"))
        what = VARS;
    else if (is(target, pn, "/debug") || is(target, pn, "/debug/pprof"))
        what = REDIRECT;
    else {
        resp_error(r, 404, "");
        return;
    }
    if (!is(method, mn, "GET") && !is(method, mn, "HEAD")) {
        resp_error(r, 405, "Allow: GET, HEAD\r\n");
        return;
    }
    r->code = 200;
    r->extra = "";
    switch (what) {
    case INDEX:
        r->type = "text/html; charset=utf-8";
        index_page(&r->body);
        return;
    case REDIRECT:
        resp_error(r, 301, pn == 6 ? "Location: /debug/\r\n"
                                   : "Location: /debug/pprof/\r\n");
        return;
    case VARS:
        r->type = "application/json; charset=utf-8";
        vars(&r->body);
        return;
    case GOROUTINES:
        break;
    }
    /* debug: 2 the dump; 1 (also 0 and none: goc has no encoder of
     * pprof's protocol buffers) the grouped text. */
    size_t dn = 0;
    const char *d = query_param(q, qn, "debug", &dn);
    int debug = 1;
    if (d != NULL) {
        if (is(d, dn, "0") || is(d, dn, "1"))
            debug = 1;
        else if (is(d, dn, "2"))
            debug = 2;
        else {
            resp_error(r, 400, "");
            buf_puts(&r->body, "debug must be 0, 1 or 2\n");
            return;
        }
    }
    r->type = "text/plain; charset=utf-8";
    size_t len;
    bool truncated;
    char *text = served_dump_text(&len, &truncated);
    if (text == NULL) {
        r->body.oom = true;
        return;
    }
    if (debug == 2) {
        buf_put(&r->body, text, len);
    } else {
        goroutines_grouped(&r->body, text, len);
    }
    if (truncated)
        buf_puts(&r->body, "\n... (truncated)\n");
    free(text);
}

/* Is host[0..n) ("name[:port]", "[v6]:port") an address, or localhost?
 * A page a browser loaded from elsewhere can reach a loopback server
 * through a name it controls that resolves to 127.0.0.1 (DNS
 * rebinding); its requests carry that name in Host, and are refused. */
static bool host_allowed(const char *host, size_t n)
{
    char h[64];
    if (n == 0 || n >= sizeof h)
        return false;
    memcpy(h, host, n);
    h[n] = '\0';
    char *name = h, *port = NULL;
    if (h[0] == '[') {
        char *close = strchr(h, ']');
        if (close == NULL)
            return false;
        *close = '\0';
        name = h + 1;
        if (close[1] == ':')
            port = close + 2;
        else if (close[1] != '\0')
            return false;
        struct in6_addr a6;
        if (inet_pton(AF_INET6, name, &a6) != 1)
            return false;
    } else {
        char *colon = strrchr(h, ':');
        if (colon != NULL) {
            *colon = '\0';
            port = colon + 1;
        }
        struct in_addr a4;
        if (strcasecmp(name, "localhost") != 0 &&
            inet_pton(AF_INET, name, &a4) != 1)
            return false;
    }
    if (port != NULL) {
        if (*port == '\0' || strlen(port) > 5)
            return false;
        for (const char *p = port; *p != '\0'; p++)
            if (*p < '0' || *p > '9')
                return false;
    }
    return true;
}

/* The request head's Host header, if any, is one host_allowed takes.
 * head[0..n) is the whole head; its first line is the request line. */
static bool head_host_ok(const char *head, size_t n)
{
    const char *l = memchr(head, '\n', n);
    while (l != NULL && (size_t)(l + 1 - head) < n) {
        l++;
        const char *e = memchr(l, '\n', n - (size_t)(l - head));
        if (e == NULL)
            break;
        size_t ln = (size_t)(e - l);
        if (ln > 0 && l[ln - 1] == '\r')
            ln--;
        if (ln > 5 && strncasecmp(l, "host:", 5) == 0) {
            const char *v = l + 5, *ve = l + ln;
            while (v < ve && (*v == ' ' || *v == '\t'))
                v++;
            while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
                ve--;
            return host_allowed(v, (size_t)(ve - v));
        }
        l = e;
    }
    return true; /* HTTP/1.0 without Host */
}

/* Read the request head into h (HEAD_MAX bytes).  Returns: its length
 * up to the blank line, 0 if the client went away or the deadline
 * passed, -1 if it did not fit (431). */
static ssize_t read_head(int fd, char *h, goc_ctx *ctx)
{
    size_t n = 0;
    while (n < HEAD_MAX) {
        ssize_t r = goc_read(fd, h + n, HEAD_MAX - n, ctx);
        if (r <= 0)
            return 0;
        size_t from = n >= 3 ? n - 3 : 0;
        n += (size_t)r;
        for (size_t i = from; i + 1 < n; i++) {
            if (h[i] == '\n' && h[i + 1] == '\n')
                return (ssize_t)(i + 2);
            if (i + 3 < n && memcmp(h + i, "\r\n\r\n", 4) == 0)
                return (ssize_t)(i + 4);
        }
    }
    return -1;
}

/* After a response: no more writing, and read what the client still
 * sends until it closes (bounded), so that unread bytes do not turn the
 * close into a reset that could destroy the response in flight. */
static void drain(int fd, goc_ctx *ctx)
{
    if (goc_close_write(fd) != 0)
        return;
    goc_ctx *linger = goc_ctx_with_timeout(ctx, DRAIN_NS);
    if (linger == NULL)
        return;
    char tmp[4096];
    size_t total = 0;
    ssize_t r;
    while (total < DRAIN_MAX && (r = goc_read(fd, tmp, sizeof tmp, linger)) > 0)
        total += (size_t)r;
    goc_ctx_cancel(linger);
    goc_ctx_release(linger);
}

static void serve_conn(int fd, goc_ctx *ctx)
{
    char h[HEAD_MAX];
    struct resp r = {.code = 0, .extra = ""};
    bool head = false;
    ssize_t n = read_head(fd, h, ctx);
    if (n == 0) {
        return;
    }
    if (n < 0) {
        resp_error(&r, 431, "");
    } else {
        /* The request line: METHOD SP target SP HTTP/1.x */
        const char *end = memchr(h, '\n', (size_t)n);
        size_t ln = (size_t)(end - h);
        if (ln > 0 && h[ln - 1] == '\r')
            ln--;
        const char *sp1 = memchr(h, ' ', ln);
        const char *sp2 = sp1 != NULL
                              ? memchr(sp1 + 1, ' ', (size_t)(h + ln - sp1 - 1))
                              : NULL;
        if (sp1 == NULL || sp2 == NULL || sp1 == h || sp2 == sp1 + 1 ||
            sp1[1] != '/' || (size_t)(h + ln - sp2 - 1) != 8 ||
            memcmp(sp2 + 1, "HTTP/1.", 7) != 0 ||
            memchr(sp2 + 1, ' ', 8) != NULL) {
            resp_error(&r, 400, "");
        } else if (!head_host_ok(h, (size_t)n)) {
            resp_error(&r, 403, "");
        } else {
            size_t mn = (size_t)(sp1 - h);
            head = is(h, mn, "HEAD");
            route(&r, h, mn, sp1 + 1, (size_t)(sp2 - sp1 - 1));
        }
    }
    bool sent = write_response(fd, &r, head, ctx);
    free(r.body.p);
    if (sent)
        drain(fd, ctx);
}

struct conn {
    struct server *s;
    int fd;
};

/* A system goroutine: hidden from dumps and goc_num_goroutine (see the
 * top).  Queued as goc_go queues a goroutine.  Returns: 0, GOC_EPERM (no
 * run, or it is ending), GOC_ENOMEM. */
static int spawn_system(void (*fn)(void *), void *arg, uintptr_t pc)
{
    if (!atomic_load_explicit(&goc__sched.running, memory_order_acquire) ||
        atomic_load_explicit(&goc__sched.exiting, memory_order_acquire))
        return GOC_EPERM;
    goc__m *m = goc__getm();
    goc__g *g;
    int rc = goc__newproc_m(m, goc__stack_slot_default, "debug_serve", fn,
                            arg, pc, true, &g);
    if (rc != 0)
        return rc;
    goc__runq_put_wake(m, g);
    return 0;
}

static void conn_main(void *arg)
{
    /* Nothing this goroutine allocates outlives a wait (but the ctx,
     * which its parent holds): a run that ends abandons it, leaking
     * nothing. */
    struct conn c = *(struct conn *)arg;
    free(arg);
    struct server *s = c.s;
    goc_ctx *ctx = goc_ctx_with_timeout(s->ctx, s->timeout);
    if (ctx != NULL) {
        serve_conn(c.fd, ctx);
        goc_ctx_cancel(ctx);
        goc_ctx_release(ctx);
    }
    (void)goc_close(c.fd);
    goc_sem_release(&s->conns, 1);
    atomic_fetch_sub_explicit(&nlive, 1, memory_order_release);
    goc_wg_done(&s->wg); /* the last touch: s may be freed after it */
}

static void accept_main(void *arg)
{
    struct server *s = arg;
    for (;;) {
        if (goc_sem_acquire(&s->conns, 1, s->ctx) != 0)
            break;
        int fd = goc_accept(s->lfd, s->ctx);
        if (fd < 0) {
            goc_sem_release(&s->conns, 1);
            /* The peer gave up before the accept, or the kernel lacks
             * memory for a moment: the next one may do. */
            if (fd == -ECONNABORTED || fd == -EPROTO || fd == -ENOBUFS ||
                fd == -ENOMEM || fd == -EINTR || fd == -EPERM)
                continue;
            break; /* closed, canceled, or the listener broke */
        }
        struct conn *c = malloc(sizeof *c);
        if (c == NULL) {
            (void)goc_close(fd);
            goc_sem_release(&s->conns, 1);
            continue;
        }
        c->s = s;
        c->fd = fd;
        goc_wg_add(&s->wg, 1);
        atomic_fetch_add_explicit(&nlive, 1, memory_order_relaxed);
        if (spawn_system(conn_main, c, (uintptr_t)__builtin_return_address(0)) !=
            0) {
            atomic_fetch_sub_explicit(&nlive, 1, memory_order_relaxed);
            (void)goc_close(fd);
            free(c);
            goc_sem_release(&s->conns, 1);
            goc_wg_done(&s->wg);
        }
    }
    (void)goc_close(s->lfd);
    atomic_fetch_sub_explicit(&nlive, 1, memory_order_release);
    goc_wg_done(&s->wg);
}

static void server_free(struct server *s)
{
    goc_ctx_release(s->ctx);
    free(s);
}

int goc_debug_serve(const char *addr)
{
    if (addr == NULL)
        return GOC_EINVAL;
    if (!atomic_load_explicit(&goc__sched.running, memory_order_acquire) ||
        atomic_load_explicit(&goc__sched.exiting, memory_order_acquire))
        return GOC_EPERM;
    struct server *s = calloc(1, sizeof *s);
    if (s == NULL)
        return GOC_ENOMEM;
    s->ctx = goc_ctx_with_cancel(NULL);
    if (s->ctx == NULL) {
        free(s);
        return GOC_ENOMEM;
    }
    s->timeout = goc__debug_serve_timeout;
    s->epoch = atomic_load_explicit(&goc__sched_epoch, memory_order_acquire);
    goc_sem_init(&s->conns, MAX_CONNS);
    int lfd = goc_tcp_listen(addr, 0);
    if (lfd < 0) {
        server_free(s);
        return lfd;
    }
    s->lfd = lfd;
    goc_wg_add(&s->wg, 1);
    atomic_fetch_add_explicit(&nlive, 1, memory_order_relaxed);
    int rc = spawn_system(accept_main, s,
                          (uintptr_t)__builtin_return_address(0));
    if (rc != 0) {
        atomic_fetch_sub_explicit(&nlive, 1, memory_order_relaxed);
        goc_wg_done(&s->wg);
        (void)goc_close(lfd);
        server_free(s);
        return rc;
    }
    pthread_mutex_lock(&reglock);
    s->next = servers;
    servers = s;
    pthread_mutex_unlock(&reglock);
    return lfd;
}

int goc_debug_serve_stop(int fd)
{
    uint64_t epoch = atomic_load_explicit(&goc__sched_epoch,
                                          memory_order_acquire);
    bool running = atomic_load_explicit(&goc__sched.running,
                                        memory_order_acquire);
    struct server *s = NULL;
    pthread_mutex_lock(&reglock);
    for (struct server **pp = &servers; running && *pp != NULL;
         pp = &(*pp)->next) {
        if ((*pp)->lfd == fd && (*pp)->epoch == epoch) {
            s = *pp;
            *pp = s->next;
            break;
        }
    }
    pthread_mutex_unlock(&reglock);
    if (s == NULL)
        return GOC_EINVAL;
    goc_ctx_cancel(s->ctx);
    goc_wg_wait(&s->wg);
    server_free(s);
    return 0;
}
