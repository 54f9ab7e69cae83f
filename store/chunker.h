/*
 * chunker.h - content-defined chunking: FastCDC with normalized chunking.
 *
 * DESIGN NOTES
 *  1. A cut point depends only on the bytes since the previous cut (the gear
 *     hash forgets everything older than 64 bytes), so an insertion or a
 *     deletion changes the chunks around it and boundaries re-synchronise
 *     after it.
 *  2. min <= avg <= max, all powers of two, min >= 64, max <= 16 MiB; checked
 *     by vs_chunker_params_valid().  No cut is made before min bytes; a cut is
 *     forced at max bytes; between min and avg a stricter mask (more one bits)
 *     is used, after avg a looser one (normalisation level 2), which narrows
 *     the size distribution around avg.
 *  3. The gear table is a fixed constant: chunk boundaries, and hence chunk
 *     ids, are identical across builds, machines and versions of varve.  A
 *     store records its min/avg/max at init and never changes them.
 */
#ifndef VS_CHUNKER_H
#define VS_CHUNKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vs_chunker_params {
	uint32_t min;
	uint32_t avg;
	uint32_t max;
};

bool vs_chunker_params_valid(const struct vs_chunker_params *p);

/*
 * Length of the first chunk of <data, len>, a value in [1, len] (0 only when
 * len == 0).  The caller passes either at least p->max bytes or everything
 * that is left of the input; the answer is then final.  Stateless: the
 * caller advances by the returned length and calls again.
 */
size_t vs_chunker_next(const struct vs_chunker_params *p, const uint8_t *data,
		       size_t len);

#endif
