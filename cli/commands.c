/*
 * commands.c - the command table, running a command (cli_run), and help.
 *
 * Both the varve binary (main.c) and the mount daemon (control.c, for a
 * forwarded command) run commands through cli_run(), so the table lives in
 * the CLI library.
 */
#include "cli.h"

#include <string.h>

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

void cli_print_overview(FILE *f)
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
		cli_print_overview(ctx->out);
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
