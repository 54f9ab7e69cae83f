#!/usr/bin/env bash
# Builds varve twice (Release, and Debug with ASan+UBSan), both in developer mode
# (-Werror), and runs the whole ctest suite (unit, fuzz replay, integration) in each.
# Prints "test.sh: N passed, M failed" (plus skipped) over both builds at the end and
# exits non-zero if anything failed to build or pass.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

scripts/setup.sh

jobs=${VARVE_JOBS:-$(nproc 2>/dev/null || echo 2)}
((jobs > 2)) && jobs=2  # RocksDB links are memory hungry; the CI machine has 2 cores

passed=0 failed=0 skipped=0 status=0

# run_build NAME CMAKE_ARGS...: configure, build, test; accumulates the counters.
run_build() {
	local name=$1; shift
	local dir="build/$name" log
	echo "== test.sh: configure and build $dir" >&2
	if ! cmake -S . -B "$dir" "$@" >"$dir.configure.log" 2>&1; then
		cat "$dir.configure.log" >&2
		echo "test.sh: configuring $dir failed" >&2
		failed=$((failed + 1)); status=1
		return
	fi
	if ! cmake --build "$dir" -j"$jobs"; then
		echo "test.sh: building $dir failed" >&2
		failed=$((failed + 1)); status=1
		return
	fi
	echo "== test.sh: ctest in $dir" >&2
	log="$dir/ctest.log"
	local rc=0
	# pipefail: the pipeline's status is ctest's
	(cd "$dir" && ctest --output-on-failure --no-tests=error -j"$jobs") 2>&1 | tee "$log" || rc=$?
	local p f s
	p=$(grep -Ec '^ *[0-9]+/[0-9]+ Test +#[0-9]+: .* Passed +[0-9.]+ sec' "$log" || true)
	s=$(grep -Ec '^ *[0-9]+/[0-9]+ Test +#[0-9]+: .*\*\*\*Skipped' "$log" || true)
	f=$(grep -Ec '^ *[0-9]+/[0-9]+ Test +#[0-9]+: ' "$log" || true)
	f=$((f - p - s))
	if ((rc != 0 && f == 0)); then
		f=1  # ctest failed without a failing test line (no tests, crash, ...)
	fi
	passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
	((rc == 0 && f == 0)) || status=1
}

mkdir -p build
run_build release -DCMAKE_BUILD_TYPE=Release -DVARVE_DEVELOPER=ON

# A sanitizer report exits 86, never 1: an integration test that expects a
# failing command's exit 1 must not mistake a sanitizer abort for it.
export ASAN_OPTIONS=detect_leaks=1:exitcode=86:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=86
run_build asan -DCMAKE_BUILD_TYPE=Debug -DVARVE_SANITIZE=ON -DVARVE_DEVELOPER=ON
unset ASAN_OPTIONS UBSAN_OPTIONS

if ((skipped > 0)); then
	echo "test.sh: $passed passed, $failed failed, $skipped skipped"
else
	echo "test.sh: $passed passed, $failed failed"
fi
exit "$status"
