/*
 * cli.h - the varve command line: the context every command runs in and
 * the helpers commands share.
 *
 * How to add a command:
 *  1. Write `int cmd_<name>(struct cmd_ctx *ctx, int argc, char **argv)` in
 *     the cli/cmd_<group>.c file it belongs to; argv[0] is the command name.
 *     Just above it, define `const struct cli_opt cmd_<name>_opts[]`: one
 *     row per option (long and short name, the value's name, id, flags and
 *     a help line), ended by { 0 }.  Parse with exactly that table, through
 *     cli_parse() (or cli_getopt() when an option repeats or arguments are
 *     unbounded).  Print only to ctx->out / ctx->err; open the store with
 *     cli_store() or cli_store_read(); return CLI_OK, CLI_FAIL or
 *     cli_usage(ctx, ...).
 *  2. Declare both below and add a row to the commands[] table in
 *     cli/commands.c: name, function, options table, the forms of its
 *     arguments, a one-line summary, more help or NULL, flags.  The usage
 *     line and `varve help <name>` (= `varve <name> --help`) are generated
 *     from that row and the options table, so an option is described only
 *     in its own row: the help text never lists options by hand.
 *  3. Document it in README.md, with its --json shape if it has one.
 *  4. Add integration tests in tests/integration/, bad input included.
 *     test_help.sh already checks that the help lists each option and the
 *     command accepts it; test_control's help test checks the tables.
 *
 * A command never writes to the process's stdout/stderr or reads global
 * state such as getenv(): the daemon runs the very same function for a
 * forwarded command with the client's streams and environment.
 */
#ifndef VARVE_CLI_H
#define VARVE_CLI_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "error.h"
#include "hash.h"
#include "object.h"
#include "refs.h"
#include "rev.h"
#include "store.h"

enum cli_status {
	CLI_OK = 0,
	CLI_FAIL = 1,
	CLI_USAGE = 2,
};

struct cmd_ctx {
	FILE *in, *out, *err;
	const char *cwd;
	const char *store_opt;		/* --store DIR, or NULL */
	char **envp;			/* the command's environment */
	bool quiet;			/* -q: errors only */
	bool err_tty;			/* progress bars allowed on err */
	struct vs_store *store;		/* opened by cli_store() */
	bool store_borrowed;		/* owned by a daemon: do not close */
	const struct cli_command *cmd;	/* the command being run */
	/*
	 * Set by a daemon once the client of a forwarded command has gone
	 * (interrupted, killed): long commands stop as the client would
	 * have.  NULL when the command runs in its own process.
	 */
	const atomic_bool *cancel;
};

/* --- options -------------------------------------------------------------- */

enum cli_opt_flags {
	CLI_OPT_REPEAT = 1 << 0,	/* may be given again: "[--x V]..." */
	CLI_OPT_SHORT = 1 << 1,		/* usage shows -x, not --long */
};

/*
 * One option of a command: what the parser accepts and what the help says
 * about it, in one row.  A table of them ends with { 0 }.
 */
struct cli_opt {
	const char *long_name;	/* without "--", or NULL */
	char short_name;	/* or 0 */
	const char *arg;	/* the value's name ("DIR"); NULL: a flag */
	int id;			/* returned by cli_getopt, > 0 */
	unsigned flags;		/* enum cli_opt_flags */
	const char *help;	/* what it does, wrapped when printed */
};

/* --- commands ------------------------------------------------------------- */

#define CLI_MAX_FORMS 3

/*
 * A command: a row of the table in cli/commands.c.  Its usage line is built
 * from forms[] and opts: each form (the arguments of one way to call it,
 * e.g. "REV[:PATH] DIR", or "--lock FILE DIR" for an option that makes a
 * form of its own) followed by every option that no form names, as
 * "[--opt ARG]".  Its help adds the summary, the help text and one line per
 * option.
 */
struct cli_command {
	const char *name;
	int (*fn)(struct cmd_ctx *ctx, int argc, char **argv);
	const struct cli_opt *opts;	/* the table fn parses with */
	const char *forms[CLI_MAX_FORMS];	/* { NULL }: no arguments */
	const char *summary;		/* one line, for 'varve help' */
	const char *help;		/* more, or NULL; no option details */
	unsigned flags;			/* enum cli_command_flags */
};

enum cli_command_flags {
	CLI_NO_STORE = 1 << 0,	/* runs without a store (init, help) */
	CLI_LOCAL = 1 << 1,	/* never forwarded to a daemon (mount) */
};

/* Looks a variable up in ctx->envp.  NULL if unset. */
const char *cli_getenv(const struct cmd_ctx *ctx, const char *name);

/* Prints "varve: error: <fmt>" to ctx->err; returns CLI_FAIL. */
int cli_error(struct cmd_ctx *ctx, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Prints the vs_error message (or the code's text); returns CLI_FAIL. */
int cli_store_error(struct cmd_ctx *ctx, int code, const struct vs_error *e);
/* Prints "varve: warning: <fmt>" unless quiet. */
void cli_warn(struct cmd_ctx *ctx, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Prints "varve: error: <fmt>" and the usage line; returns CLI_USAGE. */
int cli_usage(struct cmd_ctx *ctx, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * How long the command waits for the store ($VARVE_LOCK_WAIT seconds, else
 * 30), with a notice to ctx->err after a second.  VS_E_INVAL for a value
 * that is not a number of seconds.
 */
int cli_lock_wait(struct cmd_ctx *ctx, struct vs_store_wait *w,
		  struct vs_error *e);
/* Opens the store for the command (once); NULL after printing an error. */
struct vs_store *cli_store(struct cmd_ctx *ctx);
/*
 * cli_store() for a command that only reads the store: it opens it with
 * VS_STORE_READ_ONLY, so readers run side by side and write nothing.
 */
struct vs_store *cli_store_read(struct cmd_ctx *ctx);
/*
 * vs_store_locate() for this command: --store, then its $VARVE_STORE, then
 * the nearest .varve upward from its working directory.
 */
int cli_store_locate(struct cmd_ctx *ctx, char **dir, struct vs_error *e);
/*
 * Where cli_store() finds (or found) the store, without opening it: a
 * malloc'ed path (caller frees), or NULL if there is none.
 */
char *cli_store_dir(struct cmd_ctx *ctx);

/* --- option parsing (reentrant; the daemon runs commands in threads) ---- */

struct cli_args {
	int argc;
	char **argv;
	int i;			/* next argv index */
	const char *cluster;	/* rest of a -abc cluster */
	bool only_positional;	/* after "--" */
	const char *arg;	/* the option's argument or the positional */
};

void cli_args_init(struct cli_args *a, int argc, char **argv);
#define CLI_OPT_END (-1)
#define CLI_OPT_ERROR (-2)

/*
 * Next option id, 0 for a positional argument (in a->arg), CLI_OPT_END at
 * the end, or CLI_OPT_ERROR after printing a usage error for an unknown
 * option or a missing value.
 */
int cli_getopt(struct cmd_ctx *ctx, struct cli_args *a,
	       const struct cli_opt *opts);

/*
 * The whole command line of a command whose options are on/off flags or
 * take one value, with at most max arguments (max <= CLI_MAX_ARGS):
 * p->opt[id] is NULL for an option not given, else its value (the last one
 * given) or "" for a flag; p->arg[] holds the arguments in order, p->nargs
 * counts them.  Option ids must be below CLI_MAX_OPT_ID.  Returns 0, or
 * CLI_USAGE after printing a usage error (an argument too many, an unknown
 * option, a missing value).
 */
#define CLI_MAX_ARGS 4
#define CLI_MAX_OPT_ID 128

struct cli_parsed {
	const char *opt[CLI_MAX_OPT_ID];
	const char *arg[CLI_MAX_ARGS];
	int nargs;
};

int cli_parse(struct cmd_ctx *ctx, int argc, char **argv,
	      const struct cli_opt *opts, int max, struct cli_parsed *p);

/*
 * cli_parse for commands that take only on/off options and no argument:
 * sets on[i] for each opts[i] given.  0 or CLI_USAGE.
 */
int cli_parse_flags(struct cmd_ctx *ctx, int argc, char **argv,
		    const struct cli_opt *opts, bool *on);

/* --- output helpers ---------------------------------------------------- */

/* "2026-11-25T08:00:00Z" */
void cli_format_time(uint64_t t, char out[32]);
/* "1.5 GiB" */
void cli_format_bytes(uint64_t n, char out[32]);
/* A JSON string for bytes that may not be UTF-8: invalid bytes as \xNN. */
json_t *cli_json_string(const char *s);
/* Prints root (stolen) as indented JSON and a newline; CLI_OK. */
int cli_json_print(struct cmd_ctx *ctx, json_t *root);
/* Prints s, escaping control bytes, for human output of names. */
void cli_print_path(FILE *f, const char *s);
/* The author recorded in commits and tags: $VARVE_AUTHOR, else user@host. */
void cli_author(struct cmd_ctx *ctx, char *out, size_t size);
/* Parses a positive integer argument; -1 on error. */
long cli_parse_count(const char *s);

/* --- progress ------------------------------------------------------------ */

struct cli_progress {
	struct cmd_ctx *ctx;
	bool active;
	const char *label;
	uint64_t start_ns;
	int last_width;
};

void cli_progress_init(struct cli_progress *p, struct cmd_ctx *ctx,
		       const char *label);
/* Redraws "label  files a/b  bytes x/y  rate" when on a TTY and not -q. */
void cli_progress_update(struct cli_progress *p, uint64_t files_done,
			 uint64_t files_total, uint64_t bytes_done,
			 uint64_t bytes_total);
/* Clears the line. */
void cli_progress_done(struct cli_progress *p);

/* --- the commands (cmd_*.c) and their options ----------------------------- */

extern const struct cli_opt cmd_init_opts[];
int cmd_init(struct cmd_ctx *ctx, int argc, char **argv);
extern const struct cli_opt cmd_create_opts[];
int cmd_create(struct cmd_ctx *ctx, int argc, char **argv);
extern const struct cli_opt cmd_list_opts[];
int cmd_list(struct cmd_ctx *ctx, int argc, char **argv);
extern const struct cli_opt cmd_stats_opts[];
int cmd_stats(struct cmd_ctx *ctx, int argc, char **argv);
extern const struct cli_opt cmd_verify_opts[];
int cmd_verify(struct cmd_ctx *ctx, int argc, char **argv);
extern const struct cli_opt cmd_commit_opts[];
int cmd_commit(struct cmd_ctx *ctx, int argc, char **argv);
extern const struct cli_opt cmd_checkout_opts[];
int cmd_checkout(struct cmd_ctx *ctx, int argc, char **argv);
extern const struct cli_opt cmd_log_opts[];
int cmd_log(struct cmd_ctx *ctx, int argc, char **argv);
extern const struct cli_opt cmd_show_opts[];
int cmd_show(struct cmd_ctx *ctx, int argc, char **argv);
extern const struct cli_opt cmd_ls_opts[];
int cmd_ls(struct cmd_ctx *ctx, int argc, char **argv);
extern const struct cli_opt cmd_cat_opts[];
int cmd_cat(struct cmd_ctx *ctx, int argc, char **argv);
extern const struct cli_opt cmd_diff_opts[];
int cmd_diff(struct cmd_ctx *ctx, int argc, char **argv);
extern const struct cli_opt cmd_branch_opts[];
int cmd_branch(struct cmd_ctx *ctx, int argc, char **argv);
/* Both forms of tag: plain, and --ci (cli_tag_ci). */
extern const struct cli_opt cmd_tag_opts[];
int cmd_tag(struct cmd_ctx *ctx, int argc, char **argv);
extern const struct cli_opt cmd_mount_opts[];
int cmd_mount(struct cmd_ctx *ctx, int argc, char **argv);
extern const struct cli_opt cmd_umount_opts[];
int cmd_umount(struct cmd_ctx *ctx, int argc, char **argv);
extern const struct cli_opt cmd_status_opts[];
int cmd_status(struct cmd_ctx *ctx, int argc, char **argv);
extern const struct cli_opt cmd_reset_opts[];
int cmd_reset(struct cmd_ctx *ctx, int argc, char **argv);
extern const struct cli_opt cmd_tags_opts[];
int cmd_tags(struct cmd_ctx *ctx, int argc, char **argv);
extern const struct cli_opt cmd_runs_opts[];
int cmd_runs(struct cmd_ctx *ctx, int argc, char **argv);
/* The options of `run show`, its only subcommand. */
extern const struct cli_opt cmd_run_opts[];
int cmd_run(struct cmd_ctx *ctx, int argc, char **argv);
extern const struct cli_opt cmd_lineage_opts[];
int cmd_lineage(struct cmd_ctx *ctx, int argc, char **argv);
extern const struct cli_opt cmd_pin_opts[];
int cmd_pin(struct cmd_ctx *ctx, int argc, char **argv);
extern const struct cli_opt cmd_lock_opts[];
int cmd_lock(struct cmd_ctx *ctx, int argc, char **argv);
/* `remote add|list|remove` (cmd_remote.c), with push and pull. */
extern const struct cli_opt cmd_remote_opts[];
int cmd_remote(struct cmd_ctx *ctx, int argc, char **argv);
extern const struct cli_opt cmd_push_opts[];
int cmd_push(struct cmd_ctx *ctx, int argc, char **argv);
extern const struct cli_opt cmd_pull_opts[];
int cmd_pull(struct cmd_ctx *ctx, int argc, char **argv);
/* `tag --ci (--used|--produced) REV [NAME]`, called by cmd_tag (cmd_ci.c). */
int cli_tag_ci(struct cmd_ctx *ctx, int argc, char **argv);
/* `checkout --lock FILE DIR`, called by cmd_checkout (cmd_ci.c). */
int cli_checkout_lock(struct cmd_ctx *ctx, const char *lock,
		      const char *dir);

/* --- the command table, running a command, help (commands.c) -------------- */

/* Runs argv (argv[0] = command name) in ctx; returns the exit status. */
int cli_run(struct cmd_ctx *ctx, int argc, char **argv);
/* The command called name, or NULL.  Points into the static table. */
const struct cli_command *cli_find_command(const char *name);
/* The whole table (static), its length in *n: for 'varve help' and tests. */
const struct cli_command *cli_commands(size_t *n);

/* "usage: varve <each form and its options>\n" to f. */
void cli_print_usage(FILE *f, const struct cli_command *cmd);
/*
 * The help of a command to f: its usage line, summary, help text and one
 * line per option, from its row and options table.
 */
void cli_print_help(FILE *f, const struct cli_command *cmd);
/* 'varve help': the global usage and every command's summary, to f. */
void cli_print_overview(FILE *f);

#endif
