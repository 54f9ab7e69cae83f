#!/usr/bin/env bash
# Round trip: init, create, two commits, checkout of both reproduces the sources
# exactly (modes, symlinks, empty files and dirs, odd names); diff, log, ls, cat,
# show, stats, verify; every revision form; branches, tags, metadata, --branch,
# no-op recommits, special files skipped with a warning.
source "$(dirname "$0")/lib.sh"

REPO=datasets/imgs

# --- init, create ---------------------------------------------------------------
expect_exit 0 varve init
assert_eq "initialized empty varve store in $TMP/.varve" "$(cat "$OUT")" "init message"
STORE=$TMP/.varve
[[ -f "$STORE/config" && -d "$STORE/db" ]] || fail "store layout: no config or db/ in $STORE"
grep -qE '^\s*format\s*=\s*3\s*$' "$STORE/config" || fail "config has no 'format = 3' line"

expect_exit 0 varve create dataset imgs
assert_eq "created $REPO" "$(cat "$OUT")" "create message"

expect_exit 0 varve list
assert_eq "$REPO" "$(cat "$OUT")" "list after create"

# --- v1 -----------------------------------------------------------------------------
mkdataset src1
expect_exit 0 varve commit "$REPO" --from src1 -m "first version" --meta source=test --meta k=v1
ID1=$(cat "$OUT")
assert_match "$HEX64" "$ID1" "commit v1 stdout"
grep -qE "^committed $REPO@main ${ID1:0:12} \([0-9]+ files, [0-9]+ read, [0-9.]+ (B|KiB|MiB|GiB) new\)$" "$ERR" ||
	{ cat "$ERR" >&2; fail "commit v1: no summary 'committed $REPO@main ${ID1:0:12} (F files, R read, SIZE new)'"; }

# quiet mode: no summary
expect_exit 0 varve -q commit "$REPO" --from src1
assert_eq "$ID1" "$(cat "$OUT")" "-q recommit of unchanged dir prints the head"
[[ ! -s "$ERR" ]] || { cat "$ERR" >&2; fail "-q commit printed on stderr"; }

# --- v2: edit, delete, add, chmod +x, retarget a symlink, remove an empty dir ---------
cp -a src1 src2
printf 'an edited line\n' >>src2/README.txt
rm src2/a/notes.md
mkdir src2/new
printf 'added\n' >src2/new/added.txt
chmod +x src2/data/train.csv
rm src2/a/dangling
ln -s still/not/there src2/a/dangling
rmdir src2/emptydir
mkdir src2/new-empty

expect_exit 0 varve commit "$REPO" --from src2 -m "second version" --meta k=v2 --meta "note=a b=c"
ID2=$(cat "$OUT")
assert_match "$HEX64" "$ID2" "commit v2 stdout"
[[ "$ID2" != "$ID1" ]] || fail "v2 has the same id as v1"
expect_err_contains "committed $REPO@main ${ID2:0:12} ("

# --- re-committing an unchanged dir makes no commit -----------------------------------
expect_exit 0 varve commit "$REPO" --from src2 -m "should not exist"
assert_eq "$ID2" "$(cat "$OUT")" "no-op commit prints the unchanged head"
expect_err_contains "nothing to commit"

# --- checkout of both revisions -------------------------------------------------------
expect_exit 0 varve checkout "$REPO@$ID1" co1
assert_same_tree src1 co1
mkdir co2
expect_exit 0 varve checkout "$REPO" co2
assert_same_tree src2 co2
[[ -x co2/data/train.csv && ! -x co1/data/train.csv ]] || fail "exec bit of data/train.csv not reproduced"
[[ -d co1/emptydir && ! -e co2/emptydir ]] || fail "empty dir not reproduced"
assert_eq does/not/exist "$(readlink co1/a/dangling)" "dangling symlink target"

# --- diff --------------------------------------------------------------------------------
expect_exit 0 varve diff "$REPO@$ID1" "$REPO@$ID2"
expected_diff=$(printf '%s\n' \
	"A new-empty/" "A new/added.txt" "D a/notes.md" "D emptydir/" \
	"M README.txt" "M a/dangling" "M data/train.csv" | sort)
assert_eq "$expected_diff" "$(sort "$OUT")" "diff v1 v2"
expect_exit 0 varve diff "$REPO@$ID1" "$REPO@$ID2" --json
got=$(json 'sorted("%s %s" % (e["status"], e["path"]) for e in d)' <"$OUT")
assert_eq '["added new-empty/", "added new/added.txt", "modified README.txt", "modified a/dangling", "modified data/train.csv", "removed a/notes.md", "removed emptydir/"]' \
	"$got" "diff --json"
expect_exit 0 varve diff "$REPO" "$REPO@main"
assert_eq "" "$(cat "$OUT")" "diff of a revision with itself"
expect_exit 0 varve diff "$REPO@$ID2" "$REPO@$ID1"
assert_eq "$(printf '%s\n' "$expected_diff" | sed 's/^A /X /; s/^D /A /; s/^X /D /' | sort)" "$(sort "$OUT")" "reverse diff"

# --- log --------------------------------------------------------------------------------
expect_exit 0 varve log "$REPO"
grep -qF "$ID2" "$OUT" || grep -qF "${ID2:0:12}" "$OUT" || fail "log does not show v2's id"
grep -qF "second version" "$OUT" || fail "log does not show v2's message"
pos2=$(grep -nF "second version" "$OUT" | head -n1 | cut -d: -f1)
pos1=$(grep -nF "first version" "$OUT" | head -n1 | cut -d: -f1)
[[ -n "$pos1" && "$pos2" -lt "$pos1" ]] || fail "log is not newest first"
grep -qF "should not exist" "$OUT" && fail "log shows a commit that should not exist"

expect_exit 0 varve log "$REPO" --oneline
assert_eq 2 "$(wc -l <"$OUT" | tr -d ' ')" "log --oneline line count"
head -n1 "$OUT" | grep -qF "${ID2:0:7}" || fail "log --oneline line 1 is not v2"
sed -n 2p "$OUT" | grep -qF "${ID1:0:7}" || fail "log --oneline line 2 is not v1"
head -n1 "$OUT" | grep -qF "second version" || fail "log --oneline line 1 lacks the message"

expect_exit 0 varve log "$REPO" -n 1 --oneline
assert_eq 1 "$(wc -l <"$OUT" | tr -d ' ')" "log -n 1 line count"

expect_exit 0 varve log "$REPO" --json
assert_eq 2 "$(json 'len(d)' <"$OUT")" "log --json length"
assert_eq "$ID2" "$(json 'd[0]["id"]' <"$OUT")" "log --json [0].id"
assert_eq "$ID1" "$(json 'd[1]["id"]' <"$OUT")" "log --json [1].id"
assert_eq "[\"$ID1\"]" "$(json 'd[0]["parents"]' <"$OUT")" "v2 parents"
assert_eq "[]" "$(json 'd[1]["parents"]' <"$OUT")" "v1 parents"
assert_eq "second version" "$(json 'd[0]["message"]' <"$OUT")" "v2 message"
assert_eq "first version" "$(json 'd[1]["message"]' <"$OUT")" "v1 message"
assert_eq '{"k": "v2", "note": "a b=c"}' "$(json 'd[0]["meta"]' <"$OUT")" "v2 meta"
assert_eq '{"k": "v1", "source": "test"}' "$(json 'd[1]["meta"]' <"$OUT")" "v1 meta"
for i in 0 1; do
	assert_match '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?Z$' \
		"$(json "d[$i][\"time\"]" <"$OUT")" "log --json [$i].time (ISO 8601 UTC)"
	assert_match "$HEX64" "$(json "d[$i][\"tree\"]" <"$OUT")" "log --json [$i].tree"
	assert_match '^.+$' "$(json "d[$i][\"author\"]" <"$OUT")" "log --json [$i].author"
done

# --- revision forms -------------------------------------------------------------------
expect_exit 0 varve tag "$REPO@main~1" v1 -m "the first release"
declare -A forms=(
	["$REPO"]=$ID2
	["$REPO@main"]=$ID2
	["$REPO@main~0"]=$ID2
	["$REPO@$ID1"]=$ID1
	["$REPO@$ID2"]=$ID2
	["$REPO@${ID1:0:7}"]=$ID1
	["$REPO@${ID2:0:12}"]=$ID2
	["$REPO@main~1"]=$ID1
	["$REPO~1"]=$ID1
	["$REPO@$ID2~1"]=$ID1
	["$REPO@v1"]=$ID1
)
for rev in "${!forms[@]}"; do
	expect_exit 0 varve log "$rev" -n 1 --json
	assert_eq "${forms[$rev]}" "$(json 'd[0]["id"]' <"$OUT")" "revision '$rev'"
done

# --- ls ------------------------------------------------------------------------------------
# Names that fit on a line and are valid UTF-8; the odd ones are checked through cat.
plain_names() { # DIR [R]: expected ls (or ls -R) output restricted to plain names
	python3 - "$1" "${2:-}" <<'PY'
import os, sys
root = os.fsencode(sys.argv[1]); rec = sys.argv[2] == "R"
out = []
def plain(b):
    try: s = b.decode("utf-8")
    except UnicodeDecodeError: return None
    return None if "\n" in s else s
def walk(d, prefix):
    for name in sorted(os.listdir(d)):
        full = os.path.join(d, name)
        s = plain(name)
        if s is None: continue
        isdir = os.path.isdir(full) and not os.path.islink(full)
        out.append(prefix + s + ("/" if isdir else ""))
        if rec and isdir: walk(full, prefix + s + "/")
walk(root, "")
print("\n".join(out))
PY
}
only_plain() { # filter stdin to lines that are in the expected file $1, keeping order
	grep -Fxf "$1" || true
}
expect_exit 0 varve ls "$REPO@v1"
plain_names src1 >"$TMP/.want"
assert_eq "$(cat "$TMP/.want")" "$(only_plain "$TMP/.want" <"$OUT")" "ls (sorted, dirs with /)"
grep -qFx "emptydir/" "$OUT" || fail "ls does not show emptydir/"
grep -qFx "empty.txt" "$OUT" || fail "ls does not show empty.txt"

expect_exit 0 varve ls "$REPO@v1" -R
plain_names src1 R >"$TMP/.want"
assert_eq "$(cat "$TMP/.want")" "$(only_plain "$TMP/.want" <"$OUT")" "ls -R"
grep -qFx "a/b/c/deep.txt" "$OUT" || fail "ls -R lacks a/b/c/deep.txt"

expect_exit 0 varve ls "$REPO:a"
plain_names src2/a >"$TMP/.want"
assert_eq "$(cat "$TMP/.want")" "$(cat "$OUT")" "ls REV:a"

expect_exit 0 varve ls "$REPO:a/b/c"
assert_eq "deep.txt" "$(cat "$OUT")" "ls REV:a/b/c"

expect_exit 0 varve ls "$REPO" -l
grep -F "big.bin" "$OUT" >/dev/null && fail "ls -l of the root lists data/big.bin's name"
expect_exit 0 varve ls "$REPO:data" -l
grep -F "big.bin" "$OUT" | grep -qw 3145728 || fail "ls -l does not show big.bin's size 3145728"
grep -F "train.csv" "$OUT" | grep -q . || fail "ls -l lacks train.csv"

expect_exit 0 varve ls "$REPO" --json
python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$OUT" || fail "ls --json is not JSON"

# --- cat ------------------------------------------------------------------------------------
for p in README.txt data/big.bin data/small.bin data/train.csv empty.txt a/b/c/deep.txt \
	bin/run.sh .hidden "name with spaces.txt" $'\xff\xfename' $'new\nline.txt' \
	$'\xc3\xa9t\xc3\xa9 \xe2\x9c\x93.txt' docs/private.txt; do
	varve cat "$REPO:$p" >"$TMP/.cat" || fail "cat $REPO:$(printf '%q' "$p") failed"
	assert_files_equal "src2/$p" "$TMP/.cat" "cat $REPO:$(printf '%q' "$p")"
done
varve cat "$REPO@v1:README.txt" >"$TMP/.cat"
assert_files_equal src1/README.txt "$TMP/.cat" "cat v1:README.txt"
varve cat "$REPO@main~1:a/notes.md" >"$TMP/.cat"
assert_files_equal src1/a/notes.md "$TMP/.cat" "cat main~1:a/notes.md"

# --- show, stats, verify ----------------------------------------------------------------
expect_exit 0 varve show "$REPO@v1"
grep -qF "${ID1:0:12}" "$OUT" || fail "show does not name the commit"
expect_exit 0 varve show "$REPO" --json
grep -qF "$ID2" "$OUT" || fail "show --json does not contain the commit id"

# --- branches ------------------------------------------------------------------------------
expect_exit 0 varve branch "$REPO"
assert_eq "main $ID2" "$(cat "$OUT")" "branch list"
expect_exit 0 varve branch "$REPO" dev "$REPO@main~1"
expect_exit 0 varve branch "$REPO"
assert_eq "$(printf 'dev %s\nmain %s' "$ID1" "$ID2")" "$(cat "$OUT")" "branch list after create"
expect_exit 0 varve branch "$REPO" dev "$REPO@main"
assert_eq "$ID2" "$(head_id "$REPO@dev")" "branch moved"
expect_exit 0 varve branch "$REPO" feature
expect_exit 0 varve branch "$REPO"
grep -qE "^feature [0-9a-f]{64}$" "$OUT" || fail "branch without REV was not created"
expect_exit 0 varve branch -d "$REPO" dev
expect_exit 0 varve branch -d "$REPO" feature
expect_exit 0 varve branch "$REPO"
assert_eq "main $ID2" "$(cat "$OUT")" "branch list after delete"
expect_exit 1 varve log "$REPO@dev"
expect_error_format

# --- tags are immutable --------------------------------------------------------------------
expect_exit 1 varve tag "$REPO" v1
expect_error_format
assert_eq "$ID1" "$(head_id "$REPO@v1")" "tag v1 after a refused re-tag"
expect_exit 0 varve tag "$REPO" v2
assert_eq "$ID2" "$(head_id "$REPO@v2")" "tag v2"

# --- --branch ------------------------------------------------------------------------------
expect_exit 0 varve branch "$REPO" exp "$REPO@v1"
cp -a src1 src3
printf 'experiment\n' >src3/experiment.txt
expect_exit 0 varve commit "$REPO" --from src3 --branch exp -m "on exp"
ID3=$(cat "$OUT")
assert_match "$HEX64" "$ID3" "commit --branch stdout"
expect_err_contains "committed $REPO@exp ${ID3:0:12} ("
assert_eq "$ID3" "$(head_id "$REPO@exp")" "exp head"
assert_eq "$ID2" "$(head_id "$REPO@main")" "main is untouched by a commit to exp"
expect_exit 0 varve log "$REPO@exp" --json
assert_eq "[\"$ID1\"]" "$(json 'd[0]["parents"]' <"$OUT")" "parent of the exp commit"
expect_exit 0 varve diff "$REPO@v1" "$REPO@exp"
assert_eq "A experiment.txt" "$(cat "$OUT")" "diff v1 exp"

# --- special files are skipped with a warning ---------------------------------------------
expect_exit 0 varve create model special
assert_eq "created models/special" "$(cat "$OUT")" "create model message"
mkdir src4
printf 'x\n' >src4/file.txt
mkfifo src4/pipe.fifo
expect_exit 0 varve commit models/special --from src4
ID4=$(cat "$OUT")
assert_match "$HEX64" "$ID4" "commit with a fifo"
expect_err_contains "pipe.fifo"
expect_exit 0 varve ls models/special
assert_eq "file.txt" "$(cat "$OUT")" "ls of a commit whose fifo was skipped"

# --- list, stats, verify -------------------------------------------------------------------
expect_exit 0 varve list
assert_eq "$(printf '%s\n' "$REPO" models/special)" "$(cat "$OUT")" "list"
expect_exit 0 varve list --json
assert_eq 2 "$(json 'len(d)' <"$OUT")" "list --json length"
got=$(json '[(r["repo"], r["kind"], r["name"]) for r in sorted(d, key=lambda r: r["repo"])]' <"$OUT")
assert_eq '[["datasets/imgs", "dataset", "imgs"], ["models/special", "model", "special"]]' "$got" "list --json entries"
assert_eq "$ID2" "$(json '[r for r in d if r["repo"] == "datasets/imgs"][0]["branches"]["main"]' <"$OUT")" "list --json branches.main"
assert_eq "$ID3" "$(json '[r for r in d if r["repo"] == "datasets/imgs"][0]["branches"]["exp"]' <"$OUT")" "list --json branches.exp"

expect_exit 0 varve stats
expect_exit 0 varve stats --json
for k in logical_bytes unique_bytes stored_bytes dedup_ratio compression_ratio chunks commits repositories; do
	json "d[\"$k\"]" <"$OUT" >/dev/null 2>&1 || fail "stats --json lacks '$k'"
done
assert_eq 4 "$(json 'd["commits"]' <"$OUT")" "stats commits"
assert_eq 2 "$(json 'd["repositories"]' <"$OUT")" "stats repositories"
python3 - "$OUT" <<'PY' || fail "stats --json values are inconsistent"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["chunks"] > 0, d
assert d["unique_bytes"] >= 3 * 1024 * 1024, d
assert d["logical_bytes"] >= d["unique_bytes"], d
assert 0 < d["stored_bytes"], d
assert d["dedup_ratio"] >= 1.0, d
PY

expect_exit 0 varve verify
expect_exit 0 varve verify --full

# --- --store and VARVE_STORE find the same store from anywhere ----------------------------
mkdir -p "$TMP/elsewhere"
nostore=$(mktemp -d)
CLEANUP_PATHS+=("$nostore")
repos() { json '" ".join(r["repo"] for r in d)' <"$OUT"; }
(cd "$nostore" && "$VARVE" --store "$STORE" list --json) >"$OUT" || fail "--store from another dir"
assert_eq "$REPO models/special" "$(repos)" "list via --store"
(cd "$nostore" && VARVE_STORE=$STORE "$VARVE" list --json) >"$OUT" || fail "VARVE_STORE from another dir"
assert_eq "$REPO models/special" "$(repos)" "list via VARVE_STORE"
(cd "$TMP/co2/a/b" && "$VARVE" log "$REPO" -n 1 --json) >"$OUT" || fail "store found upward from a subdir"
