/* SPDX-License-Identifier: MIT */
/*
 * sanitizer.c - tell, at the start of goc_run, a program whose sanitizer
 * does not match goc's.
 *
 * ThreadSanitizer and AddressSanitizer must be told about every goroutine
 * switch (goroutine.c does so when goc itself is built with
 * GOC_SANITIZE=thread or address: the goc-race and goc-asan flavors).
 * Three mismatches, from worst to mildest:
 *
 * 1. A program built with -fsanitize=thread or address, linked against a
 *    plain goc: the sanitizer cannot see the switches, TSan reports races
 *    that are not there and misses real ones, ASan misreads goroutine
 *    stacks.  Rather than give such wrong answers, goc_run stops at once
 *    with
 *        fatal error: program built with -fsanitize=thread, goc without it:
 *        link the goc built with GOC_SANITIZE=thread
 *    (or =address), exit status 2.
 *
 * 2. A sanitized goc in a program compiled without the sanitizer.  Linked
 *    without it too, it does not link (the runtime's __tsan_ or __asan_
 *    symbols are undefined: libgoc-race.a's objects and libgoc-race.so
 *    alike).  Linked with it (`pkg-config --libs goc-race` without
 *    --cflags), it runs and goc's own code is checked, the program's is
 *    not: its races go unreported.  goc_run warns once, on one line, when
 *    the executable's symbol table shows no unit of the program's own
 *    instrumented: every unit that -fsanitize= instruments gets a module
 *    constructor (clang: tsan.module_ctor, asan.module_ctor; gcc:
 *    _sub_I_00099_<n>, its priority-99 constructor).  A stripped program
 *    cannot be told apart and gets no warning.
 *
 * 3. The sanitizer runtime of another compiler than the one that built
 *    goc: a clang-built goc-race in a program that gcc links gets gcc's
 *    TSan runtime, far slower and limited to 8,128 goroutines; the reverse
 *    mixes clang's instrumentation with gcc's runtime, or loads both (a
 *    gcc-built libgoc-race.so needs libtsan.so, a clang program carries
 *    its own runtime; the program's serves).  gcc's sanitizer runtimes
 *    carry libbacktrace renamed with an __asan_ prefix (libtsan's too);
 *    clang's compiler-rt has none of those names.  The runtime that serves
 *    is gcc's when the module defining the __tsan_init (__asan_init) that
 *    goc's calls resolve to also defines that libbacktrace.  goc_run warns
 *    once, naming the compiler to link with.
 *
 * 4. Not a mismatch: TSan dies when the kernel refuses it a mapping, with
 *    "ERROR: Failed to mmap" and nothing more.  Under TSan every live
 *    goroutine holds about half a mapping of its own (TSan's state for its
 *    fiber: measured, 63,000 mappings at 136,000 goroutines), so a
 *    program with some 140,000 goroutines alive reaches the default
 *    vm.max_map_count (65,530).  A death callback installed with
 *    the check below says so when it happens: it counts the process's
 *    mappings and, when they are at the limit, names the limit, the
 *    goroutines alive and the sysctl that raises it.  It replaces a death
 *    callback the program set before goc_run (there is only one).
 *
 * Detection of the runtime itself: a weak reference to a symbol that
 * every such runtime defines (gcc's and clang's alike): __tsan_init,
 * __asan_init.  Without the runtime the reference resolves to NULL; with
 * it (linked statically into the program, or as a shared library) to the
 * runtime's function, for the static and the shared libgoc alike.
 */
#include <dlfcn.h>
#include <stdatomic.h>

#include "internal.h" /* check.h: GOC_HAVE_TSAN, GOC_HAVE_ASAN */

#ifndef GOC_HAVE_TSAN
extern void __tsan_init(void) __attribute__((weak));
#endif
#ifndef GOC_HAVE_ASAN
extern void __asan_init(void) __attribute__((weak));
#endif

#if defined(GOC_HAVE_TSAN) || defined(GOC_HAVE_ASAN)
/* Defined by gcc's sanitizer runtimes only (see 3 above). */
extern void __asan_backtrace_create_state(void) __attribute__((weak));

#ifdef GOC_HAVE_TSAN
extern void __tsan_init(void);
#define SAN_INIT __tsan_init
#define SAN_FLAVOR "goc-race"
#define SAN_NAME "thread"
#define SAN_RUNTIME "ThreadSanitizer"
#else
extern void __asan_init(void);
#define SAN_INIT __asan_init
#define SAN_FLAVOR "goc-asan"
#define SAN_NAME "address"
#define SAN_RUNTIME "AddressSanitizer"
#endif
#ifdef __clang__
#define SAN_CC "clang"
#define SAN_OTHER_CC "gcc"
#else
#define SAN_CC "gcc"
#define SAN_OTHER_CC "clang"
#endif

/* The module constructors of instrumented units (see 2 above). */
static const char *const instrumented_marks[] = {
#ifdef GOC_HAVE_TSAN
    "tsan.module_ctor",
#else
    "asan.module_ctor",
#endif
    "_sub_I_00099_",
    NULL,
};

/* Is the runtime that serves goc gcc's (see 3 above)?  Returns: 1 yes,
 * 0 no (clang's), -1 cannot tell. */
static int runtime_is_gcc(void)
{
    if (__asan_backtrace_create_state == NULL)
        return 0;
    Dl_info init, bt;
    if (dladdr((void *)SAN_INIT, &init) == 0 ||
        dladdr((void *)__asan_backtrace_create_state, &bt) == 0)
        return -1;
    return init.dli_fbase == bt.dli_fbase;
}

/* Warn about mismatches 2 and 3, once per process. */
static void sanitizer_warn_once(void)
{
    static atomic_bool warned;
    if (atomic_exchange_explicit(&warned, true, memory_order_relaxed))
        return;
    if (goc__symtab_exe_has_unit_func(instrumented_marks) == 0)
        goc__printf(2, "goc: warning: " SAN_FLAVOR " is built with -fsanitize="
                       SAN_NAME ", the program without it, so its own code "
                       "goes unchecked: compile it with the flags of "
                       "`pkg-config --cflags " SAN_FLAVOR "`\n");
#ifdef __clang__
    bool mismatch = runtime_is_gcc() == 1;
#else
    bool mismatch = runtime_is_gcc() == 0;
#endif
    if (mismatch)
        goc__printf(2, "goc: warning: " SAN_FLAVOR " was built with " SAN_CC
                       ", the program runs " SAN_OTHER_CC "'s " SAN_RUNTIME
                       " runtime: link the program with " SAN_CC "\n");
}
#endif

#ifdef GOC_HAVE_TSAN
#include <sanitizer/common_interface_defs.h>

/* TSan's death callback (4 above): at the mapping limit, say which. */
static void race_death_hint(void)
{
    long max = goc__file_long("/proc/sys/vm/max_map_count");
    long maps = goc__file_count("/proc/self/maps", '\n');
    if (max <= 0 || maps < max - 16)
        return;
    goc__printf(2, "goc: the race detector ran out of memory mappings: %ld "
                   "in use, vm.max_map_count is %ld, %d goroutines alive; "
                   "under TSan every two live goroutines hold about one "
                   "mapping (and 22 KiB each): raise the limit, e.g. "
                   "sysctl -w vm.max_map_count=%ld\n",
                maps, max, goc_num_goroutine(), 16 * max);
}
#endif

/* Die if the program carries a sanitizer runtime this goc was not built
 * for; warn (once) if a sanitized goc's program is not instrumented or
 * runs another compiler's runtime; under TSan, install the death hint (4
 * above).  Called at the start of every goc_run.
 * Returns: only when goc can run the program. */
void goc__sanitizer_check(void)
{
#ifndef GOC_HAVE_TSAN
    if (__tsan_init != NULL)
        goc__fatal("program built with -fsanitize=thread, goc without it: "
                   "link the goc built with GOC_SANITIZE=thread");
#endif
#ifndef GOC_HAVE_ASAN
    if (__asan_init != NULL)
        goc__fatal("program built with -fsanitize=address, goc without it: "
                   "link the goc built with GOC_SANITIZE=address");
#endif
#if defined(GOC_HAVE_TSAN) || defined(GOC_HAVE_ASAN)
    sanitizer_warn_once();
#endif
#ifdef GOC_HAVE_TSAN
    __sanitizer_set_death_callback(race_death_hint);
#endif
}
#undef SAN_INIT /* a unity build compiles the files after this one too */
#undef SAN_FLAVOR
#undef SAN_NAME
#undef SAN_RUNTIME
#undef SAN_CC
#undef SAN_OTHER_CC
