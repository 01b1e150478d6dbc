/* SPDX-License-Identifier: MIT */
/*
 * switch_amd64.S - context switch for x86-64 System V.  The contract (frame
 * layout, fresh contexts, alignment) is written in arch.h.
 */
    .text

/* void goc__ctx_switch(void **from, void *to)   rdi = from, rsi = to */
    .globl  goc__ctx_switch
    .hidden goc__ctx_switch
    .type   goc__ctx_switch, @function
    .p2align 4
goc__ctx_switch:
    .cfi_startproc
    pushq   %rbp
    .cfi_adjust_cfa_offset 8
    .cfi_rel_offset %rbp, 0
    pushq   %rbx
    .cfi_adjust_cfa_offset 8
    .cfi_rel_offset %rbx, 0
    pushq   %r12
    .cfi_adjust_cfa_offset 8
    .cfi_rel_offset %r12, 0
    pushq   %r13
    .cfi_adjust_cfa_offset 8
    .cfi_rel_offset %r13, 0
    pushq   %r14
    .cfi_adjust_cfa_offset 8
    .cfi_rel_offset %r14, 0
    pushq   %r15
    .cfi_adjust_cfa_offset 8
    .cfi_rel_offset %r15, 0
    subq    $8, %rsp
    .cfi_adjust_cfa_offset 8
#ifdef GOC_SWITCH_FPENV
    stmxcsr (%rsp)
    fnstcw  4(%rsp)
#endif
    movq    %rsp, (%rdi)
    /* From here on the stack is the other context's; its saved frame has
     * the same shape, so the CFI above describes it as well. */
    movq    %rsi, %rsp
#ifdef GOC_SWITCH_FPENV
    ldmxcsr (%rsp)
    fldcw   4(%rsp)
#endif
    addq    $8, %rsp
    .cfi_adjust_cfa_offset -8
    popq    %r15
    .cfi_adjust_cfa_offset -8
    .cfi_restore %r15
    popq    %r14
    .cfi_adjust_cfa_offset -8
    .cfi_restore %r14
    popq    %r13
    .cfi_adjust_cfa_offset -8
    .cfi_restore %r13
    popq    %r12
    .cfi_adjust_cfa_offset -8
    .cfi_restore %r12
    popq    %rbx
    .cfi_adjust_cfa_offset -8
    .cfi_restore %rbx
    popq    %rbp
    .cfi_adjust_cfa_offset -8
    .cfi_restore %rbp
    ret
    .cfi_endproc
    .size   goc__ctx_switch, .-goc__ctx_switch

/* First frame of a fresh context: r12 = fn, r13 = arg.  Entered by `ret`
 * with rsp 16-byte aligned; fn never returns. */
    .globl  goc__ctx_entry
    .hidden goc__ctx_entry
    .type   goc__ctx_entry, @function
    .p2align 4
goc__ctx_entry:
    .cfi_startproc
    .cfi_undefined %rip
    xorl    %ebp, %ebp
    movq    %r13, %rdi
    callq   *%r12
    ud2
    .cfi_endproc
    .size   goc__ctx_entry, .-goc__ctx_entry

/* void goc__ctx_restart(void *top, void (*fn)(void *), void *arg)
 * rdi = top, rsi = fn, rdx = arg.  Abandon the current context and start
 * a fresh one at `top` (16-byte aligned) running fn(arg), as a switch to
 * goc__ctx_make(top, fn, arg) would, without saving anything: the caller's
 * frames may lie right below top, and are dead. */
    .globl  goc__ctx_restart
    .hidden goc__ctx_restart
    .type   goc__ctx_restart, @function
    .p2align 4
goc__ctx_restart:
    .cfi_startproc
    movq    %rdi, %rsp
    movq    %rsi, %r12
    movq    %rdx, %r13
#ifdef GOC_SWITCH_FPENV
    subq    $8, %rsp
    movl    $0x1f80, (%rsp)
    movw    $0x037f, 4(%rsp)
    ldmxcsr (%rsp)
    fldcw   4(%rsp)
    addq    $8, %rsp
#endif
    jmp     goc__ctx_entry
    .cfi_endproc
    .size   goc__ctx_restart, .-goc__ctx_restart

    .section .note.GNU-stack,"",@progbits
