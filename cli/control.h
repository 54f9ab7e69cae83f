/*
 * control.h - the control socket: how a varve command reaches the mount
 * daemon that holds the store.
 *
 * RocksDB admits one process per store.  While the mount daemon holds it,
 * the daemon serves <store>/control.sock (ctl_server_start); a varve command
 * that finds a live socket there sends its argv, working directory, umask,
 * environment and global options, with its stdin, stdout and stderr
 * descriptors attached (ctl_forward), and the daemon runs the very same
 * cli_run() in a worker thread on the client's streams, with its own open
 * store borrowed.  The client exits with the status the daemon sends back.
 *
 * NOTES ON THE DESIGN
 *
 * Wire format.  One connection carries one command.  Integers are
 * little-endian.
 *
 *   request header (16 bytes, the descriptors attached to its first byte):
 *     0  magic    "VRV1"
 *     4  u32      protocol version (CTL_PROTO_VERSION)
 *     8  u32      flags: 1 quiet (-q), 2 a store option follows the cwd,
 *                 4 a fourth descriptor is the working directory
 *    12  u32      payload length, at most CTL_MAX_PAYLOAD
 *   descriptors (SCM_RIGHTS, one message): stdin, stdout, stderr and, with
 *     flag 4, the client's working directory (O_PATH)
 *   payload:
 *     u32 umask, u32 argc, u32 envc, then NUL-terminated strings:
 *     cwd, [store option], argv[0] .. argv[argc-1], env[0] .. env[envc-1]
 *     (env entries are KEY=VALUE; no bytes may follow the last string)
 *
 *   reply (12 bytes), sent after the command's streams are closed:
 *     0  magic    "VRV1"
 *     4  i32      exit status
 *     8  u32      flags: 1 the command's output hit a broken pipe
 *
 * Invariants:
 *  1. control.sock exists only while a daemon listens on it: it is bound
 *     under a temporary name, made 0600 and listening, then renamed into
 *     place; ctl_server_stop removes it (only if it is still the daemon's
 *     own, compared by inode) before it stops accepting.
 *  2. A connection whose peer uid is neither the daemon's nor root is
 *     closed unread; a client does not send its environment to a daemon
 *     run by another user (unless the client is root).
 *  3. The daemon trusts no byte it reads: every length, count and string
 *     is checked before use; a malformed request gets status CLI_USAGE and,
 *     when the descriptors arrived, one error line on the client's stderr.
 *  4. A command runs with the client's working directory and umask in its
 *     own thread only (unshare(CLONE_FS)), so relative paths in argv mean
 *     what they meant to the client; where the kernel refuses that (some
 *     seccomp profiles), forwarded commands run one at a time with the
 *     process's directory changed for their duration, and the daemon's
 *     umask.
 *  5. SIGPIPE is blocked in the server's threads and every socket send
 *     uses MSG_NOSIGNAL: a client that dies mid-command costs the daemon
 *     nothing but failed writes.  An output stream that failed with its
 *     reader gone (a broken pipe) is reported in the reply, and the client
 *     raises SIGPIPE on itself, as a local run would have died of it.
 *  6. ctl_server_stop returns only when no worker thread touches the
 *     server any more.
 *
 * Transitions of control.sock:
 *   absent  -> live     ctl_server_start (bind tmp, chmod, listen, rename)
 *   stale   -> live     ctl_server_start (the rename replaces it)
 *   live    -> absent   ctl_server_stop
 *   live    -> stale    the daemon dies without ctl_server_stop
 *   stale   -> absent   ctl_forward (connect refused: unlink, run locally)
 *
 * NEEDSWORK: a client killed mid-command (^C) does not cancel the command
 * in the daemon, which runs it to the end; commands have no cancellation
 * point yet.
 */
#ifndef VARVE_CONTROL_H
#define VARVE_CONTROL_H

#include <stdbool.h>

#include "cli.h"
#include "error.h"
#include "store.h"

#define CTL_SOCKET_NAME "control.sock"
#define CTL_PROTO_VERSION 1u
#define CTL_MAX_PAYLOAD (16u << 20)

struct ctl_server;

/*
 * Starts listening on <s->path>/control.sock (mode 0600), replacing a
 * stale socket, and starts an accept thread; each request then runs in its
 * own detached thread with s borrowed (s must outlive ctl_server_stop).
 * *out is freed by ctl_server_stop.  Returns 0, -EADDRINUSE if a live
 * daemon already answers there, or another -errno (with a message in err).
 */
int ctl_server_start(struct vs_store *s, struct ctl_server **out,
		     struct vs_error *err);

/*
 * Removes the socket, stops accepting (connections already queued are still
 * served), waits for the running commands to finish and frees srv.
 * Accepts NULL.
 */
void ctl_server_stop(struct ctl_server *srv);

/*
 * Client side: if a daemon serves store_dir, runs argv (argv[0] = command
 * name) there with this process's stdin/stdout/stderr, envp, cwd and the
 * global options given before the command (-q, --store DIR or NULL), and
 * sets *status to the command's exit status.  If the command's output hit
 * a broken pipe, SIGPIPE is raised in the caller, as a local run would
 * have got it.
 * Returns 1 if the command ran in the daemon, 0 if no daemon serves the
 * store (a stale socket is removed), or a -errno on a failed exchange
 * (-EPERM: the socket's owner is another user; -ECONNRESET: the daemon
 * hung up without an answer; -EPROTO: it answered garbage; -E2BIG: the
 * request exceeds CTL_MAX_PAYLOAD).
 */
int ctl_forward(const char *store_dir, int argc, char **argv, char **envp,
		const char *cwd, bool global_quiet, const char *store_opt,
		int *status);

/*
 * What main() calls before running a command: if ctx's command needs the
 * store (neither CLI_NO_STORE nor CLI_LOCAL) and a daemon serves the store
 * it would open, forwards it.  Returns true with *status set when the
 * command was handled (run by the daemon, or the exchange failed and an
 * error was printed on ctx->err), false to run it locally.
 */
bool ctl_cli_forward(struct cmd_ctx *ctx, int argc, char **argv,
		     int *status);

/*
 * True if the calling thread is running a forwarded command inside the
 * daemon (so that e.g. `mount` can refuse).
 */
bool ctl_in_daemon(void);

#endif
