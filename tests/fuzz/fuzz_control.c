/*
 * fuzz_control.c - fuzz target for ctl_parse_payload() (cli/control_int.h),
 * the mount daemon's parser of a forwarded command's request payload:
 * bytes from another process, trusted in nothing (control.h invariant 3).
 *
 * Input: one byte of header flags (the wire format's flags field), then the
 * payload.  A payload the parser accepts must be exactly what the wire
 * format describes: umask, argc and envc, then cwd, the store option when
 * the flags say so, argv and the environment as NUL-terminated strings,
 * each pointing into the payload, nothing after them.  Encoding what it
 * decoded gives back the same bytes.  Accepted requests obey the checks
 * the daemon relies on (a umask of permission bits only, a command name, an
 * absolute working directory unless its descriptor travels, KEY=VALUE
 * environment entries).  Built with libFuzzer, or with tests/fuzz/driver.c
 * under ctest.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "control_int.h"
#include "banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void add_u32(struct vs_buf *b, uint32_t v)
{
	uint8_t u[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16),
			 (uint8_t)(v >> 24) };

	vs_buf_add(b, u, sizeof(u));
}

/* s is a NUL-terminated string lying wholly inside <p, len>. */
static void check_inside(const char *s, const char *p, size_t len)
{
	if (!s || s < p || s >= p + len || !memchr(s, 0, (size_t)(p + len - s)))
		abort();
}

static void check_accepted(const struct ctl_request *req, size_t len)
{
	struct vs_buf enc = VS_BUF_INIT;
	uint32_t i;

	if (req->umask & ~(uint32_t)0777 || req->argc == 0 || !req->argv ||
	    !req->envp || req->argv[req->argc] || req->envp[req->envc])
		abort();
	check_inside(req->cwd, req->payload, len);
	if (!*req->cwd ||
	    (!(req->flags & CTL_REQ_CWD_FD) && req->cwd[0] != '/'))
		abort();
	if (!(req->flags & CTL_REQ_STORE_OPT) != !req->store_opt)
		abort();
	add_u32(&enc, req->umask);
	add_u32(&enc, req->argc);
	add_u32(&enc, req->envc);
	vs_buf_add(&enc, req->cwd, strlen(req->cwd) + 1);
	if (req->store_opt) {
		check_inside(req->store_opt, req->payload, len);
		vs_buf_add(&enc, req->store_opt, strlen(req->store_opt) + 1);
	}
	for (i = 0; i < req->argc; i++) {
		check_inside(req->argv[i], req->payload, len);
		vs_buf_add(&enc, req->argv[i], strlen(req->argv[i]) + 1);
	}
	if (!*req->argv[0])
		abort();
	for (i = 0; i < req->envc; i++) {
		const char *eq;

		check_inside(req->envp[i], req->payload, len);
		eq = strchr(req->envp[i], '=');
		if (!eq || eq == req->envp[i])
			abort();
		vs_buf_add(&enc, req->envp[i], strlen(req->envp[i]) + 1);
	}
	if (enc.len != len || memcmp(enc.data, req->payload, len))
		abort();
	vs_buf_release(&enc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctl_request req;
	size_t len;
	int i;

	if (size < 1)
		return 0;
	memset(&req, 0, sizeof(req));
	for (i = 0; i < CTL_MAX_FDS; i++)
		req.fds[i] = -1;
	/* The daemon refuses unknown flags before it reads the payload. */
	req.flags = data[0] & CTL_REQ_KNOWN;
	len = size - 1;
	/* An exact copy, so that ASan sees any read past the payload. */
	req.payload = malloc(len ? len : 1);
	if (!req.payload)
		abort();
	memcpy(req.payload, data + 1, len);
	if (!ctl_parse_payload(&req, len))
		check_accepted(&req, len);
	free(req.payload);
	free(req.argv);
	free(req.envp);
	return 0;
}
