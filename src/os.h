/* SPDX-License-Identifier: MIT */
/*
 * os.h - what the runtime asks of the operating system (os_linux.c):
 * threads, time, signals, the page size, the environment.
 */
#ifndef GOC_OS_H
#define GOC_OS_H

#include <stddef.h>
#include <stdint.h>

#include "runtime.h"

int goc__ncpu(void);                 /* affinity mask and cgroup quota */
int64_t goc__nanotime(void);         /* CLOCK_MONOTONIC */
int goc__gettid(void);
/* The page size, read once (relaxed: every thread computes the same). */
extern _Atomic size_t goc__page_size;
size_t goc__pagesize_init(void);
static inline size_t goc__pagesize(void)
{
    size_t ps = atomic_load_explicit(&goc__page_size, memory_order_relaxed);
    return goc__likely(ps != 0) ? ps : goc__pagesize_init();
}
int goc__thread_start(goc__m *m, void *(*fn)(void *)); /* 0 or -errno */
void goc__thread_stack(void **lo, size_t *size); /* calling thread's */
int goc__signals_install(void);      /* SIGSEGV overflow handler */
void goc__signals_restore(void);
int goc__altstack_init(goc__m *m);   /* per-M sigaltstack */
void goc__altstack_free(goc__m *m);

#endif /* GOC_OS_H */
