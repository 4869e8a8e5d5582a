// SHA-256 (FIPS 180-4): one driver (padding, length, output) over two block functions, a portable one and
// one using the x86 SHA extensions (sha256_x86.c). Nothing is allocated: the tail blocks are built on the
// stack. The accelerated path is picked once, at the first call, from CPUID.

#include "CSHA256.h"
#include "sha256_internal.h"

#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

static const uint32_t initial_state[8] = {
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
};

const uint32_t sluice_sha256_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static inline uint32_t rotr(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

static inline uint32_t load_be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static inline void store_be32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/// The compression function, one 64-byte block at a time.
static void compress_portable(uint32_t state[8], const uint8_t *data, size_t blocks) {
    uint32_t w[64];
    while (blocks--) {
        for (int i = 0; i < 16; i++) w[i] = load_be32(data + 4 * i);
        for (int i = 16; i < 64; i++) {
            uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
            uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16] + s0 + w[i - 7] + s1;
        }
        uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
        uint32_t e = state[4], f = state[5], g = state[6], h = state[7];
        for (int i = 0; i < 64; i++) {
            uint32_t t1 = h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + sluice_sha256_k[i] + w[i];
            uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
            h = g;
            g = f;
            f = e;
            e = d + t1;
            d = c;
            c = b;
            b = a;
            a = t1 + t2;
        }
        state[0] += a;
        state[1] += b;
        state[2] += c;
        state[3] += d;
        state[4] += e;
        state[5] += f;
        state[6] += g;
        state[7] += h;
        data += 64;
    }
}

typedef void (*compress_function)(uint32_t state[8], const uint8_t *data, size_t blocks);

/// Hashes with the given block function: whole blocks straight from the input, then the last partial block,
/// the 0x80 byte and the bit length in one or two blocks on the stack.
static inline void hash_with(compress_function compress, const void *data, size_t length, uint8_t digest[32]) {
    uint32_t state[8];
    memcpy(state, initial_state, sizeof state);
    const uint8_t *bytes = (const uint8_t *)data;
    size_t whole = length / 64;
    if (whole > 0) compress(state, bytes, whole);
    size_t rest = length % 64;
    uint8_t tail[128];
    if (rest > 0) memcpy(tail, bytes + whole * 64, rest);
    tail[rest] = 0x80;
    size_t tail_length = rest < 56 ? 64 : 128;
    memset(tail + rest + 1, 0, tail_length - rest - 1 - 8);
    uint64_t bits = (uint64_t)length << 3;
    for (int i = 0; i < 8; i++) tail[tail_length - 1 - i] = (uint8_t)(bits >> (8 * i));
    compress(state, tail, tail_length / 64);
    for (int i = 0; i < 8; i++) store_be32(digest + 4 * i, state[i]);
}

void sluice_sha256_portable(const void *data, size_t length, uint8_t digest[32]) {
    hash_with(compress_portable, data, length, digest);
}

#if defined(__x86_64__) || defined(__i386__)

/// CPUID: SHA (leaf 7, EBX bit 29), SSSE3 (leaf 1, ECX bit 9) and SSE4.1 (leaf 1, ECX bit 19).
static int cpu_has_sha_extensions(void) {
    unsigned eax, ebx, ecx, edx;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return 0;
    if (!(ecx & (1u << 9)) || !(ecx & (1u << 19))) return 0;
    if (__get_cpuid_max(0, NULL) < 7) return 0;
    __cpuid_count(7, 0, eax, ebx, ecx, edx);
    return (ebx & (1u << 29)) != 0;
}

/// -1 until the first call checks the CPU. Threads racing on the first call store the same answer.
static int accelerated = -1;

int sluice_sha256_is_accelerated(void) {
    int known = __atomic_load_n(&accelerated, __ATOMIC_RELAXED);
    if (known < 0) {
        known = cpu_has_sha_extensions();
        __atomic_store_n(&accelerated, known, __ATOMIC_RELAXED);
    }
    return known;
}

int sluice_sha256_accelerated(const void *data, size_t length, uint8_t digest[32]) {
    if (!sluice_sha256_is_accelerated()) return 0;
    hash_with(sluice_sha256_compress_x86, data, length, digest);
    return 1;
}

void sluice_sha256(const void *data, size_t length, uint8_t digest[32]) {
    if (sluice_sha256_is_accelerated()) {
        hash_with(sluice_sha256_compress_x86, data, length, digest);
    } else {
        hash_with(compress_portable, data, length, digest);
    }
}

#else

int sluice_sha256_is_accelerated(void) { return 0; }

int sluice_sha256_accelerated(const void *data, size_t length, uint8_t digest[32]) {
    (void)data;
    (void)length;
    (void)digest;
    return 0;
}

void sluice_sha256(const void *data, size_t length, uint8_t digest[32]) {
    hash_with(compress_portable, data, length, digest);
}

#endif
