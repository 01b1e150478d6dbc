/* SPDX-License-Identifier: MIT */
/*
 * arch.h - the context-switch contract between C and switch_<arch>.S.
 *
 * A context is one saved stack pointer.  goc__ctx_switch(&from, to) pushes
 * the callee-saved state of the calling thread onto the current stack,
 * stores the stack pointer in *from, loads `to` as the stack pointer, pops
 * the state saved there and returns into whatever called goc__ctx_switch on
 * that stack (or into goc__ctx_entry for a fresh context).  Caller-saved
 * registers need no saving: goc__ctx_switch is an ordinary call to the C
 * compiler.  The floating-point control words (x86-64 MXCSR and x87 control
 * word, arm64 FPCR) belong to the thread, as errno and thread-locals do:
 * saving them costs ~10% of a switch here (stmxcsr and fnstcw are slow),
 * and Go does not switch them either.  Built with GOC_SWITCH_FPENV they
 * travel with the goroutine (their slots are in the frame either way).
 *
 * Saved frame, from the saved stack pointer upwards (word = 8 bytes):
 *
 *   x86-64:  [0] mxcsr (low 4 bytes) | x87 cw (next 2)   [1] r15  [2] r14
 *            [3] r13  [4] r12  [5] rbx  [6] rbp  [7] return address
 *   arm64:   [0..9] x19..x28  [10] x29 (fp)  [11] x30 (lr)
 *            [12..19] d8..d15  [20] fpcr  [21] padding
 *
 * A fresh context (goc__ctx_make) holds a frame whose return address is
 * goc__ctx_entry and whose first two callee-saved slots carry fn and arg
 * (x86-64: r12 = fn, r13 = arg; arm64: x19 = fn, x20 = arg).
 * goc__ctx_entry calls fn(arg) with a zero frame pointer and marks itself
 * as the outermost frame in its CFI, so debuggers and the frame-pointer
 * walker in debug.c stop there.  fn must never return.
 *
 * Alignment: the stack top handed to goc__ctx_make is 16-byte aligned; the
 * frame is laid out so that fn is entered with the ABI's alignment.
 *
 * GOC__CTX_FP_SLOT / GOC__CTX_PC_SLOT give the word index of the saved frame
 * pointer and return address in a saved frame: the goroutine dump starts its
 * frame-pointer walk there.
 */
#ifndef GOC_ARCH_H
#define GOC_ARCH_H

#include <stdint.h>

#if defined(__x86_64__)
#define GOC__CTX_WORDS 8
#define GOC__CTX_FP_SLOT 6
#define GOC__CTX_PC_SLOT 7
#define GOC__CTX_FN_SLOT 4 /* r12 */
#define GOC__CTX_ARG_SLOT 3 /* r13 */
#elif defined(__aarch64__)
#define GOC__CTX_WORDS 22
#define GOC__CTX_FP_SLOT 10
#define GOC__CTX_PC_SLOT 11
#define GOC__CTX_FN_SLOT 0 /* x19 */
#define GOC__CTX_ARG_SLOT 1 /* x20 */
#else
#error "goc supports x86-64 and arm64"
#endif

/* Save the current context into *from and resume `to`. */
void goc__ctx_switch(void **from, void *to);

/* First frame of every fresh context (assembly; never called from C). */
void goc__ctx_entry(void);

/* Abandon the current context and run fn(arg) in a fresh one at `top`
 * (16-byte aligned), as goc__ctx_switch to goc__ctx_make(top, fn, arg)
 * would, saving nothing.  `top` may be the top of the stack in use: a
 * goroutine that exits hands its stack to a goroutine that has never run
 * (goroutine.c, goc__g_exit_into). */
__attribute__((noreturn)) void goc__ctx_restart(void *top, void (*fn)(void *),
                                                void *arg);

/* Build a fresh context on the stack ending at `top` (16-byte aligned) that
 * runs fn(arg) when first switched to.  Returns the context (a stack
 * pointer) to pass to goc__ctx_switch. */
static inline void *goc__ctx_make(void *top, void (*fn)(void *), void *arg)
{
    /* The switch pops the whole frame, so goc__ctx_entry starts with the
     * stack pointer at `top` (16-byte aligned); its call then enters fn with
     * the alignment each ABI requires. */
    uintptr_t *sp = (uintptr_t *)top - GOC__CTX_WORDS;
    for (int i = 0; i < GOC__CTX_WORDS; i++)
        sp[i] = 0; /* arm64: FPCR 0 is the default (round to nearest) */
#if defined(__x86_64__)
    sp[0] = 0x1f80 | ((uintptr_t)0x037f << 32); /* default MXCSR, x87 cw */
#endif
    sp[GOC__CTX_FN_SLOT] = (uintptr_t)fn;
    sp[GOC__CTX_ARG_SLOT] = (uintptr_t)arg;
    sp[GOC__CTX_FP_SLOT] = 0;
    sp[GOC__CTX_PC_SLOT] = (uintptr_t)goc__ctx_entry;
    return sp;
}

#endif /* GOC_ARCH_H */
