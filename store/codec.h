/*
 * codec.h - how a chunk body is stored: the value in the chunks column
 * family.
 *
 *   value = codec(u8) raw_len(varint) [checksum(u64 big-endian)] payload
 *
 *   VS_CODEC_RAW     payload: the raw bytes
 *   VS_CODEC_ZSTD    payload: one zstd frame of the raw bytes
 *   VS_CODEC_PLANES  payload: the four byte planes of the raw bytes (planes.h),
 *                    plane 0 first, each as
 *                        kind(u8: 0 raw, 1 zstd) stored_len(varint) bytes
 *                    (store format 2 and later)
 *
 * With VS_CODEC_CHECKSUM set in the codec byte (store format 3 and later),
 * the checksum is XXH3-64 of the raw bytes, and the decoder compares it with
 * what it produced: a changed byte anywhere in the value, or a decoder that
 * went wrong, is caught without re-hashing the chunk with SHA-256.
 *
 * The encoder picks the codec: byte planes for float-like data, else zstd,
 * and raw whenever compression would save less than 1/32.  The decoder
 * trusts nothing: every length is checked against raw_len, which is bounded,
 * and nothing may follow the payload.  Neither re-hashes with SHA-256;
 * vs_chunk_get() does for values without a checksum.
 */
#ifndef VS_CODEC_H
#define VS_CODEC_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "compress.h"

enum vs_chunk_codec {
	VS_CODEC_RAW = 0,
	VS_CODEC_ZSTD = 1,
	VS_CODEC_PLANES = 2,
};
/* In the codec byte: a checksum of the raw bytes follows raw_len. */
#define VS_CODEC_CHECKSUM_BIT 0x80

/* The largest raw chunk a decoder accepts (the chunker's max is far below). */
#define VS_CODEC_MAX_RAW (64u << 20)

enum vs_codec_flags {
	VS_CODEC_ALLOW_PLANES = 1 << 0,
	VS_CODEC_CHECKSUM = 1 << 1,	/* store a checksum of the raw bytes */
};

/* Encode <src, len> and append the value to out.  0 or VS_E_COMPRESS. */
int vs_codec_encode(struct vs_zctx *z, const void *src, size_t len,
		    unsigned flags, struct vs_buf *out);

/*
 * Decode the value <val, len> into out (reset first).  0, or VS_E_CORRUPT
 * for anything malformed or, for a value with a checksum, for output that
 * does not match it; out is then empty.
 */
int vs_codec_decode(struct vs_zctx *z, const void *val, size_t len,
		    struct vs_buf *out);

/* Whether <val, len> carries a checksum (which vs_codec_decode checks). */
bool vs_codec_has_checksum(const void *val, size_t len);

#endif
