/* SPDX-License-Identifier: MIT */
/*
 * crawler.c - the tour: a concurrent web crawler with a limit on the
 * requests in flight, over a site served by this same program.  The site
 * (goc_http_server) has 50 pages that link to each other in cycles, and
 * one broken link.  The crawler is "The Go Programming Language"'s
 * crawl2 (section 8.6): a goroutine per link found, a counting semaphore
 * (goc_sem, x/sync/semaphore's Weighted) that lets at most 3 of them
 * fetch at once, and a worklist channel whose only reader, main, owns
 * the set of URLs seen, so no lock guards it.  The Go it mirrors:
 *
 *     sem := semaphore.NewWeighted(3)
 *     worklist := make(chan []string)
 *     crawl := func(url string) {
 *         sem.Acquire(ctx, 1)
 *         links := fetchLinks(url)
 *         sem.Release(1)
 *         worklist <- links
 *     }
 *     seen := map[string]bool{start: true}
 *     n := 1
 *     go crawl(start)
 *     for ; n > 0; n-- {
 *         for _, link := range <-worklist {
 *             if !seen[link] {
 *                 seen[link] = true
 *                 n++
 *                 go crawl(link)
 *             }
 *         }
 *     }
 */
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <goc.h>
#include <goc/http.h>

#include "must.h"

#define MS GOC_MILLISECOND
#define PAGES 50
#define LATENCY (10 * MS) /* each page takes this long to serve */
#define LIMIT 3           /* requests in flight at most */
#define MAX_LINKS 8
#define PATH_LEN 24
#define MAX_SEEN 128

/* ------------------------------------------------------------------------
 * The site: /page/0 .. /page/49, each linking to three others (cycles
 * everywhere), and page 17 to a page that does not exist.
 * ------------------------------------------------------------------------ */

static atomic_int hits[PAGES];       /* requests per page */
static atomic_int site_in_flight;    /* handlers working now */
static atomic_int site_max_in_flight;

static void note_max(atomic_int *max, int now)
{
    int m = atomic_load(max);
    while (now > m && !atomic_compare_exchange_weak(max, &m, now))
        ;
}

/* The page number in "/page/N", or -1. */
static int page_number(goc_http_str path)
{
    static const char prefix[] = "/page/";
    size_t np = sizeof prefix - 1;
    if (path.n <= np || path.n > np + 3 || memcmp(path.p, prefix, np) != 0)
        return -1;
    int n = 0;
    for (size_t i = np; i < path.n; i++) {
        if (path.p[i] < '0' || path.p[i] > '9')
            return -1;
        n = n * 10 + (path.p[i] - '0');
    }
    return n;
}

static void site(goc_http_rw *w, goc_http_request *r, void *arg)
{
    (void)arg;
    int page = page_number(r->path);
    if (page < 0 || page >= PAGES) {
        (void)goc_http_reply(w, 404, "text/plain", "not found\n", 10);
        return;
    }
    note_max(&site_max_in_flight, atomic_fetch_add(&site_in_flight, 1) + 1);
    atomic_fetch_add(&hits[page], 1);
    goc_sleep(LATENCY);
    /* Done working before the answer goes out: the next request cannot
     * start before the crawler has this one. */
    atomic_fetch_sub(&site_in_flight, 1);
    const int links[] = {(page + 1) % PAGES, (page * 7 + 3) % PAGES,
                         (page * 11 + 17) % PAGES};
    MUST(goc_http_header_set(w, "Content-Type", "text/html"));
    (void)goc_http_printf(w, "<html><title>page %d</title><body>\n", page);
    for (size_t i = 0; i < sizeof links / sizeof links[0]; i++)
        (void)goc_http_printf(w, "<a href=\"/page/%d\">page %d</a>\n",
                              links[i], links[i]);
    if (page == 17)
        (void)goc_http_printf(w, "<a href=\"/page/99\">gone</a>\n");
    (void)goc_http_printf(w, "</body></html>\n");
}

/* ------------------------------------------------------------------------
 * The crawler.
 * ------------------------------------------------------------------------ */

static goc_http_client *client;
static char base[GOC_ADDR_MAX + 16]; /* "http://127.0.0.1:port" */
static goc_sem tokens;               /* LIMIT fetches at once */
static atomic_int crawl_in_flight;
static atomic_int crawl_max_in_flight;

/* What a crawl sends main: the page's links, or why there are none. */
struct result {
    const char *path;
    int status; /* the HTTP status, or a negative error */
    int nlinks;
    char links[MAX_LINKS][PATH_LEN];
};

static goc_chan *worklist; /* chan struct result */

/* The href="..." values in the NUL-terminated html, into r->links. */
static void extract_links(const char *html, struct result *r)
{
    static const char href[] = "href=\"";
    const char *p = html;
    while (r->nlinks < MAX_LINKS && (p = strstr(p, href)) != NULL) {
        p += sizeof href - 1;
        const char *q = strchr(p, '"');
        if (q == NULL)
            break;
        snprintf(r->links[r->nlinks++], PATH_LEN, "%.*s", (int)(q - p), p);
        p = q;
    }
}

/* GET base + path; its links into r. */
static void fetch_links(const char *path, struct result *r)
{
    char url[sizeof base + PATH_LEN];
    snprintf(url, sizeof url, "%s%s", base, path);
    goc_http_response resp;
    int rc = goc_http_get(client, url, NULL, &resp);
    if (rc != 0) {
        r->status = rc;
        return;
    }
    char html[1024];
    ssize_t n = goc_http_response_read_all(&resp, html, sizeof html - 1);
    r->status = n < 0 ? (int)n : resp.status;
    if (n > 0 && resp.status == 200) {
        html[n] = '\0';
        extract_links(html, r);
    }
    goc_http_response_close(&resp);
}

static void crawl(void *arg)
{
    struct result r = {.path = arg};
    MUST(goc_sem_acquire(&tokens, 1, NULL));
    note_max(&crawl_max_in_flight, atomic_fetch_add(&crawl_in_flight, 1) + 1);
    fetch_links(r.path, &r);
    atomic_fetch_sub(&crawl_in_flight, 1);
    goc_sem_release(&tokens, 1);
    MUST(goc_chan_send(worklist, &r));
}

/* main's set of paths seen: only main touches it. */
static char seen[MAX_SEEN][PATH_LEN];
static int nseen;

/* Add path to the set.  Returns: its entry if it is new, else NULL. */
static const char *see(const char *path)
{
    for (int i = 0; i < nseen; i++)
        if (strcmp(seen[i], path) == 0)
            return NULL;
    if (nseen == MAX_SEEN)
        MUST(GOC_ENOMEM);
    snprintf(seen[nseen], PATH_LEN, "%s", path);
    return seen[nseen++];
}

/* ------------------------------------------------------------------------
 * The tour.
 * ------------------------------------------------------------------------ */

struct serving {
    goc_http_server *srv;
    int fd;
};

static void serve(void *arg)
{
    struct serving *s = arg;
    MUST_BE(goc_http_serve(s->srv, s->fd), GOC_ECLOSED);
}

static void tour(void *arg)
{
    bool *ok = arg;
    int err = 0;
    goc_http_server_opts o = {.handler = site};
    static struct serving sv;
    sv.srv = goc_http_server_new(&o, &err);
    if (sv.srv == NULL)
        MUST(err);
    sv.fd = MUST_OK(goc_tcp_listen("127.0.0.1:0", 0));
    char addr[GOC_ADDR_MAX];
    MUST_OK(goc_local_addr(sv.fd, addr, sizeof addr));
    snprintf(base, sizeof base, "http://%s", addr);
    goc_wg server = GOC_WG_INIT;
    MUST(goc_wg_go(&server, serve, &sv));
    goc_http_client_opts co = {.max_idle_per_host = LIMIT};
    client = goc_http_client_new(&co);
    worklist = goc_chan_make(sizeof(struct result), 0);
    if (client == NULL || worklist == NULL)
        MUST(GOC_ENOMEM);
    goc_sem_init(&tokens, LIMIT);
    printf("a site of %d pages at %s, %lld ms per page;\ncrawling from "
           "/page/0 with at most %d requests in flight\n",
           PAGES, base, (long long)(LATENCY / MS), LIMIT);

    int64_t t0 = goc_now();
    MUST(goc_go(crawl, (void *)see("/page/0")));
    int pending = 1, pages = 0, broken = 0, col = 0;
    printf("pages in the order they came back:\n  ");
    for (; pending > 0; pending--) {
        struct result r;
        MUST(goc_chan_recv(worklist, &r));
        if (r.status != 200) {
            printf("%s%s is broken (%d)\n  ", col > 0 ? "\n  " : "", r.path,
                   r.status);
            broken++;
            col = 0;
            continue;
        }
        pages++;
        printf("%s%s", col > 0 ? " " : "", r.path + strlen("/page/"));
        if (++col == 20) {
            printf("\n  ");
            col = 0;
        }
        for (int i = 0; i < r.nlinks; i++) {
            const char *path = see(r.links[i]);
            if (path != NULL) {
                pending++;
                MUST(goc_go(crawl, (void *)path));
            }
        }
    }
    int64_t took = (goc_now() - t0) / MS;
    printf("\n");

    goc_http_client_free(client);
    goc_ctx *stop = goc_ctx_with_timeout(NULL, 2 * GOC_SECOND);
    MUST(goc_http_shutdown(sv.srv, stop));
    goc_wg_wait(&server);
    goc_http_server_free(sv.srv);
    goc_ctx_release(stop);
    goc_chan_release(worklist);

    bool once = true;
    for (int i = 0; i < PAGES; i++)
        once = once && atomic_load(&hits[i]) == 1;
    int cmax = atomic_load(&crawl_max_in_flight);
    int smax = atomic_load(&site_max_in_flight);
    printf("%d pages found and %d broken link, each page fetched %s\n",
           pages, broken, once ? "once" : "MORE THAN ONCE");
    printf("most requests in flight: %d seen by the crawler, %d by the "
           "site (limit %d)\n",
           cmax, smax, LIMIT);
    printf("took %lld ms; one at a time it would take %lld ms or more\n",
           (long long)took, (long long)(PAGES * LATENCY / MS));
    *ok = pages == PAGES && broken == 1 && once && cmax <= LIMIT &&
          smax <= LIMIT;
    printf("\nsummary: %s\n", *ok ? "ok" : "FAILED");
}

int main(void)
{
    bool ok = false;
    if (goc_run(tour, &ok) != 0)
        return 1;
    return ok ? 0 : 1;
}
