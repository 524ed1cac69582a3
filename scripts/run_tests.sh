#!/bin/sh
# run_tests.sh BACKEND TEST...: run each test binary on BACKEND (cpu or
# cuda) from the project root. Exit status 77 from a binary means it
# skipped (no GPU). Prints a summary; fails if any binary failed.
backend=$1
shift
failed=0
skipped=0
passed=0
for t in "$@"; do
    echo "== $t --backend $backend"
    "$t" --backend "$backend"
    rc=$?
    case $rc in
    0) passed=$((passed + 1)) ;;
    77) skipped=$((skipped + 1)) ;;
    *) failed=$((failed + 1)); echo "!! $t exited with $rc" ;;
    esac
done
echo "test binaries: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
