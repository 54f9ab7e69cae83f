/*
 * test_codec.c - unit tests of store/codec.c and store/planes.c: which codec
 * each kind of data gets (byte planes for float32 and bfloat16 weights, zstd
 * for text, raw for noise), byte-exact round trips at every length modulo 4,
 * and rejection of truncated, padded and mislabelled values.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "codec.h"
#include "compress.h"
#include "error.h"
#include "planes.h"
#include "banned.h"

static uint64_t rng_state;

static uint64_t rng_next(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* A normal deviate (Box-Muller), for weights shaped like a model's. */
static double gauss(double scale)
{
	double u1 = ((double)(rng_next() >> 11) + 1) / 9007199254740993.0;
	double u2 = (double)(rng_next() >> 11) / 9007199254740992.0;

	return scale * sqrt(-2 * log(u1)) * cos(6.283185307179586 * u2);
}

enum kind { FLOAT32, BFLOAT16, TEXT, RANDOM };

static uint8_t *make_data(enum kind kind, size_t len)
{
	static const char *const words[] = {
		"tensor,", "epoch ", "gradient ", "the ", "model ", "loss\n",
		"batch ", "of ", "weights ", "dataset ",
	};
	uint8_t *p = malloc(len + 4);
	size_t i, n;

	assert_non_null(p);
	for (i = 0; i < len;) {
		float f;
		uint32_t u;
		const char *w;

		switch (kind) {
		case FLOAT32:
			f = (float)gauss(0.02);
			memcpy(p + i, &f, 4);	/* may run 3 bytes past len */
			i += 4;
			break;
		case BFLOAT16:
			f = (float)gauss(0.05);
			memcpy(&u, &f, 4);
			p[i++] = (uint8_t)(u >> 16);
			p[i++] = (uint8_t)(u >> 24);
			break;
		case TEXT:
			w = words[rng_next() % 10];
			for (n = 0; w[n] && i < len; n++)
				p[i++] = (uint8_t)w[n];
			break;
		case RANDOM:
			p[i++] = (uint8_t)rng_next();
			break;
		}
	}
	return p;
}

/* Encode, check the codec byte, decode, compare; returns the value size. */
static size_t roundtrip(struct vs_zctx *z, const uint8_t *data, size_t len,
			unsigned flags, enum vs_chunk_codec want)
{
	struct vs_buf val = VS_BUF_INIT, out = VS_BUF_INIT;
	size_t n;

	assert_int_equal(vs_codec_encode(z, data, len, flags, &val), 0);
	assert_int_equal((uint8_t)val.data[0], want);
	assert_int_equal(vs_codec_decode(z, val.data, val.len, &out), 0);
	assert_int_equal(out.len, len);
	assert_memory_equal(out.data, data, len);
	n = val.len;
	vs_buf_release(&val);
	vs_buf_release(&out);
	return n;
}

static void test_codec_choice(void **state)
{
	struct vs_zctx *z = vs_zctx_new(1);
	size_t len = 256 * 1024, planes, zstd;
	uint8_t *f32 = make_data(FLOAT32, len), *bf16 = make_data(BFLOAT16, len);
	uint8_t *text = make_data(TEXT, len), *rnd = make_data(RANDOM, len);

	/* Weights: planes, smaller than zstd on the interleaved bytes. */
	planes = roundtrip(z, f32, len, VS_CODEC_ALLOW_PLANES,
			   VS_CODEC_PLANES);
	zstd = roundtrip(z, f32, len, 0, VS_CODEC_ZSTD);
	assert_true(planes < zstd);
	assert_true(planes < len * 9 / 10);
	planes = roundtrip(z, bf16, len, VS_CODEC_ALLOW_PLANES,
			   VS_CODEC_PLANES);
	assert_true(planes < len * 3 / 4);
	/* Text stays zstd, noise stays raw, with or without planes. */
	roundtrip(z, text, len, VS_CODEC_ALLOW_PLANES, VS_CODEC_ZSTD);
	roundtrip(z, text, len, 0, VS_CODEC_ZSTD);
	assert_int_equal(roundtrip(z, rnd, len, VS_CODEC_ALLOW_PLANES,
				   VS_CODEC_RAW), len + 1 + 3);
	roundtrip(z, rnd, len, 0, VS_CODEC_RAW);
	/* Too small to sample: never planes. */
	{
		struct vs_buf val = VS_BUF_INIT;

		assert_int_equal(vs_codec_encode(z, f32, 8000,
						 VS_CODEC_ALLOW_PLANES, &val),
				 0);
		assert_int_not_equal((uint8_t)val.data[0], VS_CODEC_PLANES);
		vs_buf_release(&val);
	}
	free(f32);
	free(bf16);
	free(text);
	free(rnd);
	vs_zctx_free(z);
}

/* Every length modulo 4, and chunks that do not start on a float. */
static void test_planes_lengths(void **state)
{
	struct vs_zctx *z = vs_zctx_new(1);
	size_t len = 100000;
	uint8_t *f32 = make_data(FLOAT32, len + 8);
	size_t skew, extra;

	for (skew = 0; skew < 4; skew++)
		for (extra = 0; extra < 4; extra++)
			roundtrip(z, f32 + skew, len + extra,
				  VS_CODEC_ALLOW_PLANES, VS_CODEC_PLANES);
	free(f32);
	vs_zctx_free(z);
}

static void test_extract_join(void **state)
{
	uint8_t src[67], dst[67], planes[VS_PLANES][17];
	const uint8_t *p[VS_PLANES];
	size_t len, i;
	unsigned k;

	for (i = 0; i < sizeof(src); i++)
		src[i] = (uint8_t)(i * 7 + 1);
	for (len = 0; len <= sizeof(src); len++) {
		size_t total = 0;

		for (k = 0; k < VS_PLANES; k++) {
			vs_plane_extract(src, len, k, planes[k]);
			for (i = 0; i < vs_plane_len(len, k); i++)
				assert_int_equal(planes[k][i],
						 src[i * VS_PLANES + k]);
			total += vs_plane_len(len, k);
			p[k] = planes[k];
		}
		assert_int_equal(total, len);
		memset(dst, 0xee, sizeof(dst));
		vs_planes_join(p, len, dst);
		assert_memory_equal(dst, src, len);
		if (len < sizeof(dst))
			assert_int_equal(dst[len], 0xee);
	}
}

/* A planes value with all four planes raw, for chunks of any length. */
static void raw_planes_value(const uint8_t *src, size_t len,
			     struct vs_buf *val)
{
	unsigned k;

	vs_buf_reset(val);
	vs_buf_addch(val, VS_CODEC_PLANES);
	vs_buf_add_varint(val, len);
	for (k = 0; k < VS_PLANES; k++) {
		size_t n = vs_plane_len(len, k);

		vs_buf_addch(val, 0);
		vs_buf_add_varint(val, n);
		vs_buf_grow(val, n);
		vs_plane_extract(src, len, k, (uint8_t *)val->data + val->len);
		vs_buf_setlen(val, val->len + n);
	}
}

/* The decoder takes any length, tiny ones included. */
static void test_decode_tiny_planes(void **state)
{
	struct vs_zctx *z = vs_zctx_new(1);
	struct vs_buf val = VS_BUF_INIT, out = VS_BUF_INIT;
	const uint8_t src[] = "0123456789";
	size_t len;

	for (len = 0; len <= 10; len++) {
		raw_planes_value(src, len, &val);
		assert_int_equal(vs_codec_decode(z, val.data, val.len, &out),
				 0);
		assert_int_equal(out.len, len);
		assert_memory_equal(out.data, src, len);
	}
	vs_buf_release(&val);
	vs_buf_release(&out);
	vs_zctx_free(z);
}

static void expect_corrupt(struct vs_zctx *z, const void *val, size_t len)
{
	struct vs_buf out = VS_BUF_INIT;

	vs_buf_addstr(&out, "stale");
	assert_int_equal(vs_codec_decode(z, val, len, &out), VS_E_CORRUPT);
	assert_int_equal(out.len, 0);
	vs_buf_release(&out);
}

static void test_reject(void **state)
{
	struct vs_zctx *z = vs_zctx_new(1);
	struct vs_buf val = VS_BUF_INIT, bad = VS_BUF_INIT;
	size_t len = 64 * 1024, cut;
	uint8_t *f32 = make_data(FLOAT32, len);
	const uint8_t src[] = "0123456789";

	assert_int_equal(vs_codec_encode(z, f32, len, VS_CODEC_ALLOW_PLANES,
					 &val), 0);
	assert_int_equal((uint8_t)val.data[0], VS_CODEC_PLANES);
	/* Every truncation, and one byte too many. */
	for (cut = 0; cut < val.len; cut++)
		expect_corrupt(z, val.data, cut);
	vs_buf_add(&bad, val.data, val.len);
	vs_buf_addch(&bad, 0);
	expect_corrupt(z, bad.data, bad.len);
	/* An unknown codec, and an unknown plane kind. */
	vs_buf_reset(&bad);
	vs_buf_add(&bad, val.data, val.len);
	bad.data[0] = 3;
	expect_corrupt(z, bad.data, bad.len);
	raw_planes_value(src, 10, &bad);
	bad.data[2] = 2;	/* plane 0's kind */
	expect_corrupt(z, bad.data, bad.len);
	/* A raw plane of the wrong length: raw_len says 9, planes hold 10. */
	raw_planes_value(src, 10, &bad);
	bad.data[1] = 9;
	expect_corrupt(z, bad.data, bad.len);
	/* A raw chunk longer than the decoder accepts. */
	vs_buf_reset(&bad);
	vs_buf_addch(&bad, VS_CODEC_RAW);
	vs_buf_add_varint(&bad, VS_CODEC_MAX_RAW + 1ull);
	expect_corrupt(z, bad.data, bad.len);
	/* A zstd plane whose frame holds one byte too few. */
	{
		struct vs_buf frame = VS_BUF_INIT;
		unsigned k;

		vs_buf_reset(&bad);
		vs_buf_addch(&bad, VS_CODEC_PLANES);
		vs_buf_add_varint(&bad, 8);
		assert_int_equal(vs_compress_plane(z, "a", 1, &frame), 0);
		vs_buf_addch(&bad, 1);
		vs_buf_add_varint(&bad, frame.len);
		vs_buf_add(&bad, frame.data, frame.len);
		for (k = 1; k < VS_PLANES; k++) {
			vs_buf_addch(&bad, 0);
			vs_buf_add_varint(&bad, 2);
			vs_buf_add(&bad, "xy", 2);
		}
		expect_corrupt(z, bad.data, bad.len);
		vs_buf_release(&frame);
	}
	free(f32);
	vs_buf_release(&val);
	vs_buf_release(&bad);
	vs_zctx_free(z);
}

/* Flipped bytes give the right bytes or VS_E_CORRUPT, never a crash. */
static void test_corrupt_bytes(void **state)
{
	struct vs_zctx *z = vs_zctx_new(1);
	struct vs_buf val = VS_BUF_INIT, out = VS_BUF_INIT;
	size_t len = 32 * 1024, i;
	uint8_t *f32 = make_data(FLOAT32, len);
	int r;

	assert_int_equal(vs_codec_encode(z, f32, len, VS_CODEC_ALLOW_PLANES,
					 &val), 0);
	for (i = 0; i < val.len; i += 97) {
		val.data[i] ^= 0x5a;
		r = vs_codec_decode(z, val.data, val.len, &out);
		assert_true(r == 0 || r == VS_E_CORRUPT);
		if (r)
			assert_int_equal(out.len, 0);
		val.data[i] ^= 0x5a;
	}
	assert_int_equal(vs_codec_decode(z, val.data, val.len, &out), 0);
	assert_memory_equal(out.data, f32, len);
	free(f32);
	vs_buf_release(&val);
	vs_buf_release(&out);
	vs_zctx_free(z);
}

/*
 * With a checksum, every value decodes to the right bytes or is rejected:
 * a flip in a raw payload, which the decoder alone cannot see, included.
 */
static void test_checksum(void **state)
{
	static const enum kind kinds[] = { FLOAT32, TEXT, RANDOM };
	static const enum vs_chunk_codec want[] = {
		VS_CODEC_PLANES, VS_CODEC_ZSTD, VS_CODEC_RAW,
	};
	struct vs_zctx *z = vs_zctx_new(1);
	struct vs_buf val = VS_BUF_INIT, plain = VS_BUF_INIT;
	struct vs_buf out = VS_BUF_INIT;
	size_t len = 16 * 1024, i, cut;
	unsigned k;
	int r;

	for (k = 0; k < 3; k++) {
		uint8_t *data = make_data(kinds[k], len);

		vs_buf_reset(&val);
		vs_buf_reset(&plain);
		assert_int_equal(vs_codec_encode(z, data, len,
						 VS_CODEC_ALLOW_PLANES |
						 VS_CODEC_CHECKSUM, &val), 0);
		assert_int_equal(vs_codec_encode(z, data, len,
						 VS_CODEC_ALLOW_PLANES,
						 &plain), 0);
		assert_int_equal((uint8_t)val.data[0],
				 want[k] | VS_CODEC_CHECKSUM_BIT);
		assert_int_equal(val.len, plain.len + 8);
		assert_true(vs_codec_has_checksum(val.data, val.len));
		assert_false(vs_codec_has_checksum(plain.data, plain.len));
		assert_int_equal(vs_codec_decode(z, val.data, val.len, &out),
				 0);
		assert_int_equal(out.len, len);
		assert_memory_equal(out.data, data, len);

		for (i = 0; i < val.len; i++) {
			val.data[i] ^= 0x01;
			vs_buf_addstr(&out, "stale");
			r = vs_codec_decode(z, val.data, val.len, &out);
			if (r == 0) {
				/* A bit zstd ignores: still the right bytes.
				 * A raw chunk has none. */
				assert_int_not_equal(want[k], VS_CODEC_RAW);
				assert_int_equal(out.len, len);
				assert_memory_equal(out.data, data, len);
			} else {
				assert_int_equal(r, VS_E_CORRUPT);
				assert_int_equal(out.len, 0);
			}
			val.data[i] ^= 0x01;
		}
		for (cut = 0; cut < val.len; cut += 7)
			expect_corrupt(z, val.data, cut);
		free(data);
	}
	assert_false(vs_codec_has_checksum("", 0));
	vs_buf_release(&out);
	vs_buf_release(&plain);
	vs_buf_release(&val);
	vs_zctx_free(z);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_codec_choice),
		cmocka_unit_test(test_planes_lengths),
		cmocka_unit_test(test_extract_join),
		cmocka_unit_test(test_decode_tiny_planes),
		cmocka_unit_test(test_reject),
		cmocka_unit_test(test_corrupt_bytes),
		cmocka_unit_test(test_checksum),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
