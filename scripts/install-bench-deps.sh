#!/usr/bin/env bash
# Installs the tools `npm run bench` uses, when missing: trafgen (netsniff-ng), wrk, haproxy,
# a C compiler (the native baseline forwarder), iproute2, ethtool. Needs root (apt-get);
# without root it only reports what is missing and exits non-zero.
set -euo pipefail
need=()
command -v trafgen >/dev/null || need+=(netsniff-ng)
command -v wrk >/dev/null || need+=(wrk)
command -v haproxy >/dev/null || need+=(haproxy)
command -v cc >/dev/null || need+=(gcc libc6-dev)
command -v ip >/dev/null || need+=(iproute2)
command -v ethtool >/dev/null || need+=(ethtool)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "missing system packages (${need[*]}); install them as root: apt-get install ${need[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# haproxy's package starts a system service; the benchmark runs its own instance in a namespace.
if command -v systemctl >/dev/null && systemctl is-active --quiet haproxy 2>/dev/null; then
  systemctl stop haproxy || true
fi
