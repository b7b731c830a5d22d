#!/usr/bin/env bash
# Writes the Debian package of the built executable (npm run build): dist/bng_VERSION_ARCH.deb.
#   /usr/sbin/bng                          the executable
#   /lib/systemd/system/bng.service        the unit (foreground bng run, SIGHUP reloads)
#   /etc/bng.conf                          the seed's DSR example, a conffile: an operator's
#                                          edits survive upgrades, purge removes it
#   /usr/share/snmp/mibs/BNG-MIB.txt       the MIB of bng -g / -n (snmpd's pass)
#   /usr/share/man/man8/bng.8.gz           bng(8)
#   /usr/share/doc/bng/                    README, docs, copyright
# BNG_PACKAGE_VERSION overrides the version of package.json (the upgrade test builds two);
# BNG_PACKAGE_DIR the directory the package is written to (default dist/).
# Needs dpkg-deb; the maintainer scripts honour DPKG_ROOT (dpkg --root --force-script-chrootless).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
if [ ! -x "$here/dist/bng" ]; then
  echo "dist/bng is missing: run 'npm run build' first" >&2
  exit 1
fi
version="${BNG_PACKAGE_VERSION:-$(sed -n 's/^  "version": "\(.*\)",$/\1/p' "$here/package.json")}"
if ! [[ "$version" =~ ^[0-9][A-Za-z0-9.+~-]*$ ]]; then
  echo "'$version' is not a Debian version" >&2
  exit 1
fi
arch="$(dpkg --print-architecture)"
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
root="$stage/root"

install -D -m 0755 "$here/dist/bng" "$root/usr/sbin/bng"
install -d "$root/lib/systemd/system"
sed -e 's#/usr/local/sbin/bng#/usr/sbin/bng#g' -e 's#/usr/local/share/doc/bng#/usr/share/doc/bng#g' \
  -e 's#^\# Installed by scripts/install.sh as .*#\# Installed by the bng Debian package as /lib/systemd/system/bng.service.#' \
  "$here/config/bng.service" > "$root/lib/systemd/system/bng.service"
chmod 0644 "$root/lib/systemd/system/bng.service"
install -D -m 0644 "$here/config/dsr-example.conf" "$root/etc/bng.conf"
install -D -m 0644 "$here/config/BNG-MIB.txt" "$root/usr/share/snmp/mibs/BNG-MIB.txt"
install -d "$root/usr/share/man/man8"
gzip -9n < "$here/docs/bng.8" > "$root/usr/share/man/man8/bng.8.gz"
chmod 0644 "$root/usr/share/man/man8/bng.8.gz"
install -d "$root/usr/share/doc/bng"
install -m 0644 "$here/README.md" "$here"/docs/*.md "$root/usr/share/doc/bng/"
cat > "$root/usr/share/doc/bng/copyright" <<'COPYRIGHT'
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: bng

Files: *
License: MIT
COPYRIGHT

install -d "$root/DEBIAN"
installed_kib="$(du -sk --exclude=DEBIAN "$root" | cut -f1)"
cat > "$root/DEBIAN/control" <<CONTROL
Package: bng
Version: $version
Architecture: $arch
Maintainer: bng <root@localhost>
Installed-Size: $installed_kib
Depends: iproute2, ethtool
Recommends: nftables
Suggests: snmpd
Section: net
Priority: optional
Description: load balancer that reads BalanceNG's configuration language
 bng balances traffic for virtual addresses over real servers on the same
 segment by single-legged Direct Server Return. It reads /etc/bng.conf in
 BalanceNG's language, runs under systemd (bng.service), has BalanceNG's
 console (bng control) and answers SNMP through snmpd's pass (BNG-MIB).
CONTROL
echo /etc/bng.conf > "$root/DEBIAN/conffiles"

# Maintainer scripts: systemd is told about the unit when it runs; bng is restarted on upgrade
# only if it was running, stopped on removal, and its logs and runtime files go on purge.
cat > "$root/DEBIAN/postinst" <<'SCRIPT'
#!/bin/sh
set -e
if [ "$1" = configure ] && [ -z "${DPKG_ROOT:-}" ] && [ -d /run/systemd/system ]; then
  systemctl daemon-reload || true
  if [ -n "$2" ]; then systemctl try-restart bng.service || true; fi
fi
exit 0
SCRIPT
cat > "$root/DEBIAN/prerm" <<'SCRIPT'
#!/bin/sh
set -e
if [ "$1" = remove ] && [ -z "${DPKG_ROOT:-}" ] && [ -d /run/systemd/system ]; then
  systemctl stop bng.service || true
fi
exit 0
SCRIPT
cat > "$root/DEBIAN/postrm" <<'SCRIPT'
#!/bin/sh
set -e
if [ "$1" = purge ]; then
  rm -rf "${DPKG_ROOT:-}/run/bng"
  rm -f "${DPKG_ROOT:-}/var/log/bng.log" "${DPKG_ROOT:-}"/var/log/bng.log.*
fi
if [ "$1" = remove ] || [ "$1" = purge ]; then
  if [ -z "${DPKG_ROOT:-}" ] && [ -d /run/systemd/system ]; then systemctl daemon-reload || true; fi
fi
exit 0
SCRIPT
chmod 0755 "$root/DEBIAN/postinst" "$root/DEBIAN/prerm" "$root/DEBIAN/postrm"

out="${BNG_PACKAGE_DIR:-$here/dist}/bng_${version}_${arch}.deb"
# gzip: a 100 MiB executable packs in seconds (xz takes minutes for a few MiB less).
dpkg-deb --root-owner-group -Zgzip --build "$root" "$out" >/dev/null
echo "$out"
