/*
 * fuzz_file.c - fuzz target for vs_file_decode().
 *
 * Any input the decoder accepts must be canonical: encoding the decoded file
 * gives back the input byte for byte, and decoding that again gives the same
 * value.  Accepted files are also checked for the invariants readers rely
 * on (offsets consistent with lengths, find_chunk landing in the right
 * chunk).  Built with libFuzzer, or with tests/fuzz/driver.c under ctest.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "object.h"
#include "banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_file(const struct vs_file *f)
{
	uint64_t off = 0;
	size_t i;

	if (f->inline_data) {
		if (f->nchunks || f->size > VS_FILE_INLINE_MAX)
			abort();
		return;
	}
	for (i = 0; i < f->nchunks; i++) {
		if (!f->chunks[i].len || f->chunks[i].offset != off)
			abort();
		if (vs_file_find_chunk(f, off) != i ||
		    vs_file_find_chunk(f, off + f->chunks[i].len - 1) != i)
			abort();
		off += f->chunks[i].len;
	}
	if (off != f->size || vs_file_find_chunk(f, f->size) != f->nchunks)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vs_buf enc = VS_BUF_INIT, again = VS_BUF_INIT;
	struct vs_file f, g;

	if (vs_file_decode(&f, data, size))
		return 0;
	check_file(&f);
	vs_file_encode(&f, &enc);
	if (enc.len != size || memcmp(enc.data, data, size))
		abort();
	if (vs_file_decode(&g, enc.data, enc.len))
		abort();
	vs_file_encode(&g, &again);
	if (again.len != enc.len || memcmp(again.data, enc.data, enc.len))
		abort();
	vs_file_release(&g);
	vs_file_release(&f);
	vs_buf_release(&again);
	vs_buf_release(&enc);
	return 0;
}
