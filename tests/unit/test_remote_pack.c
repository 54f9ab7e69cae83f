/*
 * test_remote_pack.c - unit tests of store/remote/pack.c: a pack written
 * and decoded gives its entries back at their offsets, named by the
 * SHA-256 of its bytes; every single-byte change of the index, trailer or
 * header, and every truncation, is rejected; an index that lies (lengths
 * that do not add up, a duplicate entry, a type its kind forbids) is
 * rejected; a newer version is VS_E_VERSION; manifests round trip,
 * normalize (sorting, merging a pack listed twice, dropping overlaps) and
 * reject entries outside their pack or out of order.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "error.h"
#include "pack.h"
#include "testutil.h"
#include "banned.h"

/* A data pack of n entries of varying sizes from seed; *name its name. */
static void make_pack(struct vs_buf *out, size_t n, uint64_t seed,
		      struct vs_id *name, struct vs_pack_writer *w)
{
	uint8_t data[5000];
	size_t i;

	vs_pack_writer_init(w, VS_PACK_DATA);
	for (i = 0; i < n; i++) {
		size_t len = 1 + (i * 977 + seed) % sizeof(data);
		struct vs_id id;

		tu_fill_random(data, len, seed + i);
		vs_hash(data, len, &id);
		vs_pack_add(w, VS_PACK_CHUNK, &id, data, len);
	}
	vs_pack_finish(w, out, name);
}

static void test_roundtrip(void **state)
{
	struct vs_buf pack = VS_BUF_INIT;
	struct vs_pack_writer w;
	struct vs_pack_index x;
	struct vs_id name, check;
	size_t i;

	(void)state;
	make_pack(&pack, 50, 7, &name, &w);
	vs_hash(pack.data, pack.len, &check);
	assert_true(vs_id_equal(&name, &check));
	assert_int_equal(vs_pack_decode(&x, pack.data, pack.len), 0);
	assert_int_equal(x.kind, VS_PACK_DATA);
	assert_int_equal(x.count, 50);
	for (i = 0; i < x.count; i++) {
		const struct vs_pack_entry *e = &x.entries[i];

		assert_int_equal(e->type, VS_PACK_CHUNK);
		assert_true(vs_id_equal(&e->id, &w.entries[i].id));
		assert_int_equal(e->off, w.entries[i].off);
		assert_int_equal(e->len, w.entries[i].len);
		vs_hash(pack.data + e->off, e->len, &check);
		assert_true(vs_id_equal(&check, &e->id));
	}
	vs_pack_index_release(&x);

	/* The writer starts the next pack afresh. */
	{
		struct vs_buf second = VS_BUF_INIT;
		struct vs_id n2;

		vs_pack_add(&w, VS_PACK_CHUNK, &name, "x", 1);
		vs_pack_finish(&w, &second, &n2);
		assert_int_equal(vs_pack_decode(&x, second.data, second.len),
				 0);
		assert_int_equal(x.count, 1);
		assert_int_equal(x.entries[0].off, VS_PACK_HEADER_LEN);
		vs_pack_index_release(&x);
		vs_buf_release(&second);
	}

	/* An empty pack is valid. */
	vs_pack_finish(&w, &pack, &name);
	assert_int_equal(vs_pack_decode(&x, pack.data, pack.len), 0);
	assert_int_equal(x.count, 0);
	vs_pack_index_release(&x);
	vs_pack_writer_release(&w);
	vs_buf_release(&pack);
}

/* Every change past the bodies, and every truncation, is caught. */
static void test_corruption(void **state)
{
	struct vs_buf pack = VS_BUF_INIT, bad = VS_BUF_INIT;
	struct vs_pack_writer w;
	struct vs_pack_index x;
	struct vs_id name;
	uint64_t ilen;
	struct vs_id ih;
	size_t i, istart;

	(void)state;
	make_pack(&pack, 20, 3, &name, &w);
	assert_int_equal(vs_pack_trailer_decode(pack.data + pack.len -
							VS_PACK_TRAILER_LEN,
						VS_PACK_TRAILER_LEN, &ilen,
						&ih),
			 0);
	istart = pack.len - VS_PACK_TRAILER_LEN - ilen;
	for (i = 0; i < pack.len; i++) {
		if (i >= VS_PACK_HEADER_LEN && i < istart)
			continue;	/* bodies: the reader's check (note 3) */
		vs_buf_reset(&bad);
		vs_buf_add(&bad, pack.data, pack.len);
		bad.data[i] ^= 0x40;
		assert_int_not_equal(vs_pack_decode(&x, bad.data, bad.len), 0);
	}
	for (i = 0; i < pack.len; i++)
		assert_int_not_equal(vs_pack_decode(&x, pack.data, i), 0);
	/* Version 2 is from the future. */
	vs_buf_reset(&bad);
	vs_buf_add(&bad, pack.data, pack.len);
	bad.data[8] = 2;
	assert_int_equal(vs_pack_decode(&x, bad.data, bad.len), VS_E_VERSION);
	vs_pack_writer_release(&w);
	vs_buf_release(&pack);
	vs_buf_release(&bad);
}

/*
 * Builds a pack around a hand-made index (trailer hash correct), as a
 * remote that lies would.
 */
static void pack_with_index(struct vs_buf *out, int kind, size_t body_len,
			    const struct vs_pack_entry *e, size_t n)
{
	struct vs_buf idx = VS_BUF_INIT;
	struct vs_id h;
	size_t i;

	vs_buf_reset(out);
	vs_buf_add(out, VS_PACK_MAGIC, 8);
	vs_buf_addch(out, VS_PACK_VERSION);
	vs_buf_addch(out, kind);
	for (i = 0; i < body_len; i++)
		vs_buf_addch(out, 'b');
	vs_pack_index_encode(e, n, &idx);
	vs_hash(idx.data, idx.len, &h);
	vs_buf_add(out, idx.data, idx.len);
	vs_buf_add_u64be(out, idx.len);
	vs_buf_add(out, h.b, VS_ID_LEN);
	vs_buf_add(out, VS_PACK_END_MAGIC, 8);
	vs_buf_release(&idx);
}

static void test_lying_index(void **state)
{
	struct vs_buf pack = VS_BUF_INIT;
	struct vs_pack_entry e[2] = { { .type = VS_PACK_CHUNK, .len = 10 },
				      { .type = VS_PACK_CHUNK, .len = 20 } };
	struct vs_pack_index x;

	(void)state;
	vs_hash("a", 1, &e[0].id);
	vs_hash("b", 1, &e[1].id);
	pack_with_index(&pack, VS_PACK_DATA, 30, e, 2);
	assert_int_equal(vs_pack_decode(&x, pack.data, pack.len), 0);
	vs_pack_index_release(&x);
	/* Lengths that do not add up to the bodies. */
	pack_with_index(&pack, VS_PACK_DATA, 31, e, 2);
	assert_int_equal(vs_pack_decode(&x, pack.data, pack.len),
			 VS_E_CORRUPT);
	pack_with_index(&pack, VS_PACK_DATA, 29, e, 2);
	assert_int_equal(vs_pack_decode(&x, pack.data, pack.len),
			 VS_E_CORRUPT);
	/* One entry twice. */
	e[1].id = e[0].id;
	pack_with_index(&pack, VS_PACK_DATA, 30, e, 2);
	assert_int_equal(vs_pack_decode(&x, pack.data, pack.len),
			 VS_E_CORRUPT);
	/* The same id as another type is another entry, but not in a data
	 * pack. */
	e[1].type = VS_PACK_OBJECT;
	pack_with_index(&pack, VS_PACK_DATA, 30, e, 2);
	assert_int_equal(vs_pack_decode(&x, pack.data, pack.len),
			 VS_E_CORRUPT);
	e[0].type = VS_PACK_RUN;
	pack_with_index(&pack, VS_PACK_META, 30, e, 2);
	assert_int_equal(vs_pack_decode(&x, pack.data, pack.len), 0);
	vs_pack_index_release(&x);
	/* An unknown pack kind. */
	pack_with_index(&pack, 'X', 30, e, 2);
	assert_int_equal(vs_pack_decode(&x, pack.data, pack.len),
			 VS_E_CORRUPT);
	vs_buf_release(&pack);
}

static void test_manifest(void **state)
{
	struct vs_buf pack = VS_BUF_INIT, enc = VS_BUF_INIT, bad = VS_BUF_INIT;
	struct vs_pack_writer w;
	struct vs_manifest m, d;
	struct vs_id name, other, r1, r2;
	size_t i;

	(void)state;
	make_pack(&pack, 10, 11, &name, &w);
	vs_hash("other", 5, &other);
	vs_hash("r1", 2, &r1);
	vs_hash("r2", 2, &r2);
	vs_manifest_init(&m);
	/* Listed in two parts and out of order: normalize merges them. */
	vs_manifest_add(&m, &name, VS_PACK_DATA, pack.len, w.entries + 5, 5);
	vs_manifest_add(&m, &other, VS_PACK_DATA, pack.len, w.entries, 2);
	vs_manifest_add(&m, &name, VS_PACK_DATA, pack.len, w.entries, 6);
	vs_manifest_add_replaced(&m, &r2);
	vs_manifest_add_replaced(&m, &r1);
	vs_manifest_add_replaced(&m, &r2);
	vs_manifest_normalize(&m);
	assert_int_equal(m.npacks, 2);
	assert_int_equal(m.nreplaced, 2);
	for (i = 0; i < m.npacks; i++)
		if (vs_id_equal(&m.packs[i].id, &name))
			assert_int_equal(m.packs[i].count, 10);
	vs_manifest_encode(&m, &enc);
	assert_int_equal(vs_manifest_decode(&d, enc.data, enc.len), 0);
	assert_int_equal(d.npacks, 2);
	assert_int_equal(d.nreplaced, 2);
	assert_true(vs_id_cmp(&d.replaced[0], &d.replaced[1]) < 0);
	vs_manifest_release(&d);
	for (i = 0; i < enc.len; i++)
		assert_int_not_equal(vs_manifest_decode(&d, enc.data, i), 0);
	/* Trailing bytes. */
	vs_buf_add(&bad, enc.data, enc.len);
	vs_buf_addch(&bad, 0);
	assert_int_equal(vs_manifest_decode(&d, bad.data, bad.len),
			 VS_E_CORRUPT);
	/* A newer version. */
	bad.data[1] = VS_MANIFEST_VERSION + 1;
	assert_int_equal(vs_manifest_decode(&d, bad.data, bad.len - 1),
			 VS_E_VERSION);
	vs_manifest_release(&m);

	/* An entry past its pack's end, and entries out of order. */
	{
		struct vs_buf h = VS_BUF_INIT;

		vs_buf_addch(&h, VS_MANIFEST_TYPE);
		vs_buf_addch(&h, VS_MANIFEST_VERSION);
		vs_buf_add_varint(&h, 1);
		vs_buf_add(&h, name.b, VS_ID_LEN);
		vs_buf_addch(&h, VS_PACK_DATA);
		vs_buf_add_varint(&h, 100);
		vs_buf_add_varint(&h, 2);
		vs_buf_reset(&bad);
		vs_buf_add(&bad, h.data, h.len);
		vs_buf_addch(&bad, VS_PACK_CHUNK);
		vs_buf_add(&bad, r1.b, VS_ID_LEN);
		vs_buf_add_varint(&bad, 30);
		vs_buf_add_varint(&bad, 5);
		vs_buf_addch(&bad, VS_PACK_CHUNK);
		vs_buf_add(&bad, r2.b, VS_ID_LEN);
		vs_buf_add_varint(&bad, 10);
		vs_buf_add_varint(&bad, 5);
		vs_buf_add_varint(&bad, 0);
		assert_int_equal(vs_manifest_decode(&d, bad.data, bad.len),
				 VS_E_CORRUPT);
		vs_buf_reset(&bad);
		vs_buf_add(&bad, h.data, h.len);
		vs_buf_addch(&bad, VS_PACK_CHUNK);
		vs_buf_add(&bad, r1.b, VS_ID_LEN);
		vs_buf_add_varint(&bad, 10);
		vs_buf_add_varint(&bad, 5);
		vs_buf_addch(&bad, VS_PACK_CHUNK);
		vs_buf_add(&bad, r2.b, VS_ID_LEN);
		vs_buf_add_varint(&bad, 30);
		vs_buf_add_varint(&bad, 100);
		vs_buf_add_varint(&bad, 0);
		assert_int_equal(vs_manifest_decode(&d, bad.data, bad.len),
				 VS_E_CORRUPT);
		vs_buf_release(&h);
	}
	vs_pack_writer_release(&w);
	vs_buf_release(&pack);
	vs_buf_release(&enc);
	vs_buf_release(&bad);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_corruption),
		cmocka_unit_test(test_lying_index),
		cmocka_unit_test(test_manifest),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
