/*
 * refs.h - repositories, branches and tags: the mutable names of a store.
 *
 * DESIGN NOTES: refs (VS_CF_REFS)
 *   key                              value
 *   'R' <repo>                       created time (varint)
 *   'B' <repo> '\0' <branch>         commit id (32 bytes)
 *   'T' <repo> '\0' <tag>            tag record (object.h 'G' encoding)
 * where <repo> is "datasets/NAME" or "models/NAME".
 *
 *  1. A branch moves only by vs_branch_update(): under the store's ref_lock
 *     it compares the current value with the expected one (compare-and-swap),
 *     flushes every unlogged write (kv.h note 2), then writes the new value
 *     together with the caller's extra batch in one synced batch.  A crash
 *     leaves the old or the new value, and the new one only ever names data
 *     that is on disk.
 *  2. A tag is created once and never changes; creating an existing tag is
 *     VS_E_EXISTS and writes nothing.
 *  3. A repository exists from `create` on; its branch main appears with
 *     its first commit.
 *
 *   transition                 function
 *   (none) -> repo             vs_repo_create
 *   branch X -> Y (or new)     vs_branch_update
 *   branch -> (none)           vs_branch_delete
 *   (none) -> tag              vs_tag_create
 */
#ifndef VS_REFS_H
#define VS_REFS_H

#include <stdbool.h>
#include <stdint.h>

#include "store.h"

#define VS_REPO_NAME_MAX 64
#define VS_REF_NAME_MAX 200
#define VS_DEFAULT_BRANCH "main"

enum vs_repo_kind {
	VS_REPO_DATASET,
	VS_REPO_MODEL,
};

struct vs_repo {
	enum vs_repo_kind kind;
	char name[VS_REPO_NAME_MAX + 1];
	char full[VS_REPO_NAME_MAX + 16];	/* "datasets/NAME" */
};

/* "dataset" / "model" */
const char *vs_repo_kind_name(enum vs_repo_kind k);
/* Parses "dataset"|"model" (also the plural forms).  0 or VS_E_INVAL. */
int vs_repo_kind_parse(const char *s, enum vs_repo_kind *out);
/* NAME matches [a-z0-9][a-z0-9._-]{0,63}. */
bool vs_repo_name_valid(const char *name, size_t len);
/* Fills r from kind and name.  0 or VS_E_INVAL (with a message). */
int vs_repo_set(struct vs_repo *r, enum vs_repo_kind kind, const char *name,
		struct vs_error *err);
/* Parses "datasets/NAME" or "models/NAME" (<s, len>).  0 or VS_E_INVAL. */
int vs_repo_parse(struct vs_repo *r, const char *s, size_t len,
		  struct vs_error *err);

/* 0, VS_E_EXISTS, VS_E_KV. */
int vs_repo_create(struct vs_store *s, const struct vs_repo *r,
		   struct vs_error *err);
/* 0 or VS_E_NOTFOUND (with "unknown repository" message). */
int vs_repo_check(struct vs_store *s, const struct vs_repo *r,
		  struct vs_error *err);
/* Calls fn for each repository in name order; non-zero from fn stops. */
int vs_repo_list(struct vs_store *s,
		 int (*fn)(const struct vs_repo *r, void *arg), void *arg,
		 struct vs_error *err);

/* Branch and tag names: 1..200 of [A-Za-z0-9._/-], no "..", "//", no
 * leading '-', '.', '/', no trailing '/' or '.'. */
bool vs_ref_name_valid(const char *name);

/* 0 or VS_E_NOTFOUND. */
int vs_branch_get(struct vs_store *s, const struct vs_repo *r,
		  const char *branch, struct vs_id *out, struct vs_error *err);
int vs_branch_list(struct vs_store *s, const struct vs_repo *r,
		   int (*fn)(const char *name, const struct vs_id *id,
			     void *arg),
		   void *arg, struct vs_error *err);

enum vs_ref_flags {
	VS_REF_FORCE = 1 << 0,	/* skip the compare: set whatever was there */
};

/*
 * Moves branch to *to (note 1).  expect: the value the caller based its
 * work on, or NULL if the branch must not exist yet.  extra (may be NULL)
 * is written in the same atomic batch.  The commit *to must exist.
 * Returns 0, VS_E_CONFLICT (the branch moved), VS_E_INVAL, VS_E_KV.
 */
int vs_branch_update(struct vs_store *s, const struct vs_repo *r,
		     const char *branch, const struct vs_id *expect,
		     const struct vs_id *to, struct vs_kv_batch *extra,
		     unsigned flags, struct vs_error *err);
/* 0 or VS_E_NOTFOUND. */
int vs_branch_delete(struct vs_store *s, const struct vs_repo *r,
		     const char *branch, struct vs_error *err);

/* 0, VS_E_EXISTS, VS_E_INVAL. */
int vs_tag_create(struct vs_store *s, const struct vs_repo *r,
		  const char *name, const struct vs_tag *tag,
		  struct vs_error *err);
/* 0 or VS_E_NOTFOUND; *out is initialised by the call (release it). */
int vs_tag_get(struct vs_store *s, const struct vs_repo *r, const char *name,
	       struct vs_tag *out, struct vs_error *err);
/* Tags of r in name order; the tag passed to fn is borrowed for the call. */
int vs_tag_list(struct vs_store *s, const struct vs_repo *r,
		int (*fn)(const char *name, const struct vs_tag *tag,
			  void *arg),
		void *arg, struct vs_error *err);

/*
 * Calls fn for every branch and tag of every repository (tags with
 * is_tag true), in repository order.  Non-zero from fn stops.
 */
int vs_refs_each(struct vs_store *s,
		 int (*fn)(const struct vs_repo *r, const char *name,
			   bool is_tag, const struct vs_id *commit, void *arg),
		 void *arg, struct vs_error *err);

/*
 * Test hook: when set, vs_branch_update calls it just before its write;
 * a non-zero answer aborts the update with that code (fault injection).
 */
extern int (*vs_refs_fault_hook)(const char *where);

#endif
