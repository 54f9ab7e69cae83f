#!/usr/bin/env bash
# kill -9 during large commits (flushed before their ref update) and small ones (written
# through the write-ahead log), at different points: afterwards the store verifies, the
# branch shows either the old head or a new complete commit, a checkout of the head
# equals one of the committed sources, and a normal commit still works.
source "$(dirname "$0")/lib.sh"

if is_sanitized; then
	nbig=4 bigsize=$((12 * 1024 * 1024))   # 48 MiB: varve is 3-5x slower under ASan
else
	nbig=8 bigsize=$((25 * 1024 * 1024))   # 200 MiB
fi
REPO=datasets/big

# digest DIR: one hash of names, types, modes and contents of a tree
digest() { tree_listing "$1" norm | sha256sum | cut -d' ' -f1; (cd "$1" && find . -type f -print0 | sort -z | xargs -0r sha256sum) | sha256sum | cut -d' ' -f1; }

# make_src DIR ROUND: a fresh tree of new random data (nothing dedups against earlier rounds)
make_src() {
	local d=$1 r=$2 i
	rm -rf "$d"
	mkdir -p "$d/shards" "$d/meta"
	for ((i = 0; i < nbig; i++)); do
		randbytes "crash-$r-$i" "$bigsize" >"$d/shards/part-$i.bin"
	done
	for ((i = 0; i < 200; i++)); do
		echo "round $r small file $i" >"$d/meta/f$i.txt"
	done
	echo "$r" >"$d/ROUND"
}

expect_exit 0 varve init
STORE=$TMP/.varve
expect_exit 0 varve create dataset big

declare -A digest_of
# timed_commit REPO SRC MESSAGE: a complete commit, timed to place the kills of the rounds
# after it. COMMIT_NS: how long it took; ROUND_HEAD: the new head, whose digest is recorded.
timed_commit() {
	local start
	start=$(date +%s%N)
	expect_exit 0 varve commit "$1" --from "$2" -m "$3"
	COMMIT_NS=$(($(date +%s%N) - start))
	ROUND_HEAD=$(cat "$OUT")
	digest_of[$ROUND_HEAD]=$(digest "$2")
}

# round 0
make_src src 0
timed_commit "$REPO" src "round 0"
full_ns=$COMMIT_NS
note "a complete commit of $((nbig * bigsize / 1048576)) MiB took $((full_ns / 1000000)) ms"

# kill_round REPO SRC MESSAGE DELAY_US: starts `varve commit REPO --from SRC -m MESSAGE`,
# kills it with -9 after DELAY_US microseconds and checks the store: it verifies; the head
# is still ROUND_HEAD (ROUND_KILLED=1) or a new commit of SRC on top of it, which becomes
# ROUND_HEAD; a checkout of the head equals the tree committed as it. ROUND_RC: the exit.
kill_round() {
	local repo=$1 src=$2 msg=$3 delay_us=$4 want pid new
	want=$(digest "$src")
	"$VARVE" -q commit "$repo" --from "$src" -m "$msg" >"$TMP/.bg-out" 2>"$TMP/.bg-err" </dev/null &
	pid=$!
	CLEANUP_PIDS+=("$pid")
	sleep "$(printf '%d.%06d' $((delay_us / 1000000)) $((delay_us % 1000000)))"
	kill -9 "$pid" 2>/dev/null || true
	ROUND_RC=0
	{ wait "$pid"; } 2>/dev/null || ROUND_RC=$?   # no "Killed" job message

	expect_exit 0 varve verify
	new=$(head_id "$repo")
	ROUND_KILLED=0
	if [[ "$new" == "$ROUND_HEAD" ]]; then
		((ROUND_RC == 137)) || fail "$msg: commit exited $ROUND_RC without a new commit"
		ROUND_KILLED=1
	else
		expect_exit 0 varve log "$repo" -n 1 --json
		assert_eq "[\"$ROUND_HEAD\"]" "$(json 'd[0]["parents"]' <"$OUT")" "$msg: parent of the new head"
		assert_eq "$msg" "$(json 'd[0]["message"]' <"$OUT")" "$msg: message of the new head"
		digest_of[$new]=$want
		ROUND_HEAD=$new
	fi
	rm -rf co
	expect_exit 0 varve checkout "$repo" co
	assert_eq "${digest_of[$ROUND_HEAD]}" "$(digest co)" "$msg: checkout of the head after kill -9"
	rm -rf co
}

killed_mid=0
for frac in 5 20 40 60 80 95; do
	r=$frac
	make_src src "$r"
	delay_ms=$((full_ns * frac / 100 / 1000000))
	((delay_ms >= 20)) || delay_ms=20
	kill_round "$REPO" src "round $r" $((delay_ms * 1000))
	if ((ROUND_KILLED)); then
		killed_mid=$((killed_mid + 1))
		note "round $r: killed after ${delay_ms} ms, head unchanged"
	else
		note "round $r: kill after ${delay_ms} ms came too late (exit $ROUND_RC), new head ${ROUND_HEAD:0:12}"
	fi
done
HEAD=$ROUND_HEAD
((killed_mid > 0)) || fail "no kill landed during a commit; the test proved nothing"

expect_exit 0 varve verify --full
expect_exit 0 varve log "$REPO" --json
n=$(json 'len(d)' <"$OUT")
assert_eq "$((${#digest_of[@]}))" "$n" "number of commits after the kills"

# A small commit (under 16 MiB to read) writes through the write-ahead log and flushes
# nothing: the same kills must find the same guarantees. 1500 new files of 4 KiB.
make_small() {
	rm -rf "$1"
	python3 - "$1" "$2" <<'PY'
import os, random, sys
d, r = sys.argv[1], sys.argv[2]
rnd = random.Random("small-" + r)
for i in range(1500):
    sub = os.path.join(d, "part-%02d" % (i % 30))
    os.makedirs(sub, exist_ok=True)
    with open(os.path.join(sub, "f%04d.bin" % i), "wb") as f:
        f.write(rnd.randbytes(4096))
with open(os.path.join(d, "ROUND"), "w") as f:
    f.write(r + "\n")
PY
}
SMALL=datasets/small
expect_exit 0 varve create dataset small
make_small small 0
timed_commit "$SMALL" small "small 0"
small_ns=$COMMIT_NS
note "a complete small commit took $((small_ns / 1000000)) ms"
killed_small=0
for frac in 10 30 50 70 90 99; do
	make_small small "s$frac"
	kill_round "$SMALL" small "small s$frac" $((small_ns * frac / 100 / 1000))
	killed_small=$((killed_small + ROUND_KILLED))
done
note "small commits: $killed_small of 6 kills landed before the new head"
((killed_small > 0)) || fail "no kill landed during a small commit; the test proved nothing"
expect_exit 0 varve verify --full

# a normal commit still works and dedups against nothing from the killed rounds wrongly
make_src src final
expect_exit 0 varve commit "$REPO" --from src -m final
FINAL=$(cat "$OUT")
[[ "$FINAL" != "$HEAD" ]] || fail "the final commit made no new commit"
expect_exit 0 varve checkout "$REPO" co
assert_same_tree src co
expect_exit 0 varve verify --full
