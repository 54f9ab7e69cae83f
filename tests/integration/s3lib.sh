# A real S3 server on loopback for the integration tests: s3rver, its
# version pinned by tests/s3rver/package-lock.json and installed into
# tests/s3rver/node_modules by scripts/setup.sh (npm ci).  Source lib.sh
# first, then this file.
#
#   s3_start BUCKET   starts s3rver on a free port of 127.0.0.1, its data in
#                     $TMP/s3rver, with BUCKET made (--configure-bucket);
#                     waits until it answers; sets S3_ENDPOINT
#                     (http://127.0.0.1:PORT), S3_PORT and S3_LOG (its log).
#                     lib.sh's cleanup stops it.
#
# What s3rver checks, and what it does not (so what only the unit tests'
# canned answers can cover):
#   - it refuses an access key it does not know (InvalidAccessKeyId); it
#     knows one, S3RVER (secret S3RVER);
#   - it does not verify SigV4 signatures: a wrong secret key is accepted
#     (SignatureDoesNotMatch never comes), and neither is the payload hash;
#   - it ignores If-None-Match and If-Match on a PUT: a conditional put
#     always succeeds (transport.h note 3);
#   - it answers Range, NoSuchKey, NoSuchBucket and paginates ListObjectsV2
#     (max-keys up to 1000, continuation tokens).
# Its continuation tokens are DES-encrypted, which OpenSSL 3 keeps in its
# legacy provider: node runs with --openssl-legacy-provider where it has
# that option.
#
# The test is skipped (exit 77) only when node cannot run at all; s3rver
# missing is a failure that says to run scripts/setup.sh.

S3RVER_DIR=$VARVE_SRC/tests/s3rver
S3RVER_JS=$S3RVER_DIR/node_modules/s3rver/bin/s3rver.js

s3_start() {
	local bucket=$1 node_flags=() i port=""

	if ! command -v node >/dev/null 2>&1 || ! node -e 0 >/dev/null 2>&1; then
		echo "$TEST_NAME: node cannot run here: skipping" >&2
		exit 77
	fi
	[[ -f "$S3RVER_JS" ]] ||
		fail "s3rver is not installed in $S3RVER_DIR (run scripts/setup.sh, or npm ci --prefix tests/s3rver)"
	if node --openssl-legacy-provider -e 0 >/dev/null 2>&1; then
		node_flags=(--openssl-legacy-provider)
	fi
	mkdir -p "$TMP/s3rver"
	S3_LOG=$TMP/s3rver.log
	node "${node_flags[@]}" "$S3RVER_JS" -d "$TMP/s3rver" -a 127.0.0.1 -p 0 \
		--configure-bucket "$bucket" >"$S3_LOG" 2>&1 &
	CLEANUP_PIDS+=("$!")
	# it prints "S3rver listening on 127.0.0.1:PORT" once bound
	for ((i = 0; i < 200; i++)); do
		port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' "$S3_LOG" | head -n 1)
		[[ -n "$port" ]] && break
		kill -0 "${CLEANUP_PIDS[-1]}" 2>/dev/null || break
		sleep 0.1
	done
	if [[ -z "$port" ]]; then
		sed -n '1,40p' "$S3_LOG" >&2
		fail "s3rver did not start"
	fi
	S3_PORT=$port
	S3_ENDPOINT=http://127.0.0.1:$port
	# and answers: an anonymous listing of the bucket
	for ((i = 0; i < 100; i++)); do
		if _s3_status "/$bucket?list-type=2&max-keys=0" | grep -q ' 200'; then
			note "s3rver at $S3_ENDPOINT, bucket '$bucket'"
			return 0
		fi
		sleep 0.1
	done
	sed -n '1,40p' "$S3_LOG" >&2
	fail "s3rver at $S3_ENDPOINT does not answer"
}

# The status line of GET PATH on the server (bash's /dev/tcp: no curl needed).
_s3_status() {
	local line=""

	{
		exec 3<>"/dev/tcp/127.0.0.1/$S3_PORT" &&
			printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "$1" >&3 &&
			IFS= read -r -t 5 line <&3
		exec 3<&- 3>&-
	} 2>/dev/null || true
	printf '%s\n' "$line"
}
