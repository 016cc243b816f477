#!/bin/bash
# Installs what vmcast needs (Debian 12), builds it with warnings as errors and runs every test:
# unit tests, then integration tests against real QEMU, PipeWire, WirePlumber and GStreamer.
# A second build with AddressSanitizer and UndefinedBehaviorSanitizer runs the unit tests and
# the bad-input tests again. Ends with one line: "N passed, N failed, N skipped".
#
#   scripts/run-tests.sh            (as root, or with sudo available)
#   VMCAST_SKIP_INSTALL=1 ...       skip apt-get
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
if [ "${VMCAST_SKIP_INSTALL:-0}" != 1 ]; then
    scripts/install-deps.sh || { echo "run-tests: installing dependencies failed" >&2; exit 1; }
fi

configure() { # DIR [meson options...]
    local dir=$1; shift
    if [ -d "$dir" ]; then
        meson setup --reconfigure "$dir" "$@" >/dev/null
    else
        meson setup "$dir" "$@" >/dev/null
    fi
}

# playwright-core for the browser tests, at the version package-lock.json pins; it drives
# Debian's Chromium and downloads no browser.
npm ci --prefix tests/web --no-audit --no-fund --loglevel=error ||
    { echo "run-tests: npm ci in tests/web failed" >&2; exit 1; }

status=0
configure build-test -Dwerror=true -Dbuildtype=debugoptimized || exit 1
ninja -C build-test || exit 1
meson test -C build-test --print-errorlogs || status=1

# Sanitizers: clang-free, with GCC's runtime. Leak checks stay off: GLib, PipeWire and Mesa
# keep process-lifetime allocations that LeakSanitizer cannot tell from leaks.
configure build-asan -Dwerror=true -Db_sanitize=address,undefined -Db_lundef=false || exit 1
ninja -C build-asan || exit 1
ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    meson test -C build-asan --print-errorlogs --suite unit --suite bad-input || status=1

/usr/bin/python3 - build-test/meson-logs/testlog.json build-asan/meson-logs/testlog.json <<'PY'
import json, sys
counts = {"passed": 0, "failed": 0, "skipped": 0}
for path in sys.argv[1:]:
    try:
        lines = open(path).read().splitlines()
    except OSError:
        continue
    for line in lines:
        result = json.loads(line)["result"]
        key = {"OK": "passed", "EXPECTEDFAIL": "passed", "SKIP": "skipped"}.get(result, "failed")
        counts[key] += 1
print(f'{counts["passed"]} passed, {counts["failed"]} failed, {counts["skipped"]} skipped')
PY
exit $status
