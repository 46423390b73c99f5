#!/usr/bin/env bash
# The Debian package as an operator installs it, as root: scripts/package.sh builds it; it is installed
# (dpkg -i), its unit verified (systemd-analyze verify), its configuration checked as shipped (ktsx check),
# the SFTP end-to-end test run against the installed /usr/bin/ktsx; then it is purged, and the users,
# groups and folders its installation made are removed when they were not there before.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "check_package: needs root (it installs a package)" >&2; exit 2; }

if dpkg -s ktsx >/dev/null 2>&1 || [ -e /etc/ktsx ]; then
    echo "check_package: ktsx is installed on this machine (or /etc/ktsx exists); not touching it" >&2
    exit 2
fi
had_run_sshd=$([ -d /run/sshd ] && echo yes || echo no)
had_user=$(getent passwd ktsx >/dev/null && echo yes || echo no)
had_group=$(getent group ktsx >/dev/null && echo yes || echo no)
had_partners=$(getent group ktsx-partners >/dev/null && echo yes || echo no)
had_state=$([ -e /var/lib/ktsx ] && echo yes || echo no)
had_srv=$([ -e /srv/ktsx ] && echo yes || echo no)
cleanup() {
    dpkg --purge ktsx >/dev/null 2>&1 || true
    [ "$had_user" = yes ] || userdel ktsx 2>/dev/null || true
    [ "$had_group" = yes ] || groupdel ktsx 2>/dev/null || true
    [ "$had_partners" = yes ] || groupdel ktsx-partners 2>/dev/null || true
    [ "$had_state" = yes ] || rm -rf /var/lib/ktsx
    [ "$had_srv" = yes ] || rm -rf /srv/ktsx
    rm -rf /etc/ktsx
    [ "$had_run_sshd" = yes ] || rmdir /run/sshd 2>/dev/null || true
}
trap cleanup EXIT

package=$(bash scripts/package.sh)
echo "check_package: installing $package"
dpkg -i "$package" >/dev/null
test -x /usr/bin/ktsx
if ldd /usr/bin/ktsx | grep -q libswift; then echo "check_package: the installed ktsx needs a Swift toolchain" >&2; exit 1; fi
[ "$(stat -c '%U %a' /var/lib/ktsx)" = "ktsx 700" ] || { echo "check_package: /var/lib/ktsx is not ktsx's alone" >&2; exit 1; }
[ "$(stat -c '%U %a' /srv/ktsx/drop)" = "root 755" ] || { echo "check_package: /srv/ktsx/drop is not root's 755" >&2; exit 1; }
if command -v systemd-analyze >/dev/null 2>&1; then
    systemd-analyze verify /lib/systemd/system/ktsx.service
fi
/usr/bin/ktsx check --config /etc/ktsx
runuser -u ktsx -- /usr/bin/ktsx check --config /etc/ktsx >/dev/null
mkdir -p /run/sshd
sshd -t -f /etc/ssh/sshd_config
KTSX_TEST_BINARY=/usr/bin/ktsx swift test --skip-build --filter "SFTPEndToEnd|ParticipantAdd"
echo "check_package: the package installs, checks, and serves SFTP as README says"
