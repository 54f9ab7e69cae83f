/*
 * fuzz_stage_entry.c - fuzz target for vs_stage_entry_decode()
 * (store/staging.h), the decoder of a staged entry of a writable head.
 *
 * Any value the decoder accepts must be canonical (encode(decode(x)) == x,
 * and decoding that again gives the same entry), have a known type, and
 * carry a target exactly when it is a symlink.  A rejected value owns
 * nothing.  Built with libFuzzer, or with tests/fuzz/driver.c under ctest.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "staging.h"
#include "banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_same(const struct vs_stage_entry *a,
		       const struct vs_stage_entry *b)
{
	if (a->type != b->type || a->flags != b->flags ||
	    a->datafile != b->datafile || a->size != b->size ||
	    !vs_id_equal(&a->id, &b->id) || !a->target != !b->target ||
	    (a->target && strcmp(a->target, b->target)))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vs_buf enc = VS_BUF_INIT;
	struct vs_stage_entry e, again;
	int r = vs_stage_entry_decode(&e, data, size);

	if (r) {
		if (r != VS_E_CORRUPT || e.target)
			abort();
		return 0;
	}
	switch (e.type) {
	case VS_STAGE_WHITEOUT:
	case VS_STAGE_DATA:
	case VS_STAGE_REF:
	case VS_STAGE_DIR:
		if (e.target)
			abort();
		break;
	case VS_STAGE_SYMLINK:
		if (!e.target)
			abort();
		break;
	default:
		abort();
	}
	if (e.flags > 0xff)
		abort();
	vs_stage_entry_encode(&e, &enc);
	if (enc.len != size || memcmp(enc.data, data, size))
		abort();
	if (vs_stage_entry_decode(&again, enc.data, enc.len))
		abort();
	check_same(&e, &again);
	vs_stage_entry_release(&again);
	vs_stage_entry_release(&e);
	vs_buf_release(&enc);
	return 0;
}
