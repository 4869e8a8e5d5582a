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

// Swift Testing hooks every `throw` to capture a backtrace, which allocates. A production process has
// no such hook, and Block-STM suspends an execution with a (typed) throw, so the hooks are lifted
// while counting. They are the Swift runtime's own handler pointers.
extern void *_swift_willThrow;
extern void *_swift_willThrowTypedImpl;
static void *saved_will_throw;
static void *saved_will_throw_typed;

void sluice_alloc_counter_start(const char *thread_prefix) {
    saved_will_throw = __atomic_exchange_n(&_swift_willThrow, (void *)0, __ATOMIC_SEQ_CST);
    saved_will_throw_typed = __atomic_exchange_n(&_swift_willThrowTypedImpl, (void *)0, __ATOMIC_SEQ_CST);
    starter = pthread_self();
    strncpy(prefix, thread_prefix, sizeof prefix - 1);
    prefix_length = strlen(prefix);
    atomic_store(&count, 0);
    atomic_store(&enabled, 1);
}

uint64_t sluice_alloc_counter_stop(void) {
    atomic_store(&enabled, 0);
    __atomic_store_n(&_swift_willThrow, saved_will_throw, __ATOMIC_SEQ_CST);
    __atomic_store_n(&_swift_willThrowTypedImpl, saved_will_throw_typed, __ATOMIC_SEQ_CST);
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
