/*
 * fs.h - the FUSE daemon: every snapshot a directory, writable heads.
 *
 * Mount layout (DESIGN.md):
 *   <mnt>/datasets/<name>/           head of branch main (writable unless
 *                                    read-only)
 *   <mnt>/datasets/<name>@<rev>/     any revision, read-only; resolved on
 *                                    lookup (branch, tag, id, id prefix, ~N)
 *   <mnt>/models/...                 the same for models
 *   <mnt>/history/datasets/<name>/{branches,tags,commits}/<x>
 *                                    symlinks to <name>@<rev>, one per
 *                                    branch, tag and commit: the browsable
 *                                    listing, outside every data directory
 */
#ifndef VARVE_FS_H
#define VARVE_FS_H

#include <stdbool.h>
#include <stddef.h>

#include "store.h"

struct fs_opts {
	const char *mountpoint;
	bool read_only;
	bool allow_other;
	bool debug;
	size_t cache_size;	/* bytes of decompressed chunks */
	/* Called once the mount is live (may be NULL). */
	void (*ready)(void *arg);
	void *ready_arg;
	/* Called when the session starts and stops serving (may be NULL):
	 * the daemon starts/stops its control socket here. */
	int (*started)(void *arg, struct vs_error *err);
	void (*stopping)(void *arg);
	void *hook_arg;
};

/*
 * Mounts the store at opts->mountpoint and serves requests until the file
 * system is unmounted or the process gets SIGTERM/SIGINT/SIGHUP.
 * Returns 0 after a clean unmount, or a negative code (err filled).
 */
int fs_run(struct vs_store *s, const struct fs_opts *opts,
	   struct vs_error *err);

#endif
