/*
 * main.c - varve's entry point: the global options, then the command,
 * forwarded to a mount daemon that holds the store or run here through
 * the table in commands.c.
 */
#include "cli.h"

#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "control.h"
#include "banned.h"

int main(int argc, char **argv)
{
	/* The overview (cli_print_overview) is their help. */
	static const struct cli_opt opts[] = {
		{ "store", 0, "DIR", 's', 0, NULL },
		{ "quiet", 'q', NULL, 'q', 0, NULL },
		{ "help", 'h', NULL, 'h', 0, NULL },
		{ "version", 0, NULL, 'V', 0, NULL },
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
			cli_print_overview(stderr);
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
			cli_print_overview(stdout);
			r = CLI_OK;
			goto out;
		case 'V':
			printf("varve 0.1.0\n");
			r = CLI_OK;
			goto out;
		}
	}
	if (a.i >= argc) {
		cli_print_overview(stderr);
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
