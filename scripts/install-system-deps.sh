#!/bin/sh
# Install the system packages the test suite drives: Chromium (headless) for the Datasette
# browser test and the README screenshot. Idempotent: does nothing when Chromium is present,
# and nothing (successfully) where it cannot install: not root, or no apt-get. The test that
# needs Chromium then skips with the reason.
set -eu

if command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ]; then
    exit 0
fi
if [ "$(id -u)" != "0" ]; then
    echo "install-system-deps: not root, not installing chromium (browser test will skip)" >&2
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-system-deps: no apt-get, not installing chromium (browser test will skip)" >&2
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
if ! apt-get update -qq || ! apt-get install -y -qq --no-install-recommends chromium chromium-driver fonts-dejavu-core >/dev/null; then
    echo "install-system-deps: apt-get could not install chromium (browser test will skip)" >&2
fi
exit 0
