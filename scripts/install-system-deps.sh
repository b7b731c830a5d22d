#!/usr/bin/env bash
# Installs, when missing, the system tools the tests, the demo and the benchmarks use, and those
# of the peers bng works with: iproute2 (ip, bridge), procps (sysctl), ethtool, tcpdump, curl,
# nftables, iputils-ping, python3 (test listeners), a C compiler (the struct-layout check),
# keepalived (VRRP interoperation), bird2 (BGP), snmpd and snmp (the SNMP agent), erlang-snmp
# (SNMPv2-SMI and -TC, which BNG-MIB imports, for snmptranslate), tmux (the console's terminal
# test), man-db (bng(8)).
# Needs root (apt-get); without root it only reports what is missing.
set -euo pipefail
exec bash "$(dirname "$0")/ensure-packages.sh" \
  ip=iproute2 sysctl=procps ethtool=ethtool tcpdump=tcpdump curl=curl nft=nftables ping=iputils-ping python3=python3 \
  cc=gcc,libc6-dev keepalived=keepalived bird=bird2 snmpd=snmpd snmpget=snmp '/usr/lib/erlang/lib/snmp-*/mibs/SNMPv2-SMI.mib=erlang-snmp' tmux=tmux man=man-db,groff-base
