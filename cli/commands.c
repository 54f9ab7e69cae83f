/*
 * commands.c - the command table, running a command (cli_run), and help.
 *
 * Both the varve binary (main.c) and the mount daemon (control.c, for a
 * forwarded command) run commands through cli_run(), so the table lives in
 * the CLI library.  Every help text is generated from a command's row and
 * from the options table its function parses with (cli.h): the usage line,
 * `varve help CMD` and `varve CMD --help` cannot name an option the parser
 * does not know, nor leave one out.
 */
#include "cli.h"

#include <string.h>

#include "banned.h"

static int cmd_help(struct cmd_ctx *ctx, int argc, char **argv);

static const struct cli_opt no_opts[] = { { 0 } };

static const struct cli_command commands[] = {
	{ "init", cmd_init, cmd_init_opts, { "[DIR]" },
	  "Create a store in DIR (default ./.varve).",
	  "Without DIR, the store is made where --store says, else in\n"
	  "./.varve.\n",
	  CLI_NO_STORE },
	{ "create", cmd_create, cmd_create_opts, { "dataset|model NAME" },
	  "Create a repository datasets/NAME or models/NAME.",
	  "NAME: 1-64 characters of a-z 0-9 . _ -, starting with a letter or "
	  "digit.\n", 0 },
	{ "list", cmd_list, cmd_list_opts, { NULL },
	  "List the repositories (with --json, also their branches).", NULL,
	  0 },
	{ "commit", cmd_commit, cmd_commit_opts, { "REPO" },
	  "Snapshot DIR (or the head's staged changes) as the next commit.",
	  "With --from, DIR becomes the next commit of REPO's branch; without\n"
	  "it, the changes staged through the mount's writable head of that\n"
	  "branch become it (see 'varve status').\n"
	  "Prints the commit id on stdout and a summary on stderr.\n"
	  "With --from, files whose size, times and inode match the previous\n"
	  "commit of the branch are not read again, and devices, fifos and\n"
	  "sockets are skipped.  If nothing changed, no commit is made\n"
	  "(unless --allow-empty) and the head id is printed.\n", 0 },
	{ "log", cmd_log, cmd_log_opts, { "REV" },
	  "Show the history of REV, newest first.",
	  "Follows the first parent of each commit.\n", 0 },
	{ "ls", cmd_ls, cmd_ls_opts, { "REV[:PATH]" },
	  "List a directory of a snapshot.",
	  "A PATH that names a file lists that file.\n", 0 },
	{ "cat", cmd_cat, cmd_cat_opts, { "REV:PATH" },
	  "Write a file of a snapshot to stdout.", NULL, 0 },
	{ "checkout", cmd_checkout, cmd_checkout_opts,
	  { "REV[:PATH] DIR", "--lock FILE DIR" },
	  "Write a snapshot to DIR, which must be absent or empty.",
	  "Nothing is ever overwritten; on failure DIR is left as it was.\n",
	  0 },
	{ "diff", cmd_diff, cmd_diff_opts, { "REV REV" },
	  "Show the paths added (A), removed (D) and modified (M).", NULL, 0 },
	{ "branch", cmd_branch, cmd_branch_opts,
	  { "REPO [NAME [REV]]", "-d REPO NAME" },
	  "List branches, create or move one, or delete one.",
	  "REPO alone lists its branches.  With NAME, a new branch starts at\n"
	  "main's head (an existing one is not moved); with NAME REV, the\n"
	  "branch is made or moved to REV, a revision of REPO.\n", 0 },
	{ "tag", cmd_tag, cmd_tag_opts,
	  { "REV NAME", "--ci (--used|--produced) REV [NAME]" },
	  "Name a snapshot.  Tags are immutable.",
	  "With --ci, NAME defaults to ci/<provider>/<run-id>[-<attempt>]\n"
	  "(see docs/ci.md).\n", 0 },
	{ "show", cmd_show, cmd_show_opts, { "REV" },
	  "Show a commit: id, parents, author, time, message, metadata, size.",
	  NULL, 0 },
	{ "stats", cmd_stats, cmd_stats_opts, { NULL },
	  "Show the store's size: logical, unique and stored bytes, ratios.",
	  "logical_bytes:  every snapshot's files added up\n"
	  "unique_bytes:   after deduplication (distinct chunks + metadata)\n"
	  "stored_bytes:   after compression\n"
	  "dedup_ratio = logical/unique, compression_ratio = unique/stored\n",
	  0 },
	{ "verify", cmd_verify, cmd_verify_opts, { NULL },
	  "Check that every ref's commits, trees, files and chunks are there.",
	  NULL, 0 },
	{ "mount", cmd_mount, cmd_mount_opts, { "MNT" },
	  "Mount the store: every snapshot a directory, heads writable.",
	  "Returns once the mount is ready (with --foreground, once it is\n"
	  "unmounted); the daemon then serves it and every other varve\n"
	  "command is forwarded to it.  Layout:\n"
	  "  MNT/datasets/NAME/          head of branch main (writable)\n"
	  "  MNT/datasets/NAME@REV/      any revision, read-only\n"
	  "  MNT/models/...              the same for models\n"
	  "  MNT/history/datasets/NAME/{branches,tags,commits}/\n"
	  "A mount point left dead by a killed daemon is recovered.\n",
	  CLI_LOCAL },
	{ "umount", cmd_umount, cmd_umount_opts, { "MNT" },
	  "Unmount; the daemon flushes and exits.", NULL, CLI_LOCAL },
	{ "status", cmd_status, cmd_status_opts, { "REPO" },
	  "Show the staged changes of a writable head.",
	  "One line per path: A (added), D (deleted) or M (modified).\n", 0 },
	{ "reset", cmd_reset, cmd_reset_opts, { "REPO" },
	  "Drop the staged changes of a writable head.", NULL, 0 },
	{ "tags", cmd_tags, cmd_tags_opts, { "REPO" },
	  "List a repository's tags, with the CI run of each.", NULL, 0 },
	{ "runs", cmd_runs, cmd_runs_opts, { NULL },
	  "List the CI runs recorded by 'tag --ci', newest first.", NULL, 0 },
	{ "run", cmd_run, cmd_run_opts, { "show PROVIDER/RUN_ID" },
	  "Show a CI run and the snapshots it used and produced.",
	  "PROVIDER/RUN_ID is a key 'varve runs' prints, e.g.\n"
	  "github/1234567890-1; without the -ATTEMPT suffix the only attempt\n"
	  "recorded is meant.\n", 0 },
	{ "lineage", cmd_lineage, cmd_lineage_opts, { "REV" },
	  "Show the run that produced REV and what it used, recursively.",
	  "Follows the tags made by 'tag --ci --produced' to their runs and\n"
	  "each run's inputs on to the runs that produced them.\n", 0 },
	{ "pin", cmd_pin, cmd_pin_opts, { "REV..." },
	  "Pin each REV's commit in FILE (default ./varve.lock).",
	  "One line per repository, 'REPO COMMIT # from REV', sorted by\n"
	  "repository; a repository pinned again has its line updated in\n"
	  "place, every other line is kept.  Commit the file with the code;\n"
	  "'varve checkout --lock FILE DIR' reproduces the pinned snapshots.\n",
	  0 },
	{ "lock", cmd_lock, cmd_lock_opts, { "verify|list" },
	  "Check that every pinned snapshot is in the store, or list the pins.",
	  "verify  every pinned commit, its trees, files and chunks are here\n"
	  "        (exit 1 if one is missing)\n"
	  "list    one REPO@COMMIT per line, e.g. for 'varve pull'\n", 0 },
	{ "remote", cmd_remote, cmd_remote_opts,
	  { "add NAME URL [--endpoint URL] [--region R] [--path-style]",
	    "list [--json]", "remove NAME" },
	  "Add, list or remove the remotes pushed to and pulled from.",
	  "URL is s3://BUCKET[/PREFIX] or file:///PATH.  Only the name, URL,\n"
	  "endpoint, region and path style are kept (in the store's config);\n"
	  "S3 credentials come from the environment (AWS_ACCESS_KEY_ID, ...)\n"
	  "or the AWS_PROFILE of ~/.aws, and are never stored.\n", 0 },
	{ "push", cmd_push, cmd_push_opts, { "[REMOTE] [REV|REPO]..." },
	  "Send snapshots, their branches and tags, and run records.",
	  "REMOTE defaults to the only remote, else origin.  REPO sends its\n"
	  "branches and tags, REPO@NAME one branch or tag, with their history.\n"
	  "Only what the remote lacks is sent; an interrupted push run again\n"
	  "sends only the rest.  A remote branch moves forward only, and only\n"
	  "from where it was when the push read it (else: \"the remote branch\n"
	  "moved; pull first\"); a remote tag never changes.\n", 0 },
	{ "pull", cmd_pull, cmd_pull_opts, { "[REMOTE] [REV|REPO]..." },
	  "Fetch snapshots, their branches and tags, and run records.",
	  "REMOTE and REV|REPO as for push.  Everything fetched is checked\n"
	  "against its SHA-256 id before it is stored, and refs move only\n"
	  "once all of it is there.  A local branch moves forward only: one\n"
	  "with commits the remote's lacks is left as it is and reported; a\n"
	  "local tag never changes.\n", 0 },
	{ "help", cmd_help, no_opts, { "[COMMAND]" }, "Show help.", NULL,
	  CLI_NO_STORE },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

const struct cli_command *cli_find_command(const char *name)
{
	size_t i;

	for (i = 0; i < NCOMMANDS; i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

const struct cli_command *cli_commands(size_t *n)
{
	*n = NCOMMANDS;
	return commands;
}

/* --- help ----------------------------------------------------------------- */

/* Options' help starts after the longest spec up to this long. */
#define OPT_SPEC_MAX 22
/* Help lines are wrapped to fit this many columns. */
#define HELP_COLUMNS 79

/* True if form names o ("-d REPO NAME", "--ci (--used|--produced) REV"). */
static bool form_names(const char *form, const struct cli_opt *o)
{
	static const char sep[] = " []()|";
	const char *p = form;
	size_t n;

	while (*p) {
		p += strspn(p, sep);
		n = strcspn(p, sep);
		if (n == 2 && p[0] == '-' && o->short_name &&
		    p[1] == o->short_name)
			return true;
		if (n > 2 && p[0] == '-' && p[1] == '-' && o->long_name &&
		    strlen(o->long_name) == n - 2 &&
		    !strncmp(p + 2, o->long_name, n - 2))
			return true;
		p += n;
	}
	return false;
}

static bool forms_name(const struct cli_command *cmd, const struct cli_opt *o)
{
	int i;

	for (i = 0; i < CLI_MAX_FORMS && cmd->forms[i]; i++)
		if (form_names(cmd->forms[i], o))
			return true;
	return false;
}

void cli_print_usage(FILE *f, const struct cli_command *cmd)
{
	const struct cli_opt *o;
	int i = 0;

	fputs("usage: varve ", f);
	do {
		if (i)
			fputs(" | ", f);
		fputs(cmd->name, f);
		if (cmd->forms[i])
			fprintf(f, " %s", cmd->forms[i]);
		for (o = cmd->opts; o->id; o++) {
			if (forms_name(cmd, o))
				continue;
			if ((o->flags & CLI_OPT_SHORT) || !o->long_name)
				fprintf(f, " [-%c", o->short_name);
			else
				fprintf(f, " [--%s", o->long_name);
			if (o->arg)
				fprintf(f, " %s", o->arg);
			fputs(o->flags & CLI_OPT_REPEAT ? "]..." : "]", f);
		}
	} while (++i < CLI_MAX_FORMS && cmd->forms[i]);
	fputc('\n', f);
}

/*
 * "-m, --message MSG", or "--from DIR" ("    --from DIR" when other rows
 * have a short name, to line the long names up) into buf; its length.
 */
static int opt_spec(const struct cli_opt *o, bool shorts, char *buf,
		    size_t size)
{
	char s[3] = { '-', o->short_name, '\0' };

	return snprintf(buf, size, "%s%s%s%s%s%s",
			o->short_name ? s : shorts ? "    " : "",
			o->short_name && o->long_name ? ", " : "",
			o->long_name ? "--" : "",
			o->long_name ? o->long_name : "",
			o->arg ? " " : "", o->arg ? o->arg : "");
}

/* Prints text wrapped at its spaces, each line after the first from col. */
static void print_wrapped(FILE *f, const char *text, int col)
{
	size_t room = HELP_COLUMNS - col, n;

	do {
		n = strlen(text);
		if (n > room) {
			for (n = room; n > 0 && text[n] != ' '; n--)
				;
			if (n == 0)
				n = strcspn(text, " ");
		}
		fprintf(f, "%.*s\n", (int)n, text);
		text += n;
		text += strspn(text, " ");
		if (*text)
			fprintf(f, "%*s", col, "");
	} while (*text);
}

static void print_opts(FILE *f, const struct cli_opt *opts)
{
	struct vs_buf help = VS_BUF_INIT;
	const struct cli_opt *o;
	bool shorts = false;
	char spec[128];
	int width = 0, n;

	for (o = opts; o->id; o++)
		shorts |= o->short_name != 0;
	for (o = opts; o->id; o++) {
		n = opt_spec(o, shorts, spec, sizeof(spec));
		if (n > width && n <= OPT_SPEC_MAX)
			width = n;
	}
	fputs("\noptions:\n", f);
	for (o = opts; o->id; o++) {
		n = opt_spec(o, shorts, spec, sizeof(spec));
		fprintf(f, "  %s", spec);
		if (n > width)
			fprintf(f, "\n  %*s", width, "");
		else
			fprintf(f, "%*s", width - n, "");
		fputs("  ", f);
		vs_buf_setlen(&help, 0);
		vs_buf_addf(&help, "%s%s", o->help ? o->help : "",
			    o->flags & CLI_OPT_REPEAT ? " (repeatable)" : "");
		print_wrapped(f, help.data, width + 4);
	}
	vs_buf_release(&help);
}

void cli_print_help(FILE *f, const struct cli_command *cmd)
{
	cli_print_usage(f, cmd);
	fprintf(f, "\n%s\n", cmd->summary);
	if (cmd->help)
		fprintf(f, "\n%s", cmd->help);
	if (cmd->opts->id)
		print_opts(f, cmd->opts);
}

void cli_print_overview(FILE *f)
{
	size_t i;

	fputs("usage: varve [--store DIR] [-q] COMMAND [ARGS]\n\n"
	      "varve: a versioned filesystem for machine-learning data and "
	      "models.\n\ncommands:\n", f);
	for (i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %-10s %s\n", commands[i].name,
			commands[i].summary);
	fputs("\nREPO is datasets/NAME or models/NAME.  REV is REPO (its "
	      "branch main) or\nREPO@X with X a branch, a tag, or a commit id "
	      "(7+ hex digits), optionally\nfollowed by ~N (N first parents "
	      "back).  A :PATH after a REV names a path.\n\n"
	      "The store is --store DIR, else $VARVE_STORE, else the nearest "
	      ".varve/ upward.\n"
	      "A command waits up to $VARVE_LOCK_WAIT seconds (default 30) "
	      "for another that\nholds the store.\n"
	      "See 'varve help COMMAND' or 'varve COMMAND --help'.\n", f);
}

static int cmd_help(struct cmd_ctx *ctx, int argc, char **argv)
{
	const struct cli_command *c;

	if (argc < 2) {
		cli_print_overview(ctx->out);
		return CLI_OK;
	}
	c = cli_find_command(argv[1]);
	if (!c)
		return cli_usage(ctx, "unknown command '%s'", argv[1]);
	cli_print_help(ctx->out, c);
	return CLI_OK;
}

/* --- running a command ---------------------------------------------------- */

static bool wants_help(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			return false;
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return true;
	}
	return false;
}

int cli_run(struct cmd_ctx *ctx, int argc, char **argv)
{
	const struct cli_command *c;
	int r;

	c = cli_find_command(argv[0]);
	if (!c)
		return cli_usage(ctx, "unknown command '%s'", argv[0]);
	ctx->cmd = c;
	if (wants_help(argc, argv)) {
		cli_print_help(ctx->out, c);
		return CLI_OK;
	}
	r = c->fn(ctx, argc, argv);
	if (fflush(ctx->out) != 0 && r == CLI_OK)
		r = cli_error(ctx, "cannot write the output");
	return r;
}
