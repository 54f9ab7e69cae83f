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

#include <stdbool.h>
#include <stdlib.h>

#include <zstd.h>

#include "error.h"
#include "banned.h"

struct vs_zctx {
	ZSTD_CCtx *cctx;
	ZSTD_CCtx *plane_cctx;
	ZSTD_DCtx *dctx;
	struct vs_buf scratch;
	int level;
};

/*
 * Byte planes of numeric data gain from entropy coding, hardly from matches:
 * the fastest strategy with a tiny hash table and long minimum matches
 * compresses the sign-and-exponent plane of float32 weights 2.3 times faster
 * than level 1, to a smaller size (measured: 2.95x against 2.56x), and
 * decompresses it 2.2 times faster.
 */
static bool set_plane_params(ZSTD_CCtx *c)
{
	return !ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel,
						    1)) &&
	       !ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_strategy,
						    ZSTD_fast)) &&
	       !ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_hashLog, 6)) &&
	       !ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_minMatch, 7)) &&
	       !ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_contentSizeFlag,
						    1)) &&
	       !ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag,
						    0));
}

struct vs_zctx *vs_zctx_new(int level)
{
	struct vs_zctx *z = calloc(1, sizeof(*z));

	if (!z)
		goto fail;
	z->level = level;
	z->cctx = ZSTD_createCCtx();
	if (!z->cctx)
		goto fail_free;
	z->plane_cctx = ZSTD_createCCtx();
	if (!z->plane_cctx)
		goto fail_cctx;
	z->dctx = ZSTD_createDCtx();
	if (!z->dctx)
		goto fail_plane;
	if (ZSTD_isError(ZSTD_CCtx_setParameter(z->cctx,
						ZSTD_c_compressionLevel,
						level)) ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(z->cctx,
						ZSTD_c_contentSizeFlag, 1)) ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(z->cctx,
						ZSTD_c_checksumFlag, 0)) ||
	    !set_plane_params(z->plane_cctx))
		goto fail_dctx;
	vs_buf_init(&z->scratch, 0);
	return z;

fail_dctx:
	ZSTD_freeDCtx(z->dctx);
fail_plane:
	ZSTD_freeCCtx(z->plane_cctx);
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
	vs_buf_release(&z->scratch);
	ZSTD_freeDCtx(z->dctx);
	ZSTD_freeCCtx(z->plane_cctx);
	ZSTD_freeCCtx(z->cctx);
	free(z);
}

struct vs_buf *vs_zctx_scratch(struct vs_zctx *z)
{
	return &z->scratch;
}

static int compress_with(ZSTD_CCtx *c, const void *src, size_t len,
			 struct vs_buf *out)
{
	size_t bound = ZSTD_compressBound(len);
	size_t n;

	if (ZSTD_isError(bound))
		return VS_E_COMPRESS;
	vs_buf_grow(out, bound);
	n = ZSTD_compress2(c, out->data + out->len, bound, src, len);
	if (ZSTD_isError(n)) {
		/* A failed call may leave the context mid-frame. */
		ZSTD_CCtx_reset(c, ZSTD_reset_session_only);
		return VS_E_COMPRESS;
	}
	vs_buf_setlen(out, out->len + n);
	return 0;
}

int vs_compress(struct vs_zctx *z, const void *src, size_t len,
		struct vs_buf *out)
{
	return compress_with(z->cctx, src, len, out);
}

int vs_compress_plane(struct vs_zctx *z, const void *src, size_t len,
		      struct vs_buf *out)
{
	return compress_with(z->plane_cctx, src, len, out);
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
