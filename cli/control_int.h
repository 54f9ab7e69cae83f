/*
 * control_int.h - the control socket's request as the daemon decodes it,
 * shared by cli/control.c and the fuzz target of its parser
 * (tests/fuzz/fuzz_control.c).  Nothing else includes it: the rest of the
 * CLI sees control.h only.
 */
#ifndef VARVE_CONTROL_INT_H
#define VARVE_CONTROL_INT_H

#include <stddef.h>
#include <stdint.h>

#define CTL_MAX_FDS 4

/* The request header's flags (control.h's wire format). */
enum ctl_req_flags {
	CTL_REQ_QUIET = 1 << 0,
	CTL_REQ_STORE_OPT = 1 << 1,
	CTL_REQ_CWD_FD = 1 << 2,
	CTL_REQ_KNOWN = CTL_REQ_QUIET | CTL_REQ_STORE_OPT | CTL_REQ_CWD_FD,
};

/* A decoded request.  Strings point into payload. */
struct ctl_request {
	int fds[CTL_MAX_FDS];		/* owned; -1 once handed over */
	int nfds;
	uint32_t flags;
	uint32_t umask;
	char *payload;			/* owned */
	const char *cwd;
	const char *store_opt;		/* NULL without CTL_REQ_STORE_OPT */
	uint32_t argc, envc;
	char **argv;			/* owned array, argc + 1 entries */
	char **envp;			/* owned array, envc + 1 entries */
};

/*
 * Decodes req->payload, len bytes, as a request of req->flags (invariant
 * 3 of control.h): fills umask, cwd, store_opt, argc, argv, envc, envp,
 * every string pointing into the payload.  Returns NULL, or a static
 * string saying why the payload is malformed.  argv and envp may be
 * allocated (owned by req, NULL-terminated) whatever the outcome; the
 * caller frees them with the request.
 */
const char *ctl_parse_payload(struct ctl_request *req, size_t len);

#endif
