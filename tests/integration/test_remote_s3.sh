#!/usr/bin/env bash
# test_remote_s3.sh - the s3:// transport against a real S3 server on
# loopback (s3rver, tests/integration/s3lib.sh): the unit test binary
# test_remote_s3, given VARVE_TEST_S3_ENDPOINT, drives vs_transport_s3
# directly: put, get, head, delete, ranges, an empty object, awkward key
# names, 8 threads on one transport, an open through transport.h's
# dispatch with the thread's environment, listings of 1,104 keys (pages of
# 1000) and of pages of 7, an unknown access key, an unknown bucket, a
# port where nobody listens.  Then no credential it used appears in its
# output or in the server's log.  Then push and pull end to end through the
# CLI: a push, a second one that sends nothing, a pull into a fresh store
# that checks out byte for byte, a push with an unknown access key and one
# to an unknown bucket refused with a one-line error, no credential in any
# output or in the store's config.
#
# What s3rver cannot show (a wrong secret, conditional puts refused) is
# covered by the unit tests' canned answers; s3lib.sh says why.
source "$(dirname "$0")/lib.sh"
source "$VARVE_SRC/tests/integration/s3lib.sh"

# The credentials test_remote_s3.c uses against the server (see its
# SECRET, TOKEN, KEY_ID); S3RVER is s3rver's own secret.
SECRET='wJalrXUtnFEMI/K7MDENG+bPxRfiCYzSECRETKEY'
TOKEN='FwoGZXIvYXdzEXAMPLETOKENvarveTOKENvalue0123456789'
KEY_ID='AKIAVARVETESTKEYID01'

bin=$(dirname "$VARVE")/tests/test_remote_s3
[[ -x "$bin" ]] || fail "no unit test binary at $bin (build it first)"

s3_start varve-test

VARVE_TEST_S3_ENDPOINT=$S3_ENDPOINT VARVE_TEST_S3_BUCKET=varve-test \
	expect_exit 0 "$bin"
cat "$OUT" "$ERR" >"$TMP/test.out"
grep -q 'Running 4 test(s)' "$TMP/test.out" ||
	fail "the tests against s3rver did not run: $(tail -n 5 "$TMP/test.out")"
grep -q 'PASSED  \] 4 test(s)' "$TMP/test.out" ||
	fail "the tests against s3rver did not all pass"
grep -q 'the access key is not known to http://127.0.0.1:' "$TMP/test.out" ||
	fail "no refusal of an unknown access key"
grep -q "the bucket 'no-such-bucket-varve' does not exist at http://127.0.0.1:" "$TMP/test.out" ||
	fail "no refusal of an unknown bucket"

# what the server stored is what was sent: one object, read from its disk
[[ -n "$(find "$TMP/s3rver" -path '*unit/objects/packs/00/big.pack*' -print -quit)" ]] ||
	fail "s3rver stored no unit/objects/packs/00/big.pack"

# no credential anywhere: the test's output, the server's log
for s in "$SECRET" "$TOKEN" "$KEY_ID" S3RVER; do
	if grep -qF -- "$s" "$TMP/test.out"; then
		grep -nF -- "$s" "$TMP/test.out" | head -n 5 >&2
		fail "a credential in the test's output"
	fi
done
for s in "$SECRET" S3RVER/; do
	if grep -qF -- "$s" "$S3_LOG"; then
		fail "a credential in the server's log"
	fi
done
grep -E '^(wrong|unknown|no server|conditional)' "$TMP/test.out" | while IFS= read -r line; do
	note "$line"
done

# --- push and pull through the CLI ------------------------------------------------
export HOME=$TMP/home
mkdir -p "$HOME"
unset AWS_PROFILE AWS_DEFAULT_PROFILE AWS_REGION AWS_DEFAULT_REGION \
	AWS_ENDPOINT_URL AWS_ENDPOINT_URL_S3 AWS_SHARED_CREDENTIALS_FILE AWS_CONFIG_FILE
export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_SESSION_TOKEN=$TOKEN
A=$TMP/a B=$TMP/b REPO=datasets/d
va() { varve --store "$A" "$@"; }
vb() { varve --store "$B" "$@"; }
expect_exit 0 varve init --chunk-avg 16 "$A"
expect_exit 0 varve init --chunk-avg 16 "$B"
expect_exit 0 va create dataset d
mkdataset src
expect_exit 0 va commit "$REPO" --from src -m one
C1=$(cat "$OUT")
expect_exit 0 va remote add origin s3://varve-test/e2e --endpoint "$S3_ENDPOINT"
expect_exit 0 va push "$REPO" --json
packs=$(json 'd["packs"]' <"$OUT")
((packs >= 1)) || fail "the first push sent $packs packs"
assert_eq "new" "$(json 'd["refs"][0]["status"]' <"$OUT")" "first push"
note "push to s3rver: $packs packs, $(json 'd["bytes"]' <"$OUT") bytes, $(json 'd["requests"]' <"$OUT") requests"
expect_exit 0 va push "$REPO" --json
assert_eq "0 unchanged" "$(json 'd["packs"]' <"$OUT") $(json 'd["refs"][0]["status"]' <"$OUT")" "second push"
expect_exit 0 vb remote add origin s3://varve-test/e2e --endpoint "$S3_ENDPOINT"
expect_exit 0 vb pull "$REPO"
expect_exit 0 vb verify --full
expect_exit 0 vb checkout "$REPO" "$TMP/co"
assert_same_tree src "$TMP/co"
expect_exit 0 vb log "$REPO" --json
assert_eq "$C1" "$(json 'd[0]["id"]' <"$OUT")" "the pulled head"

# refusals: one line each, naming what is wrong, never a credential
AWS_ACCESS_KEY_ID=$KEY_ID AWS_SECRET_ACCESS_KEY=$SECRET expect_exit 1 va push "$REPO"
expect_error_format
expect_err_contains "the access key is not known to $S3_ENDPOINT"
note "push with an unknown key: $(head -n 1 "$ERR")"
cat "$OUT" "$ERR" >>"$TMP/cli.out"
expect_exit 0 va remote add nobucket s3://no-such-bucket-varve --endpoint "$S3_ENDPOINT"
expect_exit 1 va push nobucket "$REPO"
expect_err_contains "the bucket 'no-such-bucket-varve' does not exist at $S3_ENDPOINT"
note "push to an unknown bucket: $(head -n 1 "$ERR")"
cat "$OUT" "$ERR" >>"$TMP/cli.out"
for s in "$SECRET" "$TOKEN" "$KEY_ID" S3RVER; do
	grep -qF -- "$s" "$TMP/cli.out" && fail "a credential in the CLI's output"
	grep -qF -- "$s" "$A/config" "$B/config" && fail "a credential in a store's config"
done
true
