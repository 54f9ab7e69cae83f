/*
 * planes.c - splitting chunks into byte planes, and the test that says when
 * it pays.
 *
 * The test estimates each plane's order-0 entropy from byte histograms of
 * eight 1 KiB windows spread over the chunk.  With 2048 samples per plane the
 * estimate for random bytes lands near 7.9 bits, for the sign-and-exponent
 * byte of float32 weights near 3 bits, for text at 4 to 5 bits on every
 * plane.  A chunk is split when at least one plane is noise (zstd could not
 * find matches through it anyway) and at least one is not.
 */
#include "planes.h"

#include <math.h>
#include <string.h>

#include "banned.h"

#define SAMPLE_WINDOWS 8
#define SAMPLE_WINDOW 1024		/* a multiple of VS_PLANES */
#define MIN_SPLIT_LEN (16 * 1024)
#define NOISE_BITS 7.5			/* at or above: store the plane raw */
#define SIGNAL_BITS 6.5			/* at or below: worth compressing */

void vs_plane_extract(const uint8_t *restrict src, size_t len, unsigned k,
		      uint8_t *restrict dst)
{
	size_t n = vs_plane_len(len, k), i;

	/* Written so the compiler vectorizes it. */
	src += k;
	for (i = 0; i < n; i++)
		dst[i] = src[VS_PLANES * i];
}

void vs_planes_join(const uint8_t *const p[VS_PLANES], size_t len,
		    uint8_t *restrict dst)
{
	const uint8_t *restrict p0 = p[0], *restrict p1 = p[1];
	const uint8_t *restrict p2 = p[2], *restrict p3 = p[3];
	size_t n = len / VS_PLANES, i;

	for (i = 0; i < n; i++) {
		dst[4 * i] = p0[i];
		dst[4 * i + 1] = p1[i];
		dst[4 * i + 2] = p2[i];
		dst[4 * i + 3] = p3[i];
	}
	if (len % 4 > 0)
		dst[4 * n] = p0[n];
	if (len % 4 > 1)
		dst[4 * n + 1] = p1[n];
	if (len % 4 > 2)
		dst[4 * n + 2] = p2[n];
}

static double entropy_bits(const uint32_t hist[256], uint32_t n)
{
	double h = 0;
	int i;

	for (i = 0; i < 256; i++) {
		double p;

		if (!hist[i])
			continue;
		p = (double)hist[i] / n;
		h -= p * log2(p);
	}
	return h;
}

bool vs_planes_worth(const uint8_t *src, size_t len, bool noisy[VS_PLANES])
{
	uint32_t hist[VS_PLANES][256];
	double bits, lo = 8, hi = 0;
	size_t w, i, off;
	unsigned k;

	if (len < MIN_SPLIT_LEN)
		return false;
	memset(hist, 0, sizeof(hist));
	for (w = 0; w < SAMPLE_WINDOWS; w++) {
		/* Window starts are multiples of 4: planes stay planes. */
		off = (len - SAMPLE_WINDOW) / (SAMPLE_WINDOWS - 1) * w;
		off -= off % VS_PLANES;
		for (i = 0; i < SAMPLE_WINDOW; i += VS_PLANES) {
			hist[0][src[off + i]]++;
			hist[1][src[off + i + 1]]++;
			hist[2][src[off + i + 2]]++;
			hist[3][src[off + i + 3]]++;
		}
	}
	for (k = 0; k < VS_PLANES; k++) {
		bits = entropy_bits(hist[k],
				    SAMPLE_WINDOWS * SAMPLE_WINDOW / VS_PLANES);
		noisy[k] = bits >= NOISE_BITS;
		lo = bits < lo ? bits : lo;
		hi = bits > hi ? bits : hi;
	}
	return hi >= NOISE_BITS && lo <= SIGNAL_BITS;
}
