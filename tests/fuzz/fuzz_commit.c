/*
 * fuzz_commit.c - fuzz target for vs_commit_decode().
 *
 * Any input the decoder accepts must be canonical (encode(decode(x)) == x,
 * and decoding that again gives the same bytes), with metadata keys
 * non-empty and strictly increasing.  Built with libFuzzer, or with
 * tests/fuzz/driver.c under ctest.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "object.h"
#include "banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vs_buf enc = VS_BUF_INIT, again = VS_BUF_INIT;
	struct vs_commit c, d;
	size_t i;

	if (vs_commit_decode(&c, data, size))
		return 0;
	if (!c.author || !c.message)
		abort();
	for (i = 0; i < c.nmeta; i++)
		if (!c.meta[i].key[0] ||
		    (i && strcmp(c.meta[i - 1].key, c.meta[i].key) >= 0))
			abort();
	vs_commit_encode(&c, &enc);
	if (enc.len != size || memcmp(enc.data, data, size))
		abort();
	if (vs_commit_decode(&d, enc.data, enc.len))
		abort();
	vs_commit_encode(&d, &again);
	if (again.len != enc.len || memcmp(again.data, enc.data, enc.len))
		abort();
	vs_commit_release(&d);
	vs_commit_release(&c);
	vs_buf_release(&again);
	vs_buf_release(&enc);
	return 0;
}
