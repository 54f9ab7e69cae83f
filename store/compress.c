/*
 * compress.c - zstd compression of chunk bodies.  The only file in varve that
 * includes zstd.h.
 *
 * A struct vs_zctx pairs one ZSTD_CCtx and one ZSTD_DCtx so a worker thread
 * allocates zstd's working memory once, not per chunk.  Frames are written
 * single-shot with the content size in the header and without zstd's own
 * checksum (the chunk id already verifies every byte).  The same input and
 * level always give the same frame, so compressing twice is reproducible.
 *
 * Decompression trusts nothing in the frame: the input must be exactly one
 * zstd frame (no skippable frame, no trailing bytes), its header must declare
 * a content size equal to the caller's raw_len, and the output buffer is
 * bounded by raw_len, so a hostile frame can neither make us allocate more
 * than the caller expected nor decode to a different length.
 */
#include "compress.h"

#include <stdlib.h>

#include <zstd.h>

#include "error.h"
#include "banned.h"

struct vs_zctx {
	ZSTD_CCtx *cctx;
	ZSTD_DCtx *dctx;
	int level;
};

struct vs_zctx *vs_zctx_new(int level)
{
	struct vs_zctx *z = calloc(1, sizeof(*z));

	if (!z)
		goto fail;
	z->level = level;
	z->cctx = ZSTD_createCCtx();
	if (!z->cctx)
		goto fail_free;
	z->dctx = ZSTD_createDCtx();
	if (!z->dctx)
		goto fail_cctx;
	if (ZSTD_isError(ZSTD_CCtx_setParameter(z->cctx,
						ZSTD_c_compressionLevel,
						level)) ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(z->cctx,
						ZSTD_c_contentSizeFlag, 1)) ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(z->cctx,
						ZSTD_c_checksumFlag, 0)))
		goto fail_dctx;
	return z;

fail_dctx:
	ZSTD_freeDCtx(z->dctx);
fail_cctx:
	ZSTD_freeCCtx(z->cctx);
fail_free:
	free(z);
fail:
	return NULL;
}

void vs_zctx_free(struct vs_zctx *z)
{
	if (!z)
		return;
	ZSTD_freeDCtx(z->dctx);
	ZSTD_freeCCtx(z->cctx);
	free(z);
}

int vs_compress(struct vs_zctx *z, const void *src, size_t len,
		struct vs_buf *out)
{
	size_t bound = ZSTD_compressBound(len);
	size_t n;

	if (ZSTD_isError(bound))
		return VS_E_COMPRESS;
	vs_buf_grow(out, bound);
	n = ZSTD_compress2(z->cctx, out->data + out->len, bound, src, len);
	if (ZSTD_isError(n)) {
		/* A failed call may leave the context mid-frame. */
		ZSTD_CCtx_reset(z->cctx, ZSTD_reset_session_only);
		return VS_E_COMPRESS;
	}
	vs_buf_setlen(out, out->len + n);
	return 0;
}

static uint32_t vs_le32(const void *p)
{
	const uint8_t *b = p;

	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
	       (uint32_t)b[3] << 24;
}

int vs_decompress(struct vs_zctx *z, const void *src, size_t len,
		  size_t raw_len, struct vs_buf *out)
{
	unsigned long long content;
	size_t frame, n;

	/* Exactly one regular frame (not skippable, not legacy), no tail. */
	if (len < 4 || vs_le32(src) != ZSTD_MAGICNUMBER)
		return VS_E_CORRUPT;
	frame = ZSTD_findFrameCompressedSize(src, len);
	if (ZSTD_isError(frame) || frame != len)
		return VS_E_CORRUPT;
	content = ZSTD_getFrameContentSize(src, len);
	if (content == ZSTD_CONTENTSIZE_UNKNOWN ||
	    content == ZSTD_CONTENTSIZE_ERROR || content != raw_len)
		return VS_E_CORRUPT;

	vs_buf_grow(out, raw_len);
	n = ZSTD_decompressDCtx(z->dctx, out->data + out->len, raw_len,
				src, len);
	if (ZSTD_isError(n) || n != raw_len) {
		ZSTD_DCtx_reset(z->dctx, ZSTD_reset_session_only);
		/* Whatever was written past len is not part of out. */
		vs_buf_setlen(out, out->len);
		return VS_E_CORRUPT;
	}
	vs_buf_setlen(out, out->len + n);
	return 0;
}
