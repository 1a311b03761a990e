#!/bin/sh
# test_bench_smoke.sh: the benchmark builds and runs.  Builds the bench
# programs ('make bench-programs', kept out of 'make all'), runs
# tests/bench/run --smoke (tiny sizes, 1 process) and checks that it prints
# its whole table.  Asserts no figure: timings are never tested.
set -u
build=${PWL_BUILDDIR:-$(pwd)}
src=${PWL_SRCDIR:-$build}
out=$(mktemp)
trap 'rm -f "$out"' EXIT INT TERM

echo "1..2"
# A nested make must not inherit the parent's jobserver.
if env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL ${MAKE:-make} -s -C "$build" \
    bench-programs >"$out" 2>&1; then
	echo "ok 1 - bench programs build"
else
	echo "not ok 1 - bench programs build"
	sed 's/^/# /' "$out"
	echo "not ok 2 - bench runs and prints its table # SKIP no programs"
	exit 0
fi

PWL_BUILDDIR=$build PWL_SRCDIR=$src ${PYTHON3:-python3} \
    "$src/tests/bench/run" --smoke >"$out" 2>&1
rc=$?
missing=
for want in "== pwless benchmark" "machine: nproc" "pam_permit " \
    "pam_pwless " "pam_unix " "pam_oath " "bare epoll echo server" \
    "pwlessd, " "first check in a minute" "Goals" \
    "pam_pwless p50 over pam_permit" "of echo floor" "slower than" \
    "failed operations: 0, bench errors: 0" "== end of pwless benchmark"; do
	grep -qF "$want" "$out" || missing="$missing [$want]"
done
# A row may say "skipped: needs root"; an "error:" row means a bench broke.
errors=$(grep -c " error: " "$out")
if [ "$rc" -eq 0 ] && [ -z "$missing" ] && [ "$errors" -eq 0 ]; then
	echo "ok 2 - bench runs and prints its table"
	sed 's/^/# /' "$out"
else
	echo "not ok 2 - bench runs and prints its table (exit $rc," \
	    "missing:${missing:- none}, error rows: $errors)"
	sed 's/^/# /' "$out"
fi
exit 0
