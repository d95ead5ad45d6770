#!/bin/bash
# THE test command: build (normal with -Werror, and ASan+UBSan), run the unit
# tests under the sanitizers, then the integration tests (private Samba on
# loopback + FUSE mounts) against the sanitized binary.
# Needs root (FUSE mounts, smbd, test accounts). Exits non-zero on any failure.
#
#   sudo tests/run-all.sh                 # everything
#   sudo tests/run-all.sh -k dialect      # extra args go to pytest
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

if [ "$(id -u)" -ne 0 ]; then
  echo "run-all: must run as root (FUSE mounts, private smbd): run it as root, or sudo $0" >&2
  exit 1
fi
tests/install-deps.sh || exit 1

# Debian's interpreter (python3-pytest lives there), not a pyenv/venv shim.
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

status=0
step() { echo; echo "=== $* ==="; }
fail() { echo "run-all: FAILED: $*" >&2; status=1; }

step "build (warnings are errors)"
if [ ! -f build/build.ninja ]; then
  meson setup build -Dwerror=true || { fail "meson setup build"; exit 1; }
else
  meson configure build -Dwerror=true >/dev/null
fi
ninja -C build || { fail "build"; exit 1; }

step "build with AddressSanitizer + UndefinedBehaviorSanitizer"
if [ ! -f build-asan/build.ninja ]; then
  meson setup build-asan -Db_sanitize=address,undefined -Db_lundef=false \
    || { fail "meson setup build-asan"; exit 1; }
fi
ninja -C build-asan || { fail "build-asan"; exit 1; }

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

step "unit tests (ASan/UBSan)"
meson test -C build-asan --print-errorlogs | tee build-asan/unit-tests.out
[ "${PIPESTATUS[0]}" -eq 0 ] || fail "unit tests"
unit_ok=$(awk '/^Ok:/ {print $2}' build-asan/unit-tests.out)
unit_fail=$(awk '/^Fail:/ {print $2}' build-asan/unit-tests.out)

step "integration tests (ASan/UBSan binary)"
export SMB2FS_BIN="$ROOT/build-asan/smb2fs"
export SMB2FS_REQUIRE_ALL=1   # a missing /dev/fuse or smbd is a failure here
# (about 8 minutes, plus the 10-minute two-mount load of test_mixed_load.py;
# the cap is for a hang, not a slow machine)
timeout --kill-after=30 2700 "$PY" -m pytest -v tests/integration "$@" \
  | tee build-asan/integration-tests.out
[ "${PIPESTATUS[0]}" -eq 0 ] || fail "integration tests"
# pytest's last line, e.g. "==== 74 passed, 1 failed in 12.9s ===="
summary=$(tail -n 1 build-asan/integration-tests.out)
int_ok=$(echo "$summary" | grep -oE '[0-9]+ passed' | grep -oE '[0-9]+' || true)
int_fail=$(echo "$summary" | grep -oE '[0-9]+ (failed|errors?)' | awk '{s += $1} END {print s + 0}')

# Nothing of ours may stay mounted, even after a failure.
left=$(grep -E ' fuse(\.[A-Za-z0-9_]+)? ' /proc/mounts | grep -E 'smb2fs|pytest-of' || true)
if [ -n "$left" ]; then
  echo "$left" >&2
  fail "smb2fs mounts left behind"
fi

echo
if [ $status -eq 0 ]; then echo "run-all: ALL PASSED"; else echo "run-all: FAILURES (see above)"; fi
# One closing line over both suites, in the plain "N passed, N failed" form.
passed=$(( ${unit_ok:-0} + ${int_ok:-0} ))
failed=$(( ${unit_fail:-0} + ${int_fail:-0} ))
[ $status -ne 0 ] && [ $failed -eq 0 ] && failed=1
echo "tests: $passed passed, $failed failed"
exit $status
