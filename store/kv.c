/*
 * kv.c - RocksDB, wrapped: the only file that includes rocksdb/c.h.
 *
 * Every RocksDB error string (char **errptr) becomes a VS_E_KV with the
 * message copied into the caller's struct vs_error, and is freed here.
 */
#include "kv.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <dlfcn.h>
#include <pthread.h>
#include <sys/stat.h>

#include <rocksdb/c.h>

#include "crc32c.h"
#include "banned.h"

/*
 * RocksDB checksums every blob it writes, and its WAL and MANIFEST records,
 * with CRC-32C through rocksdb::crc32c::Extend().  Debian builds librocksdb
 * for any x86-64 CPU, which leaves it a table-driven CRC: about a third of
 * the flush thread's time when a commit writes chunk bodies, measured.  That
 * function is exported and called through the PLT, so the definition below,
 * in the varve binary, is the one the dynamic linker binds librocksdb's
 * calls to (ELF symbol interposition, as for malloc).  It computes the same
 * function with the SSE4.2 crc32 instruction, and hands over to RocksDB's
 * own definition (RTLD_NEXT) on a CPU without it.  test_kv checks the two
 * agree.  With another librocksdb that does not export the symbol, this is
 * simply never called.
 */
typedef uint32_t crc32c_extend_fn(uint32_t, const char *, size_t);
static crc32c_extend_fn *rocksdb_crc32c_extend;
static bool crc32c_hw;
static pthread_once_t crc32c_once = PTHREAD_ONCE_INIT;

static void crc32c_choose(void)
{
	crc32c_hw = vs_crc32c_hw_ok();
	if (!crc32c_hw)
		*(void **)&rocksdb_crc32c_extend =
			dlsym(RTLD_NEXT, "_ZN7rocksdb6crc32c6ExtendEjPKcm");
}

uint32_t vs_kv_rocksdb_crc32c_extend(uint32_t crc, const char *buf,
				     size_t size)
{
	pthread_once(&crc32c_once, crc32c_choose);
	if (crc32c_hw)
		return vs_crc32c_hw(crc, buf, size);
	if (!rocksdb_crc32c_extend)
		abort();	/* cannot be: librocksdb defines it */
	return rocksdb_crc32c_extend(crc, buf, size);
}

static const char *const cf_names[VS_CF_COUNT] = {
	[VS_CF_DEFAULT] = "default",
	[VS_CF_CHUNKS] = "chunks",
	[VS_CF_OBJECTS] = "objects",
	[VS_CF_REFS] = "refs",
	[VS_CF_META] = "meta",
	[VS_CF_RUNS] = "runs",
	[VS_CF_STAGING] = "staging",
};

struct vs_kv {
	rocksdb_t *db;
	rocksdb_column_family_handle_t *cf[VS_CF_COUNT];
	rocksdb_options_t *db_opts;
	rocksdb_options_t *cf_opts[VS_CF_COUNT];
	rocksdb_block_based_table_options_t *table_opts;
	rocksdb_cache_t *cache;
	rocksdb_readoptions_t *ropts;
	rocksdb_readoptions_t *ropts_chunks;
	rocksdb_writeoptions_t *wopts_nowal;
	rocksdb_writeoptions_t *wopts_sync;
	rocksdb_writeoptions_t *wopts;
	char *path;
	/*
	 * Unlogged writes made, and how many of them the last finished
	 * flush covers: vs_kv_flush() has nothing to do while they are
	 * equal.  While logged > 0, unlogged writes go through the WAL.
	 */
	atomic_uint_fast64_t unlogged;
	atomic_uint_fast64_t flushed;
	atomic_int logged;
	bool read_only;
};

struct vs_kv_batch {
	rocksdb_writebatch_t *wb;
};

struct vs_kv_iter {
	rocksdb_iterator_t *it;
	rocksdb_readoptions_t *ropts;
	char *prefix;
	size_t plen;
};

static int kv_fail(struct vs_error *err, char *msg, const char *what)
{
	vs_error_set(err, VS_E_KV, "%s (%s)", what, msg ? msg : "unknown");
	rocksdb_free(msg);
	return VS_E_KV;
}

static rocksdb_options_t *kv_cf_options(struct vs_kv *kv, enum vs_cf cf)
{
	rocksdb_options_t *o = rocksdb_options_create();

	rocksdb_options_set_block_based_table_factory(o, kv->table_opts);
	rocksdb_options_set_level_compaction_dynamic_level_bytes(o, 1);
	switch (cf) {
	case VS_CF_CHUNKS:
		/* Chunk bodies are already zstd-compressed by the store. */
		rocksdb_options_set_compression(o, rocksdb_no_compression);
		rocksdb_options_set_enable_blob_files(o, 1);
		rocksdb_options_set_min_blob_size(o, 2048);
		rocksdb_options_set_blob_file_size(o, 256 << 20);
		rocksdb_options_set_blob_compression_type(o,
							  rocksdb_no_compression);
		/* Chunks are only ever removed by gc: no relocation during the
		 * compactions that follow every ingest. */
		rocksdb_options_set_enable_blob_gc(o, 0);
		rocksdb_options_set_write_buffer_size(o, 64 << 20);
		rocksdb_options_set_max_write_buffer_number(o, 6);
		break;
	case VS_CF_OBJECTS:
		rocksdb_options_set_compression(o, rocksdb_zstd_compression);
		rocksdb_options_set_write_buffer_size(o, 32 << 20);
		break;
	default:
		rocksdb_options_set_compression(o, rocksdb_zstd_compression);
		rocksdb_options_set_write_buffer_size(o, 8 << 20);
		break;
	}
	return o;
}

/* Whether the file system under dir accepts O_DIRECT (tmpfs may not). */
static bool direct_io_works(const char *dir)
{
	char probe[PATH_MAX];
	int fd;

	if (snprintf(probe, sizeof(probe), "%s/CURRENT", dir) >=
	    (int)sizeof(probe))
		return false;
	fd = open(probe, O_RDONLY | O_DIRECT | O_CLOEXEC);
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

int vs_kv_open(const char *path, unsigned flags, struct vs_kv **out,
	       struct vs_error *err)
{
	struct vs_kv *kv;
	const char *names[VS_CF_COUNT];
	const rocksdb_options_t *opts[VS_CF_COUNT];
	rocksdb_filterpolicy_t *bloom;
	rocksdb_options_t *base;
	char *msg = NULL;
	int i;

	kv = calloc(1, sizeof(*kv));
	if (!kv)
		return -ENOMEM;
	kv->path = strdup(path);
	if (!kv->path) {
		free(kv);
		return -ENOMEM;
	}

	kv->cache = rocksdb_cache_create_lru(64 << 20);
	kv->table_opts = rocksdb_block_based_options_create();
	bloom = rocksdb_filterpolicy_create_bloom(10);
	rocksdb_block_based_options_set_filter_policy(kv->table_opts, bloom);
	rocksdb_block_based_options_set_block_cache(kv->table_opts, kv->cache);
	rocksdb_block_based_options_set_cache_index_and_filter_blocks(
		kv->table_opts, 1);

	/*
	 * A store may be closed with logged writes in its memtables (see
	 * vs_kv_close): the next open replays them from the WAL and keeps
	 * them in memory, instead of writing them out before it can start.
	 * (The C API of RocksDB 7 has no setter for this one.)
	 */
	base = rocksdb_options_create();
	kv->db_opts = rocksdb_options_create();
	rocksdb_get_options_from_string(base,
					"avoid_flush_during_recovery=true",
					kv->db_opts, &msg);
	rocksdb_options_destroy(base);
	if (msg) {
		vs_kv_close(kv);
		return kv_fail(err, msg, "cannot set the database options");
	}
	rocksdb_options_set_create_if_missing(kv->db_opts,
					      !!(flags & VS_KV_CREATE));
	rocksdb_options_set_create_missing_column_families(kv->db_opts, 1);
	rocksdb_options_set_max_background_jobs(kv->db_opts, 2);
	rocksdb_options_set_keep_log_file_num(kv->db_opts, 3);
	rocksdb_options_set_max_log_file_size(kv->db_opts, 4 << 20);
	rocksdb_options_set_info_log_level(kv->db_opts, 2 /* warn */);
	rocksdb_options_set_max_open_files(kv->db_opts, 512);
	/*
	 * RocksDB opens each family's table files with this many threads, all
	 * started afresh per family (16 by default: over a hundred threads per
	 * open, measured at 6 ms of a 120 ms re-commit).  A few still overlap
	 * the reads of a cold store with many files.
	 */
	rocksdb_options_set_max_file_opening_threads(kv->db_opts, 4);
	/*
	 * Start writing flushed files out as they grow, so the sync that
	 * ends each flush (and a commit's last one) finds little left to do.
	 */
	rocksdb_options_set_bytes_per_sync(kv->db_opts, 1 << 20);
	if ((flags & VS_KV_DIRECT_READS) && direct_io_works(path))
		rocksdb_options_set_use_direct_reads(kv->db_opts, 1);
	/*
	 * Unlogged writes to several families (a chunk and its size record)
	 * must reach disk together: flush every family at once.
	 */
	rocksdb_options_set_atomic_flush(kv->db_opts, 1);

	for (i = 0; i < VS_CF_COUNT; i++) {
		kv->cf_opts[i] = kv_cf_options(kv, i);
		names[i] = cf_names[i];
		opts[i] = kv->cf_opts[i];
	}
	kv->read_only = flags & VS_KV_READ_ONLY;
	if (kv->read_only)
		kv->db = rocksdb_open_for_read_only_column_families(
			kv->db_opts, path, VS_CF_COUNT, names, opts, kv->cf,
			0 /* the logs are replayed, not refused */, &msg);
	else
		kv->db = rocksdb_open_column_families(kv->db_opts, path,
						      VS_CF_COUNT, names, opts,
						      kv->cf, &msg);
	if (msg) {
		vs_kv_close(kv);
		return kv_fail(err, msg, "cannot open the database");
	}

	kv->ropts = rocksdb_readoptions_create();
	rocksdb_readoptions_set_verify_checksums(kv->ropts, 1);
	/* The store checks every chunk body it reads (its checksum of the
	 * decoded bytes, or SHA-256 against its id), which catches more than
	 * the blob CRC would. */
	kv->ropts_chunks = rocksdb_readoptions_create();
	rocksdb_readoptions_set_verify_checksums(kv->ropts_chunks, 0);
	kv->wopts = rocksdb_writeoptions_create();
	kv->wopts_nowal = rocksdb_writeoptions_create();
	rocksdb_writeoptions_disable_WAL(kv->wopts_nowal, 1);
	kv->wopts_sync = rocksdb_writeoptions_create();
	rocksdb_writeoptions_set_sync(kv->wopts_sync, 1);
	*out = kv;
	return 0;
}

/*
 * Leveled compaction moves a flushed file that overlaps nothing below it
 * down as it is (a "trivial move") and never merges it with its neighbours.
 * A CLI that writes a handful of scattered keys per command (a stat cache
 * entry, a few chunk size records) thus piles up files of one key each at
 * the last level: 163 in one family after 120 small commits, measured, and
 * every open reads each file's footer and index.  A family with more than
 * MAX_CF_FILES files is therefore compacted whole, bottom level included,
 * when the store closes; that merges them into a few.
 */
#define MAX_CF_FILES 48

static uint64_t cf_files(struct vs_kv *kv, enum vs_cf cf)
{
	uint64_t total = 0;
	char prop[64], *v;
	int level;

	for (level = 0; level < 7; level++) {
		snprintf(prop, sizeof(prop), "rocksdb.num-files-at-level%d",
			 level);
		v = rocksdb_property_value_cf(kv->db, kv->cf[cf], prop);
		if (v)
			total += strtoull(v, NULL, 10);
		rocksdb_free(v);
	}
	return total;
}

static void compact_crowded(struct vs_kv *kv)
{
	rocksdb_compactoptions_t *co = NULL;
	int i;

	for (i = 0; i < VS_CF_COUNT; i++) {
		if (cf_files(kv, i) <= MAX_CF_FILES)
			continue;
		if (!co) {
			co = rocksdb_compactoptions_create();
			rocksdb_compactoptions_set_bottommost_level_compaction(
				co, 2 /* kForce */);
		}
		rocksdb_compact_range_cf_opt(kv->db, kv->cf[i], co, NULL, 0,
					     NULL, 0);
	}
	if (co)
		rocksdb_compactoptions_destroy(co);
}

static int kv_flush_all(struct vs_kv *kv, struct vs_error *err);

/* The answer to a write to a database opened with VS_KV_READ_ONLY. */
static int read_only_error(struct vs_error *err)
{
	return vs_error_set(err, -EROFS, "the store was opened for reading "
			    "only");
}

/* Whether an unlogged write was made since the last finished flush. */
static bool unlogged_pending(struct vs_kv *kv)
{
	return atomic_load(&kv->unlogged) != atomic_load(&kv->flushed);
}

/*
 * The options of a write that may skip the WAL (vs_kv_put, VS_KV_NOWAL): it
 * does unless a logged section is open.  *unlogged tells the caller to
 * count the write once it is in the memtable, where a flush finds it.
 */
static rocksdb_writeoptions_t *nowal_opts(struct vs_kv *kv, bool *unlogged)
{
	*unlogged = atomic_load(&kv->logged) == 0;
	return *unlogged ? kv->wopts_nowal : kv->wopts;
}

/*
 * A close cancels the background compactions the session started (a flush
 * of four files into a family's level 0 starts one), and the next open
 * starts the same compaction over: measured, every command after a large
 * commit re-ran it.  A close therefore lets modest ones finish first.
 */
#define COMPACT_WAIT_MAX_BYTES (256ull << 20)
#define COMPACT_WAIT_MS 3000

static bool compactions_busy(struct vs_kv *kv, uint64_t *pending_bytes)
{
	uint64_t v = 0;
	bool busy = false;
	int i;

	*pending_bytes = 0;
	if (rocksdb_property_int(kv->db, "rocksdb.num-running-compactions",
				 &v) == 0 && v > 0)
		busy = true;
	for (i = 0; i < VS_CF_COUNT; i++) {
		v = 0;
		if (rocksdb_property_int_cf(kv->db, kv->cf[i],
					    "rocksdb.compaction-pending",
					    &v) == 0 && v > 0)
			busy = true;
		v = 0;
		if (rocksdb_property_int_cf(
			    kv->db, kv->cf[i],
			    "rocksdb.estimate-pending-compaction-bytes",
			    &v) == 0)
			*pending_bytes += v;
	}
	return busy;
}

static void wait_compactions(struct vs_kv *kv)
{
	uint64_t bytes;
	int ms;

	for (ms = 0; ms < COMPACT_WAIT_MS; ms++) {
		if (!compactions_busy(kv, &bytes) ||
		    bytes > COMPACT_WAIT_MAX_BYTES)
			return;
		usleep(1000);
	}
}

/*
 * What the logs of a store may hold when it closes without a flush: the
 * next open replays them (a few ms per MiB) and every open adds a log.
 */
#define MAX_LOGS_AT_CLOSE 4
#define MAX_LOG_BYTES_AT_CLOSE (4 << 20)

/* Whether the write-ahead logs have outgrown what a close may leave. */
static bool logs_too_big(struct vs_kv *kv)
{
	uint64_t bytes = 0;
	int n = 0;
	struct dirent *de;
	DIR *d = opendir(kv->path);

	if (!d)
		return true;
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);
		struct stat st;

		if (len < 5 || strcmp(de->d_name + len - 4, ".log") != 0)
			continue;
		n++;
		if (fstatat(dirfd(d), de->d_name, &st, 0) == 0)
			bytes += (uint64_t)st.st_size;
	}
	closedir(d);
	return n > MAX_LOGS_AT_CLOSE || bytes > MAX_LOG_BYTES_AT_CLOSE;
}

/*
 * What a writer leaves behind on close.  Unlogged writes exist only in
 * memory: flush them.  Logged ones are safe in the WAL and are left there
 * (the next open replays them) until the logs grow past a few files or MiB.
 * RocksDB 7.x keeps every write-ahead log created by an open, even an empty
 * one, until some flush advances the log number; a marker write makes sure
 * the flush does that.
 */
static void settle(struct vs_kv *kv)
{
	bool logs = logs_too_big(kv);

	if (logs) {
		char *msg = NULL;

		rocksdb_put_cf(kv->db, kv->wopts, kv->cf[VS_CF_DEFAULT],
			       "closed", 6, "", 0, &msg);
		rocksdb_free(msg);
	}
	if (logs || unlogged_pending(kv))
		kv_flush_all(kv, NULL);
	compact_crowded(kv);
	wait_compactions(kv);
}

void vs_kv_close(struct vs_kv *kv)
{
	int i;

	if (!kv)
		return;
	if (kv->db) {
		if (!kv->read_only)
			settle(kv);
		for (i = 0; i < VS_CF_COUNT; i++)
			if (kv->cf[i])
				rocksdb_column_family_handle_destroy(kv->cf[i]);
		rocksdb_close(kv->db);
	}
	for (i = 0; i < VS_CF_COUNT; i++)
		if (kv->cf_opts[i])
			rocksdb_options_destroy(kv->cf_opts[i]);
	if (kv->db_opts)
		rocksdb_options_destroy(kv->db_opts);
	if (kv->table_opts)
		rocksdb_block_based_options_destroy(kv->table_opts);
	if (kv->cache)
		rocksdb_cache_destroy(kv->cache);
	if (kv->ropts)
		rocksdb_readoptions_destroy(kv->ropts);
	if (kv->ropts_chunks)
		rocksdb_readoptions_destroy(kv->ropts_chunks);
	if (kv->wopts)
		rocksdb_writeoptions_destroy(kv->wopts);
	if (kv->wopts_nowal)
		rocksdb_writeoptions_destroy(kv->wopts_nowal);
	if (kv->wopts_sync)
		rocksdb_writeoptions_destroy(kv->wopts_sync);
	free(kv->path);
	free(kv);
}

int vs_kv_get_pinned(struct vs_kv *kv, enum vs_cf cf, const void *key,
		     size_t klen, const void **val, size_t *vlen,
		     struct vs_kv_pin **pin, struct vs_error *err)
{
	rocksdb_pinnableslice_t *ps;
	char *msg = NULL;

	*pin = NULL;
	ps = rocksdb_get_pinned_cf(kv->db, cf == VS_CF_CHUNKS ? kv->ropts_chunks
							     : kv->ropts,
				   kv->cf[cf], key, klen, &msg);
	if (msg)
		return kv_fail(err, msg, "read failed");
	if (!ps)
		return VS_E_NOTFOUND;
	*val = rocksdb_pinnableslice_value(ps, vlen);
	*pin = (struct vs_kv_pin *)ps;
	return 0;
}

void vs_kv_unpin(struct vs_kv_pin *pin)
{
	if (pin)
		rocksdb_pinnableslice_destroy((rocksdb_pinnableslice_t *)pin);
}

int vs_kv_get(struct vs_kv *kv, enum vs_cf cf, const void *key, size_t klen,
	      struct vs_buf *val, struct vs_error *err)
{
	struct vs_kv_pin *pin;
	const void *v;
	size_t vlen;
	int r;

	vs_buf_reset(val);
	r = vs_kv_get_pinned(kv, cf, key, klen, &v, &vlen, &pin, err);
	if (r == 0)
		vs_buf_add(val, v, vlen);
	vs_kv_unpin(pin);
	return r;
}

bool vs_kv_has(struct vs_kv *kv, enum vs_cf cf, const void *key, size_t klen)
{
	rocksdb_pinnableslice_t *ps;
	char *msg = NULL;

	ps = rocksdb_get_pinned_cf(kv->db, kv->ropts, kv->cf[cf], key, klen,
				   &msg);
	if (msg) {
		rocksdb_free(msg);
		return false;
	}
	if (!ps)
		return false;
	rocksdb_pinnableslice_destroy(ps);
	return true;
}

int vs_kv_put(struct vs_kv *kv, enum vs_cf cf, const void *key, size_t klen,
	      const void *val, size_t vlen, struct vs_error *err)
{
	char *msg = NULL;
	bool unlogged;

	if (kv->read_only)
		return read_only_error(err);
	rocksdb_put_cf(kv->db, nowal_opts(kv, &unlogged), kv->cf[cf], key,
		       klen, val, vlen, &msg);
	if (msg)
		return kv_fail(err, msg, "write failed");
	if (unlogged)
		atomic_fetch_add(&kv->unlogged, 1);
	return 0;
}

void vs_kv_logged_begin(struct vs_kv *kv)
{
	atomic_fetch_add(&kv->logged, 1);
}

void vs_kv_logged_end(struct vs_kv *kv)
{
	atomic_fetch_sub(&kv->logged, 1);
}

/* Writes every memtable out, whether it holds logged or unlogged data. */
static int kv_flush_all(struct vs_kv *kv, struct vs_error *err)
{
	rocksdb_flushoptions_t *fo = rocksdb_flushoptions_create();
	uint_fast64_t n = atomic_load(&kv->unlogged);
	uint_fast64_t done;
	char *msg = NULL;
	int i, r = 0;

	rocksdb_flushoptions_set_wait(fo, 1);
	for (i = 0; i < VS_CF_COUNT && !r; i++) {
		rocksdb_flush_cf(kv->db, fo, kv->cf[i], &msg);
		if (msg)
			r = kv_fail(err, msg, "flush failed");
	}
	rocksdb_flushoptions_destroy(fo);
	/* A concurrent flush may have covered more already. */
	done = atomic_load(&kv->flushed);
	while (r == 0 && done < n &&
	       !atomic_compare_exchange_weak(&kv->flushed, &done, n))
		;
	return r;
}

int vs_kv_flush(struct vs_kv *kv, struct vs_error *err)
{
	return unlogged_pending(kv) ? kv_flush_all(kv, err) : 0;
}

struct vs_kv_batch *vs_kv_batch_new(void)
{
	struct vs_kv_batch *b = calloc(1, sizeof(*b));

	if (!b)
		abort();
	b->wb = rocksdb_writebatch_create();
	return b;
}

void vs_kv_batch_free(struct vs_kv_batch *b)
{
	if (!b)
		return;
	rocksdb_writebatch_destroy(b->wb);
	free(b);
}

void vs_kv_batch_clear(struct vs_kv_batch *b)
{
	rocksdb_writebatch_clear(b->wb);
}

void vs_kv_batch_put(struct vs_kv_batch *b, struct vs_kv *kv, enum vs_cf cf,
		     const void *key, size_t klen, const void *val, size_t vlen)
{
	rocksdb_writebatch_put_cf(b->wb, kv->cf[cf], key, klen, val, vlen);
}

void vs_kv_batch_delete(struct vs_kv_batch *b, struct vs_kv *kv,
			enum vs_cf cf, const void *key, size_t klen)
{
	rocksdb_writebatch_delete_cf(b->wb, kv->cf[cf], key, klen);
}

/*
 * The smallest key greater than every key with this prefix: the prefix with
 * its last non-0xff byte incremented and the rest dropped.  Returns its
 * length, 0 when the prefix is all 0xff (no upper bound).
 */
static size_t prefix_end(const void *prefix, size_t plen, char *end)
{
	memcpy(end, prefix, plen);
	while (plen > 0) {
		if ((unsigned char)end[plen - 1] != 0xff) {
			end[plen - 1]++;
			return plen;
		}
		plen--;
	}
	return 0;
}

void vs_kv_batch_delete_prefix(struct vs_kv_batch *b, struct vs_kv *kv,
			       enum vs_cf cf, const void *prefix, size_t plen)
{
	char *end = malloc(plen + 1);
	size_t elen;

	if (!end)
		abort();
	elen = prefix_end(prefix, plen, end);
	if (elen == 0) {
		/* All-0xff prefix: no key range end exists; rare, skip. */
		free(end);
		return;
	}
	rocksdb_writebatch_delete_range_cf(b->wb, kv->cf[cf], prefix, plen,
					   end, elen);
	free(end);
}

int vs_kv_write(struct vs_kv *kv, struct vs_kv_batch *b, unsigned flags,
		struct vs_error *err)
{
	rocksdb_writeoptions_t *wo = kv->wopts;
	bool unlogged = false;
	char *msg = NULL;

	if (kv->read_only)
		return read_only_error(err);
	if (flags & VS_KV_SYNC)
		wo = kv->wopts_sync;
	else if (flags & VS_KV_NOWAL)
		wo = nowal_opts(kv, &unlogged);
	rocksdb_write(kv->db, wo, b->wb, &msg);
	if (msg)
		return kv_fail(err, msg, "write failed");
	if (unlogged)
		atomic_fetch_add(&kv->unlogged, 1);
	return 0;
}

struct vs_kv_iter *vs_kv_iter_new(struct vs_kv *kv, enum vs_cf cf,
				  const void *prefix, size_t plen)
{
	struct vs_kv_iter *it = calloc(1, sizeof(*it));

	if (!it)
		abort();
	it->ropts = rocksdb_readoptions_create();
	rocksdb_readoptions_set_verify_checksums(it->ropts, 1);
	it->prefix = malloc(plen + 1);
	if (!it->prefix)
		abort();
	memcpy(it->prefix, prefix, plen);
	it->plen = plen;
	it->it = rocksdb_create_iterator_cf(kv->db, it->ropts, kv->cf[cf]);
	rocksdb_iter_seek(it->it, prefix, plen);
	return it;
}

void vs_kv_iter_seek(struct vs_kv_iter *it, const void *start, size_t slen)
{
	rocksdb_iter_seek(it->it, start, slen);
}

bool vs_kv_iter_valid(struct vs_kv_iter *it)
{
	const char *k;
	size_t klen;

	if (!rocksdb_iter_valid(it->it))
		return false;
	k = rocksdb_iter_key(it->it, &klen);
	return klen >= it->plen && memcmp(k, it->prefix, it->plen) == 0;
}

void vs_kv_iter_next(struct vs_kv_iter *it)
{
	rocksdb_iter_next(it->it);
}

const void *vs_kv_iter_key(struct vs_kv_iter *it, size_t *klen)
{
	return rocksdb_iter_key(it->it, klen);
}

const void *vs_kv_iter_value(struct vs_kv_iter *it, size_t *vlen)
{
	return rocksdb_iter_value(it->it, vlen);
}

int vs_kv_iter_status(struct vs_kv_iter *it, struct vs_error *err)
{
	char *msg = NULL;

	rocksdb_iter_get_error(it->it, &msg);
	if (msg)
		return kv_fail(err, msg, "iteration failed");
	return 0;
}

void vs_kv_iter_free(struct vs_kv_iter *it)
{
	if (!it)
		return;
	rocksdb_iter_destroy(it->it);
	rocksdb_readoptions_destroy(it->ropts);
	free(it->prefix);
	free(it);
}

int vs_kv_iter_end(struct vs_kv_iter *it, int r, struct vs_error *err)
{
	if (r == 0)
		r = vs_kv_iter_status(it, err);
	vs_kv_iter_free(it);
	return r;
}
