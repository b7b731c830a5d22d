#!/usr/bin/env bash
# Installs, with apt-get, the Debian packages behind the commands that are missing.
#   ensure-packages.sh [--required] COMMAND=PACKAGE[,PACKAGE...] ...
# A COMMAND that starts with / is a file (a library's header) whose absence names its packages.
# Needs root. Without root it names what is missing and exits 0, or 1 with --required (for
# callers that cannot go on without the tools).
set -euo pipefail
# Administration tools live in the sbin directories, which another user's PATH may lack.
PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"
missing_exit=0
if [ "${1:-}" = "--required" ]; then
  missing_exit=1
  shift
fi
need=()
for pair in "$@"; do
  wanted="${pair%%=*}"
  if { [ "${wanted:0:1}" = / ] && [ ! -e "$wanted" ]; } || { [ "${wanted:0:1}" != / ] && ! command -v "$wanted" >/dev/null; }; then
    IFS=, read -r -a packages <<< "${pair#*=}"
    need+=("${packages[@]}")
  fi
done
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "missing system packages (${need[*]}); install them as root: apt-get install ${need[*]}" >&2
  exit "$missing_exit"
fi
export DEBIAN_FRONTEND=noninteractive
echo "installing ${need[*]} (apt-get)" >&2
# Another apt-get (a parallel test run) may hold dpkg's lock: wait for it rather than fail.
apt=(apt-get -qq -o DPkg::Lock::Timeout=600)
"${apt[@]}" update
"${apt[@]}" install -y --no-install-recommends "${need[@]}" >/dev/null
# Some packages start a system service on install; bng's tests run their own instances.
if command -v systemctl >/dev/null; then
  for service in keepalived bird snmpd; do systemctl is-active --quiet "$service" 2>/dev/null && systemctl stop "$service" || true; done
fi
