/*
 * fuzz_lockfile.c - fuzz target for vs_lockfile_parse() (store/lockfile.h).
 *
 * Any text the parser accepts must format back to itself (plus a final
 * newline if it lacked one), parse again to the same lines, and stay
 * parseable after a pin is added or changed.  Built with libFuzzer, or
 * with tests/fuzz/driver.c under ctest.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "hash.h"
#include "lockfile.h"
#include "refs.h"
#include "banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_same(const struct vs_lockfile *a,
		       const struct vs_lockfile *b)
{
	size_t i;

	if (a->nlines != b->nlines)
		abort();
	for (i = 0; i < a->nlines; i++) {
		if (strcmp(a->lines[i].text, b->lines[i].text) ||
		    a->lines[i].is_pin != b->lines[i].is_pin)
			abort();
		if (a->lines[i].is_pin &&
		    (strcmp(a->lines[i].repo.full, b->lines[i].repo.full) ||
		     !vs_id_equal(&a->lines[i].commit, &b->lines[i].commit)))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vs_buf text = VS_BUF_INIT, again = VS_BUF_INIT;
	struct vs_lockfile l, m;
	struct vs_repo repo;
	struct vs_id id;
	char from[64];
	size_t pins;

	if (vs_lockfile_parse(&l, (const char *)data, size, NULL))
		return 0;
	vs_lockfile_format(&l, &text);
	if (l.no_final_newline ? text.len != size + 1 : text.len != size)
		abort();
	if (size && memcmp(text.data, data, size))
		abort();
	if (vs_lockfile_parse(&m, text.data, text.len, NULL))
		abort();
	check_same(&l, &m);
	vs_lockfile_format(&m, &again);
	if (again.len != text.len || memcmp(again.data, text.data, text.len))
		abort();
	vs_lockfile_release(&m);

	/* Pinning keeps it a valid lock file. */
	pins = vs_lockfile_count(&l);
	vs_hash(data, size, &id);
	if (vs_repo_parse(&repo, "datasets/fuzz", 13, NULL))
		abort();
	memcpy(from, data, size < sizeof(from) - 1 ? size : sizeof(from) - 1);
	from[size < sizeof(from) - 1 ? size : sizeof(from) - 1] = '\0';
	vs_lockfile_pin(&l, &repo, &id, from);
	if (l.nlines && vs_repo_parse(&repo, "models/a", 8, NULL) == 0)
		vs_lockfile_pin(&l, &repo, &id, "x\ny");
	vs_buf_reset(&text);
	vs_lockfile_format(&l, &text);
	if (vs_lockfile_parse(&m, text.data, text.len, NULL))
		abort();
	if (vs_lockfile_count(&m) < pins + 1 || !vs_lockfile_find(&m,
								 "datasets/fuzz"))
		abort();
	vs_lockfile_release(&m);
	vs_lockfile_release(&l);
	vs_buf_release(&text);
	vs_buf_release(&again);
	return 0;
}
