/*
 * fuzz_run.c - fuzz target for vs_run_decode() (store/runs.h).
 *
 * Any input the decoder accepts must be canonical (encode(decode(x)) == x,
 * and decoding that again gives the same bytes), must name a known-good
 * provider and run id whose key fits VS_RUN_KEY_MAX and whose default tag
 * is a valid ref name, and must hold no duplicate snapshot in a list.
 * Built with libFuzzer, or with tests/fuzz/driver.c under ctest.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "refs.h"
#include "runs.h"
#include "banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_snaps(const struct vs_run_snap *s, size_t n)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		if (!s[i].tag || !s[i].job || !s[i].job_id)
			abort();
		if (s[i].tag[0] && !vs_ref_name_valid(s[i].tag))
			abort();
		for (j = 0; j < i; j++)
			if (vs_id_equal(&s[i].commit, &s[j].commit) &&
			    !strcmp(s[i].repo.full, s[j].repo.full))
				abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vs_buf enc = VS_BUF_INIT, again = VS_BUF_INIT;
	char key[VS_RUN_KEY_MAX], tag[VS_RUN_KEY_MAX + 3];
	struct vs_run r, u;

	if (vs_run_decode(&r, data, size))
		return 0;
	if (!vs_run_provider_valid(r.provider) || !vs_run_id_valid(r.run_id))
		abort();
	vs_run_key(&r, key);
	if (strncmp(key, r.provider, strlen(r.provider)) ||
	    key[strlen(r.provider)] != '/' ||
	    strncmp(key + strlen(r.provider) + 1, r.run_id, strlen(r.run_id)))
		abort();
	if (!vs_ref_name_valid(vs_run_default_tag(&r, tag)))
		abort();
	check_snaps(r.inputs, r.ninputs);
	check_snaps(r.outputs, r.noutputs);
	vs_run_encode(&r, &enc);
	if (enc.len != size || memcmp(enc.data, data, size))
		abort();
	if (vs_run_decode(&u, enc.data, enc.len))
		abort();
	vs_run_encode(&u, &again);
	if (again.len != enc.len || memcmp(again.data, enc.data, enc.len))
		abort();
	vs_run_release(&u);
	vs_run_release(&r);
	vs_buf_release(&again);
	vs_buf_release(&enc);
	return 0;
}
