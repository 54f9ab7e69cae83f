/*
 * mount.c - set up the FUSE session for a store and serve it.
 */
#include "fs_int.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "banned.h"

int fs_run(struct vs_store *s, const struct fs_opts *opts,
	   struct vs_error *err)
{
	struct fs fs = { 0 };
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	struct fuse_loop_config *cfg = NULL;
	struct vs_buf o = VS_BUF_INIT;
	int r;

	fs.s = s;
	fs.opts = opts;
	fs.uid = getuid();
	fs.gid = getgid();
	fs.mount_time = (uint64_t)time(NULL);
	pthread_mutex_init(&fs.lock, NULL);
	pthread_mutex_init(&fs.head_lock, NULL);
	r = fs_inodes_init(&fs);
	if (r < 0)
		return vs_error_set(err, r, "out of memory");
	fs.cache = fs_cache_new(s, opts->cache_size);
	vs_staging_gc(s, NULL);

	vs_buf_addstr(&o, "fsname=varve,subtype=varve,default_permissions,"
		      "max_read=1048576");
	if (opts->allow_other)
		vs_buf_addstr(&o, ",allow_other");
	if (opts->read_only)
		vs_buf_addstr(&o, ",ro");
	if (fuse_opt_add_arg(&args, "varve") || fuse_opt_add_arg(&args, "-o") ||
	    fuse_opt_add_arg(&args, o.data) ||
	    (opts->debug && fuse_opt_add_arg(&args, "-d"))) {
		r = vs_error_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	fs.se = fuse_session_new(&args, &fs_ops, sizeof(fs_ops), &fs);
	if (!fs.se) {
		r = vs_error_set(err, -EINVAL, "cannot create the FUSE session");
		goto out;
	}
	if (fuse_set_signal_handlers(fs.se) != 0) {
		r = vs_error_set(err, -EINVAL, "cannot set signal handlers");
		goto out_session;
	}
	if (fuse_session_mount(fs.se, opts->mountpoint) != 0) {
		r = vs_error_set(err, -EIO, "cannot mount at '%s' (is /dev/fuse "
				 "available and the directory usable?)",
				 opts->mountpoint);
		goto out_signals;
	}
	s->on_change_arg = &fs;
	s->on_change = fs_on_change;
	if (opts->started) {
		r = opts->started(opts->hook_arg, err);
		if (r < 0)
			goto out_unmount;
	}
	if (opts->ready)
		opts->ready(opts->ready_arg);
	cfg = fuse_loop_cfg_create();
	fuse_loop_cfg_set_max_threads(cfg, 16);
	fuse_loop_cfg_set_idle_threads(cfg, 4);
	r = fuse_session_loop_mt(fs.se, cfg);
	fuse_loop_cfg_destroy(cfg);
	if (r != 0 && r != SIGTERM && r != SIGINT && r != SIGHUP)
		vs_error_set(err, -EIO, "the FUSE session ended with %d", r);
	r = 0;
	if (opts->stopping)
		opts->stopping(opts->hook_arg);
out_unmount:
	s->on_change = NULL;
	fuse_session_unmount(fs.se);
out_signals:
	fuse_remove_signal_handlers(fs.se);
out_session:
	fuse_session_destroy(fs.se);
	fs.se = NULL;
out:
	fuse_opt_free_args(&args);
	vs_buf_release(&o);
	fs_cache_free(fs.cache);
	fs_inodes_destroy(&fs);
	free(fs.bases);
	pthread_mutex_destroy(&fs.lock);
	pthread_mutex_destroy(&fs.head_lock);
	return r;
}
