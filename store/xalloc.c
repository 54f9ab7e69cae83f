/*
 * xalloc.c - allocation that aborts instead of failing (see xalloc.h).
 */
#include "xalloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "banned.h"

void *vs_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		abort();
	return p;
}

void *vs_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (!p)
		abort();
	return p;
}

void *vs_xreallocarray(void *p, size_t n, size_t size)
{
	size_t bytes;
	void *q;

	if (size && n > SIZE_MAX / size)
		abort();
	bytes = n * size;
	q = realloc(p, bytes ? bytes : 1);
	if (!q)
		abort();
	return q;
}

char *vs_xmemdupz(const void *data, size_t len)
{
	char *s;

	if (len == SIZE_MAX)
		abort();
	s = vs_xmalloc(len + 1);
	if (len)
		memcpy(s, data, len);
	s[len] = '\0';
	return s;
}

char *vs_xstrdup(const char *s)
{
	return vs_xmemdupz(s, strlen(s));
}

char *vs_xstrndup(const char *s, size_t n)
{
	return vs_xmemdupz(s, strnlen(s, n));
}
