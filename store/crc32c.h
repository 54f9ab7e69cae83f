/*
 * crc32c.h - CRC-32C (Castagnoli) with the SSE4.2 crc32 instruction.
 *
 * Only kv.c uses it, to give librocksdb the hardware CRC that Debian's
 * portable build of RocksDB leaves out (see the note there).  On CPUs or
 * architectures without the instruction vs_crc32c_hw_ok() is false and
 * vs_crc32c_hw() must not be called.
 *
 * vs_crc32c_hw(crc, p, n) extends crc, the CRC-32C of some string A (0 for
 * the empty string), to the CRC-32C of A followed by <p, n>: the usual
 * reflected CRC with the state inverted before and after, so
 * vs_crc32c_hw(0, "123456789", 9) == 0xe3069283.
 */
#ifndef VS_CRC32C_H
#define VS_CRC32C_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <nmmintrin.h>

static inline bool vs_crc32c_hw_ok(void)
{
	return __builtin_cpu_supports("sse4.2");
}

__attribute__((target("sse4.2")))
static inline uint32_t vs_crc32c_hw(uint32_t crc, const void *data, size_t n)
{
	const unsigned char *p = data;
	uint64_t l = crc ^ 0xffffffffu;

	for (; n && ((uintptr_t)p & 7); n--)
		l = _mm_crc32_u8((uint32_t)l, *p++);
	for (; n >= 8; n -= 8, p += 8) {
		uint64_t w;

		memcpy(&w, p, 8);
		l = _mm_crc32_u64(l, w);
	}
	for (; n; n--)
		l = _mm_crc32_u8((uint32_t)l, *p++);
	return (uint32_t)l ^ 0xffffffffu;
}
#else
static inline bool vs_crc32c_hw_ok(void)
{
	return false;
}

static inline uint32_t vs_crc32c_hw(uint32_t crc, const void *data, size_t n)
{
	(void)data;
	(void)n;
	return crc;
}
#endif

#endif
