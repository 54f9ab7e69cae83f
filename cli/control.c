/*
 * control.c - the control socket between the varve CLI and the mount
 * daemon that holds the store (control.h has the wire format and the
 * invariants).  The server half runs inside the daemon and calls cli_run()
 * for each request in its own thread; the client half runs in main() before
 * a command would open the store itself.
 */
#include "control.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "control_int.h"
#include "fileio.h"
#include "banned.h"

#define CTL_MAGIC "VRV1"
#define CTL_MAGIC_LEN 4
#define CTL_HDR_LEN 16
#define CTL_REPLY_LEN 12
#define CTL_FIXED_LEN 12	/* umask, argc, envc at the payload's start */
#define CTL_STD_FDS 3
#define CTL_BACKLOG 64
/* A worker waits this long for a request's bytes, and for a reply send. */
#define CTL_IO_TIMEOUT_S 30

enum ctl_reply_flags {
	CTL_REP_SIGPIPE = 1 << 0,
};

struct ctl_server {
	struct vs_store *store;		/* borrowed */
	int dir_fd;			/* the store directory (O_PATH) */
	int listen_fd;
	int wake[2];			/* ctl_server_stop -> accept thread */
	dev_t sock_dev;			/* our control.sock (invariant 1) */
	ino_t sock_ino;
	pthread_t accept_thread;
	pthread_mutex_t lock;
	pthread_cond_t idle;		/* running dropped to 0 */
	unsigned running;		/* live worker threads; under lock */
};

/* What a worker thread gets: the server and the accepted connection. */
struct ctl_conn {
	struct ctl_server *srv;
	int fd;
};

static _Thread_local bool in_daemon;

/* Serialises forwarded commands where unshare(CLONE_FS) is refused. */
static pthread_mutex_t shared_cwd_lock = PTHREAD_MUTEX_INITIALIZER;

bool ctl_in_daemon(void)
{
	return in_daemon;
}

/* --- bytes ---------------------------------------------------------------- */

static void put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static uint32_t get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static void buf_add_u32(struct vs_buf *b, uint32_t v)
{
	uint8_t u[4];

	put_u32(u, v);
	vs_buf_add(b, u, sizeof(u));
}

/* Sends all of <p, len> on a socket.  0 or -errno. */
static int send_all(int fd, const void *p, size_t len)
{
	const char *c = p;

	while (len > 0) {
		ssize_t n = send(fd, c, len, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		c += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Receives exactly len bytes.  0, -ECONNRESET if the peer closed first,
 * -EAGAIN on a receive timeout, or another -errno.
 */
static int recv_all(int fd, void *p, size_t len)
{
	char *c = p;

	while (len > 0) {
		ssize_t n = recv(fd, c, len, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -ECONNRESET;
		c += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Writes s to fd (a pipe, tty or file of the client's), best effort. */
static void write_text(int fd, const char *s)
{
	(void)vs_write_all(fd, s, strlen(s));
}

/* --- the socket's address ------------------------------------------------- */

/*
 * The address of name inside dir (opened as dir_fd): the plain path when it
 * fits sun_path, else the same file reached through /proc/self/fd.
 * 0 or -ENAMETOOLONG.
 */
static int sock_addr(int dir_fd, const char *dir, const char *name,
		     struct sockaddr_un *sa, socklen_t *len)
{
	int n;

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	n = snprintf(sa->sun_path, sizeof(sa->sun_path), "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= sizeof(sa->sun_path))
		n = snprintf(sa->sun_path, sizeof(sa->sun_path),
			     "/proc/self/fd/%d/%s", dir_fd, name);
	if (n < 0 || (size_t)n >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
			   (size_t)n + 1);
	return 0;
}

/*
 * Connects to dir's control socket.  Returns the connected descriptor, or
 * -ENOENT (no socket), -ENOTSOCK (something else has the name),
 * -ECONNREFUSED (a stale socket: *st describes it) or another -errno.
 */
static int sock_connect(int dir_fd, const char *dir, struct stat *st)
{
	struct sockaddr_un sa;
	socklen_t len;
	int fd, r;

	if (fstatat(dir_fd, CTL_SOCKET_NAME, st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (!S_ISSOCK(st->st_mode))
		return -ENOTSOCK;
	r = sock_addr(dir_fd, dir, CTL_SOCKET_NAME, &sa, &len);
	if (r < 0)
		return r;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	while ((r = connect(fd, (struct sockaddr *)&sa, len)) < 0 &&
	       errno == EINTR)
		;
	if (r < 0 && errno != EISCONN) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

/* Removes dir's control socket if it is still the stale one st describes. */
static void remove_stale(int dir_fd, const struct stat *st)
{
	struct stat now;

	if (fstatat(dir_fd, CTL_SOCKET_NAME, &now, AT_SYMLINK_NOFOLLOW) == 0 &&
	    now.st_dev == st->st_dev && now.st_ino == st->st_ino)
		unlinkat(dir_fd, CTL_SOCKET_NAME, 0);
}

/* --- the server: reading a request ---------------------------------------- */

static void request_init(struct ctl_request *req)
{
	int i;

	memset(req, 0, sizeof(*req));
	for (i = 0; i < CTL_MAX_FDS; i++)
		req->fds[i] = -1;
}

static void request_release(struct ctl_request *req)
{
	int i;

	for (i = 0; i < CTL_MAX_FDS; i++)
		if (req->fds[i] >= 0)
			close(req->fds[i]);
	free(req->payload);
	free(req->argv);
	free(req->envp);
	request_init(req);
}

/*
 * Reads the header and the descriptors attached to it; every descriptor
 * beyond CTL_MAX_FDS is closed and counted in *extra.  0, or the -errno of
 * recv_all; *lost is set if the kernel had to drop descriptors.
 */
static int recv_header(int fd, uint8_t hdr[CTL_HDR_LEN],
		       struct ctl_request *req, int *extra, bool *lost)
{
	size_t got = 0;

	while (got < CTL_HDR_LEN) {
		union {
			struct cmsghdr align;
			char buf[CMSG_SPACE(sizeof(int) * 2 * CTL_MAX_FDS)];
		} ctl;
		struct iovec iov = { hdr + got, CTL_HDR_LEN - got };
		struct msghdr msg = { 0 };
		struct cmsghdr *cm;
		ssize_t n;

		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		msg.msg_control = ctl.buf;
		msg.msg_controllen = sizeof(ctl.buf);
		n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (msg.msg_flags & MSG_CTRUNC)
			*lost = true;
		for (cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
			size_t k, cnt;

			if (cm->cmsg_level != SOL_SOCKET ||
			    cm->cmsg_type != SCM_RIGHTS)
				continue;
			cnt = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			for (k = 0; k < cnt; k++) {
				int rfd;

				memcpy(&rfd, CMSG_DATA(cm) + k * sizeof(int),
				       sizeof(int));
				if (req->nfds < CTL_MAX_FDS) {
					req->fds[req->nfds++] = rfd;
				} else {
					close(rfd);
					(*extra)++;
				}
			}
		}
		if (n == 0)
			return -ECONNRESET;
		got += (size_t)n;
	}
	return 0;
}

/* The next NUL-terminated string of c, or NULL (c is then bad). */
static char *take_str(struct vs_cursor *c)
{
	const uint8_t *p, *nul;
	size_t left = vs_cursor_left(c);

	if (!vs_cursor_ok(c) || left == 0) {
		c->bad = true;
		return NULL;
	}
	p = c->p + c->off;
	nul = memchr(p, 0, left);
	if (!nul) {
		c->bad = true;
		return NULL;
	}
	return (char *)vs_cursor_take(c, (size_t)(nul - p) + 1);
}

static uint32_t take_u32(struct vs_cursor *c)
{
	const uint8_t *p = vs_cursor_take(c, 4);

	return p ? get_u32(p) : 0;
}

const char *ctl_parse_payload(struct ctl_request *req, size_t len)
{
	struct vs_cursor c;
	uint32_t i;

	vs_cursor_init(&c, req->payload, len);
	req->umask = take_u32(&c);
	req->argc = take_u32(&c);
	req->envc = take_u32(&c);
	if (!vs_cursor_ok(&c))
		return "truncated payload";
	if (req->umask & ~(uint32_t)0777)
		return "bad umask";
	/* Each string takes at least one byte: this bounds the arrays. */
	if (req->argc == 0 ||
	    (uint64_t)req->argc + req->envc > vs_cursor_left(&c))
		return "bad argument or environment count";
	req->argv = calloc((size_t)req->argc + 1, sizeof(char *));
	req->envp = calloc((size_t)req->envc + 1, sizeof(char *));
	if (!req->argv || !req->envp)
		return "out of memory";
	req->cwd = take_str(&c);
	if (req->flags & CTL_REQ_STORE_OPT)
		req->store_opt = take_str(&c);
	for (i = 0; i < req->argc; i++)
		req->argv[i] = take_str(&c);
	for (i = 0; i < req->envc; i++) {
		const char *eq;

		req->envp[i] = take_str(&c);
		if (!req->envp[i])
			break;
		eq = strchr(req->envp[i], '=');
		if (!eq || eq == req->envp[i])
			return "environment entry without a name";
	}
	if (!vs_cursor_ok(&c))
		return "truncated payload";
	if (vs_cursor_left(&c) != 0)
		return "trailing bytes after the environment";
	if (!*req->cwd)
		return "empty working directory";
	if (!(req->flags & CTL_REQ_CWD_FD) && req->cwd[0] != '/')
		return "relative working directory";
	if (!*req->argv[0])
		return "empty command name";
	return NULL;
}

/*
 * Reads and checks a whole request (invariant 3).  Returns 0, or CLI_USAGE
 * with why[] saying what is malformed or missing.
 */
static int request_read(int fd, struct ctl_request *req, char *why,
			size_t why_size)
{
	uint8_t hdr[CTL_HDR_LEN];
	uint32_t version, len;
	const char *bad;
	bool lost = false;
	int extra = 0, want, r;

	r = recv_header(fd, hdr, req, &extra, &lost);
	if (r < 0) {
		snprintf(why, why_size, "incomplete header (%s)", strerror(-r));
		return CLI_USAGE;
	}
	if (memcmp(hdr, CTL_MAGIC, CTL_MAGIC_LEN)) {
		snprintf(why, why_size, "not a varve request");
		return CLI_USAGE;
	}
	version = get_u32(hdr + 4);
	req->flags = get_u32(hdr + 8);
	len = get_u32(hdr + 12);
	if (version != CTL_PROTO_VERSION) {
		snprintf(why, why_size, "control protocol version %u, the "
			 "daemon speaks %u: restart the mount with this varve",
			 version, CTL_PROTO_VERSION);
		return CLI_USAGE;
	}
	if (req->flags & ~(uint32_t)CTL_REQ_KNOWN) {
		snprintf(why, why_size, "unknown flags 0x%x", req->flags);
		return CLI_USAGE;
	}
	want = CTL_STD_FDS + ((req->flags & CTL_REQ_CWD_FD) ? 1 : 0);
	if (lost || extra || req->nfds != want) {
		snprintf(why, why_size, "%d descriptors instead of %d",
			 req->nfds + extra, want);
		return CLI_USAGE;
	}
	if (len < CTL_FIXED_LEN || len > CTL_MAX_PAYLOAD) {
		snprintf(why, why_size, "payload of %u bytes (%u to %u allowed)",
			 len, CTL_FIXED_LEN, CTL_MAX_PAYLOAD);
		return CLI_USAGE;
	}
	req->payload = malloc(len);
	if (!req->payload) {
		snprintf(why, why_size, "out of memory");
		return CLI_USAGE;
	}
	r = recv_all(fd, req->payload, len);
	if (r < 0) {
		snprintf(why, why_size, "truncated payload (%s)",
			 strerror(-r));
		return CLI_USAGE;
	}
	bad = ctl_parse_payload(req, len);
	if (bad) {
		snprintf(why, why_size, "%s", bad);
		return CLI_USAGE;
	}
	return 0;
}

/* --- the server: running a request ---------------------------------------- */

static int change_dir(const struct ctl_request *req)
{
	if (req->flags & CTL_REQ_CWD_FD) {
		if (fchdir(req->fds[CTL_STD_FDS]) == 0)
			return 0;
	}
	return chdir(req->cwd) < 0 ? -errno : 0;
}

/*
 * Gives the calling worker the client's working directory and umask
 * (invariant 4).  *restore_fd >= 0 means the process-wide directory was
 * changed under shared_cwd_lock: leave_cwd() restores it and unlocks.
 * 0 or -errno.
 */
static int enter_cwd(const struct ctl_request *req, int *restore_fd)
{
	int r;

	*restore_fd = -1;
	if (unshare(CLONE_FS) == 0) {
		umask((mode_t)req->umask);
		return change_dir(req);
	}
	pthread_mutex_lock(&shared_cwd_lock);
	*restore_fd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (*restore_fd < 0) {
		r = -errno;
		goto out_unlock;
	}
	r = change_dir(req);
	if (r == 0)
		return 0;
	close(*restore_fd);
	*restore_fd = -1;
out_unlock:
	pthread_mutex_unlock(&shared_cwd_lock);
	return r;
}

static void leave_cwd(int restore_fd)
{
	if (restore_fd < 0)
		return;	/* the thread's own directory dies with it */
	if (fchdir(restore_fd) < 0) {
		/* NEEDSWORK: log it once the daemon has a log. */
	}
	close(restore_fd);
	pthread_mutex_unlock(&shared_cwd_lock);
}

/*
 * True if f failed because nobody reads its descriptor any more: where a
 * local run would have died of SIGPIPE.  (The daemon may ignore SIGPIPE,
 * as libfuse's signal handlers do, so the signal itself tells nothing.)
 */
static bool stream_broken(FILE *f)
{
	struct pollfd p = { fileno(f), POLLOUT, 0 };

	return ferror(f) && poll(&p, 1, 0) == 1 &&
	       (p.revents & (POLLERR | POLLHUP));
}

/*
 * Wraps the client's descriptors in ctx's streams; they then own them.
 * 0, or -errno leaving the descriptors with req.
 */
static int open_streams(struct ctl_request *req, struct cmd_ctx *ctx)
{
	int r;

	ctx->in = fdopen(req->fds[0], "r");
	if (ctx->in)
		req->fds[0] = -1;
	else	/* stdin open for writing only: give it nothing */
		ctx->in = fopen("/dev/null", "re");
	if (!ctx->in)
		return -errno;
	ctx->out = fdopen(req->fds[1], "w");
	if (!ctx->out)
		goto out_fail;
	req->fds[1] = -1;
	ctx->err_tty = isatty(req->fds[2]);
	ctx->err = fdopen(req->fds[2], "w");
	if (!ctx->err)
		goto out_fail;
	req->fds[2] = -1;
	/* Like the process's stderr: unbuffered, so it interleaves. */
	setvbuf(ctx->err, NULL, _IONBF, 0);
	return 0;
out_fail:
	r = -errno;
	if (ctx->out) {
		fclose(ctx->out);
		ctx->out = NULL;
	}
	if (ctx->in) {
		fclose(ctx->in);
		ctx->in = NULL;
	}
	return r;
}

/*
 * Watches the connection of a running request: once the client is gone (a
 * ^C or a kill ends the client, not the daemon) it sets cancel, which the
 * long commands poll, and points the client's stdout and stderr, whoever
 * holds them now, at /dev/null, so that nothing appears after the shell
 * prompt: the command stops as it would have in the client's own process.
 */
struct watch {
	int conn, out, err;
	int stop[2];		/* a byte on stop[1] ends the watch */
	atomic_bool cancel;
	pthread_t thread;
	bool running;
};

static void *watch_main(void *arg)
{
	struct watch *w = arg;
	/* No events asked of conn: POLLHUP and POLLERR always come. */
	struct pollfd p[2] = { { w->conn, 0, 0 }, { w->stop[0], POLLIN, 0 } };
	int null_fd;

	for (;;) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return NULL;
		}
		if (p[1].revents)
			return NULL;
		if (p[0].revents & (POLLHUP | POLLERR))
			break;
	}
	null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (null_fd >= 0) {
		dup2(null_fd, w->out);
		dup2(null_fd, w->err);
		close(null_fd);
	}
	atomic_store(&w->cancel, true);
	return NULL;
}

/* Best effort: without a watch a request simply runs to its end. */
static void watch_start(struct watch *w, int conn, const struct cmd_ctx *ctx)
{
	w->conn = conn;
	w->out = fileno(ctx->out);
	w->err = fileno(ctx->err);
	atomic_init(&w->cancel, false);
	w->running = false;
	if (pipe2(w->stop, O_CLOEXEC) < 0)
		return;
	w->running = !pthread_create(&w->thread, NULL, watch_main, w);
	if (!w->running) {
		close(w->stop[0]);
		close(w->stop[1]);
	}
}

/* Ends the watch; true if the client had gone. */
static bool watch_stop(struct watch *w)
{
	if (w->running) {
		if (write(w->stop[1], "", 1) < 0)
			abort();	/* cannot be: a fresh pipe has room */
		pthread_join(w->thread, NULL);
		close(w->stop[0]);
		close(w->stop[1]);
		w->running = false;
	}
	return atomic_load(&w->cancel);
}

/* Runs a checked request from connection conn; returns its exit status. */
static int run_request(struct vs_store *store, int conn,
		       struct ctl_request *req, uint32_t *reply_flags)
{
	struct cmd_ctx ctx = { 0 };
	struct watch w;
	char msg[256];
	int restore_fd, status, r;

	r = open_streams(req, &ctx);
	if (r < 0) {
		snprintf(msg, sizeof(msg), "varve: error: the mount daemon "
			 "cannot use the command's streams (%s)\n",
			 strerror(-r));
		write_text(req->fds[2], msg);
		return CLI_FAIL;
	}
	r = enter_cwd(req, &restore_fd);
	if (r < 0) {
		fprintf(ctx.err, "varve: error: the mount daemon cannot enter "
			"'%s' (%s)\n", req->cwd, strerror(-r));
		status = CLI_FAIL;
		goto out_close;
	}
	ctx.cwd = req->cwd;
	ctx.store_opt = req->store_opt;
	ctx.envp = req->envp;
	ctx.quiet = req->flags & CTL_REQ_QUIET;
	ctx.store = store;
	ctx.store_borrowed = true;
	watch_start(&w, conn, &ctx);
	ctx.cancel = &w.cancel;
	in_daemon = true;
	status = cli_run(&ctx, (int)req->argc, req->argv);
	in_daemon = false;
	if (watch_stop(&w))
		fprintf(stderr, "varve: a forwarded '%s' stopped: its client "
			"went away (exit status %d)\n",
			ctx.cmd ? ctx.cmd->name : "command", status);
	leave_cwd(restore_fd);
out_close:
	if (stream_broken(ctx.out) || stream_broken(ctx.err))
		*reply_flags |= CTL_REP_SIGPIPE;
	fclose(ctx.in);
	fclose(ctx.out);
	fclose(ctx.err);
	return status;
}

/* Serves the connection fd: one request, one reply. */
static void serve(struct vs_store *store, int fd)
{
	struct timeval tv = { CTL_IO_TIMEOUT_S, 0 };
	uint8_t reply[CTL_REPLY_LEN];
	struct ctl_request req;
	uint32_t reply_flags = 0;
	char why[256], msg[512];
	int status;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	request_init(&req);
	/* Even a peer that hung up gets its answer: it may only have shut
	 * down its sending side. */
	status = request_read(fd, &req, why, sizeof(why));
	if (status == 0) {
		status = run_request(store, fd, &req, &reply_flags);
	} else if (req.nfds >= CTL_STD_FDS) {
		snprintf(msg, sizeof(msg), "varve: error: malformed request "
			 "to the mount daemon (%s)\n", why);
		write_text(req.fds[2], msg);
	}
	/* The client's descriptors are closed before it learns the status. */
	request_release(&req);
	memcpy(reply, CTL_MAGIC, CTL_MAGIC_LEN);
	put_u32(reply + 4, (uint32_t)status);
	put_u32(reply + 8, reply_flags);
	send_all(fd, reply, sizeof(reply));
}

/* --- the server: threads -------------------------------------------------- */

/* Unused when NDEBUG compiles the asserts away. */
__attribute__((unused))
static bool ctl_server_invariants(const struct ctl_server *srv)
{
	return srv->store && srv->dir_fd >= 0 && srv->listen_fd >= 0 &&
	       srv->wake[0] >= 0 && srv->wake[1] >= 0;
}

static void worker_done(struct ctl_server *srv)
{
	pthread_mutex_lock(&srv->lock);
	if (--srv->running == 0)
		pthread_cond_broadcast(&srv->idle);
	pthread_mutex_unlock(&srv->lock);
}

static void *worker_main(void *arg)
{
	struct ctl_conn *c = arg;
	struct ctl_server *srv = c->srv;

	serve(srv->store, c->fd);
	close(c->fd);
	free(c);
	worker_done(srv);	/* srv may be freed from here on */
	return NULL;
}

/* Starts a detached worker for the connection fd (closed on failure). */
static void start_worker(struct ctl_server *srv, int fd)
{
	struct ctl_conn *c = malloc(sizeof(*c));
	pthread_attr_t attr;
	pthread_t t;
	int r;

	if (!c) {
		close(fd);
		return;
	}
	c->srv = srv;
	c->fd = fd;
	pthread_mutex_lock(&srv->lock);
	srv->running++;
	pthread_mutex_unlock(&srv->lock);
	r = pthread_attr_init(&attr);
	if (r == 0) {
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		r = pthread_create(&t, &attr, worker_main, c);
		pthread_attr_destroy(&attr);
	}
	if (r != 0) {
		/* NEEDSWORK: log it once the daemon has a log. */
		close(fd);
		free(c);
		worker_done(srv);
	}
}

/*
 * Accepts one connection and starts its worker; a peer of another user is
 * dropped unread (invariant 2).  0 or the -errno of accept4().
 */
static int accept_one(struct ctl_server *srv)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	int fd;

	assert(ctl_server_invariants(srv));
	fd = accept4(srv->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 ||
	    (cred.uid != geteuid() && cred.uid != 0)) {
		close(fd);
		return 0;
	}
	start_worker(srv, fd);
	return 0;
}

static void nap_ms(long ms)
{
	struct timespec ts = { 0, ms * 1000 * 1000 };

	nanosleep(&ts, NULL);
}

static void *accept_main(void *arg)
{
	struct ctl_server *srv = arg;
	int r;

	for (;;) {
		struct pollfd p[2] = {
			{ srv->listen_fd, POLLIN, 0 },
			{ srv->wake[0], POLLIN, 0 },
		};

		if (poll(p, 2, -1) < 0) {
			if (errno != EINTR)
				nap_ms(50);
			continue;
		}
		if (p[1].revents)
			break;
		if (!p[0].revents)
			continue;
		r = accept_one(srv);
		if (r == -EMFILE || r == -ENFILE || r == -ENOBUFS ||
		    r == -ENOMEM)
			nap_ms(50);	/* poll would spin until fds free up */
	}
	/* Serve the connections already queued. */
	if (fcntl(srv->listen_fd, F_SETFL, O_NONBLOCK) == 0) {
		while ((r = accept_one(srv)) == 0 || r == -EINTR ||
		       r == -ECONNABORTED)
			;
	}
	return NULL;
}

/* Unlinks control.sock if it is still ours (invariant 1). */
static void remove_own_socket(struct ctl_server *srv)
{
	struct stat st;

	if (fstatat(srv->dir_fd, CTL_SOCKET_NAME, &st, AT_SYMLINK_NOFOLLOW) ==
		    0 &&
	    st.st_dev == srv->sock_dev && st.st_ino == srv->sock_ino)
		unlinkat(srv->dir_fd, CTL_SOCKET_NAME, 0);
}

/*
 * Binds srv->listen_fd under the temporary name tmp, mode 0600, listening.
 * 0 or -errno; tmp does not exist after a failure.
 */
static int listen_tmp(struct ctl_server *srv, const char *tmp,
		      struct vs_error *err)
{
	const char *dir = vs_store_path(srv->store);
	struct sockaddr_un sa;
	struct stat st;
	socklen_t len;
	int r;

	r = sock_addr(srv->dir_fd, dir, tmp, &sa, &len);
	if (r < 0)
		return vs_error_set(err, r, "cannot name the control socket "
				    "of '%s' (%s)", dir, strerror(-r));
	if (unlinkat(srv->dir_fd, tmp, 0) < 0 && errno != ENOENT)
		return vs_error_set(err, -errno, "cannot remove '%s/%s' (%s)",
				    dir, tmp, strerror(errno));
	srv->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (srv->listen_fd < 0)
		return vs_error_set(err, -errno, "cannot make a socket (%s)",
				    strerror(errno));
	if (bind(srv->listen_fd, (struct sockaddr *)&sa, len) < 0) {
		r = vs_error_set(err, -errno, "cannot bind '%s/%s' (%s)", dir,
				 tmp, strerror(errno));
		goto out_close;
	}
	if (fchmodat(srv->dir_fd, tmp, 0600, 0) < 0 ||
	    fstatat(srv->dir_fd, tmp, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
	    listen(srv->listen_fd, CTL_BACKLOG) < 0) {
		r = vs_error_set(err, -errno, "cannot listen on '%s/%s' (%s)",
				 dir, tmp, strerror(errno));
		goto out_unlink;
	}
	srv->sock_dev = st.st_dev;
	srv->sock_ino = st.st_ino;
	return 0;
out_unlink:
	unlinkat(srv->dir_fd, tmp, 0);
out_close:
	close(srv->listen_fd);
	srv->listen_fd = -1;
	return r;
}

int ctl_server_start(struct vs_store *s, struct ctl_server **out,
		     struct vs_error *err)
{
	struct ctl_server *srv;
	sigset_t pipe_set, old_set;
	struct stat st;
	char tmp[64];
	int r;

	srv = calloc(1, sizeof(*srv));
	if (!srv)
		return vs_error_set(err, -ENOMEM, "out of memory");
	srv->store = s;
	srv->listen_fd = srv->wake[0] = srv->wake[1] = -1;
	srv->dir_fd = open(vs_store_path(s), O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (srv->dir_fd < 0) {
		r = vs_error_set(err, -errno, "cannot open '%s' (%s)", vs_store_path(s),
				 strerror(errno));
		goto out_free;
	}
	r = sock_connect(srv->dir_fd, vs_store_path(s), &st);
	if (r >= 0) {
		close(r);
		r = vs_error_set(err, -EADDRINUSE, "a mount daemon already "
				 "serves the store '%s'", vs_store_path(s));
		goto out_close_dir;
	}
	/* Absent, stale or foreign: the rename below replaces it. */
	snprintf(tmp, sizeof(tmp), CTL_SOCKET_NAME ".%ld.tmp",
		 (long)getpid());
	r = listen_tmp(srv, tmp, err);
	if (r < 0)
		goto out_close_dir;
	if (renameat(srv->dir_fd, tmp, srv->dir_fd, CTL_SOCKET_NAME) < 0) {
		r = vs_error_set(err, -errno, "cannot make '%s/%s' (%s)",
				 vs_store_path(s), CTL_SOCKET_NAME, strerror(errno));
		unlinkat(srv->dir_fd, tmp, 0);
		goto out_close_listen;
	}
	if (pipe2(srv->wake, O_CLOEXEC) < 0) {
		r = vs_error_set(err, -errno, "cannot make a pipe (%s)",
				 strerror(errno));
		goto out_unlink;
	}
	pthread_mutex_init(&srv->lock, NULL);
	pthread_cond_init(&srv->idle, NULL);
	/* The accept thread and the workers it starts inherit the mask. */
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old_set);
	r = pthread_create(&srv->accept_thread, NULL, accept_main, srv);
	pthread_sigmask(SIG_SETMASK, &old_set, NULL);
	if (r != 0) {
		r = vs_error_set(err, -r, "cannot start a thread (%s)",
				 strerror(r));
		goto out_destroy;
	}
	assert(ctl_server_invariants(srv));
	*out = srv;
	return 0;
out_destroy:
	pthread_cond_destroy(&srv->idle);
	pthread_mutex_destroy(&srv->lock);
	close(srv->wake[0]);
	close(srv->wake[1]);
out_unlink:
	remove_own_socket(srv);
out_close_listen:
	close(srv->listen_fd);
out_close_dir:
	close(srv->dir_fd);
out_free:
	free(srv);
	return r;
}

void ctl_server_stop(struct ctl_server *srv)
{
	char c = 0;

	if (!srv)
		return;
	assert(ctl_server_invariants(srv));
	/* New clients find no socket and run locally (store still locked). */
	remove_own_socket(srv);
	while (write(srv->wake[1], &c, 1) < 0 && errno == EINTR)
		;
	pthread_join(srv->accept_thread, NULL);
	pthread_mutex_lock(&srv->lock);
	while (srv->running > 0)
		pthread_cond_wait(&srv->idle, &srv->lock);
	pthread_mutex_unlock(&srv->lock);
	pthread_cond_destroy(&srv->idle);
	pthread_mutex_destroy(&srv->lock);
	close(srv->wake[0]);
	close(srv->wake[1]);
	close(srv->listen_fd);
	close(srv->dir_fd);
	free(srv);
}

/* --- the client ----------------------------------------------------------- */

/*
 * Encodes the request (header and payload) into b.  The caller's umask is
 * read by setting it back at once: the CLI is single-threaded here.
 * 0 or -E2BIG.
 */
static int build_request(struct vs_buf *b, uint32_t flags, const char *cwd,
			 const char *store_opt, int argc, char **argv,
			 char **envp)
{
	mode_t mask = umask(0);
	uint32_t envc = 0;
	size_t envc_off;
	char **e;
	int i;

	umask(mask);
	vs_buf_add(b, CTL_MAGIC, CTL_MAGIC_LEN);
	buf_add_u32(b, CTL_PROTO_VERSION);
	buf_add_u32(b, flags);
	buf_add_u32(b, 0);		/* payload length, set below */
	buf_add_u32(b, (uint32_t)mask & 0777);
	buf_add_u32(b, (uint32_t)argc);
	envc_off = b->len;
	buf_add_u32(b, 0);		/* envc, set below */
	vs_buf_add(b, cwd, strlen(cwd) + 1);
	if (store_opt)
		vs_buf_add(b, store_opt, strlen(store_opt) + 1);
	for (i = 0; i < argc; i++)
		vs_buf_add(b, argv[i], strlen(argv[i]) + 1);
	for (e = envp; e && *e; e++) {
		const char *eq = strchr(*e, '=');

		if (!eq || eq == *e)
			continue;	/* not KEY=VALUE: no command sees it */
		vs_buf_add(b, *e, strlen(*e) + 1);
		envc++;
		if (b->len - CTL_HDR_LEN > CTL_MAX_PAYLOAD)
			return -E2BIG;
	}
	if (b->len - CTL_HDR_LEN > CTL_MAX_PAYLOAD)
		return -E2BIG;
	put_u32((uint8_t *)b->data + 12, (uint32_t)(b->len - CTL_HDR_LEN));
	put_u32((uint8_t *)b->data + envc_off, envc);
	return 0;
}

/* Sends <p, len> with the descriptors attached to its first byte. */
static int send_with_fds(int fd, const char *p, size_t len, const int *fds,
			 int nfds)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * CTL_MAX_FDS)];
	} ctl;
	struct iovec iov = { (void *)p, len };
	struct msghdr msg = { 0 };
	struct cmsghdr *cm;
	ssize_t n;

	memset(&ctl, 0, sizeof(ctl));
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = ctl.buf;
	msg.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
	cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
	memcpy(CMSG_DATA(cm), fds, sizeof(int) * (size_t)nfds);
	while ((n = sendmsg(fd, &msg, MSG_NOSIGNAL)) < 0 && errno == EINTR)
		;
	if (n < 0)
		return -errno;
	return send_all(fd, p + n, len - (size_t)n);
}

/* 0 if the daemon behind fd may see our environment (invariant 2). */
static int check_daemon(int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return -errno;
	if (cred.uid == geteuid() || cred.uid == 0 || geteuid() == 0)
		return 0;
	return -EPERM;
}

int ctl_forward(const char *store_dir, int argc, char **argv, char **envp,
		const char *cwd, bool global_quiet, const char *store_opt,
		int *status)
{
	struct vs_buf req = VS_BUF_INIT;
	uint8_t reply[CTL_REPLY_LEN];
	int fds[CTL_MAX_FDS], nfds = CTL_STD_FDS;
	int dir_fd, fd, null_fd = -1, cwd_fd, i, r;
	uint32_t flags = 0;
	struct stat st;

	/* Before any open() can take a free standard slot: a closed
	 * standard descriptor travels as /dev/null. */
	for (i = 0; i < CTL_STD_FDS; i++) {
		fds[i] = i;
		if (fcntl(i, F_GETFD) >= 0)
			continue;
		if (null_fd < 0)
			null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (null_fd < 0)
			return -errno;
		fds[i] = null_fd;
	}
	dir_fd = open(store_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dir_fd < 0) {
		r = 0;	/* no store there: the local run says so */
		goto out_close_null;
	}
	fd = sock_connect(dir_fd, store_dir, &st);
	if (fd == -ECONNREFUSED)
		remove_stale(dir_fd, &st);
	if (fd == -ENOENT || fd == -ENOTSOCK || fd == -ECONNREFUSED) {
		r = 0;
		goto out_close_dir;
	}
	if (fd < 0) {
		r = fd;
		goto out_close_dir;
	}
	r = check_daemon(fd);
	if (r < 0)
		goto out_close_sock;
	cwd_fd = open(cwd, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (cwd_fd >= 0) {
		fds[nfds++] = cwd_fd;
		flags |= CTL_REQ_CWD_FD;
	}
	if (global_quiet)
		flags |= CTL_REQ_QUIET;
	if (store_opt)
		flags |= CTL_REQ_STORE_OPT;
	r = build_request(&req, flags, cwd, store_opt, argc, argv, envp);
	if (r == 0)
		r = send_with_fds(fd, req.data, req.len, fds, nfds);
	if (cwd_fd >= 0)
		close(cwd_fd);
	if (r < 0)
		goto out_release;
	r = recv_all(fd, reply, sizeof(reply));
	if (r < 0)
		goto out_release;
	if (memcmp(reply, CTL_MAGIC, CTL_MAGIC_LEN)) {
		r = -EPROTO;
		goto out_release;
	}
	*status = (int)(int32_t)get_u32(reply + 4);
	if (get_u32(reply + 8) & CTL_REP_SIGPIPE)
		raise(SIGPIPE);	/* as the local run would have got it */
	r = 1;
out_release:
	vs_buf_release(&req);
out_close_sock:
	close(fd);
out_close_dir:
	close(dir_fd);
out_close_null:
	if (null_fd >= 0)
		close(null_fd);
	return r;
}

static const char *forward_strerror(int r)
{
	switch (r) {
	case -EPERM:
		return "its socket belongs to another user";
	case -ECONNRESET:
		return "the daemon hung up without an answer";
	case -EPROTO:
		return "the daemon answered garbage";
	case -E2BIG:
		return "the command and its environment exceed 16 MiB";
	default:
		return vs_strerror(r);
	}
}

bool ctl_cli_forward(struct cmd_ctx *ctx, int argc, char **argv, int *status)
{
	const struct cli_command *c = cli_find_command(argv[0]);
	struct vs_error e = { 0 };
	char *dir = NULL;
	int r;

	if (!c || (c->flags & (CLI_NO_STORE | CLI_LOCAL)))
		return false;
	/* No store: the local run prints the proper error. */
	if (cli_store_locate(ctx, &dir, &e) < 0)
		return false;
	r = ctl_forward(dir, argc, argv, ctx->envp, ctx->cwd, ctx->quiet,
			ctx->store_opt, status);
	if (r < 0)
		*status = cli_error(ctx, "cannot run '%s' in the mount daemon "
				    "of '%s' (%s)", argv[0], dir,
				    forward_strerror(r));
	free(dir);
	return r != 0;
}
