/*
 * gen_corpus_run.c - writes the seed corpus of fuzz_run:
 * tests/fuzz/corpus/run/, a few valid run encodings.
 *
 * Not built by default; run it by hand when the run encoding changes:
 *   cc -std=c11 -D_GNU_SOURCE -Istore store/error.c store/buf.c \
 *      store/hash.c store/object.c store/refs.c store/kv.c store/runs.c \
 *      tests/fuzz/gen_corpus_run.c -lcrypto -lrocksdb -lpthread \
 *      -o /tmp/gen_corpus_run && /tmp/gen_corpus_run tests/fuzz/corpus
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "hash.h"
#include "refs.h"
#include "runs.h"
#include "banned.h"

static const char *root;

static void put(const char *name, const struct vs_run *r)
{
	struct vs_buf b = VS_BUF_INIT;
	char path[4096];
	FILE *f;

	vs_run_encode(r, &b);
	snprintf(path, sizeof(path), "%s/run/%s", root, name);
	f = fopen(path, "wb");
	if (!f || fwrite(b.data, 1, b.len, f) != b.len || fclose(f)) {
		perror(path);
		exit(1);
	}
	vs_buf_release(&b);
}

static void snap(struct vs_run *r, enum vs_run_role role, const char *repo,
		 unsigned seed, const char *tag, const char *job)
{
	struct vs_repo rp;
	struct vs_id id;

	if (vs_repo_parse(&rp, repo, strlen(repo), NULL))
		abort();
	vs_hash(&seed, sizeof(seed), &id);
	vs_run_add_snap(r, role, &rp, &id, tag, job, "");
}

int main(int argc, char **argv)
{
	struct vs_run r;

	if (argc != 2) {
		fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
		return 2;
	}
	root = argv[1];

	vs_run_init(&r);
	vs_run_set(&r.provider, "gitlab");
	vs_run_set(&r.run_id, "1");
	put("empty", &r);
	vs_run_release(&r);

	vs_run_init(&r);
	vs_run_set(&r.provider, "github");
	vs_run_set(&r.run_id, "9876543210");
	r.attempt = 2;
	vs_run_set(&r.url, "https://github.com/acme/train/actions/runs/9876543210");
	vs_run_set(&r.commit, "0123456789abcdef0123456789abcdef01234567");
	vs_run_set(&r.ref, "refs/heads/main");
	vs_run_set(&r.repository, "acme/train");
	vs_run_set(&r.workflow, "train");
	vs_run_set(&r.job, "fit");
	r.time = 1764057600;
	snap(&r, VS_RUN_USED, "datasets/imagenet", 1, "ci/github/9876543210-2",
	     "fit");
	snap(&r, VS_RUN_USED, "datasets/labels", 2, "", "fit");
	snap(&r, VS_RUN_PRODUCED, "models/resnet", 3, "ci/github/9876543210-2",
	     "fit");
	put("github-full", &r);
	vs_run_release(&r);

	vs_run_init(&r);
	vs_run_set(&r.provider, "circleci");
	vs_run_set(&r.run_id, "5a2e0a7e-1c1b-4a63-9f0e-1234567890ab");
	vs_run_set(&r.url, "https://circleci.com/gh/acme/train/321");
	vs_run_set(&r.job, "fit");
	vs_run_set(&r.job_id, "321");
	r.time = 1;
	snap(&r, VS_RUN_PRODUCED, "models/a", 4, "v1", "");
	put("circleci-outputs", &r);
	vs_run_release(&r);
	return 0;
}
