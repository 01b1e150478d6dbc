/* SPDX-License-Identifier: MIT */
/*
 * check.h - assertions by debug level (mimalloc's ladder), branch hints and
 * the runtime text mark.
 *
 *   GOC_DEBUG 0  release: no assertions
 *   GOC_DEBUG 1  GOC_ASSERT: cheap checks of the public contract
 *   GOC_DEBUG 2  GOC_ASSERT_INTERNAL: internal invariants (Debug builds)
 *   GOC_DEBUG 3  GOC_ASSERT_EXPENSIVE: whole-structure validators
 *
 * A failed assertion prints file, line and expression and aborts; it never
 * allocates.
 */
#ifndef GOC_CHECK_H
#define GOC_CHECK_H

#ifndef GOC_DEBUG
#define GOC_DEBUG 0
#endif

#define goc__likely(x) __builtin_expect(!!(x), 1)
#define goc__unlikely(x) __builtin_expect(!!(x), 0)

/* Prints the failure as a fatal error (error.c) and exits 2. */
__attribute__((noreturn, cold)) void goc__assert_fail(const char *expr,
                                                      const char *file,
                                                      int line,
                                                      const char *func);

#define GOC__ASSERT_ALWAYS(e) \
    (goc__likely(e) ? (void)0 \
                    : goc__assert_fail(#e, __FILE__, __LINE__, __func__))

#if GOC_DEBUG >= 1
#define GOC_ASSERT(e) GOC__ASSERT_ALWAYS(e)
#else
#define GOC_ASSERT(e) ((void)0)
#endif
#if GOC_DEBUG >= 2
#define GOC_ASSERT_INTERNAL(e) GOC__ASSERT_ALWAYS(e)
#else
#define GOC_ASSERT_INTERNAL(e) ((void)0)
#endif
#if GOC_DEBUG >= 3
#define GOC_ASSERT_EXPENSIVE(e) GOC__ASSERT_ALWAYS(e)
#else
#define GOC_ASSERT_EXPENSIVE(e) ((void)0)
#endif

/* Runtime text: the functions that can sit on a goroutine's stack between
 * a public call and the stack switch (park, block, switch), and the fatal
 * path above a dump.  Goroutine dumps (debug.c) leave such frames out at
 * the top of a stack by testing the pc against this section's bounds, so
 * the hiding does not depend on names: a static function qualifies by this
 * attribute alone.  The section name is a C identifier so that the linker
 * defines __start_/__stop_ symbols for it (and keeps it under
 * --gc-sections, since they are referenced).  Always-inline helpers need
 * no mark: they live in their callers. */
#define GOC__RUNTIME_TEXT __attribute__((section("goc_runtime_text")))

/* At the end of a public call that may park: the call keeps its own
 * frame until it returns.  Without it the compiler may end the call with
 * a jump into its slow path (a sibling call), and the public frame - the
 * call site a dump shows the goroutine parked at - is gone from the stack.
 * Costs the return through the caller, nothing else. */
#define GOC__KEEP_FRAME() __asm__ volatile("")

/* The goroutine entry (goroutine.c:g_main), alone in its section: a
 * dump's walk stops there. */
#define GOC__ENTRY_TEXT __attribute__((section("goc_entry_text")))

/* Bounds of the sections above, defined by the linker for this module
 * (hidden: libgoc.so and a program linking libgoc.a each see their own
 * copy of goc). */
#define GOC__HIDDEN __attribute__((visibility("hidden")))
#define GOC__SECTION_BOUNDS(name)                   \
    extern const char __start_##name[] GOC__HIDDEN; \
    extern const char __stop_##name[] GOC__HIDDEN

/* Sanitizer detection, for both gcc (__SANITIZE_*__) and clang. */
#if defined(__SANITIZE_ADDRESS__)
#define GOC_HAVE_ASAN 1
#endif
#if defined(__SANITIZE_THREAD__)
#define GOC_HAVE_TSAN 1
#endif
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#undef GOC_HAVE_ASAN
#define GOC_HAVE_ASAN 1
#endif
#if __has_feature(thread_sanitizer)
#undef GOC_HAVE_TSAN
#define GOC_HAVE_TSAN 1
#endif
#endif

#endif /* GOC_CHECK_H */
