/*
 * mount.c - set up the FUSE session for a store and serve it.
 */
#include "fs_int.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "banned.h"

/*
 * The kernel caps a FUSE mount's read-ahead at 128 KiB whatever the
 * daemon asks for; as root, raise the mount's bdi setting so sequential
 * readers get 1 MiB requests.  The mount's device number comes from
 * mountinfo: a stat of the mount point would ask this very daemon, which
 * does not serve yet.  Best effort: failures change nothing.
 */
static void raise_readahead(const char *mountpoint)
{
	char line[4096], dev[64] = "", mnt[2048];
	FILE *f = fopen("/proc/self/mountinfo", "re");
	int fd;

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char d[64];

		if (sscanf(line, "%*d %*d %63s %*s %2047s", d, mnt) == 2 &&
		    !strcmp(mnt, mountpoint))
			snprintf(dev, sizeof(dev), "%s", d);
	}
	fclose(f);
	if (!*dev)
		return;
	snprintf(line, sizeof(line), "/sys/class/bdi/%s/read_ahead_kb", dev);
	fd = open(line, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (write(fd, "1024", 4) != 4)
		fprintf(stderr, "varve: cannot raise read-ahead\n");
	close(fd);
}

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
	fs.dirs = fs_dircache_new(s, FS_DIRCACHE_LIMIT);
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
	raise_readahead(opts->mountpoint);
	vs_store_set_on_change(s, fs_on_change, &fs);
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
	vs_store_set_on_change(s, NULL, NULL);
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
	fs_dircache_free(fs.dirs);
	free(fs.bases);
	pthread_mutex_destroy(&fs.lock);
	pthread_mutex_destroy(&fs.head_lock);
	return r;
}
