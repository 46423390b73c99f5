#!/usr/bin/env bash
# Builds the Debian package: dist/ktsx_<version>_<arch>.deb, with
#   /usr/bin/ktsx                                  release build, the Swift runtime linked in (--static-swift-stdlib)
#   /lib/systemd/system/ktsx.service               the hardened unit (packaging/ktsx.service), not enabled
#   /etc/ktsx/ktsx.conf, participants.csv          a configuration usable as it is (conffiles)
#   /etc/ssh/sshd_config.d/ktsx-partners.conf      SFTP-only, chrooted partner accounts (conffile)
#   /usr/share/doc/ktsx/                           README, BENCHMARKS, the schemas' README
# Installing it makes the system user and group ktsx, the group ktsx-partners, /var/lib/ktsx (ktsx, 700),
# /srv/ktsx/drop (root, 755), /etc/ssh/ktsx-keys (partners' keys) and /var/backups/ktsx (ktsx, 700); it
# starts nothing. Prints the package's path.
#   bash scripts/package.sh            # version 0.<commits>, or KTSX_VERSION
set -euo pipefail
cd "$(dirname "$0")/.."

version=${KTSX_VERSION:-0.$(git rev-list --count HEAD 2>/dev/null || echo 0)}
arch=$(dpkg --print-architecture)
build=.build-static
swift build -c release --static-swift-stdlib --product ktsx --build-path "$build" >&2
binary="$build/release/ktsx"
if ldd "$binary" | grep -q 'libswift\|libFoundation\|libdispatch'; then
    echo "package: $binary still needs the Swift runtime:" >&2
    ldd "$binary" >&2
    exit 1
fi

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
chmod 0755 "$stage"
install -D -m 0755 "$binary" "$stage/usr/bin/ktsx"
strip --strip-unneeded "$stage/usr/bin/ktsx"
install -D -m 0644 packaging/ktsx.service "$stage/lib/systemd/system/ktsx.service"
install -D -m 0640 packaging/ktsx.conf "$stage/etc/ktsx/ktsx.conf"
install -D -m 0640 packaging/participants.csv "$stage/etc/ktsx/participants.csv"
install -D -m 0644 packaging/sshd-ktsx-partners.conf "$stage/etc/ssh/sshd_config.d/ktsx-partners.conf"
for doc in README.md BENCHMARKS.md; do install -D -m 0644 "$doc" "$stage/usr/share/doc/ktsx/$doc"; done
install -D -m 0644 Schemas/README.md "$stage/usr/share/doc/ktsx/Schemas-README.md"

# The libraries the binary links, as Debian packages.
depends=$(for library in $(ldd "$binary" | awk '/=> \// { print $3 }'); do
    dpkg -S "$library" 2>/dev/null || dpkg -S "/usr$library" 2>/dev/null || true
done | cut -d: -f1 | sort -u | paste -sd, | sed 's/,/, /g')
[ -n "$depends" ] || { echo "package: could not tell the packages of the libraries ktsx links" >&2; exit 1; }
mkdir -p "$stage/DEBIAN"
cat >"$stage/DEBIAN/control" <<EOF
Package: ktsx
Version: $version
Architecture: $arch
Installed-Size: $(du -sk --exclude=DEBIAN "$stage" | cut -f1)
Maintainer: KTS Exchange <ktsx@localhost>
Depends: $depends, adduser, openssh-server
Section: net
Priority: optional
Description: KTS Exchange: the KSIS-KTS file exchange
 Watches the SFTP folders of Kentucky's technical centers and high schools,
 validates every file, routes accepted records to their receivers and writes
 acknowledgements and error files. One command, ktsx; the service runs as the
 unit ktsx.service.
EOF
printf '/etc/ktsx/ktsx.conf\n/etc/ktsx/participants.csv\n/etc/ssh/sshd_config.d/ktsx-partners.conf\n' >"$stage/DEBIAN/conffiles"
cat >"$stage/DEBIAN/postinst" <<'EOF'
#!/bin/sh
set -e
if [ "$1" = configure ]; then
    getent group ktsx >/dev/null || addgroup --system --quiet ktsx
    getent passwd ktsx >/dev/null || adduser --system --quiet --ingroup ktsx --home /var/lib/ktsx --no-create-home \
        --shell /usr/sbin/nologin --gecos "KTS Exchange" ktsx
    getent group ktsx-partners >/dev/null || addgroup --system --quiet ktsx-partners
    install -d -m 0700 -o ktsx -g ktsx /var/lib/ktsx
    install -d -m 0755 -o root -g root /srv/ktsx /srv/ktsx/drop
    # Partners' keys: root's, and readable by the accounts (sshd reads them as the account).
    install -d -m 0755 -o root -g root /etc/ssh/ktsx-keys
    install -d -m 0700 -o ktsx -g ktsx /var/backups/ktsx
    chgrp ktsx /etc/ktsx /etc/ktsx/ktsx.conf /etc/ktsx/participants.csv
    chmod 0750 /etc/ktsx
    if [ -d /run/systemd/system ]; then systemctl daemon-reload || true; fi
fi
exit 0
EOF
cat >"$stage/DEBIAN/prerm" <<'EOF'
#!/bin/sh
set -e
if [ -d /run/systemd/system ] && [ "$1" = remove ]; then systemctl stop ktsx.service || true; fi
exit 0
EOF
cat >"$stage/DEBIAN/postrm" <<'EOF'
#!/bin/sh
set -e
# The ledger, archive and drop tree are the state's records: never removed with the package.
if [ -d /run/systemd/system ]; then systemctl daemon-reload || true; fi
exit 0
EOF
chmod 0755 "$stage/DEBIAN/postinst" "$stage/DEBIAN/prerm" "$stage/DEBIAN/postrm"

mkdir -p dist
package="dist/ktsx_${version}_${arch}.deb"
dpkg-deb --root-owner-group --build -Zxz "$stage" "$package" >&2
echo "$package"
