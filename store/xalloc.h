/*
 * xalloc.h - allocation that cannot fail.
 *
 * As buf.h explains, a storage tool that runs out of memory has no better
 * recovery than the crash-safe restart, so these abort instead of returning
 * NULL (git's xmalloc).  Sizes of 0 allocate one byte, so the result is
 * never NULL and can always be passed to free(); products that overflow
 * size_t abort too.  The caller frees everything with free().
 */
#ifndef VS_XALLOC_H
#define VS_XALLOC_H

#include <stddef.h>

void *vs_xmalloc(size_t n);
void *vs_xcalloc(size_t n, size_t size);
/* realloc(p, n * size). */
void *vs_xreallocarray(void *p, size_t n, size_t size);
/* A NUL-terminated copy of <data, len> (which may hold no NUL). */
char *vs_xmemdupz(const void *data, size_t len);
char *vs_xstrdup(const char *s);
/* A copy of at most n bytes of s, NUL-terminated. */
char *vs_xstrndup(const char *s, size_t n);

#endif
