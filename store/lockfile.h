/*
 * lockfile.h - varve.lock: the snapshots a code commit pins.
 *
 * A small text file committed next to the training code, so that checking
 * out a code commit also names the exact data and model snapshots it used
 * (as dvc.lock does).  `varve pin` writes it, `varve checkout --lock` and
 * `varve lock verify` read it.  This module is the text format and the
 * file; what a lock pins, in the store, is pins.h.
 *
 * DESIGN NOTES: the lock file format
 *   # varve.lock: data and model snapshots pinned by this code ...
 *   datasets/imagenet 3f2a...<64 hex>... # from datasets/imagenet@v3
 *   models/resnet 0b41...<64 hex>...     # from models/resnet
 *
 *  1. UTF-8 (really: bytes without NUL) text, one item per line; a line
 *     ends at '\n', and a '\r' before it is ignored (files checked out with
 *     CRLF line ends still read).
 *  2. A blank line, or one whose first non-blank character is '#', is a
 *     comment and is kept verbatim.
 *  3. Any other line is a pin: REPO (datasets/NAME or models/NAME),
 *     blanks, a full 64-hex-digit commit id, then optionally blanks and a
 *     '#' comment ("from REV": how it was pinned).  Anything else, a second
 *     pin of the same repository or a short id is an error naming the line.
 *  4. Writing keeps every line it does not change byte for byte: re-pinning
 *     a repository rewrites its line in place (only if the commit changes),
 *     a new repository's line goes after the last pin that sorts before it
 *     (so a file written only by varve stays sorted by repository), and a
 *     new file starts with a header comment.  Files are replaced atomically
 *     (temporary file in the same directory, fsync, rename).
 *
 *   transition                       function
 *   text -> lock                     vs_lockfile_parse, vs_lockfile_read
 *   lock -> lock with a pin set      vs_lockfile_pin
 *   lock -> text                     vs_lockfile_format, vs_lockfile_write
 */
#ifndef VS_LOCKFILE_H
#define VS_LOCKFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "error.h"
#include "hash.h"
#include "refs.h"

#define VS_LOCKFILE_DEFAULT "varve.lock"
/* Larger files are refused: a lock file pins a few repositories. */
#define VS_LOCKFILE_MAX (4u << 20)

struct vs_lockfile_line {
	char *text;		/* owned: the line without its '\n' */
	bool is_pin;
	struct vs_repo repo;	/* pins only */
	struct vs_id commit;	/* pins only */
};

struct vs_lockfile {
	size_t nlines;
	size_t alloc;
	struct vs_lockfile_line *lines;	/* owned */
	bool no_final_newline;	/* the text read lacked one (format adds it) */
};

void vs_lockfile_init(struct vs_lockfile *l);
void vs_lockfile_release(struct vs_lockfile *l);

/*
 * Parses <data, len> into l (initialised by the call; left released on
 * failure).  Returns 0 or VS_E_INVAL with "line N: what" in err.
 */
int vs_lockfile_parse(struct vs_lockfile *l, const char *data, size_t len,
		      struct vs_error *err);

/* Appends the text of l to out: every line and a '\n' after each. */
void vs_lockfile_format(const struct vs_lockfile *l, struct vs_buf *out);

/* The pin of repo (full name), borrowed from l, or NULL. */
const struct vs_lockfile_line *vs_lockfile_find(const struct vs_lockfile *l,
						const char *repo);

/* Number of pins in l. */
size_t vs_lockfile_count(const struct vs_lockfile *l);

/*
 * Pins repo at commit (note 4); from (may be NULL) becomes the line's
 * comment, printable ASCII kept and anything else replaced by '?'.
 * Returns true if l changed, false if repo was already pinned at commit
 * (its line, comment included, is then left alone).
 */
bool vs_lockfile_pin(struct vs_lockfile *l, const struct vs_repo *repo,
		     const struct vs_id *commit, const char *from);

/*
 * Reads and parses the file at path into l (initialised by the call).
 * A missing file gives an empty lock and *exists = false (exists may be
 * NULL, which makes a missing file an error).  Returns 0, VS_E_INVAL
 * ("'path' line N: ..."), VS_E_NOTFOUND (missing and exists NULL), or a
 * -errno.
 */
int vs_lockfile_read(const char *path, struct vs_lockfile *l, bool *exists,
		     struct vs_error *err);

/*
 * Replaces the file at path with l's text, atomically (note 4).  An
 * existing file's permission bits are kept; a new file gets 0644.
 * Returns 0 or a -errno.
 */
int vs_lockfile_write(const char *path, const struct vs_lockfile *l,
		      struct vs_error *err);

#endif
