/*
 * planes.h - byte planes: the bytes of a chunk split by their position
 * modulo 4.
 *
 * Model weights are arrays of 16- and 32-bit floats.  Byte by byte they look
 * random (zstd saves about 8% on float32 weights), but their bytes are not
 * alike: the byte holding the sign and the high exponent bits takes a few
 * dozen values, while the low mantissa bytes are noise.  Plane k holds the
 * bytes at positions k, k+4, k+8, ... of the chunk; compressing the
 * low-entropy planes alone and storing the noisy ones as they are saves more
 * and costs much less CPU, both ways, than zstd on the interleaved bytes.
 *
 * Plane k of a chunk of len bytes is vs_plane_len(len, k) bytes long, and a
 * split buffer holds the four planes one after the other, plane 0 first.
 */
#ifndef VS_PLANES_H
#define VS_PLANES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VS_PLANES 4

static inline size_t vs_plane_len(size_t len, unsigned k)
{
	return (len + VS_PLANES - 1 - k) / VS_PLANES;
}

/* Write plane k of <src, len> to dst (vs_plane_len(len, k) bytes). */
void vs_plane_extract(const uint8_t *src, size_t len, unsigned k,
		      uint8_t *dst);

/* Interleave the planes p[0..3] of a len-byte chunk back into dst. */
void vs_planes_join(const uint8_t *const p[VS_PLANES], size_t len,
		    uint8_t *dst);

/*
 * Look at a sample of <src, len> and decide whether it is worth splitting:
 * true when some planes are noise and some are not, as in arrays of floats.
 * Then noisy[k] says whether plane k looks incompressible (store it raw
 * without trying).  Text, already compressed data and random bytes answer
 * false.  Cheap: it reads at most 8 KiB of the chunk.
 */
bool vs_planes_worth(const uint8_t *src, size_t len, bool noisy[VS_PLANES]);

#endif
