#!/bin/sh
# Fetch the ONNX Runtime C API headers from Debian's libonnxruntime-dev package and unpack them
# under DEST (DEST/usr/include/onnxruntime/onnxruntime_c_api.h). Debian bookworm has no such
# package; it is taken from a newer release (SUITE, default trixie) with apt's own client, using
# a private source list and state directory under DEST, so the system's apt setup is untouched
# and root is not needed. The package index and the .deb are checked against Debian's keyring.
#
#   usage: fetch-headers.sh DEST [SUITE]
set -eu
dest=${1:?usage: fetch-headers.sh DEST [SUITE]}
suite=${2:-trixie}
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
mkdir -p "$dest/apt/lists/partial" "$dest/apt/cache/archives/partial" "$dest/apt/deb"
dest=$(cd "$dest" && pwd)
echo "deb [signed-by=$keyring] http://deb.debian.org/debian $suite main" > "$dest/apt/sources.list"
apt_opts="-q -o Dir::Etc::SourceList=$dest/apt/sources.list -o Dir::Etc::SourceParts=/dev/null
  -o Dir::State::Lists=$dest/apt/lists -o Dir::Cache=$dest/apt/cache -o Debug::NoLocking=1
  -o APT::Sandbox::User=root"
# shellcheck disable=SC2086
apt-get $apt_opts update > "$dest/apt/update.log"
# shellcheck disable=SC2086
(cd "$dest/apt/deb" && apt-get $apt_opts download libonnxruntime-dev > ../download.log)
dpkg-deb -x "$dest"/apt/deb/libonnxruntime-dev_*.deb "$dest"
header="$dest/usr/include/onnxruntime/onnxruntime_c_api.h"
test -f "$header"
echo "$dest/usr/include/onnxruntime"
