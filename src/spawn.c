/* SPDX-License-Identifier: MIT */
/*
 * spawn.c - goc_go: create a goroutine (goroutine.h's goc__newproc_m,
 * inline) and queue it where its creator runs, waking an idle P (proc.h),
 * as Go's newproc does.  On the park/ready floor: spawning is "make a new
 * G runnable", the twin of goc__ready, so it sits above the run queues
 * and the scheduler it calls into, and goroutine.c below only makes the
 * header.
 */
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "goc.h"
#include "internal.h"
#include "race.h"

#define SPAWN_STREAK GOC__RUNQ_SIZE

/* Queue g, just spawned on m.  As Go's newproc, g goes to runnext,
 * kicking the G there to the ring's tail; but in a spawn storm (storm: the
 * caller's last act was a spawn as well) it joins the ring's tail itself,
 * and runnext keeps the storm's first child.  The kick is a locked
 * exchange (a thief may be taking the old runnext), and a storm would pay
 * it for every child (spawn: 0.92x of the time without it). */
static inline __attribute__((always_inline)) void
spawn_queue(goc__m *m, goc__g *g, bool storm)
{
    goc__p *p = m != NULL ? m->p : NULL;
    if (storm && p != NULL &&
        atomic_load_explicit(&p->runnext, memory_order_relaxed) != NULL) {
        goc__runq_put(p, g, false);
        goc__wakep_after(true);
        return;
    }
    goc__runq_put_wake(m, g);
}

/* Create a goroutine and queue it where the caller (on m) runs.
 * stack_size 0: the default.  Returns: 0, GOC_EPERM (no run, or it is
 * ending), GOC_EINVAL (a stack too large), GOC_ENOMEM.  Never yields. */
static inline __attribute__((always_inline)) int
spawn(goc__m *m, size_t stack_size, const char *name, void (*fn)(void *),
      void *arg, uintptr_t pc, bool storm)
{
    if (!atomic_load_explicit(&goc__sched.running, memory_order_acquire) ||
        atomic_load_explicit(&goc__sched.exiting, memory_order_acquire))
        return GOC_EPERM;
    size_t slot = stack_size == 0 ? goc__stack_slot_default
                                  : goc__stack_slot_for(stack_size);
    if (slot == 0)
        return GOC_EINVAL;
    goc__g *g;
    int rc = goc__newproc_m(m, slot, name, fn, arg, pc, false, &g);
    if (rc == 0)
        spawn_queue(m, g, storm);
    return rc;
}

int goc__spawn(void (*fn)(void *), void *arg, uintptr_t pc)
{
    return spawn(goc__getm(), 0, NULL, fn, arg, pc, false);
}

#ifdef GOC_HAVE_TSAN
struct race_callback {
    void (*fn)(void *);
    void *arg;
};

/* The callback's goroutine: its registration happens before fn. */
static void race_callback_main(void *p)
{
    struct race_callback c = *(struct race_callback *)p;
    free(p);
    goc__race_acquire(goc__race_callback_addr(c.fn, c.arg));
    c.fn(c.arg);
}
#endif

int goc__spawn_callback(void (*fn)(void *), void *arg, uintptr_t pc)
{
#ifdef GOC_HAVE_TSAN
    struct race_callback *c = malloc(sizeof *c);
    if (c == NULL)
        return GOC_ENOMEM;
    c->fn = fn;
    c->arg = arg;
    int rc = goc__spawn(race_callback_main, c, pc);
    if (rc != 0)
        free(c);
    return rc;
#else
    return goc__spawn(fn, arg, pc);
#endif
}

static inline __attribute__((always_inline)) int
go_common(size_t stack_size, const char *name, void (*fn)(void *), void *arg,
          uintptr_t pc)
{
    if (fn == NULL)
        return GOC_EINVAL;
    goc__preempt_check();
    goc__m *m = goc__getm();
    goc__g *self = m != NULL ? m->curg : NULL;
    int rc = spawn(m, stack_size, name, fn, arg, pc,
                   self != NULL && self->spawnstreak > 0);
    if (rc != 0)
        return rc;
    /* A spawn storm yields now and then, sooner than the 10 ms
     * preemption would make it: until then the spawner's P never runs its
     * children while the other Ps start them faster than they can finish
     * them (every started goroutine holds a stack page).  So a goroutine that has spawned
     * SPAWN_STREAK goroutines without blocking or yielding yields once,
     * to the global queue as goc_yield does: behind the children that
     * started and yielded themselves (spawn_yield), which must finish
     * before it spawns more.  (At the local ring's tail it came back
     * before them, and now and then the started ones piled up to 600 MB
     * of stacks.)  m and self are still ours: spawn does not yield. */
    if (self != NULL && ++self->spawnstreak >= SPAWN_STREAK)
        goc_yield();
    return 0;
}

/* goc__race_func_enter: the spawner's frame in TSan's "created by". */
int goc_go(void (*fn)(void *), void *arg)
{
    goc__race_func_enter(__builtin_return_address(0));
    int rc = go_common(0, NULL, fn, arg,
                       (uintptr_t)__builtin_return_address(0));
    goc__race_func_exit();
    return rc;
}

int goc_go_opts(const goc_spawn_opts *o, void (*fn)(void *), void *arg)
{
    goc__race_func_enter(__builtin_return_address(0));
    int rc = go_common(o != NULL ? o->stack_size : 0,
                       o != NULL ? o->name : NULL, fn, arg,
                       (uintptr_t)__builtin_return_address(0));
    goc__race_func_exit();
    return rc;
}
