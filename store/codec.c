/*
 * codec.c - encoding and decoding chunk values (the format is in codec.h).
 */
#include "codec.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <xxhash.h>

#include "error.h"
#include "planes.h"
#include "banned.h"

enum plane_kind {
	PLANE_RAW = 0,
	PLANE_ZSTD = 1,
};

/* Compression has to save at least 1/32 of what it compresses. */
static bool saves_enough(size_t stored, size_t raw)
{
	return stored <= raw - raw / 32;
}

/* What a value's header says of the raw bytes. */
struct header {
	size_t len;
	unsigned flags;		/* VS_CODEC_CHECKSUM: sum follows the length */
	uint64_t sum;
};

static void put_header(struct vs_buf *out, enum vs_chunk_codec codec,
		       const struct header *h)
{
	if (h->flags & VS_CODEC_CHECKSUM) {
		vs_buf_addch(out, codec | VS_CODEC_CHECKSUM_BIT);
		vs_buf_add_varint(out, h->len);
		vs_buf_add_u64be(out, h->sum);
	} else {
		vs_buf_addch(out, codec);
		vs_buf_add_varint(out, h->len);
	}
}

static void put_raw(const void *src, const struct header *h,
		    struct vs_buf *out)
{
	put_header(out, VS_CODEC_RAW, h);
	vs_buf_add(out, src, h->len);
}

/*
 * Append plane k of <src, len> as kind, length, bytes: compressed (through
 * the scratch buffer) unless it is noise or compression saves too little.
 */
static int put_plane(struct vs_zctx *z, const uint8_t *src, size_t len,
		     unsigned k, bool noisy, struct vs_buf *out)
{
	struct vs_buf *plane = vs_zctx_scratch(z), frame = VS_BUF_INIT;
	size_t n = vs_plane_len(len, k);
	int r = 0;

	if (!noisy) {
		vs_buf_reset(plane);
		vs_buf_grow(plane, n);
		vs_plane_extract(src, len, k, (uint8_t *)plane->data);
		vs_buf_setlen(plane, n);
		r = vs_compress_plane(z, plane->data, n, &frame);
		if (r < 0)
			goto out;
	}
	if (!noisy && saves_enough(frame.len, n)) {
		vs_buf_addch(out, PLANE_ZSTD);
		vs_buf_add_varint(out, frame.len);
		vs_buf_add(out, frame.data, frame.len);
	} else {
		/* Noise goes straight from the chunk into the value. */
		vs_buf_addch(out, PLANE_RAW);
		vs_buf_add_varint(out, n);
		vs_buf_grow(out, n);
		vs_plane_extract(src, len, k,
				 (uint8_t *)out->data + out->len);
		vs_buf_setlen(out, out->len + n);
	}
out:
	vs_buf_release(&frame);
	return r;
}

/* Append a planes value to out, or leave out as it was and answer 1. */
static int put_planes(struct vs_zctx *z, const uint8_t *src,
		      const struct header *h, const bool noisy[VS_PLANES],
		      struct vs_buf *out)
{
	size_t start = out->len, hdr, len = h->len;
	unsigned k;
	int r;

	put_header(out, VS_CODEC_PLANES, h);
	hdr = out->len;
	for (k = 0; k < VS_PLANES; k++) {
		r = put_plane(z, src, len, k, noisy[k], out);
		if (r < 0)
			goto undo;
	}
	if (saves_enough(out->len - hdr, len))
		return 0;
	r = 1;
undo:
	vs_buf_setlen(out, start);
	return r;
}

int vs_codec_encode(struct vs_zctx *z, const void *src, size_t len,
		    unsigned flags, struct vs_buf *out)
{
	struct header h = { .len = len, .flags = flags };
	bool noisy[VS_PLANES];
	size_t start = out->len, hdr;
	int r;

	if (flags & VS_CODEC_CHECKSUM)
		h.sum = XXH3_64bits(src, len);
	vs_buf_grow(out, len + 32);
	if ((flags & VS_CODEC_ALLOW_PLANES) &&
	    vs_planes_worth(src, len, noisy)) {
		r = put_planes(z, src, &h, noisy, out);
		if (r <= 0)
			return r;
	} else {
		put_header(out, VS_CODEC_ZSTD, &h);
		hdr = out->len;
		r = vs_compress(z, src, len, out);
		if (r < 0) {
			vs_buf_setlen(out, start);
			return r;
		}
		if (saves_enough(out->len - hdr, len))
			return 0;
		vs_buf_setlen(out, start);
	}
	put_raw(src, &h, out);
	return 0;
}

/*
 * Decode the planes of a len-byte chunk from c into out.  Raw planes are
 * joined straight from the value; compressed ones go through the scratch
 * buffer first.
 */
static int get_planes(struct vs_zctx *z, struct vs_cursor *c, size_t len,
		      struct vs_buf *out)
{
	struct vs_buf *tmp = vs_zctx_scratch(z);
	const uint8_t *p[VS_PLANES];
	size_t at[VS_PLANES];
	bool packed[VS_PLANES];
	unsigned k;

	vs_buf_reset(tmp);
	for (k = 0; k < VS_PLANES; k++) {
		size_t n = vs_plane_len(len, k);
		uint8_t kind = vs_cursor_u8(c);
		uint64_t stored = vs_cursor_varint(c);
		const uint8_t *bytes;

		if (!vs_cursor_ok(c) || stored > vs_cursor_left(c))
			return VS_E_CORRUPT;
		bytes = vs_cursor_take(c, stored);
		packed[k] = kind == PLANE_ZSTD;
		if (kind == PLANE_RAW) {
			if (stored != n)
				return VS_E_CORRUPT;
			p[k] = bytes;
		} else if (kind == PLANE_ZSTD) {
			at[k] = tmp->len;
			if (vs_decompress(z, bytes, stored, n, tmp) < 0)
				return VS_E_CORRUPT;
		} else {
			return VS_E_CORRUPT;
		}
	}
	if (vs_cursor_left(c))
		return VS_E_CORRUPT;
	/* tmp no longer grows: pointers into it stay valid. */
	for (k = 0; k < VS_PLANES; k++)
		if (packed[k])
			p[k] = (const uint8_t *)tmp->data + at[k];
	vs_buf_grow(out, len);
	vs_planes_join(p, len, (uint8_t *)out->data);
	vs_buf_setlen(out, len);
	return 0;
}

int vs_codec_decode(struct vs_zctx *z, const void *val, size_t len,
		    struct vs_buf *out)
{
	struct vs_cursor c;
	uint64_t raw_len, sum = 0;
	uint8_t codec;
	size_t left;
	int r = VS_E_CORRUPT;

	vs_buf_reset(out);
	vs_cursor_init(&c, val, len);
	codec = vs_cursor_u8(&c);
	raw_len = vs_cursor_varint(&c);
	if (codec & VS_CODEC_CHECKSUM_BIT)
		sum = vs_cursor_u64be(&c);
	left = vs_cursor_left(&c);
	if (!vs_cursor_ok(&c) || raw_len > VS_CODEC_MAX_RAW)
		goto out;
	switch (codec & ~VS_CODEC_CHECKSUM_BIT) {
	case VS_CODEC_RAW:
		if (left != raw_len)
			goto out;
		vs_buf_add(out, vs_cursor_take(&c, left), left);
		r = 0;
		break;
	case VS_CODEC_ZSTD:
		r = vs_decompress(z, vs_cursor_take(&c, left), left, raw_len,
				  out);
		break;
	case VS_CODEC_PLANES:
		r = get_planes(z, &c, raw_len, out);
		break;
	}
	if (r == 0 && (codec & VS_CODEC_CHECKSUM_BIT) &&
	    XXH3_64bits(out->data, out->len) != sum)
		r = VS_E_CORRUPT;
out:
	if (r < 0) {
		vs_buf_reset(out);
		r = VS_E_CORRUPT;
	}
	return r;
}

bool vs_codec_has_checksum(const void *val, size_t len)
{
	return len > 0 && (*(const uint8_t *)val & VS_CODEC_CHECKSUM_BIT);
}
