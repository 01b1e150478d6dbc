/* SPDX-License-Identifier: MIT */
/* A consumer of an installed goc: ten goroutines each count once, and a
 * dump of the main goroutine shows the consumer's own frame (built with
 * the flags goc's package gives it, at -O2: frame pointers kept). */
#include <goc.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

static atomic_int done;

static void worker(void *arg)
{
    (void)arg;
    atomic_fetch_add(&done, 1);
}

static atomic_int frame_seen;

/* noinline: a frame of its own.  The dump must show it and its caller:
 * the caller's frame is found only through this one's frame pointer. */
__attribute__((noinline)) static void consumer_frame(void)
{
    static char buf[8192];
    goc_stack(buf, sizeof buf, false);
    if (strstr(buf, "consumer_frame") != NULL &&
        strstr(buf, "consumer_main") != NULL)
        atomic_store(&frame_seen, 1);
    else
        fprintf(stderr, "consumer_frame or consumer_main missing from the dump:\n%s", buf);
}

static void consumer_main(void *arg)
{
    int n = *(const int *)arg;
    consumer_frame();
    for (int i = 0; i < n; i++)
        if (goc_go(worker, NULL) != 0)
            return;
    while (atomic_load(&done) < n)
        goc_yield();
}

int main(void)
{
    int n = 10;
    if (goc_run(consumer_main, &n) != 0 || atomic_load(&done) != n ||
        !atomic_load(&frame_seen))
        return 1;
    printf("goc %s: %d goroutines ran\n", goc_version_string(), n);
    return 0;
}
