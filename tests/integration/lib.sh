# Shared setup and helpers for varve's integration tests; every
# tests/integration/test_*.sh sources this file first.
#
# What sourcing it does:
#   - re-runs the test under `timeout` (TEST_TIMEOUT seconds, default 540, below
#     ctest's 600) so a hung varve kills the whole process group;
#   - set -euo pipefail, umask 022, LC_ALL=C, VARVE_STORE unset;
#   - makes a private temp dir $TMP, cd's into it, removes it on exit;
#   - finds the binary: $VARVE (set by ctest), else $VARVE_SRC/build/release/varve.
#
# Helpers (all abort the test through `fail` on a mismatch):
#   varve ARGS...               the binary under test
#   expect_exit CODE CMD...     run CMD (stdin /dev/null), stdout -> $OUT, stderr -> $ERR,
#                               assert its exit status; CODE may be "1|2"
#   expect_err_contains TEXT    $ERR contains TEXT (fixed string)
#   expect_out_contains TEXT    $OUT contains TEXT
#   expect_error_format [usage] first line of $ERR starts "varve: error: "
#                               (with "usage": "usage: " is accepted too)
#   assert_eq EXPECTED ACTUAL [WHAT]
#   assert_match REGEX ACTUAL [WHAT]
#   assert_files_equal A B [WHAT]
#   store_fingerprint [REV...]  hash of what the store shows (repos, branches, logs,
#                               stats, the REVs given); equal before/after = no change
#   mkdataset DIR               deterministic sample tree with every awkward case
#   randbytes SEED N            N deterministic pseudo-random bytes on stdout
#   tree_listing DIR [norm]     canonical listing (path, type, mode, size or target);
#                               "norm" maps modes to what a checkout must produce
#   assert_same_tree SRC CO     CO (a checkout) reproduces SRC byte for byte
#   json EXPR                   evaluate a python expression over d = JSON from stdin
#   commit_summary_field NAME   F, R or B from the commit summary line in $ERR
#   note MSG                    informational line on stderr

if [[ -z "${VARVE_TEST_WATCHDOG:-}" ]]; then
	export VARVE_TEST_WATCHDOG=1
	_t=${TEST_TIMEOUT:-540}
	# timeout puts the test in its own process group and kills all of it.
	_rc=0
	timeout -k 10 "$_t" bash "$0" "$@" || _rc=$?
	if ((_rc == 124 || _rc == 137)); then
		echo "$(basename "$0"): FAIL: timed out after ${_t}s" >&2
	fi
	exit "$_rc"
fi

set -euo pipefail
umask 022
export LC_ALL=C
unset VARVE_STORE

TEST_NAME=$(basename "$0" .sh)
VARVE_SRC=${VARVE_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
VARVE=${VARVE:-$VARVE_SRC/build/release/varve}
if [[ ! -x "$VARVE" ]]; then
	echo "$TEST_NAME: FAIL: no varve binary at '$VARVE' (build first, or set VARVE)" >&2
	exit 1
fi
export VARVE VARVE_SRC

# True when the binary is a sanitizer build (slower: tests shrink their data).
is_sanitized() { [[ "$VARVE" == *asan* ]]; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/varve-$TEST_NAME.XXXXXX")
TMP=$(cd "$TMP" && pwd -P)
OUT=$TMP/.out
ERR=$TMP/.err
CLEANUP_PATHS=("$TMP")
CLEANUP_PIDS=()

cleanup() {
	local rc=$?
	local pid p
	for pid in "${CLEANUP_PIDS[@]}"; do
		kill -9 "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	# kernel trace instances of mountlib.sh's fuse_trace_begin, if one was left
	for p in /sys/kernel/tracing/instances/varve-$$-*; do
		[[ -d "$p" ]] && rmdir "$p" 2>/dev/null
	done
	for p in "${CLEANUP_PATHS[@]}"; do
		[[ -e "$p" ]] || continue
		chmod -R u+rwx "$p" 2>/dev/null || true
		rm -rf "$p"
	done
	if ((rc == 0)); then
		echo "$TEST_NAME: PASS"
	elif ((rc == 77)); then
		echo "$TEST_NAME: SKIP"
	else
		echo "$TEST_NAME: FAIL (exit $rc)" >&2
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT
cd "$TMP"

note() { echo "$TEST_NAME: note: $*" >&2; }

fail() {
	echo "$TEST_NAME: FAIL: $*" >&2
	local i
	for ((i = 1; i < ${#FUNCNAME[@]}; i++)); do
		echo "    at ${FUNCNAME[$i]} (${BASH_SOURCE[$i]##*/}:${BASH_LINENO[$((i - 1))]})" >&2
	done
	exit 1
}

varve() { "$VARVE" "$@"; }

# Reports a sanitizer finding in $ERR as a failure whatever the exit status.
_check_sanitizer() {
	if grep -qE 'ERROR: (Address|Leak|Undefined|Thread)Sanitizer|runtime error: ' "$ERR" 2>/dev/null; then
		sed -n '1,60p' "$ERR" >&2
		fail "sanitizer report from: $*"
	fi
}

_show_output() {
	echo "  --- stdout (first 20 lines) ---" >&2
	head -n 20 "$OUT" | cat -v >&2 || true
	echo "  --- stderr (first 20 lines) ---" >&2
	head -n 20 "$ERR" | cat -v >&2 || true
}

# expect_exit CODE CMD...: CODE is a number or alternatives "1|2".
expect_exit() {
	local want=$1; shift
	local rc=0
	"$@" </dev/null >"$OUT" 2>"$ERR" || rc=$?
	_check_sanitizer "$@"
	local ok=0 alt
	IFS='|' read -r -a _alts <<<"$want"
	for alt in "${_alts[@]}"; do
		[[ "$rc" == "$alt" ]] && ok=1
	done
	if ((!ok)); then
		_show_output
		fail "expected exit $want, got $rc from: $(printf '%q ' "$@")"
	fi
	LAST_CMD=$(printf '%q ' "$@")
}

expect_err_contains() {
	if ! grep -qF -- "$1" "$ERR"; then
		_show_output
		fail "stderr of '${LAST_CMD:-?}' does not contain '$1'"
	fi
}

expect_out_contains() {
	if ! grep -qF -- "$1" "$OUT"; then
		_show_output
		fail "stdout of '${LAST_CMD:-?}' does not contain '$1'"
	fi
}

expect_error_format() {
	local first
	first=$(head -n 1 "$ERR")
	if [[ "$first" == "varve: error: "?* ]]; then
		return 0
	fi
	if [[ "${1:-}" == usage && "$first" == "usage: "* ]]; then
		return 0
	fi
	_show_output
	fail "stderr of '${LAST_CMD:-?}' does not start with 'varve: error: '"
}

assert_eq() {
	if [[ "$1" != "$2" ]]; then
		fail "${3:-value}: expected '$(printf '%s' "$1" | cat -v)', got '$(printf '%s' "$2" | cat -v)'"
	fi
}

assert_match() {
	if [[ ! "$2" =~ $1 ]]; then
		fail "${3:-value}: '$(printf '%s' "$2" | cat -v)' does not match /$1/"
	fi
}

assert_files_equal() {
	if ! cmp -s -- "$1" "$2"; then
		cmp -- "$1" "$2" >&2 || true
		fail "${3:-files} differ: '$1' vs '$2'"
	fi
}

# json EXPR: reads JSON on stdin into d and prints the python expression's value
# (strings raw, everything else as JSON).
json() {
	python3 -c '
import json, sys
d = json.load(sys.stdin)
v = eval(sys.argv[1])
print(v if isinstance(v, str) else json.dumps(v, sort_keys=True))
' "$1"
}

# store_fingerprint [REV...]: a hash of everything the store shows. Deliberately
# not RocksDB's file bytes, which change whenever the database is opened.
store_fingerprint() {
	local f=$TMP/.fingerprint repo br rev
	: >"$f"
	{
		echo "== list"; varve list --json
		echo "== stats"; varve stats --json
		echo "== config"; cat "${STORE:?STORE not set}/config"
	} >>"$f" 2>&1 || { cat "$f" >&2; fail "store_fingerprint: varve failed"; }
	for repo in $(varve list --json | json '" ".join(r["repo"] for r in d)'); do
		echo "== branches $repo" >>"$f"
		varve branch "$repo" >>"$f" 2>&1 || fail "store_fingerprint: branch $repo failed"
		for br in $(varve branch "$repo" | awk '{print $1}'); do
			echo "== log $repo@$br" >>"$f"
			varve log "$repo@$br" --json >>"$f" 2>&1 || fail "store_fingerprint: log $repo@$br failed"
		done
	done
	for rev in "$@"; do
		echo "== rev $rev" >>"$f"
		varve log "$rev" --json >>"$f" 2>&1 || fail "store_fingerprint: log $rev failed"
	done
	sha256sum <"$f" | cut -d' ' -f1
}

# randbytes SEED N: N pseudo-random bytes, the same for the same SEED everywhere.
randbytes() {
	{ openssl enc -aes-128-ctr -pass "pass:$1" -nosalt -md sha256 </dev/zero 2>/dev/null || true; } |
		head -c "$2"
}

# mkdataset DIR: a deterministic tree covering what a dataset may hold.
mkdataset() {
	local d=$1 i
	mkdir -p "$d"/a/b/c "$d"/data "$d"/bin "$d"/emptydir "$d"/docs
	printf 'varve sample dataset\nline two\n' >"$d/README.txt"
	printf '# notes\n\nsome notes about the data\n' >"$d/a/notes.md"
	for ((i = 0; i < 200; i++)); do
		echo "deep line $i of a nested text file"
	done >"$d/a/b/c/deep.txt"
	{
		echo "id,label,x,y,comment"
		for ((i = 0; i < 2000; i++)); do
			echo "$i,$((i % 10)),$((i * 7 % 1000)).$((i % 100)),$((i * 13 % 977)),\"row $i, quoted\""
		done
	} >"$d/data/train.csv"
	randbytes "mkdataset-big" $((3 * 1024 * 1024)) >"$d/data/big.bin"
	randbytes "mkdataset-small" 1000 >"$d/data/small.bin"
	: >"$d/empty.txt"
	printf '#!/bin/sh\necho hello from varve\n' >"$d/bin/run.sh"
	chmod 0755 "$d/bin/run.sh"
	printf 'private\n' >"$d/docs/private.txt"
	chmod 0600 "$d/docs/private.txt"
	printf 'hidden\n' >"$d/.hidden"
	ln -s README.txt "$d/link-to-readme"
	ln -s ../../README.txt "$d/a/b/up-link"
	ln -s a/b "$d/link-to-dir"
	ln -s does/not/exist "$d/a/dangling"
	ln -s /nonexistent/absolute/target "$d/abs-dangling"
	printf 'not utf-8\n' >"$d/"$'\xff\xfename'
	printf 'spaces\n' >"$d/name with spaces.txt"
	printf 'newline\n' >"$d/"$'new\nline.txt'
	printf 'unicode\n' >"$d/"$'\xc3\xa9t\xc3\xa9 \xe2\x9c\x93.txt'
}

# tree_listing DIR [norm]: one line per entry, sorted by byte path:
#   repr(path) TYPE MODE SIZE|TARGET
# With "norm", modes are mapped to what a checkout must produce: 0755 for dirs,
# 0755 for files with the user-x bit, 0644 for other files; symlinks show no mode.
tree_listing() {
	python3 - "$1" "${2:-}" <<'PY'
import os, stat, sys
root = os.fsencode(sys.argv[1])
norm = sys.argv[2] == "norm"
out = []
for dirpath, dirnames, filenames in os.walk(root):
    for name in dirnames + filenames:
        full = os.path.join(dirpath, name)
        rel = os.path.relpath(full, root)
        st = os.lstat(full)
        m = stat.S_IMODE(st.st_mode)
        if stat.S_ISLNK(st.st_mode):
            out.append((rel, "l", "-", repr(os.readlink(full))))
        elif stat.S_ISDIR(st.st_mode):
            out.append((rel, "d", "%o" % (0o755 if norm else m), "-"))
        elif stat.S_ISREG(st.st_mode):
            if norm:
                m = 0o755 if m & stat.S_IXUSR else 0o644
            out.append((rel, "f", "%o" % m, str(st.st_size)))
        else:
            out.append((rel, "other", "%o" % m, "-"))
out.sort()
for rel, t, m, x in out:
    print(repr(rel), t, m, x)
PY
}

# assert_same_tree SRC CO: the checkout CO reproduces SRC.
assert_same_tree() {
	local src=$1 co=$2
	if ! diff -r --no-dereference -- "$src" "$co" >"$TMP/.treediff" 2>&1; then
		head -n 30 "$TMP/.treediff" | cat -v >&2
		fail "diff -r: checkout '$co' differs from '$src'"
	fi
	tree_listing "$src" norm >"$TMP/.list-src"
	tree_listing "$co" >"$TMP/.list-co"
	if ! diff -u "$TMP/.list-src" "$TMP/.list-co" >"$TMP/.listdiff"; then
		head -n 40 "$TMP/.listdiff" >&2
		fail "listing (types, modes, sizes, link targets) of '$co' differs from '$src'"
	fi
}

# commit_summary_field F|R|B: from "committed REPO@BRANCH <12hex> (F files, R read,
# B bytes new)" on stderr ($ERR). B is also understood as "1.5 MiB" (a deviation
# from that form is reported by test_roundtrip, not here), converted to bytes.
commit_summary_field() {
	local line
	local re='^committed [a-z]+/[^ ]+@[^ ]+ [0-9a-f]{12} \(([0-9]+) files, ([0-9]+) read, ([0-9.]+) (bytes|B|KiB|MiB|GiB) new\)$'
	line=$(grep -E "$re" "$ERR" | tail -n 1 || true)
	[[ -n "$line" ]] || { _show_output; fail "no commit summary line matching /$re/ on stderr"; }
	[[ "$line" =~ $re ]]
	case "$1" in
	F) echo "${BASH_REMATCH[1]}" ;;
	R) echo "${BASH_REMATCH[2]}" ;;
	B) python3 -c 'import sys; n, u = float(sys.argv[1]), sys.argv[2]; print(int(n * {"bytes": 1, "B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}[u]))' \
		"${BASH_REMATCH[3]}" "${BASH_REMATCH[4]}" ;;
	*) fail "commit_summary_field: unknown field '$1'" ;;
	esac
}

HEX64='^[0-9a-f]{64}$'

# head_id REV: the id of REV's newest commit (through log --json).
head_id() {
	varve log "$1" -n 1 --json | json 'd[0]["id"]'
}
