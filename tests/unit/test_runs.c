/*
 * test_runs.c - unit tests of store/runs.c: the run codec round-trips and
 * rejects every truncation, trailing bytes, newer versions, bad names and
 * duplicate snapshots; each CI provider is detected from its
 * documented variables and fills every field; outside CI detection fails;
 * recording is idempotent and refuses a run that disagrees with the record
 * under its key; tags made for a run are immutable (re-running the same
 * command is a no-op, anything else changes nothing); lookups by key and
 * by key without attempt; lineage walks model -> run -> dataset -> run ->
 * dataset and survives cycles.
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
#include "refs.h"
#include "runs.h"
#include "testutil.h"
#include "banned.h"

/* --- helpers --------------------------------------------------------------- */

static void make_id(struct vs_id *id, unsigned seed)
{
	vs_hash(&seed, sizeof(seed), id);
}

static void repo(struct vs_repo *r, const char *full)
{
	assert_int_equal(vs_repo_parse(r, full, strlen(full), NULL), 0);
}

/* A run with every field set and a few snapshots. */
static void sample_run(struct vs_run *r)
{
	struct vs_repo d, m;
	struct vs_id a, b;

	vs_run_init(r);
	vs_run_set(&r->provider, "github");
	vs_run_set(&r->run_id, "9876543210");
	r->attempt = 3;
	vs_run_set(&r->url, "https://github.com/acme/train/actions/runs/1");
	vs_run_set(&r->commit, "0123456789abcdef0123456789abcdef01234567");
	vs_run_set(&r->ref, "refs/heads/main");
	vs_run_set(&r->repository, "acme/train");
	vs_run_set(&r->workflow, "train and test");
	vs_run_set(&r->job, "fit");
	vs_run_set(&r->job_id, "");
	r->time = 1764057600;
	repo(&d, "datasets/imagenet");
	repo(&m, "models/resnet");
	make_id(&a, 1);
	make_id(&b, 2);
	assert_true(vs_run_add_snap(r, VS_RUN_USED, &d, &a, "ci/github/1", "fit",
				    "7"));
	assert_true(vs_run_add_snap(r, VS_RUN_USED, &d, &b, NULL, NULL, NULL));
	assert_true(vs_run_add_snap(r, VS_RUN_PRODUCED, &m, &a, "v1", "", ""));
}

static void assert_runs_equal(const struct vs_run *x, const struct vs_run *y)
{
	size_t i;

	assert_string_equal(x->provider, y->provider);
	assert_string_equal(x->run_id, y->run_id);
	assert_int_equal(x->attempt, y->attempt);
	assert_string_equal(x->url, y->url);
	assert_string_equal(x->commit, y->commit);
	assert_string_equal(x->ref, y->ref);
	assert_string_equal(x->repository, y->repository);
	assert_string_equal(x->workflow, y->workflow);
	assert_string_equal(x->job, y->job);
	assert_string_equal(x->job_id, y->job_id);
	assert_int_equal(x->time, y->time);
	assert_int_equal(x->ninputs, y->ninputs);
	assert_int_equal(x->noutputs, y->noutputs);
	for (i = 0; i < x->ninputs; i++) {
		assert_string_equal(x->inputs[i].repo.full,
				    y->inputs[i].repo.full);
		assert_true(vs_id_equal(&x->inputs[i].commit,
					&y->inputs[i].commit));
		assert_string_equal(x->inputs[i].tag, y->inputs[i].tag);
		assert_string_equal(x->inputs[i].job, y->inputs[i].job);
		assert_string_equal(x->inputs[i].job_id, y->inputs[i].job_id);
	}
	for (i = 0; i < x->noutputs; i++) {
		assert_string_equal(x->outputs[i].repo.full,
				    y->outputs[i].repo.full);
		assert_string_equal(x->outputs[i].tag, y->outputs[i].tag);
	}
}

/* --- codec ------------------------------------------------------------------ */

static void test_roundtrip(void **state)
{
	struct vs_buf a = VS_BUF_INIT, b = VS_BUF_INIT;
	struct vs_run r, d, c;

	(void)state;
	sample_run(&r);
	vs_run_encode(&r, &a);
	assert_int_equal(a.data[0], VS_RUN_TYPE);
	assert_int_equal(a.data[1], VS_RUN_VERSION);
	assert_int_equal(vs_run_decode(&d, a.data, a.len), 0);
	assert_runs_equal(&r, &d);
	vs_run_encode(&d, &b);
	assert_int_equal(a.len, b.len);
	assert_memory_equal(a.data, b.data, a.len);

	/* A copy is equal too, and an empty run round-trips. */
	vs_run_copy(&c, &r);
	assert_runs_equal(&r, &c);
	vs_run_release(&c);
	vs_run_release(&d);
	vs_run_release(&r);
	vs_run_init(&r);
	vs_run_set(&r.provider, "gitlab");
	vs_run_set(&r.run_id, "1");
	vs_buf_reset(&a);
	vs_run_encode(&r, &a);
	assert_int_equal(vs_run_decode(&d, a.data, a.len), 0);
	assert_int_equal(d.ninputs + d.noutputs, 0);
	assert_string_equal(d.url, "");
	vs_run_release(&d);
	vs_run_release(&r);
	/* Releasing twice is harmless. */
	vs_run_release(&r);
	vs_buf_release(&a);
	vs_buf_release(&b);
}

static void test_add_snap_idempotent(void **state)
{
	struct vs_run r;
	struct vs_repo d, m;
	struct vs_id a;

	(void)state;
	sample_run(&r);
	repo(&d, "datasets/imagenet");
	repo(&m, "models/resnet");
	make_id(&a, 1);
	assert_false(vs_run_add_snap(&r, VS_RUN_USED, &d, &a, "other", "", ""));
	assert_int_equal(r.ninputs, 2);
	assert_string_equal(r.inputs[0].tag, "ci/github/1");
	/* The same snapshot in the other list is another fact. */
	assert_true(vs_run_add_snap(&r, VS_RUN_PRODUCED, &d, &a, "", "", ""));
	/* Same commit id, another repository: another snapshot. */
	assert_true(vs_run_add_snap(&r, VS_RUN_USED, &m, &a, "", "", ""));
	vs_run_release(&r);
}

static void test_decode_rejects(void **state)
{
	struct vs_buf a = VS_BUF_INIT, bad = VS_BUF_INIT;
	struct vs_run r, d;
	size_t i;

	(void)state;
	sample_run(&r);
	vs_run_encode(&r, &a);
	/* Every truncation. */
	for (i = 0; i < a.len; i++) {
		assert_int_equal(vs_run_decode(&d, a.data, i), VS_E_CORRUPT);
		assert_null(d.inputs);
		assert_null(d.outputs);
	}
	/* Trailing bytes. */
	vs_buf_add(&bad, a.data, a.len);
	vs_buf_addch(&bad, 0);
	assert_int_equal(vs_run_decode(&d, bad.data, bad.len), VS_E_CORRUPT);
	/* Newer version, version 0, another type. */
	vs_buf_reset(&bad);
	vs_buf_add(&bad, a.data, a.len);
	bad.data[1] = VS_RUN_VERSION + 1;
	assert_int_equal(vs_run_decode(&d, bad.data, bad.len), VS_E_VERSION);
	bad.data[1] = 0;
	assert_int_equal(vs_run_decode(&d, bad.data, bad.len), VS_E_CORRUPT);
	bad.data[1] = VS_RUN_VERSION;
	bad.data[0] = 'G';
	assert_int_equal(vs_run_decode(&d, bad.data, bad.len), VS_E_CORRUPT);
	assert_int_equal(vs_run_decode(&d, NULL, 0), VS_E_CORRUPT);

	/* Hand-made records with one bad field each. */
#define HDR(b) (vs_buf_addch(b, VS_RUN_TYPE), vs_buf_addch(b, VS_RUN_VERSION))
	{
		static const char *const providers[] = { "", "GitHub", "a/b",
							 "abcdefghijklmnopq" };
		static const char *const ids[] = { "", "-1", ".x", "a b", "1/2" };
		size_t k;

		for (k = 0; k < 4; k++) {
			vs_buf_reset(&bad);
			HDR(&bad);
			vs_buf_add_bytes(&bad, providers[k],
					 strlen(providers[k]));
			vs_buf_add_bytes(&bad, "1", 1);
			vs_buf_add_varint(&bad, 0);
			for (i = 0; i < 7; i++)
				vs_buf_add_bytes(&bad, "", 0);
			vs_buf_add_varint(&bad, 0);
			vs_buf_add_varint(&bad, 0);
			vs_buf_add_varint(&bad, 0);
			assert_int_equal(vs_run_decode(&d, bad.data, bad.len),
					 VS_E_CORRUPT);
		}
		for (k = 0; k < 5; k++) {
			vs_buf_reset(&bad);
			HDR(&bad);
			vs_buf_add_bytes(&bad, "github", 6);
			vs_buf_add_bytes(&bad, ids[k], strlen(ids[k]));
			vs_buf_add_varint(&bad, 0);
			for (i = 0; i < 7; i++)
				vs_buf_add_bytes(&bad, "", 0);
			vs_buf_add_varint(&bad, 0);
			vs_buf_add_varint(&bad, 0);
			vs_buf_add_varint(&bad, 0);
			assert_int_equal(vs_run_decode(&d, bad.data, bad.len),
					 VS_E_CORRUPT);
		}
	}
	/* A NUL inside a string; a snap with a bad repo, a bad tag, twice
	 * the same snapshot; a count larger than the input. */
	{
		struct vs_id id;
		int k;

		make_id(&id, 5);
		for (k = 0; k < 6; k++) {
			vs_buf_reset(&bad);
			HDR(&bad);
			vs_buf_add_bytes(&bad, "github", 6);
			vs_buf_add_bytes(&bad, "1", 1);
			vs_buf_add_varint(&bad, 0);
			vs_buf_add_bytes(&bad, k == 0 ? "a\0b" : "ab", k == 0 ? 3 : 2);
			for (i = 0; i < 6; i++)
				vs_buf_add_bytes(&bad, "", 0);
			vs_buf_add_varint(&bad, 0);
			vs_buf_add_varint(&bad, k == 5 ? 1000 : k == 4 ? 2 : 1);
			for (i = 0; i < (k == 4 ? 2u : 1u); i++) {
				const char *rp = k == 1 ? "dataset/x" :
						 "datasets/x";

				vs_buf_add_bytes(&bad, rp, strlen(rp));
				vs_buf_add(&bad, id.b, VS_ID_LEN);
				vs_buf_add_bytes(&bad, k == 2 ? "a..b" : "t",
						 k == 2 ? 4 : 1);
				vs_buf_add_bytes(&bad, "", 0);
				vs_buf_add_bytes(&bad, "", 0);
			}
			vs_buf_add_varint(&bad, 0);
			if (k == 3) {
				/* The valid one, as a control. */
				assert_int_equal(vs_run_decode(&d, bad.data,
							       bad.len), 0);
				assert_string_equal(d.url, "ab");
				assert_int_equal(d.ninputs, 1);
				vs_run_release(&d);
				continue;
			}
			assert_int_equal(vs_run_decode(&d, bad.data, bad.len),
					 VS_E_CORRUPT);
		}
	}
#undef HDR
	vs_run_release(&r);
	vs_buf_release(&a);
	vs_buf_release(&bad);
}

/* Any one-byte change is rejected or gives a run that encodes back to it. */
static void test_decode_mutations(void **state)
{
	struct vs_buf a = VS_BUF_INIT, m = VS_BUF_INIT, again = VS_BUF_INIT;
	struct vs_run r, d;
	size_t i;
	unsigned v;

	(void)state;
	sample_run(&r);
	vs_run_encode(&r, &a);
	for (i = 0; i < a.len; i++) {
		for (v = 0; v < 256; v += 17) {
			vs_buf_reset(&m);
			vs_buf_add(&m, a.data, a.len);
			m.data[i] = (char)v;
			if (vs_run_decode(&d, m.data, m.len))
				continue;
			vs_buf_reset(&again);
			vs_run_encode(&d, &again);
			assert_int_equal(again.len, m.len);
			assert_memory_equal(again.data, m.data, m.len);
			vs_run_release(&d);
		}
	}
	vs_run_release(&r);
	vs_buf_release(&a);
	vs_buf_release(&m);
	vs_buf_release(&again);
}

static void test_key(void **state)
{
	char key[VS_RUN_KEY_MAX], tag[VS_RUN_KEY_MAX + 3];
	struct vs_run r;

	(void)state;
	vs_run_init(&r);
	vs_run_set(&r.provider, "github");
	vs_run_set(&r.run_id, "42");
	r.attempt = 2;
	assert_string_equal(vs_run_key(&r, key), "github/42-2");
	assert_string_equal(vs_run_default_tag(&r, tag), "ci/github/42-2");
	assert_true(vs_ref_name_valid(tag));
	r.attempt = 0;
	vs_run_set(&r.provider, "circleci");
	vs_run_set(&r.run_id, "5a2e0a7e-1c1b-4a63-9f0e-1234567890ab");
	assert_string_equal(vs_run_key(&r, key),
			    "circleci/5a2e0a7e-1c1b-4a63-9f0e-1234567890ab");
	assert_true(vs_ref_name_valid(vs_run_default_tag(&r, tag)));
	vs_run_release(&r);

	assert_true(vs_run_id_valid("2014-03-04_16-12-35"));
	assert_false(vs_run_id_valid("a/b"));
	assert_false(vs_run_id_valid(
		"01234567890123456789012345678901234567890123456789012345678901234"));
	assert_true(vs_run_provider_known("circleci"));
	assert_false(vs_run_provider_known("drone"));
	assert_false(vs_run_provider_known(""));
	/* Every provider's name is a valid key part, known, listed once. */
	{
		const char *name;
		size_t i, j;

		for (i = 0; (name = vs_run_provider_name(i)) != NULL; i++) {
			assert_true(vs_run_provider_valid(name));
			assert_true(vs_run_provider_known(name));
			for (j = 0; j < i; j++)
				assert_string_not_equal(name,
							vs_run_provider_name(j));
		}
		assert_true(i >= 5);
		assert_string_equal(vs_run_provider_name(0), "github");
	}
	assert_string_equal(vs_run_role_name(VS_RUN_USED), "used");
	assert_string_equal(vs_run_role_name(VS_RUN_PRODUCED), "produced");
}

/* --- detection --------------------------------------------------------------- */

/* A fake environment: NULL-terminated "NAME=VALUE" strings. */
static const char *fake_getenv(void *arg, const char *name)
{
	const char *const *e;
	size_t n = strlen(name);

	for (e = arg; *e; e++)
		if (!strncmp(*e, name, n) && (*e)[n] == '=')
			return *e + n + 1;
	return NULL;
}

static void detect(const char *const *env, struct vs_run *r)
{
	struct vs_error err = { 0 };
	int rc = vs_run_from_env(r, fake_getenv, (void *)env, 1000, &err);

	if (rc)
		fprintf(stderr, "vs_run_from_env: %s\n", err.msg);
	assert_int_equal(rc, 0);
	assert_int_equal(r->time, 1000);
}

static void test_env_github(void **state)
{
	static const char *const env[] = {
		"CI=true", "GITHUB_ACTIONS=true", "GITHUB_RUN_ID=9876543210",
		"GITHUB_RUN_ATTEMPT=2", "GITHUB_SERVER_URL=https://github.com/",
		"GITHUB_REPOSITORY=acme/train",
		"GITHUB_SHA=0123456789abcdef0123456789abcdef01234567",
		"GITHUB_REF=refs/heads/main", "GITHUB_WORKFLOW=train",
		"GITHUB_JOB=fit", NULL,
	};
	char key[VS_RUN_KEY_MAX];
	struct vs_run r;

	(void)state;
	detect(env, &r);
	assert_string_equal(r.provider, "github");
	assert_string_equal(r.run_id, "9876543210");
	assert_int_equal(r.attempt, 2);
	assert_string_equal(r.url,
			    "https://github.com/acme/train/actions/runs/9876543210");
	assert_string_equal(r.commit,
			    "0123456789abcdef0123456789abcdef01234567");
	assert_string_equal(r.ref, "refs/heads/main");
	assert_string_equal(r.repository, "acme/train");
	assert_string_equal(r.workflow, "train");
	assert_string_equal(r.job, "fit");
	assert_string_equal(vs_run_key(&r, key), "github/9876543210-2");
	vs_run_release(&r);
}

static void test_env_gitlab(void **state)
{
	static const char *const env[] = {
		"CI=true", "GITLAB_CI=true", "CI_PIPELINE_ID=1234",
		"CI_JOB_ID=5678",
		"CI_PIPELINE_URL=https://gitlab.com/acme/train/-/pipelines/1234",
		"CI_COMMIT_SHA=fedcba", "CI_COMMIT_REF_NAME=feature/x",
		"CI_PROJECT_PATH=acme/train", "CI_JOB_NAME=train", NULL,
	};
	char key[VS_RUN_KEY_MAX];
	struct vs_run r;

	(void)state;
	detect(env, &r);
	assert_string_equal(r.provider, "gitlab");
	assert_string_equal(r.run_id, "1234");
	assert_int_equal(r.attempt, 0);
	assert_string_equal(r.url,
			    "https://gitlab.com/acme/train/-/pipelines/1234");
	assert_string_equal(r.commit, "fedcba");
	assert_string_equal(r.ref, "feature/x");
	assert_string_equal(r.repository, "acme/train");
	assert_string_equal(r.job, "train");
	assert_string_equal(r.job_id, "5678");
	assert_string_equal(vs_run_key(&r, key), "gitlab/1234");
	vs_run_release(&r);
}

static void test_env_jenkins(void **state)
{
	static const char *const env[] = {
		"JENKINS_URL=https://ci.example.com/", "BUILD_NUMBER=77",
		"BUILD_ID=77", "BUILD_URL=https://ci.example.com/job/train/77/",
		"GIT_COMMIT=abc123", "GIT_BRANCH=origin/main",
		"GIT_URL=https://git.example.com/acme/train.git",
		"JOB_NAME=ml/train", NULL,
	};
	static const char *const old[] = {
		"JENKINS_URL=http://old/", "BUILD_ID=2014-03-04_16-12-35",
		"BRANCH_NAME=main", NULL,
	};
	struct vs_run r;

	(void)state;
	detect(env, &r);
	assert_string_equal(r.provider, "jenkins");
	assert_string_equal(r.run_id, "77");
	assert_int_equal(r.attempt, 0);
	assert_string_equal(r.url, "https://ci.example.com/job/train/77/");
	assert_string_equal(r.commit, "abc123");
	assert_string_equal(r.ref, "origin/main");
	assert_string_equal(r.repository,
			    "https://git.example.com/acme/train.git");
	assert_string_equal(r.workflow, "ml/train");
	vs_run_release(&r);
	/* BUILD_ID when there is no BUILD_NUMBER; BRANCH_NAME for the ref. */
	detect(old, &r);
	assert_string_equal(r.run_id, "2014-03-04_16-12-35");
	assert_string_equal(r.ref, "main");
	vs_run_release(&r);
}

static void test_env_travis(void **state)
{
	static const char *const env[] = {
		"CI=true", "TRAVIS=true", "TRAVIS_BUILD_ID=555",
		"TRAVIS_JOB_ID=556",
		"TRAVIS_BUILD_WEB_URL=https://app.travis-ci.com/acme/train/builds/555",
		"TRAVIS_COMMIT=c0ffee", "TRAVIS_BRANCH=main",
		"TRAVIS_REPO_SLUG=acme/train", "TRAVIS_JOB_NAME=train", NULL,
	};
	struct vs_run r;

	(void)state;
	detect(env, &r);
	assert_string_equal(r.provider, "travis");
	assert_string_equal(r.run_id, "555");
	assert_string_equal(r.url,
			    "https://app.travis-ci.com/acme/train/builds/555");
	assert_string_equal(r.commit, "c0ffee");
	assert_string_equal(r.ref, "main");
	assert_string_equal(r.repository, "acme/train");
	assert_string_equal(r.job, "train");
	assert_string_equal(r.job_id, "556");
	vs_run_release(&r);
}

static void test_env_circleci(void **state)
{
	static const char *const env[] = {
		"CI=true", "CIRCLECI=true",
		"CIRCLE_WORKFLOW_ID=5a2e0a7e-1c1b-4a63-9f0e-1234567890ab",
		"CIRCLE_BUILD_NUM=321",
		"CIRCLE_BUILD_URL=https://circleci.com/gh/acme/train/321",
		"CIRCLE_SHA1=beef", "CIRCLE_BRANCH=main",
		"CIRCLE_PROJECT_USERNAME=acme", "CIRCLE_PROJECT_REPONAME=train",
		"CIRCLE_JOB=fit", NULL,
	};
	static const char *const nowf[] = {
		"CIRCLECI=true", "CIRCLE_BUILD_NUM=321", NULL,
	};
	struct vs_run r;

	(void)state;
	detect(env, &r);
	assert_string_equal(r.provider, "circleci");
	assert_string_equal(r.run_id, "5a2e0a7e-1c1b-4a63-9f0e-1234567890ab");
	assert_string_equal(r.url, "https://circleci.com/gh/acme/train/321");
	assert_string_equal(r.commit, "beef");
	assert_string_equal(r.ref, "main");
	assert_string_equal(r.repository, "acme/train");
	assert_string_equal(r.job, "fit");
	assert_string_equal(r.job_id, "321");
	vs_run_release(&r);
	detect(nowf, &r);
	assert_string_equal(r.run_id, "321");
	assert_string_equal(r.repository, "");
	vs_run_release(&r);
}

static void test_env_bitbucket(void **state)
{
	static const char *const env[] = {
		"CI=true",
		"BITBUCKET_PIPELINE_UUID={1f0c2d3e-4a5b-6c7d-8e9f-0a1b2c3d4e5f}",
		"BITBUCKET_BUILD_NUMBER=42",
		"BITBUCKET_STEP_UUID={9e8d7c6b-5a49-3827-1605-f4e3d2c1b0a9}",
		"BITBUCKET_COMMIT=0badc0de0badc0de0badc0de0badc0de0badc0de",
		"BITBUCKET_BRANCH=main", "BITBUCKET_TAG=v1",
		"BITBUCKET_REPO_FULL_NAME=acme/train",
		"BITBUCKET_GIT_HTTP_ORIGIN=http://bitbucket.org/other/repo",
		"BITBUCKET_WORKSPACE=acme", "BITBUCKET_REPO_SLUG=train", NULL,
	};
	/* A tag build without the repository's full name: the URL from
	 * the origin, without its trailing '/'. */
	static const char *const origin[] = {
		"BITBUCKET_PIPELINE_UUID={1}", "BITBUCKET_BUILD_NUMBER=43",
		"BITBUCKET_TAG=v2",
		"BITBUCKET_GIT_HTTP_ORIGIN=http://bitbucket.org/acme/train/",
		NULL,
	};
	/* Only what names the run: every other field empty. */
	static const char *const bare[] = {
		"BITBUCKET_PIPELINE_UUID={1}", "BITBUCKET_BUILD_NUMBER=44",
		"BITBUCKET_BRANCH=", NULL,
	};
	static const char *const no_number[] = {
		"CI=true", "BITBUCKET_PIPELINE_UUID={1}",
		"BITBUCKET_COMMIT=abc", NULL,
	};
	static const char *const bad_number[] = {
		"BITBUCKET_PIPELINE_UUID={1}", "BITBUCKET_BUILD_NUMBER={42}",
		NULL,
	};
	static char long_name[VS_RUN_FIELD_MAX + 40];
	const char *too_long[] = {
		"BITBUCKET_PIPELINE_UUID={1}", "BITBUCKET_BUILD_NUMBER=45",
		long_name, NULL,
	};
	/* GitHub Actions comes first in the detection order. */
	static const char *const both[] = {
		"BITBUCKET_PIPELINE_UUID={1}", "BITBUCKET_BUILD_NUMBER=46",
		"GITHUB_ACTIONS=true", "GITHUB_RUN_ID=7", NULL,
	};
	struct vs_error err = { 0 };
	char key[VS_RUN_KEY_MAX];
	struct vs_run r;
	size_t n;

	(void)state;
	detect(env, &r);
	assert_string_equal(r.provider, "bitbucket");
	assert_string_equal(r.run_id, "42");
	assert_int_equal(r.attempt, 0);
	assert_string_equal(r.url, "https://bitbucket.org/acme/train/"
			    "pipelines/results/42");
	assert_string_equal(r.commit,
			    "0badc0de0badc0de0badc0de0badc0de0badc0de");
	assert_string_equal(r.ref, "main");
	assert_string_equal(r.repository, "acme/train");
	assert_string_equal(r.workflow, "");
	assert_string_equal(r.job, "");
	assert_string_equal(r.job_id, "{9e8d7c6b-5a49-3827-1605-f4e3d2c1b0a9}");
	assert_string_equal(vs_run_key(&r, key), "bitbucket/42");
	vs_run_release(&r);

	detect(origin, &r);
	assert_string_equal(r.run_id, "43");
	assert_string_equal(r.url,
			    "http://bitbucket.org/acme/train/pipelines/results/43");
	assert_string_equal(r.ref, "v2");
	assert_string_equal(r.repository, "");
	vs_run_release(&r);

	detect(bare, &r);
	assert_string_equal(r.run_id, "44");
	assert_string_equal(r.url, "");
	assert_string_equal(r.commit, "");
	assert_string_equal(r.ref, "");
	assert_string_equal(r.job_id, "");
	vs_run_release(&r);

	assert_int_equal(vs_run_from_env(&r, fake_getenv, (void *)no_number, 1,
					 &err), VS_E_INVAL);
	assert_non_null(strstr(err.msg, "Bitbucket Pipelines detected "
				       "(BITBUCKET_PIPELINE_UUID is set) but "
				       "$BITBUCKET_BUILD_NUMBER is not set"));
	vs_error_clear(&err);
	assert_int_equal(vs_run_from_env(&r, fake_getenv, (void *)bad_number,
					 1, &err), VS_E_INVAL);
	assert_non_null(strstr(err.msg, "invalid run id '{42}' in "
				       "$BITBUCKET_BUILD_NUMBER"));
	vs_error_clear(&err);
	n = (size_t)snprintf(long_name, sizeof(long_name),
			     "BITBUCKET_REPO_FULL_NAME=");
	memset(long_name + n, 'a', sizeof(long_name) - n - 1);
	assert_int_equal(vs_run_from_env(&r, fake_getenv, (void *)too_long, 1,
					 &err), VS_E_INVAL);
	assert_string_equal(err.msg, "$BITBUCKET_REPO_FULL_NAME is too long "
			    "(more than 2048 bytes)");
	vs_error_clear(&err);
	vs_run_release(&r);

	detect(both, &r);
	assert_string_equal(r.provider, "github");
	vs_run_release(&r);
}

static void test_env_buildkite(void **state)
{
	static const char *const env[] = {
		"CI=true", "BUILDKITE=true",
		"BUILDKITE_BUILD_ID=4735ba57-80d0-46e2-8fa0-b28223a86586",
		"BUILDKITE_BUILD_NUMBER=1514", "BUILDKITE_RETRY_COUNT=0",
		"BUILDKITE_BUILD_URL=https://buildkite.com/acme/train/builds/1514",
		"BUILDKITE_COMMIT=83a20ec058e2fb00e7fa4558c4c6e81e2dcf253d",
		"BUILDKITE_BRANCH=main", "BUILDKITE_TAG=",
		"BUILDKITE_REPO=git@github.com:acme/train.git",
		"BUILDKITE_PIPELINE_SLUG=train",
		"BUILDKITE_LABEL=:hammer: fit",
		"BUILDKITE_JOB_ID=e44f9784-e20e-4b93-a21d-f41fd5869db9", NULL,
	};
	/* A job retried twice, of a tag build, without the build's UUID;
	 * no label, URL or repository. */
	static const char *const retried[] = {
		"BUILDKITE=true", "BUILDKITE_BUILD_NUMBER=1515",
		"BUILDKITE_RETRY_COUNT=2", "BUILDKITE_TAG=v1.2.3", NULL,
	};
	/* No retry count: the first attempt. */
	static const char *const no_count[] = {
		"BUILDKITE=true", "BUILDKITE_BUILD_NUMBER=1516", NULL,
	};
	static const char *const no_id[] = {
		"BUILDKITE=true", "BUILDKITE_COMMIT=abc", NULL,
	};
	static const char *const bad_counts[][4] = {
		{ "BUILDKITE=true", "BUILDKITE_BUILD_NUMBER=1",
		  "BUILDKITE_RETRY_COUNT=-1", NULL },
		{ "BUILDKITE=true", "BUILDKITE_BUILD_NUMBER=1",
		  "BUILDKITE_RETRY_COUNT=one", NULL },
		{ "BUILDKITE=true", "BUILDKITE_BUILD_NUMBER=1",
		  "BUILDKITE_RETRY_COUNT=1234567890", NULL },
	};
	static const char *const bad_id[] = {
		"BUILDKITE=true", "BUILDKITE_BUILD_ID=a b", NULL,
	};
	static const char *const not_true[] = {
		"BUILDKITE=1", "BUILDKITE_BUILD_NUMBER=1", NULL,
	};
	struct vs_error err = { 0 };
	char key[VS_RUN_KEY_MAX];
	struct vs_run r;
	size_t i;

	(void)state;
	detect(env, &r);
	assert_string_equal(r.provider, "buildkite");
	assert_string_equal(r.run_id, "4735ba57-80d0-46e2-8fa0-b28223a86586");
	assert_int_equal(r.attempt, 1);
	assert_string_equal(r.url,
			    "https://buildkite.com/acme/train/builds/1514");
	assert_string_equal(r.commit,
			    "83a20ec058e2fb00e7fa4558c4c6e81e2dcf253d");
	assert_string_equal(r.ref, "main");
	assert_string_equal(r.repository, "git@github.com:acme/train.git");
	assert_string_equal(r.workflow, "train");
	assert_string_equal(r.job, ":hammer: fit");
	assert_string_equal(r.job_id, "e44f9784-e20e-4b93-a21d-f41fd5869db9");
	assert_string_equal(vs_run_key(&r, key),
			    "buildkite/4735ba57-80d0-46e2-8fa0-b28223a86586-1");
	vs_run_release(&r);

	detect(retried, &r);
	assert_string_equal(r.run_id, "1515");
	assert_int_equal(r.attempt, 3);
	assert_string_equal(r.ref, "v1.2.3");
	assert_string_equal(r.url, "");
	assert_string_equal(r.repository, "");
	assert_string_equal(r.job, "");
	assert_string_equal(vs_run_key(&r, key), "buildkite/1515-3");
	vs_run_release(&r);

	detect(no_count, &r);
	assert_int_equal(r.attempt, 0);
	assert_string_equal(vs_run_key(&r, key), "buildkite/1516");
	vs_run_release(&r);

	assert_int_equal(vs_run_from_env(&r, fake_getenv, (void *)no_id, 1,
					 &err), VS_E_INVAL);
	assert_non_null(strstr(err.msg, "Buildkite detected (BUILDKITE=true) "
				       "but $BUILDKITE_BUILD_ID is not set"));
	for (i = 0; i < sizeof(bad_counts) / sizeof(bad_counts[0]); i++) {
		vs_error_clear(&err);
		assert_int_equal(vs_run_from_env(&r, fake_getenv,
						 (void *)bad_counts[i], 1,
						 &err), VS_E_INVAL);
		assert_non_null(strstr(err.msg, "invalid retry count"));
		assert_non_null(strstr(err.msg, "$BUILDKITE_RETRY_COUNT "
					       "(expected a non-negative "
					       "number)"));
	}
	vs_error_clear(&err);
	assert_int_equal(vs_run_from_env(&r, fake_getenv, (void *)bad_id, 1,
					 &err), VS_E_INVAL);
	assert_non_null(strstr(err.msg, "invalid run id 'a b' in "
				       "$BUILDKITE_BUILD_ID"));
	assert_int_equal(vs_run_from_env(&r, fake_getenv, (void *)not_true, 1,
					 NULL), VS_E_NOTFOUND);
	vs_run_release(&r);
}

static void test_env_azure(void **state)
{
	static const char *const env[] = {
		"TF_BUILD=True", "BUILD_BUILDID=1234",
		"BUILD_BUILDNUMBER=20240807.1",
		"SYSTEM_JOBATTEMPT=2",
		"SYSTEM_COLLECTIONURI=https://dev.azure.com/fabrikam/",
		"SYSTEM_TEAMFOUNDATIONCOLLECTIONURI=https://old.example/",
		"SYSTEM_TEAMPROJECT=Fabrikam Fiber",
		"BUILD_SOURCEVERSION=3f2a9c0e3f2a9c0e3f2a9c0e3f2a9c0e3f2a9c0e",
		"BUILD_SOURCEBRANCH=refs/heads/main",
		"BUILD_REPOSITORY_URI=https://dev.azure.com/fabrikam/_git/train",
		"BUILD_DEFINITIONNAME=train CI",
		"SYSTEM_JOBDISPLAYNAME=Fit model", "AGENT_JOBNAME=Job",
		"SYSTEM_JOBID=12f1170f-54f2-53f3-20dd-22fc7dff55f9",
		NULL,
	};
	/* The older collection URI, a project name needing escapes (UTF-8
	 * included), Agent.JobName for the job, no attempt. */
	static const char *const older[] = {
		"TF_BUILD=True", "BUILD_BUILDID=1235",
		"SYSTEM_TEAMFOUNDATIONCOLLECTIONURI="
		"https://tfs.example/tfs/Coll",
		"SYSTEM_TEAMPROJECT=R&D/ML \xc3\xa9t\xc3\xa9",
		"BUILD_SOURCEBRANCH=refs/tags/v1", "AGENT_JOBNAME=__default",
		NULL,
	};
	/* No project: no URL. */
	static const char *const no_project[] = {
		"TF_BUILD=True", "BUILD_BUILDID=1236",
		"SYSTEM_COLLECTIONURI=https://dev.azure.com/fabrikam/", NULL,
	};
	static const char *const no_id[] = {
		"TF_BUILD=True", "SYSTEM_JOBATTEMPT=1", NULL,
	};
	static const char *const bad_attempts[][4] = {
		{ "TF_BUILD=True", "BUILD_BUILDID=1", "SYSTEM_JOBATTEMPT=0",
		  NULL },
		{ "TF_BUILD=True", "BUILD_BUILDID=1", "SYSTEM_JOBATTEMPT=2nd",
		  NULL },
	};
	/* TF_BUILD is "True"; anything else is not a build. */
	static const char *const not_true[] = {
		"TF_BUILD=true", "BUILD_BUILDID=1", NULL,
	};
	struct vs_error err = { 0 };
	char key[VS_RUN_KEY_MAX];
	struct vs_run r;
	size_t i;

	(void)state;
	detect(env, &r);
	assert_string_equal(r.provider, "azure");
	assert_string_equal(r.run_id, "1234");
	assert_int_equal(r.attempt, 2);
	assert_string_equal(r.url, "https://dev.azure.com/fabrikam/"
			    "Fabrikam%20Fiber/_build/results?buildId=1234");
	assert_string_equal(r.commit,
			    "3f2a9c0e3f2a9c0e3f2a9c0e3f2a9c0e3f2a9c0e");
	assert_string_equal(r.ref, "refs/heads/main");
	assert_string_equal(r.repository,
			    "https://dev.azure.com/fabrikam/_git/train");
	assert_string_equal(r.workflow, "train CI");
	assert_string_equal(r.job, "Fit model");
	assert_string_equal(r.job_id, "12f1170f-54f2-53f3-20dd-22fc7dff55f9");
	assert_string_equal(vs_run_key(&r, key), "azure/1234-2");
	vs_run_release(&r);

	detect(older, &r);
	assert_int_equal(r.attempt, 0);
	assert_string_equal(r.url, "https://tfs.example/tfs/Coll/"
			    "R%26D%2FML%20%C3%A9t%C3%A9/_build/results"
			    "?buildId=1235");
	assert_string_equal(r.ref, "refs/tags/v1");
	assert_string_equal(r.job, "__default");
	assert_string_equal(r.workflow, "");
	assert_string_equal(vs_run_key(&r, key), "azure/1235");
	vs_run_release(&r);

	detect(no_project, &r);
	assert_string_equal(r.url, "");
	vs_run_release(&r);

	assert_int_equal(vs_run_from_env(&r, fake_getenv, (void *)no_id, 1,
					 &err), VS_E_INVAL);
	assert_non_null(strstr(err.msg, "Azure Pipelines detected "
				       "(TF_BUILD=True) but $BUILD_BUILDID is "
				       "not set"));
	for (i = 0; i < sizeof(bad_attempts) / sizeof(bad_attempts[0]); i++) {
		vs_error_clear(&err);
		assert_int_equal(vs_run_from_env(&r, fake_getenv,
						 (void *)bad_attempts[i], 1,
						 &err), VS_E_INVAL);
		assert_non_null(strstr(err.msg, "invalid attempt"));
		assert_non_null(strstr(err.msg, "$SYSTEM_JOBATTEMPT (expected "
					       "a positive number)"));
	}
	vs_error_clear(&err);
	assert_int_equal(vs_run_from_env(&r, fake_getenv, (void *)not_true, 1,
					 &err), VS_E_NOTFOUND);
	assert_non_null(strstr(err.msg, "TF_BUILD"));
	assert_non_null(strstr(err.msg, "Buildkite and Azure Pipelines)"));
	vs_run_release(&r);
}

static void test_env_errors(void **state)
{
	static const char *const none[] = { "HOME=/root", NULL };
	static const char *const only_ci[] = { "CI=true", NULL };
	static const char *const not_true[] = { "GITHUB_ACTIONS=false",
						"TRAVIS=1", NULL };
	static const char *const no_id[] = { "GITLAB_CI=true", NULL };
	static const char *const bad_id[] = { "GITHUB_ACTIONS=true",
					      "GITHUB_RUN_ID=12/34", NULL };
	static const char *const bad_attempt[] = { "GITHUB_ACTIONS=true",
						   "GITHUB_RUN_ID=1",
						   "GITHUB_RUN_ATTEMPT=x",
						   NULL };
	static const char *const two[] = { "TRAVIS=true", "TRAVIS_BUILD_ID=9",
					   "GITLAB_CI=true",
					   "CI_PIPELINE_ID=8", NULL };
	struct vs_error err = { 0 };
	struct vs_run r;

	(void)state;
	assert_int_equal(vs_run_from_env(&r, fake_getenv, (void *)none, 1,
					 &err), VS_E_NOTFOUND);
	assert_non_null(strstr(err.msg, "GITHUB_ACTIONS"));
	vs_error_clear(&err);
	assert_int_equal(vs_run_from_env(&r, fake_getenv, (void *)only_ci, 1,
					 &err), VS_E_NOTFOUND);
	assert_non_null(strstr(err.msg, "CI is"));
	assert_int_equal(vs_run_from_env(&r, fake_getenv, (void *)not_true, 1,
					 NULL), VS_E_NOTFOUND);
	vs_error_clear(&err);
	assert_int_equal(vs_run_from_env(&r, fake_getenv, (void *)no_id, 1,
					 &err), VS_E_INVAL);
	assert_non_null(strstr(err.msg, "CI_PIPELINE_ID"));
	vs_error_clear(&err);
	assert_int_equal(vs_run_from_env(&r, fake_getenv, (void *)bad_id, 1,
					 &err), VS_E_INVAL);
	assert_non_null(strstr(err.msg, "GITHUB_RUN_ID"));
	vs_error_clear(&err);
	assert_int_equal(vs_run_from_env(&r, fake_getenv, (void *)bad_attempt,
					 1, &err), VS_E_INVAL);
	assert_non_null(strstr(err.msg, "GITHUB_RUN_ATTEMPT"));
	/* Released on failure: nothing to free, releasing is harmless. */
	vs_run_release(&r);
	/* Detection order: GitLab before Travis. */
	detect(two, &r);
	assert_string_equal(r.provider, "gitlab");
	vs_run_release(&r);
}

/* --- the store --------------------------------------------------------------- */

struct fx {
	struct tu_env *e;
	struct vs_repo data, clean, model;
};

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	if (!fx)
		return -1;
	fx->e = tu_env_new();
	repo(&fx->data, "datasets/raw");
	repo(&fx->clean, "datasets/clean");
	repo(&fx->model, "models/net");
	assert_int_equal(vs_repo_create(fx->e->s, &fx->data, NULL), 0);
	assert_int_equal(vs_repo_create(fx->e->s, &fx->clean, NULL), 0);
	assert_int_equal(vs_repo_create(fx->e->s, &fx->model, NULL), 0);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	tu_env_free(fx->e);
	free(fx);
	return 0;
}

/* A real commit (empty tree) on r's main; returns its id in *id. */
static void commit_on(struct vs_store *s, const struct vs_repo *r,
		      const char *msg, struct vs_id *id)
{
	struct vs_commit c;
	struct vs_tree t;
	struct vs_id head;
	bool has_head = vs_branch_get(s, r, "main", &head, NULL) == 0;

	vs_tree_init(&t);
	vs_commit_init(&c);
	assert_int_equal(vs_store_write_tree(s, &t, &c.tree, NULL), 0);
	if (has_head)
		vs_commit_add_parent(&c, &head);
	vs_commit_set_message(&c, msg);
	c.time = 1000;
	assert_int_equal(vs_store_write_commit(s, &c, id, NULL), 0);
	assert_int_equal(vs_branch_update(s, r, "main",
					  has_head ? &head : NULL, id, NULL, 0,
					  NULL), 0);
	vs_commit_release(&c);
}

static void ci_run(struct vs_run *r, const char *provider, const char *id,
		   uint64_t attempt)
{
	vs_run_init(r);
	vs_run_set(&r->provider, provider);
	vs_run_set(&r->run_id, id);
	r->attempt = attempt;
	vs_run_set(&r->repository, "acme/train");
	vs_run_set(&r->commit, "abc");
	vs_run_set(&r->url, "https://ci/1");
	r->time = 2000;
}

static int count_cb(const char *key, const struct vs_run *run, void *arg)
{
	(void)key;
	(void)run;
	(*(int *)arg)++;
	return 0;
}

static void test_record(void **state)
{
	struct fx *fx = *state;
	struct vs_store *s = fx->e->s;
	struct vs_error err = { 0 };
	struct vs_run run, got, other;
	struct vs_id a, b;
	bool added;
	int n;

	commit_on(s, &fx->data, "a", &a);
	commit_on(s, &fx->model, "b", &b);
	ci_run(&run, "github", "100", 1);
	vs_run_set(&run.job, "fit");
	assert_int_equal(vs_run_get(s, "github/100-1", &got, &err),
			 VS_E_NOTFOUND);
	assert_non_null(strstr(err.msg, "github/100-1"));

	assert_int_equal(vs_run_record(s, &run, VS_RUN_USED, &fx->data, &a,
				       "t1", &added, NULL), 0);
	assert_true(added);
	assert_int_equal(vs_run_record(s, &run, VS_RUN_USED, &fx->data, &a,
				       "t2", &added, NULL), 0);
	assert_false(added);
	assert_int_equal(vs_run_record(s, &run, VS_RUN_PRODUCED, &fx->model,
				       &b, "t1", &added, NULL), 0);
	assert_true(added);
	assert_int_equal(vs_run_get(s, "github/100-1", &got, NULL), 0);
	assert_int_equal(got.ninputs, 1);
	assert_int_equal(got.noutputs, 1);
	assert_string_equal(got.inputs[0].tag, "t1");
	assert_string_equal(got.inputs[0].job, "fit");
	assert_string_equal(got.repository, "acme/train");
	assert_int_equal(got.time, 2000);
	vs_run_release(&got);

	/* Another job of the same run, later: the record keeps its fields. */
	ci_run(&other, "github", "100", 1);
	other.time = 9999;
	vs_run_set(&other.job, "eval");
	assert_int_equal(vs_run_record(s, &other, VS_RUN_USED, &fx->model, &b,
				       "", &added, NULL), 0);
	assert_true(added);
	assert_int_equal(vs_run_get(s, "github/100-1", &got, NULL), 0);
	assert_int_equal(got.time, 2000);
	assert_string_equal(got.job, "fit");
	assert_string_equal(got.inputs[1].job, "eval");
	vs_run_release(&got);

	/* The same key from another repository: a conflict, nothing
	 * written. */
	vs_run_set(&other.repository, "someone/else");
	memset(&err, 0, sizeof(err));
	assert_int_equal(vs_run_record(s, &other, VS_RUN_USED, &fx->data, &b,
				       "", &added, &err), VS_E_CONFLICT);
	assert_false(added);
	assert_non_null(strstr(err.msg, "someone/else"));
	assert_int_equal(vs_run_get(s, "github/100-1", &got, NULL), 0);
	assert_int_equal(got.ninputs, 2);
	vs_run_release(&got);
	vs_run_release(&other);

	/* Listing, all and by provider. */
	ci_run(&other, "gitlab", "7", 0);
	assert_int_equal(vs_run_record(s, &other, VS_RUN_USED, &fx->data, &a,
				       "", NULL, NULL), 0);
	vs_run_release(&other);
	n = 0;
	assert_int_equal(vs_run_list(s, NULL, count_cb, &n, NULL), 0);
	assert_int_equal(n, 2);
	n = 0;
	assert_int_equal(vs_run_list(s, "gitlab", count_cb, &n, NULL), 0);
	assert_int_equal(n, 1);
	n = 0;
	assert_int_equal(vs_run_list(s, "travis", count_cb, &n, NULL), 0);
	assert_int_equal(n, 0);
	vs_run_release(&run);
}

static void test_find(void **state)
{
	struct fx *fx = *state;
	struct vs_store *s = fx->e->s;
	struct vs_error err = { 0 };
	struct vs_run run, got;
	struct vs_id a;
	char *key;

	commit_on(s, &fx->data, "a", &a);
	ci_run(&run, "github", "5", 1);
	assert_int_equal(vs_run_record(s, &run, VS_RUN_USED, &fx->data, &a, "",
				       NULL, NULL), 0);
	/* "github/5" names the only attempt. */
	assert_int_equal(vs_run_find(s, "github/5", &got, &key, NULL), 0);
	assert_string_equal(key, "github/5-1");
	free(key);
	vs_run_release(&got);
	assert_int_equal(vs_run_find(s, "github/5-1", &got, &key, NULL), 0);
	assert_string_equal(key, "github/5-1");
	free(key);
	vs_run_release(&got);
	run.attempt = 2;
	assert_int_equal(vs_run_record(s, &run, VS_RUN_USED, &fx->data, &a, "",
				       NULL, NULL), 0);
	assert_int_equal(vs_run_find(s, "github/5", &got, &key, &err),
			 VS_E_AMBIGUOUS);
	assert_null(key);
	assert_non_null(strstr(err.msg, "github/5-1, github/5-2"));
	memset(&err, 0, sizeof(err));
	assert_int_equal(vs_run_find(s, "github/6", &got, &key, &err),
			 VS_E_NOTFOUND);
	assert_non_null(strstr(err.msg, "github/6"));
	/* "github/5-" is no run id; "github/" prefixes match nothing odd. */
	assert_int_equal(vs_run_find(s, "github/", &got, &key, NULL),
			 VS_E_NOTFOUND);
	vs_run_release(&run);
}

static void test_tag(void **state)
{
	struct fx *fx = *state;
	struct vs_store *s = fx->e->s;
	struct vs_run_tag_opts o = { .author = "ci@host", .time = 3000 };
	struct vs_error err = { 0 };
	struct vs_run run, got;
	struct vs_tag tag;
	struct vs_id a, b;
	bool existed;

	commit_on(s, &fx->data, "a", &a);
	commit_on(s, &fx->data, "b", &b);
	ci_run(&run, "github", "77", 1);
	vs_run_set(&run.ref, "refs/heads/main");

	assert_int_equal(vs_run_tag(s, &run, VS_RUN_USED, &fx->data, &a, &o,
				    &existed, NULL), 0);
	assert_false(existed);
	assert_int_equal(vs_tag_get(s, &fx->data, "ci/github/77-1", &tag, NULL),
			 0);
	assert_true(vs_id_equal(&tag.commit, &a));
	assert_string_equal(vs_tag_meta_get(&tag, VS_RUN_META_RUN),
			    "github/77-1");
	assert_string_equal(vs_tag_meta_get(&tag, VS_RUN_META_ROLE), "used");
	assert_string_equal(vs_tag_meta_get(&tag, VS_RUN_META_PROVIDER),
			    "github");
	assert_string_equal(vs_tag_meta_get(&tag, VS_RUN_META_URL),
			    "https://ci/1");
	assert_string_equal(vs_tag_meta_get(&tag, VS_RUN_META_REF),
			    "refs/heads/main");
	assert_string_equal(tag.message, "used by github run 77 (attempt 1)");
	assert_string_equal(tag.author, "ci@host");
	assert_int_equal(tag.time, 3000);
	vs_tag_release(&tag);

	/* The same command again (a retried job): no-op success. */
	assert_int_equal(vs_run_tag(s, &run, VS_RUN_USED, &fx->data, &a, &o,
				    &existed, NULL), 0);
	assert_true(existed);

	/* Immutable: the name at another commit fails, nothing changes. */
	assert_int_equal(vs_run_tag(s, &run, VS_RUN_USED, &fx->data, &b, &o,
				    &existed, &err), VS_E_EXISTS);
	assert_non_null(strstr(err.msg, "immutable"));
	memset(&err, 0, sizeof(err));
	/* ... and the same snapshot with the other role needs another name. */
	assert_int_equal(vs_run_tag(s, &run, VS_RUN_PRODUCED, &fx->data, &a, &o,
				    NULL, &err), VS_E_EXISTS);
	assert_non_null(strstr(err.msg, "another NAME"));
	assert_int_equal(vs_run_get(s, "github/77-1", &got, NULL), 0);
	assert_int_equal(got.ninputs, 1);
	assert_int_equal(got.noutputs, 0);
	vs_run_release(&got);

	/* An explicit name and message. */
	o.name = "trained-on";
	o.message = "hello";
	assert_int_equal(vs_run_tag(s, &run, VS_RUN_PRODUCED, &fx->data, &b, &o,
				    NULL, NULL), 0);
	assert_int_equal(vs_tag_get(s, &fx->data, "trained-on", &tag, NULL), 0);
	assert_string_equal(tag.message, "hello");
	assert_string_equal(vs_tag_meta_get(&tag, VS_RUN_META_ROLE),
			    "produced");
	vs_tag_release(&tag);
	assert_int_equal(vs_run_get(s, "github/77-1", &got, NULL), 0);
	assert_int_equal(got.noutputs, 1);
	assert_string_equal(got.outputs[0].tag, "trained-on");
	vs_run_release(&got);

	/* A bad name; a run that disagrees with the record: nothing made. */
	o.name = "a..b";
	assert_int_equal(vs_run_tag(s, &run, VS_RUN_USED, &fx->data, &b, &o,
				    NULL, NULL), VS_E_INVAL);
	o.name = "conflicting";
	vs_run_set(&run.repository, "other/repo");
	assert_int_equal(vs_run_tag(s, &run, VS_RUN_USED, &fx->data, &b, &o,
				    NULL, NULL), VS_E_CONFLICT);
	assert_int_equal(vs_tag_get(s, &fx->data, "conflicting", &tag, NULL),
			 VS_E_NOTFOUND);
	vs_tag_release(&tag);
	vs_run_release(&run);
}

/* Lineage: raw -> (gitlab/1) -> clean -> (github/2-1) -> model. */
static void test_lineage(void **state)
{
	struct fx *fx = *state;
	struct vs_store *s = fx->e->s;
	struct vs_run_tag_opts o = { .time = 1 };
	struct vs_lineage_node root, *clean, *raw;
	struct vs_run prep, train, loop;
	struct vs_id r1, c1, m1;

	commit_on(s, &fx->data, "raw", &r1);
	commit_on(s, &fx->clean, "clean", &c1);
	commit_on(s, &fx->model, "model", &m1);
	ci_run(&prep, "gitlab", "1", 0);
	ci_run(&train, "github", "2", 1);
	assert_int_equal(vs_run_tag(s, &prep, VS_RUN_USED, &fx->data, &r1, &o,
				    NULL, NULL), 0);
	assert_int_equal(vs_run_tag(s, &prep, VS_RUN_PRODUCED, &fx->clean, &c1,
				    &o, NULL, NULL), 0);
	assert_int_equal(vs_run_tag(s, &train, VS_RUN_USED, &fx->clean, &c1,
				    &o, NULL, NULL), 0);
	assert_int_equal(vs_run_tag(s, &train, VS_RUN_PRODUCED, &fx->model,
				    &m1, &o, NULL, NULL), 0);

	assert_int_equal(vs_lineage_build(s, &fx->model, &m1, &root, NULL), 0);
	assert_int_equal(root.nruns, 1);
	assert_string_equal(root.runs[0].key, "github/2-1");
	assert_string_equal(root.runs[0].tag, "ci/github/2-1");
	assert_false(root.runs[0].missing);
	assert_int_equal(root.runs[0].ninputs, 1);
	clean = &root.runs[0].inputs[0];
	assert_string_equal(clean->repo.full, "datasets/clean");
	assert_true(vs_id_equal(&clean->commit, &c1));
	assert_string_equal(clean->tag, "ci/github/2-1");
	assert_int_equal(clean->nruns, 1);
	assert_string_equal(clean->runs[0].key, "gitlab/1");
	assert_int_equal(clean->runs[0].ninputs, 1);
	raw = &clean->runs[0].inputs[0];
	assert_string_equal(raw->repo.full, "datasets/raw");
	assert_int_equal(raw->nruns, 0);
	assert_false(raw->repeated);
	vs_lineage_release(&root);

	/* A snapshot nobody produced: no runs.  A used tag is no producer. */
	assert_int_equal(vs_lineage_build(s, &fx->data, &r1, &root, NULL), 0);
	assert_int_equal(root.nruns, 0);
	vs_lineage_release(&root);

	/* A cycle: a run that used the model "produced" raw. */
	ci_run(&loop, "travis", "3", 0);
	assert_int_equal(vs_run_tag(s, &loop, VS_RUN_USED, &fx->model, &m1, &o,
				    NULL, NULL), 0);
	assert_int_equal(vs_run_tag(s, &loop, VS_RUN_PRODUCED, &fx->data, &r1,
				    &o, NULL, NULL), 0);
	assert_int_equal(vs_lineage_build(s, &fx->model, &m1, &root, NULL), 0);
	raw = &root.runs[0].inputs[0].runs[0].inputs[0];
	assert_int_equal(raw->nruns, 1);
	assert_string_equal(raw->runs[0].key, "travis/3");
	assert_int_equal(raw->runs[0].ninputs, 1);
	assert_true(raw->runs[0].inputs[0].repeated);
	assert_int_equal(raw->runs[0].inputs[0].nruns, 0);
	vs_lineage_release(&root);

	/* A produced tag whose run record is gone (e.g. pushed alone). */
	{
		struct vs_tag t;

		vs_tag_init(&t);
		t.commit = c1;
		vs_tag_set_meta(&t, VS_RUN_META_RUN, "jenkins/404");
		vs_tag_set_meta(&t, VS_RUN_META_ROLE, "produced");
		assert_int_equal(vs_tag_create(s, &fx->clean, "orphan", &t,
					       NULL), 0);
		vs_tag_release(&t);
	}
	assert_int_equal(vs_lineage_build(s, &fx->clean, &c1, &root, NULL), 0);
	assert_int_equal(root.nruns, 2);
	assert_string_equal(root.runs[1].key, "jenkins/404");
	assert_true(root.runs[1].missing);
	assert_int_equal(root.runs[1].ninputs, 0);
	vs_lineage_release(&root);

	vs_run_release(&prep);
	vs_run_release(&train);
	vs_run_release(&loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_add_snap_idempotent),
		cmocka_unit_test(test_decode_rejects),
		cmocka_unit_test(test_decode_mutations),
		cmocka_unit_test(test_key),
		cmocka_unit_test(test_env_github),
		cmocka_unit_test(test_env_gitlab),
		cmocka_unit_test(test_env_jenkins),
		cmocka_unit_test(test_env_travis),
		cmocka_unit_test(test_env_circleci),
		cmocka_unit_test(test_env_bitbucket),
		cmocka_unit_test(test_env_buildkite),
		cmocka_unit_test(test_env_azure),
		cmocka_unit_test(test_env_errors),
		cmocka_unit_test_setup_teardown(test_record, setup, teardown),
		cmocka_unit_test_setup_teardown(test_find, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tag, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lineage, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
