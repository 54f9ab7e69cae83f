/*
 * cmd_inspect.c - reading history and snapshots: log, show, ls, cat, diff.
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

#include "diff.h"

#include "banned.h"

/* Resolves spec, printing the error.  0 or CLI_FAIL. */
static int resolve(struct cmd_ctx *ctx, struct vs_store *s, const char *spec,
		   bool allow_path, struct vs_rev *rev)
{
	struct vs_error e = { 0 };
	int r = vs_rev_resolve(s, spec, allow_path, rev, &e);

	if (r < 0) {
		vs_rev_release(rev);
		return cli_store_error(ctx, r, &e);
	}
	return 0;
}

static json_t *commit_json(const struct vs_id *id, const struct vs_commit *c)
{
	char hex[VS_ID_HEXLEN + 1], when[32];
	json_t *j = json_object(), *parents = json_array(),
	       *meta = json_object();
	size_t i;

	json_object_set_new(j, "id", json_string(vs_id_to_hex(id, hex)));
	for (i = 0; i < c->nparents; i++)
		json_array_append_new(parents, json_string(vs_id_to_hex(
						       &c->parents[i], hex)));
	json_object_set_new(j, "parents", parents);
	json_object_set_new(j, "tree", json_string(vs_id_to_hex(&c->tree, hex)));
	cli_format_time(c->time, when);
	json_object_set_new(j, "time", json_string(when));
	json_object_set_new(j, "timestamp", json_integer(c->time));
	json_object_set_new(j, "author", cli_json_string(c->author));
	json_object_set_new(j, "message", cli_json_string(c->message));
	for (i = 0; i < c->nmeta; i++)
		json_object_set_new(meta, c->meta[i].key,
				    cli_json_string(c->meta[i].value));
	json_object_set_new(j, "meta", meta);
	return j;
}

static void commit_text(FILE *f, const struct vs_id *id,
			const struct vs_commit *c)
{
	char hex[VS_ID_HEXLEN + 1], when[32];
	const char *m, *nl;
	size_t i;

	cli_format_time(c->time, when);
	fprintf(f, "commit %s\n", vs_id_to_hex(id, hex));
	for (i = 0; i < c->nparents; i++)
		fprintf(f, "Parent: %s\n", vs_id_to_hex(&c->parents[i], hex));
	fprintf(f, "Author: %s\nDate:   %s\n", c->author, when);
	for (i = 0; i < c->nmeta; i++)
		fprintf(f, "Meta:   %s=%s\n", c->meta[i].key, c->meta[i].value);
	fputc('\n', f);
	for (m = c->message; *m; m = nl + 1) {
		nl = strchr(m, '\n');
		if (!nl)
			nl = m + strlen(m);
		fprintf(f, "    %.*s\n", (int)(nl - m), m);
		if (!*nl)
			break;
	}
	if (*c->message)
		fputc('\n', f);
}

const struct cli_opt cmd_log_opts[] = {
	{ "max-count", 'n', "N", 'n', CLI_OPT_SHORT, "show at most N commits" },
	{ "oneline", 0, NULL, 'o', 0,
	  "one line per commit: the short id and the "
	  "message's first line" },
	{ "json", 0, NULL, 'j', 0, "JSON output (see README.md)" },
	{ 0 },
};

int cmd_log(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct vs_error e = { 0 };
	struct vs_rev rev;
	struct vs_store *s;
	struct cli_parsed cl;
	struct vs_id id;
	const char *spec = NULL;
	json_t *list = NULL;
	bool json = false, oneline = false;
	long max = -1, n = 0;
	int r = 0;

	if (cli_parse(ctx, argc, argv, cmd_log_opts, 1, &cl))
		return CLI_USAGE;
	spec = cl.arg[0];
	json = cl.opt['j'] != NULL;
	oneline = cl.opt['o'] != NULL;
	if (cl.opt['n']) {
		max = cli_parse_count(cl.opt['n']);
		if (max < 0)
			return cli_usage(ctx, "-n needs a count, got '%s'",
					 cl.opt['n']);
	}
	if (!spec)
		return cli_usage(ctx, "missing REV");
	s = cli_store_read(ctx);
	if (!s)
		return CLI_FAIL;
	if (resolve(ctx, s, spec, false, &rev))
		return CLI_FAIL;
	if (json)
		list = json_array();
	id = rev.commit;
	for (; max < 0 || n < max; n++) {
		struct vs_commit c;
		char hex[VS_ID_HEXLEN + 1];

		r = vs_store_read_commit(s, &id, &c, &e);
		if (r < 0)
			break;
		if (json) {
			json_array_append_new(list, commit_json(&id, &c));
		} else if (oneline) {
			fprintf(ctx->out, "%.12s %.*s\n",
				vs_id_to_hex(&id, hex),
				(int)strcspn(c.message, "\n"), c.message);
		} else {
			commit_text(ctx->out, &id, &c);
		}
		if (c.nparents == 0) {
			vs_commit_release(&c);
			break;
		}
		id = c.parents[0];
		vs_commit_release(&c);
	}
	vs_rev_release(&rev);
	if (r < 0) {
		json_decref(list);
		return cli_store_error(ctx, r, &e);
	}
	if (json)
		return cli_json_print(ctx, list);
	return CLI_OK;
}

const struct cli_opt cmd_show_opts[] = {
	{ "json", 0, NULL, 'j', 0,
	  "JSON output: a 'log --json' entry with repo and "
	  "size (see README.md)" },
	{ 0 },
};

int cmd_show(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct vs_error e = { 0 };
	struct vs_commit c;
	struct vs_node root;
	struct vs_rev rev;
	struct vs_store *s;
	struct cli_parsed cl;
	const char *spec = NULL;
	bool json = false;
	char size[32];
	int r;

	if (cli_parse(ctx, argc, argv, cmd_show_opts, 1, &cl))
		return CLI_USAGE;
	spec = cl.arg[0];
	json = cl.opt['j'] != NULL;
	if (!spec)
		return cli_usage(ctx, "missing REV");
	s = cli_store_read(ctx);
	if (!s)
		return CLI_FAIL;
	if (resolve(ctx, s, spec, false, &rev))
		return CLI_FAIL;
	r = vs_store_read_commit(s, &rev.commit, &c, &e);
	if (r == 0)
		r = vs_commit_root(s, &rev.commit, &root, &e);
	if (r < 0) {
		vs_rev_release(&rev);
		return cli_store_error(ctx, r, &e);
	}
	if (json) {
		json_t *j = commit_json(&rev.commit, &c);

		json_object_set_new(j, "repo", json_string(rev.repo.full));
		json_object_set_new(j, "size", json_integer(root.size));
		vs_commit_release(&c);
		vs_rev_release(&rev);
		return cli_json_print(ctx, j);
	}
	fprintf(ctx->out, "repo:   %s\n", rev.repo.full);
	cli_format_bytes(root.size, size);
	fprintf(ctx->out, "size:   %s (%llu bytes)\n", size,
		(unsigned long long)root.size);
	commit_text(ctx->out, &rev.commit, &c);
	vs_commit_release(&c);
	vs_rev_release(&rev);
	return CLI_OK;
}

/* --- ls ------------------------------------------------------------------ */

struct ls {
	struct cmd_ctx *ctx;
	struct vs_store *s;
	bool lng, recursive;
	json_t *json;
	struct vs_buf path;
	struct vs_error *err;
};

static const char *type_name(enum vs_entry_type t)
{
	switch (t) {
	case VS_ENTRY_EXEC:
		return "exec";
	case VS_ENTRY_DIR:
		return "dir";
	case VS_ENTRY_SYMLINK:
		return "symlink";
	default:
		return "file";
	}
}

static const char *mode_string(enum vs_entry_type t)
{
	switch (t) {
	case VS_ENTRY_EXEC:
		return "-rwxr-xr-x";
	case VS_ENTRY_DIR:
		return "drwxr-xr-x";
	case VS_ENTRY_SYMLINK:
		return "lrwxrwxrwx";
	default:
		return "-rw-r--r--";
	}
}

/* A symlink's target (owned by the caller) or NULL on error. */
static char *link_target(struct vs_store *s, const struct vs_id *id,
			 struct vs_error *err)
{
	struct vs_buf b = VS_BUF_INIT;

	if (vs_file_read_all(s, id, &b, err) < 0) {
		vs_buf_release(&b);
		return NULL;
	}
	return vs_buf_detach(&b, NULL);
}

static int ls_entry(struct ls *l, const char *name, enum vs_entry_type type,
		    uint64_t size, const struct vs_id *id)
{
	const char *shown = l->recursive ? l->path.data : name;
	char *target = NULL;
	char hex[VS_ID_HEXLEN + 1];

	if (type == VS_ENTRY_SYMLINK && (l->lng || l->json)) {
		target = link_target(l->s, id, l->err);
		if (!target)
			return l->err->code ? l->err->code : VS_E_CORRUPT;
	}
	if (l->json) {
		json_t *j = json_object();

		json_object_set_new(j, "path", cli_json_string(l->path.data));
		json_object_set_new(j, "name", cli_json_string(name));
		json_object_set_new(j, "type", json_string(type_name(type)));
		json_object_set_new(j, "size", json_integer(size));
		json_object_set_new(j, "id", json_string(vs_id_to_hex(id, hex)));
		if (target)
			json_object_set_new(j, "target",
					    cli_json_string(target));
		json_array_append_new(l->json, j);
	} else {
		FILE *f = l->ctx->out;

		if (l->lng)
			fprintf(f, "%s %12llu ", mode_string(type),
				(unsigned long long)size);
		cli_print_path(f, shown);
		if (type == VS_ENTRY_DIR)
			fputc('/', f);
		if (target) {
			fputs(" -> ", f);
			cli_print_path(f, target);
		}
		fputc('\n', f);
	}
	free(target);
	return 0;
}

static int ls_tree(struct ls *l, const struct vs_id *id)
{
	size_t base = l->path.len, i;
	struct vs_tree t;
	int r;

	r = vs_store_read_tree(l->s, id, &t, l->err);
	if (r < 0)
		return r;
	for (i = 0; i < t.count && r == 0; i++) {
		const struct vs_tree_entry *e = &t.entries[i];

		if (base)
			vs_buf_addch(&l->path, '/');
		vs_buf_add(&l->path, e->name, e->name_len);
		r = ls_entry(l, e->name, e->type, e->size, &e->id);
		if (r == 0 && l->recursive && e->type == VS_ENTRY_DIR)
			r = ls_tree(l, &e->id);
		vs_buf_setlen(&l->path, base);
	}
	vs_tree_release(&t);
	return r;
}

const struct cli_opt cmd_ls_opts[] = {
	{ "long", 'l', NULL, 'l', CLI_OPT_SHORT,
	  "long format: mode, size, name (symlinks with "
	  "their target)" },
	{ "recursive", 'R', NULL, 'R', CLI_OPT_SHORT,
	  "recursive: every path below" },
	{ "json", 0, NULL, 'j', 0, "JSON output (see README.md)" },
	{ 0 },
};

int cmd_ls(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct ls l = { .ctx = ctx, .path = VS_BUF_INIT };
	struct vs_error e = { 0 };
	struct vs_node root, node;
	struct vs_rev rev;
	struct cli_parsed cl;
	const char *spec = NULL;
	bool json = false;
	int r;

	if (cli_parse(ctx, argc, argv, cmd_ls_opts, 1, &cl))
		return CLI_USAGE;
	spec = cl.arg[0];
	json = cl.opt['j'] != NULL;
	l.lng = cl.opt['l'] != NULL;
	l.recursive = cl.opt['R'] != NULL;
	if (!spec)
		return cli_usage(ctx, "missing REV[:PATH]");
	l.s = cli_store_read(ctx);
	if (!l.s)
		return CLI_FAIL;
	if (resolve(ctx, l.s, spec, true, &rev))
		return CLI_FAIL;
	l.err = &e;
	r = vs_commit_root(l.s, &rev.commit, &root, &e);
	if (r == 0)
		r = vs_path_lookup(l.s, &root.id, root.size, rev.path, &node,
				   &e);
	if (json)
		l.json = json_array();
	if (r == 0 && node.type == VS_ENTRY_DIR) {
		r = ls_tree(&l, &node.id);
	} else if (r == 0) {
		const char *slash = strrchr(rev.path, '/');

		vs_buf_addstr(&l.path, rev.path);
		r = ls_entry(&l, slash ? slash + 1 : rev.path, node.type,
			     node.size, &node.id);
	}
	vs_rev_release(&rev);
	vs_buf_release(&l.path);
	if (r < 0) {
		json_decref(l.json);
		return cli_store_error(ctx, r, &e);
	}
	if (json)
		return cli_json_print(ctx, l.json);
	return CLI_OK;
}

const struct cli_opt cmd_cat_opts[] = { { 0 } };

int cmd_cat(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct vs_buf chunk = VS_BUF_INIT;
	struct vs_error e = { 0 };
	struct vs_node root, node;
	struct vs_store *s;
	struct vs_rev rev;
	struct vs_file f;
	struct cli_parsed cl;
	const char *spec = NULL;
	size_t i;
	int r;

	if (cli_parse(ctx, argc, argv, cmd_cat_opts, 1, &cl))
		return CLI_USAGE;
	spec = cl.arg[0];
	if (!spec)
		return cli_usage(ctx, "missing REV:PATH");
	if (!strchr(spec, ':'))
		return cli_usage(ctx, "'%s' names no file (use REV:PATH)", spec);
	s = cli_store_read(ctx);
	if (!s)
		return CLI_FAIL;
	if (resolve(ctx, s, spec, true, &rev))
		return CLI_FAIL;
	r = vs_commit_root(s, &rev.commit, &root, &e);
	if (r == 0)
		r = vs_path_lookup(s, &root.id, root.size, rev.path, &node, &e);
	if (r == 0 && node.type == VS_ENTRY_DIR)
		r = vs_error_set(&e, VS_E_INVAL, "'%s' is a directory (use "
				 "'varve ls')", spec);
	if (r == 0 && node.type == VS_ENTRY_SYMLINK)
		r = vs_error_set(&e, VS_E_INVAL, "'%s' is a symlink (see "
				 "'varve ls -l')", spec);
	if (r == 0)
		r = vs_store_read_file(s, &node.id, &f, &e);
	vs_rev_release(&rev);
	if (r < 0)
		return cli_store_error(ctx, r, &e);
	if (f.inline_data)
		fwrite(f.inline_data, 1, f.size, ctx->out);
	/*
	 * Each chunk is verified before a byte of it is written.  A reader
	 * that has gone (a closed pipe, or the client of a forwarded cat)
	 * ends the loop: the rest would be read for nothing.
	 */
	for (i = 0; i < f.nchunks && r == 0 && !ferror(ctx->out); i++) {
		r = vs_check_cancel(ctx->cancel, &e);
		if (r == 0)
			r = vs_chunk_read(s, &f.chunks[i].id, &chunk, &e);
		if (r == 0 && chunk.len != f.chunks[i].len)
			r = vs_error_set(&e, VS_E_CORRUPT, "a chunk of '%s' has "
					 "the wrong length", spec);
		if (r == 0)
			fwrite(chunk.data, 1, chunk.len, ctx->out);
	}
	vs_file_release(&f);
	vs_buf_release(&chunk);
	if (r < 0)
		return cli_store_error(ctx, r, &e);
	return CLI_OK;
}

/* --- diff ------------------------------------------------------------------ */

struct diff_out {
	struct cmd_ctx *ctx;
	json_t *json;
};

static int diff_line(enum vs_diff_status st, const char *path, void *arg)
{
	struct diff_out *d = arg;

	if (d->json) {
		json_t *j = json_object();

		json_object_set_new(j, "status",
				    json_string(st == VS_DIFF_ADDED ? "added" :
						st == VS_DIFF_REMOVED ?
						"removed" : "modified"));
		json_object_set_new(j, "path", cli_json_string(path));
		json_array_append_new(d->json, j);
		return 0;
	}
	fprintf(d->ctx->out, "%c ", (char)st);
	cli_print_path(d->ctx->out, path);
	fputc('\n', d->ctx->out);
	return 0;
}

const struct cli_opt cmd_diff_opts[] = {
	{ "json", 0, NULL, 'j', 0, "JSON output (see README.md)" },
	{ 0 },
};

int cmd_diff(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct diff_out d = { .ctx = ctx };
	struct vs_error e = { 0 };
	struct vs_node na, nb;
	struct vs_rev ra, rb;
	struct vs_store *s;
	struct cli_parsed cl;
	const char *const *pos;
	bool json = false;
	int n, r;

	if (cli_parse(ctx, argc, argv, cmd_diff_opts, 2, &cl))
		return CLI_USAGE;
	json = cl.opt['j'] != NULL;
	n = cl.nargs;
	pos = cl.arg;
	if (n != 2)
		return cli_usage(ctx, "expected two revisions");
	s = cli_store_read(ctx);
	if (!s)
		return CLI_FAIL;
	if (resolve(ctx, s, pos[0], false, &ra))
		return CLI_FAIL;
	if (resolve(ctx, s, pos[1], false, &rb)) {
		vs_rev_release(&ra);
		return CLI_FAIL;
	}
	r = vs_commit_root(s, &ra.commit, &na, &e);
	if (r == 0)
		r = vs_commit_root(s, &rb.commit, &nb, &e);
	if (json)
		d.json = json_array();
	if (r == 0)
		r = vs_diff_trees(s, &na.id, &nb.id, diff_line, &d, &e);
	vs_rev_release(&ra);
	vs_rev_release(&rb);
	if (r < 0) {
		json_decref(d.json);
		return cli_store_error(ctx, r, &e);
	}
	if (json)
		return cli_json_print(ctx, d.json);
	return CLI_OK;
}
