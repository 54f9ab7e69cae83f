/*
 * util.c - what the commands share: errors, option parsing, output
 * formatting, the progress bar, opening the store.
 */
#include "cli.h"

#include <assert.h>
#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "xalloc.h"
#include "banned.h"

const char *cli_getenv(const struct cmd_ctx *ctx, const char *name)
{
	size_t n = strlen(name);
	char **e;

	for (e = ctx->envp; e && *e; e++)
		if (!strncmp(*e, name, n) && (*e)[n] == '=')
			return *e + n + 1;
	return NULL;
}

/* "varve: <what>: <message>\n" on the error stream. */
static void say(struct cmd_ctx *ctx, const char *what, const char *fmt,
		va_list ap)
{
	fprintf(ctx->err, "varve: %s: ", what);
	vfprintf(ctx->err, fmt, ap);
	fputc('\n', ctx->err);
}

int cli_error(struct cmd_ctx *ctx, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	say(ctx, "error", fmt, ap);
	va_end(ap);
	return CLI_FAIL;
}

int cli_store_error(struct cmd_ctx *ctx, int code, const struct vs_error *e)
{
	if (e && e->msg[0])
		return cli_error(ctx, "%s", e->msg);
	return cli_error(ctx, "%s", vs_strerror(code));
}

void cli_warn(struct cmd_ctx *ctx, const char *fmt, ...)
{
	va_list ap;

	if (ctx->quiet)
		return;
	va_start(ap, fmt);
	say(ctx, "warning", fmt, ap);
	va_end(ap);
}

int cli_usage(struct cmd_ctx *ctx, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	say(ctx, "error", fmt, ap);
	va_end(ap);
	if (ctx->cmd) {
		cli_print_usage(ctx->err, ctx->cmd);
		fprintf(ctx->err, "(see 'varve %s --help')\n", ctx->cmd->name);
	} else {
		fputs("usage: varve [--store DIR] [-q] COMMAND [ARGS]\n"
		      "(see 'varve help')\n", ctx->err);
	}
	return CLI_USAGE;
}

int cli_store_locate(struct cmd_ctx *ctx, char **dir, struct vs_error *e)
{
	return vs_store_locate(ctx->store_opt, cli_getenv(ctx, "VARVE_STORE"),
			       ctx->cwd, dir, e);
}

char *cli_store_dir(struct cmd_ctx *ctx)
{
	char *dir = NULL;

	if (ctx->store)
		return vs_xstrdup(vs_store_path(ctx->store));
	if (cli_store_locate(ctx, &dir, NULL) < 0)
		return NULL;
	return dir;
}

static void say_waiting(void *arg, const char *dir, const char *who,
			int timeout_ms)
{
	struct cmd_ctx *ctx = arg;

	if (!ctx->quiet)
		fprintf(ctx->err, "varve: waiting for store '%s', in use by "
			"%s (up to %d s; VARVE_LOCK_WAIT sets how long)\n",
			dir, who, timeout_ms / 1000);
}

int cli_lock_wait(struct cmd_ctx *ctx, struct vs_store_wait *w,
		  struct vs_error *e)
{
	const char *v = cli_getenv(ctx, "VARVE_LOCK_WAIT");
	char *end;
	long secs;

	w->timeout_ms = VS_STORE_WAIT_MS;
	w->waiting = say_waiting;
	w->arg = ctx;
	if (!v)
		return 0;
	errno = 0;
	secs = strtol(v, &end, 10);
	if (!*v || *end || errno || secs < 0 || secs > 86400)
		return vs_error_set(e, VS_E_INVAL, "VARVE_LOCK_WAIT='%s' is "
				    "not a number of seconds (0 to 86400)",
				    v);
	w->timeout_ms = (int)secs * 1000;
	return 0;
}

static struct vs_store *store_open(struct cmd_ctx *ctx, unsigned flags)
{
	struct vs_error e = { 0 };
	struct vs_store_wait w;
	char *dir = NULL;
	int r;

	if (ctx->store)
		return ctx->store;
	r = cli_lock_wait(ctx, &w, &e);
	if (r == 0)
		r = cli_store_locate(ctx, &dir, &e);
	if (r == 0)
		r = vs_store_open_wait(dir, flags, &w, &ctx->store, &e);
	free(dir);
	if (r < 0) {
		cli_store_error(ctx, r, &e);
		return NULL;
	}
	return ctx->store;
}

struct vs_store *cli_store(struct cmd_ctx *ctx)
{
	return store_open(ctx, 0);
}

struct vs_store *cli_store_read(struct cmd_ctx *ctx)
{
	return store_open(ctx, VS_STORE_READ_ONLY);
}

/* --- options ------------------------------------------------------------- */

void cli_args_init(struct cli_args *a, int argc, char **argv)
{
	memset(a, 0, sizeof(*a));
	a->argc = argc;
	a->argv = argv;
	a->i = 1;
}

static const struct cli_opt *find_short(const struct cli_opt *opts, char c)
{
	for (; opts->id; opts++)
		if (opts->short_name == c)
			return opts;
	return NULL;
}

static int opt_error(struct cmd_ctx *ctx, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Prints a usage error and answers CLI_OPT_ERROR. */
static int opt_error(struct cmd_ctx *ctx, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cli_usage(ctx, "%s", msg);
	return CLI_OPT_ERROR;
}

int cli_getopt(struct cmd_ctx *ctx, struct cli_args *a,
	       const struct cli_opt *opts)
{
	const struct cli_opt *o;
	const char *s;

	if (a->cluster && *a->cluster) {
		char c = *a->cluster++;

		o = find_short(opts, c);
		if (!o && c == 'q') {
			/* -q is accepted by every command. */
			ctx->quiet = true;
			return cli_getopt(ctx, a, opts);
		}
		if (!o)
			return opt_error(ctx, "unknown option '-%c'", c);
		if (!o->arg)
			return o->id;
		if (*a->cluster) {
			a->arg = a->cluster;
			a->cluster = NULL;
			return o->id;
		}
		a->cluster = NULL;
		if (a->i >= a->argc)
			return opt_error(ctx, "option '-%c' needs a value", c);
		a->arg = a->argv[a->i++];
		return o->id;
	}
	a->cluster = NULL;
	if (a->i >= a->argc)
		return -1;
	s = a->argv[a->i++];
	if (a->only_positional || s[0] != '-' || !s[1]) {
		a->arg = s;
		return 0;
	}
	if (!strcmp(s, "--")) {
		a->only_positional = true;
		return cli_getopt(ctx, a, opts);
	}
	if (s[1] == '-') {
		const char *name = s + 2, *eq = strchr(name, '=');
		size_t len = eq ? (size_t)(eq - name) : strlen(name);

		for (o = opts; o->id; o++)
			if (o->long_name && strlen(o->long_name) == len &&
			    !strncmp(o->long_name, name, len))
				break;
		if (!o->id && !eq && !strcmp(name, "quiet")) {
			ctx->quiet = true;
			return cli_getopt(ctx, a, opts);
		}
		if (!o->id)
			return opt_error(ctx, "unknown option '--%.*s'",
					 (int)len, name);
		if (!o->arg) {
			if (eq)
				return opt_error(ctx, "option '--%s' takes no "
						 "value", o->long_name);
			return o->id;
		}
		if (eq) {
			a->arg = eq + 1;
			return o->id;
		}
		if (a->i >= a->argc)
			return opt_error(ctx, "option '--%s' needs a value",
					 o->long_name);
		a->arg = a->argv[a->i++];
		return o->id;
	}
	a->cluster = s + 1;
	return cli_getopt(ctx, a, opts);
}

int cli_parse(struct cmd_ctx *ctx, int argc, char **argv,
	      const struct cli_opt *opts, int max, struct cli_parsed *p)
{
	struct cli_args a;
	int o, i;

	assert(max <= CLI_MAX_ARGS);
	memset(p, 0, sizeof(*p));
	cli_args_init(&a, argc, argv);
	while ((o = cli_getopt(ctx, &a, opts)) >= 0) {
		if (o == 0) {
			if (p->nargs == max)
				return cli_usage(ctx, "unexpected argument "
						 "'%s'", a.arg);
			p->arg[p->nargs++] = a.arg;
			continue;
		}
		for (i = 0; opts[i].id; i++) {
			if (opts[i].id != o)
				continue;
			assert(o > 0 && o < CLI_MAX_OPT_ID);
			/* It would keep only the last value of these. */
			assert(!(opts[i].flags & CLI_OPT_REPEAT));
			p->opt[o] = opts[i].arg ? a.arg : "";
		}
	}
	return o == CLI_OPT_ERROR ? CLI_USAGE : 0;
}

int cli_parse_flags(struct cmd_ctx *ctx, int argc, char **argv,
		    const struct cli_opt *opts, bool *on)
{
	struct cli_parsed cl;
	int i;

	if (cli_parse(ctx, argc, argv, opts, 0, &cl))
		return CLI_USAGE;
	for (i = 0; opts[i].id; i++)
		on[i] = cl.opt[opts[i].id] != NULL;
	return 0;
}

/* --- output -------------------------------------------------------------- */

void cli_format_time(uint64_t t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void cli_format_bytes(uint64_t n, char out[32])
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB",
					     "PiB" };
	double v = n;
	int u = 0;

	while (v >= 1024 && u < 5) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(out, 32, "%llu B", (unsigned long long)n);
	else
		snprintf(out, 32, "%.1f %s", v, units[u]);
}

json_t *cli_json_string(const char *s)
{
	struct vs_buf b = VS_BUF_INIT;
	json_t *j = json_string(s);
	const unsigned char *p;

	if (j)
		return j;
	/* Not UTF-8: keep ASCII, escape every byte >= 0x80. */
	for (p = (const unsigned char *)s; *p; p++) {
		if (*p < 0x80)
			vs_buf_addch(&b, *p);
		else
			vs_buf_addf(&b, "\\x%02x", *p);
	}
	j = json_string(b.data);
	vs_buf_release(&b);
	return j;
}

int cli_json_print(struct cmd_ctx *ctx, json_t *root)
{
	json_dumpf(root, ctx->out, JSON_INDENT(2) | JSON_ENSURE_ASCII);
	fputc('\n', ctx->out);
	json_decref(root);
	return CLI_OK;
}

void cli_print_path(FILE *f, const char *s)
{
	const unsigned char *p;

	for (p = (const unsigned char *)s; *p; p++) {
		if (*p < 0x20 || *p == 0x7f)
			fprintf(f, "\\x%02x", *p);
		else if (*p == '\\')
			fputs("\\\\", f);
		else
			fputc(*p, f);
	}
}

void cli_author(struct cmd_ctx *ctx, char *out, size_t size)
{
	const char *a = cli_getenv(ctx, "VARVE_AUTHOR");
	const char *user = cli_getenv(ctx, "USER");
	char host[256] = "localhost";
	struct passwd pw, *res = NULL;
	char pwbuf[1024];

	if (a && *a) {
		snprintf(out, size, "%s", a);
		return;
	}
	if (!user || !*user) {
		if (getpwuid_r(getuid(), &pw, pwbuf, sizeof(pwbuf), &res) == 0 &&
		    res)
			user = res->pw_name;
		else
			user = "unknown";
	}
	gethostname(host, sizeof(host) - 1);
	host[sizeof(host) - 1] = '\0';
	snprintf(out, size, "%s@%s", user, host);
}

long cli_parse_count(const char *s)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(s, &end, 10);
	if (errno || end == s || *end || n < 0)
		return -1;
	return n;
}

/* --- progress ------------------------------------------------------------ */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

void cli_progress_init(struct cli_progress *p, struct cmd_ctx *ctx,
		       const char *label)
{
	memset(p, 0, sizeof(*p));
	p->ctx = ctx;
	p->active = ctx->err_tty && !ctx->quiet;
	p->label = label;
	p->start_ns = now_ns();
}

void cli_progress_update(struct cli_progress *p, uint64_t files_done,
			 uint64_t files_total, uint64_t bytes_done,
			 uint64_t bytes_total)
{
	char done[32], total[32], rate[32];
	double secs;
	int pct, width;

	if (!p->active)
		return;
	secs = (now_ns() - p->start_ns) / 1e9;
	cli_format_bytes(bytes_done, done);
	cli_format_bytes(bytes_total, total);
	cli_format_bytes(secs > 0.05 ? (uint64_t)(bytes_done / secs) : 0,
			 rate);
	pct = bytes_total ? (int)(100.0 * bytes_done / bytes_total) : 100;
	if (pct > 100)
		pct = 100;
	width = fprintf(p->ctx->err,
			"\r%s %3d%% [%-20.*s] %llu/%llu files  %s/%s  %s/s",
			p->label, pct, pct / 5, "####################",
			(unsigned long long)files_done,
			(unsigned long long)files_total, done, total, rate);
	if (width < p->last_width)
		fprintf(p->ctx->err, "%*s", p->last_width - width, "");
	p->last_width = width;
	fflush(p->ctx->err);
}

void cli_progress_done(struct cli_progress *p)
{
	if (!p->active || !p->last_width)
		return;
	fprintf(p->ctx->err, "\r%*s\r", p->last_width, "");
	fflush(p->ctx->err);
	p->last_width = 0;
}
