/*
 * verify.h - check a store's integrity, and measure it.
 */
#ifndef VS_VERIFY_H
#define VS_VERIFY_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "store.h"

struct vs_verify_opts {
	bool full;	/* also read, decompress and re-hash every chunk */
	/* Called once per problem found, with a message naming the object;
	 * may be NULL. */
	void (*problem)(void *arg, const char *msg);
	void *problem_arg;
	/* Called a few times a second during the walk; may be NULL. */
	void (*progress)(void *arg, uint64_t chunks_done, uint64_t bytes_done);
	void *progress_arg;
	/* Once *cancel is true the walk stops soon with VS_E_CANCELED; may
	 * be NULL. */
	const atomic_bool *cancel;
};

struct vs_verify_result {
	uint64_t refs;		/* branches and tags */
	uint64_t commits, trees, files, chunks;	/* each counted once */
	uint64_t chunk_bytes;	/* bytes re-hashed (full) */
	uint64_t problems;
};

/*
 * Walks refs -> commits -> trees -> files -> chunks (walk.h), each object
 * and each chunk once, checking that each is present, decodes, and
 * (objects always, chunks with full) matches its id.  Returns 0 when
 * sound, VS_E_CORRUPT when problems were found (each reported through
 * opts->problem), VS_E_CANCELED, or an error that stopped the walk.
 */
int vs_verify(struct vs_store *s, const struct vs_verify_opts *opts,
	      struct vs_verify_result *res, struct vs_error *err);

struct vs_stats {
	uint64_t repositories;
	uint64_t commits;	/* reachable from some branch or tag */
	uint64_t logical_bytes;	/* sum of every commit's file bytes */
	uint64_t chunks;
	uint64_t chunk_raw_bytes;
	uint64_t chunk_stored_bytes;
	uint64_t objects;
	uint64_t object_bytes;
};

/* Returns 0 or a read error. */
int vs_stats_compute(struct vs_store *s, struct vs_stats *st,
		     struct vs_error *err);

#endif
