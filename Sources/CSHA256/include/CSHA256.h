// SHA-256 (FIPS 180-4) without allocation: the hash of every Merkle node, key and value of the state tree.
//
// `sluice_sha256` uses the x86 SHA extensions when the CPU has them (checked once, at the first call) and a
// portable implementation otherwise (other CPUs, aarch64 included). Both paths are exposed so that tests can
// compare each with a reference.
#ifndef CSHA256_H
#define CSHA256_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// SHA-256 of `length` bytes at `data` (which may be NULL when `length` is 0) into `digest`.
void sluice_sha256(const void *data, size_t length, uint8_t digest[32]);

/// The same hash with the portable implementation, whatever the CPU.
void sluice_sha256_portable(const void *data, size_t length, uint8_t digest[32]);

/// The same hash with the x86 SHA extensions. Returns 0 and writes nothing when the CPU lacks them.
int sluice_sha256_accelerated(const void *data, size_t length, uint8_t digest[32]);

/// 1 when `sluice_sha256` uses the x86 SHA extensions on this CPU, else 0.
int sluice_sha256_is_accelerated(void);

#ifdef __cplusplus
}
#endif

#endif
