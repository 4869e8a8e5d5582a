// Interposes the C allocator for the test process and counts calls while enabled, so that tests can
// show that the executor's hot path makes no heap allocation per state read or write.
// Every call forwards to glibc's own entry points (__libc_malloc and friends).
#define _GNU_SOURCE
#include "CAllocationCounter.h"
#include <pthread.h>
#include <stddef.h>
#include <string.h>
#include <errno.h>
#include <stdatomic.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);

static atomic_int enabled;
static atomic_uint_fast64_t count;
static pthread_t starter;
static char prefix[16];
static size_t prefix_length;

// Tests run concurrently, so only the thread that started counting and the threads whose name starts
// with the given prefix (the workers of the executor under test) are counted.
static int tracked(void) {
    if (pthread_equal(pthread_self(), starter)) return 1;
    char name[16];
    if (pthread_getname_np(pthread_self(), name, sizeof name) != 0) return 0;
    return prefix_length > 0 && strncmp(name, prefix, prefix_length) == 0;
}

static inline void note(void) {
    if (atomic_load_explicit(&enabled, memory_order_relaxed) && tracked())
        atomic_fetch_add_explicit(&count, 1, memory_order_relaxed);
}

void sluice_alloc_counter_start(const char *thread_prefix) {
    starter = pthread_self();
    strncpy(prefix, thread_prefix, sizeof prefix - 1);
    prefix_length = strlen(prefix);
    atomic_store(&count, 0);
    atomic_store(&enabled, 1);
}

uint64_t sluice_alloc_counter_stop(void) {
    atomic_store(&enabled, 0);
    return atomic_load(&count);
}

void *malloc(size_t n) { note(); return __libc_malloc(n); }
void *calloc(size_t a, size_t b) { note(); return __libc_calloc(a, b); }
void *realloc(void *p, size_t n) { note(); return __libc_realloc(p, n); }
void free(void *p) { __libc_free(p); }
void *memalign(size_t al, size_t n) { note(); return __libc_memalign(al, n); }
void *aligned_alloc(size_t al, size_t n) { note(); return __libc_memalign(al, n); }
int posix_memalign(void **out, size_t al, size_t n) {
    note();
    void *p = __libc_memalign(al, n);
    if (!p) return ENOMEM;
    *out = p;
    return 0;
}
