/*
 * compress.h - zstd, wrapped.  The only module that includes zstd.h.
 *
 * A struct vs_zctx holds one compression and one decompression context and
 * is meant to live for the whole of one worker thread.
 */
#ifndef VS_COMPRESS_H
#define VS_COMPRESS_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct vs_zctx;

/* NULL only on allocation failure. */
struct vs_zctx *vs_zctx_new(int level);
void vs_zctx_free(struct vs_zctx *z);

/*
 * Compress <src, len> and append the frame to out.
 * Returns 0 or VS_E_COMPRESS.
 */
int vs_compress(struct vs_zctx *z, const void *src, size_t len,
		struct vs_buf *out);

/*
 * The same for one byte plane of numeric data (planes.h): parameters tuned
 * for data that gains from entropy coding rather than from matches.  The
 * frame decompresses with vs_decompress().
 */
int vs_compress_plane(struct vs_zctx *z, const void *src, size_t len,
		      struct vs_buf *out);

/*
 * A buffer for the thread that owns z to use between calls (borrowed: valid
 * until vs_zctx_free; its contents are the caller's business).
 */
struct vs_buf *vs_zctx_scratch(struct vs_zctx *z);

/*
 * Decompress one frame <src, len> which must decode to exactly raw_len bytes,
 * appended to out.  Returns 0, or VS_E_CORRUPT for a malformed frame or a
 * size mismatch.
 */
int vs_decompress(struct vs_zctx *z, const void *src, size_t len,
		  size_t raw_len, struct vs_buf *out);

#endif
