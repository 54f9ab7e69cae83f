/*
 * cmd_mount.c - the mount and its writable heads: mount, umount, status,
 * reset.  (`commit REPO` without --from, which commits staged changes,
 * lives with commit in cmd_commit.c.)
 */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "control.h"
#include "fs.h"
#include "staging.h"

#include "banned.h"

#define DEFAULT_CACHE (256u << 20)

/* Parses "512M", "2G", "1048576". 0 on error. */
static uint64_t parse_size(const char *s)
{
	char *end;
	unsigned long long n;

	errno = 0;
	n = strtoull(s, &end, 10);
	if (errno || end == s)
		return 0;
	switch (*end) {
	case 'k': case 'K': n <<= 10; end++; break;
	case 'm': case 'M': n <<= 20; end++; break;
	case 'g': case 'G': n <<= 30; end++; break;
	default: break;
	}
	if (*end == 'i' && end[-1] != *s)
		end++;
	if (*end == 'B' || *end == 'b')
		end++;
	return *end ? 0 : n;
}

/* True if a daemon answers on the store's control socket. */
static bool daemon_alive(const char *store_dir)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, r;

	if ((size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/control.sock",
			     store_dir) >= sizeof(sa.sun_path))
		return false;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	close(fd);
	return r == 0;
}

/* Unmounts mnt: fusermount3 for users, umount2 for root. */
static int do_unmount(const char *mnt, bool lazy)
{
	pid_t pid;
	int status;

	if (geteuid() == 0)
		return umount2(mnt, lazy ? MNT_DETACH : 0) < 0 ? -errno : 0;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int devnull = open("/dev/null", O_WRONLY);

		if (devnull >= 0) {
			dup2(devnull, STDOUT_FILENO);
			dup2(devnull, STDERR_FILENO);
		}
		if (lazy)
			execlp("fusermount3", "fusermount3", "-u", "-z", mnt,
			       (char *)NULL);
		else
			execlp("fusermount3", "fusermount3", "-u", mnt,
			       (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return -EBUSY;
	return 0;
}

struct daemon_arg {
	struct vs_store *s;
	struct ctl_server *srv;
	int ready_fd;		/* -1 in the foreground */
	const char *mnt;
};

static int daemon_started(void *arg, struct vs_error *err)
{
	struct daemon_arg *d = arg;
	int r = ctl_server_start(d->s, &d->srv, err);

	if (r < 0)
		vs_error_set(err, r, "cannot start the control socket (%s)",
			     vs_strerror(r));
	return r;
}

static void daemon_stopping(void *arg)
{
	struct daemon_arg *d = arg;

	ctl_server_stop(d->srv);
	d->srv = NULL;
}

static void daemon_ready(void *arg)
{
	struct daemon_arg *d = arg;
	char ok = 0;

	fprintf(stderr, "varve: mounted at %s (pid %ld)\n", d->mnt,
		(long)getpid());
	fflush(stderr);
	if (d->ready_fd >= 0) {
		if (write(d->ready_fd, &ok, 1) != 1)
			fprintf(stderr, "varve: cannot notify the parent\n");
		close(d->ready_fd);
		d->ready_fd = -1;
	}
}

/*
 * Runs the mount in this process until unmounted; returns an exit code.  The
 * store is opened as w says; then, if tell is not NULL, it is closed (the
 * notices of the wait went there).
 */
static int serve(const char *store_dir, struct fs_opts *fo, int ready_fd,
		 const struct vs_store_wait *w, FILE *tell, struct vs_error *e)
{
	struct daemon_arg d = { .ready_fd = ready_fd, .mnt = fo->mountpoint };
	int r;

	r = vs_store_open_wait(store_dir, VS_STORE_DIRECT_READS, w, &d.s, e);
	if (tell)
		fclose(tell);
	if (r < 0)
		return r;
	fo->ready = daemon_ready;
	fo->ready_arg = &d;
	fo->started = daemon_started;
	fo->stopping = daemon_stopping;
	fo->hook_arg = &d;
	r = fs_run(d.s, fo, e);
	vs_store_close(d.s);
	fprintf(stderr, "varve: unmounted %s%s%s\n", fo->mountpoint,
		r < 0 ? ": " : "", r < 0 ? e->msg : "");
	return r;
}

static bool is_mountpoint(const char *mnt)
{
	struct stat a, b;
	char *parent;
	bool r;

	if (stat(mnt, &a) < 0)
		return false;
	parent = malloc(strlen(mnt) + 4);
	if (!parent)
		abort();
	memcpy(parent, mnt, strlen(mnt));
	memcpy(parent + strlen(mnt), "/..", 4);
	r = stat(parent, &b) == 0 && (a.st_dev != b.st_dev);
	free(parent);
	return r;
}

/*
 * True if mnt is a FUSE mount whose daemon is gone.  statfs is never
 * answered from the kernel's caches, unlike stat or an open of the root.
 */
static bool mount_is_dead(const char *mnt)
{
	struct statfs sfs;

	return statfs(mnt, &sfs) < 0 && errno == ENOTCONN;
}

const struct cli_opt cmd_mount_opts[] = {
	{ "read-only", 0, NULL, 'r', 0, "heads are read-only too" },
	{ "foreground", 'f', NULL, 'f', 0,
	  "serve in this process, log to stderr" },
	{ "cache-size", 0, "SIZE", 'c', 0,
	  "decompressed chunk cache: bytes, or with K, M or "
	  "G; at least 16M (default 256M)" },
	{ "allow-other", 0, NULL, 'a', 0, "let other users see the mount" },
	{ "debug", 0, NULL, 'd', 0,
	  "log every FUSE request (in mount.log, or on "
	  "stderr with --foreground)" },
	{ 0 },
};

int cmd_mount(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct fs_opts fo = { .cache_size = DEFAULT_CACHE };
	struct vs_error e = { 0 };
	struct vs_store_wait wait;
	struct cli_parsed cl;
	const char *mnt = NULL;
	char *store_dir = NULL, *abs = NULL, msg[1100];
	bool foreground = false;
	struct stat st;
	int r = CLI_FAIL, pipefd[2];
	pid_t pid;

	if (cli_parse(ctx, argc, argv, cmd_mount_opts, 1, &cl))
		return CLI_USAGE;
	mnt = cl.arg[0];
	fo.read_only = cl.opt['r'] != NULL;
	foreground = cl.opt['f'] != NULL;
	fo.allow_other = cl.opt['a'] != NULL;
	fo.debug = cl.opt['d'] != NULL;
	if (cl.opt['c']) {
		fo.cache_size = parse_size(cl.opt['c']);
		if (fo.cache_size < (16u << 20))
			return cli_usage(ctx, "--cache-size needs a size of at "
					 "least 16M, got '%s'", cl.opt['c']);
	}
	if (!mnt)
		return cli_usage(ctx, "missing MNT");
	if (ctl_in_daemon())
		return cli_error(ctx, "this store is already mounted (one "
				 "mount per store; see 'varve umount')");
	r = cli_store_locate(ctx, &store_dir, &e);
	if (r < 0)
		return cli_store_error(ctx, r, &e);
	r = CLI_FAIL;
	{
		/* The daemon leaves the working directory: keep it absolute. */
		char *abs_store = realpath(store_dir, NULL);

		if (!abs_store) {
			cli_error(ctx, "'%s' is not a varve store (%s)",
				  store_dir, strerror(errno));
			goto out;
		}
		free(store_dir);
		store_dir = abs_store;
	}
	if (daemon_alive(store_dir)) {
		cli_error(ctx, "store '%s' is already mounted by a running "
			  "daemon (one mount per store; see 'varve umount')",
			  store_dir);
		goto out;
	}
	if (mount_is_dead(mnt)) {
		if (do_unmount(mnt, true) < 0) {
			cli_error(ctx, "'%s' is a dead mount and cannot be "
				  "unmounted", mnt);
			goto out;
		}
		if (!ctx->quiet)
			fprintf(ctx->err, "varve: recovered the dead mount at "
				"%s (its daemon was gone)\n", mnt);
	}
	if (stat(mnt, &st) < 0 || !S_ISDIR(st.st_mode)) {
		cli_error(ctx, "mount point '%s' is not a directory", mnt);
		goto out;
	}
	if (is_mountpoint(mnt)) {
		cli_error(ctx, "'%s' is already a mount point", mnt);
		goto out;
	}
	abs = realpath(mnt, NULL);
	fo.mountpoint = abs;

	if (cli_lock_wait(ctx, &wait, &e) < 0) {
		cli_store_error(ctx, VS_E_INVAL, &e);
		goto out;
	}
	if (foreground) {
		r = serve(store_dir, &fo, -1, &wait, NULL, &e);
		r = r < 0 ? cli_store_error(ctx, r, &e) : CLI_OK;
		goto out;
	}
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		cli_error(ctx, "cannot create a pipe (%s)", strerror(errno));
		goto out;
	}
	fflush(ctx->out);
	fflush(ctx->err);
	pid = fork();
	if (pid < 0) {
		cli_error(ctx, "cannot fork (%s)", strerror(errno));
		goto out;
	}
	if (pid == 0) {
		struct vs_buf log = VS_BUF_INIT;
		FILE *tell = NULL;
		int fd, code;

		close(pipefd[0]);
		setsid();
		/* While it waits for the store, the daemon tells the user. */
		fd = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
		if (fd >= 0 && !(tell = fdopen(fd, "w")))
			close(fd);
		if (tell)
			ctx->err = tell;
		vs_buf_addf(&log, "%s/mount.log", store_dir);
		fd = open(log.data, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
			  0600);
		if (fd >= 0) {
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
			close(fd);
		}
		fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			dup2(fd, STDIN_FILENO);
			close(fd);
		}
		vs_buf_release(&log);
		if (chdir("/") < 0)
			_exit(1);
		code = serve(store_dir, &fo, pipefd[1], &wait, tell, &e) < 0;
		ctx->err = stderr;
		if (code) {
			/* Tell the waiting parent why. */
			if (write(pipefd[1], e.msg, strlen(e.msg)) < 0)
				fprintf(stderr, "varve: %s\n", e.msg);
			fprintf(stderr, "varve: error: %s\n", e.msg);
		}
		_exit(code);
	}
	close(pipefd[1]);
	{
		ssize_t n = read(pipefd[0], msg, sizeof(msg) - 1);

		close(pipefd[0]);
		if (n == 1 && msg[0] == 0) {
			if (!ctx->quiet)
				fprintf(ctx->err, "mounted %s at %s (daemon "
					"pid %ld, log in %s/mount.log)\n",
					store_dir, abs, (long)pid, store_dir);
			r = CLI_OK;
		} else {
			int status;

			msg[n > 0 ? n : 0] = '\0';
			waitpid(pid, &status, 0);
			r = cli_error(ctx, "cannot mount at '%s'%s%s", mnt,
				      n > 0 ? ": " : "",
				      n > 0 ? msg : " (see mount.log)");
		}
	}
out:
	free(abs);
	free(store_dir);
	return r;
}

const struct cli_opt cmd_umount_opts[] = { { 0 } };

int cmd_umount(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct cli_parsed cl;
	const char *mnt = NULL;
	char store[4096];
	ssize_t n;
	int r, i;

	if (cli_parse(ctx, argc, argv, cmd_umount_opts, 1, &cl))
		return CLI_USAGE;
	mnt = cl.arg[0];
	if (!mnt)
		return cli_usage(ctx, "missing MNT");
	n = getxattr(mnt, "user.varve.store", store, sizeof(store) - 1);
	if (n < 0 && errno != ENOTCONN)
		return cli_error(ctx, "'%s' is not a varve mount", mnt);
	store[n > 0 ? n : 0] = '\0';
	r = do_unmount(mnt, false);
	if (r == -EBUSY)
		return cli_error(ctx, "'%s' is busy (a process has a file open "
				 "or its working directory there); close it "
				 "and try again", mnt);
	if (r < 0)
		return cli_error(ctx, "cannot unmount '%s' (%s)", mnt,
				 strerror(-r));
	/* Wait until the daemon has released the store. */
	for (i = 0; n > 0 && i < 300; i++) {
		struct vs_buf lock = VS_BUF_INIT;
		int fd;
		bool free_now = false;

		vs_buf_addf(&lock, "%s/lock", store);
		fd = open(lock.data, O_RDWR | O_CLOEXEC);
		vs_buf_release(&lock);
		if (fd < 0)
			break;
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			free_now = true;
		close(fd);
		if (free_now)
			break;
		{
			struct timespec ts = { 0, 100 * 1000 * 1000 };

			nanosleep(&ts, NULL);
		}
	}
	if (!ctx->quiet)
		fprintf(ctx->err, "unmounted %s\n", mnt);
	return CLI_OK;
}

/* Parses REPO [--branch B] into a head. */
static int parse_head(struct cmd_ctx *ctx, const char *repo_arg,
		      const char *branch, struct vs_head *h)
{
	struct vs_error e = { 0 };

	if (vs_repo_parse(&h->repo, repo_arg, strlen(repo_arg), &e) < 0)
		return cli_store_error(ctx, VS_E_INVAL, &e);
	if (!vs_ref_name_valid(branch))
		return cli_error(ctx, "invalid branch name '%s'", branch);
	snprintf(h->branch, sizeof(h->branch), "%s", branch);
	return 0;
}

struct status_out {
	struct cmd_ctx *ctx;
	json_t *json;
	int n;
};

static int status_line(char st, const char *path, void *arg)
{
	struct status_out *so = arg;

	so->n++;
	if (so->json) {
		json_t *j = json_object();

		json_object_set_new(j, "status",
				    json_string(st == 'A' ? "added" :
						st == 'D' ? "deleted" :
						"modified"));
		json_object_set_new(j, "path", cli_json_string(path));
		json_array_append_new(so->json, j);
		return 0;
	}
	fprintf(so->ctx->out, "%c ", st);
	cli_print_path(so->ctx->out, path);
	fputc('\n', so->ctx->out);
	return 0;
}

const struct cli_opt cmd_status_opts[] = {
	{ "branch", 'b', "B", 'b', 0, "the head of branch B (default main)" },
	{ "json", 0, NULL, 'j', 0, "JSON output (see README.md)" },
	{ 0 },
};

int cmd_status(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct status_out so = { .ctx = ctx };
	struct vs_error e = { 0 };
	struct vs_store *s;
	struct vs_head h;
	struct cli_parsed cl;
	const char *repo = NULL, *branch = VS_DEFAULT_BRANCH;
	bool json = false;
	int r;

	if (cli_parse(ctx, argc, argv, cmd_status_opts, 1, &cl))
		return CLI_USAGE;
	repo = cl.arg[0];
	json = cl.opt['j'] != NULL;
	if (cl.opt['b'])
		branch = cl.opt['b'];
	if (!repo)
		return cli_usage(ctx, "missing REPO");
	if (parse_head(ctx, repo, branch, &h))
		return CLI_FAIL;
	s = cli_store(ctx);
	if (!s)
		return CLI_FAIL;
	r = vs_repo_check(s, &h.repo, &e);
	if (r < 0)
		return cli_store_error(ctx, r, &e);
	if (json)
		so.json = json_array();
	r = vs_staging_status(s, &h, status_line, &so, &e);
	if (r < 0) {
		json_decref(so.json);
		return cli_store_error(ctx, r, &e);
	}
	if (json)
		return cli_json_print(ctx, so.json);
	if (so.n == 0 && !ctx->quiet)
		fprintf(ctx->err, "no staged changes in %s@%s\n", h.repo.full,
			h.branch);
	return CLI_OK;
}

const struct cli_opt cmd_reset_opts[] = {
	{ "branch", 'b', "B", 'b', 0, "the head of branch B (default main)" },
	{ 0 },
};

int cmd_reset(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct vs_error e = { 0 };
	struct vs_store *s;
	struct vs_head h;
	struct cli_parsed cl;
	const char *repo = NULL, *branch = VS_DEFAULT_BRANCH;
	int r;

	if (cli_parse(ctx, argc, argv, cmd_reset_opts, 1, &cl))
		return CLI_USAGE;
	repo = cl.arg[0];
	if (cl.opt['b'])
		branch = cl.opt['b'];
	if (!repo)
		return cli_usage(ctx, "missing REPO");
	if (parse_head(ctx, repo, branch, &h))
		return CLI_FAIL;
	s = cli_store(ctx);
	if (!s)
		return CLI_FAIL;
	r = vs_repo_check(s, &h.repo, &e);
	if (r == 0)
		r = vs_staging_reset(s, &h, &e);
	if (r < 0)
		return cli_store_error(ctx, r, &e);
	vs_store_notify_change(s, &h.repo, h.branch);
	if (!ctx->quiet)
		fprintf(ctx->err, "dropped the staged changes of %s@%s\n",
			h.repo.full, h.branch);
	return CLI_OK;
}
