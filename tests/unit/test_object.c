/*
 * test_object.c - unit tests of store/object.c: every codec round-trips and
 * is canonical; decoders reject every truncation, trailing bytes, bad
 * names, unsorted or duplicate entries, bad counts and newer versions; a
 * single corrupted byte is either rejected or yields an object that encodes
 * back to exactly the corrupted bytes; lookups by name and by offset.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "error.h"
#include "hash.h"
#include "object.h"
#include "banned.h"

/* Decode <data, len> and, on success, encode the result into out. */
typedef int (*recode_fn)(const void *data, size_t len, struct vs_buf *out);

static int recode_file(const void *data, size_t len, struct vs_buf *out)
{
	struct vs_file f;
	int r = vs_file_decode(&f, data, len);

	if (r) {
		/* A failed decode leaves nothing behind. */
		assert_null(f.chunks);
		assert_null(f.inline_data);
		assert_int_equal(f.nchunks, 0);
		return r;
	}
	vs_file_encode(&f, out);
	vs_file_release(&f);
	return 0;
}

/*
 * The one-block decoder accepts what vs_tree_decode accepted (r) and gives
 * the same entries, each found by vs_tree_entries_find.
 */
static void check_view(const struct vs_tree *t, int r, const void *data,
		       size_t len)
{
	struct vs_tree_view v;
	size_t i;

	assert_int_equal(vs_tree_view_decode(&v, data, len), r);
	if (r) {
		assert_null(v.entries);
		assert_int_equal(v.count, 0);
		return;
	}
	assert_int_equal(v.count, t->count);
	assert_true(v.bytes < v.count * sizeof(*v.entries) + len);
	for (i = 0; i < v.count; i++) {
		const struct vs_tree_entry *a = &v.entries[i];

		assert_int_equal(a->name_len, t->entries[i].name_len);
		assert_memory_equal(a->name, t->entries[i].name,
				    a->name_len + 1);
		assert_int_equal(a->type, t->entries[i].type);
		assert_true(a->size == t->entries[i].size);
		assert_true(vs_id_equal(&a->id, &t->entries[i].id));
		assert_ptr_equal(vs_tree_entries_find(v.entries, v.count,
						      a->name, a->name_len),
				 a);
	}
	vs_tree_view_release(&v);
	assert_null(v.entries);
}

static int recode_tree(const void *data, size_t len, struct vs_buf *out)
{
	struct vs_tree t;
	int r = vs_tree_decode(&t, data, len);

	check_view(&t, r, data, len);
	if (r) {
		assert_null(t.entries);
		assert_int_equal(t.count, 0);
		return r;
	}
	vs_tree_encode(&t, out);
	vs_tree_release(&t);
	return 0;
}

static int recode_commit(const void *data, size_t len, struct vs_buf *out)
{
	struct vs_commit c;
	int r = vs_commit_decode(&c, data, len);

	if (r) {
		assert_null(c.parents);
		assert_null(c.meta);
		return r;
	}
	vs_commit_encode(&c, out);
	vs_commit_release(&c);
	return 0;
}

static int recode_tag(const void *data, size_t len, struct vs_buf *out)
{
	struct vs_tag t;
	int r = vs_tag_decode(&t, data, len);

	if (r) {
		assert_null(t.meta);
		return r;
	}
	vs_tag_encode(&t, out);
	vs_tag_release(&t);
	return 0;
}

/*
 * The properties every codec must have, checked on one valid encoding:
 * round trip, canonical form, rejection of every truncation and of trailing
 * bytes, and no single-byte corruption that decodes to something else.
 */
static void check_codec(recode_fn recode, const struct vs_buf *enc)
{
	struct vs_buf out = VS_BUF_INIT;
	uint8_t *copy;
	size_t i, x, cut;
	int r;

	assert_int_equal(recode(enc->data, enc->len, &out), 0);
	assert_int_equal(out.len, enc->len);
	assert_memory_equal(out.data, enc->data, enc->len);

	for (cut = 0; cut < enc->len; cut++) {
		vs_buf_reset(&out);
		assert_int_equal(recode(enc->data, cut, &out), VS_E_CORRUPT);
	}

	copy = malloc(enc->len + 1);
	assert_non_null(copy);
	memcpy(copy, enc->data, enc->len);
	copy[enc->len] = 0;
	vs_buf_reset(&out);
	assert_int_equal(recode(copy, enc->len + 1, &out), VS_E_CORRUPT);

	for (i = 0; i < enc->len; i++) {
		for (x = 1; x < 256; x++) {
			copy[i] = (uint8_t)(enc->data[i] ^ x);
			vs_buf_reset(&out);
			r = recode(copy, enc->len, &out);
			if (!r) {
				assert_int_equal(out.len, enc->len);
				assert_memory_equal(out.data, copy, enc->len);
			} else {
				assert_true(r == VS_E_CORRUPT ||
					    r == VS_E_VERSION);
			}
		}
		copy[i] = (uint8_t)enc->data[i];
	}
	free(copy);
	vs_buf_release(&out);
}

static void make_id(struct vs_id *id, unsigned seed)
{
	vs_hash(&seed, sizeof(seed), id);
}

/* --- file ----------------------------------------------------------- */

static void test_file_inline(void **state)
{
	static const char text[] = "hello, world\n";
	struct vs_buf enc = VS_BUF_INIT;
	struct vs_file f, g;
	uint8_t big[VS_FILE_INLINE_MAX];

	vs_file_init(&f);
	vs_file_set_inline(&f, text, strlen(text));
	vs_file_encode(&f, &enc);
	assert_int_equal(enc.len, 4 + strlen(text));
	assert_memory_equal(enc.data, "F\x01\x01\x0d", 4);
	assert_int_equal(vs_obj_type_of(enc.data, enc.len), VS_OBJ_FILE);
	assert_int_equal(vs_file_decode(&g, enc.data, enc.len), 0);
	assert_true(g.size == strlen(text));
	assert_non_null(g.inline_data);
	assert_memory_equal(g.inline_data, text, strlen(text));
	assert_int_equal(g.nchunks, 0);
	vs_file_release(&g);
	check_codec(recode_file, &enc);

	/* Empty inline file. */
	vs_buf_reset(&enc);
	vs_file_set_inline(&f, "", 0);
	vs_file_encode(&f, &enc);
	assert_int_equal(enc.len, 4);
	assert_int_equal(vs_file_decode(&g, enc.data, enc.len), 0);
	assert_non_null(g.inline_data);
	assert_true(g.size == 0);
	vs_file_release(&g);
	check_codec(recode_file, &enc);

	/* The largest inline file. */
	memset(big, 'x', sizeof(big));
	vs_buf_reset(&enc);
	vs_file_set_inline(&f, big, sizeof(big));
	vs_file_encode(&f, &enc);
	assert_int_equal(vs_file_decode(&g, enc.data, enc.len), 0);
	assert_true(g.size == VS_FILE_INLINE_MAX);
	vs_file_release(&g);
	vs_file_release(&f);
	vs_buf_release(&enc);
}

static void test_file_chunked(void **state)
{
	static const uint64_t lens[] = { 65536, 1, 300000, 1ull << 40, 77 };
	struct vs_buf enc = VS_BUF_INIT, again = VS_BUF_INIT;
	struct vs_file f, g;
	struct vs_id id;
	size_t i;
	uint64_t total = 0;

	vs_file_init(&f);
	for (i = 0; i < 5; i++) {
		make_id(&id, (unsigned)i);
		vs_file_add_chunk(&f, &id, lens[i]);
		assert_true(f.chunks[i].offset == total);
		total += lens[i];
		assert_true(f.size == total);
	}
	vs_file_encode(&f, &enc);
	assert_int_equal(vs_file_decode(&g, enc.data, enc.len), 0);
	assert_null(g.inline_data);
	assert_true(g.size == total);
	assert_int_equal(g.nchunks, 5);
	for (i = 0; i < 5; i++) {
		assert_true(vs_id_equal(&g.chunks[i].id, &f.chunks[i].id));
		assert_true(g.chunks[i].len == lens[i]);
		assert_true(g.chunks[i].offset == f.chunks[i].offset);
	}
	/* A decoded file can still grow. */
	make_id(&id, 99);
	vs_file_add_chunk(&g, &id, 10);
	assert_true(g.size == total + 10);
	vs_file_encode(&g, &again);
	assert_true(again.len > enc.len);
	vs_file_release(&g);
	check_codec(recode_file, &enc);

	/* An empty chunked file: no chunks. */
	vs_file_release(&f);
	vs_buf_reset(&enc);
	vs_file_encode(&f, &enc);
	assert_int_equal(enc.len, 5);
	assert_int_equal(vs_file_decode(&g, enc.data, enc.len), 0);
	assert_int_equal(g.nchunks, 0);
	assert_null(g.inline_data);
	vs_file_release(&g);
	check_codec(recode_file, &enc);

	/* set_inline drops chunks. */
	vs_file_add_chunk(&f, &id, 5);
	vs_file_set_inline(&f, "abc", 3);
	assert_int_equal(f.nchunks, 0);
	assert_true(f.size == 3);
	vs_file_release(&f);
	vs_buf_release(&enc);
	vs_buf_release(&again);
}

static void test_file_many_chunks(void **state)
{
	struct vs_buf enc = VS_BUF_INIT;
	struct vs_file f, g;
	struct vs_id id;
	size_t i, k;
	uint64_t off;

	vs_file_init(&f);
	for (i = 0; i < 1000; i++) {
		make_id(&id, (unsigned)i);
		vs_file_add_chunk(&f, &id, 1 + (i * 7919) % 5000);
	}
	vs_file_encode(&f, &enc);
	assert_int_equal(vs_file_decode(&g, enc.data, enc.len), 0);
	assert_int_equal(g.nchunks, 1000);
	/* Binary search agrees with a linear scan, at and around cuts. */
	for (i = 0; i < g.nchunks; i++) {
		off = g.chunks[i].offset;
		assert_int_equal(vs_file_find_chunk(&g, off), i);
		assert_int_equal(vs_file_find_chunk(&g,
				 off + g.chunks[i].len - 1), i);
		if (i)
			assert_int_equal(vs_file_find_chunk(&g, off - 1),
					 i - 1);
		for (k = 0; k < 3; k++) {
			off = g.chunks[i].offset + (k * g.chunks[i].len) / 3;
			assert_int_equal(vs_file_find_chunk(&g, off), i);
		}
	}
	assert_int_equal(vs_file_find_chunk(&g, g.size), g.nchunks);
	vs_file_release(&g);
	vs_file_release(&f);
	vs_buf_release(&enc);
}

static void test_file_find_chunk(void **state)
{
	static const uint64_t lens[] = { 10, 1, 5, 100 };
	struct vs_file f;
	struct vs_id id;
	size_t i;

	vs_file_init(&f);
	/* Empty file: nothing to find. */
	assert_int_equal(vs_file_find_chunk(&f, 0), 0);
	make_id(&id, 1);
	for (i = 0; i < 4; i++)
		vs_file_add_chunk(&f, &id, lens[i]);
	/* Chunks start at 0, 10, 11 and 16; the file is 116 bytes. */
	assert_int_equal(vs_file_find_chunk(&f, 0), 0);
	assert_int_equal(vs_file_find_chunk(&f, 9), 0);
	assert_int_equal(vs_file_find_chunk(&f, 10), 1);
	assert_int_equal(vs_file_find_chunk(&f, 11), 2);
	assert_int_equal(vs_file_find_chunk(&f, 15), 2);
	assert_int_equal(vs_file_find_chunk(&f, 16), 3);
	assert_int_equal(vs_file_find_chunk(&f, 115), 3);
	assert_int_equal(vs_file_find_chunk(&f, 116), 4);
	assert_int_equal(vs_file_find_chunk(&f, UINT64_MAX), 4);
	vs_file_release(&f);

	/* One chunk. */
	vs_file_add_chunk(&f, &id, 1);
	assert_int_equal(vs_file_find_chunk(&f, 0), 0);
	assert_int_equal(vs_file_find_chunk(&f, 1), 1);
	vs_file_release(&f);
}

/* Hand-built encodings for what the encoder refuses to produce. */
static void raw_file_head(struct vs_buf *b, int flags, uint64_t size)
{
	vs_buf_reset(b);
	vs_buf_addch(b, 'F');
	vs_buf_addch(b, VS_OBJ_VERSION);
	vs_buf_addch(b, flags);
	vs_buf_add_varint(b, size);
}

static void add_chunk_raw(struct vs_buf *b, uint64_t len)
{
	struct vs_id id;

	make_id(&id, 3);
	vs_buf_add(b, id.b, VS_ID_LEN);
	vs_buf_add_varint(b, len);
}

static void test_file_reject(void **state)
{
	struct vs_buf b = VS_BUF_INIT, out = VS_BUF_INIT;
	uint8_t big[VS_FILE_INLINE_MAX + 1];
	struct vs_file f;

	/* Inline beyond the limit. */
	memset(big, 'y', sizeof(big));
	raw_file_head(&b, VS_FILE_INLINE, sizeof(big));
	vs_buf_add(&b, big, sizeof(big));
	assert_int_equal(vs_file_decode(&f, b.data, b.len), VS_E_CORRUPT);
	/* Unknown flag bits. */
	raw_file_head(&b, 0x02, 0);
	vs_buf_add_varint(&b, 0);
	assert_int_equal(vs_file_decode(&f, b.data, b.len), VS_E_CORRUPT);
	raw_file_head(&b, 0x81, 0);
	assert_int_equal(vs_file_decode(&f, b.data, b.len), VS_E_CORRUPT);
	/* A chunk of length 0. */
	raw_file_head(&b, 0, 5);
	vs_buf_add_varint(&b, 2);
	add_chunk_raw(&b, 5);
	add_chunk_raw(&b, 0);
	assert_int_equal(vs_file_decode(&f, b.data, b.len), VS_E_CORRUPT);
	/* Lengths that do not sum to the size, either way. */
	raw_file_head(&b, 0, 10);
	vs_buf_add_varint(&b, 2);
	add_chunk_raw(&b, 5);
	add_chunk_raw(&b, 4);
	assert_int_equal(vs_file_decode(&f, b.data, b.len), VS_E_CORRUPT);
	raw_file_head(&b, 0, 10);
	vs_buf_add_varint(&b, 2);
	add_chunk_raw(&b, 5);
	add_chunk_raw(&b, 6);
	assert_int_equal(vs_file_decode(&f, b.data, b.len), VS_E_CORRUPT);
	/* Lengths whose sum overflows 64 bits onto the size. */
	raw_file_head(&b, 0, 4);
	vs_buf_add_varint(&b, 2);
	add_chunk_raw(&b, UINT64_MAX);
	add_chunk_raw(&b, 5);
	assert_int_equal(vs_file_decode(&f, b.data, b.len), VS_E_CORRUPT);
	/* A huge chunk count must fail before any allocation. */
	raw_file_head(&b, 0, 10);
	vs_buf_add_varint(&b, UINT64_MAX / 2);
	add_chunk_raw(&b, 10);
	assert_int_equal(vs_file_decode(&f, b.data, b.len), VS_E_CORRUPT);
	raw_file_head(&b, 0, 10);
	vs_buf_add_varint(&b, 2);
	add_chunk_raw(&b, 10);
	assert_int_equal(vs_file_decode(&f, b.data, b.len), VS_E_CORRUPT);
	/* Overlong size varint. */
	vs_buf_reset(&b);
	vs_buf_add(&b, "F\x01\x01\x83\x00" "abc", 8);
	assert_int_equal(vs_file_decode(&f, b.data, b.len), VS_E_CORRUPT);
	vs_buf_reset(&b);
	vs_buf_add(&b, "F\x01\x01\x03" "abc", 7);
	assert_int_equal(recode_file(b.data, b.len, &out), 0);
	/* Wrong type, old and new versions. */
	vs_buf_reset(&b);
	vs_buf_add(&b, "T\x01\x01\x00", 4);
	assert_int_equal(vs_file_decode(&f, b.data, b.len), VS_E_CORRUPT);
	vs_buf_reset(&b);
	vs_buf_add(&b, "F\x00\x01\x00", 4);
	assert_int_equal(vs_file_decode(&f, b.data, b.len), VS_E_CORRUPT);
	vs_buf_reset(&b);
	vs_buf_add(&b, "F\x02\x01\x00", 4);
	assert_int_equal(vs_file_decode(&f, b.data, b.len), VS_E_VERSION);
	vs_buf_reset(&b);
	vs_buf_add(&b, "F\xff", 2);
	assert_int_equal(vs_file_decode(&f, b.data, b.len), VS_E_VERSION);
	assert_int_equal(vs_file_decode(&f, NULL, 0), VS_E_CORRUPT);
	vs_buf_release(&b);
	vs_buf_release(&out);
}

/* --- tree ----------------------------------------------------------- */

static void test_names(void **state)
{
	char max[VS_NAME_MAX + 1];

	memset(max, 'n', sizeof(max));
	assert_true(vs_name_valid("a", 1));
	assert_true(vs_name_valid("...", 3));
	assert_true(vs_name_valid(".git", 4));
	assert_true(vs_name_valid("..a", 3));
	assert_true(vs_name_valid("a b\tc\n", 6));
	assert_true(vs_name_valid("\xff\xfe", 2));
	assert_true(vs_name_valid("caf\xc3\xa9", 5));
	assert_true(vs_name_valid(max, VS_NAME_MAX));
	assert_false(vs_name_valid(max, VS_NAME_MAX + 1));
	assert_false(vs_name_valid("", 0));
	assert_false(vs_name_valid(".", 1));
	assert_false(vs_name_valid("..", 2));
	assert_false(vs_name_valid("a/b", 3));
	assert_false(vs_name_valid("/", 1));
	assert_false(vs_name_valid("ab/", 3));
	assert_false(vs_name_valid("a\0b", 3));
	assert_false(vs_name_valid("\0", 1));
}

static void build_tree(struct vs_tree *t)
{
	char longname[VS_NAME_MAX];
	struct vs_id id;

	memset(longname, 'L', sizeof(longname));
	vs_tree_init(t);
	make_id(&id, 1);
	vs_tree_add(t, "zeta.bin", 8, VS_ENTRY_FILE, 12345, &id);
	make_id(&id, 2);
	vs_tree_add(t, "\xff\xfe", 2, VS_ENTRY_FILE, 0, &id);
	make_id(&id, 3);
	vs_tree_add(t, "train", 5, VS_ENTRY_DIR, 1ull << 42, &id);
	make_id(&id, 4);
	vs_tree_add(t, "run.sh", 6, VS_ENTRY_EXEC, 77, &id);
	make_id(&id, 5);
	vs_tree_add(t, "latest", 6, VS_ENTRY_SYMLINK, 9, &id);
	make_id(&id, 6);
	vs_tree_add(t, "a", 1, VS_ENTRY_FILE, 1, &id);
	make_id(&id, 7);
	vs_tree_add(t, "ab", 2, VS_ENTRY_FILE, 2, &id);
	make_id(&id, 8);
	vs_tree_add(t, longname, sizeof(longname), VS_ENTRY_FILE, 3, &id);
	make_id(&id, 9);
	vs_tree_add(t, "caf\xc3\xa9", 5, VS_ENTRY_DIR, 0, &id);
	vs_tree_sort(t);
}

static void test_tree_roundtrip(void **state)
{
	struct vs_buf enc = VS_BUF_INIT, again = VS_BUF_INIT;
	const struct vs_tree_entry *e;
	struct vs_tree t, u;
	size_t i;

	build_tree(&t);
	/* memcmp order: a prefix first, bytes >= 0x80 after ASCII. */
	assert_int_equal(t.entries[0].name[0], 'L');
	assert_int_equal(t.entries[0].name_len, VS_NAME_MAX);
	assert_int_equal(strlen(t.entries[0].name), VS_NAME_MAX);
	assert_string_equal(t.entries[1].name, "a");
	assert_string_equal(t.entries[2].name, "ab");
	assert_string_equal(t.entries[t.count - 1].name, "\xff\xfe");

	vs_tree_encode(&t, &enc);
	assert_int_equal(vs_obj_type_of(enc.data, enc.len), VS_OBJ_TREE);
	assert_int_equal(vs_tree_decode(&u, enc.data, enc.len), 0);
	assert_int_equal(u.count, t.count);
	for (i = 0; i < t.count; i++) {
		assert_int_equal(u.entries[i].name_len, t.entries[i].name_len);
		assert_memory_equal(u.entries[i].name, t.entries[i].name,
				    t.entries[i].name_len + 1);
		assert_int_equal(u.entries[i].type, t.entries[i].type);
		assert_true(u.entries[i].size == t.entries[i].size);
		assert_true(vs_id_equal(&u.entries[i].id, &t.entries[i].id));
	}
	vs_tree_encode(&u, &again);
	assert_int_equal(again.len, enc.len);
	assert_memory_equal(again.data, enc.data, enc.len);

	e = vs_tree_find(&u, "train", 5);
	assert_non_null(e);
	assert_int_equal(e->type, VS_ENTRY_DIR);
	assert_true(e->size == 1ull << 42);
	assert_non_null(vs_tree_find(&u, "\xff\xfe", 2));
	assert_non_null(vs_tree_find(&u, "a", 1));
	assert_non_null(vs_tree_find(&u, "ab", 2));
	assert_null(vs_tree_find(&u, "abc", 3));
	assert_null(vs_tree_find(&u, "", 0));
	assert_null(vs_tree_find(&u, "trai", 4));
	assert_null(vs_tree_find(&u, "zzz", 3));
	assert_null(vs_tree_find(&u, "\xff", 1));
	/* Every entry can be found, including by a non-terminated name. */
	for (i = 0; i < u.count; i++)
		assert_ptr_equal(vs_tree_find(&u, u.entries[i].name,
					      u.entries[i].name_len),
				 &u.entries[i]);
	assert_non_null(vs_tree_find(&u, "abXX", 2));

	vs_tree_release(&u);
	vs_tree_release(&t);
	check_codec(recode_tree, &enc);

	/* The empty tree. */
	vs_tree_init(&t);
	assert_null(vs_tree_find(&t, "a", 1));
	vs_buf_reset(&enc);
	vs_tree_encode(&t, &enc);
	assert_int_equal(enc.len, 3);
	check_codec(recode_tree, &enc);
	vs_buf_release(&enc);
	vs_buf_release(&again);
}

static void test_tree_large(void **state)
{
	struct vs_buf enc = VS_BUF_INIT;
	struct vs_tree t, u;
	struct vs_id id;
	char name[32];
	int i, n;

	vs_tree_init(&t);
	make_id(&id, 0);
	for (i = 999; i >= 0; i--) {
		n = snprintf(name, sizeof(name), "file-%04d.jpg", i);
		vs_tree_add(&t, name, (size_t)n, VS_ENTRY_FILE, (uint64_t)i,
			    &id);
	}
	vs_tree_sort(&t);
	vs_tree_encode(&t, &enc);
	assert_int_equal(vs_tree_decode(&u, enc.data, enc.len), 0);
	check_view(&u, 0, enc.data, enc.len);
	assert_int_equal(u.count, 1000);
	for (i = 0; i < 1000; i++) {
		n = snprintf(name, sizeof(name), "file-%04d.jpg", i);
		assert_non_null(vs_tree_find(&u, name, (size_t)n));
		assert_true(vs_tree_find(&u, name, (size_t)n)->size ==
			    (uint64_t)i);
	}
	/* A decoded tree can still grow. */
	vs_tree_add(&u, "zzz", 3, VS_ENTRY_DIR, 0, &id);
	assert_int_equal(u.count, 1001);
	vs_tree_release(&u);
	vs_tree_release(&t);
	vs_buf_release(&enc);
}

static void raw_tree(struct vs_buf *b, size_t count)
{
	vs_buf_reset(b);
	vs_buf_addch(b, 'T');
	vs_buf_addch(b, VS_OBJ_VERSION);
	vs_buf_add_varint(b, count);
}

static void raw_entry(struct vs_buf *b, int type, const char *name,
		      size_t len)
{
	struct vs_id id;

	make_id(&id, 5);
	vs_buf_addch(b, type);
	vs_buf_add_bytes(b, name, len);
	vs_buf_add_varint(b, 1);
	vs_buf_add(b, id.b, VS_ID_LEN);
}

static int decode_one_name(const char *name, size_t len)
{
	struct vs_buf b = VS_BUF_INIT;
	struct vs_tree t;
	int r;

	raw_tree(&b, 1);
	raw_entry(&b, VS_ENTRY_FILE, name, len);
	r = vs_tree_decode(&t, b.data, b.len);
	check_view(&t, r, b.data, b.len);
	if (!r) {
		assert_int_equal(t.count, 1);
		assert_int_equal(t.entries[0].name_len, len);
		assert_memory_equal(t.entries[0].name, name, len);
		assert_int_equal(t.entries[0].name[len], '\0');
		vs_tree_release(&t);
	}
	vs_buf_release(&b);
	return r;
}

/* Decodes b both ways (check_view); the result of vs_tree_decode. */
static int decode_raw_tree(const struct vs_buf *b)
{
	struct vs_tree t;
	int r = vs_tree_decode(&t, b->data, b->len);

	check_view(&t, r, b->data, b->len);
	vs_tree_release(&t);
	return r;
}

static void test_tree_reject(void **state)
{
	struct vs_buf b = VS_BUF_INIT;
	char name[VS_NAME_MAX + 1];
	int type;

	memset(name, 'x', sizeof(name));
	assert_int_equal(decode_one_name("ok", 2), 0);
	assert_int_equal(decode_one_name("\xff\xfe", 2), 0);
	assert_int_equal(decode_one_name(name, VS_NAME_MAX), 0);
	assert_int_equal(decode_one_name(name, VS_NAME_MAX + 1),
			 VS_E_CORRUPT);
	assert_int_equal(decode_one_name("", 0), VS_E_CORRUPT);
	assert_int_equal(decode_one_name(".", 1), VS_E_CORRUPT);
	assert_int_equal(decode_one_name("..", 2), VS_E_CORRUPT);
	assert_int_equal(decode_one_name("a/b", 3), VS_E_CORRUPT);
	assert_int_equal(decode_one_name("a\0b", 3), VS_E_CORRUPT);

	/* Entry types outside 1..4. */
	for (type = 0; type < 256; type++) {
		raw_tree(&b, 1);
		raw_entry(&b, type, "n", 1);
		assert_int_equal(decode_raw_tree(&b),
				 type >= 1 && type <= 4 ? 0 : VS_E_CORRUPT);
	}

	/* Unsorted, duplicate, prefix order. */
	raw_tree(&b, 2);
	raw_entry(&b, 1, "b", 1);
	raw_entry(&b, 1, "a", 1);
	assert_int_equal(decode_raw_tree(&b), VS_E_CORRUPT);
	raw_tree(&b, 2);
	raw_entry(&b, 1, "a", 1);
	raw_entry(&b, 3, "a", 1);
	assert_int_equal(decode_raw_tree(&b), VS_E_CORRUPT);
	raw_tree(&b, 2);
	raw_entry(&b, 1, "ab", 2);
	raw_entry(&b, 1, "a", 1);
	assert_int_equal(decode_raw_tree(&b), VS_E_CORRUPT);
	raw_tree(&b, 2);
	raw_entry(&b, 1, "\xff", 1);
	raw_entry(&b, 1, "a", 1);
	assert_int_equal(decode_raw_tree(&b), VS_E_CORRUPT);
	raw_tree(&b, 2);
	raw_entry(&b, 1, "a", 1);
	raw_entry(&b, 1, "ab", 2);
	assert_int_equal(decode_raw_tree(&b), 0);

	/* Counts that do not match the entries. */
	raw_tree(&b, 3);
	raw_entry(&b, 1, "a", 1);
	raw_entry(&b, 1, "b", 1);
	assert_int_equal(decode_raw_tree(&b), VS_E_CORRUPT);
	raw_tree(&b, 1);
	raw_entry(&b, 1, "a", 1);
	raw_entry(&b, 1, "b", 1);
	assert_int_equal(decode_raw_tree(&b), VS_E_CORRUPT);
	raw_tree(&b, UINT64_MAX);
	raw_entry(&b, 1, "a", 1);
	assert_int_equal(decode_raw_tree(&b), VS_E_CORRUPT);
	raw_tree(&b, 1ull << 40);
	assert_int_equal(decode_raw_tree(&b), VS_E_CORRUPT);

	/* Versions. */
	raw_tree(&b, 0);
	b.data[1] = VS_OBJ_VERSION + 1;
	assert_int_equal(decode_raw_tree(&b), VS_E_VERSION);
	b.data[1] = 0;
	assert_int_equal(decode_raw_tree(&b), VS_E_CORRUPT);
	b.data[1] = VS_OBJ_VERSION;
	b.data[0] = 'F';
	assert_int_equal(decode_raw_tree(&b), VS_E_CORRUPT);
	vs_buf_release(&b);
}

/* --- commit and tag ------------------------------------------------- */

static void build_commit(struct vs_commit *c, size_t nparents)
{
	struct vs_id id;
	size_t i;

	vs_commit_init(c);
	make_id(&c->tree, 100);
	for (i = 0; i < nparents; i++) {
		make_id(&id, 200 + (unsigned)i);
		vs_commit_add_parent(c, &id);
	}
	c->time = 1700000000;
	vs_commit_set_author(c, "Ada Lovelace <ada@example.org>");
	vs_commit_set_message(c, "train: add epoch 3 checkpoints\n\n\xe2\x9c\x93");
	vs_commit_set_meta(c, "ci.run", "1234");
	vs_commit_set_meta(c, "ci.provider", "github");
	vs_commit_set_meta(c, "z", "");
	vs_commit_set_meta(c, "ci.run", "1235");
}

static void test_commit(void **state)
{
	struct vs_buf enc = VS_BUF_INIT;
	struct vs_commit c, d;
	size_t np;

	for (np = 0; np < 4; np++) {
		build_commit(&c, np);
		/* set_meta replaced one key and kept them sorted. */
		assert_int_equal(c.nmeta, 3);
		assert_string_equal(c.meta[0].key, "ci.provider");
		assert_string_equal(c.meta[1].key, "ci.run");
		assert_string_equal(c.meta[1].value, "1235");
		assert_string_equal(c.meta[2].key, "z");

		vs_buf_reset(&enc);
		vs_commit_encode(&c, &enc);
		assert_int_equal(vs_obj_type_of(enc.data, enc.len),
				 VS_OBJ_COMMIT);
		assert_int_equal(vs_commit_decode(&d, enc.data, enc.len), 0);
		assert_true(vs_id_equal(&d.tree, &c.tree));
		assert_int_equal(d.nparents, np);
		if (np)
			assert_true(vs_id_equal(&d.parents[np - 1],
						&c.parents[np - 1]));
		assert_true(d.time == 1700000000);
		assert_string_equal(d.author, c.author);
		assert_string_equal(d.message, c.message);
		assert_int_equal(d.nmeta, 3);
		assert_string_equal(d.meta[1].value, "1235");
		/* A decoded commit can still be edited. */
		vs_commit_set_meta(&d, "a", "first");
		assert_string_equal(d.meta[0].key, "a");
		vs_commit_release(&d);
		vs_commit_release(&c);
		if (np < 3)
			check_codec(recode_commit, &enc);
	}

	/* A fresh commit encodes, with empty strings. */
	vs_commit_init(&c);
	assert_string_equal(c.author, "");
	assert_string_equal(c.message, "");
	vs_buf_reset(&enc);
	vs_commit_encode(&c, &enc);
	check_codec(recode_commit, &enc);
	/* Init then decode leaks nothing (LeakSanitizer checks). */
	build_commit(&d, 2);
	vs_buf_reset(&enc);
	vs_commit_encode(&d, &enc);
	vs_commit_release(&d);
	vs_commit_init(&c);
	assert_int_equal(vs_commit_decode(&c, enc.data, enc.len), 0);
	/* Setting a value from itself, or an author from itself. */
	vs_commit_set_meta(&c, "ci.run", c.meta[1].value);
	assert_string_equal(c.meta[1].value, "1235");
	vs_commit_set_author(&c, c.author);
	assert_string_equal(c.author, "Ada Lovelace <ada@example.org>");
	/* Release leaves an empty, reusable commit; twice is harmless. */
	vs_commit_release(&c);
	assert_string_equal(c.author, "");
	assert_int_equal(c.nparents, 0);
	assert_int_equal(c.nmeta, 0);
	vs_commit_release(&c);
	vs_commit_set_message(&c, "again");
	vs_commit_release(&c);
	vs_buf_release(&enc);
}

static void raw_commit_head(struct vs_buf *b, uint64_t nparents)
{
	struct vs_id id;

	make_id(&id, 1);
	vs_buf_reset(b);
	vs_buf_addch(b, 'C');
	vs_buf_addch(b, VS_OBJ_VERSION);
	vs_buf_add(b, id.b, VS_ID_LEN);
	vs_buf_add_varint(b, nparents);
}

static void test_commit_reject(void **state)
{
	struct vs_buf b = VS_BUF_INIT;
	struct vs_commit c;

	/* Reference: a valid minimal commit. */
	raw_commit_head(&b, 0);
	vs_buf_add_varint(&b, 5);
	vs_buf_add_bytes(&b, "me", 2);
	vs_buf_add_bytes(&b, "msg", 3);
	vs_buf_add_varint(&b, 0);
	assert_int_equal(vs_commit_decode(&c, b.data, b.len), 0);
	vs_commit_release(&c);

	/* NUL inside a string. */
	raw_commit_head(&b, 0);
	vs_buf_add_varint(&b, 5);
	vs_buf_add_bytes(&b, "m\0e", 3);
	vs_buf_add_bytes(&b, "msg", 3);
	vs_buf_add_varint(&b, 0);
	assert_int_equal(vs_commit_decode(&c, b.data, b.len), VS_E_CORRUPT);

	/* Meta: empty key, unsorted keys, duplicate keys, NUL in value. */
	raw_commit_head(&b, 0);
	vs_buf_add_varint(&b, 5);
	vs_buf_add_bytes(&b, "", 0);
	vs_buf_add_bytes(&b, "", 0);
	vs_buf_add_varint(&b, 1);
	vs_buf_add_bytes(&b, "", 0);
	vs_buf_add_bytes(&b, "v", 1);
	assert_int_equal(vs_commit_decode(&c, b.data, b.len), VS_E_CORRUPT);

	raw_commit_head(&b, 0);
	vs_buf_add_varint(&b, 5);
	vs_buf_add_bytes(&b, "", 0);
	vs_buf_add_bytes(&b, "", 0);
	vs_buf_add_varint(&b, 2);
	vs_buf_add_bytes(&b, "b", 1);
	vs_buf_add_bytes(&b, "1", 1);
	vs_buf_add_bytes(&b, "a", 1);
	vs_buf_add_bytes(&b, "2", 1);
	assert_int_equal(vs_commit_decode(&c, b.data, b.len), VS_E_CORRUPT);

	raw_commit_head(&b, 0);
	vs_buf_add_varint(&b, 5);
	vs_buf_add_bytes(&b, "", 0);
	vs_buf_add_bytes(&b, "", 0);
	vs_buf_add_varint(&b, 2);
	vs_buf_add_bytes(&b, "a", 1);
	vs_buf_add_bytes(&b, "1", 1);
	vs_buf_add_bytes(&b, "a", 1);
	vs_buf_add_bytes(&b, "2", 1);
	assert_int_equal(vs_commit_decode(&c, b.data, b.len), VS_E_CORRUPT);

	raw_commit_head(&b, 0);
	vs_buf_add_varint(&b, 5);
	vs_buf_add_bytes(&b, "", 0);
	vs_buf_add_bytes(&b, "", 0);
	vs_buf_add_varint(&b, 1);
	vs_buf_add_bytes(&b, "k", 1);
	vs_buf_add_bytes(&b, "v\0", 2);
	assert_int_equal(vs_commit_decode(&c, b.data, b.len), VS_E_CORRUPT);

	/* Huge counts fail before allocating. */
	raw_commit_head(&b, UINT64_MAX);
	vs_buf_add_varint(&b, 5);
	assert_int_equal(vs_commit_decode(&c, b.data, b.len), VS_E_CORRUPT);
	raw_commit_head(&b, 0);
	vs_buf_add_varint(&b, 5);
	vs_buf_add_bytes(&b, "", 0);
	vs_buf_add_bytes(&b, "", 0);
	vs_buf_add_varint(&b, 1ull << 50);
	vs_buf_add_bytes(&b, "k", 1);
	vs_buf_add_bytes(&b, "v", 1);
	assert_int_equal(vs_commit_decode(&c, b.data, b.len), VS_E_CORRUPT);

	/* Version and type. */
	raw_commit_head(&b, 0);
	vs_buf_add_varint(&b, 5);
	vs_buf_add_bytes(&b, "", 0);
	vs_buf_add_bytes(&b, "", 0);
	vs_buf_add_varint(&b, 0);
	assert_int_equal(vs_commit_decode(&c, b.data, b.len), 0);
	vs_commit_release(&c);
	b.data[1] = VS_OBJ_VERSION + 1;
	assert_int_equal(vs_commit_decode(&c, b.data, b.len), VS_E_VERSION);
	b.data[1] = VS_OBJ_VERSION;
	b.data[0] = 'G';
	assert_int_equal(vs_commit_decode(&c, b.data, b.len), VS_E_CORRUPT);
	vs_buf_release(&b);
}

static void test_tag(void **state)
{
	struct vs_buf enc = VS_BUF_INIT;
	struct vs_commit c;
	struct vs_tag t, u;

	vs_tag_init(&t);
	make_id(&t.commit, 42);
	t.time = UINT64_MAX;
	vs_tag_set_author(&t, "ci-bot");
	vs_tag_set_message(&t, "release v3");
	vs_tag_set_meta(&t, "run", "1234");
	vs_tag_set_meta(&t, "attempt", "2");
	vs_tag_set_author(&t, "ci-bot@example");
	vs_tag_encode(&t, &enc);
	assert_int_equal(vs_obj_type_of(enc.data, enc.len), VS_OBJ_TAG);
	assert_int_equal(vs_tag_decode(&u, enc.data, enc.len), 0);
	assert_true(vs_id_equal(&u.commit, &t.commit));
	assert_true(u.time == UINT64_MAX);
	assert_string_equal(u.author, "ci-bot@example");
	assert_string_equal(u.message, "release v3");
	assert_int_equal(u.nmeta, 2);
	assert_string_equal(u.meta[0].key, "attempt");
	assert_string_equal(u.meta[1].value, "1234");
	vs_tag_release(&u);
	vs_tag_release(&t);
	check_codec(recode_tag, &enc);

	/* A tag is not a commit, and a newer tag is refused as such. */
	assert_int_equal(vs_commit_decode(&c, enc.data, enc.len),
			 VS_E_CORRUPT);
	enc.data[1] = VS_OBJ_VERSION + 1;
	assert_int_equal(vs_tag_decode(&u, enc.data, enc.len), VS_E_VERSION);

	vs_tag_init(&t);
	vs_buf_reset(&enc);
	vs_tag_encode(&t, &enc);
	check_codec(recode_tag, &enc);
	/* Init then decode leaks nothing; a failed decode leaves it empty. */
	assert_int_equal(vs_tag_decode(&t, enc.data, enc.len), 0);
	vs_tag_release(&t);
	vs_tag_init(&t);
	assert_int_equal(vs_tag_decode(&t, enc.data, enc.len - 1),
			 VS_E_CORRUPT);
	assert_string_equal(t.author, "");
	vs_tag_release(&t);
	vs_buf_release(&enc);
}

static void test_type_of(void **state)
{
	assert_int_equal(vs_obj_type_of("", 0), 0);
	assert_int_equal(vs_obj_type_of(NULL, 0), 0);
	assert_int_equal(vs_obj_type_of("F", 1), VS_OBJ_FILE);
	assert_int_equal(vs_obj_type_of("T\x01", 2), VS_OBJ_TREE);
	assert_int_equal(vs_obj_type_of("C", 1), VS_OBJ_COMMIT);
	assert_int_equal(vs_obj_type_of("G", 1), VS_OBJ_TAG);
	assert_int_equal(vs_obj_type_of("\xff", 1), 0xff);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_file_inline),
		cmocka_unit_test(test_file_chunked),
		cmocka_unit_test(test_file_many_chunks),
		cmocka_unit_test(test_file_find_chunk),
		cmocka_unit_test(test_file_reject),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_tree_roundtrip),
		cmocka_unit_test(test_tree_large),
		cmocka_unit_test(test_tree_reject),
		cmocka_unit_test(test_commit),
		cmocka_unit_test(test_commit_reject),
		cmocka_unit_test(test_tag),
		cmocka_unit_test(test_type_of),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
