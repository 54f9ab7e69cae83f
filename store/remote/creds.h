/*
 * creds.h - AWS credentials and region, found where the AWS tools find
 * them, for s3:// remotes.
 *
 * Where, in order (the first that has an access key wins):
 *  1. the environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
 *     AWS_SESSION_TOKEN (as CI secrets provide them);
 *  2. the profile AWS_PROFILE (else AWS_DEFAULT_PROFILE, else "default"):
 *     its section "[NAME]" of the credentials file (AWS_SHARED_CREDENTIALS_FILE,
 *     else ~/.aws/credentials), then its section "[profile NAME]" (or
 *     "[default]") of the config file (AWS_CONFIG_FILE, else
 *     ~/.aws/config): keys aws_access_key_id, aws_secret_access_key,
 *     aws_session_token.
 * The region: AWS_REGION, AWS_DEFAULT_REGION, then the profile's "region"
 * in the config file.  Profiles that get their keys elsewhere (role_arn,
 * credential_process, sso_*, web identity) are refused with a message that
 * says how to export plain keys instead.
 *
 * Every lookup goes through a getenv-like callback: the mount daemon runs
 * a forwarded command with its client's environment, never its own (HOME
 * included).  Credentials are never stored by varve and never printed:
 * messages name the variables or the file and profile they came from,
 * never a value.  vs_creds_release() wipes the secret key and the token
 * before freeing them, and the profile files' bytes are wiped after
 * parsing.
 */
#ifndef VS_REMOTE_CREDS_H
#define VS_REMOTE_CREDS_H

#include "error.h"

/* Looks up an environment variable; NULL if unset (as vs_run_getenv_fn). */
typedef const char *(*vs_creds_getenv_fn)(void *arg, const char *name);

/* getenv() of the process, as a vs_creds_getenv_fn (arg unused). */
const char *vs_creds_process_getenv(void *arg, const char *name);

/*
 * The environment that transports opened by the calling thread take their
 * credentials, region and HOME from (vs_transport_open() has no such
 * argument): a command forwarded to the mount daemon sets its client's
 * before opening a remote and clears it (fn NULL) after.  Unset, the
 * process's environment.  arg must stay valid while it is set.
 */
void vs_creds_set_thread_env(vs_creds_getenv_fn fn, void *arg);
/* What the calling thread set, else vs_creds_process_getenv. */
void vs_creds_thread_env(vs_creds_getenv_fn *fn, void **arg);

struct vs_creds {
	char *access_key_id;
	char *secret_access_key;	/* wiped by vs_creds_release */
	char *session_token;		/* NULL: none; wiped too */
	/* Where they came from, for messages: "AWS_ACCESS_KEY_ID and
	 * AWS_SECRET_ACCESS_KEY of the environment" or "profile 'ci' of
	 * /home/u/.aws/credentials".  Never a value. */
	char source[512];
};

void vs_creds_init(struct vs_creds *c);
/* Wipes the secrets and frees everything; c is as after vs_creds_init. */
void vs_creds_release(struct vs_creds *c);

/*
 * Fills c (initialised by the caller) as the top of this file says.
 * Returns 0; VS_E_NOTFOUND when there are none (err says which variables
 * or profile to set: the caller may go on unsigned); VS_E_INVAL for half a
 * pair (an access key without its secret, in either place), an AWS_PROFILE
 * that neither file has, or a profile of a kind varve cannot use; or a
 * -errno for a file that exists but cannot be read.  c holds nothing
 * unless 0 is returned.
 */
int vs_creds_load(struct vs_creds *c, vs_creds_getenv_fn getenv_fn,
		  void *arg, struct vs_error *err);

/*
 * The region (caller frees): AWS_REGION, AWS_DEFAULT_REGION, then the
 * profile's in the config file; *region NULL when none says (the caller
 * picks us-east-1).  Returns 0 or a -errno for an unreadable config file.
 */
int vs_creds_region(vs_creds_getenv_fn getenv_fn, void *arg, char **region,
		    struct vs_error *err);

#endif
