/* SPDX-License-Identifier: MIT */
/* test_sync_fatal.c - misuse of sync objects is fatal as in Go (message,
 * goroutine dump, exit 2); the wait reasons of blocked goroutines in the
 * dump; and deadlocks over mutexes found by the deadlock detector. */
#include "test_sync.h"

/* Run body in a child; it must die with status 2 and `first` as its first
 * line. */
static struct death *expect_death_of(void (*body)(void), const char *first)
{
    static struct death d;
    death_run(&d, body);
    ASSERT_STATUS(d, 2);
    char line[256];
    if (strcmp(first_line(&d, line, sizeof line), first) != 0)
        FAIL("first line \"%s\", want \"%s\"; output:\n%s", line, first,
             d.out);
    return &d;
}

/* The same with fn as the main goroutine of a run. */
static void (*death_main)(void *);
static void death_body(void)
{
    ASSERT_OK(goc_run(death_main, NULL));
}
static struct death *expect_death(void (*fn)(void *), const char *first)
{
    death_main = fn;
    return expect_death_of(death_body, first);
}

/* ---- misuse ---- */

static void unlock_unlocked(void *arg)
{
    (void)arg;
    goc_mutex m = {0};
    goc_mutex_unlock(&m);
}
static void unlock_twice(void *arg)
{
    (void)arg;
    goc_mutex m = {0};
    goc_mutex_lock(&m);
    goc_mutex_unlock(&m);
    goc_mutex_unlock(&m);
}
TEST(sync_fatal_mutex_unlock)
{
    struct death *d = expect_death(unlock_unlocked,
                                   "fatal error: sync: unlock of unlocked "
                                   "mutex");
    ASSERT_CONTAINS(d->out, "goroutine 1 [running]:\n");
    ASSERT_CONTAINS(d->out, "unlock_unlocked(...)\n");
    expect_death(unlock_twice, "fatal error: sync: unlock of unlocked mutex");
}

static void cond_unlocked(void *arg)
{
    (void)arg;
    goc_mutex m = {0};
    goc_cond c = {0};
    goc_cond_wait(&c, &m);
}
TEST(sync_fatal_cond_wait_unlocked)
{
    expect_death(cond_unlocked, "fatal error: sync: unlock of unlocked mutex");
}

static void *thread_unlock(void *arg)
{
    (void)arg;
    goc_mutex m = {0};
    goc_mutex_unlock(&m);
    return NULL;
}
static void thread_death(void)
{
    pthread_t t;
    pthread_create(&t, NULL, thread_unlock, NULL);
    pthread_join(t, NULL);
}
TEST(sync_fatal_mutex_unlock_thread)
{
    /* A plain thread, no run. */
    expect_death_of(thread_death,
                    "fatal error: sync: unlock of unlocked mutex");
}

static void runlock_unlocked(void *arg)
{
    (void)arg;
    goc_rwmutex rw = {0};
    goc_rwmutex_runlock(&rw);
}
static void runlock_while_writing(void *arg)
{
    (void)arg;
    goc_rwmutex rw = {0};
    goc_rwmutex_lock(&rw);
    goc_rwmutex_runlock(&rw);
}
static void rw_unlock_unlocked(void *arg)
{
    (void)arg;
    goc_rwmutex rw = {0};
    goc_rwmutex_rlock(&rw);
    goc_rwmutex_unlock(&rw);
}
TEST(sync_fatal_rwmutex)
{
    expect_death(runlock_unlocked,
                 "fatal error: sync: RUnlock of unlocked RWMutex");
    expect_death(runlock_while_writing,
                 "fatal error: sync: RUnlock of unlocked RWMutex");
    expect_death(rw_unlock_unlocked,
                 "fatal error: sync: Unlock of unlocked RWMutex");
}

static void wg_negative(void *arg)
{
    (void)arg;
    goc_wg wg = {0};
    goc_wg_add(&wg, 1);
    goc_wg_done(&wg);
    goc_wg_done(&wg);
}
static void wg_huge(void *arg)
{
    (void)arg;
    goc_wg wg = {0};
    goc_wg_add(&wg, (int64_t)1 << 40);
}
TEST(sync_fatal_wg)
{
    expect_death(wg_negative, "fatal error: sync: negative WaitGroup counter");
    expect_death(wg_huge, "fatal error: sync: WaitGroup delta out of range");
}

static void sem_over_release(void *arg)
{
    (void)arg;
    goc_sem s;
    goc_sem_init(&s, 4);
    ASSERT_OK(goc_sem_acquire(&s, 2, NULL));
    goc_sem_release(&s, 3);
}
TEST(sync_fatal_sem)
{
    expect_death(sem_over_release,
                 "fatal error: semaphore: released more than held");
}

/* ---- wait reasons: main blocks for good on each kind of object ---- */

static void on_mutex(void *arg)
{
    (void)arg;
    goc_mutex m = {0};
    goc_mutex_lock(&m);
    goc_mutex_lock(&m);
}
static void on_rlock(void *arg)
{
    (void)arg;
    goc_rwmutex rw = {0};
    goc_rwmutex_lock(&rw);
    goc_rwmutex_rlock(&rw);
}
static void on_lock_readers(void *arg)
{
    (void)arg;
    goc_rwmutex rw = {0};
    goc_rwmutex_rlock(&rw);
    goc_rwmutex_lock(&rw); /* waits for the reader: itself */
}
static void on_lock_writer(void *arg)
{
    (void)arg;
    goc_rwmutex rw = {0};
    goc_rwmutex_lock(&rw);
    goc_rwmutex_lock(&rw); /* waits for the writer's mutex */
}
static void on_wg(void *arg)
{
    (void)arg;
    goc_wg wg = {0};
    goc_wg_add(&wg, 1);
    goc_wg_wait(&wg);
}
static void on_cond(void *arg)
{
    (void)arg;
    goc_mutex m = {0};
    goc_cond c = {0};
    goc_mutex_lock(&m);
    goc_cond_wait(&c, &m);
}
static void on_sem(void *arg)
{
    (void)arg;
    goc_sem s;
    goc_sem_init(&s, 1);
    ASSERT_OK(goc_sem_acquire(&s, 1, NULL));
    ASSERT_OK(goc_sem_acquire(&s, 1, NULL));
}
static void on_sem_too_big(void *arg)
{
    (void)arg;
    goc_sem s;
    goc_sem_init(&s, 1);
    ASSERT_OK(goc_sem_acquire(&s, 2, NULL)); /* never satisfiable */
}
static void expect_reason(void (*fn)(void *), const char *header,
                          const char *frame)
{
    struct death *d = expect_death(
        fn, "fatal error: all goroutines are asleep - deadlock!");
    ASSERT_CONTAINS(d->out, header);
    ASSERT_CONTAINS(d->out, frame);
}
TEST(sync_wait_reasons)
{
    expect_reason(on_mutex, "goroutine 1 [sync.Mutex.Lock]:\n", "on_mutex(...)");
    expect_reason(on_rlock, "goroutine 1 [sync.RWMutex.RLock]:\n",
                  "on_rlock(...)");
    expect_reason(on_lock_readers, "goroutine 1 [sync.RWMutex.Lock]:\n",
                  "on_lock_readers(...)");
    expect_reason(on_lock_writer, "goroutine 1 [sync.RWMutex.Lock]:\n",
                  "on_lock_writer(...)");
    expect_reason(on_wg, "goroutine 1 [sync.WaitGroup.Wait]:\n", "on_wg(...)");
    expect_reason(on_cond, "goroutine 1 [sync.Cond.Wait]:\n", "on_cond(...)");
    expect_reason(on_sem, "goroutine 1 [semacquire]:\n", "on_sem(...)");
    expect_reason(on_sem_too_big, "goroutine 1 [semacquire]:\n",
                  "on_sem_too_big(...)");
}

/* ---- the two-mutex deadlock: A holds a and wants b, B holds b and
 * wants a; main waits for both ---- */

static goc_mutex ma, mb;
static goc_wg both_hold, finished;

static void lock_ab(void *arg)
{
    goc_mutex *first = arg, *second = first == &ma ? &mb : &ma;
    goc_mutex_lock(first);
    goc_wg_done(&both_hold);
    goc_wg_wait(&both_hold); /* the other holds its first now */
    goc_mutex_lock(second);
    FAIL("got both mutexes");
}
static void abba_main(void *arg)
{
    (void)arg;
    goc_wg_add(&both_hold, 2);
    ASSERT_OK(goc_wg_go(&finished, lock_ab, &ma));
    ASSERT_OK(goc_wg_go(&finished, lock_ab, &mb));
    goc_wg_wait(&finished);
}
TEST(sync_deadlock_abba)
{
    goc_maxprocs(2); /* the child's run starts with it */
    struct death *d = expect_death(
        abba_main, "fatal error: all goroutines are asleep - deadlock!");
    ASSERT_CONTAINS(d->out, "goroutine 1 [sync.WaitGroup.Wait]:\n");
    /* Both goroutines, blocked in lock_ab on the other's mutex (the
     * goc_mutex_lock frame shows unless the compiler made it a tail
     * call). */
    const char *want = "[sync.Mutex.Lock]:\n";
    char *p = strstr(d->out, want);
    if (p == NULL || strstr(p + 1, want) == NULL)
        FAIL("want two goroutines [sync.Mutex.Lock]; output:\n%s", d->out);
    ASSERT_CONTAINS(d->out, "lock_ab(...)\n");
}
