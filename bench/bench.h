/* SPDX-License-Identifier: MIT */
/* bench.h - small helpers shared by the benchmarks: a clock, flags, the
 * peak RSS, and BENCH_MUST for goc results.  Every benchmark prints one line:
 *     RESULT name=<bench> metric=<unit> value=<number> key=value...
 * the same line as its Go twin under bench/go/. */
#ifndef GOC_BENCH_H
#define GOC_BENCH_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* BENCH_MUST_BE(call, want): call returns want, or the benchmark aborts:
 * a benchmark that lost a value (a send on a closed channel, a failed
 * spawn) would measure something else.  One predictable branch: no cost
 * worth measuring.  BENCH_MUST(call): call returns 0. */
#define BENCH_MUST_BE(call, want)                                         \
    do {                                                                  \
        int rc_ = (call);                                                 \
        if (__builtin_expect(rc_ != (want), 0)) {                         \
            fprintf(stderr, "%s:%d: %s: %d\n", __FILE__, __LINE__, #call, \
                    rc_);                                                 \
            abort();                                                      \
        }                                                                 \
    } while (0)
#define BENCH_MUST(call) BENCH_MUST_BE(call, 0)

static inline double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* "-name value" from argv, or def. */
static inline long bench_flag(int argc, char **argv, const char *name, long def)
{
    for (int i = 1; i + 1 < argc; i++)
        if (argv[i][0] == '-' && strcmp(argv[i] + 1, name) == 0)
            return atol(argv[i + 1]);
    return def;
}

/* A field of /proc/self/status in kB (VmHWM = peak RSS), or -1. */
static inline long bench_vm(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;
    size_t n = strlen(field);
    while (f != NULL && fgets(line, sizeof line, f) != NULL)
        if (strncmp(line, field, n) == 0 && line[n] == ':') {
            v = atol(line + n + 1);
            break;
        }
    if (f != NULL)
        fclose(f);
    return v;
}

#endif /* GOC_BENCH_H */
