/* SPDX-License-Identifier: MIT */
/*
 * select_timeout.c - the tour: a timeout with select.  Go writes
 *     select { case v := <-c: ...; case <-time.After(d): ... }
 * goc has both: a goc_after channel as one more case, and
 * goc_select_until(cases, n, deadline), which allocates nothing.
 */
#include <stdio.h>

#include <goc.h>

#include "must.h"

#define MS GOC_MILLISECOND

struct slow {
    goc_chan *c;
    int64_t delay;
};

/* Answers after a delay; the channel has room for the answer, so the
 * sender finishes even if nobody waits for it any more. */
static void answer_later(void *arg)
{
    struct slow *s = arg;
    goc_sleep(s->delay);
    int v = 42;
    MUST(goc_chan_send(s->c, &v));
    goc_chan_release(s->c);
}

static goc_chan *ask(int64_t delay, struct slow *s)
{
    goc_chan *c = goc_chan_make(sizeof(int), 1);
    goc_chan_retain(c); /* the answerer's reference */
    *s = (struct slow){c, delay};
    MUST(goc_go(answer_later, s));
    return c;
}

static void tour(void *arg)
{
    (void)arg;
    struct slow s1, s2, s3;
    int v = 0;

    printf("1. case <-time.After(50ms) against an answer in 10 ms\n");
    goc_chan *c = ask(10 * MS, &s1);
    goc_chan *timeout = goc_after(50 * MS);
    goc_case cs[2] = {GOC_RECV_CASE(c, &v), GOC_RECV_CASE(timeout, NULL)};
    int64_t t0 = goc_now();
    int i = goc_select(cs, 2);
    printf("  %s after %lld ms\n", i == 0 ? "the answer (42) came first"
                                         : "timed out",
           (long long)((goc_now() - t0) / MS));
    goc_chan_release(timeout); /* its timer holds its own reference */
    goc_chan_release(c);

    printf("2. the same race with the answer in 100 ms\n");
    c = ask(100 * MS, &s2);
    timeout = goc_after(50 * MS);
    goc_case cs2[2] = {GOC_RECV_CASE(c, &v), GOC_RECV_CASE(timeout, NULL)};
    t0 = goc_now();
    i = goc_select(cs2, 2);
    printf("  %s after %lld ms\n", i == 0 ? "the answer came first"
                                         : "timed out",
           (long long)((goc_now() - t0) / MS));
    goc_chan_release(timeout);
    goc_chan_release(c);

    printf("3. goc_select_until: the deadline as an argument\n");
    c = ask(100 * MS, &s3);
    goc_case one[1] = {GOC_RECV_CASE(c, &v)};
    t0 = goc_now();
    int rc = goc_select_until(one, 1, t0 + 30 * MS);
    printf("  %s after %lld ms (no timer or channel allocated for it)\n",
           rc == GOC_ETIMEDOUT ? "GOC_ETIMEDOUT" : "an answer",
           (long long)((goc_now() - t0) / MS));
    goc_chan_release(c);
    goc_sleep(100 * MS); /* let the late answerers finish */
}

int main(void)
{
    return goc_run(tour, NULL) == 0 ? 0 : 1;
}
