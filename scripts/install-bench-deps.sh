#!/usr/bin/env bash
# Installs the tools `npm run bench` uses, when missing: those of the tests and the lab
# (install-system-deps.sh: iproute2, ethtool, nftables, ...), then trafgen (netsniff-ng), wrk,
# haproxy, a C compiler and libxdp and libbpf (the native baseline forwarders: recvmmsg and
# AF_XDP). Needs root (apt-get); without root it only reports what is missing and exits non-zero.
set -euo pipefail
here="$(dirname "$0")"
bash "$here/install-system-deps.sh"
bash "$here/ensure-packages.sh" --required trafgen=netsniff-ng wrk=wrk haproxy=haproxy cc=gcc,libc6-dev \
  /usr/include/xdp/xsk.h=libxdp-dev,libbpf-dev /usr/include/bpf/libbpf.h=libbpf-dev ip=iproute2 ethtool=ethtool nft=nftables python3=python3
# haproxy's package starts a system service; the benchmark runs its own instance in a namespace.
if command -v systemctl >/dev/null && systemctl is-active --quiet haproxy 2>/dev/null; then
  systemctl stop haproxy || true
fi
