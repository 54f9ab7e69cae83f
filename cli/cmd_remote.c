/*
 * cmd_remote.c - remotes: `remote add|list|remove`, push, pull.  The
 * protocol is store/remote/remote.c's; this file parses, shows progress
 * and prints what happened (README.md, docs/remote.md).
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "remote.h"
#include "transport.h"

#include "banned.h"

/* --- remote add | list | remove -------------------------------------------- */

const struct cli_opt cmd_remote_opts[] = {
	{ "endpoint", 0, "URL", 'e', 0,
	  "add: the S3 endpoint, e.g. http://127.0.0.1:9000 (default: AWS)" },
	{ "region", 0, "R", 'r', 0,
	  "add: the S3 region (default: from the environment or profile, "
	  "else us-east-1)" },
	{ "path-style", 0, NULL, 'p', 0,
	  "add: put the bucket in the path, not the host name" },
	{ "json", 0, NULL, 'j', 0, "list: JSON output (see README.md)" },
	{ 0 },
};

static json_t *json_str_or_null(const char *s)
{
	return s ? cli_json_string(s) : json_null();
}

static int remote_list(struct cmd_ctx *ctx, bool json)
{
	struct vs_remote_config *rs;
	struct vs_error e = { 0 };
	struct vs_store *s;
	size_t n, i;
	json_t *arr;
	int r;

	s = cli_store_read(ctx);
	if (!s)
		return CLI_FAIL;
	r = vs_store_remotes(s, &rs, &n, &e);
	if (r < 0)
		return cli_store_error(ctx, r, &e);
	if (json) {
		arr = json_array();
		for (i = 0; i < n; i++) {
			json_t *o = json_object();

			json_object_set_new(o, "name",
					    cli_json_string(rs[i].name));
			json_object_set_new(o, "url",
					    cli_json_string(rs[i].url));
			json_object_set_new(o, "endpoint",
					    json_str_or_null(rs[i].endpoint));
			json_object_set_new(o, "region",
					    json_str_or_null(rs[i].region));
			json_object_set_new(o, "path_style",
					    json_boolean(rs[i].path_style));
			json_array_append_new(arr, o);
		}
		vs_remote_configs_free(rs, n);
		return cli_json_print(ctx, arr);
	}
	for (i = 0; i < n; i++) {
		fprintf(ctx->out, "%s %s", rs[i].name, rs[i].url);
		if (rs[i].endpoint)
			fprintf(ctx->out, " endpoint=%s", rs[i].endpoint);
		if (rs[i].region)
			fprintf(ctx->out, " region=%s", rs[i].region);
		if (rs[i].path_style)
			fputs(" path-style", ctx->out);
		fputc('\n', ctx->out);
	}
	vs_remote_configs_free(rs, n);
	return CLI_OK;
}

int cmd_remote(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct vs_remote_config c = { 0 };
	struct vs_error e = { 0 };
	struct cli_parsed cl;
	struct vs_store *s;
	const char *sub;
	int r;

	if (argc < 2)
		return cli_usage(ctx, "missing subcommand (add, list or "
				 "remove)");
	sub = argv[1];
	if (strcmp(sub, "add") && strcmp(sub, "list") && strcmp(sub, "remove"))
		return cli_usage(ctx, "unknown subcommand '%s' (expected add, "
				 "list or remove)", sub);
	if (cli_parse(ctx, argc - 1, argv + 1, cmd_remote_opts, 2, &cl))
		return CLI_USAGE;
	if (strcmp(sub, "add") && (cl.opt['e'] || cl.opt['r'] || cl.opt['p']))
		return cli_usage(ctx, "--endpoint, --region and --path-style "
				 "are for 'remote add'");
	if (strcmp(sub, "list") && cl.opt['j'])
		return cli_usage(ctx, "--json is for 'remote list'");
	if (!strcmp(sub, "list")) {
		if (cl.nargs)
			return cli_usage(ctx, "unexpected argument '%s'",
					 cl.arg[0]);
		return remote_list(ctx, cl.opt['j'] != NULL);
	}
	if (!strcmp(sub, "remove")) {
		if (cl.nargs != 1)
			return cli_usage(ctx, "expected NAME");
		s = cli_store(ctx);
		if (!s)
			return CLI_FAIL;
		r = vs_remote_remove(s, cl.arg[0], &e);
		if (r < 0)
			return cli_store_error(ctx, r, &e);
		if (!ctx->quiet)
			fprintf(ctx->out, "removed remote %s\n", cl.arg[0]);
		return CLI_OK;
	}
	if (cl.nargs != 2)
		return cli_usage(ctx, "expected NAME URL");
	c.name = (char *)cl.arg[0];
	c.url = (char *)cl.arg[1];
	c.endpoint = (char *)cl.opt['e'];
	c.region = (char *)cl.opt['r'];
	c.path_style = cl.opt['p'] != NULL;
	s = cli_store(ctx);
	if (!s)
		return CLI_FAIL;
	r = vs_remote_add(s, &c, &e);
	if (r < 0)
		return cli_store_error(ctx, r, &e);
	if (!ctx->quiet)
		fprintf(ctx->out, "added remote %s (%s)\n", c.name, c.url);
	return CLI_OK;
}

/* --- push, pull --------------------------------------------------------------- */

struct bar {
	struct cmd_ctx *ctx;
	const char *label;
	bool active;
	struct timespec start, last;
	int width;
};

static double secs_since(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t->tv_sec) +
	       (now.tv_nsec - t->tv_nsec) / 1e9;
}

static void bar_clear(struct bar *b)
{
	if (b->width) {
		fprintf(b->ctx->err, "\r%*s\r", b->width, "");
		fflush(b->ctx->err);
		b->width = 0;
	}
}

/* "push  43% [########            ] 3/7 packs  12.0 MiB/28.0 MiB  5.1 MiB/s"
 * on a terminal, redrawn at most ten times a second. */
static void bar_update(void *arg, const struct vs_remote_progress *p)
{
	struct bar *b = arg;
	char done[32], total[32], rate[32];
	double secs;
	int pct, w;

	if (!b->active)
		return;
	if (p->phase != VS_REMOTE_SEND && p->phase != VS_REMOTE_FETCH) {
		bar_clear(b);
		return;
	}
	if (p->packs_done && p->packs_done < p->packs_total &&
	    secs_since(&b->last) < 0.1)
		return;
	clock_gettime(CLOCK_MONOTONIC, &b->last);
	secs = secs_since(&b->start);
	cli_format_bytes(p->bytes_done, done);
	cli_format_bytes(p->bytes_total, total);
	cli_format_bytes(secs > 0.05 ? (uint64_t)(p->bytes_done / secs) : 0,
			 rate);
	pct = p->bytes_total ? (int)(100.0 * p->bytes_done / p->bytes_total)
			     : 100;
	if (pct > 100)
		pct = 100;
	w = fprintf(b->ctx->err,
		    "\r%s %3d%% [%-20.*s] %llu/%llu packs  %s/%s  %s/s",
		    b->label, pct, pct / 5, "####################",
		    (unsigned long long)p->packs_done,
		    (unsigned long long)p->packs_total, done, total, rate);
	if (w < b->width)
		fprintf(b->ctx->err, "%*s", b->width - w, "");
	b->width = w;
	fflush(b->ctx->err);
}

static void warn_fn(void *arg, const char *msg)
{
	cli_warn(arg, "%s", msg);
}

static json_t *id_json(bool has, const struct vs_id *id)
{
	char hex[VS_ID_HEXLEN + 1];

	return has ? json_string(vs_id_to_hex(id, hex)) : json_null();
}

static void print_result(struct cmd_ctx *ctx, bool pull,
			 const struct vs_remote_config *rc,
			 const struct vs_remote_result *res, bool json,
			 double secs)
{
	char b[32], o[VS_ID_HEXLEN + 1], n[VS_ID_HEXLEN + 1];
	size_t i;

	if (json) {
		json_t *j = json_object(), *refs = json_array();

		json_object_set_new(j, "remote", cli_json_string(rc->name));
		json_object_set_new(j, "url", cli_json_string(rc->url));
		json_object_set_new(j, "packs", json_integer(res->packs));
		json_object_set_new(j, "bytes", json_integer(res->bytes));
		json_object_set_new(j, "chunks", json_integer(res->chunks));
		json_object_set_new(j, "objects", json_integer(res->objects));
		json_object_set_new(j, "runs", json_integer(res->runs));
		json_object_set_new(j, "requests",
				    json_integer(res->requests));
		json_object_set_new(j, "seconds", json_real(secs));
		for (i = 0; i < res->nrefs; i++) {
			const struct vs_remote_ref_result *f = &res->refs[i];
			json_t *r = json_object();

			json_object_set_new(r, "repo",
					    json_string(f->repo.full));
			json_object_set_new(r, "name", cli_json_string(f->name));
			json_object_set_new(r, "type", json_string(
					    f->is_tag ? "tag" : "branch"));
			json_object_set_new(r, "old", id_json(f->has_old,
							      &f->old));
			json_object_set_new(r, "new", id_json(true, &f->new));
			json_object_set_new(r, "status", json_string(
				vs_remote_ref_status_name(f->status)));
			if (f->why)
				json_object_set_new(r, "why",
						    cli_json_string(f->why));
			json_array_append_new(refs, r);
		}
		json_object_set_new(j, "refs", refs);
		cli_json_print(ctx, j);
		return;
	}
	if (ctx->quiet)
		return;
	for (i = 0; i < res->nrefs; i++) {
		const struct vs_remote_ref_result *f = &res->refs[i];

		vs_id_to_hex(&f->old, o);
		vs_id_to_hex(&f->new, n);
		fprintf(ctx->out, "%-9s %s@", vs_remote_ref_status_name(
				f->status), f->repo.full);
		cli_print_path(ctx->out, f->name);
		fprintf(ctx->out, "%s ", f->is_tag ? " (tag)" : "");
		if (f->has_old && strcmp(o, n))
			fprintf(ctx->out, "%.12s..%.12s\n", o, n);
		else
			fprintf(ctx->out, "%.12s\n", n);
	}
	cli_format_bytes(res->bytes, b);
	fprintf(ctx->out,
		"%s %llu pack%s, %s (%llu chunks, %llu objects, %llu run "
		"records) %s %s in %llu requests, %.1f s\n",
		pull ? "fetched" : "sent", (unsigned long long)res->packs,
		res->packs == 1 ? "" : "s", b,
		(unsigned long long)res->chunks,
		(unsigned long long)res->objects,
		(unsigned long long)res->runs, pull ? "from" : "to", rc->name,
		(unsigned long long)res->requests, secs);
}

const struct cli_opt cmd_push_opts[] = {
	{ "all", 0, NULL, 'a', 0, "every repository" },
	{ "force", 0, NULL, 'f', 0,
	  "move remote branches even backwards (never a tag)" },
	{ "json", 0, NULL, 'j', 0, "JSON output (see README.md)" },
	{ 0 },
};

const struct cli_opt cmd_pull_opts[] = {
	{ "all", 0, NULL, 'a', 0, "every repository" },
	{ "json", 0, NULL, 'j', 0, "JSON output (see README.md)" },
	{ 0 },
};

/*
 * push and pull: [REMOTE] [REV|REPO]... --all.  A first argument without
 * a '/' is the remote (every REPO has one).
 */
static int transfer(struct cmd_ctx *ctx, int argc, char **argv, bool pull)
{
	const struct cli_opt *opts = pull ? cmd_pull_opts : cmd_push_opts;
	struct vs_remote_config rc = { 0 };
	struct vs_remote_opts ro = { 0 };
	struct vs_remote_result res;
	struct vs_remote_sel sel = { 0 };
	struct vs_error e = { 0 };
	const char *remote = NULL, **specs;
	struct vs_store *s;
	struct cli_args a;
	struct bar bar = { .ctx = ctx, .label = pull ? "pull" : "push" };
	const char *knob;
	bool json = false;
	int o, r = CLI_OK, n = 0;

	specs = calloc(argc, sizeof(*specs));
	if (!specs)
		abort();
	cli_args_init(&a, argc, argv);
	while ((o = cli_getopt(ctx, &a, opts)) >= 0) {
		switch (o) {
		case 0:
			if (!n && !remote && !strchr(a.arg, '/'))
				remote = a.arg;
			else
				specs[n++] = a.arg;
			break;
		case 'a':
			sel.all = true;
			break;
		case 'f':
			ro.force = true;
			break;
		case 'j':
			json = true;
			break;
		}
	}
	if (o == CLI_OPT_ERROR) {
		r = CLI_USAGE;
		goto out;
	}
	if (!n && !sel.all) {
		r = cli_usage(ctx, "nothing to %s: name a REPO or a REV "
			      "(REPO@BRANCH, REPO@TAG), or --all",
			      pull ? "pull" : "push");
		goto out;
	}
	sel.specs = specs;
	sel.nspecs = (size_t)n;
	s = pull ? cli_store(ctx) : cli_store_read(ctx);
	if (!s) {
		r = CLI_FAIL;
		goto out;
	}
	r = vs_remote_find(s, remote, &rc, &e);
	if (r < 0) {
		r = cli_store_error(ctx, r, &e);
		goto out;
	}
	/* Tests make small packs: VARVE_PACK_TARGET bytes (docs/remote.md). */
	knob = cli_getenv(ctx, "VARVE_PACK_TARGET");
	if (knob)
		ro.pack_target = strtoull(knob, NULL, 10);
	bar.active = ctx->err_tty && !ctx->quiet;
	clock_gettime(CLOCK_MONOTONIC, &bar.start);
	bar.last = bar.start;
	ro.progress = bar_update;
	ro.progress_arg = &bar;
	ro.warn = warn_fn;
	ro.warn_arg = ctx;
	ro.cancel = ctx->cancel;
	r = pull ? vs_pull(s, &rc, &sel, &ro, &res, &e)
		 : vs_push(s, &rc, &sel, &ro, &res, &e);
	bar_clear(&bar);
	if (r == 0 || r == VS_E_CONFLICT)
		print_result(ctx, pull, &rc, &res, json,
			     secs_since(&bar.start));
	vs_remote_result_release(&res);
	r = r < 0 ? cli_store_error(ctx, r, &e) : CLI_OK;
out:
	vs_remote_config_release(&rc);
	free(specs);
	return r;
}

int cmd_push(struct cmd_ctx *ctx, int argc, char **argv)
{
	return transfer(ctx, argc, argv, false);
}

int cmd_pull(struct cmd_ctx *ctx, int argc, char **argv)
{
	return transfer(ctx, argc, argv, true);
}
