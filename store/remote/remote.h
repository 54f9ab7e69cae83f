/*
 * remote.h - the remote protocol: the remotes of a store, push and pull.
 *
 * A remote is a flat key space reached through a transport (transport.h):
 *
 *   varve-remote                   the format marker: "varve remote\n"
 *                                  "format 1\n"; every command reads it
 *                                  first and refuses a newer format
 *   packs/<hh>/<64 hex>.pack       a pack (pack.h), named by its SHA-256;
 *                                  <hh> its first two hex digits
 *   manifests/<64 hex>             a manifest (pack.h), named by its SHA-256
 *   refs/<kind>s/<name>/branches/<branch>   "<commit hex>\n"
 *   refs/<kind>s/<name>/tags/<tag>          the tag's encoding (object.h)
 * where a '/' inside a branch or tag name is written "%2F".  docs/remote.md
 * explains the layout, its costs in requests and its consistency.
 *
 * DESIGN NOTES: push and pull
 *  1. Packs, then manifests, then refs.  A push uploads its packs (8 at a
 *     time), then one manifest naming every entry it added, then moves the
 *     refs.  A pack is invisible until a manifest names it, and a ref is
 *     written only once the manifest naming its data is there: a remote
 *     ref never names missing data, and a reader (pull, mount) never sees
 *     a half-written pack (transport.h note 2).
 *  2. What the remote has.  The manifests, read once and kept in
 *     STORE/remote/<name>/manifests/, say which entries (chunks, objects,
 *     run records) the remote has and where: a command lists manifests/
 *     and fetches only those it has not seen.  A push prunes its walk
 *     (walk.h) at every object the manifests name: everything below it
 *     is there too (note 3), so a push of a small change walks and sends
 *     only the change.
 *  3. Closure.  Every manifest names, with each object, everything the
 *     object references: a push sends all that its refs reach minus what
 *     the manifests name, whose union is closed by induction.  Packs that
 *     an interrupted push uploaded are journaled in
 *     STORE/remote/<name>/pending/ as they complete; the next push does
 *     not send their entries again, and its manifest names those its own
 *     walk reached (so they are closed too) and no others: an entry of a
 *     pack may be named by no manifest, never by one it is not closed in.
 *  4. Refs move by compare-and-swap (transport.h note 3): a branch that is
 *     new is put if absent, an existing one if its etag is the one read
 *     before the push; a push whose branch moved meanwhile fails with
 *     "the remote branch moved; pull first", and nothing is lost.  A
 *     branch only moves forward (the remote head an ancestor of the
 *     pushed one) unless forced.  A tag is put if absent, and a remote tag
 *     with another value is never replaced.
 *  5. Pull fetches the metadata its refs need (whole metadata packs, the
 *     objects of each stored as they are), then the chunks it lacks (byte
 *     ranges of the data packs), and checks every entry against its
 *     SHA-256 id before storing it; only then does it move local refs.  A
 *     pack that fails a check stops the pull with an error naming it, and
 *     no ref moves.  A local branch only moves forward: one that has
 *     commits the remote's lacks is left as it is and reported.
 *  6. Run records travel as entries of metadata packs.  A push sends the
 *     records that name a snapshot of a repository it pushes; a pull
 *     merges every record the remote has into the store's (runs.h:
 *     vs_run_record), a record that disagrees with the local one skipped
 *     with a warning.
 *  7. One push or pull at a time per remote and store: they hold an flock
 *     on STORE/remote/<name>/lock.
 *
 *   step                                  function
 *   remote config -> added, removed       vs_remote_add, vs_remote_remove
 *   local refs -> remote packs, refs      vs_push
 *   remote refs -> local objects, refs    vs_pull
 */
#ifndef VS_REMOTE_REMOTE_H
#define VS_REMOTE_REMOTE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "hash.h"
#include "refs.h"
#include "store.h"
#include "transport.h"

#define VS_REMOTE_FORMAT 1
#define VS_REMOTE_MARKER "varve-remote"
/* A pack is closed once it holds this many bytes (so 32 to 32 + one
 * entry; the last pack of a push may be smaller). */
#define VS_REMOTE_PACK_TARGET (32u << 20)
/* Transfers at a time. */
#define VS_REMOTE_TRANSFERS 8
/* A push that finds more manifests merges them into one. */
#define VS_REMOTE_MANIFESTS_MAX 32
/* The default remote when a store has several. */
#define VS_REMOTE_DEFAULT "origin"

/* --- the store's remotes --------------------------------------------------- */

/* Frees the strings of c (not c); accepts a zeroed struct. */
void vs_remote_config_release(struct vs_remote_config *c);

/*
 * Adds remote c to s's config.  The URL must be s3://BUCKET[/PREFIX] or
 * file:///PATH; nothing is contacted.  Returns 0, VS_E_EXISTS (the name is
 * taken), VS_E_INVAL (name, URL) or a config write error.
 */
int vs_remote_add(struct vs_store *s, const struct vs_remote_config *c,
		  struct vs_error *err);
/*
 * Removes remote name from s's config, and what the store keeps about it
 * (STORE/remote/<name>/).  Returns 0, VS_E_NOTFOUND or a write error.
 */
int vs_remote_remove(struct vs_store *s, const char *name,
		     struct vs_error *err);
/*
 * The remote called name, or with name NULL the default: the only one,
 * else VS_REMOTE_DEFAULT.  *out is filled (release it).  Returns 0,
 * VS_E_NOTFOUND (with a message naming the remotes there are) or a read
 * error.
 */
int vs_remote_find(struct vs_store *s, const char *name,
		   struct vs_remote_config *out, struct vs_error *err);

/* --- push and pull ------------------------------------------------------- */

/* What to push or pull. */
struct vs_remote_sel {
	bool all;			/* every repository */
	/* "REPO" (its branches and tags) or "REPO@NAME" (a branch or a
	 * tag); borrowed */
	const char *const *specs;
	size_t nspecs;
};

enum vs_remote_phase {
	VS_REMOTE_SYNC,		/* reading the manifests and refs */
	VS_REMOTE_SCAN,		/* walking what to send or fetch */
	VS_REMOTE_SEND,		/* uploading packs */
	VS_REMOTE_FETCH,	/* downloading packs */
	VS_REMOTE_REFS,		/* moving refs */
};

struct vs_remote_progress {
	enum vs_remote_phase phase;
	uint64_t packs_done, packs_total;
	uint64_t bytes_done, bytes_total;	/* pack bytes */
};

struct vs_remote_opts {
	bool force;		/* push: a branch may move backwards */
	int transfers;		/* 0: VS_REMOTE_TRANSFERS */
	uint64_t pack_target;	/* 0: VS_REMOTE_PACK_TARGET (tests: less) */
	/*
	 * Called as each phase starts and each pack is done, from one
	 * thread at a time but not always the caller's; may be NULL.
	 */
	void (*progress)(void *arg, const struct vs_remote_progress *p);
	void *progress_arg;
	/* Non-fatal problems (a run record skipped); may be NULL. */
	void (*warn)(void *arg, const char *msg);
	void *warn_arg;
	/* Once *cancel is true the command stops soon with VS_E_CANCELED and
	 * moves no ref it has not moved yet; may be NULL. */
	const atomic_bool *cancel;
};

enum vs_remote_ref_status {
	VS_REMOTE_REF_NEW,		/* created where it was absent */
	VS_REMOTE_REF_UPDATED,		/* moved forward */
	VS_REMOTE_REF_FORCED,		/* push --force: moved otherwise */
	VS_REMOTE_REF_UNCHANGED,	/* already there */
	VS_REMOTE_REF_AHEAD,		/* pull: the local branch is ahead */
	VS_REMOTE_REF_REJECTED,		/* not moved: see why */
};

/* "new", "updated", "forced", "unchanged", "ahead", "rejected" */
const char *vs_remote_ref_status_name(enum vs_remote_ref_status st);

struct vs_remote_ref_result {
	struct vs_repo repo;
	char *name;			/* owned: branch or tag */
	bool is_tag;
	bool has_old;			/* old is the value before */
	struct vs_id old, new;
	enum vs_remote_ref_status status;
	char *why;			/* owned: for REJECTED, else NULL */
};

struct vs_remote_result {
	uint64_t packs;		/* packs uploaded, or fetched (whole or
				   in ranges) */
	uint64_t bytes;		/* bytes of packs uploaded or downloaded */
	uint64_t chunks, objects, runs;	/* entries sent, or stored */
	uint64_t requests;	/* transport calls made */
	size_t nrefs;
	struct vs_remote_ref_result *refs;	/* owned */
	size_t rejected;	/* refs with status REJECTED */
};

void vs_remote_result_init(struct vs_remote_result *res);
void vs_remote_result_release(struct vs_remote_result *res);

/*
 * Pushes sel's branches and tags of s to remote (notes 1-4, 6, 7).  res
 * (initialised by the call; release it) says what was sent and, ref by
 * ref, what happened.  A rejected ref (not a fast-forward, a tag with
 * another value there, a branch that moved) leaves the others pushed.
 * Returns 0; VS_E_CONFLICT when a ref was rejected (the message says
 * which and why); VS_E_NOTFOUND (an unknown repository or ref);
 * VS_E_VERSION (the remote's format is newer); VS_E_CANCELED; a
 * transport's error; or the store's.
 */
int vs_push(struct vs_store *s, const struct vs_remote_config *remote,
	    const struct vs_remote_sel *sel, const struct vs_remote_opts *opts,
	    struct vs_remote_result *res, struct vs_error *err);

/*
 * Pulls sel's branches and tags of remote into s, with their history,
 * their data and the remote's run records (notes 5-7).  Repositories
 * absent from s are created.  Returns as vs_push (VS_E_CONFLICT: a local
 * branch or tag that could not move), or VS_E_REMOTE when the remote lacks
 * what it names or answers bytes that fail a check (no ref moved then).
 */
int vs_pull(struct vs_store *s, const struct vs_remote_config *remote,
	    const struct vs_remote_sel *sel, const struct vs_remote_opts *opts,
	    struct vs_remote_result *res, struct vs_error *err);

#endif
