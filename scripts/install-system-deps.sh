#!/usr/bin/env bash
# Installs the system tools the end-to-end tests, the demo and the benchmarks use, when missing.
# Needs root (apt-get); without root it only reports what is missing.
set -euo pipefail
exec bash "$(dirname "$0")/ensure-packages.sh" ip=iproute2 ethtool=ethtool tcpdump=tcpdump curl=curl nft=nftables ping=iputils-ping python3=python3 keepalived=keepalived bird=bird2 snmpd=snmpd snmpwalk=snmp tmux=tmux man=man-db
