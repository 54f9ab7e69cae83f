/*
 * test_compress.c - unit tests of store/compress.c: round trips of random,
 * zero and text data of many sizes, reproducible output, and rejection of
 * truncated, padded, mislabelled and non-zstd input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "compress.h"
#include "error.h"
#include "banned.h"

static uint64_t rng_state;

static uint64_t rng_next(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

enum kind { RANDOM, ZERO, TEXT };

static uint8_t *make_data(enum kind kind, size_t len)
{
	static const char *const words[] = {
		"tensor ", "epoch ", "gradient ", "the ", "model ", "loss\n",
		"batch ", "of ", "weights ", "dataset ",
	};
	uint8_t *p = malloc(len ? len : 1);
	size_t i, n;
	const char *w;

	assert_non_null(p);
	for (i = 0; i < len;) {
		switch (kind) {
		case RANDOM:
			p[i++] = (uint8_t)rng_next();
			break;
		case ZERO:
			p[i++] = 0;
			break;
		case TEXT:
			w = words[rng_next() % 10];
			for (n = 0; w[n] && i < len; n++)
				p[i++] = (uint8_t)w[n];
			break;
		}
	}
	return p;
}

static const size_t sizes[] = {
	0, 1, 2, 15, 100, 4095, 4096, 65536, 65537, 300000, 1 << 20,
};

static void test_roundtrip(void **state)
{
	struct vs_zctx *z = vs_zctx_new(3);
	struct vs_buf comp = VS_BUF_INIT, again = VS_BUF_INIT;
	struct vs_buf raw = VS_BUF_INIT;
	enum kind kind;
	uint8_t *data;
	size_t i;

	assert_non_null(z);
	rng_state = 1;
	for (kind = RANDOM; kind <= TEXT; kind++) {
		for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			data = make_data(kind, sizes[i]);
			vs_buf_reset(&comp);
			vs_buf_reset(&again);
			vs_buf_reset(&raw);
			assert_int_equal(vs_compress(z, data, sizes[i], &comp),
					 0);
			assert_true(comp.len > 0);
			/* Reproducible: the same bytes every time. */
			assert_int_equal(vs_compress(z, data, sizes[i],
						     &again), 0);
			assert_int_equal(comp.len, again.len);
			assert_memory_equal(comp.data, again.data, comp.len);
			assert_int_equal(vs_decompress(z, comp.data, comp.len,
						       sizes[i], &raw), 0);
			assert_int_equal(raw.len, sizes[i]);
			if (sizes[i])
				assert_memory_equal(raw.data, data, sizes[i]);
			assert_int_equal(raw.data[raw.len], '\0');
			if (kind != RANDOM && sizes[i] >= 4096)
				assert_true(comp.len < sizes[i] / 2);
			free(data);
		}
	}
	vs_buf_release(&comp);
	vs_buf_release(&again);
	vs_buf_release(&raw);
	vs_zctx_free(z);
	vs_zctx_free(NULL);
}

/* Output is appended; what was already in the buffer stays. */
static void test_append(void **state)
{
	struct vs_zctx *z = vs_zctx_new(1);
	struct vs_buf comp = VS_BUF_INIT, raw = VS_BUF_INIT;
	uint8_t *data = make_data(TEXT, 10000);
	size_t first;

	vs_buf_addstr(&comp, "head");
	assert_int_equal(vs_compress(z, data, 10000, &comp), 0);
	first = comp.len;
	assert_int_equal(vs_compress(z, data, 10000, &comp), 0);
	assert_memory_equal(comp.data, "head", 4);
	assert_int_equal(comp.len - first, first - 4);
	vs_buf_addstr(&raw, "prefix");
	assert_int_equal(vs_decompress(z, comp.data + first, comp.len - first,
				       10000, &raw), 0);
	assert_int_equal(raw.len, 6 + 10000);
	assert_memory_equal(raw.data, "prefix", 6);
	assert_memory_equal(raw.data + 6, data, 10000);
	free(data);
	vs_buf_release(&comp);
	vs_buf_release(&raw);
	vs_zctx_free(z);
}

/* Two contexts at one level, one of them used before, give equal frames. */
static void test_same_level_same_bytes(void **state)
{
	struct vs_zctx *a = vs_zctx_new(6), *b = vs_zctx_new(6);
	struct vs_buf x = VS_BUF_INIT, y = VS_BUF_INIT;
	uint8_t *data = make_data(TEXT, 200000);

	assert_int_equal(vs_compress(a, data, 200000, &x), 0);
	assert_int_equal(vs_compress(b, "junk first", 10, &y), 0);
	vs_buf_reset(&y);
	assert_int_equal(vs_compress(b, data, 200000, &y), 0);
	assert_int_equal(x.len, y.len);
	assert_memory_equal(x.data, y.data, x.len);
	free(data);
	vs_buf_release(&x);
	vs_buf_release(&y);
	vs_zctx_free(a);
	vs_zctx_free(b);
}

static void test_reject(void **state)
{
	struct vs_zctx *z = vs_zctx_new(3);
	struct vs_buf comp = VS_BUF_INIT, raw = VS_BUF_INIT;
	struct vs_buf padded = VS_BUF_INIT;
	uint8_t *data = make_data(TEXT, 50000);
	static const uint8_t skippable[] = {
		0x50, 0x2a, 0x4d, 0x18, 0, 0, 0, 0,
	};
	size_t cut;

	assert_int_equal(vs_compress(z, data, 50000, &comp), 0);

	/* Every truncation is corrupt, and appends nothing. */
	for (cut = 0; cut < comp.len; cut++) {
		vs_buf_reset(&raw);
		assert_int_equal(vs_decompress(z, comp.data, cut, 50000,
					       &raw), VS_E_CORRUPT);
		assert_int_equal(raw.len, 0);
		assert_int_equal(raw.data[0], '\0');
	}
	/* A wrong expected size, either way. */
	assert_int_equal(vs_decompress(z, comp.data, comp.len, 49999, &raw),
			 VS_E_CORRUPT);
	assert_int_equal(vs_decompress(z, comp.data, comp.len, 50001, &raw),
			 VS_E_CORRUPT);
	assert_int_equal(vs_decompress(z, comp.data, comp.len, 0, &raw),
			 VS_E_CORRUPT);
	/* Trailing bytes, or a second frame. */
	vs_buf_add(&padded, comp.data, comp.len);
	vs_buf_addch(&padded, 0);
	assert_int_equal(vs_decompress(z, padded.data, padded.len, 50000,
				       &raw), VS_E_CORRUPT);
	vs_buf_reset(&padded);
	vs_buf_add(&padded, comp.data, comp.len);
	vs_buf_add(&padded, comp.data, comp.len);
	assert_int_equal(vs_decompress(z, padded.data, padded.len, 50000,
				       &raw), VS_E_CORRUPT);
	assert_int_equal(vs_decompress(z, padded.data, padded.len, 100000,
				       &raw), VS_E_CORRUPT);
	/* Frames that decode to nothing after the real one. */
	vs_buf_reset(&padded);
	vs_buf_add(&padded, comp.data, comp.len);
	assert_int_equal(vs_compress(z, "", 0, &padded), 0);
	assert_int_equal(vs_decompress(z, padded.data, padded.len, 50000,
				       &raw), VS_E_CORRUPT);
	vs_buf_reset(&padded);
	vs_buf_add(&padded, comp.data, comp.len);
	vs_buf_add(&padded, skippable, sizeof(skippable));
	assert_int_equal(vs_decompress(z, padded.data, padded.len, 50000,
				       &raw), VS_E_CORRUPT);
	/* An absurd expected size is refused before anything is allocated. */
	assert_int_equal(vs_decompress(z, comp.data, comp.len,
				       (size_t)1 << 42, &raw), VS_E_CORRUPT);
	/* Not zstd at all, and a skippable frame. */
	assert_int_equal(vs_decompress(z, data, 1000, 1000, &raw),
			 VS_E_CORRUPT);
	assert_int_equal(vs_decompress(z, skippable, sizeof(skippable), 0,
				       &raw), VS_E_CORRUPT);
	assert_int_equal(vs_decompress(z, "", 0, 0, &raw), VS_E_CORRUPT);
	assert_int_equal(raw.len, 0);

	/* The context still works after all those failures. */
	assert_int_equal(vs_decompress(z, comp.data, comp.len, 50000, &raw),
			 0);
	assert_memory_equal(raw.data, data, 50000);

	free(data);
	vs_buf_release(&comp);
	vs_buf_release(&raw);
	vs_buf_release(&padded);
	vs_zctx_free(z);
}

/* A damaged block body is caught by zstd or by the size check: no crash. */
static void test_corrupt_bytes(void **state)
{
	struct vs_zctx *z = vs_zctx_new(3);
	struct vs_buf comp = VS_BUF_INIT, raw = VS_BUF_INIT;
	uint8_t *data = make_data(TEXT, 20000);
	size_t i;
	int r;

	assert_int_equal(vs_compress(z, data, 20000, &comp), 0);
	for (i = 0; i < comp.len; i++) {
		comp.data[i] ^= 0x5a;
		vs_buf_reset(&raw);
		r = vs_decompress(z, comp.data, comp.len, 20000, &raw);
		assert_true(r == 0 || r == VS_E_CORRUPT);
		assert_int_equal(raw.len, r ? 0 : 20000);
		comp.data[i] ^= 0x5a;
	}
	free(data);
	vs_buf_release(&comp);
	vs_buf_release(&raw);
	vs_zctx_free(z);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_append),
		cmocka_unit_test(test_same_level_same_bytes),
		cmocka_unit_test(test_reject),
		cmocka_unit_test(test_corrupt_bytes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
