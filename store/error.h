/*
 * error.h - varve's error codes and the message carrier.
 *
 * Every store function that can fail returns int: 0 on success, a negative
 * errno, or one of the VS_E_* codes below (a reserved range far outside
 * errno).  vs_strerror() names any of them.  A function may additionally fill
 * an optional struct vs_error with a message naming the failing object; the
 * CLI prints it as "varve: error: <msg>".
 */
#ifndef VS_ERROR_H
#define VS_ERROR_H

#include <stdatomic.h>

#include <stdarg.h>

enum vs_errcode {
	VS_E_BASE = -100000,
	VS_E_NOTFOUND,		/* no such object, ref, repository or revision */
	VS_E_CORRUPT,		/* malformed or mismatching stored data */
	VS_E_EXISTS,		/* name already taken */
	VS_E_INVAL,		/* bad argument: name, revision syntax, value */
	VS_E_VERSION,		/* store or object of a newer format version */
	VS_E_CONFLICT,		/* ref moved under us (compare-and-swap failed) */
	VS_E_AMBIGUOUS,		/* id prefix matches several objects */
	VS_E_NOSTORE,		/* directory is not a varve store */
	VS_E_KV,		/* the key-value engine failed */
	VS_E_COMPRESS,		/* compression library failed */
	VS_E_CANCELED,		/* stopped by its caller (opts->cancel) */
	VS_E_REMOTE,		/* a remote failed, refused or answered garbage */
	VS_E_LAST
};

/* Filled by a failing function when the caller passes one; may be NULL. */
struct vs_error {
	int code;
	char msg[1024];
};

/* Static description of a code (negative errno or VS_E_*). Never NULL. */
const char *vs_strerror(int code);

/*
 * Record code and a printf-style message in err (if err is not NULL) and
 * return code, so callers can write "return vs_error_set(err, r, ...)".
 * A message already set is kept: the innermost failure names the object.
 */
int vs_error_set(struct vs_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Like vs_error_set(), but always replaces an earlier message. */
int vs_error_reset(struct vs_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Clear err (code 0, empty message). */
void vs_error_clear(struct vs_error *err);

/*
 * For long operations that take a cancel flag (opts->cancel, may be NULL):
 * VS_E_CANCELED, with "interrupted" in err, once the flag is set; else 0.
 */
int vs_check_cancel(const atomic_bool *cancel, struct vs_error *err);

#endif
