#!/usr/bin/env bash
# The test command (README, .ci/run): installs what the tests need, builds, and runs the whole suite.
#   Debian packages: libxml2-dev and pkg-config (to build), libxml2-utils (xmllint, the XML oracle),
#   time (peak-memory checks), libsqlite3-dev (the ledger), sqlite3 (ledger tests), openssh-server and
#   openssh-client (the SFTP end-to-end test starts its own sshd on a free loopback port), curl (the review
#   page's /healthz from a test), chromium and
#   chromium-driver (the review page's browser test), postgresql-15 (scripts/postgres.sh starts a throwaway
#   server on loopback for the PostgreSQL ledger's tests, unless KTSX_TEST_POSTGRES_URL names one);
#   binutils and adduser for the package's check.
#   PyPI: frictionless (the CSV oracle), selenium (drives Chromium in the browser test).
# Before the tests, every generated file is regenerated from its source and must not change
# (scripts/check_generated.sh). After them, a short fuzz pass of each fuzz target (KTSX_FUZZ_SECONDS,
# default 20 s each) and the package's check (scripts/check_package.sh), both skipped when arguments are
# given. Extra arguments go to `swift test` (e.g. --filter OracleParity).
set -euo pipefail
cd "$(dirname "$0")/.."

packages=()
command -v xmllint >/dev/null 2>&1 || packages+=(libxml2-utils)
command -v pkg-config >/dev/null 2>&1 || packages+=(pkg-config)
[ -x /usr/bin/time ] || packages+=(time)
pkg-config --exists libxml-2.0 2>/dev/null || packages+=(libxml2-dev)
[ -f /usr/include/sqlite3.h ] || packages+=(libsqlite3-dev)
command -v sqlite3 >/dev/null 2>&1 || packages+=(sqlite3)
[ -x /usr/sbin/sshd ] || packages+=(openssh-server)
command -v sftp >/dev/null 2>&1 || packages+=(openssh-client)
command -v curl >/dev/null 2>&1 || packages+=(curl)
[ -x /usr/bin/chromium ] || packages+=(chromium)
[ -x /usr/bin/chromedriver ] || packages+=(chromium-driver)
[ -d /usr/share/fonts/truetype/dejavu ] || packages+=(fonts-dejavu-core)
# Notifications by email: a real SMTP client handing mail to a real SMTP server on loopback (aiosmtpd, below).
command -v msmtp >/dev/null 2>&1 || packages+=(msmtp)
# The package's check (as root): strip, adduser (its postinst); systemd-analyze checks its unit where installed.
if [ "$(id -u)" -eq 0 ] && [ $# -eq 0 ]; then
    command -v strip >/dev/null 2>&1 || packages+=(binutils)
    command -v adduser >/dev/null 2>&1 || packages+=(adduser)
fi
if [ ${#packages[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -ne 0 ] && sudo=sudo
    echo "installing Debian packages: ${packages[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${packages[@]}" >/dev/null
fi
if ! command -v frictionless >/dev/null 2>&1; then
    echo "installing frictionless from PyPI"
    python3 -m pip install -q "frictionless==5.21.0"
fi
if ! python3 -c "import aiosmtpd" >/dev/null 2>&1; then
    echo "installing aiosmtpd from PyPI"
    python3 -m pip install -q "aiosmtpd==1.4.6"
fi
if ! python3 -c "import selenium" >/dev/null 2>&1; then
    echo "installing selenium from PyPI"
    python3 -m pip install -q "selenium==4.27.1"
fi

if [ -z "${KTSX_TEST_POSTGRES_URL:-}" ]; then
    postgres_dir=$(mktemp -d /tmp/ktsx-test-postgres.XXXXXX)
    trap 'bash scripts/postgres.sh stop "$postgres_dir"' EXIT
    KTSX_TEST_POSTGRES_URL=$(bash scripts/postgres.sh start "$postgres_dir")
    export KTSX_TEST_POSTGRES_URL
fi
export KTSX_REQUIRE_POSTGRES=1

swift build
bash scripts/check_generated.sh
swift test "$@"
# A short fuzz pass of each target (the long one: bash scripts/fuzz.sh all 600).
if [ $# -eq 0 ]; then
    bash scripts/fuzz.sh all "${KTSX_FUZZ_SECONDS:-20}"
fi
# The package as an operator installs it (needs root): built, installed, its unit verified, its configuration
# checked as shipped, and the SFTP test run again against the installed binary; then removed, with the
# users and folders it made when they were not there before.
if [ $# -eq 0 ] && [ "$(id -u)" -eq 0 ]; then
    bash scripts/check_package.sh
fi
