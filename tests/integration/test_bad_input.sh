#!/usr/bin/env bash
# Bad input: every case exits 1 (2 for usage errors), says "varve: error: ..." on
# stderr, and changes nothing in the store. Ends with corrupted chunks and objects,
# which verify --full must name and cat/checkout must refuse to return, and with the
# permission cases, run as an unprivileged user (a temporary one when run as root).
source "$(dirname "$0")/lib.sh"

expect_exit 0 varve init
STORE=$TMP/.varve
expect_exit 0 varve create dataset good
mkdataset src
expect_exit 0 varve commit datasets/good --from src -m "good data"
GOOD=$(cat "$OUT")
expect_exit 0 varve tag datasets/good v1
FP0=$(store_fingerprint datasets/good@v1)

# bad CODE CMD...: the command fails with CODE, in the right format, changing nothing.
bad() {
	local code=$1; shift
	expect_exit "$code" "$@"
	if [[ "$code" == *2* ]]; then
		expect_error_format usage
	else
		expect_error_format
	fi
	local fp
	fp=$(store_fingerprint datasets/good@v1)
	[[ "$fp" == "$FP0" ]] || fail "the store changed after: $LAST_CMD"
}

# --- unknown repositories, revisions, paths ------------------------------------------------
bad 1 varve log datasets/nope
bad 1 varve log models/good
bad 1 varve log tables/good
bad 1 varve log datasets/Good
bad 1 varve ls datasets/nope
bad 1 varve cat datasets/nope:README.txt
bad 1 varve show datasets/nope
bad 1 varve checkout datasets/nope out
[[ ! -e out ]] || fail "a failed checkout created its target"
bad 1 varve commit datasets/nope --from src
bad 1 varve tag datasets/nope v1
bad 1 varve branch datasets/nope
bad 1 varve diff datasets/nope datasets/good

bad 1 varve log datasets/good@nosuch
bad 1 varve log datasets/good@deadbeefdeadbeef
bad 1 varve log datasets/good@0000000000000000000000000000000000000000000000000000000000000000
# a malformed REV is an unknown revision (README: a REV is REPO[@X][~N]),
# a failed operation like the ones above, not a usage error
bad 1 varve log datasets/good@
bad 1 varve log datasets/good@main~x
bad 1 varve log datasets/good@main~-1
bad 1 varve log datasets/good@main~999
bad 1 varve log datasets/good~1
bad 1 varve cat datasets/good@nosuch:README.txt
bad 1 varve diff datasets/good datasets/good@nosuch
bad 1 varve checkout datasets/good@main~999 out
[[ ! -e out ]] || fail "a failed checkout created its target"
bad 1 varve cat datasets/good:no/such/file
bad 1 varve cat datasets/good:README.txt/below
bad 1 varve ls datasets/good:nope
bad 1 varve ls datasets/good:README.txt/x
bad 1 varve branch datasets/good other datasets/good@nosuch
bad 1 varve branch -d datasets/good nosuch
bad 1 varve tag datasets/good@nosuch v9

# --- invalid names ---------------------------------------------------------------------------
long=$(printf 'a%.0s' $(seq 300))
for name in ../x "" "$long" a/b $'a\x01b' Foo .hidden _x "a b" $'a\nb' "$(printf 'a%.0s' $(seq 65))"; do
	bad 1 varve create dataset "$name"
	bad 1 varve create model "$name"
done
# the longest valid name is 64 characters (checked after the fingerprint loop below)
# the usage line spells the kind out ("create dataset|model NAME"): anything
# else there is a usage error
bad 2 varve create table x
bad 2 varve create datasets x
bad 1 varve create dataset good
bad 1 varve branch datasets/good "../x" datasets/good
bad 1 varve commit datasets/good --from src --branch "../x"

# --- bad commit sources -----------------------------------------------------------------------
bad 1 varve commit datasets/good --from missing-dir
printf 'x\n' >a-regular-file
bad 1 varve commit datasets/good --from a-regular-file
# (an unreadable source: at the end, as an unprivileged user)
# --meta takes KEY=VALUE (the usage line): a malformed one is a usage error
bad 2 varve commit datasets/good --from src --meta novalue
bad 2 varve commit datasets/good --from src --meta =value

# --- checkout never overwrites ----------------------------------------------------------------
mkdir nonempty
printf 'keep me\n' >nonempty/keep.txt
printf 'keep me\n' >nonempty/README.txt
tree_listing nonempty >"$TMP/.before"
bad 1 varve checkout datasets/good nonempty
tree_listing nonempty >"$TMP/.after"
assert_files_equal "$TMP/.before" "$TMP/.after" "listing of a non-empty checkout target"
assert_eq "keep me" "$(cat nonempty/README.txt)" "file in a non-empty checkout target"
bad 1 varve checkout datasets/good a-regular-file
assert_eq "x" "$(cat a-regular-file)" "regular file used as a checkout target"

# --- stores that are not stores ---------------------------------------------------------------
mkdir notastore
bad 1 varve --store notastore list
bad 1 varve --store notastore log datasets/good
bad 1 varve --store "$TMP/does-not-exist" list
[[ ! -e "$TMP/does-not-exist" ]] || fail "--store DIR created DIR"
bad 1 varve --store a-regular-file list
assert_eq "" "$(ls -A notastore)" "a dir that is not a store was written to"
bad 1 env VARVE_STORE="$TMP/notastore" "$VARVE" list
expect_exit 0 env VARVE_STORE="$TMP/notastore" "$VARVE" --store "$STORE" list --json
assert_eq "datasets/good" "$(json '" ".join(r["repo"] for r in d)' <"$OUT")" "--store takes precedence over VARVE_STORE"
assert_eq "" "$(ls -A notastore)" "a dir that is not a store was written to (VARVE_STORE)"
nostore=$(mktemp -d)
CLEANUP_PATHS+=("$nostore")
store_above() { # DIR: is there a .varve in DIR or above?
	local d=$1
	while :; do
		[[ -e "$d/.varve" ]] && return 0
		[[ "$d" == / ]] && return 1
		d=$(dirname "$d")
	done
}
if store_above "$nostore"; then
	note "a .varve exists above $nostore: the no-store-found case is skipped"
else
	rc=0
	(cd "$nostore" && "$VARVE" list) >"$OUT" 2>"$ERR" </dev/null || rc=$?
	assert_eq 1 "$rc" "exit of 'varve list' where no store can be found"
	expect_error_format
	assert_eq "" "$(ls -A "$nostore")" "varve wrote into a dir with no store"
fi

# --- a store of a future format ---------------------------------------------------------------
cp "$STORE/config" "$TMP/config.orig"
sed -i -E 's/^([[:space:]]*format[[:space:]]*=[[:space:]]*)[0-9]+[[:space:]]*$/\199/' "$STORE/config"
grep -qE '^[[:space:]]*format[[:space:]]*=[[:space:]]*99' "$STORE/config" ||
	fail "could not set format = 99 in $STORE/config"
cp "$STORE/config" "$TMP/config.99"
for cmd in "list" "log datasets/good" "stats" "verify" "create dataset other"; do
	# shellcheck disable=SC2086
	expect_exit 1 varve $cmd
	expect_error_format
done
expect_exit 1 varve commit datasets/good --from src
expect_error_format
assert_files_equal "$TMP/config.99" "$STORE/config" "config after commands refused a future format"
cp "$TMP/config.orig" "$STORE/config"
FP=$(store_fingerprint datasets/good@v1)
assert_eq "$FP0" "$FP" "fingerprint after the format-99 cases"

# --- init on an existing store ------------------------------------------------------------------
bad 1 varve init
bad 1 varve init "$STORE"
bad 1 varve init a-regular-file

# --- usage errors ------------------------------------------------------------------------------
bad 2 varve frobnicate
bad 2 varve
bad 2 varve --bogus-option list
bad 2 varve list --bogus
bad 2 varve create
bad 2 varve create dataset
bad 2 varve create dataset x y
bad 2 varve commit
# (no "commit REPO" without --from: that commits the staged changes of a writable mount)
bad 2 varve commit datasets/good --from
bad 2 varve commit --from src
bad 2 varve log
bad 2 varve log datasets/good -n
bad 2 varve log datasets/good -n abc
bad 2 varve ls
bad 2 varve cat
bad 2 varve checkout
bad 2 varve checkout datasets/good
bad 2 varve diff
bad 2 varve diff datasets/good
bad 2 varve branch
bad 2 varve branch -d datasets/good
bad 2 varve tag
bad 2 varve tag datasets/good
bad 2 varve show
bad 2 varve verify --bogus
bad 2 varve --store

# --- help ------------------------------------------------------------------------------------------
for c in init create list commit log ls cat checkout diff branch tag show stats verify help; do
	expect_exit 0 varve help "$c"
	grep -qi "usage" "$OUT" || { _show_output; fail "varve help $c prints no usage on stdout"; }
	grep -qw -- "$c" "$OUT" || { _show_output; fail "varve help $c does not name $c"; }
	help_text=$(cat "$OUT")
	expect_exit 0 varve "$c" --help
	grep -qi "usage" "$OUT" || { _show_output; fail "varve $c --help prints no usage on stdout"; }
	grep -qw -- "$c" "$OUT" || { _show_output; fail "varve $c --help does not name $c"; }
	[[ "$help_text" == "$(cat "$OUT")" ]] || note "'varve help $c' and 'varve $c --help' differ"
done
expect_exit 0 varve help
for c in init create list commit log ls cat checkout diff branch tag show stats verify; do
	grep -qw -- "$c" "$OUT" || { _show_output; fail "varve help does not list $c"; }
done
expect_exit 0 varve --help
FP=$(store_fingerprint datasets/good@v1)
assert_eq "$FP0" "$FP" "fingerprint after help"

# the longest valid name is accepted (after the no-change checks above)
expect_exit 0 varve create dataset "$(printf 'a%.0s' $(seq 64))"
expect_exit 0 varve create model a0._-z

# --- corrupted objects ------------------------------------------------------------------------------
# ldb opens the same RocksDB; varve is not running now, so the lock is free.
ldb_run() { # ARGS...: ldb on the store's database; output in $TMP/.ldb
	ldb --db="$STORE/db" "$@" >"$TMP/.ldb" 2>"$TMP/.ldb-err" </dev/null ||
		{ head -c 2000 "$TMP/.ldb-err" >&2; fail "ldb $(printf '%s ' "$@" | head -c 300)"; }
}
ldb_keys() { # CF: the hex keys of a column family, lower case, sorted
	ldb_run --column_family="$1" scan --key_hex --no_value
	sed -n 's/^0[xX]\([0-9A-Fa-f]*\).*/\1/p' "$TMP/.ldb" | tr 'A-F' 'a-f' | sort
}
ldb_get() { # CF HEXKEY: the value as lower-case hex
	ldb_run --column_family="$1" get --key_hex --value_hex "0x$2"
	sed 's/^0[xX]//' "$TMP/.ldb" | tr 'A-F' 'a-f'
}
ldb_put() { # CF HEXKEY HEXVALUE (through stdin: a chunk is larger than one argv string may be)
	printf '0x%s ==> 0x%s\n' "$2" "$3" >"$TMP/.ldb-in"
	ldb --db="$STORE/db" --column_family="$1" load --key_hex --value_hex \
		<"$TMP/.ldb-in" >"$TMP/.ldb" 2>"$TMP/.ldb-err" ||
		{ head -c 2000 "$TMP/.ldb-err" >&2; fail "ldb load into $1"; }
}
if ! command -v ldb >/dev/null 2>&1; then
	fail "ldb (rocksdb-tools) is not installed: run scripts/setup.sh"
fi

ldb_keys chunks >"$TMP/.chunks-before" || fail "ldb scan failed"
[[ -s "$TMP/.chunks-before" ]] || fail "ldb finds no keys in column family 'chunks'"
while read -r k; do
	assert_match "$HEX64" "$k" "chunk key (32 raw id bytes)"
done <"$TMP/.chunks-before"

# victim: one file of new random data, so every new chunk key is one of its chunks.
expect_exit 0 varve create dataset victim
mkdir victim
randbytes victim $((3 * 1024 * 1024)) >victim/blob.bin
expect_exit 0 varve commit datasets/victim --from victim
ldb_keys chunks >"$TMP/.chunks-after" || fail "ldb scan failed"
comm -13 "$TMP/.chunks-before" "$TMP/.chunks-after" >"$TMP/.victim-chunks"
[[ -s "$TMP/.victim-chunks" ]] || fail "the victim commit added no chunk"
nchunks=$(wc -l <"$TMP/.victim-chunks")
note "victim file has $nchunks chunk(s)"
# the middle chunk, so that cat may have streamed correct bytes before it
BAD=$(sed -n "$(((nchunks + 1) / 2))p" "$TMP/.victim-chunks")
value=$(ldb_get chunks "$BAD") || fail "ldb get failed"
[[ -n "$value" ]] || fail "ldb get of chunk $BAD returned nothing"
# flip one byte in the middle of the stored value: decodes, but hashes wrong
half=$(((${#value} / 4) * 2))
byte=${value:$half:2}
flipped=$(printf '%02x' $((0x$byte ^ 0xff)))
ldb_put chunks "$BAD" "${value:0:$half}$flipped${value:$((half + 2))}"
[[ "$(ldb_get chunks "$BAD")" != "$value" ]] || fail "ldb put did not change chunk $BAD"

expect_exit 1 varve verify --full
expect_error_format
expect_err_contains "$BAD"
rc=0
varve cat datasets/victim:blob.bin >"$TMP/.cat" 2>"$ERR" || rc=$?
_check_sanitizer cat
assert_eq 1 "$rc" "exit of cat of a file with a corrupt chunk"
expect_error_format
n=$(stat -c %s "$TMP/.cat")
((n < 3 * 1024 * 1024)) || fail "cat printed the whole file despite a corrupt chunk"
cmp -s -n "$n" "$TMP/.cat" victim/blob.bin || fail "cat printed wrong bytes ($n bytes before failing)"
expect_exit 1 varve checkout datasets/victim co-victim
expect_error_format
if [[ -f co-victim/blob.bin ]]; then
	cmp -s co-victim/blob.bin victim/blob.bin && fail "checkout reported failure but wrote the full file"
	n=$(stat -c %s co-victim/blob.bin)
	cmp -s -n "$n" co-victim/blob.bin victim/blob.bin ||
		fail "checkout of a corrupt chunk left wrong bytes in co-victim/blob.bin"
	note "a failed checkout left a partial co-victim/blob.bin ($n bytes)"
fi
# other data is unaffected
expect_exit 0 varve checkout datasets/good co-good
assert_same_tree src co-good

# a truncated commit object: log and verify must name it
expect_exit 0 varve create model victim2
mkdir victim2
printf 'v2\n' >victim2/f
expect_exit 0 varve commit models/victim2 --from victim2
CID=$(cat "$OUT")
value=$(ldb_get objects "$CID") || fail "ldb get failed"
[[ -n "$value" ]] || fail "no key $CID in column family 'objects'"
ldb_put objects "$CID" "${value:0:6}"
expect_exit 1 varve log models/victim2
expect_error_format
expect_exit 1 varve checkout models/victim2 co-victim2
expect_error_format
expect_exit 1 varve verify
expect_error_format
expect_err_contains "$CID"
expect_exit 1 varve verify --full
expect_err_contains "$CID"
expect_err_contains "$BAD"
# unrelated repositories still work
expect_exit 0 varve log datasets/good
expect_exit 0 varve cat datasets/good:README.txt
assert_files_equal src/README.txt "$OUT" "cat of an intact file after corruption elsewhere"

# --- what only an unprivileged user meets ------------------------------------------------------
# Permission denied on a source, a store or a target: root reads and writes anything,
# so as root these run as a temporary user made for them (and removed on exit).
# Last, because a machine where that cannot be done skips them with exit 77.
UDIR=$(mktemp -d)
CLEANUP_PATHS+=("$UDIR")
if ((EUID == 0)); then
	for tool in useradd userdel setpriv; do
		if ! command -v "$tool" >/dev/null; then
			note "SKIP: running as root without $tool: no unprivileged user for the permission cases"
			exit 77
		fi
	done
	TUSER=varve-t$$
	if ! useradd --system --no-create-home --no-user-group --shell /usr/sbin/nologin \
		"$TUSER" 2>"$ERR"; then
		cat "$ERR" >&2
		note "SKIP: useradd $TUSER failed: no unprivileged user for the permission cases"
		exit 77
	fi
	# remove the user whatever happens, then run lib.sh's cleanup with the test's status
	# shellcheck disable=SC2154 # _rc is set inside the trap
	trap '_rc=$?; userdel "$TUSER" 2>/dev/null || note "could not remove user $TUSER"; (exit $_rc); cleanup' EXIT
	TGID=$(id -g "$TUSER")
	chown "$TUSER:$TGID" "$UDIR"
	as_user() { (cd "$UDIR" && exec setpriv --reuid="$TUSER" --regid="$TGID" --clear-groups -- "$@"); }
	as_user test -x "$VARVE" ||
		{ note "SKIP: user $TUSER cannot run $VARVE (a directory on its path is closed to others)"; exit 77; }
else
	as_user() { (cd "$UDIR" && exec "$@"); }
fi
USTORE=$UDIR/.varve
ufingerprint() { # what the unprivileged user's store shows
	{
		as_user "$VARVE" --store "$USTORE" list --json
		as_user "$VARVE" --store "$USTORE" log datasets/u --json
	} 2>&1 | sha256sum | cut -d' ' -f1
}
# ubad CODE CMD...: as bad, run as the unprivileged user against its store USTORE.
ubad() {
	local code=$1; shift
	expect_exit "$code" as_user "$@"
	expect_error_format
	[[ "$(ufingerprint)" == "$UFP0" ]] || fail "the store changed after: $LAST_CMD"
}
expect_exit 0 as_user "$VARVE" init
expect_exit 0 as_user "$VARVE" create dataset u
expect_exit 0 as_user mkdir src unreadable closed
expect_exit 0 as_user sh -c 'printf "x\n" >src/f && printf "x\n" >unreadable/f'
expect_exit 0 as_user "$VARVE" commit datasets/u --from src
UFP0=$(ufingerprint)

# an unreadable source directory, then an unreadable file in it
chmod 000 "$UDIR/unreadable"
ubad 1 "$VARVE" commit datasets/u --from unreadable
expect_err_contains "Permission denied"
chmod 755 "$UDIR/unreadable"
chmod 000 "$UDIR/unreadable/f"
ubad 1 "$VARVE" commit datasets/u --from unreadable
expect_err_contains "Permission denied"

# a target directory that cannot be written: checkout and init fail, create nothing
chmod 555 "$UDIR/closed"
ubad 1 "$VARVE" checkout datasets/u closed/co
[[ ! -e "$UDIR/closed/co" ]] || fail "a failed checkout created its target"
ubad 1 "$VARVE" init closed/store
[[ ! -e "$UDIR/closed/store" ]] || fail "a failed init created its store"
assert_eq "" "$(ls -A "$UDIR/closed")" "a directory the user cannot write"

# a store that cannot be written: readers still work (README), writers fail
chmod -R a-w "$USTORE"
expect_exit 0 as_user "$VARVE" list
assert_eq "datasets/u" "$(cat "$OUT")" "list of a read-only store"
expect_exit 0 as_user "$VARVE" log datasets/u --oneline
ubad 1 "$VARVE" create dataset other
ubad 1 "$VARVE" commit datasets/u --from src --allow-empty
chmod -R u+w "$USTORE"

# a store directory that cannot be entered at all
chmod 000 "$USTORE"
expect_exit 1 as_user "$VARVE" list
expect_error_format
expect_err_contains "$USTORE"
expect_err_contains "Permission denied"
expect_exit 1 as_user "$VARVE" --store "$USTORE" log datasets/u
expect_error_format
expect_err_contains "Permission denied"
chmod 755 "$USTORE"
[[ "$(ufingerprint)" == "$UFP0" ]] || fail "the store changed while it could not be entered"
