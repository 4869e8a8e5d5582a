#ifndef C_ALLOCATION_COUNTER_H
#define C_ALLOCATION_COUNTER_H
#include <stdint.h>
/// Starts counting heap allocations (malloc, calloc, realloc, aligned) on every thread.
void sluice_alloc_counter_start(void);
/// Stops counting and returns how many allocations happened since start.
uint64_t sluice_alloc_counter_stop(void);
#endif
