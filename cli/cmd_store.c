/*
 * cmd_store.c - commands about the store as a whole: init, create, list,
 * stats, verify.
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

#include "verify.h"

#include "banned.h"

const struct cli_opt cmd_init_opts[] = {
	{ "chunk-avg", 0, "KiB", 'c', 0,
	  "average chunk size in KiB, a power of two from 4 "
	  "to 4096 (min = avg/4, max = avg*4; default 256)" },
	{ "level", 0, "N", 'l', 0, "zstd level, 1-19 (default 1)" },
	{ 0 },
};

int cmd_init(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct vs_error e = { 0 };
	struct vs_config cfg;
	struct cli_args a;
	const char *dir = NULL;
	char *abs;
	long n;
	int o, r;

	vs_config_defaults(&cfg);
	cli_args_init(&a, argc, argv);
	while ((o = cli_getopt(ctx, &a, cmd_init_opts)) >= 0) {
		switch (o) {
		case 0:
			if (dir)
				return cli_usage(ctx, "too many arguments");
			dir = a.arg;
			break;
		case 'c':
			n = cli_parse_count(a.arg);
			if (n < 4 || n > 4096 || (n & (n - 1)))
				return cli_usage(ctx, "--chunk-avg must be a "
						 "power of two from 4 to 4096 "
						 "(KiB)");
			cfg.chunking.avg = n << 10;
			cfg.chunking.min = cfg.chunking.avg / 4;
			cfg.chunking.max = cfg.chunking.avg * 4;
			break;
		case 'l':
			n = cli_parse_count(a.arg);
			if (n < 1 || n > 19)
				return cli_usage(ctx, "--level must be 1-19");
			cfg.zstd_level = n;
			break;
		default:
			return o;
		}
	}
	if (o == CLI_OPT_ERROR)
		return CLI_USAGE;
	if (!dir)
		dir = ctx->store_opt ? ctx->store_opt : VS_STORE_DIRNAME;
	r = vs_store_create(dir, &cfg, &e);
	if (r < 0)
		return cli_store_error(ctx, r, &e);
	abs = realpath(dir, NULL);
	if (!ctx->quiet)
		fprintf(ctx->out, "initialized empty varve store in %s\n",
			abs ? abs : dir);
	free(abs);
	return CLI_OK;
}

const struct cli_opt cmd_create_opts[] = { { 0 } };

int cmd_create(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct vs_error e = { 0 };
	struct vs_repo repo;
	enum vs_repo_kind kind;
	struct vs_store *s;
	struct cli_args a;
	const char *pos[2];
	int n = 0, o, r;

	cli_args_init(&a, argc, argv);
	while ((o = cli_getopt(ctx, &a, cmd_create_opts)) >= 0) {
		if (o != 0)
			return o;
		if (n == 2)
			return cli_usage(ctx, "too many arguments");
		pos[n++] = a.arg;
	}
	if (o == CLI_OPT_ERROR)
		return CLI_USAGE;
	if (n != 2)
		return cli_usage(ctx, "expected a kind and a name");
	if (strcmp(pos[0], "dataset") && strcmp(pos[0], "model"))
		return cli_usage(ctx, "unknown kind '%s' (expected dataset or "
				 "model)", pos[0]);
	vs_repo_kind_parse(pos[0], &kind);
	r = vs_repo_set(&repo, kind, pos[1], &e);
	if (r < 0)
		return cli_store_error(ctx, r, &e);
	s = cli_store(ctx);
	if (!s)
		return CLI_FAIL;
	r = vs_repo_create(s, &repo, &e);
	if (r < 0)
		return cli_store_error(ctx, r, &e);
	if (!ctx->quiet)
		fprintf(ctx->out, "created %s\n", repo.full);
	return CLI_OK;
}

struct list_state {
	struct cmd_ctx *ctx;
	struct vs_store *s;
	json_t *json;		/* the list, or NULL for text */
	json_t *branches;
	struct vs_error *err;
};

static int list_branch(const char *name, const struct vs_id *id, void *arg)
{
	struct list_state *ls = arg;
	char hex[VS_ID_HEXLEN + 1];

	vs_id_to_hex(id, hex);
	json_object_set_new(ls->branches, name, json_string(hex));
	return 0;
}

static int list_repo(const struct vs_repo *r, void *arg)
{
	struct list_state *ls = arg;
	json_t *o;

	if (ls->json) {
		o = json_object();
		json_object_set_new(o, "repo", json_string(r->full));
		json_object_set_new(o, "kind",
				    json_string(vs_repo_kind_name(r->kind)));
		json_object_set_new(o, "name", json_string(r->name));
		ls->branches = json_object();
		json_object_set_new(o, "branches", ls->branches);
		json_array_append_new(ls->json, o);
	} else {
		fprintf(ls->ctx->out, "%s\n", r->full);
		return 0;
	}
	return vs_branch_list(ls->s, r, list_branch, ls, ls->err);
}

const struct cli_opt cmd_list_opts[] = {
	{ "json", 0, NULL, 'j', 0,
	  "JSON, with each repository's branches (see README.md)" },
	{ 0 },
};

int cmd_list(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct list_state ls = { .ctx = ctx };
	struct vs_error e = { 0 };
	bool json = false;
	int r;

	if (cli_parse_flags(ctx, argc, argv, cmd_list_opts, &json))
		return CLI_USAGE;
	ls.s = cli_store_read(ctx);
	if (!ls.s)
		return CLI_FAIL;
	ls.err = &e;
	if (json)
		ls.json = json_array();
	r = vs_repo_list(ls.s, list_repo, &ls, &e);
	if (r < 0) {
		json_decref(ls.json);
		return cli_store_error(ctx, r, &e);
	}
	if (json)
		return cli_json_print(ctx, ls.json);
	return CLI_OK;
}

static double ratio(uint64_t a, uint64_t b)
{
	return b ? (double)a / b : 0.0;
}

const struct cli_opt cmd_stats_opts[] = {
	{ "json", 0, NULL, 'j', 0, "JSON output (see README.md)" },
	{ 0 },
};

int cmd_stats(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct vs_error e = { 0 };
	struct vs_stats st;
	struct vs_store *s;
	uint64_t unique, stored;
	char b1[32], b2[32], b3[32];
	bool json = false;
	int r;

	if (cli_parse_flags(ctx, argc, argv, cmd_stats_opts, &json))
		return CLI_USAGE;
	s = cli_store_read(ctx);
	if (!s)
		return CLI_FAIL;
	r = vs_stats_compute(s, &st, &e);
	if (r < 0)
		return cli_store_error(ctx, r, &e);
	unique = st.chunk_raw_bytes + st.object_bytes;
	stored = st.chunk_stored_bytes + st.object_bytes;
	if (json) {
		json_t *j = json_object();

		json_object_set_new(j, "repositories",
				    json_integer(st.repositories));
		json_object_set_new(j, "commits", json_integer(st.commits));
		json_object_set_new(j, "logical_bytes",
				    json_integer(st.logical_bytes));
		json_object_set_new(j, "unique_bytes", json_integer(unique));
		json_object_set_new(j, "stored_bytes", json_integer(stored));
		json_object_set_new(j, "chunks", json_integer(st.chunks));
		json_object_set_new(j, "chunk_bytes",
				    json_integer(st.chunk_raw_bytes));
		json_object_set_new(j, "chunk_stored_bytes",
				    json_integer(st.chunk_stored_bytes));
		json_object_set_new(j, "objects", json_integer(st.objects));
		json_object_set_new(j, "object_bytes",
				    json_integer(st.object_bytes));
		json_object_set_new(j, "dedup_ratio",
				    json_real(ratio(st.logical_bytes, unique)));
		json_object_set_new(j, "compression_ratio",
				    json_real(ratio(unique, stored)));
		return cli_json_print(ctx, j);
	}
	cli_format_bytes(st.logical_bytes, b1);
	cli_format_bytes(unique, b2);
	cli_format_bytes(stored, b3);
	fprintf(ctx->out,
		"repositories:      %llu\n"
		"commits:           %llu\n"
		"chunks:            %llu\n"
		"logical bytes:     %s (%llu)\n"
		"unique bytes:      %s (%llu)\n"
		"stored bytes:      %s (%llu)\n"
		"dedup ratio:       %.2fx\n"
		"compression ratio: %.2fx\n",
		(unsigned long long)st.repositories,
		(unsigned long long)st.commits, (unsigned long long)st.chunks,
		b1, (unsigned long long)st.logical_bytes, b2,
		(unsigned long long)unique, b3, (unsigned long long)stored,
		ratio(st.logical_bytes, unique), ratio(unique, stored));
	return CLI_OK;
}

static void verify_problem(void *arg, const char *msg)
{
	struct cmd_ctx *ctx = arg;

	fprintf(ctx->err, "varve: error: %s\n", msg);
}

struct verify_progress {
	struct cli_progress bar;
};

static void verify_progress(void *arg, uint64_t chunks, uint64_t bytes)
{
	struct verify_progress *vp = arg;

	cli_progress_update(&vp->bar, chunks, chunks, bytes, bytes);
}

const struct cli_opt cmd_verify_opts[] = {
	{ "full", 0, NULL, 'f', 0,
	  "also read, decompress and re-hash every chunk" },
	{ 0 },
};

int cmd_verify(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct vs_verify_opts vo = { 0 };
	struct vs_verify_result res;
	struct verify_progress vp;
	struct vs_error e = { 0 };
	struct vs_store *s;
	char b[32];
	int r;

	if (cli_parse_flags(ctx, argc, argv, cmd_verify_opts, &vo.full))
		return CLI_USAGE;
	s = cli_store_read(ctx);
	if (!s)
		return CLI_FAIL;
	cli_progress_init(&vp.bar, ctx, "verify");
	vo.problem = verify_problem;
	vo.problem_arg = ctx;
	vo.progress = verify_progress;
	vo.cancel = ctx->cancel;
	vo.progress_arg = &vp;
	r = vs_verify(s, &vo, &res, &e);
	cli_progress_done(&vp.bar);
	if (r < 0)
		return cli_store_error(ctx, r, &e);
	cli_format_bytes(res.chunk_bytes, b);
	if (!ctx->quiet)
		fprintf(ctx->out,
			"ok: %llu refs, %llu commits, %llu trees, %llu files, "
			"%llu chunks%s%s%s\n",
			(unsigned long long)res.refs,
			(unsigned long long)res.commits,
			(unsigned long long)res.trees,
			(unsigned long long)res.files,
			(unsigned long long)res.chunks,
			vo.full ? " (" : "", vo.full ? b : "",
			vo.full ? " re-hashed)" : "");
	return CLI_OK;
}
