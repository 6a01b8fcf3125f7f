#!/usr/bin/env bash
# The HEIC tests make their photos with libheif's heif-enc (Debian's libheif-examples:
# the app itself only decodes, through the pi-heif wheel). Installs it when missing and
# we may; otherwise says how.
set -euo pipefail
if command -v heif-enc >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing Debian's libheif-examples (heif-enc) for the HEIC tests..."
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libheif-examples >/dev/null
else
  echo "heif-enc is not installed: the HEIC tests will fail." >&2
  echo "Install it with: sudo apt-get install libheif-examples" >&2
fi
