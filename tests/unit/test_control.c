/*
 * test_control.c - unit tests of cli/control.c: a ctl_server on a real
 * store runs real commands forwarded by forked clients (output, exit
 * status, the client's working directory and environment, -q), a stale
 * socket is removed and the command runs locally, a second server is
 * refused, malformed requests get status 2 while the server keeps serving,
 * a broken pipe on the client's output kills the client with SIGPIPE and
 * not the daemon, concurrent clients, a store path too long for sun_path,
 * main()'s hook ctl_cli_forward, and the help that cli_run() prints, as
 * generated from the command table and each command's options table.
 */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "control.h"
#include "testutil.h"
#include "banned.h"

static char *test_env[] = {
	"VARVE_AUTHOR=tester <t@example.com>",
	"LANG=C",
	NULL,
};

struct fixture {
	struct tu_env *env;
	struct ctl_server *srv;
	char work[PATH_MAX];	/* the commands' working directory */
	char sock[PATH_MAX];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct vs_error err = { 0 };

	if (!f)
		return -1;
	f->env = tu_env_new();
	tu_mkdir(tu_join(f->work, f->env->dir, "work"));
	tu_join(f->sock, f->env->store_path, CTL_SOCKET_NAME);
	if (ctl_server_start(f->env->s, &f->srv, &err) < 0) {
		fprintf(stderr, "ctl_server_start: %s\n", err.msg);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	ctl_server_stop(f->srv);
	/* The socket goes with the server. */
	assert_false(tu_exists(f->sock));
	tu_env_free(f->env);
	free(f);
	return 0;
}

/* --- forked clients ------------------------------------------------------- */

struct job {
	/* in */
	const char *store;
	const char *cwd;
	char **argv;
	int argc;
	char **envp;
	bool quiet;
	int stdout_fd;		/* or -1 for a file read into out, -2 closed */
	const char *tmpdir;
	int id;
	/* out */
	pid_t pid;
	int res[2];
	char out_path[PATH_MAX], err_path[PATH_MAX];
	int r, status, sig;
	struct vs_buf out, err;
};

static void job_spawn(struct job *j)
{
	char name[64];
	int ofd, efd;

	snprintf(name, sizeof(name), "job%d.out", j->id);
	tu_join(j->out_path, j->tmpdir, name);
	snprintf(name, sizeof(name), "job%d.err", j->id);
	tu_join(j->err_path, j->tmpdir, name);
	ofd = open(j->out_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	efd = open(j->err_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(ofd >= 0 && efd >= 0);
	assert_int_equal(pipe2(j->res, O_CLOEXEC), 0);
	j->pid = fork();
	assert_true(j->pid >= 0);
	if (j->pid == 0) {
		int got[2] = { -99, -99 };
		int in = open("/dev/null", O_RDONLY);

		signal(SIGPIPE, SIG_DFL);
		if (in < 0 || dup2(in, 0) < 0 ||
		    dup2(j->stdout_fd >= 0 ? j->stdout_fd : ofd, 1) < 0 ||
		    dup2(efd, 2) < 0)
			_exit(3);
		if (j->stdout_fd == -2)
			close(1);
		got[0] = ctl_forward(j->store, j->argc, j->argv, j->envp,
				     j->cwd, j->quiet, NULL, &got[1]);
		if (write(j->res[1], got, sizeof(got)) != sizeof(got))
			_exit(4);
		_exit(0);
	}
	close(ofd);
	close(efd);
	close(j->res[1]);
}

static void job_collect(struct job *j)
{
	int got[2] = { -99, -99 }, st;

	assert_int_equal(waitpid(j->pid, &st, 0), j->pid);
	if (read(j->res[0], got, sizeof(got)) != sizeof(got))
		got[0] = got[1] = -99;
	close(j->res[0]);
	j->r = got[0];
	j->status = got[1];
	j->sig = WIFSIGNALED(st) ? WTERMSIG(st) : 0;
	if (!j->sig)
		assert_int_equal(WEXITSTATUS(st), 0);
	vs_buf_init(&j->out, 0);
	vs_buf_init(&j->err, 0);
	assert_int_equal(tu_read(j->out_path, &j->out), 0);
	assert_int_equal(tu_read(j->err_path, &j->err), 0);
}

static void job_release(struct job *j)
{
	vs_buf_release(&j->out);
	vs_buf_release(&j->err);
}

/* Forwards argv from a forked client in f's work directory. */
static void forward_in(struct fixture *f, struct job *j, int argc,
		       char **argv)
{
	if (!j->envp)
		j->envp = test_env;
	if (!j->store)
		j->store = f->env->store_path;
	if (!j->cwd)
		j->cwd = f->work;
	if (!j->stdout_fd)
		j->stdout_fd = -1;
	j->tmpdir = f->env->dir;
	j->argc = argc;
	j->argv = argv;
	job_spawn(j);
	job_collect(j);
}

#define FORWARD(f, j, ...)                                                  \
	do {                                                                 \
		char *fw_argv_[] = { __VA_ARGS__, NULL };                    \
		forward_in((f), (j), (int)(sizeof(fw_argv_) /                \
					   sizeof(fw_argv_[0])) - 1,         \
			   fw_argv_);                                        \
	} while (0)

/* Forwards argv and expects it to run in the daemon with status want. */
static void expect_status(struct fixture *f, struct job *j, int want)
{
	(void)f;
	if (j->r != 1 || j->status != want)
		fprintf(stderr, "r %d status %d sig %d\nout: %s\nerr: %s\n",
			j->r, j->status, j->sig, j->out.data, j->err.data);
	assert_int_equal(j->sig, 0);
	assert_int_equal(j->r, 1);
	assert_int_equal(j->status, want);
}

/* --- commands ------------------------------------------------------------- */

static void test_list_and_create(void **state)
{
	struct fixture *f = *state;
	struct job j = { 0 };

	assert_true(tu_exists(f->sock));
	FORWARD(f, &j, "list", "--json");
	expect_status(f, &j, 0);
	assert_string_equal(j.out.data, "[]\n");
	assert_string_equal(j.err.data, "");
	job_release(&j);

	memset(&j, 0, sizeof(j));
	FORWARD(f, &j, "create", "dataset", "x");
	expect_status(f, &j, 0);
	assert_string_equal(j.out.data, "created datasets/x\n");
	job_release(&j);

	memset(&j, 0, sizeof(j));
	FORWARD(f, &j, "list", "--json");
	expect_status(f, &j, 0);
	assert_non_null(strstr(j.out.data, "\"datasets/x\""));
	job_release(&j);

	/* A failing command: status 1 and its error on the client's stderr. */
	memset(&j, 0, sizeof(j));
	FORWARD(f, &j, "create", "dataset", "x");
	expect_status(f, &j, 1);
	assert_string_equal(j.out.data, "");
	assert_non_null(strstr(j.err.data, "varve: error: "));
	job_release(&j);

	/* -q travels with the request. */
	memset(&j, 0, sizeof(j));
	j.quiet = true;
	FORWARD(f, &j, "create", "model", "m");
	expect_status(f, &j, 0);
	assert_string_equal(j.out.data, "");
	job_release(&j);

	/* A closed stdout travels as /dev/null, not as whatever descriptor
	 * the client opens next. */
	memset(&j, 0, sizeof(j));
	j.stdout_fd = -2;
	FORWARD(f, &j, "list");
	expect_status(f, &j, 0);
	assert_string_equal(j.err.data, "");
	job_release(&j);

	/* The store saw it all. */
	memset(&j, 0, sizeof(j));
	FORWARD(f, &j, "list");
	expect_status(f, &j, 0);
	assert_non_null(strstr(j.out.data, "datasets/x\n"));
	assert_non_null(strstr(j.out.data, "models/m\n"));
	job_release(&j);
	assert_false(ctl_in_daemon());
}

static void test_usage_errors(void **state)
{
	struct fixture *f = *state;
	struct job j = { 0 };

	FORWARD(f, &j, "nosuch");
	expect_status(f, &j, 2);
	assert_non_null(strstr(j.err.data, "unknown command 'nosuch'"));
	job_release(&j);

	memset(&j, 0, sizeof(j));
	FORWARD(f, &j, "list", "--bogus");
	expect_status(f, &j, 2);
	assert_non_null(strstr(j.err.data, "usage: varve list"));
	job_release(&j);

	memset(&j, 0, sizeof(j));
	FORWARD(f, &j, "list", "--help");
	expect_status(f, &j, 0);
	assert_non_null(strstr(j.out.data, "usage: varve list"));
	job_release(&j);
}

/* Relative paths resolve in the client's directory; $VARVE_AUTHOR is the
 * client's. */
static void test_cwd_and_env(void **state)
{
	struct fixture *f = *state;
	char p[PATH_MAX], before[PATH_MAX], after[PATH_MAX];
	struct job j = { 0 };

	assert_non_null(getcwd(before, sizeof(before)));
	tu_mkdir(tu_join(p, f->work, "data"));
	tu_write_str(tu_join(p, f->work, "data/a.txt"), "hello\n");

	FORWARD(f, &j, "create", "dataset", "d");
	expect_status(f, &j, 0);
	job_release(&j);

	memset(&j, 0, sizeof(j));
	FORWARD(f, &j, "commit", "datasets/d", "--from", "data", "-m", "one");
	expect_status(f, &j, 0);
	assert_int_equal(j.out.len, VS_ID_HEXLEN + 1);
	job_release(&j);

	memset(&j, 0, sizeof(j));
	FORWARD(f, &j, "show", "datasets/d", "--json");
	expect_status(f, &j, 0);
	assert_non_null(strstr(j.out.data, "tester <t@example.com>"));
	job_release(&j);

	memset(&j, 0, sizeof(j));
	FORWARD(f, &j, "cat", "datasets/d:a.txt");
	expect_status(f, &j, 0);
	assert_string_equal(j.out.data, "hello\n");
	job_release(&j);

	memset(&j, 0, sizeof(j));
	FORWARD(f, &j, "checkout", "datasets/d", "copy");
	expect_status(f, &j, 0);
	job_release(&j);
	assert_true(tu_exists(tu_join(p, f->work, "copy/a.txt")));

	/* The daemon's own directory never moved. */
	assert_non_null(getcwd(after, sizeof(after)));
	assert_string_equal(before, after);
}

/* The command's output is a pipe nobody reads: the client dies of SIGPIPE
 * as a local run would, and the daemon lives on. */
static void test_broken_pipe(void **state)
{
	struct fixture *f = *state;
	struct job j = { 0 };
	int p[2];

	FORWARD(f, &j, "create", "dataset", "loud");
	expect_status(f, &j, 0);
	job_release(&j);

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	close(p[0]);
	memset(&j, 0, sizeof(j));
	j.stdout_fd = p[1];
	FORWARD(f, &j, "list", "--json");
	close(p[1]);
	assert_int_equal(j.sig, SIGPIPE);
	job_release(&j);

	memset(&j, 0, sizeof(j));
	FORWARD(f, &j, "list");
	expect_status(f, &j, 0);
	assert_non_null(strstr(j.out.data, "datasets/loud"));
	job_release(&j);
}

#define NJOBS 8

static void test_concurrent(void **state)
{
	struct fixture *f = *state;
	struct job jobs[NJOBS];
	char names[NJOBS][16];
	char *argvs[NJOBS][4];
	struct job j = { 0 };
	int i;

	memset(jobs, 0, sizeof(jobs));
	for (i = 0; i < NJOBS; i++) {
		struct job *k = &jobs[i];

		snprintf(names[i], sizeof(names[i]), "c%d", i);
		argvs[i][0] = "create";
		argvs[i][1] = "dataset";
		argvs[i][2] = names[i];
		argvs[i][3] = NULL;
		k->id = 100 + i;
		k->store = f->env->store_path;
		k->cwd = f->work;
		k->envp = test_env;
		k->stdout_fd = -1;
		k->tmpdir = f->env->dir;
		k->argc = 3;
		k->argv = argvs[i];
		if (i % 2) {
			argvs[i][0] = "list";
			argvs[i][1] = "--json";
			argvs[i][2] = NULL;
			k->argc = 2;
		}
		job_spawn(k);
	}
	for (i = 0; i < NJOBS; i++) {
		job_collect(&jobs[i]);
		expect_status(f, &jobs[i], 0);
		job_release(&jobs[i]);
	}
	FORWARD(f, &j, "list");
	expect_status(f, &j, 0);
	for (i = 0; i < NJOBS; i += 2) {
		char want[32];

		snprintf(want, sizeof(want), "datasets/c%d\n", i);
		assert_non_null(strstr(j.out.data, want));
	}
	job_release(&j);
}

/* --- the socket's life ---------------------------------------------------- */

/* Leaves a socket file at path with nobody listening. */
static void make_stale_socket(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_true(strlen(path) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, path, strlen(path) + 1);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	assert_true(tu_exists(path));
}

static void test_stale_socket(void **state)
{
	char dir[PATH_MAX], p[PATH_MAX], q[PATH_MAX];
	char *argv[] = { "list", NULL };
	int status = -7;

	(void)state;
	tu_mkdtemp(dir);
	tu_join(p, dir, CTL_SOCKET_NAME);

	/* No socket, no directory: run locally. */
	assert_int_equal(ctl_forward(dir, 1, argv, test_env, dir, false,
				     NULL, &status), 0);
	assert_int_equal(ctl_forward(tu_join(q, dir, "nope"), 1, argv,
				     test_env, dir, false, NULL, &status), 0);
	/* A stale socket is removed. */
	make_stale_socket(p);
	assert_int_equal(ctl_forward(dir, 1, argv, test_env, dir, false,
				     NULL, &status), 0);
	assert_false(tu_exists(p));
	/* Something that is not a socket is left alone. */
	tu_write_str(p, "not a socket\n");
	assert_int_equal(ctl_forward(dir, 1, argv, test_env, dir, false,
				     NULL, &status), 0);
	assert_true(tu_exists(p));
	assert_int_equal(status, -7);
	tu_rm_rf(dir);
}

/* A daemon starting over a stale socket replaces it. */
static void test_start_over_stale(void **state)
{
	struct fixture f = { 0 };
	struct vs_error err = { 0 };
	struct job j = { 0 };

	(void)state;
	f.env = tu_env_new();
	tu_mkdir(tu_join(f.work, f.env->dir, "work"));
	tu_join(f.sock, f.env->store_path, CTL_SOCKET_NAME);
	make_stale_socket(f.sock);
	assert_int_equal(ctl_server_start(f.env->s, &f.srv, &err), 0);
	FORWARD(&f, &j, "list", "--json");
	expect_status(&f, &j, 0);
	job_release(&j);
	ctl_server_stop(f.srv);
	assert_false(tu_exists(f.sock));
	tu_env_free(f.env);
	ctl_server_stop(NULL);
}

static void test_second_server(void **state)
{
	struct fixture *f = *state;
	struct ctl_server *srv2 = NULL;
	struct vs_error err = { 0 };
	struct stat st;
	struct job j = { 0 };

	assert_int_equal(ctl_server_start(f->env->s, &srv2, &err),
			 -EADDRINUSE);
	assert_null(srv2);
	assert_non_null(strstr(err.msg, "already"));
	/* The socket is 0600 and still served. */
	assert_int_equal(lstat(f->sock, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);
	FORWARD(f, &j, "list", "--json");
	expect_status(f, &j, 0);
	job_release(&j);
}

/* A store path longer than sun_path holds is reached via /proc/self/fd. */
static void test_long_path(void **state)
{
	char base[PATH_MAX], deep[PATH_MAX], store[PATH_MAX];
	struct vs_error err = { 0 };
	struct ctl_server *srv = NULL;
	struct vs_store *s = NULL;
	struct vs_config cfg;
	struct fixture f = { 0 };
	struct job j = { 0 };
	char longname[121];

	(void)state;
	memset(longname, 'd', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	tu_mkdtemp(base);
	tu_mkdir(tu_join(deep, base, longname));
	tu_join(store, deep, "store");
	tu_config_small(&cfg);
	assert_int_equal(vs_store_create(store, &cfg, &err), 0);
	assert_int_equal(vs_store_open(store, &s, &err), 0);
	assert_int_equal(ctl_server_start(s, &srv, &err), 0);
	assert_true(tu_exists(tu_join(f.sock, store, CTL_SOCKET_NAME)));

	f.env = &(struct tu_env){ 0 };
	snprintf(f.env->dir, sizeof(f.env->dir), "%s", base);
	snprintf(f.env->store_path, sizeof(f.env->store_path), "%s", store);
	snprintf(f.work, sizeof(f.work), "%s", deep);
	FORWARD(&f, &j, "list", "--json");
	expect_status(&f, &j, 0);
	assert_string_equal(j.out.data, "[]\n");
	job_release(&j);

	ctl_server_stop(srv);
	assert_false(tu_exists(f.sock));
	vs_store_close(s);
	tu_rm_rf(base);
}

/* --- malformed requests -------------------------------------------------- */

static int raw_connect(const char *store)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s", store,
		 CTL_SOCKET_NAME);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static void put32(struct vs_buf *b, uint32_t v)
{
	uint8_t u[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16),
			 (uint8_t)(v >> 24) };

	vs_buf_add(b, u, 4);
}

/* A header; len UINT32_MAX means "the payload's real length". */
static void header(struct vs_buf *b, uint32_t version, uint32_t flags,
		   const struct vs_buf *payload, uint32_t len)
{
	vs_buf_add(b, "VRV1", 4);
	put32(b, version);
	put32(b, flags);
	put32(b, len == UINT32_MAX ? (uint32_t)payload->len : len);
}

/* umask, argc, envc and the strings (each with its NUL). */
static void payload(struct vs_buf *b, uint32_t argc, uint32_t envc,
		    const char *const *strs, size_t n)
{
	size_t i;

	put32(b, 022);
	put32(b, argc);
	put32(b, envc);
	for (i = 0; i < n; i++)
		vs_buf_add(b, strs[i], strlen(strs[i]) + 1);
}

/*
 * Sends <data, len> (fds attached if nfds > 0), optionally shuts down the
 * sending side, and reads the reply's status; what reached the stderr
 * descriptor (a pipe; stdin and stdout are /dev/null) goes to errout.
 * Returns the status.
 */
static int exchange(const char *store, const struct vs_buf *data,
		    int nfds, bool shut, struct vs_buf *errout)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * 4)];
	} ctl;
	struct iovec iov = { data->data, data->len };
	struct msghdr msg = { 0 };
	uint8_t reply[12];
	int fd = raw_connect(store), p[2], fds[4], nul;
	size_t got = 0;
	char tmp[512];
	ssize_t n;

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	nul = open("/dev/null", O_RDWR | O_CLOEXEC);
	assert_true(nul >= 0);
	fds[0] = nul;
	fds[1] = nul;
	fds[2] = p[1];
	fds[3] = nul;
	memset(&ctl, 0, sizeof(ctl));
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	if (nfds > 0) {
		struct cmsghdr *cm;

		msg.msg_control = ctl.buf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
		cm = CMSG_FIRSTHDR(&msg);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * (size_t)nfds);
	}
	assert_int_equal(sendmsg(fd, &msg, MSG_NOSIGNAL), (ssize_t)data->len);
	if (shut)
		shutdown(fd, SHUT_WR);
	close(nul);
	close(p[1]);
	while (got < sizeof(reply)) {
		n = recv(fd, reply + got, sizeof(reply) - got, 0);
		assert_true(n > 0);
		got += (size_t)n;
	}
	close(fd);
	assert_memory_equal(reply, "VRV1", 4);
	vs_buf_reset(errout);
	while ((n = read(p[0], tmp, sizeof(tmp))) > 0)
		vs_buf_add(errout, tmp, (size_t)n);
	close(p[0]);
	return (int)(reply[4] | reply[5] << 8 | reply[6] << 16 |
		     (uint32_t)reply[7] << 24);
}

static void test_malformed(void **state)
{
	struct fixture *f = *state;
	const char *store = f->env->store_path;
	const char *good[] = { "/", "list", "--json" };
	const char *noeq[] = { "/", "list", "NOEQUALS" };
	const char *rel[] = { "relative", "list" };
	struct vs_buf b = VS_BUF_INIT, pl = VS_BUF_INIT, err = VS_BUF_INIT;
	struct job j = { 0 };

	/* A well-formed hand-made request runs: the cases below fail only
	 * for what they break. */
	payload(&pl, 2, 0, good, 3);
	header(&b, 1, 0, &pl, UINT32_MAX);
	vs_buf_add(&b, pl.data, pl.len);
	assert_int_equal(exchange(store, &b, 3, false, &err), 0);
	assert_string_equal(err.data, "");

	/* Garbage, no descriptors. */
	vs_buf_reset(&b);
	vs_buf_addstr(&b, "GARBAGE!GARBAGE!GARBAGE!");
	assert_int_equal(exchange(store, &b, 0, false, &err), 2);
	/* Garbage with descriptors: an error line on stderr. */
	assert_int_equal(exchange(store, &b, 3, false, &err), 2);
	assert_non_null(strstr(err.data, "varve: error: malformed request"));
	/* A short header, then the peer stops sending. */
	vs_buf_reset(&b);
	vs_buf_addstr(&b, "VRV1\x01");
	assert_int_equal(exchange(store, &b, 3, true, &err), 2);
	assert_non_null(strstr(err.data, "incomplete header"));

	/* Another protocol version. */
	vs_buf_reset(&b);
	header(&b, 99, 0, &pl, UINT32_MAX);
	vs_buf_add(&b, pl.data, pl.len);
	assert_int_equal(exchange(store, &b, 3, false, &err), 2);
	assert_non_null(strstr(err.data, "version 99"));
	/* Unknown flags. */
	vs_buf_reset(&b);
	header(&b, 1, 0x100, &pl, UINT32_MAX);
	vs_buf_add(&b, pl.data, pl.len);
	assert_int_equal(exchange(store, &b, 3, false, &err), 2);
	/* Wrong descriptor counts. */
	vs_buf_reset(&b);
	header(&b, 1, 0, &pl, UINT32_MAX);
	vs_buf_add(&b, pl.data, pl.len);
	assert_int_equal(exchange(store, &b, 2, false, &err), 2);
	assert_int_equal(exchange(store, &b, 4, false, &err), 2);
	assert_non_null(strstr(err.data, "descriptors"));
	assert_int_equal(exchange(store, &b, 0, false, &err), 2);
	/* A payload too large, too small, or cut short. */
	vs_buf_reset(&b);
	header(&b, 1, 0, &pl, 0xffffffffu - 1);
	assert_int_equal(exchange(store, &b, 3, false, &err), 2);
	assert_non_null(strstr(err.data, "payload"));
	vs_buf_reset(&b);
	header(&b, 1, 0, &pl, 4);
	assert_int_equal(exchange(store, &b, 3, false, &err), 2);
	vs_buf_reset(&b);
	header(&b, 1, 0, &pl, 100);
	vs_buf_add(&b, pl.data, 10);
	assert_int_equal(exchange(store, &b, 3, true, &err), 2);
	assert_non_null(strstr(err.data, "truncated"));
	/* Counts that disagree with the strings. */
	vs_buf_reset(&pl);
	payload(&pl, 0, 0, good, 3);
	vs_buf_reset(&b);
	header(&b, 1, 0, &pl, UINT32_MAX);
	vs_buf_add(&b, pl.data, pl.len);
	assert_int_equal(exchange(store, &b, 3, false, &err), 2);
	vs_buf_reset(&pl);
	payload(&pl, 3, 0, good, 3);
	vs_buf_reset(&b);
	header(&b, 1, 0, &pl, UINT32_MAX);
	vs_buf_add(&b, pl.data, pl.len);
	assert_int_equal(exchange(store, &b, 3, false, &err), 2);
	vs_buf_reset(&pl);
	payload(&pl, 1, 0x7fffffff, good, 3);
	vs_buf_reset(&b);
	header(&b, 1, 0, &pl, UINT32_MAX);
	vs_buf_add(&b, pl.data, pl.len);
	assert_int_equal(exchange(store, &b, 3, false, &err), 2);
	/* Trailing bytes, a bad environment entry, a relative cwd, a string
	 * without its NUL. */
	vs_buf_reset(&pl);
	payload(&pl, 1, 0, good, 3);
	vs_buf_reset(&b);
	header(&b, 1, 0, &pl, UINT32_MAX);
	vs_buf_add(&b, pl.data, pl.len);
	assert_int_equal(exchange(store, &b, 3, false, &err), 2);
	assert_non_null(strstr(err.data, "trailing"));
	vs_buf_reset(&pl);
	payload(&pl, 1, 1, noeq, 3);
	vs_buf_reset(&b);
	header(&b, 1, 0, &pl, UINT32_MAX);
	vs_buf_add(&b, pl.data, pl.len);
	assert_int_equal(exchange(store, &b, 3, false, &err), 2);
	vs_buf_reset(&pl);
	payload(&pl, 1, 0, rel, 2);
	vs_buf_reset(&b);
	header(&b, 1, 0, &pl, UINT32_MAX);
	vs_buf_add(&b, pl.data, pl.len);
	assert_int_equal(exchange(store, &b, 3, false, &err), 2);
	vs_buf_reset(&pl);
	payload(&pl, 2, 0, good, 3);
	vs_buf_setlen(&pl, pl.len - 1);
	vs_buf_reset(&b);
	header(&b, 1, 0, &pl, UINT32_MAX);
	vs_buf_add(&b, pl.data, pl.len);
	assert_int_equal(exchange(store, &b, 3, false, &err), 2);
	/* A store option and a cwd descriptor are accepted. */
	{
		const char *withopt[] = { "/", "/some/store", "list" };

		vs_buf_reset(&pl);
		payload(&pl, 1, 0, withopt, 3);
		vs_buf_reset(&b);
		header(&b, 1, 2 | 4, &pl, UINT32_MAX);
		vs_buf_add(&b, pl.data, pl.len);
		/* the 4th descriptor is /dev/null: not a directory */
		assert_int_equal(exchange(store, &b, 4, false, &err), 0);
	}

	/* The server still serves. */
	FORWARD(f, &j, "list", "--json");
	expect_status(f, &j, 0);
	job_release(&j);
	vs_buf_release(&b);
	vs_buf_release(&pl);
	vs_buf_release(&err);
}

/* --- main()'s hook -------------------------------------------------------- */

static void test_cli_forward(void **state)
{
	struct fixture *f = *state;
	char *list[] = { "list", "--json", NULL };
	char *help[] = { "help", NULL };
	char *nosuch[] = { "nosuch", NULL };
	char nostore[PATH_MAX];
	struct cmd_ctx ctx = { 0 };
	int res[2], got[2] = { -1, -1 }, st, status = -7;
	pid_t pid;

	ctx.in = stdin;
	ctx.out = stdout;
	ctx.err = stderr;
	ctx.cwd = f->work;
	ctx.envp = test_env;
	ctx.store_opt = f->env->store_path;

	/* Commands without a store, unknown ones, and no store: local. */
	assert_false(ctl_cli_forward(&ctx, 1, help, &status));
	assert_false(ctl_cli_forward(&ctx, 1, nosuch, &status));
	ctx.store_opt = tu_join(nostore, f->env->dir, "nostore");
	assert_false(ctl_cli_forward(&ctx, 2, list, &status));
	assert_int_equal(status, -7);
	ctx.store_opt = f->env->store_path;

	assert_int_equal(pipe2(res, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int out = open("/dev/null", O_WRONLY);

		if (out < 0 || dup2(out, 1) < 0)
			_exit(3);
		got[0] = ctl_cli_forward(&ctx, 2, list, &got[1]);
		if (write(res[1], got, sizeof(got)) != sizeof(got))
			_exit(4);
		_exit(0);
	}
	close(res[1]);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_int_equal(read(res[0], got, sizeof(got)), (ssize_t)sizeof(got));
	close(res[0]);
	assert_int_equal(got[0], 1);
	assert_int_equal(got[1], 0);
}

/* --- help, from the command table ---------------------------------------- */

/* What was written to f, a tmpfile(), which it closes (caller frees). */
static char *slurp(FILE *f)
{
	struct vs_buf b = VS_BUF_INIT;
	char chunk[4096];
	size_t n;

	rewind(f);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		vs_buf_add(&b, chunk, n);
	assert_false(ferror(f));
	fclose(f);
	return vs_buf_detach(&b, NULL);
}

/* The help of cmd (caller frees). */
static char *help_of(const struct cli_command *cmd)
{
	FILE *f = tmpfile();

	assert_non_null(f);
	cli_print_help(f, cmd);
	return slurp(f);
}

/* True if word is in text, not as part of a longer option or word. */
static bool has_word(const char *text, const char *word)
{
	size_t n = strlen(word);
	const char *p;

	for (p = strstr(text, word); p; p = strstr(p + 1, word)) {
		unsigned char before = p == text ? ' ' : p[-1], after = p[n];

		if (!isalnum(before) && before != '-' && !isalnum(after) &&
		    after != '-')
			return true;
	}
	return false;
}

/* cli_getopt on { cmd, opt, "v" } returns want, with "v" as its value. */
static void expect_parsed(struct cmd_ctx *ctx, const struct cli_command *cmd,
			  const char *opt, const struct cli_opt *want)
{
	char *argv[] = { (char *)cmd->name, (char *)opt, "v", NULL };
	struct cli_args a;
	int id;

	cli_args_init(&a, 3, argv);
	id = cli_getopt(ctx, &a, cmd->opts);
	if (id != want->id)
		fprintf(stderr, "varve %s %s: id %d, not %d\n", cmd->name, opt,
			id, want->id);
	assert_int_equal(id, want->id);
	if (want->arg)
		assert_string_equal(a.arg, "v");
	else
		assert_int_equal(a.i, 2);
}

/*
 * For every command of the table: its options table is sound (ids, names
 * and help lines), the usage line and the options section of its help
 * name every option, the parser returns each option by each of its names,
 * help lines fit 80 columns, and `CMD --help` prints that very help.
 */
static void test_help_tables(void **state)
{
	const struct cli_command *cmds, *cmd;
	struct cmd_ctx ctx = { 0 };
	size_t n, i;

	(void)state;
	cmds = cli_commands(&n);
	assert_true(n >= 20);
	ctx.err = fopen("/dev/null", "w");
	assert_non_null(ctx.err);
	for (cmd = cmds; cmd < cmds + n; cmd++) {
		char *help = help_of(cmd), *out, *line, *nl;
		char *argv[] = { (char *)cmd->name, "--help", NULL };
		const char *usage_end = strchr(help, '\n'), *opts_part;
		char usage[1024], name[80];
		const struct cli_opt *o, *p;

		assert_ptr_equal(cli_find_command(cmd->name), cmd);
		assert_true(cmd->summary[0] && !strchr(cmd->summary, '\n'));
		for (i = 0; i < (size_t)(cmd - cmds); i++)
			assert_string_not_equal(cmds[i].name, cmd->name);

		/* The usage line, then an options section iff it has some. */
		snprintf(name, sizeof(name), "usage: varve %s", cmd->name);
		assert_memory_equal(help, name, strlen(name));
		assert_non_null(usage_end);
		snprintf(usage, sizeof(usage), "%.*s", (int)(usage_end - help),
			 help);
		opts_part = strstr(help, "\noptions:\n");
		assert_true((opts_part != NULL) == (cmd->opts[0].id != 0));

		for (o = cmd->opts; o->id; o++) {
			assert_true(o->id > 0 && o->id < CLI_MAX_OPT_ID);
			assert_true(o->long_name || o->short_name);
			assert_true(!(o->flags & CLI_OPT_SHORT) ||
				    o->short_name);
			assert_true(o->help && o->help[0]);
			for (p = cmd->opts; p < o; p++) {
				assert_int_not_equal(p->id, o->id);
				assert_true(!o->short_name ||
					    p->short_name != o->short_name);
				assert_true(!o->long_name || !p->long_name ||
					    strcmp(p->long_name, o->long_name));
			}
			if (o->long_name) {
				snprintf(name, sizeof(name), "--%s",
					 o->long_name);
				assert_true(has_word(opts_part, name));
				expect_parsed(&ctx, cmd, name, o);
				if (!(o->flags & CLI_OPT_SHORT) &&
				    !has_word(usage, name))
					fail_msg("'%s' does not show %s", usage,
						 name);
			}
			if (o->short_name) {
				snprintf(name, sizeof(name), "-%c",
					 o->short_name);
				assert_true(has_word(opts_part, name));
				expect_parsed(&ctx, cmd, name, o);
				if ((o->flags & CLI_OPT_SHORT) &&
				    !has_word(usage, name))
					fail_msg("'%s' does not show %s", usage,
						 name);
			}
		}

		/* Every line but the usage line fits 80 columns. */
		for (line = (char *)usage_end + 1; *line; line = nl + 1) {
			nl = strchr(line, '\n');
			assert_non_null(nl);
			if (nl - line > 79)
				fail_msg("varve %s --help: '%.*s' is too long",
					 cmd->name, (int)(nl - line), line);
		}

		/* `CMD --help` through cli_run prints the same, exit 0. */
		ctx.out = tmpfile();
		assert_non_null(ctx.out);
		ctx.cmd = NULL;
		assert_int_equal(cli_run(&ctx, 2, argv), CLI_OK);
		out = slurp(ctx.out);
		assert_string_equal(out, help);
		free(out);
		free(help);
	}
	fclose(ctx.err);
}

/* commit without --from commits the staged changes: --from is optional. */
static void test_help_commit(void **state)
{
	char *help = help_of(cli_find_command("commit"));
	const char *from;

	(void)state;
	assert_null(strstr(help, "required"));
	assert_non_null(strstr(help, "[--from DIR]"));
	from = strstr(help, "\n      --from DIR");
	assert_non_null(from);
	assert_non_null(strstr(from, "staged"));
	free(help);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_list_and_create, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_usage_errors, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_cwd_and_env, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_broken_pipe, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_concurrent, setup,
						teardown),
		cmocka_unit_test(test_stale_socket),
		cmocka_unit_test(test_start_over_stale),
		cmocka_unit_test_setup_teardown(test_second_server, setup,
						teardown),
		cmocka_unit_test(test_long_path),
		cmocka_unit_test_setup_teardown(test_malformed, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_cli_forward, setup,
						teardown),
		cmocka_unit_test(test_help_tables),
		cmocka_unit_test(test_help_commit),
	};

	/* As libfuse's handlers do in the daemon; forked clients restore
	 * the default. */
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
