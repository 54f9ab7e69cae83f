/*
 * cmd_commit.c - moving data in and out: commit, checkout.
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

#include "checkout.h"
#include "ingest.h"
#include "staging.h"

#include "banned.h"

static void commit_progress(void *arg, const struct vs_ingest_progress *p)
{
	struct cli_progress *bar = arg;

	cli_progress_update(bar, p->files_read, p->files_total, p->bytes_read,
			    p->bytes_to_read);
}

static void commit_warn(void *arg, const char *msg)
{
	cli_warn(arg, "%s", msg);
}

const struct cli_opt cmd_commit_opts[] = {
	{ "from", 0, "DIR", 'f', 0,
	  "the directory to commit (default: the changes "
	  "staged in the branch's writable head)" },
	{ "message", 'm', "MSG", 'm', CLI_OPT_SHORT, "commit message" },
	{ "branch", 'b', "B", 'b', 0, "branch to commit to (default main)" },
	{ "meta", 0, "KEY=VALUE", 'M', CLI_OPT_REPEAT, "free metadata" },
	{ "allow-empty", 0, NULL, 'e', 0, "commit even if nothing changed" },
	{ 0 },
};

int cmd_commit(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct vs_ingest_opts io = { 0 };
	struct vs_ingest_result res;
	struct vs_scan *scan = NULL;
	struct vs_error e = { 0 };
	struct cli_progress bar;
	struct vs_meta *meta = NULL;
	struct vs_repo repo;
	struct vs_store *s;
	struct cli_args a;
	const char *repo_arg = NULL, *from = NULL;
	char author[256], hex[VS_ID_HEXLEN + 1], b[32];
	size_t nmeta = 0, i;
	int o, r = CLI_OK;

	cli_args_init(&a, argc, argv);
	meta = calloc(argc, sizeof(*meta));
	if (!meta)
		abort();
	while ((o = cli_getopt(ctx, &a, cmd_commit_opts)) >= 0) {
		switch (o) {
		case 0:
			if (repo_arg) {
				r = cli_usage(ctx, "unexpected argument '%s'",
					      a.arg);
				goto out;
			}
			repo_arg = a.arg;
			break;
		case 'f':
			from = a.arg;
			break;
		case 'm':
			io.message = a.arg;
			break;
		case 'b':
			io.branch = a.arg;
			break;
		case 'e':
			io.allow_empty = true;
			break;
		case 'M': {
			const char *eq = strchr(a.arg, '=');

			if (!eq || eq == a.arg) {
				r = cli_usage(ctx, "--meta needs KEY=VALUE, "
					      "got '%s'", a.arg);
				goto out;
			}
			meta[nmeta].key = strndup(a.arg, eq - a.arg);
			meta[nmeta].value = strdup(eq + 1);
			nmeta++;
			break;
		}
		}
	}
	if (o == CLI_OPT_ERROR) {
		r = CLI_USAGE;
		goto out;
	}
	if (!repo_arg) {
		r = cli_usage(ctx, "missing REPO");
		goto out;
	}
	if (vs_repo_parse(&repo, repo_arg, strlen(repo_arg), &e) < 0) {
		r = cli_store_error(ctx, VS_E_INVAL, &e);
		goto out;
	}
	if (io.branch && !vs_ref_name_valid(io.branch)) {
		r = cli_error(ctx, "invalid branch name '%s'", io.branch);
		goto out;
	}
	io.warn = commit_warn;
	io.warn_arg = ctx;
	if (from) {
		/* Walk the source while the store opens. */
		char *store_dir = cli_store_dir(ctx);

		scan = vs_scan_start(from, store_dir, &io);
		free(store_dir);
	}
	s = cli_store(ctx);
	if (!s) {
		r = CLI_FAIL;
		goto out;
	}
	cli_author(ctx, author, sizeof(author));
	io.author = author;
	io.meta = meta;
	io.nmeta = nmeta;
	cli_progress_init(&bar, ctx, "commit");
	io.progress = commit_progress;
	io.progress_arg = &bar;
	io.cancel = ctx->cancel;
	if (from) {
		r = vs_ingest_scanned(s, &repo, scan, &io, &res, &e);
		scan = NULL;
	} else {
		struct vs_head h = { .repo = repo };

		snprintf(h.branch, sizeof(h.branch), "%s",
			 io.branch ? io.branch : VS_DEFAULT_BRANCH);
		r = vs_staging_commit(s, &h, &io, &res, &e);
	}
	cli_progress_done(&bar);
	if (r < 0) {
		r = cli_store_error(ctx, r, &e);
		goto out;
	}
	vs_id_to_hex(&res.commit, hex);
	fprintf(ctx->out, "%s\n", hex);
	cli_format_bytes(res.stats.new_bytes, b);
	if (!ctx->quiet && res.created)
		fprintf(ctx->err, "committed %s@%s %.12s (%llu files, %llu "
			"read, %s new)\n", repo.full,
			io.branch ? io.branch : VS_DEFAULT_BRANCH, hex,
			(unsigned long long)res.stats.files_total,
			(unsigned long long)res.stats.files_read, b);
	else if (!ctx->quiet && !from)
		fprintf(ctx->err, "nothing to commit: no staged changes in "
			"%s@%s, which stays at %.12s\n", repo.full,
			io.branch ? io.branch : VS_DEFAULT_BRANCH, hex);
	else if (!ctx->quiet)
		fprintf(ctx->err, "nothing to commit: %s@%s stays at %.12s "
			"(%llu files, %llu read)\n", repo.full,
			io.branch ? io.branch : VS_DEFAULT_BRANCH, hex,
			(unsigned long long)res.stats.files_total,
			(unsigned long long)res.stats.files_read);
	r = CLI_OK;
out:
	vs_scan_free(scan);
	for (i = 0; i < nmeta; i++) {
		free(meta[i].key);
		free(meta[i].value);
	}
	free(meta);
	return r;
}

static void checkout_progress(void *arg, const struct vs_checkout_progress *p)
{
	cli_progress_update(arg, p->files_done, p->files_total, p->bytes_done,
			    p->bytes_total);
}

const struct cli_opt cmd_checkout_opts[] = {
	{ "lock", 0, "FILE", 'l', 0,
	  "every snapshot pinned in FILE (see 'varve pin'), "
	  "into DIR/datasets/NAME and DIR/models/NAME" },
	{ 0 },
};

int cmd_checkout(struct cmd_ctx *ctx, int argc, char **argv)
{
	const char *lock = NULL;
	struct vs_checkout_opts co = { 0 };
	struct vs_error e = { 0 };
	struct cli_progress bar;
	struct vs_rev rev = { 0 };
	struct vs_node root, node;
	struct vs_store *s;
	struct cli_parsed cl;
	const char *const *pos;
	char hex[VS_ID_HEXLEN + 1];
	int n, r;

	if (cli_parse(ctx, argc, argv, cmd_checkout_opts, 2, &cl))
		return CLI_USAGE;
	lock = cl.opt['l'];
	n = cl.nargs;
	pos = cl.arg;
	/* checkout --lock FILE DIR: every pinned snapshot (cmd_ci.c). */
	if (lock && n != 1)
		return cli_usage(ctx, "with --lock FILE, expected only DIR");
	if (lock)
		return cli_checkout_lock(ctx, lock, pos[0]);
	if (n != 2)
		return cli_usage(ctx, "expected REV and DIR");
	s = cli_store_read(ctx);
	if (!s)
		return CLI_FAIL;
	r = vs_rev_resolve(s, pos[0], true, &rev, &e);
	if (r == 0)
		r = vs_commit_root(s, &rev.commit, &root, &e);
	if (r == 0)
		r = vs_path_lookup(s, &root.id, root.size, rev.path, &node, &e);
	if (r == 0 && node.type != VS_ENTRY_DIR)
		r = vs_error_set(&e, VS_E_INVAL, "'%s' is not a directory "
				 "(use 'varve cat' for a file)", pos[0]);
	if (r < 0) {
		vs_rev_release(&rev);
		return cli_store_error(ctx, r, &e);
	}
	cli_progress_init(&bar, ctx, "checkout");
	co.progress = checkout_progress;
	co.cancel = ctx->cancel;
	co.progress_arg = &bar;
	r = vs_checkout(s, &node, pos[1], &co, &e);
	cli_progress_done(&bar);
	if (r < 0) {
		vs_rev_release(&rev);
		return cli_store_error(ctx, r, &e);
	}
	if (!ctx->quiet)
		fprintf(ctx->err, "checked out %s@%.12s into %s\n",
			rev.repo.full, vs_id_to_hex(&rev.commit, hex), pos[1]);
	vs_rev_release(&rev);
	return CLI_OK;
}
