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
had_partner=$(getent passwd kx165903 >/dev/null && echo yes || echo no)
had_user=$(getent passwd ktsx >/dev/null && echo yes || echo no)
had_group=$(getent group ktsx >/dev/null && echo yes || echo no)
had_partners=$(getent group ktsx-partners >/dev/null && echo yes || echo no)
had_state=$([ -e /var/lib/ktsx ] && echo yes || echo no)
had_srv=$([ -e /srv/ktsx ] && echo yes || echo no)
cleanup() {
    dpkg --purge ktsx >/dev/null 2>&1 || true
    [ "$had_partner" = yes ] || userdel kx165903 2>/dev/null || true
    [ "$had_user" = yes ] || userdel ktsx 2>/dev/null || true
    [ "$had_group" = yes ] || groupdel ktsx 2>/dev/null || true
    [ "$had_partners" = yes ] || groupdel ktsx-partners 2>/dev/null || true
    [ "$had_state" = yes ] || rm -rf /var/lib/ktsx
    [ "$had_srv" = yes ] || rm -rf /srv/ktsx
    rm -rf /etc/ktsx /etc/ssh/ktsx-keys /var/backups/ktsx
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
# A partner added as README says, then the whole server checked; then the same server broken once.
key_dir=$(mktemp -d)
ssh-keygen -q -t ed25519 -N "" -f "$key_dir/partner"
/usr/bin/ktsx participant add 165903 --name "Package Check ATC" --classification C2 --ssh-key "$key_dir/partner.pub" --config /etc/ktsx
/usr/bin/ktsx doctor --config /etc/ktsx
# The service as the unit runs it: the user ktsx with CAP_CHOWN alone. The partner's file (written as the
# partner) is claimed and acknowledged; the acknowledgement is the partner's, in its outbound/.
runuser -u kx165903 -- cp Schemas/examples/ATT.example.csv /srv/ktsx/drop/165903/inbound/att.csv
setpriv --reuid ktsx --regid ktsx --init-groups --inh-caps +chown --ambient-caps +chown --bounding-set -all,+chown \
    /usr/bin/ktsx run --once --max-wait 30 --config /etc/ktsx --log-level warning
ack=/srv/ktsx/drop/165903/outbound/att.csv.ack.csv
[ "$(stat -c %U "$ack")" = kx165903 ] || { echo "check_package: the acknowledgement is not the partner's: $(stat -c '%U %a' "$ack")" >&2; exit 1; }
runuser -u kx165903 -- rm "$ack"
# README's nightly backup, as the service's user, into the folder the package made.
runuser -u ktsx -- /usr/bin/ktsx backup --config /etc/ktsx --to /var/backups/ktsx/ledger-check.sqlite
[ "$(stat -c %U /var/lib/ktsx/ledger.sqlite)" = ktsx ] || { echo "check_package: the ledger is not the service's" >&2; exit 1; }
chmod 0777 /srv/ktsx/drop/165903/inbound
if /usr/bin/ktsx doctor --config /etc/ktsx >"$key_dir/broken.txt"; then
    echo "check_package: ktsx doctor found nothing wrong with an inbound/ open to everyone" >&2
    exit 1
fi
grep -q "inbound is open to every user" "$key_dir/broken.txt"
rm -rf "$key_dir"
KTSX_TEST_BINARY=/usr/bin/ktsx swift test --skip-build --filter "SFTPEndToEnd|ParticipantAdd|DoctorTests"
echo "check_package: the package installs, checks, and serves SFTP as README says"
