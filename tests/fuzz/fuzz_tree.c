/*
 * fuzz_tree.c - fuzz target for vs_tree_decode().
 *
 * Any input the decoder accepts must be canonical (encode(decode(x)) == x,
 * and decoding that again gives the same bytes), every entry must have a
 * valid name and type, and vs_tree_find() must find every entry.  Built with
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vs_buf enc = VS_BUF_INIT, again = VS_BUF_INIT;
	struct vs_tree t, u;

	if (vs_tree_decode(&t, data, size))
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
