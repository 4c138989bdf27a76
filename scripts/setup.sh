#!/usr/bin/env bash
# Installs the Debian 12 packages Vessel needs to build and test, only those
# missing. Run as root (or with sudo available).
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  libgtest-dev libgmock-dev libbenchmark-dev
  libfmt-dev libcli11-dev nlohmann-json3-dev
  # vessel --config FILE (TOML)
  libtomlplusplus-dev
  # the software CPU's instruction decoder, and the assembler of its
  # translating tier
  libzydis-dev libxbyak-dev
  # host-side decompression of bzImage payloads (direct kernel loading)
  zlib1g-dev liblzma-dev liblz4-dev libzstd-dev libbz2-dev
  # virtio-blk's io_uring engine, virtio-net's user-mode networking (slirp's
  # pkg-config file needs glib's)
  liburing-dev libslirp-dev libglib2.0-dev
  # guest assets: kernel and initramfs from Debian packages (apt downloads
  # util-linux's lscpu, dmidecode, virt-what and their libraries; binutils'
  # readelf finds what they need; the host needs none of them installed)
  busybox-static cpio zstd xz-utils kmod apt binutils
  # QEMU: the test guests' independent check and the benchmark's baseline;
  # python3 and GNU time run the benchmark
  qemu-system-x86 python3 time
  # disk tests: qemu-img makes and checks qcow2 images, e2fsprogs ext4 ones
  qemu-utils e2fsprogs
  # the API test's raw HTTP requests (curl --unix-socket)
  curl
)
if [ "$#" -gt 0 ]; then packages+=("$@"); fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ "${#missing[@]}" -eq 0 ] && exit 0

echo "setup: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
