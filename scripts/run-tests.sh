#!/bin/bash
# Installs what vmcast needs (Debian 12), builds it with warnings as errors and runs every test:
# unit tests, then integration tests against real QEMU, PipeWire, WirePlumber and GStreamer.
# A second build, build-fuzz (clang-14 with AddressSanitizer, UndefinedBehaviorSanitizer and
# the libFuzzer targets of fuzz/), runs the unit tests and the bad-input tests again, and every
# fuzz target once over its corpus (docs/fuzzing.md). Ends with one line: "N passed, N failed,
# N skipped"; a meson test counts as skipped when it or any test inside it (pytest,
# GoogleTest) skipped, and each skip is listed with its reason.
#
#   scripts/run-tests.sh            (as root, or with sudo available)
#   VMCAST_SKIP_INSTALL=1 ...       skip apt-get
#   VMCAST_CI=1 ...                 CI (.ci/run): a skip is a failure, and so is a test that meson
#                                   could not define (a missing file, tool or pytest)
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
if [ "${VMCAST_SKIP_INSTALL:-0}" != 1 ]; then
    scripts/install-deps.sh || { echo "run-tests: installing dependencies failed" >&2; exit 1; }
fi

ci=${VMCAST_CI:-0}
strict=false
[ "$ci" = 1 ] && strict=true

configure() { # DIR [meson options...]
    local dir=$1 out; shift
    if [ -d "$dir" ]; then
        out=$(meson setup --reconfigure "$dir" "$@" -Dstrict_tests=$strict 2>&1)
    else
        out=$(meson setup "$dir" "$@" -Dstrict_tests=$strict 2>&1)
    fi || { printf '%s\n' "$out" >&2; echo "run-tests: configuring $dir failed" >&2; return 1; }
    # Warnings say which tests were left undefined, and why.
    printf '%s\n' "$out" | grep -E '(^|: )WARNING:' >&2
    return 0
}

# playwright-core for the browser tests, at the version package-lock.json pins; it drives
# Debian's Chromium and downloads no browser.
npm ci --prefix tests/web --no-audit --no-fund --loglevel=error ||
    { echo "run-tests: npm ci in tests/web failed" >&2; exit 1; }

status=0
configure build-test -Dwerror=true -Dbuildtype=debugoptimized || exit 1
ninja -C build-test || exit 1
meson test -C build-test --print-errorlogs || status=1

# Sanitizers, with clang's runtimes, in the build that also has the fuzz targets (the normal build
# stays GCC). Leak checks stay off for the unit and bad-input tests: GLib, PipeWire and Mesa keep
# process-lifetime allocations that LeakSanitizer cannot tell from leaks. The fuzz targets set
# up such things once and check leaks (fuzz/meson.build turns them on for the fuzz suite).
CC=clang-14 CXX=clang++-14 configure build-fuzz -Dfuzz=true -Dtests=true -Dwerror=true \
    -Db_sanitize=address,undefined -Db_lundef=false || exit 1
ninja -C build-fuzz || exit 1
ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    meson test -C build-fuzz --print-errorlogs --suite unit --suite bad-input --suite fuzz ||
    status=1

/usr/bin/python3 - "$ci" build-test/meson-logs/testlog.json build-fuzz/meson-logs/testlog.json <<'PY' || status=1
import json, re, sys
# What skipped inside a meson test that passed: pytest's -rs summary lines and GoogleTest's.
PYTEST_SKIP = re.compile(r"^SKIPPED \[\d+\] (.*)$", re.M)
GTEST_SKIP = re.compile(r"^\[  SKIPPED \] ([\w/.]+)(?: \(\d+ ms\))?$", re.M)
ci = sys.argv[1] == "1"
counts = {"passed": 0, "failed": 0, "skipped": 0}
skips = []
for path in sys.argv[2:]:
    try:
        lines = open(path).read().splitlines()
    except OSError:
        continue
    for line in lines:
        test = json.loads(line)
        output = (test.get("stdout") or "") + (test.get("stderr") or "")
        inner = PYTEST_SKIP.findall(output) + sorted(set(GTEST_SKIP.findall(output)))
        key = {"OK": "passed", "EXPECTEDFAIL": "passed", "SKIP": "skipped"}.get(test["result"],
                                                                               "failed")
        if key == "skipped":
            skips.append(f'{test["name"]}: meson result SKIP (exit status 77)')
        skips += [f'{test["name"]}: {reason}' for reason in inner]
        if key == "passed" and inner:
            key = "skipped"
        counts[key] += 1
for skip in skips:
    print(f"run-tests: skipped: {skip}", file=sys.stderr)
if ci and skips:
    print("run-tests: VMCAST_CI=1: skipped tests fail CI", file=sys.stderr)
print(f'{counts["passed"]} passed, {counts["failed"]} failed, {counts["skipped"]} skipped')
sys.exit(1 if ci and skips else 0)
PY
exit $status
