// The SHA-256 compression function with the x86 SHA extensions (SHA-NI: sha256rnds2, sha256msg1,
// sha256msg2), compiled for those instructions whatever the target's baseline; the driver calls it only after
// CPUID says the CPU has them.
//
// sha256rnds2 does two rounds on the state split as ABEF and CDGH (lane 3 first), so the state is shuffled
// into that form once per call and back at the end. Each group of four rounds adds the next four message
// words to their constants; words 16..63 come from sha256msg1 (W[t-16] + σ0(W[t-15])), the W[t-7] terms,
// and sha256msg2 (+ σ1(W[t-2])).

#include "sha256_internal.h"

#if defined(__x86_64__) || defined(__i386__)

#include <immintrin.h>

#define SHA_TARGET __attribute__((target("sha,sse4.1,ssse3")))

/// Four rounds with the message words `w` (group `g` of 16).
#define ROUNDS(g, w)                                                                        \
    do {                                                                                    \
        __m128i m = _mm_add_epi32((w), _mm_loadu_si128((const __m128i *)&sluice_sha256_k[4 * (g)])); \
        cdgh = _mm_sha256rnds2_epu32(cdgh, abef, m);                                        \
        m = _mm_shuffle_epi32(m, 0x0E);                                                     \
        abef = _mm_sha256rnds2_epu32(abef, cdgh, m);                                        \
    } while (0)

/// The next four message words from the previous sixteen (w0 oldest): overwrites w0.
#define SCHEDULE(w0, w1, w2, w3) \
    (w0) = _mm_sha256msg2_epu32(_mm_add_epi32(_mm_sha256msg1_epu32((w0), (w1)), _mm_alignr_epi8((w3), (w2), 4)), (w3))

SHA_TARGET
void sluice_sha256_compress_x86(uint32_t state[8], const uint8_t *data, size_t blocks) {
    const __m128i byteswap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
    __m128i abcd = _mm_loadu_si128((const __m128i *)&state[0]);
    __m128i efgh = _mm_loadu_si128((const __m128i *)&state[4]);
    abcd = _mm_shuffle_epi32(abcd, 0xB1);              // lanes B A D C
    efgh = _mm_shuffle_epi32(efgh, 0x1B);              // lanes H G F E
    __m128i abef = _mm_alignr_epi8(abcd, efgh, 8);     // lanes F E B A
    __m128i cdgh = _mm_blend_epi16(efgh, abcd, 0xF0);  // lanes H G D C

    while (blocks--) {
        const __m128i saved_abef = abef;
        const __m128i saved_cdgh = cdgh;
        __m128i w0 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(data + 0)), byteswap);
        __m128i w1 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(data + 16)), byteswap);
        __m128i w2 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(data + 32)), byteswap);
        __m128i w3 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(data + 48)), byteswap);
        ROUNDS(0, w0);
        ROUNDS(1, w1);
        ROUNDS(2, w2);
        ROUNDS(3, w3);
        SCHEDULE(w0, w1, w2, w3);
        ROUNDS(4, w0);
        SCHEDULE(w1, w2, w3, w0);
        ROUNDS(5, w1);
        SCHEDULE(w2, w3, w0, w1);
        ROUNDS(6, w2);
        SCHEDULE(w3, w0, w1, w2);
        ROUNDS(7, w3);
        SCHEDULE(w0, w1, w2, w3);
        ROUNDS(8, w0);
        SCHEDULE(w1, w2, w3, w0);
        ROUNDS(9, w1);
        SCHEDULE(w2, w3, w0, w1);
        ROUNDS(10, w2);
        SCHEDULE(w3, w0, w1, w2);
        ROUNDS(11, w3);
        SCHEDULE(w0, w1, w2, w3);
        ROUNDS(12, w0);
        SCHEDULE(w1, w2, w3, w0);
        ROUNDS(13, w1);
        SCHEDULE(w2, w3, w0, w1);
        ROUNDS(14, w2);
        SCHEDULE(w3, w0, w1, w2);
        ROUNDS(15, w3);
        abef = _mm_add_epi32(abef, saved_abef);
        cdgh = _mm_add_epi32(cdgh, saved_cdgh);
        data += 64;
    }

    __m128i feba = _mm_shuffle_epi32(abef, 0x1B);         // lanes A B E F
    __m128i dchg = _mm_shuffle_epi32(cdgh, 0xB1);         // lanes G H C D
    abcd = _mm_blend_epi16(feba, dchg, 0xF0);             // lanes A B C D
    efgh = _mm_alignr_epi8(dchg, feba, 8);                // lanes E F G H
    _mm_storeu_si128((__m128i *)&state[0], abcd);
    _mm_storeu_si128((__m128i *)&state[4], efgh);
}

#endif
