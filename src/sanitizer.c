/* SPDX-License-Identifier: MIT */
/*
 * sanitizer.c - refuse to run a sanitized program on an unsanitized goc.
 *
 * ThreadSanitizer and AddressSanitizer must be told about every goroutine
 * switch (goroutine.c does so when goc itself is built with
 * GOC_SANITIZE=thread or address).  A program built with -fsanitize=thread
 * or -fsanitize=address but linked against a plain goc would run with a
 * sanitizer that cannot see the switches: TSan reports races that are not
 * there and misses real ones, ASan misreads goroutine stacks.  Rather than
 * give such wrong answers, goc_run stops at once with
 *     fatal error: program built with -fsanitize=thread, goc without it:
 *     link the goc built with GOC_SANITIZE=thread
 * (or =address), exit status 2.
 *
 * Detection: a weak reference to a symbol that every such runtime defines
 * (gcc's and clang's alike): __tsan_init, __asan_init.  Without the
 * runtime the reference resolves to NULL; with it (linked statically into
 * the program, or as a shared library) to the runtime's function, for the
 * static and the shared libgoc alike.  A goc built with a sanitizer skips
 * that sanitizer's check; the reverse mistake (a sanitized goc in a plain
 * program) does not link, for want of the runtime.
 */
#include "internal.h" /* check.h: GOC_HAVE_TSAN, GOC_HAVE_ASAN */

#ifndef GOC_HAVE_TSAN
extern void __tsan_init(void) __attribute__((weak));
#endif
#ifndef GOC_HAVE_ASAN
extern void __asan_init(void) __attribute__((weak));
#endif

/* Die if the program carries a sanitizer runtime this goc was not built
 * for.  Called at the start of every goc_run (cheap: two address tests).
 * Returns: only when the combination is sound. */
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
}
