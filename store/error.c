/*
 * error.c - error codes to text, and the optional message carrier.
 */
#include "error.h"

#include <stdio.h>
#include <string.h>

static const char *const vs_messages[] = {
	[VS_E_NOTFOUND - VS_E_BASE] = "not found",
	[VS_E_CORRUPT - VS_E_BASE] = "corrupt data",
	[VS_E_EXISTS - VS_E_BASE] = "already exists",
	[VS_E_INVAL - VS_E_BASE] = "invalid argument",
	[VS_E_VERSION - VS_E_BASE] = "unsupported format version",
	[VS_E_CONFLICT - VS_E_BASE] = "concurrent update",
	[VS_E_AMBIGUOUS - VS_E_BASE] = "ambiguous id prefix",
	[VS_E_NOSTORE - VS_E_BASE] = "not a varve store",
	[VS_E_KV - VS_E_BASE] = "key-value store failure",
	[VS_E_COMPRESS - VS_E_BASE] = "compression failure",
	[VS_E_CANCELED - VS_E_BASE] = "interrupted",
	[VS_E_REMOTE - VS_E_BASE] = "remote failed",
};

const char *vs_strerror(int code)
{
	if (code > VS_E_BASE && code < VS_E_LAST)
		return vs_messages[code - VS_E_BASE];
	if (code < 0 && code > -4096)
		return strerror(-code);
	return "unknown error";
}

static int vs_error_vset(struct vs_error *err, int code, const char *fmt,
			 va_list ap)
{
	if (err) {
		err->code = code;
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	}
	return code;
}

int vs_error_set(struct vs_error *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (err && err->msg[0]) {
		err->code = code;
		return code;
	}
	va_start(ap, fmt);
	vs_error_vset(err, code, fmt, ap);
	va_end(ap);
	return code;
}

int vs_error_reset(struct vs_error *err, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vs_error_vset(err, code, fmt, ap);
	va_end(ap);
	return code;
}

void vs_error_clear(struct vs_error *err)
{
	if (err) {
		err->code = 0;
		err->msg[0] = '\0';
	}
}

int vs_check_cancel(const atomic_bool *cancel, struct vs_error *err)
{
	if (!cancel || !atomic_load(cancel))
		return 0;
	return vs_error_set(err, VS_E_CANCELED, "interrupted");
}
