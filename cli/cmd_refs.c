/*
 * cmd_refs.c - naming snapshots: branch, tag.
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "banned.h"

static int print_branch(const char *name, const struct vs_id *id, void *arg)
{
	struct cmd_ctx *ctx = arg;
	char hex[VS_ID_HEXLEN + 1];

	fprintf(ctx->out, "%s %s\n", name, vs_id_to_hex(id, hex));
	return 0;
}

const struct cli_opt cmd_branch_opts[] = {
	{ "delete", 'd', NULL, 'd', CLI_OPT_SHORT,
	  "delete branch NAME (main cannot be deleted)" },
	{ 0 },
};

int cmd_branch(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct vs_error e = { 0 };
	struct vs_repo repo;
	struct vs_store *s;
	struct cli_parsed cl;
	struct vs_rev rev;
	struct vs_id head;
	const char *const *pos;
	char hex[VS_ID_HEXLEN + 1];
	bool del = false;
	int n, r;

	if (cli_parse(ctx, argc, argv, cmd_branch_opts, 3, &cl))
		return CLI_USAGE;
	del = cl.opt['d'] != NULL;
	n = cl.nargs;
	pos = cl.arg;
	if (n == 0)
		return cli_usage(ctx, "missing REPO");
	if (del && n != 2)
		return cli_usage(ctx, "-d needs REPO and NAME");
	if (vs_repo_parse(&repo, pos[0], strlen(pos[0]), &e) < 0)
		return cli_store_error(ctx, VS_E_INVAL, &e);
	if (n >= 2 && !vs_ref_name_valid(pos[1]))
		return cli_error(ctx, "invalid branch name '%s' (use letters, "
				 "digits, . _ - /)", pos[1]);
	s = cli_store(ctx);
	if (!s)
		return CLI_FAIL;
	r = vs_repo_check(s, &repo, &e);
	if (r < 0)
		return cli_store_error(ctx, r, &e);

	if (n == 1) {
		r = vs_branch_list(s, &repo, print_branch, ctx, &e);
		return r < 0 ? cli_store_error(ctx, r, &e) : CLI_OK;
	}
	if (del) {
		if (!strcmp(pos[1], VS_DEFAULT_BRANCH))
			return cli_error(ctx, "cannot delete the default "
					 "branch '%s'", VS_DEFAULT_BRANCH);
		r = vs_branch_delete(s, &repo, pos[1], &e);
		if (r < 0)
			return cli_store_error(ctx, r, &e);
		if (!ctx->quiet)
			fprintf(ctx->out, "deleted branch %s of %s\n", pos[1],
				repo.full);
		return CLI_OK;
	}
	if (n == 2) {
		/* Create from main; an existing branch is not moved. */
		if (vs_branch_get(s, &repo, pos[1], &head, NULL) == 0)
			return cli_error(ctx, "branch '%s' already exists in "
					 "'%s' (give a REV to move it)",
					 pos[1], repo.full);
		r = vs_rev_resolve(s, repo.full, false, &rev, &e);
	} else {
		r = vs_rev_resolve(s, pos[2], false, &rev, &e);
		if (r == 0 && strcmp(rev.repo.full, repo.full))
			r = vs_error_set(&e, VS_E_INVAL, "'%s' is not a "
					 "revision of '%s'", pos[2],
					 repo.full);
	}
	if (r == 0)
		r = vs_branch_update(s, &repo, pos[1], NULL, &rev.commit, NULL,
				     VS_REF_FORCE, &e);
	if (r < 0) {
		vs_rev_release(&rev);
		return cli_store_error(ctx, r, &e);
	}
	if (!ctx->quiet)
		fprintf(ctx->out, "branch %s of %s at %.12s\n", pos[1],
			repo.full, vs_id_to_hex(&rev.commit, hex));
	vs_rev_release(&rev);
	return CLI_OK;
}

/* Shared with `tag --ci` (cli_tag_ci in cmd_ci.c). */
const struct cli_opt cmd_tag_opts[] = {
	{ "message", 'm', "MSG", 'm', CLI_OPT_SHORT, "tag message" },
	{ "ci", 0, NULL, 'c', 0,
	  "tag REV with the CI run this command runs in" },
	{ "used", 0, NULL, 'u', 0, "with --ci: the run used REV" },
	{ "produced", 0, NULL, 'p', 0, "with --ci: the run produced REV" },
	{ 0 },
};

int cmd_tag(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct vs_error e = { 0 };
	struct vs_store *s;
	struct cli_parsed cl;
	struct vs_rev rev;
	struct vs_tag tag;
	const char *const *pos, *msg = "";
	char author[256], hex[VS_ID_HEXLEN + 1];
	int n, r;

	if (cli_parse(ctx, argc, argv, cmd_tag_opts, CLI_MAX_ARGS, &cl))
		return CLI_USAGE;
	/* Tagging for a CI run: cmd_ci.c parses it all again. */
	if (cl.opt['c'] || cl.opt['u'] || cl.opt['p'])
		return cli_tag_ci(ctx, argc, argv);
	if (cl.nargs > 2)
		return cli_usage(ctx, "unexpected argument '%s'", cl.arg[2]);
	if (cl.opt['m'])
		msg = cl.opt['m'];
	n = cl.nargs;
	pos = cl.arg;
	if (n != 2)
		return cli_usage(ctx, "expected REV and NAME");
	if (!vs_ref_name_valid(pos[1]))
		return cli_error(ctx, "invalid tag name '%s' (use letters, "
				 "digits, . _ - /)", pos[1]);
	s = cli_store(ctx);
	if (!s)
		return CLI_FAIL;
	r = vs_rev_resolve(s, pos[0], false, &rev, &e);
	if (r < 0) {
		vs_rev_release(&rev);
		return cli_store_error(ctx, r, &e);
	}
	vs_tag_init(&tag);
	tag.commit = rev.commit;
	tag.time = (uint64_t)time(NULL);
	cli_author(ctx, author, sizeof(author));
	vs_tag_set_author(&tag, author);
	vs_tag_set_message(&tag, msg);
	r = vs_tag_create(s, &rev.repo, pos[1], &tag, &e);
	vs_tag_release(&tag);
	if (r < 0) {
		vs_rev_release(&rev);
		return cli_store_error(ctx, r, &e);
	}
	if (!ctx->quiet)
		fprintf(ctx->out, "tagged %s@%s -> %.12s\n", rev.repo.full,
			pos[1], vs_id_to_hex(&rev.commit, hex));
	vs_rev_release(&rev);
	return CLI_OK;
}
