// Shared between the driver (sha256.c) and the x86 block function (sha256_x86.c); not part of the module's API.
#ifndef CSHA256_INTERNAL_H
#define CSHA256_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

/// The 64 round constants.
extern const uint32_t sluice_sha256_k[64];

#if defined(__x86_64__) || defined(__i386__)
/// The compression function with the SHA extensions. Call it only when the CPU has them.
void sluice_sha256_compress_x86(uint32_t state[8], const uint8_t *data, size_t blocks);
#endif

#endif
