/*
 * test_buf.c - unit tests of store/buf.c: vs_buf's strbuf invariants and the
 * bounds-checked cursor, in particular its refusal of non-minimal, overlong
 * and overflowing varints (the root of canonical object encodings).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "banned.h"

static void assert_buf_sane(const struct vs_buf *b)
{
	assert_non_null(b->data);
	assert_int_equal(b->data[b->len], '\0');
	if (b->cap)
		assert_true(b->len < b->cap);
	else
		assert_int_equal(b->len, 0);
}

static void test_empty(void **state)
{
	struct vs_buf a = VS_BUF_INIT, b;

	assert_buf_sane(&a);
	assert_string_equal(a.data, "");
	vs_buf_init(&b, 0);
	assert_buf_sane(&b);
	assert_ptr_equal(a.data, b.data);
	vs_buf_init(&b, 100);
	assert_buf_sane(&b);
	assert_true(b.cap >= 101);
	assert_int_equal(b.len, 0);
	vs_buf_release(&b);
	assert_buf_sane(&b);
	assert_int_equal(b.cap, 0);
	/* Releasing twice and resetting an empty buffer are harmless. */
	vs_buf_release(&b);
	vs_buf_reset(&a);
	assert_buf_sane(&a);
	assert_int_equal(vs_buf_empty[0], '\0');
}

static void test_add(void **state)
{
	struct vs_buf b = VS_BUF_INIT;
	char big[1000];
	size_t i;

	vs_buf_add(&b, "ab", 2);
	vs_buf_addch(&b, 'c');
	vs_buf_addstr(&b, "def");
	vs_buf_add(&b, NULL, 0);
	assert_buf_sane(&b);
	assert_string_equal(b.data, "abcdef");
	assert_int_equal(b.len, 6);

	for (i = 0; i < sizeof(big); i++)
		big[i] = (char)('a' + i % 26);
	for (i = 0; i < 100; i++)
		vs_buf_add(&b, big, sizeof(big));
	assert_buf_sane(&b);
	assert_int_equal(b.len, 6 + 100 * sizeof(big));
	assert_memory_equal(b.data + 6 + 99 * sizeof(big), big, sizeof(big));

	vs_buf_setlen(&b, 3);
	assert_string_equal(b.data, "abc");
	vs_buf_reset(&b);
	assert_buf_sane(&b);
	assert_int_equal(b.len, 0);
	assert_true(b.cap > 0);

	/* Embedded NULs are data, and the terminator still follows. */
	vs_buf_add(&b, "x\0y", 3);
	assert_int_equal(b.len, 3);
	assert_memory_equal(b.data, "x\0y", 4);
	vs_buf_release(&b);
}

static void test_addf(void **state)
{
	struct vs_buf b = VS_BUF_INIT;
	char want[400];
	size_t i;

	vs_buf_addf(&b, "%s-%d", "x", 42);
	assert_string_equal(b.data, "x-42");
	/* Longer than the first guess, to take the second vsnprintf. */
	for (i = 0; i < 300; i++)
		want[i] = 'q';
	want[300] = '\0';
	vs_buf_addf(&b, "%s|%u", want, 7u);
	assert_int_equal(b.len, 4 + 300 + 2);
	assert_memory_equal(b.data + 4, want, 300);
	assert_string_equal(b.data + 304, "|7");
	assert_buf_sane(&b);
	vs_buf_release(&b);
}

static void test_detach(void **state)
{
	struct vs_buf b = VS_BUF_INIT;
	size_t len = 99;
	char *s;

	/* Detaching an empty buffer still gives freeable memory. */
	s = vs_buf_detach(&b, &len);
	assert_int_equal(len, 0);
	assert_string_equal(s, "");
	assert_ptr_not_equal(s, vs_buf_empty);
	free(s);

	vs_buf_addstr(&b, "hello");
	s = vs_buf_detach(&b, &len);
	assert_int_equal(len, 5);
	assert_string_equal(s, "hello");
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, 0);
	assert_ptr_equal(b.data, vs_buf_empty);
	free(s);
	s = vs_buf_detach(&b, NULL);
	free(s);
}

static void test_grow(void **state)
{
	struct vs_buf b = VS_BUF_INIT;

	vs_buf_grow(&b, 1000);
	assert_true(b.cap >= 1001);
	assert_int_equal(b.len, 0);
	assert_buf_sane(&b);
	memset(b.data, 'z', 1000);
	vs_buf_setlen(&b, 1000);
	assert_buf_sane(&b);
	assert_int_equal(b.data[999], 'z');
	vs_buf_release(&b);
}

static const struct {
	uint64_t v;
	size_t len;
} varints[] = {
	{ 0, 1 }, { 1, 1 }, { 127, 1 }, { 128, 2 }, { 300, 2 },
	{ 16383, 2 }, { 16384, 3 }, { (1ull << 32) - 1, 5 },
	{ 1ull << 56, 9 }, { (1ull << 63) - 1, 9 }, { 1ull << 63, 10 },
	{ UINT64_MAX, 10 },
};

static void test_varint_roundtrip(void **state)
{
	struct vs_buf b = VS_BUF_INIT;
	struct vs_cursor c;
	size_t i;

	for (i = 0; i < sizeof(varints) / sizeof(varints[0]); i++) {
		vs_buf_reset(&b);
		vs_buf_add_varint(&b, varints[i].v);
		assert_int_equal(b.len, varints[i].len);
		vs_cursor_init(&c, b.data, b.len);
		assert_true(vs_cursor_varint(&c) == varints[i].v);
		assert_true(vs_cursor_ok(&c));
		assert_int_equal(vs_cursor_left(&c), 0);
	}
	/* 300 is the textbook example: 0xac 0x02. */
	vs_buf_reset(&b);
	vs_buf_add_varint(&b, 300);
	assert_memory_equal(b.data, "\xac\x02", 2);
	vs_buf_release(&b);
}

static bool decode_varint(const char *bytes, size_t len, uint64_t *v)
{
	struct vs_cursor c;

	vs_cursor_init(&c, bytes, len);
	*v = vs_cursor_varint(&c);
	return vs_cursor_ok(&c);
}

static void test_varint_reject(void **state)
{
	uint64_t v;

	/* Overlong: a zero last group. */
	assert_false(decode_varint("\x80\x00", 2, &v));
	assert_false(decode_varint("\x81\x00", 2, &v));
	assert_false(decode_varint("\xff\x80\x00", 3, &v));
	/* Truncated. */
	assert_false(decode_varint("", 0, &v));
	assert_false(decode_varint("\x80", 1, &v));
	assert_false(decode_varint("\xff\xff", 2, &v));
	/* Eleven bytes. */
	assert_false(decode_varint("\xff\xff\xff\xff\xff\xff\xff\xff\xff\x81"
				   "\x01", 11, &v));
	/* Ten bytes but bits beyond 64. */
	assert_false(decode_varint("\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02",
				   10, &v));
	assert_false(decode_varint("\x80\x80\x80\x80\x80\x80\x80\x80\x80\x7f",
				   10, &v));
	/* The largest value is fine. */
	assert_true(decode_varint("\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01",
				  10, &v));
	assert_true(v == UINT64_MAX);
	assert_true(decode_varint("\x00", 1, &v));
	assert_true(v == 0);
}

/* Property: the cursor accepts a byte string iff it is the encoding. */
static void test_varint_canonical_exhaustive(void **state)
{
	struct vs_buf b = VS_BUF_INIT;
	struct vs_cursor c;
	unsigned char in[3];
	uint64_t v;
	unsigned x;
	size_t used;

	for (x = 0; x < (1u << 24); x += 7) {
		in[0] = (unsigned char)x;
		in[1] = (unsigned char)(x >> 8);
		in[2] = (unsigned char)(x >> 16);
		vs_cursor_init(&c, in, sizeof(in));
		v = vs_cursor_varint(&c);
		if (!vs_cursor_ok(&c))
			continue;
		used = c.off;
		vs_buf_reset(&b);
		vs_buf_add_varint(&b, v);
		assert_int_equal(b.len, used);
		assert_memory_equal(b.data, in, used);
	}
	vs_buf_release(&b);
}

static void test_cursor(void **state)
{
	struct vs_buf b = VS_BUF_INIT;
	struct vs_cursor c;
	const uint8_t *p;
	size_t len;

	vs_buf_addch(&b, 7);
	vs_buf_add_u64be(&b, 0x0102030405060708ull);
	vs_buf_add_bytes(&b, "hello", 5);
	vs_buf_add_bytes(&b, "", 0);
	vs_buf_add(&b, "xyz", 3);
	assert_memory_equal(b.data + 1, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);

	vs_cursor_init(&c, b.data, b.len);
	assert_int_equal(vs_cursor_u8(&c), 7);
	assert_true(vs_cursor_u64be(&c) == 0x0102030405060708ull);
	p = vs_cursor_bytes(&c, &len);
	assert_non_null(p);
	assert_int_equal(len, 5);
	assert_memory_equal(p, "hello", 5);
	p = vs_cursor_bytes(&c, &len);
	assert_non_null(p);
	assert_int_equal(len, 0);
	assert_non_null(vs_cursor_take(&c, 0));
	assert_int_equal(vs_cursor_left(&c), 3);
	assert_null(vs_cursor_take(&c, 4));
	/* Failure is sticky. */
	assert_false(vs_cursor_ok(&c));
	assert_int_equal(vs_cursor_left(&c), 0);
	assert_null(vs_cursor_take(&c, 0));
	assert_int_equal(vs_cursor_u8(&c), 0);
	assert_true(vs_cursor_varint(&c) == 0);
	assert_false(vs_cursor_ok(&c));

	/* A length that runs past the end. */
	vs_buf_reset(&b);
	vs_buf_add_varint(&b, 10);
	vs_buf_add(&b, "short", 5);
	vs_cursor_init(&c, b.data, b.len);
	assert_null(vs_cursor_bytes(&c, &len));
	assert_false(vs_cursor_ok(&c));

	/* A huge length must not wrap the bounds check. */
	vs_buf_reset(&b);
	vs_buf_add_varint(&b, UINT64_MAX);
	vs_buf_add(&b, "x", 1);
	vs_cursor_init(&c, b.data, b.len);
	assert_null(vs_cursor_bytes(&c, &len));
	assert_false(vs_cursor_ok(&c));

	vs_cursor_init(&c, NULL, 0);
	assert_true(vs_cursor_ok(&c));
	assert_int_equal(vs_cursor_left(&c), 0);
	assert_null(vs_cursor_take(&c, 1));

	vs_cursor_init(&c, "ab", 2);
	assert_true(vs_cursor_u64be(&c) == 0);
	assert_false(vs_cursor_ok(&c));
	vs_buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_add),
		cmocka_unit_test(test_addf),
		cmocka_unit_test(test_detach),
		cmocka_unit_test(test_grow),
		cmocka_unit_test(test_varint_roundtrip),
		cmocka_unit_test(test_varint_reject),
		cmocka_unit_test(test_varint_canonical_exhaustive),
		cmocka_unit_test(test_cursor),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
