/*
 * codec.h - how a chunk body is stored: the value in the chunks column
 * family.
 *
 *   value = codec(u8) raw_len(varint) payload
 *
 *   VS_CODEC_RAW     payload: the raw bytes
 *   VS_CODEC_ZSTD    payload: one zstd frame of the raw bytes
 *   VS_CODEC_PLANES  payload: the four byte planes of the raw bytes (planes.h),
 *                    plane 0 first, each as
 *                        kind(u8: 0 raw, 1 zstd) stored_len(varint) bytes
 *                    (store format 2 and later)
 *
 * The encoder picks the codec: byte planes for float-like data, else zstd,
 * and raw whenever compression would save less than 1/32.  The decoder
 * trusts nothing: every length is checked against raw_len, which is bounded,
 * and nothing may follow the payload.  Neither re-hashes; vs_chunk_get() does.
 */
#ifndef VS_CODEC_H
#define VS_CODEC_H

#include <stddef.h>

#include "buf.h"
#include "compress.h"

enum vs_chunk_codec {
	VS_CODEC_RAW = 0,
	VS_CODEC_ZSTD = 1,
	VS_CODEC_PLANES = 2,
};

/* The largest raw chunk a decoder accepts (the chunker's max is far below). */
#define VS_CODEC_MAX_RAW (64u << 20)

enum vs_codec_flags {
	VS_CODEC_ALLOW_PLANES = 1 << 0,
};

/* Encode <src, len> and append the value to out.  0 or VS_E_COMPRESS. */
int vs_codec_encode(struct vs_zctx *z, const void *src, size_t len,
		    unsigned flags, struct vs_buf *out);

/*
 * Decode the value <val, len> into out (reset first).  0, or VS_E_CORRUPT
 * for anything malformed, out then empty.
 */
int vs_codec_decode(struct vs_zctx *z, const void *val, size_t len,
		    struct vs_buf *out);

#endif
