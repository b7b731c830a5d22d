#!/usr/bin/env bash
# Installs, with apt-get, the Debian packages behind the commands that are missing.
#   ensure-packages.sh [--required] COMMAND=PACKAGE[,PACKAGE...] ...
# Needs root. Without root it names what is missing and exits 0, or 1 with --required (for
# callers that cannot go on without the tools).
set -euo pipefail
missing_exit=0
if [ "${1:-}" = "--required" ]; then
  missing_exit=1
  shift
fi
need=()
for pair in "$@"; do
  if ! command -v "${pair%%=*}" >/dev/null; then
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
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
