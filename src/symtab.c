/* SPDX-License-Identifier: MIT */
/*
 * symtab.c - function names for goroutine dumps from the ELF symbol table
 * (.symtab) of the module a pc belongs to.  dladdr only sees the dynamic
 * symbol table, which lacks static functions and, without -rdynamic, every
 * function of the executable; .symtab has them all unless the file was
 * stripped.  Files are mapped read-only on first use and stay mapped for
 * the life of the process (a dump may come from a signal handler, so
 * nothing here allocates with malloc).
 *
 * Locking: a dump may run on several threads at once (goc_dump from two
 * goroutines); the table of mapped modules is claimed slot by slot with a
 * CAS, and a lookup only reads a slot once its `ready` flag is published.
 */
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

#define MAX_MODULES 16

struct module {
    _Atomic int state;        /* 0 free, 1 being loaded, 2 ready, 3 failed */
    char path[256];
    const ElfW(Sym) *syms;
    size_t nsyms;
    const char *strs;
    size_t strsize;
    bool exec;                /* ET_EXEC: symbol values are absolute */
};

static struct module modules[MAX_MODULES];

static void module_load(struct module *m, const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && strcmp(path, "/proc/self/exe") != 0)
        fd = -1;
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 ||
        st.st_size < (off_t)sizeof(ElfW(Ehdr))) {
        if (fd >= 0)
            close(fd);
        return;
    }
    const char *base = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE,
                            fd, 0);
    close(fd);
    if (base == MAP_FAILED)
        return;
    const ElfW(Ehdr) *eh = (const void *)base;
    size_t size = (size_t)st.st_size;
    if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 ||
        eh->e_shoff + (size_t)eh->e_shnum * sizeof(ElfW(Shdr)) > size)
        return;
    const ElfW(Shdr) *sh = (const void *)(base + eh->e_shoff);
    for (int i = 0; i < eh->e_shnum; i++) {
        if (sh[i].sh_type != SHT_SYMTAB || sh[i].sh_link >= eh->e_shnum)
            continue;
        const ElfW(Shdr) *str = &sh[sh[i].sh_link];
        if (sh[i].sh_offset + sh[i].sh_size > size ||
            str->sh_offset + str->sh_size > size)
            return;
        m->syms = (const void *)(base + sh[i].sh_offset);
        m->nsyms = sh[i].sh_size / sizeof(ElfW(Sym));
        m->strs = base + str->sh_offset;
        m->strsize = str->sh_size;
        m->exec = eh->e_type == ET_EXEC;
        return;
    }
}

static struct module *module_for(const char *path)
{
    for (int i = 0; i < MAX_MODULES; i++) {
        struct module *m = &modules[i];
        int s = atomic_load_explicit(&m->state, memory_order_acquire);
        if (s == 0) {
            int expect = 0;
            if (!atomic_compare_exchange_strong_explicit(
                    &m->state, &expect, 1, memory_order_acq_rel,
                    memory_order_acquire)) {
                i--; /* lost the race for this slot: look at it again */
                continue;
            }
            strncpy(m->path, path, sizeof m->path - 1);
            module_load(m, path);
            /* release: pairs with the acquire load above. */
            atomic_store_explicit(&m->state, m->syms != NULL ? 2 : 3,
                                  memory_order_release);
            return m->syms != NULL ? m : NULL;
        }
        if (s == 1)
            return NULL; /* another thread is loading it: do without */
        if (strcmp(m->path, path) == 0)
            return s == 2 ? m : NULL;
    }
    return NULL;
}

/* The name of the function containing pc in the module at `path` loaded
 * at `base`, or NULL. */
const char *goc__symtab_lookup(const char *path, uintptr_t base, uintptr_t pc)
{
    struct module *m = module_for(path);
    if (m == NULL)
        return NULL;
    uintptr_t addr = m->exec ? pc : pc - base;
    for (size_t i = 0; i < m->nsyms; i++) {
        const ElfW(Sym) *s = &m->syms[i];
        if (ELF64_ST_TYPE(s->st_info) != STT_FUNC || s->st_shndx == SHN_UNDEF)
            continue;
        if (addr >= s->st_value && addr < s->st_value + s->st_size &&
            s->st_name < m->strsize)
            return m->strs + s->st_name;
    }
    return NULL;
}
