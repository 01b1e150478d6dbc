/* SPDX-License-Identifier: MIT */
/* test_context.c - contexts: cancellation trees, deadlines, values,
 * causes, AfterFunc, release, plain threads. */
#include <pthread.h>

#include "test.h"

#define MS GOC_MILLISECOND

static bool is_done(goc_ctx *c)
{
    return goc_chan_try_recv(goc_ctx_done(c), NULL) == GOC_ECLOSED;
}

/* ---- background and a single cancel ---- */

static void basic_main(void *arg)
{
    (void)arg;
    goc_ctx *bg = goc_ctx_background();
    ASSERT(goc_ctx_done(bg) == NULL);
    ASSERT_EQ(goc_ctx_err(bg), 0);
    ASSERT_EQ(goc_ctx_deadline(bg), 0);
    ASSERT(goc_ctx_value(bg, &bg) == NULL);
    goc_ctx_cancel(bg);  /* nothing */
    goc_ctx_release(bg); /* nothing: static */
    ASSERT_EQ(goc_ctx_err(goc_ctx_background()), 0);

    goc_ctx *c = goc_ctx_with_cancel(NULL); /* NULL parent: background */
    ASSERT(c != NULL);
    ASSERT(goc_ctx_done(c) != NULL);
    ASSERT_ERR(goc_chan_try_recv(goc_ctx_done(c), NULL), GOC_EAGAIN);
    ASSERT_EQ(goc_ctx_err(c), 0);
    ASSERT_EQ(goc_ctx_cause(c), 0);
    goc_ctx_cancel(c);
    ASSERT(is_done(c));
    ASSERT_ERR(goc_ctx_err(c), GOC_ECANCELED);
    ASSERT_ERR(goc_ctx_cause(c), GOC_ECANCELED);
    goc_ctx_cancel(c); /* idempotent */
    ASSERT_ERR(goc_ctx_err(c), GOC_ECANCELED);
    goc_ctx_release(c);
}
TEST(ctx_basic)
{
    run_main(basic_main, NULL);
}

/* ---- a tree: cancel reaches every descendant before it returns, through
 * value contexts, and nothing else ---- */

static int key_a, key_b;

static void tree_main(void *arg)
{
    (void)arg;
    goc_ctx *root = goc_ctx_with_cancel(NULL);
    goc_ctx *left = goc_ctx_with_cancel(root);
    goc_ctx *val = goc_ctx_with_value(left, &key_a, "a");
    goc_ctx *leaf = goc_ctx_with_cancel(val); /* anchored at left */
    goc_ctx *right = goc_ctx_with_cancel(root);
    goc_ctx *rleaf = goc_ctx_with_timeout(right, GOC_SECOND * 3600);
    /* A value context shares its anchor's done channel and error. */
    ASSERT(goc_ctx_done(val) == goc_ctx_done(left));
    goc_ctx_cancel(left);
    ASSERT(is_done(left) && is_done(leaf) && is_done(val));
    ASSERT_ERR(goc_ctx_err(leaf), GOC_ECANCELED);
    ASSERT(!is_done(root) && !is_done(right) && !is_done(rleaf));
    /* A child of a canceled parent is born canceled. */
    goc_ctx *late = goc_ctx_with_cancel(leaf);
    ASSERT(is_done(late));
    ASSERT_ERR(goc_ctx_err(late), GOC_ECANCELED);
    goc_ctx_cancel(root);
    ASSERT(is_done(right) && is_done(rleaf));
    /* Released in any order: each child keeps its parent alive. */
    goc_ctx *all[] = {root, val, right, late, left, rleaf, leaf};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        goc_ctx_release(all[i]);
}
TEST(ctx_tree)
{
    run_main(tree_main, NULL);
}

/* ---- 100 contexts canceled concurrently, in random order, from many
 * goroutines; every done channel closes once and wakes each waiter once,
 * and every descendant of a canceled one is canceled ---- */

#define NCTX 100
static goc_ctx *cc[NCTX];
static int cc_parent[NCTX];
static goc_chan *cc_done, *cc_cancelers_done;
static _Atomic int cc_wakes[NCTX];

static void cc_waiter(void *arg)
{
    int i = (int)(intptr_t)arg;
    ASSERT_ERR(goc_chan_recv(goc_ctx_done(cc[i]), NULL), GOC_ECLOSED);
    atomic_fetch_add(&cc_wakes[i], 1);
    ASSERT_OK(goc_chan_send(cc_done, NULL));
}
static void cc_canceler(void *arg)
{
    unsigned r = (unsigned)(intptr_t)arg * 2654435761u;
    for (int k = 0; k < 10; k++) {
        r = r * 1103515245u + 12345u;
        goc_ctx_cancel(cc[(r >> 8) % NCTX]);
        if (k % 3 == 0)
            goc_yield();
    }
    ASSERT_OK(goc_chan_send(cc_cancelers_done, NULL));
}
static void cc_main(void *arg)
{
    (void)arg;
    cc_done = goc_chan_make(0, 0);
    cc_cancelers_done = goc_chan_make(0, 0);
    for (int i = 0; i < NCTX; i++) {
        cc_parent[i] = i == 0 ? -1 : (i * 7) % i; /* some earlier one */
        cc[i] = goc_ctx_with_cancel(i == 0 ? NULL : cc[cc_parent[i]]);
        ASSERT(cc[i] != NULL);
    }
    for (int i = 0; i < NCTX; i++)
        ASSERT_OK(goc_go(cc_waiter, (void *)(intptr_t)i));
    int nc = 20;
    for (int i = 0; i < nc; i++)
        ASSERT_OK(goc_go(cc_canceler, (void *)(intptr_t)i));
    for (int i = 0; i < nc; i++)
        ASSERT_OK(goc_chan_recv(cc_cancelers_done, NULL));
    /* Whatever the cancelers hit, the tree is consistent. */
    for (int i = 1; i < NCTX; i++)
        if (goc_ctx_err(cc[cc_parent[i]]) != 0)
            ASSERT_ERR(goc_ctx_err(cc[i]), GOC_ECANCELED);
    goc_ctx_cancel(cc[0]); /* now everything */
    for (int i = 0; i < NCTX; i++)
        ASSERT_OK(goc_chan_recv(cc_done, NULL)); /* every waiter, once */
    for (int i = 0; i < NCTX; i++) {
        ASSERT_EQ(atomic_load(&cc_wakes[i]), 1);
        ASSERT_ERR(goc_chan_close(goc_ctx_done(cc[i])), GOC_ECLOSED);
    }
    for (int i = NCTX - 1; i >= 0; i--)
        goc_ctx_release(cc[i]);
    goc_chan_release(cc_done);
    goc_chan_release(cc_cancelers_done);
}
TEST(ctx_concurrent_cancel)
{
    run_main(cc_main, NULL);
}

/* ---- values: lookup and shadowing ---- */

static void value_main(void *arg)
{
    (void)arg;
    goc_ctx *a = goc_ctx_with_value(NULL, &key_a, "a1");
    goc_ctx *c = goc_ctx_with_cancel(a);
    goc_ctx *b = goc_ctx_with_value(c, &key_b, "b1");
    goc_ctx *a2 = goc_ctx_with_value(b, &key_a, "a2");
    ASSERT(strcmp(goc_ctx_value(a2, &key_a), "a2") == 0); /* shadowed */
    ASSERT(strcmp(goc_ctx_value(b, &key_a), "a1") == 0);
    ASSERT(strcmp(goc_ctx_value(a2, &key_b), "b1") == 0);
    ASSERT(goc_ctx_value(a, &key_b) == NULL);
    ASSERT(goc_ctx_with_value(a, NULL, "x") == NULL); /* Go: nil key */
    /* A value-only chain has nothing to cancel. */
    ASSERT(goc_ctx_done(a) == NULL);
    goc_ctx_cancel(a);
    ASSERT_EQ(goc_ctx_err(a), 0);
    goc_ctx_cancel(c);
    ASSERT_ERR(goc_ctx_err(a2), GOC_ECANCELED);
    ASSERT(strcmp(goc_ctx_value(a2, &key_a), "a2") == 0); /* still there */
    goc_ctx_release(a);
    goc_ctx_release(c);
    goc_ctx_release(b);
    goc_ctx_release(a2);
}
TEST(ctx_values)
{
    run_main(value_main, NULL);
}

/* ---- deadlines ---- */

static void deadline_main(void *arg)
{
    (void)arg;
    int64_t t0 = goc_now();
    goc_ctx *c = goc_ctx_with_timeout(NULL, 20 * MS);
    ASSERT_GE(goc_ctx_deadline(c), t0 + 20 * MS);
    ASSERT_ERR(goc_chan_recv(goc_ctx_done(c), NULL), GOC_ECLOSED);
    ASSERT_GE(goc_now(), t0 + 20 * MS);
    ASSERT_ERR(goc_ctx_err(c), GOC_ETIMEDOUT);
    ASSERT_ERR(goc_ctx_cause(c), GOC_ETIMEDOUT);

    /* The parent's earlier deadline wins, and comes down as ETIMEDOUT. */
    t0 = goc_now();
    goc_ctx *p = goc_ctx_with_timeout(NULL, 20 * MS);
    goc_ctx *k = goc_ctx_with_timeout(p, GOC_SECOND * 3600);
    ASSERT_EQ(goc_ctx_deadline(k), goc_ctx_deadline(p));
    goc_ctx *v = goc_ctx_with_value(k, &key_a, NULL);
    ASSERT_EQ(goc_ctx_deadline(v), goc_ctx_deadline(p));
    ASSERT_ERR(goc_chan_recv(goc_ctx_done(k), NULL), GOC_ECLOSED);
    ASSERT_ERR(goc_ctx_err(k), GOC_ETIMEDOUT);
    /* A child's own earlier deadline wins over the parent's. */
    goc_ctx *p2 = goc_ctx_with_timeout(NULL, GOC_SECOND * 3600);
    goc_ctx *k2 = goc_ctx_with_timeout(p2, 10 * MS);
    ASSERT_LT(goc_ctx_deadline(k2), goc_ctx_deadline(p2));
    ASSERT_ERR(goc_chan_recv(goc_ctx_done(k2), NULL), GOC_ECLOSED);
    ASSERT_ERR(goc_ctx_err(k2), GOC_ETIMEDOUT);
    ASSERT_EQ(goc_ctx_err(p2), 0);
    /* An explicit cancel before the deadline: ECANCELED, for good. */
    goc_ctx *e = goc_ctx_with_timeout(NULL, 20 * MS);
    goc_ctx_cancel(e);
    goc_sleep(40 * MS);
    ASSERT_ERR(goc_ctx_err(e), GOC_ECANCELED);
    /* A deadline in the past (or 0): born timed out. */
    goc_ctx *past = goc_ctx_with_deadline(NULL, goc_now() - MS);
    ASSERT(is_done(past));
    ASSERT_ERR(goc_ctx_err(past), GOC_ETIMEDOUT);
    goc_ctx *zero = goc_ctx_with_deadline(NULL, 0);
    ASSERT_ERR(goc_ctx_err(zero), GOC_ETIMEDOUT);
    goc_ctx *all[] = {c, p, k, v, p2, k2, e, past, zero};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        goc_ctx_release(all[i]);
    /* Released while its deadline is pending: the timer goes with it. */
    for (int i = 0; i < 100; i++)
        goc_ctx_release(goc_ctx_with_timeout(NULL, (i % 3) * MS));
    goc_sleep(5 * MS);
}
TEST(ctx_deadline)
{
    run_main(deadline_main, NULL);
}

/* ---- release: a context released while running cancels nothing of
 * others; the parent lives on for its children ---- */

static void release_main(void *arg)
{
    (void)arg;
    goc_ctx *c0 = goc_ctx_with_cancel(NULL);
    goc_ctx *p = goc_ctx_with_value(c0, &key_a, "pa");
    goc_ctx_release(c0); /* p holds it now */
    goc_ctx *k = goc_ctx_with_cancel(p);
    goc_ctx *sib = goc_ctx_with_cancel(p);
    goc_ctx_release(p); /* the children keep it */
    ASSERT(strcmp(goc_ctx_value(k, &key_a), "pa") == 0);
    goc_ctx_release(sib); /* running: cancels nothing */
    ASSERT_EQ(goc_ctx_err(k), 0);
    goc_ctx_cancel(k);
    ASSERT_ERR(goc_ctx_err(k), GOC_ECANCELED);
    goc_ctx_release(k); /* the last: everything goes (ASan checks) */
}
TEST(ctx_release)
{
    run_main(release_main, NULL);
}

/* ---- holders let go while the cancel is under way ----
 * A goroutine cancels a context that its spawner waits on, and the
 * spawner, like the holders of its children, drops its reference the
 * moment it sees the cancel.  The cancel still walks the children and
 * unlocks the context after that; with nothing of its own holding them,
 * it did so in freed memory (ASan saw it once in ~280 runs of
 * race_edges).  A tree of children makes the window wide; ASan and
 * valgrind tell a use after free. */
#define RW_ROUNDS 300
#define RW_KIDS 16
static goc_wg rw_wg;

static void rw_kid_holder(void *arg)
{
    goc_ctx *k = arg;
    ASSERT_ERR(goc_chan_recv(goc_ctx_done(k), NULL), GOC_ECLOSED);
    goc_ctx_release(k); /* at once: the parent's cancel may be at k */
    goc_wg_done(&rw_wg);
}
static void rw_canceller(void *arg)
{
    goc_ctx_cancel(arg); /* borrowed: its spawner holds the reference */
}
static void rw_main(void *arg)
{
    (void)arg;
    for (int r = 0; r < RW_ROUNDS; r++) {
        goc_ctx *c = goc_ctx_with_cancel(NULL);
        ASSERT(c != NULL);
        goc_wg_add(&rw_wg, RW_KIDS);
        for (int i = 0; i < RW_KIDS; i++) {
            goc_ctx *k = goc_ctx_with_cancel(c);
            ASSERT(k != NULL);
            ASSERT_OK(goc_go(rw_kid_holder, k));
        }
        ASSERT_OK(goc_go(rw_canceller, c));
        ASSERT_ERR(goc_chan_recv(goc_ctx_done(c), NULL), GOC_ECLOSED);
        goc_ctx_release(c);
        goc_wg_wait(&rw_wg);
    }
}
TEST(ctx_release_while_canceling)
{
    run_main(rw_main, NULL);
}

/* ---- causes ---- */

static void cause_main(void *arg)
{
    (void)arg;
    goc_ctx *c = goc_ctx_with_cancel(NULL);
    goc_ctx *k = goc_ctx_with_cancel(c);
    goc_ctx_cancel_cause(c, 42);
    ASSERT_ERR(goc_ctx_err(c), GOC_ECANCELED);
    ASSERT_EQ(goc_ctx_cause(c), 42);
    ASSERT_EQ(goc_ctx_cause(k), 42); /* through the parent */
    goc_ctx_cancel_cause(c, 7);      /* the first one wins */
    ASSERT_EQ(goc_ctx_cause(c), 42);
    goc_ctx *late = goc_ctx_with_cancel(c); /* born canceled: same cause */
    ASSERT_EQ(goc_ctx_cause(late), 42);
    goc_ctx *plain = goc_ctx_with_cancel(NULL);
    goc_ctx_cancel_cause(plain, 0); /* 0: the error itself */
    ASSERT_ERR(goc_ctx_cause(plain), GOC_ECANCELED);
    goc_ctx_release(late);
    goc_ctx_release(k);
    goc_ctx_release(c);
    goc_ctx_release(plain);
}
TEST(ctx_cause)
{
    run_main(cause_main, NULL);
}

/* ---- AfterFunc ---- */

static goc_chan *af_ran;
static int64_t af_canceler;
static void af_fn(void *arg)
{
    int64_t id = goc_id();
    ASSERT_NE(id, af_canceler); /* a goroutine of its own */
    ASSERT_OK(goc_chan_send(af_ran, &arg));
}
static void af_never(void *arg)
{
    (void)arg;
    FAIL("a stopped AfterFunc ran");
}
static void af_main(void *arg)
{
    (void)arg;
    af_canceler = goc_id();
    af_ran = goc_chan_make(sizeof(void *), 4);
    goc_ctx *c = goc_ctx_with_cancel(NULL);
    goc_ctx_afterfunc *f = goc_ctx_after_func(c, af_fn, "one");
    goc_ctx_afterfunc *g = goc_ctx_after_func(c, af_never, NULL);
    ASSERT(goc_ctx_after_func_stop(g)); /* stopped before the cancel */
    goc_ctx_cancel(c);
    void *got = NULL;
    ASSERT_OK(goc_chan_recv(af_ran, &got));
    ASSERT(strcmp(got, "one") == 0);
    ASSERT(!goc_ctx_after_func_stop(f)); /* too late */
    /* On a canceled context: at once. */
    f = goc_ctx_after_func(c, af_fn, "two");
    ASSERT_OK(goc_chan_recv(af_ran, &got));
    ASSERT(strcmp(got, "two") == 0);
    ASSERT(!goc_ctx_after_func_stop(f));
    /* On a context that can never be canceled: never; stop says so. */
    f = goc_ctx_after_func(NULL, af_never, NULL);
    ASSERT(goc_ctx_after_func_stop(f));
    /* On a deadline: from the timer. */
    goc_ctx *d = goc_ctx_with_timeout(NULL, 10 * MS);
    f = goc_ctx_after_func(d, af_fn, "three");
    ASSERT_OK(goc_chan_recv(af_ran, &got));
    ASSERT(strcmp(got, "three") == 0);
    goc_ctx_after_func_stop(f);
    goc_ctx_release(d);
    goc_ctx_release(c);
    goc_chan_release(af_ran);
}
TEST(ctx_after_func)
{
    run_main(af_main, NULL);
}

/* ---- a plain thread cancels; goroutines waiting on done wake ---- */

static goc_ctx *pt_ctx;
static _Atomic int pt_known;
static void *pt_cancel(void *arg)
{
    (void)arg;
    /* The first goc call makes this thread a possible waker, so the
     * goroutines parked meanwhile are not a deadlock; main yields until
     * then (a thread that has not called yet is invisible to goc). */
    goc_sleep(MS);
    atomic_store(&pt_known, 1);
    goc_sleep(20 * MS);
    goc_ctx_cancel(pt_ctx);
    return NULL;
}
static goc_chan *pt_done;
static void pt_waiter(void *arg)
{
    (void)arg;
    goc_case cs[1] = {GOC_RECV_CASE(goc_ctx_done(pt_ctx), NULL)};
    ASSERT_EQ(goc_select(cs, 1), 0);
    ASSERT_ERR(cs[0].err, GOC_ECLOSED);
    ASSERT_OK(goc_chan_send(pt_done, NULL));
}
static void pt_main(void *arg)
{
    (void)arg;
    pt_ctx = goc_ctx_with_cancel(NULL);
    pt_done = goc_chan_make(0, 0);
    for (int i = 0; i < 10; i++)
        ASSERT_OK(goc_go(pt_waiter, NULL));
    pthread_t t;
    ASSERT_EQ(pthread_create(&t, NULL, pt_cancel, NULL), 0);
    while (!atomic_load(&pt_known))
        goc_yield();
    for (int i = 0; i < 10; i++)
        ASSERT_OK(goc_chan_recv(pt_done, NULL));
    pthread_join(t, NULL);
    goc_ctx_release(pt_ctx);
    goc_chan_release(pt_done);
}
TEST(ctx_plain_thread)
{
    run_main(pt_main, NULL);
}
