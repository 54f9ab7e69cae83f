/*
 * main.c - varve's entry point: global options and the command table.
 */
#include "cli.h"

#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "control.h"
#include "banned.h"

static int cmd_help(struct cmd_ctx *ctx, int argc, char **argv);

static const struct cli_command commands[] = {
	{ "init", cmd_init, "init [DIR]",
	  "Create a store in DIR (default ./.varve).",
	  "options:\n"
	  "  --chunk-avg SIZE   average chunk size in KiB, a power of two\n"
	  "                     (min = avg/4, max = avg*4; default 256)\n"
	  "  --level N          zstd level, 1-19 (default 1)\n",
	  CLI_NO_STORE },
	{ "create", cmd_create, "create dataset|model NAME",
	  "Create a repository datasets/NAME or models/NAME.",
	  "NAME: 1-64 characters of a-z 0-9 . _ -, starting with a letter or "
	  "digit.\n", 0 },
	{ "list", cmd_list, "list [--json]",
	  "List the repositories (with --json, also their branches).", NULL,
	  0 },
	{ "commit", cmd_commit,
	  "commit REPO [--from DIR] [-m MSG] [--branch B] [--meta KEY=VALUE]...",
	  "Snapshot DIR (or the head's staged changes) as the next commit.",
	  "With --from, DIR becomes the next commit of REPO's branch (default\n"
	  "main); without it, the changes staged through the mount's writable\n"
	  "head become it.\n"
	  "Prints the commit id on stdout and a summary on stderr.\n"
	  "Files whose size, times and inode match the previous commit of the\n"
	  "branch are not read again.  Devices, fifos and sockets are skipped.\n"
	  "If nothing changed, no commit is made and the head id is printed.\n"
	  "options:\n"
	  "  --from DIR         the directory to commit (required)\n"
	  "  -m, --message MSG  commit message\n"
	  "  --branch B         branch to commit to (default main)\n"
	  "  --meta KEY=VALUE   free metadata, repeatable\n"
	  "  --allow-empty      commit even if nothing changed\n", 0 },
	{ "log", cmd_log, "log REV [-n N] [--oneline] [--json]",
	  "Show the history of REV, newest first.", NULL, 0 },
	{ "ls", cmd_ls, "ls REV[:PATH] [-l] [-R] [--json]",
	  "List a directory of a snapshot.",
	  "options:\n"
	  "  -l    long format: mode, size, name (symlinks with their target)\n"
	  "  -R    recursive: every path below\n", 0 },
	{ "cat", cmd_cat, "cat REV:PATH", "Write a file of a snapshot to stdout.",
	  NULL, 0 },
	{ "checkout", cmd_checkout,
	  "checkout REV[:PATH] DIR | checkout --lock FILE DIR",
	  "Write a snapshot to DIR, which must be absent or empty.",
	  "Nothing is ever overwritten; on failure DIR is left as it was.\n"
	  "--lock FILE writes every snapshot pinned in FILE into\n"
	  "DIR/datasets/NAME and DIR/models/NAME.\n",
	  0 },
	{ "diff", cmd_diff, "diff REV REV [--json]",
	  "Show the paths added (A), removed (D) and modified (M).", NULL, 0 },
	{ "branch", cmd_branch, "branch REPO [NAME [REV]] | branch -d REPO NAME",
	  "List branches, create or move one, or delete one.", NULL, 0 },
	{ "tag", cmd_tag,
	  "tag REV NAME [-m MSG] | tag --ci (--used|--produced) REV [NAME] "
	  "[-m MSG]",
	  "Name a snapshot.  Tags are immutable.",
	  "--ci tags REV with the CI run it runs in, as --used or --produced\n"
	  "by it; NAME defaults to ci/<provider>/<run-id>[-<attempt>]\n"
	  "(see docs/ci.md).\n", 0 },
	{ "show", cmd_show, "show REV [--json]",
	  "Show a commit: id, parents, author, time, message, metadata, size.",
	  NULL, 0 },
	{ "stats", cmd_stats, "stats [--json]",
	  "Show the store's size: logical, unique and stored bytes, ratios.",
	  "logical_bytes:  every snapshot's files added up\n"
	  "unique_bytes:   after deduplication (distinct chunks + metadata)\n"
	  "stored_bytes:   after compression\n"
	  "dedup_ratio = logical/unique, compression_ratio = unique/stored\n",
	  0 },
	{ "verify", cmd_verify, "verify [--full]",
	  "Check that every ref's commits, trees, files and chunks are there.",
	  "  --full   also read, decompress and re-hash every chunk\n", 0 },
	{ "mount", cmd_mount,
	  "mount MNT [--read-only] [--foreground] [--cache-size SIZE] "
	  "[--allow-other]",
	  "Mount the store: every snapshot a directory, heads writable.",
	  "Returns once the mount is ready; the daemon then serves it and\n"
	  "every other varve command is forwarded to it.  Layout:\n"
	  "  MNT/datasets/NAME/          head of branch main (writable)\n"
	  "  MNT/datasets/NAME@REV/      any revision, read-only\n"
	  "  MNT/models/...              the same for models\n"
	  "  MNT/history/datasets/NAME/{branches,tags,commits}/\n"
	  "options:\n"
	  "  --read-only        heads are read-only too\n"
	  "  --foreground       serve in this process, log to stderr\n"
	  "  --cache-size SIZE  decompressed chunk cache (default 256M)\n"
	  "  --allow-other      let other users see the mount\n"
	  "A mount point left dead by a killed daemon is recovered.\n",
	  CLI_LOCAL },
	{ "umount", cmd_umount, "umount MNT",
	  "Unmount; the daemon flushes and exits.", NULL, CLI_LOCAL },
	{ "status", cmd_status, "status REPO [--branch B] [--json]",
	  "Show the staged changes of a writable head.", NULL, 0 },
	{ "reset", cmd_reset, "reset REPO [--branch B]",
	  "Drop the staged changes of a writable head.", NULL, 0 },
	{ "tags", cmd_tags, "tags REPO [--json]",
	  "List a repository's tags, with the CI run of each.", NULL, 0 },
	{ "runs", cmd_runs, "runs [--json] [--provider P]",
	  "List the CI runs recorded by 'tag --ci', newest first.",
	  "  --provider P   only github, gitlab, jenkins, travis or circleci\n"
	  "  --json         the shape is documented in docs/ci.md\n", 0 },
	{ "run", cmd_run, "run show PROVIDER/RUN_ID [--json]",
	  "Show a CI run and the snapshots it used and produced.",
	  "PROVIDER/RUN_ID is a key 'varve runs' prints, e.g.\n"
	  "github/1234567890-1; without the -ATTEMPT suffix the only attempt\n"
	  "recorded is meant.\n", 0 },
	{ "lineage", cmd_lineage, "lineage REV [--json]",
	  "Show the run that produced REV and what it used, recursively.",
	  "Follows the tags made by 'tag --ci --produced' to their runs and\n"
	  "each run's inputs on to the runs that produced them.\n", 0 },
	{ "pin", cmd_pin, "pin REV... [--lock FILE]",
	  "Pin each REV's commit in FILE (default ./varve.lock).",
	  "One line per repository, 'REPO COMMIT # from REV', sorted by\n"
	  "repository; a repository pinned again has its line updated in\n"
	  "place, every other line is kept.  Commit the file with the code;\n"
	  "'varve checkout --lock FILE DIR' reproduces the pinned snapshots.\n"
	  "  --lock FILE    the lock file (default ./varve.lock)\n", 0 },
	{ "lock", cmd_lock, "lock verify|list [--lock FILE] [--json]",
	  "Check that every pinned snapshot is in the store, or list the pins.",
	  "verify  every pinned commit, its trees, files and chunks are here\n"
	  "        (exit 1 if one is missing)\n"
	  "list    one REPO@COMMIT per line, e.g. for 'varve pull'\n"
	  "  --lock FILE    the lock file (default ./varve.lock)\n", 0 },
	{ "help", cmd_help, "help [COMMAND]", "Show help.", NULL,
	  CLI_NO_STORE },
};

const struct cli_command *cli_find_command(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

static void print_overview(FILE *f)
{
	size_t i;

	fputs("usage: varve [--store DIR] [-q] COMMAND [ARGS]\n\n"
	      "varve: a versioned filesystem for machine-learning data and "
	      "models.\n\ncommands:\n", f);
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
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
		print_overview(ctx->out);
		return CLI_OK;
	}
	c = cli_find_command(argv[1]);
	if (!c)
		return cli_usage(ctx, "unknown command '%s'", argv[1]);
	cli_print_help(ctx->out, c);
	return CLI_OK;
}

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

int main(int argc, char **argv)
{
	static const struct cli_opt opts[] = {
		{ "store", 0, true, 's' },
		{ "quiet", 'q', false, 'q' },
		{ "help", 'h', false, 'h' },
		{ "version", 0, false, 'V' },
		{ 0 },
	};
	extern char **environ;
	struct cmd_ctx ctx = { 0 };
	struct cli_args a;
	char *cwd;
	int i, r;

	/*
	 * Chunk-sized buffers (up to a few MiB) are allocated and freed all
	 * the time by commits and by the mount: keep them on the heap instead
	 * of mapping and zeroing fresh pages for each.
	 */
	mallopt(M_MMAP_THRESHOLD, 64 << 20);
	mallopt(M_TRIM_THRESHOLD, 256 << 20);
	ctx.in = stdin;
	ctx.out = stdout;
	ctx.err = stderr;
	ctx.envp = environ;
	ctx.err_tty = isatty(STDERR_FILENO);
	cwd = getcwd(NULL, 0);
	ctx.cwd = cwd ? cwd : ".";

	/* Global options stop at the first positional: the command. */
	cli_args_init(&a, argc, argv);
	for (;;) {
		int save = a.i;

		i = cli_getopt(&ctx, &a, opts);
		if (i == 0) {
			a.i = save;
			if (!strcmp(argv[a.i], "--"))
				a.i++;
			break;
		}
		if (i == CLI_OPT_ERROR) {
			r = CLI_USAGE;
			goto out;
		}
		if (i == CLI_OPT_END) {
			print_overview(stderr);
			r = CLI_USAGE;
			goto out;
		}
		switch (i) {
		case 's':
			ctx.store_opt = a.arg;
			break;
		case 'q':
			ctx.quiet = true;
			break;
		case 'h':
			print_overview(stdout);
			r = CLI_OK;
			goto out;
		case 'V':
			printf("varve 0.1.0\n");
			r = CLI_OK;
			goto out;
		}
	}
	if (a.i >= argc) {
		print_overview(stderr);
		r = CLI_USAGE;
		goto out;
	}
	/* A mount daemon holding the store runs the command for us. */
	if (ctl_cli_forward(&ctx, argc - a.i, argv + a.i, &r))
		goto out;
	r = cli_run(&ctx, argc - a.i, argv + a.i);
	if (ctx.store && !ctx.store_borrowed)
		vs_store_close(ctx.store);
out:
	free(cwd);
	return r;
}
