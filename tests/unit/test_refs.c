/*
 * test_refs.c - unit tests of store/refs.c: repository and ref names,
 * repository creation and listing, branch compare-and-swap (expect NULL,
 * wrong expect, FORCE, the extra batch), deletion, immutable tags, the
 * walk over every ref, and the fault hook leaving a branch unchanged.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kv.h"
#include "refs.h"
#include "testutil.h"
#include "banned.h"

static int setup(void **state)
{
	*state = tu_env_new();
	return 0;
}

static int teardown(void **state)
{
	vs_refs_fault_hook = NULL;
	tu_env_free(*state);
	return 0;
}

static void repo(struct vs_repo *r, const char *full)
{
	assert_int_equal(vs_repo_parse(r, full, strlen(full), NULL), 0);
}

/* A real commit object (empty tree, message msg). */
static void make_commit(struct vs_store *s, const char *msg, struct vs_id *id)
{
	struct vs_tree t;
	struct vs_commit c;

	vs_tree_init(&t);
	vs_commit_init(&c);
	assert_int_equal(vs_store_write_tree(s, &t, &c.tree, NULL), 0);
	vs_commit_set_message(&c, msg);
	assert_int_equal(vs_store_write_commit(s, &c, id, NULL), 0);
	vs_commit_release(&c);
	vs_tree_release(&t);
}

static void expect_branch(struct vs_store *s, const struct vs_repo *r,
			  const char *name, const struct vs_id *want)
{
	struct vs_id got;
	int rc = vs_branch_get(s, r, name, &got, NULL);

	if (want) {
		assert_int_equal(rc, 0);
		assert_true(vs_id_equal(&got, want));
	} else {
		assert_int_equal(rc, VS_E_NOTFOUND);
	}
}

/* --- names ---------------------------------------------------------------- */

static void test_repo_names(void **state)
{
	static const char *const good[] = {
		"a", "0", "mnist", "x.y_z-1", "imagenet-1k", "a..b", "9lives",
	};
	static const char *const bad[] = {
		"", "../x", "a/b", "\x01", "Foo", "-x", ".x", "_x", "a b",
		"a\xff", "x\n", "caf\xc3\xa9",
	};
	struct vs_error err = { 0 };
	struct vs_repo r;
	char name[300];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_true(vs_repo_name_valid(good[i], strlen(good[i])));
		assert_int_equal(vs_repo_set(&r, VS_REPO_MODEL, good[i], NULL),
				 0);
		assert_string_equal(r.name, good[i]);
		assert_int_equal(r.kind, VS_REPO_MODEL);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_false(vs_repo_name_valid(bad[i], strlen(bad[i])));
		vs_error_clear(&err);
		assert_int_equal(vs_repo_set(&r, VS_REPO_DATASET, bad[i], &err),
				 VS_E_INVAL);
		assert_int_equal(err.code, VS_E_INVAL);
		/* Control bytes are not echoed raw into the message. */
		assert_null(strchr(err.msg, '\x01'));
		assert_null(strchr(err.msg, '\n'));
	}
	/* Length: 64 is the limit. */
	memset(name, 'a', sizeof(name));
	assert_true(vs_repo_name_valid(name, 64));
	assert_false(vs_repo_name_valid(name, 65));
	name[64] = '\0';
	assert_int_equal(vs_repo_set(&r, VS_REPO_DATASET, name, NULL), 0);
	name[64] = 'a';
	name[299] = '\0';
	assert_int_equal(vs_repo_set(&r, VS_REPO_DATASET, name, &err),
			 VS_E_INVAL);
	/* The length argument is honoured: "a/" is valid as "a". */
	assert_true(vs_repo_name_valid("a/", 1));
}

static void test_repo_parse(void **state)
{
	static const char *const bad[] = {
		"", "mnist", "dataset/mnist", "model/x", "datasets/",
		"datasets", "/mnist", "datasets/Mnist", "datasets/a/b",
		"foo/x", "Datasets/x", "datasets//x", "datasets/../x",
		"models/-x", "datasetsdatasetsdatasets/x",
	};
	struct vs_repo r;
	enum vs_repo_kind k;
	char longname[200];
	size_t i;

	(void)state;
	assert_int_equal(vs_repo_parse(&r, "datasets/mnist", 14, NULL), 0);
	assert_int_equal(r.kind, VS_REPO_DATASET);
	assert_string_equal(r.name, "mnist");
	assert_string_equal(r.full, "datasets/mnist");
	assert_int_equal(vs_repo_parse(&r, "models/bert-base", 16, NULL), 0);
	assert_int_equal(r.kind, VS_REPO_MODEL);
	assert_string_equal(r.name, "bert-base");
	assert_string_equal(r.full, "models/bert-base");
	/* Only <s, len> is parsed. */
	assert_int_equal(vs_repo_parse(&r, "datasets/abc@main", 12, NULL), 0);
	assert_string_equal(r.full, "datasets/abc");
	assert_int_equal(vs_repo_parse(&r, "datasets/abc@main", 13, NULL),
			 VS_E_INVAL);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(vs_repo_parse(&r, bad[i], strlen(bad[i]), NULL),
				 VS_E_INVAL);
	/* A name one longer than the limit. */
	memcpy(longname, "datasets/", 9);
	memset(longname + 9, 'a', 65);
	assert_int_equal(vs_repo_parse(&r, longname, 9 + 65, NULL),
			 VS_E_INVAL);
	assert_int_equal(vs_repo_parse(&r, longname, 9 + 64, NULL), 0);
	assert_int_equal(strlen(r.name), 64);

	assert_int_equal(vs_repo_kind_parse("dataset", &k), 0);
	assert_int_equal(k, VS_REPO_DATASET);
	assert_int_equal(vs_repo_kind_parse("models", &k), 0);
	assert_int_equal(k, VS_REPO_MODEL);
	assert_int_equal(vs_repo_kind_parse("modelz", &k), VS_E_INVAL);
	assert_int_equal(vs_repo_kind_parse("", &k), VS_E_INVAL);
	assert_string_equal(vs_repo_kind_name(VS_REPO_DATASET), "dataset");
	assert_string_equal(vs_repo_kind_name(VS_REPO_MODEL), "model");
}

static void test_ref_names(void **state)
{
	static const char *const good[] = {
		"main", "ci/github/123-1", "v1.0", "feature_x", "A-b.c/d_e",
		"x", "a.b", "release/2024.01",
	};
	static const char *const bad[] = {
		"", "..", "a..b", "a//b", "-x", "x/", "/x", ".x", "x.",
		"a b", "a~b", "a:b", "a@b", "a^b", "a\\b", "a*b", "a?b",
		"a[b", "a\x01", "a\xff", "x\n",
	};
	char name[VS_REF_NAME_MAX + 2];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (!vs_ref_name_valid(good[i]))
			fprintf(stderr, "'%s' should be valid\n", good[i]);
		assert_true(vs_ref_name_valid(good[i]));
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (vs_ref_name_valid(bad[i]))
			fprintf(stderr, "'%s' should be invalid\n", bad[i]);
		assert_false(vs_ref_name_valid(bad[i]));
	}
	memset(name, 'b', sizeof(name));
	name[VS_REF_NAME_MAX] = '\0';
	assert_true(vs_ref_name_valid(name));
	name[VS_REF_NAME_MAX] = 'b';
	name[VS_REF_NAME_MAX + 1] = '\0';
	assert_false(vs_ref_name_valid(name));
}

/* --- repositories ----------------------------------------------------------- */

static int list_cb(const struct vs_repo *r, void *arg)
{
	struct vs_buf *out = arg;

	if (out->len)
		vs_buf_addch(out, ',');
	vs_buf_addstr(out, r->full);
	return !strcmp(r->name, "stop") ? 7 : 0;
}

static void test_repo_create_list(void **state)
{
	static const char *const names[] = {
		"models/b", "datasets/z", "datasets/a", "models/a",
		"datasets/a-b", "datasets/a.b",
	};
	struct tu_env *e = *state;
	struct vs_buf out = VS_BUF_INIT;
	struct vs_error err = { 0 };
	struct vs_repo r;
	size_t i;

	assert_int_equal(vs_repo_list(e->s, list_cb, &out, NULL), 0);
	assert_int_equal(out.len, 0);

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		repo(&r, names[i]);
		assert_int_equal(vs_repo_check(e->s, &r, NULL), VS_E_NOTFOUND);
		assert_int_equal(vs_repo_create(e->s, &r, NULL), 0);
		assert_int_equal(vs_repo_check(e->s, &r, NULL), 0);
	}
	repo(&r, "datasets/z");
	assert_int_equal(vs_repo_create(e->s, &r, &err), VS_E_EXISTS);
	assert_non_null(strstr(err.msg, "datasets/z"));
	/* The same name of the other kind is another repository. */
	repo(&r, "models/z");
	assert_int_equal(vs_repo_check(e->s, &r, &err), VS_E_NOTFOUND);

	assert_int_equal(vs_repo_list(e->s, list_cb, &out, NULL), 0);
	assert_string_equal(out.data, "datasets/a,datasets/a-b,datasets/a.b,"
				      "datasets/z,models/a,models/b");

	/* A non-zero answer stops the walk and is returned. */
	repo(&r, "datasets/stop");
	assert_int_equal(vs_repo_create(e->s, &r, NULL), 0);
	vs_buf_reset(&out);
	assert_int_equal(vs_repo_list(e->s, list_cb, &out, NULL), 7);
	assert_string_equal(out.data, "datasets/a,datasets/a-b,datasets/a.b,"
				      "datasets/stop");

	/* Repositories outlive a reopen. */
	vs_store_close(e->s);
	assert_int_equal(vs_store_open(e->store_path, &e->s, NULL), 0);
	repo(&r, "models/b");
	assert_int_equal(vs_repo_check(e->s, &r, NULL), 0);
	vs_buf_release(&out);
}

/* --- branches ------------------------------------------------------------------ */

static int branch_cb(const char *name, const struct vs_id *id, void *arg)
{
	struct vs_buf *out = arg;
	char hex[VS_ID_HEXLEN + 1];

	if (out->len)
		vs_buf_addch(out, ',');
	vs_buf_addf(out, "%s=%.4s", name, vs_id_to_hex(id, hex));
	return 0;
}

static void test_branch_cas(void **state)
{
	struct tu_env *e = *state;
	struct vs_error err = { 0 };
	struct vs_id c1, c2, c3;
	struct vs_repo r;

	repo(&r, "datasets/d");
	assert_int_equal(vs_repo_create(e->s, &r, NULL), 0);
	make_commit(e->s, "one", &c1);
	make_commit(e->s, "two", &c2);
	make_commit(e->s, "three", &c3);

	expect_branch(e->s, &r, "main", NULL);
	/* A branch that must exist but does not. */
	assert_int_equal(vs_branch_update(e->s, &r, "main", &c1, &c2, NULL, 0,
					  NULL), VS_E_CONFLICT);
	expect_branch(e->s, &r, "main", NULL);
	/* New branch. */
	assert_int_equal(vs_branch_update(e->s, &r, "main", NULL, &c1, NULL, 0,
					  NULL), 0);
	expect_branch(e->s, &r, "main", &c1);
	/* "Must not exist" on an existing branch. */
	assert_int_equal(vs_branch_update(e->s, &r, "main", NULL, &c2, NULL, 0,
					  &err), VS_E_CONFLICT);
	assert_int_equal(err.code, VS_E_CONFLICT);
	expect_branch(e->s, &r, "main", &c1);
	/* Wrong expectation. */
	assert_int_equal(vs_branch_update(e->s, &r, "main", &c3, &c2, NULL, 0,
					  NULL), VS_E_CONFLICT);
	expect_branch(e->s, &r, "main", &c1);
	/* Right expectation. */
	assert_int_equal(vs_branch_update(e->s, &r, "main", &c1, &c2, NULL, 0,
					  NULL), 0);
	expect_branch(e->s, &r, "main", &c2);
	/* The old expectation is now stale. */
	assert_int_equal(vs_branch_update(e->s, &r, "main", &c1, &c3, NULL, 0,
					  NULL), VS_E_CONFLICT);
	expect_branch(e->s, &r, "main", &c2);
	/* FORCE ignores the expectation, whatever it is. */
	assert_int_equal(vs_branch_update(e->s, &r, "main", &c1, &c3, NULL,
					  VS_REF_FORCE, NULL), 0);
	expect_branch(e->s, &r, "main", &c3);
	assert_int_equal(vs_branch_update(e->s, &r, "main", NULL, &c1, NULL,
					  VS_REF_FORCE, NULL), 0);
	expect_branch(e->s, &r, "main", &c1);
	assert_int_equal(vs_branch_update(e->s, &r, "forced", &c2, &c2, NULL,
					  VS_REF_FORCE, NULL), 0);
	expect_branch(e->s, &r, "forced", &c2);
	/* Setting the same value is fine. */
	assert_int_equal(vs_branch_update(e->s, &r, "main", &c1, &c1, NULL, 0,
					  NULL), 0);
	expect_branch(e->s, &r, "main", &c1);

	/* Invalid names write nothing. */
	assert_int_equal(vs_branch_update(e->s, &r, "a..b", NULL, &c1, NULL, 0,
					  NULL), VS_E_INVAL);
	assert_int_equal(vs_branch_update(e->s, &r, "", NULL, &c1, NULL,
					  VS_REF_FORCE, NULL), VS_E_INVAL);
	expect_branch(e->s, &r, "a..b", NULL);

	/* Durable across a reopen. */
	vs_store_close(e->s);
	assert_int_equal(vs_store_open(e->store_path, &e->s, NULL), 0);
	expect_branch(e->s, &r, "main", &c1);
	expect_branch(e->s, &r, "forced", &c2);
}

static void test_branch_extra_batch(void **state)
{
	struct tu_env *e = *state;
	struct vs_kv_batch *b;
	struct vs_id c1, c2;
	struct vs_repo r;

	repo(&r, "models/m");
	assert_int_equal(vs_repo_create(e->s, &r, NULL), 0);
	make_commit(e->s, "one", &c1);
	make_commit(e->s, "two", &c2);

	/* The extra batch lands with the ref... */
	b = vs_kv_batch_new();
	vs_kv_batch_put(b, e->s->kv, VS_CF_META, "Xextra1", 7, "1", 1);
	assert_int_equal(vs_branch_update(e->s, &r, "main", NULL, &c1, b, 0,
					  NULL), 0);
	vs_kv_batch_free(b);
	assert_true(vs_kv_has(e->s->kv, VS_CF_META, "Xextra1", 7));

	/* ...and not at all when the update fails. */
	b = vs_kv_batch_new();
	vs_kv_batch_put(b, e->s->kv, VS_CF_META, "Xextra2", 7, "2", 1);
	assert_int_equal(vs_branch_update(e->s, &r, "main", &c2, &c2, b, 0,
					  NULL), VS_E_CONFLICT);
	vs_kv_batch_free(b);
	assert_false(vs_kv_has(e->s->kv, VS_CF_META, "Xextra2", 7));
	expect_branch(e->s, &r, "main", &c1);
}

static void test_branch_list_delete(void **state)
{
	struct tu_env *e = *state;
	struct vs_buf out = VS_BUF_INIT;
	struct vs_error err = { 0 };
	char hex[VS_ID_HEXLEN + 1], want[256];
	struct vs_id c1;
	struct vs_repo a, ab, m;

	/* "datasets/a" is a prefix of "datasets/ab": keep them apart. */
	repo(&a, "datasets/a");
	repo(&ab, "datasets/ab");
	repo(&m, "models/a");
	assert_int_equal(vs_repo_create(e->s, &a, NULL), 0);
	assert_int_equal(vs_repo_create(e->s, &ab, NULL), 0);
	assert_int_equal(vs_repo_create(e->s, &m, NULL), 0);
	make_commit(e->s, "c", &c1);
	vs_id_to_hex(&c1, hex);
	assert_int_equal(vs_branch_update(e->s, &a, "main", NULL, &c1, NULL, 0,
					  NULL), 0);
	assert_int_equal(vs_branch_update(e->s, &a, "dev", NULL, &c1, NULL, 0,
					  NULL), 0);
	assert_int_equal(vs_branch_update(e->s, &a, "feature/x", NULL, &c1,
					  NULL, 0, NULL), 0);
	assert_int_equal(vs_branch_update(e->s, &a, "feature-y", NULL, &c1,
					  NULL, 0, NULL), 0);
	assert_int_equal(vs_branch_update(e->s, &ab, "other", NULL, &c1, NULL,
					  0, NULL), 0);
	assert_int_equal(vs_branch_update(e->s, &m, "model-branch", NULL, &c1,
					  NULL, 0, NULL), 0);

	assert_int_equal(vs_branch_list(e->s, &a, branch_cb, &out, NULL), 0);
	snprintf(want, sizeof(want), "dev=%.4s,feature-y=%.4s,feature/x=%.4s,"
		 "main=%.4s", hex, hex, hex, hex);
	assert_string_equal(out.data, want);
	vs_buf_reset(&out);
	assert_int_equal(vs_branch_list(e->s, &ab, branch_cb, &out, NULL), 0);
	snprintf(want, sizeof(want), "other=%.4s", hex);
	assert_string_equal(out.data, want);

	/* Delete. */
	assert_int_equal(vs_branch_delete(e->s, &a, "dev", NULL), 0);
	expect_branch(e->s, &a, "dev", NULL);
	expect_branch(e->s, &a, "main", &c1);
	assert_int_equal(vs_branch_delete(e->s, &a, "dev", &err),
			 VS_E_NOTFOUND);
	assert_non_null(strstr(err.msg, "dev"));
	assert_int_equal(vs_branch_delete(e->s, &ab, "main", NULL),
			 VS_E_NOTFOUND);
	expect_branch(e->s, &a, "main", &c1);
	/* A deleted branch can be created again as new. */
	assert_int_equal(vs_branch_update(e->s, &a, "dev", NULL, &c1, NULL, 0,
					  NULL), 0);
	vs_buf_release(&out);
}

/* --- tags ------------------------------------------------------------------------- */

static int tag_cb(const char *name, const struct vs_tag *tag, void *arg)
{
	struct vs_buf *out = arg;

	if (out->len)
		vs_buf_addch(out, ',');
	vs_buf_addf(out, "%s:%s", name, tag->message);
	return 0;
}

static void test_tags(void **state)
{
	struct tu_env *e = *state;
	struct vs_buf out = VS_BUF_INIT;
	struct vs_error err = { 0 };
	struct vs_tag t, got;
	struct vs_id c1, c2;
	struct vs_repo r, r2;

	repo(&r, "datasets/t");
	repo(&r2, "datasets/t2");
	assert_int_equal(vs_repo_create(e->s, &r, NULL), 0);
	assert_int_equal(vs_repo_create(e->s, &r2, NULL), 0);
	make_commit(e->s, "one", &c1);
	make_commit(e->s, "two", &c2);

	vs_tag_init(&t);
	t.commit = c1;
	t.time = 1700000000;
	vs_tag_set_author(&t, "alice");
	vs_tag_set_message(&t, "first");
	vs_tag_set_meta(&t, "accuracy", "0.93");
	assert_int_equal(vs_tag_create(e->s, &r, "v1", &t, NULL), 0);

	assert_int_equal(vs_tag_get(e->s, &r, "v1", &got, NULL), 0);
	assert_true(vs_id_equal(&got.commit, &c1));
	assert_int_equal(got.time, 1700000000);
	assert_string_equal(got.author, "alice");
	assert_string_equal(got.message, "first");
	assert_int_equal(got.nmeta, 1);
	assert_string_equal(got.meta[0].key, "accuracy");
	assert_string_equal(got.meta[0].value, "0.93");
	vs_tag_release(&got);

	/* Immutable: a second create fails and changes nothing. */
	t.commit = c2;
	vs_tag_set_message(&t, "second");
	assert_int_equal(vs_tag_create(e->s, &r, "v1", &t, &err), VS_E_EXISTS);
	assert_non_null(strstr(err.msg, "v1"));
	assert_int_equal(vs_tag_get(e->s, &r, "v1", &got, NULL), 0);
	assert_true(vs_id_equal(&got.commit, &c1));
	assert_string_equal(got.message, "first");
	vs_tag_release(&got);

	/* The same name in another repository is another tag. */
	assert_int_equal(vs_tag_create(e->s, &r2, "v1", &t, NULL), 0);
	assert_int_equal(vs_tag_get(e->s, &r2, "v1", &got, NULL), 0);
	assert_true(vs_id_equal(&got.commit, &c2));
	vs_tag_release(&got);

	/* A tag and a branch may share a name. */
	assert_int_equal(vs_branch_update(e->s, &r, "v1", NULL, &c2, NULL, 0,
					  NULL), 0);
	assert_int_equal(vs_tag_get(e->s, &r, "v1", &got, NULL), 0);
	assert_true(vs_id_equal(&got.commit, &c1));
	vs_tag_release(&got);

	/* Invalid names, unknown tags. */
	assert_int_equal(vs_tag_create(e->s, &r, "bad name", &t, NULL),
			 VS_E_INVAL);
	assert_int_equal(vs_tag_create(e->s, &r, "", &t, NULL), VS_E_INVAL);
	assert_int_equal(vs_tag_get(e->s, &r, "v2", &got, NULL),
			 VS_E_NOTFOUND);
	vs_tag_release(&got);
	assert_int_equal(vs_tag_get(e->s, &r, "bad name", &got, NULL),
			 VS_E_NOTFOUND);
	vs_tag_release(&got);

	/* List, in name order. */
	vs_tag_set_message(&t, "zz");
	assert_int_equal(vs_tag_create(e->s, &r, "release/2", &t, NULL), 0);
	vs_tag_set_message(&t, "aa");
	assert_int_equal(vs_tag_create(e->s, &r, "alpha", &t, NULL), 0);
	assert_int_equal(vs_tag_list(e->s, &r, tag_cb, &out, NULL), 0);
	assert_string_equal(out.data, "alpha:aa,release/2:zz,v1:first");
	vs_buf_reset(&out);
	assert_int_equal(vs_tag_list(e->s, &r2, tag_cb, &out, NULL), 0);
	assert_string_equal(out.data, "v1:second");

	/* Tags outlive a reopen. */
	vs_store_close(e->s);
	assert_int_equal(vs_store_open(e->store_path, &e->s, NULL), 0);
	vs_buf_reset(&out);
	assert_int_equal(vs_tag_list(e->s, &r, tag_cb, &out, NULL), 0);
	assert_string_equal(out.data, "alpha:aa,release/2:zz,v1:first");
	vs_tag_release(&t);
	vs_buf_release(&out);
}

/* --- every ref ----------------------------------------------------------------------- */

struct each_state {
	struct vs_buf out;
	const struct vs_id *ids[3];
	int stop_at;
	int calls;
};

static int each_cb(const struct vs_repo *r, const char *name, bool is_tag,
		   const struct vs_id *commit, void *arg)
{
	struct each_state *st = arg;
	int i, which = -1;

	for (i = 0; i < 3; i++)
		if (vs_id_equal(commit, st->ids[i]))
			which = i;
	if (st->out.len)
		vs_buf_addch(&st->out, ',');
	vs_buf_addf(&st->out, "%s %s %s c%d", r->full, is_tag ? "tag" : "br",
		    name, which + 1);
	return ++st->calls == st->stop_at ? 9 : 0;
}

static void test_refs_each(void **state)
{
	struct tu_env *e = *state;
	struct each_state st = { .out = VS_BUF_INIT };
	struct vs_id c1, c2, c3;
	struct vs_repo a, b, empty;
	struct vs_tag t;

	repo(&b, "models/b");
	repo(&a, "datasets/a");
	repo(&empty, "datasets/empty");
	assert_int_equal(vs_repo_create(e->s, &b, NULL), 0);
	assert_int_equal(vs_repo_create(e->s, &a, NULL), 0);
	assert_int_equal(vs_repo_create(e->s, &empty, NULL), 0);
	make_commit(e->s, "1", &c1);
	make_commit(e->s, "2", &c2);
	make_commit(e->s, "3", &c3);
	st.ids[0] = &c1;
	st.ids[1] = &c2;
	st.ids[2] = &c3;

	assert_int_equal(vs_refs_each(e->s, each_cb, &st, NULL), 0);
	assert_int_equal(st.out.len, 0);

	assert_int_equal(vs_branch_update(e->s, &b, "main", NULL, &c3, NULL, 0,
					  NULL), 0);
	assert_int_equal(vs_branch_update(e->s, &a, "main", NULL, &c1, NULL, 0,
					  NULL), 0);
	assert_int_equal(vs_branch_update(e->s, &a, "dev", NULL, &c2, NULL, 0,
					  NULL), 0);
	vs_tag_init(&t);
	t.commit = c2;
	assert_int_equal(vs_tag_create(e->s, &a, "v1", &t, NULL), 0);
	t.commit = c1;
	assert_int_equal(vs_tag_create(e->s, &b, "v0", &t, NULL), 0);
	vs_tag_release(&t);

	assert_int_equal(vs_refs_each(e->s, each_cb, &st, NULL), 0);
	assert_string_equal(st.out.data,
			    "datasets/a br dev c2,datasets/a br main c1,"
			    "datasets/a tag v1 c2,models/b br main c3,"
			    "models/b tag v0 c1");
	/* Stopping early returns the answer. */
	vs_buf_reset(&st.out);
	st.calls = 0;
	st.stop_at = 3;
	assert_int_equal(vs_refs_each(e->s, each_cb, &st, NULL), 9);
	assert_int_equal(st.calls, 3);
	vs_buf_release(&st.out);
}

/* --- fault injection ----------------------------------------------------------------- */

static const char *hook_where;
static int hook_calls;

static int fail_eio(const char *where)
{
	hook_where = where;
	hook_calls++;
	return -EIO;
}

static int pass_hook(const char *where)
{
	(void)where;
	hook_calls++;
	return 0;
}

static void test_fault_hook(void **state)
{
	struct tu_env *e = *state;
	struct vs_error err = { 0 };
	struct vs_kv_batch *b;
	struct vs_id c1, c2;
	struct vs_repo r;

	repo(&r, "datasets/f");
	assert_int_equal(vs_repo_create(e->s, &r, NULL), 0);
	make_commit(e->s, "1", &c1);
	make_commit(e->s, "2", &c2);
	assert_int_equal(vs_branch_update(e->s, &r, "main", NULL, &c1, NULL, 0,
					  NULL), 0);

	vs_refs_fault_hook = fail_eio;
	hook_calls = 0;
	b = vs_kv_batch_new();
	vs_kv_batch_put(b, e->s->kv, VS_CF_META, "Xfault", 6, "1", 1);
	assert_int_equal(vs_branch_update(e->s, &r, "main", &c1, &c2, b, 0,
					  &err), -EIO);
	vs_kv_batch_free(b);
	assert_int_equal(err.code, -EIO);
	assert_int_equal(hook_calls, 1);
	assert_non_null(hook_where);
	expect_branch(e->s, &r, "main", &c1);
	assert_false(vs_kv_has(e->s->kv, VS_CF_META, "Xfault", 6));
	/* FORCE and new branches go through the hook too. */
	assert_int_equal(vs_branch_update(e->s, &r, "main", NULL, &c2, NULL,
					  VS_REF_FORCE, NULL), -EIO);
	expect_branch(e->s, &r, "main", &c1);
	assert_int_equal(vs_branch_update(e->s, &r, "new", NULL, &c2, NULL, 0,
					  NULL), -EIO);
	expect_branch(e->s, &r, "new", NULL);
	/* The store still works, and survives a reopen, unchanged. */
	vs_refs_fault_hook = NULL;
	vs_store_close(e->s);
	assert_int_equal(vs_store_open(e->store_path, &e->s, NULL), 0);
	expect_branch(e->s, &r, "main", &c1);

	/* A hook that answers 0 lets the update through. */
	vs_refs_fault_hook = pass_hook;
	hook_calls = 0;
	assert_int_equal(vs_branch_update(e->s, &r, "main", &c1, &c2, NULL, 0,
					  NULL), 0);
	assert_int_equal(hook_calls, 1);
	vs_refs_fault_hook = NULL;
	expect_branch(e->s, &r, "main", &c2);
}

/* --- change notification ------------------------------------------------------ */

static void on_change(void *arg, const struct vs_repo *r, const char *branch)
{
	struct vs_buf *out = arg;

	if (out->len)
		vs_buf_addch(out, ',');
	vs_buf_addf(out, "%s@%s", r->full, branch ? branch : "-");
}

static void test_on_change(void **state)
{
	struct tu_env *e = *state;
	struct vs_buf out = VS_BUF_INIT;
	struct vs_id c1, c2;
	struct vs_repo r;
	struct vs_tag t;

	e->s->on_change = on_change;
	e->s->on_change_arg = &out;
	repo(&r, "datasets/n");
	assert_int_equal(vs_repo_create(e->s, &r, NULL), 0);
	assert_string_equal(out.data, "datasets/n@-");
	make_commit(e->s, "1", &c1);
	make_commit(e->s, "2", &c2);
	vs_buf_reset(&out);
	assert_int_equal(vs_branch_update(e->s, &r, "main", NULL, &c1, NULL, 0,
					  NULL), 0);
	assert_string_equal(out.data, "datasets/n@main");
	/* Nothing changed, nothing said. */
	vs_buf_reset(&out);
	assert_int_equal(vs_repo_create(e->s, &r, NULL), VS_E_EXISTS);
	assert_int_equal(vs_branch_update(e->s, &r, "main", &c2, &c1, NULL, 0,
					  NULL), VS_E_CONFLICT);
	assert_int_equal(vs_branch_delete(e->s, &r, "nope", NULL),
			 VS_E_NOTFOUND);
	vs_refs_fault_hook = fail_eio;
	assert_int_equal(vs_branch_update(e->s, &r, "main", &c1, &c2, NULL, 0,
					  NULL), -EIO);
	vs_refs_fault_hook = NULL;
	assert_int_equal(out.len, 0);

	vs_tag_init(&t);
	t.commit = c1;
	assert_int_equal(vs_tag_create(e->s, &r, "v1", &t, NULL), 0);
	assert_int_equal(vs_tag_create(e->s, &r, "v1", &t, NULL), VS_E_EXISTS);
	vs_tag_release(&t);
	assert_int_equal(vs_branch_update(e->s, &r, "dev", NULL, &c2, NULL, 0,
					  NULL), 0);
	assert_int_equal(vs_branch_delete(e->s, &r, "dev", NULL), 0);
	assert_string_equal(out.data, "datasets/n@-,datasets/n@dev,"
				      "datasets/n@dev");
	e->s->on_change = NULL;
	vs_buf_release(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_repo_names),
		cmocka_unit_test(test_repo_parse),
		cmocka_unit_test(test_ref_names),
		cmocka_unit_test_setup_teardown(test_repo_create_list, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_branch_cas, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_branch_extra_batch, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_branch_list_delete, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_tags, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refs_each, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_fault_hook, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_on_change, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
