/* SPDX-License-Identifier: MIT */
/*
 * switch_arm64.S - context switch for AArch64 (AAPCS64).  The contract
 * (frame layout, fresh contexts, alignment) is written in arch.h.
 */
    .text

/* void goc__ctx_switch(void **from, void *to)   x0 = from, x1 = to */
    .globl  goc__ctx_switch
    .hidden goc__ctx_switch
    .type   goc__ctx_switch, %function
    .p2align 4
goc__ctx_switch:
    .cfi_startproc
    sub     sp, sp, #176
    .cfi_def_cfa_offset 176
    stp     x19, x20, [sp, #0]
    stp     x21, x22, [sp, #16]
    stp     x23, x24, [sp, #32]
    stp     x25, x26, [sp, #48]
    stp     x27, x28, [sp, #64]
    stp     x29, x30, [sp, #80]
    .cfi_offset x19, -176
    .cfi_offset x20, -168
    .cfi_offset x21, -160
    .cfi_offset x22, -152
    .cfi_offset x23, -144
    .cfi_offset x24, -136
    .cfi_offset x25, -128
    .cfi_offset x26, -120
    .cfi_offset x27, -112
    .cfi_offset x28, -104
    .cfi_offset x29, -96
    .cfi_offset x30, -88
    stp     d8, d9, [sp, #96]
    stp     d10, d11, [sp, #112]
    stp     d12, d13, [sp, #128]
    stp     d14, d15, [sp, #144]
#ifdef GOC_SWITCH_FPENV
    mrs     x9, fpcr
    str     x9, [sp, #160]
#endif
    mov     x9, sp
    str     x9, [x0]
    /* From here on the stack is the other context's; its saved frame has
     * the same shape, so the CFI above describes it as well. */
    mov     sp, x1
#ifdef GOC_SWITCH_FPENV
    ldr     x9, [sp, #160]
    msr     fpcr, x9
#endif
    ldp     d8, d9, [sp, #96]
    ldp     d10, d11, [sp, #112]
    ldp     d12, d13, [sp, #128]
    ldp     d14, d15, [sp, #144]
    ldp     x19, x20, [sp, #0]
    ldp     x21, x22, [sp, #16]
    ldp     x23, x24, [sp, #32]
    ldp     x25, x26, [sp, #48]
    ldp     x27, x28, [sp, #64]
    ldp     x29, x30, [sp, #80]
    add     sp, sp, #176
    .cfi_def_cfa_offset 0
    ret
    .cfi_endproc
    .size   goc__ctx_switch, .-goc__ctx_switch

/* First frame of a fresh context: x19 = fn, x20 = arg; fn never returns. */
    .globl  goc__ctx_entry
    .hidden goc__ctx_entry
    .type   goc__ctx_entry, %function
    .p2align 4
goc__ctx_entry:
    .cfi_startproc
    .cfi_undefined x30
    mov     x29, #0
    mov     x30, #0
    mov     x0, x20
    blr     x19
    brk     #0
    .cfi_endproc
    .size   goc__ctx_entry, .-goc__ctx_entry

/* void goc__ctx_restart(void *top, void (*fn)(void *), void *arg)
 * x0 = top, x1 = fn, x2 = arg.  Abandon the current context and start a
 * fresh one at `top` (16-byte aligned) running fn(arg), as a switch to
 * goc__ctx_make(top, fn, arg) would, without saving anything. */
    .globl  goc__ctx_restart
    .hidden goc__ctx_restart
    .type   goc__ctx_restart, %function
    .p2align 4
goc__ctx_restart:
    .cfi_startproc
    mov     sp, x0
    mov     x19, x1
    mov     x20, x2
#ifdef GOC_SWITCH_FPENV
    msr     fpcr, xzr
#endif
    b       goc__ctx_entry
    .cfi_endproc
    .size   goc__ctx_restart, .-goc__ctx_restart

    .section .note.GNU-stack,"",%progbits
