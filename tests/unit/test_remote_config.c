/*
 * test_remote_config.c - the remotes of a store's config (store.h):
 * none at first; set, read back in order with every field; the store
 * still opens with them and keeps its other settings and lines; replaced
 * and removed; bad names and values refused with nothing written; a
 * remote section without a url, or with a bad name, is reported.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "error.h"
#include "store.h"
#include "transport.h"
#include "testutil.h"
#include "banned.h"

static void read_config(struct tu_env *e, struct vs_buf *out)
{
	char p[PATH_MAX];

	assert_int_equal(tu_read(tu_join(p, e->store_path, "config"), out), 0);
}

static void test_set_and_read(void **state)
{
	struct tu_env *e = tu_env_new();
	struct vs_remote_config set[2] = {
		{ .name = "origin", .url = "file:///tmp/x" },
		{ .name = "s3-Prod_1", .url = "s3://bucket/pre/fix",
		  .endpoint = "http://127.0.0.1:4568", .region = "eu-west-1",
		  .path_style = true },
	};
	struct vs_remote_config *got;
	struct vs_buf before = VS_BUF_INIT, after = VS_BUF_INIT;
	struct vs_store *s2;
	size_t n;

	(void)state;
	assert_int_equal(vs_store_remotes(e->s, &got, &n, NULL), 0);
	assert_int_equal(n, 0);
	vs_remote_configs_free(got, n);
	read_config(e, &before);

	assert_int_equal(vs_store_set_remotes(e->s, set, 2, NULL), 0);
	assert_int_equal(vs_store_remotes(e->s, &got, &n, NULL), 0);
	assert_int_equal(n, 2);
	assert_string_equal(got[0].name, "origin");
	assert_string_equal(got[0].url, "file:///tmp/x");
	assert_null(got[0].endpoint);
	assert_null(got[0].region);
	assert_false(got[0].path_style);
	assert_string_equal(got[1].name, "s3-Prod_1");
	assert_string_equal(got[1].endpoint, "http://127.0.0.1:4568");
	assert_string_equal(got[1].region, "eu-west-1");
	assert_true(got[1].path_style);
	vs_remote_configs_free(got, n);

	/* The store opens again with its settings. */
	vs_store_close(e->s);
	assert_int_equal(vs_store_open(e->store_path, &s2, NULL), 0);
	e->s = s2;
	assert_int_equal(vs_store_config(s2)->chunking.avg, 4 * TU_KIB);

	/* Removing every remote gives the old file back. */
	assert_int_equal(vs_store_set_remotes(e->s, set + 1, 1, NULL), 0);
	assert_int_equal(vs_store_remotes(e->s, &got, &n, NULL), 0);
	assert_int_equal(n, 1);
	assert_string_equal(got[0].name, "s3-Prod_1");
	vs_remote_configs_free(got, n);
	assert_int_equal(vs_store_set_remotes(e->s, NULL, 0, NULL), 0);
	read_config(e, &after);
	assert_int_equal(after.len, before.len);
	assert_memory_equal(after.data, before.data, before.len);
	vs_buf_release(&before);
	vs_buf_release(&after);
	tu_env_free(e);
}

static void test_bad(void **state)
{
	static const char *const bad_names[] = {
		"", ".x", "-x", "a b", "a/b", "a]",
		"0123456789012345678901234567890123456789012345678901234567890"
		"12345",
	};
	struct tu_env *e = tu_env_new();
	struct vs_remote_config c = { .name = "ok", .url = "file:///x" };
	struct vs_remote_config *got;
	struct vs_buf before = VS_BUF_INIT, after = VS_BUF_INIT;
	char p[PATH_MAX];
	size_t i, n;

	(void)state;
	read_config(e, &before);
	for (i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
		c.name = (char *)bad_names[i];
		assert_false(vs_remote_name_valid(c.name));
		assert_int_equal(vs_store_set_remotes(e->s, &c, 1, NULL),
				 VS_E_INVAL);
	}
	c.name = "ok";
	c.url = "file:///x\n[store]";
	assert_int_equal(vs_store_set_remotes(e->s, &c, 1, NULL), VS_E_INVAL);
	c.url = "";
	assert_int_equal(vs_store_set_remotes(e->s, &c, 1, NULL), VS_E_INVAL);
	c.url = "file:///x";
	c.region = " eu";
	assert_int_equal(vs_store_set_remotes(e->s, &c, 1, NULL), VS_E_INVAL);
	read_config(e, &after);
	assert_int_equal(after.len, before.len);
	assert_memory_equal(after.data, before.data, before.len);

	/* A section without a url, then one with a bad name. */
	vs_buf_addstr(&after, "\n[remote.nourl]\nregion = x\n");
	tu_write(tu_join(p, e->store_path, "config"), after.data, after.len,
		 0644);
	assert_int_equal(vs_store_remotes(e->s, &got, &n, NULL), VS_E_CORRUPT);
	vs_buf_reset(&after);
	vs_buf_add(&after, before.data, before.len);
	vs_buf_addstr(&after, "\n[remote.a b]\nurl = x\n");
	tu_write(tu_join(p, e->store_path, "config"), after.data, after.len,
		 0644);
	assert_int_equal(vs_store_remotes(e->s, &got, &n, NULL), VS_E_CORRUPT);
	vs_buf_release(&before);
	vs_buf_release(&after);
	tu_env_free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_set_and_read),
		cmocka_unit_test(test_bad),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
