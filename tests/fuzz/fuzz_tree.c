/*
 * fuzz_tree.c - fuzz target for vs_tree_decode().
 *
 * Any input the decoder accepts must be canonical (encode(decode(x)) == x,
 * and decoding that again gives the same bytes), every entry must have a
 * valid name and type, and vs_tree_find() must find every entry.  The
 * one-block decoder (vs_tree_view_decode) must accept exactly the same
 * inputs and give the same entries.  Built with
 * libFuzzer, or with tests/fuzz/driver.c under ctest.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "object.h"
#include "banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_tree(const struct vs_tree *t)
{
	const struct vs_tree_entry *e;
	size_t i;

	for (i = 0; i < t->count; i++) {
		e = &t->entries[i];
		if (!vs_name_valid(e->name, e->name_len) ||
		    e->name[e->name_len] != '\0' ||
		    e->type < VS_ENTRY_FILE || e->type > VS_ENTRY_SYMLINK)
			abort();
		if (vs_tree_find(t, e->name, e->name_len) != e)
			abort();
	}
}

/* The view decodes as the tree did: same verdict, same entries. */
static void check_view(const struct vs_tree *t, int tr, const uint8_t *data,
		       size_t size)
{
	struct vs_tree_view v;
	size_t i;
	int vr = vs_tree_view_decode(&v, data, size);

	if (vr != tr)
		abort();
	if (vr) {
		if (v.entries || v.count)
			abort();
		return;
	}
	if (v.count != t->count)
		abort();
	for (i = 0; i < v.count; i++) {
		const struct vs_tree_entry *a = &v.entries[i], *b = &t->entries[i];

		if (a->name_len != b->name_len || a->type != b->type ||
		    a->size != b->size || !vs_id_equal(&a->id, &b->id) ||
		    memcmp(a->name, b->name, a->name_len + 1) ||
		    vs_tree_entries_find(v.entries, v.count, a->name,
					 a->name_len) != a)
			abort();
	}
	vs_tree_view_release(&v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vs_buf enc = VS_BUF_INIT, again = VS_BUF_INIT;
	struct vs_tree t, u;
	int r = vs_tree_decode(&t, data, size);

	check_view(&t, r, data, size);
	if (r)
		return 0;
	check_tree(&t);
	vs_tree_encode(&t, &enc);
	if (enc.len != size || memcmp(enc.data, data, size))
		abort();
	if (vs_tree_decode(&u, enc.data, enc.len))
		abort();
	vs_tree_encode(&u, &again);
	if (again.len != enc.len || memcmp(again.data, enc.data, enc.len))
		abort();
	vs_tree_release(&u);
	vs_tree_release(&t);
	vs_buf_release(&again);
	vs_buf_release(&enc);
	return 0;
}
