/*
 * cmd_ci.c - varve in CI: tag --ci, tags, runs, run show, lineage, pin,
 * checkout --lock, lock verify|list.
 *
 * The run records and lineage live in store/runs.c, the lock file's text
 * in store/lockfile.c and what its pins mean for the store (check,
 * checkout) in store/pins.c; this file parses arguments and prints.  The CI
 * provider's variables are read through cli_getenv(), so a command
 * forwarded to a mount daemon sees the client's environment (and it runs
 * in the client's working directory, so relative paths are the client's).
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "checkout.h"
#include "lockfile.h"
#include "pins.h"
#include "runs.h"

#include "banned.h"

/* --- shared helpers ------------------------------------------------------- */

static const char *ctx_getenv(void *arg, const char *name)
{
	return cli_getenv(arg, name);
}

/* A JSON string, or null for "". */
static json_t *opt_str(const char *s)
{
	return *s ? cli_json_string(s) : json_null();
}

static json_t *snap_json(const struct vs_run_snap *sn)
{
	char hex[VS_ID_HEXLEN + 1];
	json_t *j = json_object();

	json_object_set_new(j, "repo", json_string(sn->repo.full));
	json_object_set_new(j, "commit",
			    json_string(vs_id_to_hex(&sn->commit, hex)));
	json_object_set_new(j, "tag", opt_str(sn->tag));
	json_object_set_new(j, "job", opt_str(sn->job));
	json_object_set_new(j, "job_id", opt_str(sn->job_id));
	return j;
}

/* A run without its inputs and outputs (docs/ci.md, "runs --json"). */
static json_t *run_fields_json(const char *key, const struct vs_run *r)
{
	json_t *j = json_object();
	char when[32];

	cli_format_time(r->time, when);
	json_object_set_new(j, "key", cli_json_string(key));
	json_object_set_new(j, "provider", cli_json_string(r->provider));
	json_object_set_new(j, "run_id", cli_json_string(r->run_id));
	json_object_set_new(j, "attempt", r->attempt ?
			    json_integer((json_int_t)r->attempt) :
			    json_null());
	json_object_set_new(j, "url", opt_str(r->url));
	json_object_set_new(j, "commit", opt_str(r->commit));
	json_object_set_new(j, "ref", opt_str(r->ref));
	json_object_set_new(j, "repository", opt_str(r->repository));
	json_object_set_new(j, "workflow", opt_str(r->workflow));
	json_object_set_new(j, "job", opt_str(r->job));
	json_object_set_new(j, "job_id", opt_str(r->job_id));
	json_object_set_new(j, "time", json_string(when));
	json_object_set_new(j, "timestamp", json_integer((json_int_t)r->time));
	return j;
}

static json_t *run_json(const char *key, const struct vs_run *r)
{
	json_t *j = run_fields_json(key, r), *in = json_array(),
	       *out = json_array();
	size_t i;

	for (i = 0; i < r->ninputs; i++)
		json_array_append_new(in, snap_json(&r->inputs[i]));
	for (i = 0; i < r->noutputs; i++)
		json_array_append_new(out, snap_json(&r->outputs[i]));
	json_object_set_new(j, "inputs", in);
	json_object_set_new(j, "outputs", out);
	return j;
}

/* "value" or "-" for human output. */
static const char *or_dash(const char *s)
{
	return *s ? s : "-";
}

/* --- tag --ci ---------------------------------------------------------------- */

/* `tag` as its usage errors show it once --ci is given. */
static const struct cli_command tag_ci_command = {
	"tag", cmd_tag, cmd_tag_opts,
	{ "--ci (--used|--produced) REV [NAME]" },
	"Tag a snapshot with the CI run that used or produced it.", NULL, 0,
};

int cli_tag_ci(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct vs_run_tag_opts to = { 0 };
	struct vs_error e = { 0 };
	struct vs_rev rev = { 0 };
	struct vs_store *s;
	struct cli_parsed cl;
	struct vs_run run;
	const char *const *pos;
	char author[256], hex[VS_ID_HEXLEN + 1], key[VS_RUN_KEY_MAX];
	char defname[VS_RUN_KEY_MAX + 3];
	bool ci, used, produced, existed;
	int n, r;

	ctx->cmd = &tag_ci_command;
	if (cli_parse(ctx, argc, argv, cmd_tag_opts, 2, &cl))
		return CLI_USAGE;
	ci = cl.opt['c'] != NULL;
	used = cl.opt['u'] != NULL;
	produced = cl.opt['p'] != NULL;
	if (cl.opt['m'])
		to.message = cl.opt['m'];
	n = cl.nargs;
	pos = cl.arg;
	if (!ci)
		return cli_usage(ctx, "--used and --produced need --ci");
	if (used == produced)
		return cli_usage(ctx, "--ci needs one of --used or --produced");
	if (n == 0)
		return cli_usage(ctx, "missing REV");
	if (n == 2 && !vs_ref_name_valid(pos[1]))
		return cli_error(ctx, "invalid tag name '%s' (use letters, "
				 "digits, . _ - /)", pos[1]);
	r = vs_run_from_env(&run, ctx_getenv, ctx, (uint64_t)time(NULL), &e);
	if (r < 0)
		return cli_store_error(ctx, r, &e);
	s = cli_store(ctx);
	if (!s) {
		r = CLI_FAIL;
		goto out;
	}
	r = vs_rev_resolve(s, pos[0], false, &rev, &e);
	if (r < 0) {
		r = cli_store_error(ctx, r, &e);
		goto out;
	}
	cli_author(ctx, author, sizeof(author));
	to.name = n == 2 ? pos[1] : NULL;
	to.author = author;
	to.time = run.time;
	r = vs_run_tag(s, &run, produced ? VS_RUN_PRODUCED : VS_RUN_USED,
		       &rev.repo, &rev.commit, &to, &existed, &e);
	if (r < 0) {
		r = cli_store_error(ctx, r, &e);
		goto out;
	}
	if (!ctx->quiet)
		fprintf(ctx->out, "%s %s@%s -> %.12s (%s by run %s)\n",
			existed ? "already tagged" : "tagged", rev.repo.full,
			to.name ? to.name : vs_run_default_tag(&run, defname),
			vs_id_to_hex(&rev.commit, hex),
			produced ? "produced" : "used", vs_run_key(&run, key));
	r = CLI_OK;
out:
	vs_rev_release(&rev);
	vs_run_release(&run);
	return r;
}

/* --- tags ---------------------------------------------------------------------- */

struct tags_out {
	struct cmd_ctx *ctx;
	const struct vs_repo *repo;
	json_t *json;
};

static int tag_print(const char *name, const struct vs_tag *t, void *arg)
{
	struct tags_out *to = arg;
	const char *run = vs_tag_meta_get(t, VS_RUN_META_RUN);
	const char *role = vs_tag_meta_get(t, VS_RUN_META_ROLE);
	char hex[VS_ID_HEXLEN + 1], when[32];
	size_t i, len;

	vs_id_to_hex(&t->commit, hex);
	cli_format_time(t->time, when);
	if (to->json) {
		json_t *j = json_object(), *meta = json_object();

		json_object_set_new(j, "name", cli_json_string(name));
		json_object_set_new(j, "repo", json_string(to->repo->full));
		json_object_set_new(j, "commit", json_string(hex));
		json_object_set_new(j, "time", json_string(when));
		json_object_set_new(j, "timestamp",
				    json_integer((json_int_t)t->time));
		json_object_set_new(j, "author", cli_json_string(t->author));
		json_object_set_new(j, "message", cli_json_string(t->message));
		for (i = 0; i < t->nmeta; i++)
			json_object_set_new(meta, t->meta[i].key,
					    cli_json_string(t->meta[i].value));
		json_object_set_new(j, "meta", meta);
		json_object_set_new(j, "run", run ? cli_json_string(run) :
						    json_null());
		json_object_set_new(j, "role", role ? cli_json_string(role) :
						     json_null());
		json_array_append_new(to->json, j);
		return 0;
	}
	cli_print_path(to->ctx->out, name);
	fprintf(to->ctx->out, "  %.12s  %s", hex, when);
	if (run && role) {
		fprintf(to->ctx->out, "  %s by ", role);
		cli_print_path(to->ctx->out, run);
	} else if (t->message[0]) {
		/* The message's first line. */
		len = strcspn(t->message, "\n");
		fputs("  ", to->ctx->out);
		for (i = 0; i < len; i++) {
			unsigned char c = t->message[i];

			fputc(c < 0x20 || c == 0x7f ? '?' : c, to->ctx->out);
		}
	}
	fputc('\n', to->ctx->out);
	return 0;
}

const struct cli_opt cmd_tags_opts[] = {
	{ "json", 0, NULL, 'j', 0, "JSON output (see docs/ci.md)" },
	{ 0 },
};

int cmd_tags(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct tags_out to = { .ctx = ctx };
	struct vs_error e = { 0 };
	struct vs_repo repo;
	struct vs_store *s;
	struct cli_parsed cl;
	const char *repo_arg = NULL;
	bool json = false;
	int r;

	if (cli_parse(ctx, argc, argv, cmd_tags_opts, 1, &cl))
		return CLI_USAGE;
	repo_arg = cl.arg[0];
	json = cl.opt['j'] != NULL;
	if (!repo_arg)
		return cli_usage(ctx, "missing REPO");
	if (vs_repo_parse(&repo, repo_arg, strlen(repo_arg), &e) < 0)
		return cli_store_error(ctx, VS_E_INVAL, &e);
	s = cli_store_read(ctx);
	if (!s)
		return CLI_FAIL;
	r = vs_repo_check(s, &repo, &e);
	if (r < 0)
		return cli_store_error(ctx, r, &e);
	to.repo = &repo;
	if (json)
		to.json = json_array();
	r = vs_tag_list(s, &repo, tag_print, &to, &e);
	if (r < 0) {
		json_decref(to.json);
		return cli_store_error(ctx, r, &e);
	}
	return json ? cli_json_print(ctx, to.json) : CLI_OK;
}

/* --- runs, run show -------------------------------------------------------- */

struct run_item {
	char *key;
	struct vs_run run;
};

struct run_list {
	size_t n;
	struct run_item *items;
};

static int run_collect(const char *key, const struct vs_run *run, void *arg)
{
	struct run_list *l = arg;
	struct run_item *it;

	l->items = realloc(l->items, (l->n + 1) * sizeof(*l->items));
	if (!l->items)
		abort();
	it = &l->items[l->n++];
	it->key = strdup(key);
	if (!it->key)
		abort();
	vs_run_copy(&it->run, run);
	return 0;
}

/* Newest first, then by key. */
static int run_cmp(const void *x, const void *y)
{
	const struct run_item *a = x, *b = y;

	if (a->run.time != b->run.time)
		return a->run.time > b->run.time ? -1 : 1;
	return strcmp(a->key, b->key);
}

static void run_list_release(struct run_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		free(l->items[i].key);
		vs_run_release(&l->items[i].run);
	}
	free(l->items);
}

const struct cli_opt cmd_runs_opts[] = {
	{ "json", 0, NULL, 'j', 0, "JSON output (see docs/ci.md)" },
	{ "provider", 0, "P", 'p', 0,
	  "only the runs of provider P: github, gitlab, ... (docs/ci.md "
	  "lists them)" },
	{ 0 },
};

int cmd_runs(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct run_list l = { 0 };
	struct vs_error e = { 0 };
	const char *provider = NULL;
	struct vs_store *s;
	struct cli_parsed cl;
	char when[32];
	bool json = false;
	size_t i;
	int r;

	if (cli_parse(ctx, argc, argv, cmd_runs_opts, 0, &cl))
		return CLI_USAGE;
	json = cl.opt['j'] != NULL;
	provider = cl.opt['p'];
	if (provider && !vs_run_provider_known(provider)) {
		struct vs_buf known = VS_BUF_INIT;
		const char *name;

		for (i = 0; (name = vs_run_provider_name(i)) != NULL; i++)
			vs_buf_addf(&known, "%s%s", i ? ", " : "", name);
		cli_usage(ctx, "unknown provider '%s' (expected one of %s)",
			  provider, known.data);
		vs_buf_release(&known);
		return CLI_USAGE;
	}
	s = cli_store_read(ctx);
	if (!s)
		return CLI_FAIL;
	r = vs_run_list(s, provider, run_collect, &l, &e);
	if (r < 0) {
		run_list_release(&l);
		return cli_store_error(ctx, r, &e);
	}
	if (l.n > 1)
		qsort(l.items, l.n, sizeof(*l.items), run_cmp);
	if (json) {
		json_t *arr = json_array();

		for (i = 0; i < l.n; i++)
			json_array_append_new(arr, run_json(l.items[i].key,
							    &l.items[i].run));
		run_list_release(&l);
		return cli_json_print(ctx, arr);
	}
	for (i = 0; i < l.n; i++) {
		const struct vs_run *run = &l.items[i].run;

		cli_format_time(run->time, when);
		cli_print_path(ctx->out, l.items[i].key);
		fprintf(ctx->out, "  %s  ", when);
		cli_print_path(ctx->out, or_dash(run->ref));
		fprintf(ctx->out, "  %.10s  %zu used, %zu produced  ",
			or_dash(run->commit), run->ninputs, run->noutputs);
		cli_print_path(ctx->out, or_dash(run->url));
		fputc('\n', ctx->out);
	}
	run_list_release(&l);
	return CLI_OK;
}

static void print_field(FILE *f, const char *name, const char *value)
{
	fprintf(f, "%-12s", name);
	cli_print_path(f, or_dash(value));
	fputc('\n', f);
}

static void print_snaps(FILE *f, const char *title,
			const struct vs_run_snap *snaps, size_t n)
{
	char hex[VS_ID_HEXLEN + 1];
	size_t i;

	fprintf(f, "%s:%s\n", title, n ? "" : " none");
	for (i = 0; i < n; i++) {
		fprintf(f, "  %s@%.12s", snaps[i].repo.full,
			vs_id_to_hex(&snaps[i].commit, hex));
		if (snaps[i].tag[0]) {
			fputs("  tag ", f);
			cli_print_path(f, snaps[i].tag);
		}
		if (snaps[i].job[0]) {
			fputs("  job ", f);
			cli_print_path(f, snaps[i].job);
		}
		fputc('\n', f);
	}
}

const struct cli_opt cmd_run_opts[] = {
	{ "json", 0, NULL, 'j', 0, "JSON output (see docs/ci.md)" },
	{ 0 },
};

static int run_show(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct vs_error e = { 0 };
	const char *key_arg = NULL;
	struct vs_store *s;
	struct cli_parsed cl;
	struct vs_run run;
	char *key, when[32], num[32];
	bool json = false;
	int r;
	FILE *f = ctx->out;

	if (cli_parse(ctx, argc, argv, cmd_run_opts, 1, &cl))
		return CLI_USAGE;
	key_arg = cl.arg[0];
	json = cl.opt['j'] != NULL;
	if (!key_arg)
		return cli_usage(ctx, "missing PROVIDER/RUN_ID");
	if (!strchr(key_arg, '/') || strlen(key_arg) >= VS_RUN_KEY_MAX)
		return cli_usage(ctx, "'%s' is not PROVIDER/RUN_ID (e.g. "
				 "github/1234567890-1; see 'varve runs')",
				 key_arg);
	s = cli_store_read(ctx);
	if (!s)
		return CLI_FAIL;
	r = vs_run_find(s, key_arg, &run, &key, &e);
	if (r < 0)
		return cli_store_error(ctx, r, &e);
	if (json) {
		r = cli_json_print(ctx, run_json(key, &run));
		goto out;
	}
	cli_format_time(run.time, when);
	fputs("run         ", f);
	cli_print_path(f, key);
	fputc('\n', f);
	print_field(f, "provider", run.provider);
	print_field(f, "run id", run.run_id);
	snprintf(num, sizeof(num), "%llu", (unsigned long long)run.attempt);
	print_field(f, "attempt", run.attempt ? num : "");
	print_field(f, "url", run.url);
	print_field(f, "commit", run.commit);
	print_field(f, "ref", run.ref);
	print_field(f, "repository", run.repository);
	print_field(f, "workflow", run.workflow);
	print_field(f, "job", run.job);
	print_field(f, "time", when);
	print_snaps(f, "used", run.inputs, run.ninputs);
	print_snaps(f, "produced", run.outputs, run.noutputs);
	r = CLI_OK;
out:
	free(key);
	vs_run_release(&run);
	return r;
}

int cmd_run(struct cmd_ctx *ctx, int argc, char **argv)
{
	if (argc < 2)
		return cli_usage(ctx, "missing subcommand (show)");
	if (!strcmp(argv[1], "show"))
		return run_show(ctx, argc - 1, argv + 1);
	return cli_usage(ctx, "unknown subcommand '%s' (expected show)",
			 argv[1]);
}

/* --- lineage ----------------------------------------------------------------- */

static json_t *lineage_node_json(const struct vs_lineage_node *n);

static json_t *lineage_run_json(const struct vs_lineage_run *lr)
{
	json_t *j, *in = json_array(), *out = json_array();
	size_t i;

	if (lr->missing) {
		j = json_object();
		json_object_set_new(j, "key", cli_json_string(lr->key));
	} else {
		j = run_fields_json(lr->key, &lr->run);
	}
	json_object_set_new(j, "tag", cli_json_string(lr->tag));
	json_object_set_new(j, "missing", json_boolean(lr->missing));
	for (i = 0; i < lr->ninputs; i++)
		json_array_append_new(in, lineage_node_json(&lr->inputs[i]));
	for (i = 0; i < lr->run.noutputs; i++)
		json_array_append_new(out, snap_json(&lr->run.outputs[i]));
	json_object_set_new(j, "inputs", in);
	json_object_set_new(j, "outputs", out);
	return j;
}

static json_t *lineage_node_json(const struct vs_lineage_node *n)
{
	json_t *j = json_object(), *runs = json_array();
	char hex[VS_ID_HEXLEN + 1];
	size_t i;

	json_object_set_new(j, "repo", json_string(n->repo.full));
	json_object_set_new(j, "commit",
			    json_string(vs_id_to_hex(&n->commit, hex)));
	json_object_set_new(j, "tag", opt_str(n->tag));
	json_object_set_new(j, "repeated", json_boolean(n->repeated));
	for (i = 0; i < n->nruns; i++)
		json_array_append_new(runs, lineage_run_json(&n->runs[i]));
	json_object_set_new(j, "produced_by", runs);
	return j;
}

static void lineage_print(FILE *f, const struct vs_lineage_node *n,
			  int depth)
{
	char hex[VS_ID_HEXLEN + 1];
	size_t i, k;

	for (i = 0; i < n->nruns; i++) {
		const struct vs_lineage_run *lr = &n->runs[i];

		fprintf(f, "%*sproduced by ", depth * 4 + 2, "");
		cli_print_path(f, lr->key);
		if (lr->missing) {
			fputs("  (no record of this run in the store)\n", f);
			continue;
		}
		if (lr->run.url[0]) {
			fputs("  ", f);
			cli_print_path(f, lr->run.url);
		}
		if (lr->run.commit[0] || lr->run.ref[0]) {
			fprintf(f, "  (code %.10s", or_dash(lr->run.commit));
			if (lr->run.ref[0]) {
				fputs(" on ", f);
				cli_print_path(f, lr->run.ref);
			}
			fputc(')', f);
		}
		fputc('\n', f);
		if (!lr->ninputs)
			fprintf(f, "%*sused no recorded snapshot\n",
				depth * 4 + 6, "");
		for (k = 0; k < lr->ninputs; k++) {
			const struct vs_lineage_node *in = &lr->inputs[k];

			fprintf(f, "%*sused %s@%.12s", depth * 4 + 6, "",
				in->repo.full, vs_id_to_hex(&in->commit, hex));
			if (in->tag[0]) {
				fputs("  tag ", f);
				cli_print_path(f, in->tag);
			}
			fputs(in->repeated ? "  (see above)\n" : "\n", f);
			lineage_print(f, in, depth + 1);
		}
	}
}

const struct cli_opt cmd_lineage_opts[] = {
	{ "json", 0, NULL, 'j', 0, "JSON output (see docs/ci.md)" },
	{ 0 },
};

int cmd_lineage(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct vs_lineage_node root;
	struct vs_error e = { 0 };
	struct vs_rev rev = { 0 };
	const char *rev_arg = NULL;
	struct vs_store *s;
	struct cli_parsed cl;
	char hex[VS_ID_HEXLEN + 1];
	bool json = false;
	int r;

	if (cli_parse(ctx, argc, argv, cmd_lineage_opts, 1, &cl))
		return CLI_USAGE;
	rev_arg = cl.arg[0];
	json = cl.opt['j'] != NULL;
	if (!rev_arg)
		return cli_usage(ctx, "missing REV");
	s = cli_store_read(ctx);
	if (!s)
		return CLI_FAIL;
	r = vs_rev_resolve(s, rev_arg, false, &rev, &e);
	if (r < 0) {
		vs_rev_release(&rev);
		return cli_store_error(ctx, r, &e);
	}
	r = vs_lineage_build(s, &rev.repo, &rev.commit, &root, &e);
	if (r < 0) {
		r = cli_store_error(ctx, r, &e);
		goto out;
	}
	if (json) {
		r = cli_json_print(ctx, lineage_node_json(&root));
		goto out;
	}
	fprintf(ctx->out, "%s@%.12s\n", rev.repo.full,
		vs_id_to_hex(&rev.commit, hex));
	if (!root.nruns)
		fputs("  produced by no recorded run (tag it with 'varve tag "
		      "--ci --produced' in CI)\n", ctx->out);
	lineage_print(ctx->out, &root, 0);
	r = CLI_OK;
out:
	vs_lineage_release(&root);
	vs_rev_release(&rev);
	return r;
}

/* --- pin, lock, checkout --lock --------------------------------------------- */

const struct cli_opt cmd_pin_opts[] = {
	{ "lock", 0, "FILE", 'l', 0, "the lock file (default ./varve.lock)" },
	{ 0 },
};

int cmd_pin(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct vs_lockfile lock;
	struct vs_error e = { 0 };
	const char *lock_arg = VS_LOCKFILE_DEFAULT;
	struct vs_rev *revs = NULL;
	struct vs_store *s;
	struct cli_args a;
	const char **specs;
	char hex[VS_ID_HEXLEN + 1];
	bool changed = false, exists;
	int n = 0, i, j, o, r = CLI_OK;

	specs = calloc(argc, sizeof(*specs));
	revs = calloc(argc, sizeof(*revs));
	if (!specs || !revs)
		abort();
	vs_lockfile_init(&lock);
	cli_args_init(&a, argc, argv);
	while ((o = cli_getopt(ctx, &a, cmd_pin_opts)) >= 0) {
		if (o == 'l')
			lock_arg = a.arg;
		else
			specs[n++] = a.arg;
	}
	if (o == CLI_OPT_ERROR) {
		r = CLI_USAGE;
		goto out;
	}
	if (n == 0) {
		r = cli_usage(ctx, "missing REV");
		goto out;
	}
	if (!*lock_arg) {
		r = cli_usage(ctx, "--lock needs a file name");
		goto out;
	}
	s = cli_store_read(ctx);
	if (!s) {
		r = CLI_FAIL;
		goto out;
	}
	/* Resolve everything before touching the file. */
	for (i = 0; i < n; i++) {
		r = vs_rev_resolve(s, specs[i], false, &revs[i], &e);
		if (r < 0) {
			r = cli_store_error(ctx, r, &e);
			goto out;
		}
		for (j = 0; j < i; j++)
			if (!strcmp(revs[j].repo.full, revs[i].repo.full)) {
				r = cli_usage(ctx, "'%s' and '%s' both name "
					      "'%s' (pin one revision per "
					      "repository)", specs[j],
					      specs[i], revs[i].repo.full);
				goto out;
			}
	}
	r = vs_lockfile_read(lock_arg, &lock, &exists, &e);
	if (r < 0) {
		r = cli_store_error(ctx, r, &e);
		goto out;
	}
	for (i = 0; i < n; i++) {
		bool c = vs_lockfile_pin(&lock, &revs[i].repo, &revs[i].commit,
					 specs[i]);

		changed |= c;
		if (ctx->quiet)
			continue;
		fprintf(ctx->out, "%s %s at %.12s in ",
			c ? "pinned" : "already pinned", revs[i].repo.full,
			vs_id_to_hex(&revs[i].commit, hex));
		cli_print_path(ctx->out, lock_arg);
		fputc('\n', ctx->out);
	}
	if (changed || !exists) {
		r = vs_lockfile_write(lock_arg, &lock, &e);
		if (r < 0) {
			r = cli_store_error(ctx, r, &e);
			goto out;
		}
	}
	r = CLI_OK;
out:
	for (i = 0; i < n; i++)
		vs_rev_release(&revs[i]);
	free(revs);
	free(specs);
	vs_lockfile_release(&lock);
	return r;
}

static int lock_verify(struct cmd_ctx *ctx, struct vs_store *s,
		       const struct vs_lockfile *lock, bool json)
{
	struct vs_pins_status ck;
	struct vs_error e = { 0 };
	char hex[VS_ID_HEXLEN + 1], why[96] = "";
	json_t *arr = json ? json_array() : NULL;
	size_t i, bad = 0, total = 0;
	int r;

	for (i = 0; i < lock->nlines; i++) {
		const struct vs_lockfile_line *p = &lock->lines[i];
		bool ok;

		if (!p->is_pin)
			continue;
		total++;
		r = vs_pins_check(s, p, &ck, &e);
		if (r < 0) {
			json_decref(arr);
			return cli_store_error(ctx, r, &e);
		}
		ok = !ck.repo_missing && !ck.commit_missing && !ck.missing;
		bad += !ok;
		if (ck.commit_missing)
			snprintf(why, sizeof(why), "commit not in the store");
		else if (ck.missing)
			snprintf(why, sizeof(why), "%llu objects or chunks "
				 "missing", (unsigned long long)ck.missing);
		else if (ck.repo_missing)
			snprintf(why, sizeof(why), "repository not in the "
				 "store");
		vs_id_to_hex(&p->commit, hex);
		if (arr) {
			json_t *j = json_object();

			json_object_set_new(j, "repo",
					    json_string(p->repo.full));
			json_object_set_new(j, "commit", json_string(hex));
			json_object_set_new(j, "present", json_boolean(ok));
			json_object_set_new(j, "problem", ok ? json_null() :
							 json_string(why));
			json_array_append_new(arr, j);
		} else if (!ok || !ctx->quiet) {
			fprintf(ctx->out, "%-8s %s %.12s%s%s%s\n",
				ok ? "ok" : "missing", p->repo.full, hex,
				ok ? "" : " (", ok ? "" : why, ok ? "" : ")");
		}
	}
	if (arr)
		cli_json_print(ctx, arr);
	if (bad)
		return cli_error(ctx, "%zu of %zu pinned snapshots are not "
				 "complete in the store (pull them with "
				 "'varve pull')", bad, total);
	if (!arr && !ctx->quiet)
		fprintf(ctx->out, "all %zu pinned snapshots are present\n",
			total);
	return CLI_OK;
}

const struct cli_opt cmd_lock_opts[] = {
	{ "lock", 0, "FILE", 'l', 0, "the lock file (default ./varve.lock)" },
	{ "json", 0, NULL, 'j', 0, "JSON output (see docs/ci.md)" },
	{ 0 },
};

int cmd_lock(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct vs_lockfile lock;
	struct vs_error e = { 0 };
	const char *lock_arg = VS_LOCKFILE_DEFAULT, *sub;
	struct vs_store *s;
	struct cli_parsed cl;
	char hex[VS_ID_HEXLEN + 1];
	bool json = false;
	size_t i;
	int r;

	if (argc < 2 || argv[1][0] == '-')
		return cli_usage(ctx, "missing subcommand (verify or list)");
	sub = argv[1];
	if (strcmp(sub, "verify") && strcmp(sub, "list"))
		return cli_usage(ctx, "unknown subcommand '%s' (expected "
				 "verify or list)", sub);
	if (cli_parse(ctx, argc - 1, argv + 1, cmd_lock_opts, 0, &cl))
		return CLI_USAGE;
	if (cl.opt['l'])
		lock_arg = cl.opt['l'];
	json = cl.opt['j'] != NULL;
	if (!*lock_arg)
		return cli_usage(ctx, "--lock needs a file name");
	r = vs_lockfile_read(lock_arg, &lock, NULL, &e);
	if (r < 0)
		return cli_store_error(ctx, r, &e);
	if (!strcmp(sub, "list")) {
		json_t *arr = json ? json_array() : NULL;

		for (i = 0; i < lock.nlines; i++) {
			const struct vs_lockfile_line *p = &lock.lines[i];

			if (!p->is_pin)
				continue;
			vs_id_to_hex(&p->commit, hex);
			if (arr) {
				json_t *j = json_object();

				json_object_set_new(j, "repo",
						    json_string(p->repo.full));
				json_object_set_new(j, "commit",
						    json_string(hex));
				json_array_append_new(arr, j);
			} else {
				fprintf(ctx->out, "%s@%s\n", p->repo.full, hex);
			}
		}
		vs_lockfile_release(&lock);
		return arr ? cli_json_print(ctx, arr) : CLI_OK;
	}
	s = cli_store_read(ctx);
	if (!s) {
		vs_lockfile_release(&lock);
		return CLI_FAIL;
	}
	r = lock_verify(ctx, s, &lock, json);
	vs_lockfile_release(&lock);
	return r;
}

static void lock_checkout_progress(void *arg,
				   const struct vs_checkout_progress *p)
{
	cli_progress_update(arg, p->files_done, p->files_total, p->bytes_done,
			    p->bytes_total);
}

int cli_checkout_lock(struct cmd_ctx *ctx, const char *lock_arg,
		      const char *dir)
{
	struct vs_checkout_opts co = { 0 };
	struct vs_lockfile lock;
	struct vs_error e = { 0 };
	struct cli_progress bar;
	struct vs_store *s;
	int r;

	if (!*lock_arg)
		return cli_usage(ctx, "--lock needs a file name");
	if (!*dir)
		return cli_usage(ctx, "DIR is empty");
	r = vs_lockfile_read(lock_arg, &lock, NULL, &e);
	if (r < 0)
		return cli_store_error(ctx, r, &e);
	s = cli_store_read(ctx);
	if (!s) {
		vs_lockfile_release(&lock);
		return CLI_FAIL;
	}
	cli_progress_init(&bar, ctx, "checkout");
	co.progress = lock_checkout_progress;
	co.cancel = ctx->cancel;
	co.progress_arg = &bar;
	r = vs_pins_checkout(s, &lock, dir, &co, &e);
	cli_progress_done(&bar);
	if (r < 0) {
		vs_lockfile_release(&lock);
		return cli_store_error(ctx, r, &e);
	}
	if (!ctx->quiet) {
		fprintf(ctx->err, "checked out %zu pinned snapshots from ",
			vs_lockfile_count(&lock));
		cli_print_path(ctx->err, lock_arg);
		fputs(" into ", ctx->err);
		cli_print_path(ctx->err, dir);
		fputc('\n', ctx->err);
	}
	vs_lockfile_release(&lock);
	return CLI_OK;
}
