#!/usr/bin/env bash
# Installs the built executable (npm run build) on this box, or under --root DIR for packaging:
#   DIR/usr/local/sbin/bng                    the executable (nothing else is needed at run time)
#   DIR/etc/systemd/system/bng.service        the unit (foreground bng run, SIGHUP reloads)
#   DIR/etc/bng.conf                          the seed's DSR example, only if no bng.conf exists
#   DIR/usr/local/share/doc/bng/              README and docs
set -euo pipefail
root=""
if [ "${1:-}" = "--root" ]; then
  root="${2:?--root needs a directory}"
elif [ $# -gt 0 ]; then
  echo "usage: scripts/install.sh [--root DIR]" >&2
  exit 2
fi
here="$(cd "$(dirname "$0")/.." && pwd)"
if [ ! -x "$here/dist/bng" ]; then
  echo "dist/bng is missing: run 'npm run build' first" >&2
  exit 1
fi
install -D -m 0755 "$here/dist/bng" "$root/usr/local/sbin/bng"
install -D -m 0644 "$here/dist/bng.service" "$root/etc/systemd/system/bng.service"
if [ -e "$root/etc/bng.conf" ]; then
  echo "kept the existing $root/etc/bng.conf"
else
  install -D -m 0644 "$here/config/dsr-example.conf" "$root/etc/bng.conf"
  echo "installed the seed's DSR example as $root/etc/bng.conf: edit it for your network"
fi
install -d "$root/usr/local/share/doc/bng"
install -m 0644 "$here/README.md" "$here"/docs/*.md "$root/usr/local/share/doc/bng/"
echo "installed bng to $root/usr/local/sbin/bng"
if [ -z "$root" ]; then
  echo "next: bng check /etc/bng.conf && systemctl daemon-reload && systemctl enable --now bng"
fi
