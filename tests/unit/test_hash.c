/*
 * test_hash.c - unit tests of store/hash.c: SHA-256 against the FIPS 180-2
 * vectors, incremental hashing against one-shot, concurrent use from several
 * threads, and the hex form of ids.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "error.h"
#include "hash.h"
#include "banned.h"

static void assert_hash_hex(const void *data, size_t len, const char *want)
{
	char hex[VS_ID_HEXLEN + 1];
	struct vs_id id;

	vs_hash(data, len, &id);
	assert_string_equal(vs_id_to_hex(&id, hex), want);
}

static void test_vectors(void **state)
{
	static const char two_blocks[] =
		"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	char *million;

	assert_hash_hex("", 0,
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	assert_hash_hex("abc", 3,
		"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	assert_hash_hex(two_blocks, strlen(two_blocks),
		"248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	million = malloc(1000000);
	assert_non_null(million);
	memset(million, 'a', 1000000);
	assert_hash_hex(million, 1000000,
		"cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	free(million);
}

static void test_incremental(void **state)
{
	struct vs_hasher *h = vs_hasher_new();
	struct vs_id one, inc;
	uint8_t data[3000];
	size_t i, split;

	assert_non_null(h);
	for (i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 131 + 7);
	vs_hash(data, sizeof(data), &one);
	/* Every split point, and the hasher is reused after each final. */
	for (split = 0; split <= sizeof(data); split += 37) {
		vs_hasher_update(h, data, split);
		vs_hasher_update(h, data + split, sizeof(data) - split);
		vs_hasher_final(h, &inc);
		assert_true(vs_id_equal(&one, &inc));
	}
	/* Byte by byte. */
	for (i = 0; i < sizeof(data); i++)
		vs_hasher_update(h, data + i, 1);
	vs_hasher_final(h, &inc);
	assert_true(vs_id_equal(&one, &inc));
	/* The million-'a' vector in pieces. */
	memset(data, 'a', 1000);
	for (i = 0; i < 1000; i++)
		vs_hasher_update(h, data, 1000);
	vs_hasher_final(h, &inc);
	assert_memory_equal(inc.b,
		"\xcd\xc7\x6e\x5c\x99\x14\xfb\x92\x81\xa1\xc7\xe2\x84\xd7\x3e\x67"
		"\xf1\x80\x9a\x48\xa4\x97\x20\x0e\x04\x6d\x39\xcc\xc7\x11\x2c\xd0",
		VS_ID_LEN);
	/* An empty message after a reset. */
	vs_hasher_final(h, &inc);
	vs_hash("", 0, &one);
	assert_true(vs_id_equal(&one, &inc));
	vs_hasher_free(h);
	vs_hasher_free(NULL);
}

struct thread_arg {
	const uint8_t *data;
	size_t len;
	struct vs_id want;
	int mismatches;
};

static void *hash_thread(void *p)
{
	struct thread_arg *a = p;
	struct vs_id id;
	int i;

	for (i = 0; i < 20000; i++) {
		vs_hash(a->data, a->len, &id);
		if (!vs_id_equal(&id, &a->want))
			a->mismatches++;
	}
	return NULL;
}

/* vs_hash keeps one context per thread; threads must not share it. */
static void test_threads(void **state)
{
	struct thread_arg args[4];
	pthread_t th[4];
	uint8_t data[4][100];
	int i;

	for (i = 0; i < 4; i++) {
		memset(data[i], 'a' + i, sizeof(data[i]));
		args[i].data = data[i];
		args[i].len = sizeof(data[i]) - (size_t)i;
		vs_hash(args[i].data, args[i].len, &args[i].want);
		args[i].mismatches = 0;
	}
	for (i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&th[i], NULL, hash_thread,
						&args[i]), 0);
	for (i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(args[i].mismatches, 0);
	}
}

static void test_hex(void **state)
{
	static const char lower[] =
		"00ff10a0b1c2d3e4f5060708090a0b0c0d0e0f101112131415161718191a1b1c";
	char upper[VS_ID_HEXLEN + 1], out[VS_ID_HEXLEN + 1], bad[80];
	struct vs_id id, back;
	size_t i;

	assert_int_equal(vs_id_from_hex(&id, lower), 0);
	assert_int_equal(id.b[0], 0x00);
	assert_int_equal(id.b[1], 0xff);
	assert_int_equal(id.b[31], 0x1c);
	assert_string_equal(vs_id_to_hex(&id, out), lower);

	for (i = 0; i <= VS_ID_HEXLEN; i++)
		upper[i] = (char)(lower[i] >= 'a' ? lower[i] - 32 : lower[i]);
	assert_int_equal(vs_id_from_hex(&back, upper), 0);
	assert_true(vs_id_equal(&id, &back));
	/* Output is always lowercase. */
	assert_string_equal(vs_id_to_hex(&back, out), lower);

	/* Round trip of a hash. */
	vs_hash("abc", 3, &id);
	assert_int_equal(vs_id_from_hex(&back, vs_id_to_hex(&id, out)), 0);
	assert_true(vs_id_equal(&id, &back));

	/* Rejections leave the id untouched. */
	back = id;
	assert_int_equal(vs_id_from_hex(&back, ""), VS_E_INVAL);
	assert_int_equal(vs_id_from_hex(&back, "abc"), VS_E_INVAL);
	memcpy(bad, lower, sizeof(lower));
	bad[63] = '\0';
	assert_int_equal(vs_id_from_hex(&back, bad), VS_E_INVAL);
	memcpy(bad, lower, sizeof(lower));
	bad[10] = 'g';
	assert_int_equal(vs_id_from_hex(&back, bad), VS_E_INVAL);
	memcpy(bad, lower, sizeof(lower));
	bad[64] = '0';
	bad[65] = '\0';
	assert_int_equal(vs_id_from_hex(&back, bad), VS_E_INVAL);
	memcpy(bad, lower, sizeof(lower));
	bad[0] = ' ';
	assert_int_equal(vs_id_from_hex(&back, bad), VS_E_INVAL);
	assert_true(vs_id_equal(&id, &back));
}

static void test_prefix(void **state)
{
	static const char full[] =
		"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
	char s[80];

	assert_false(vs_id_is_hex_prefix(""));
	assert_false(vs_id_is_hex_prefix("ba7816"));
	assert_true(vs_id_is_hex_prefix("ba7816b"));
	assert_true(vs_id_is_hex_prefix("BA7816B"));
	assert_true(vs_id_is_hex_prefix(full));
	assert_false(vs_id_is_hex_prefix("ba7816g"));
	assert_false(vs_id_is_hex_prefix("ba7816bx"));
	assert_false(vs_id_is_hex_prefix("main"));
	assert_false(vs_id_is_hex_prefix("v1.0.0-rc"));
	memcpy(s, full, sizeof(full));
	s[64] = 'a';
	s[65] = '\0';
	assert_false(vs_id_is_hex_prefix(s));
}

static void test_compare(void **state)
{
	struct vs_id a, b, zero;

	memset(&zero, 0, sizeof(zero));
	assert_true(vs_id_is_zero(&zero));
	vs_hash("a", 1, &a);
	vs_hash("b", 1, &b);
	assert_false(vs_id_is_zero(&a));
	assert_false(vs_id_equal(&a, &b));
	assert_true(vs_id_equal(&a, &a));
	assert_int_equal(vs_id_cmp(&a, &a), 0);
	assert_true(vs_id_cmp(&a, &b) != 0);
	assert_true((vs_id_cmp(&a, &b) < 0) == (vs_id_cmp(&b, &a) > 0));
	assert_true(vs_id_cmp(&zero, &a) < 0);
	b = zero;
	b.b[31] = 1;
	assert_false(vs_id_is_zero(&b));
	assert_true(vs_id_cmp(&zero, &b) < 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_incremental),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_prefix),
		cmocka_unit_test(test_compare),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
