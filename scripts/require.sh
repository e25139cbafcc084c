#!/usr/bin/env bash
# require.sh WHAT PACKAGE: make sure WHAT (a command on PATH, or an executable's path) is here
# before a long test run, rather than let the tests that need it fail one by one.
# As root with apt-get (a development or CI machine), it installs Debian's PACKAGE, as .ci/run
# does; elsewhere (or with RESOLVER_NO_INSTALL=1) it stops at once with the one command to run.
set -euo pipefail
what=$1 package=$2

present() { command -v "$what" >/dev/null 2>&1 || [ -x "$what" ]; }

present && exit 0
if [ "${RESOLVER_NO_INSTALL:-}" != 1 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "$what is missing: installing Debian's $package (apt-get)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq "$package" >/dev/null
  present && exit 0
fi
echo "$what is missing: run  sudo apt-get install $package  (Debian's package; .ci/run" \
     "installs it the same way)" >&2
exit 1
