#ifndef C_ALLOCATION_COUNTER_H
#define C_ALLOCATION_COUNTER_H
#include <stdint.h>
/// Starts counting heap allocations (malloc, calloc, realloc, aligned) made by the calling thread and by
/// the threads whose name starts with `thread_prefix` (the workers of the executor under test).
void sluice_alloc_counter_start(const char *thread_prefix);
/// Stops counting and returns how many allocations happened since start.
uint64_t sluice_alloc_counter_stop(void);
#endif
