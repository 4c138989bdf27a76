#!/usr/bin/env bash
# Builds the demo/test guest from Debian packages only:
#   OUTDIR/vmlinuz              the kernel of linux-image-cloud-amd64 (the real image it depends on)
#   OUTDIR/initramfs.cpio.gz    busybox-static + guest/init (+ guest/udhcpc.script, guest/power-button) + the kernel's virtio, ACPI button and evdev modules
#                               + util-linux's lscpu, dmidecode and virt-what (a shell
#                               script, with its virt-what-cpuid-helper) with their
#                               shared libraries and the dynamic loader (from the
#                               util-linux, libsmartcols1, dmidecode, virt-what and
#                               libc6 packages, not from the host)
# Downloaded .debs are cached in ${VESSEL_CACHE:-$HOME/.cache/vessel}/debs, so a
# rebuild needs no network; when the outputs are newer than this script,
# guest/init and the debs (and were made from the same .deb files), nothing is
# rebuilt.
#
# Usage: scripts/build-guest-assets.sh OUTDIR
set -euo pipefail

if [ "$#" -ne 1 ]; then
  echo "usage: $0 OUTDIR" >&2
  exit 2
fi
outdir=$1
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
init_src="$here/../guest/init"
udhcpc_src="$here/../guest/udhcpc.script"
power_button_src="$here/../guest/power-button"
cache="${VESSEL_CACHE:-$HOME/.cache/vessel}/debs"
meta_pkg=linux-image-cloud-amd64
start_s=$(date +%s.%N)

say() { echo "assets: $*"; }
die() {
  echo "assets: error: $*" >&2
  exit 1
}

# Modules the guest loads (names as the kernel spells them, '-' and '_' alike).
# Optional ones exist only in some kernel versions or configurations.
required_modules=(virtio virtio_ring virtio_pci virtio_blk virtio_net net_failover failover
  virtio_console virtio_rng virtio_balloon button evdev)
optional_modules=(virtio_pci_modern_dev virtio_pci_legacy_dev rng_core)

# Dynamically linked programs from Debian packages, copied into the initramfs
# with the libraries they need (ELF DT_NEEDED, found in the same packages) and
# their program interpreter. A library missing from these packages is an error.
guest_programs=(usr/bin/lscpu usr/sbin/dmidecode usr/libexec/virt-what-cpuid-helper)
program_pkgs=(util-linux libsmartcols1 dmidecode virt-what libc6)
# Shell scripts from the same packages, copied as they are (they run under
# busybox's sh and applets).
guest_scripts=(usr/sbin/virt-what)

[ -f "$init_src" ] || die "missing $init_src"
[ -f "$udhcpc_src" ] || die "missing $udhcpc_src"
[ -f "$power_button_src" ] || die "missing $power_button_src"
for tool in apt-get apt-cache dpkg-deb cpio gzip readelf; do
  command -v "$tool" >/dev/null || die "$tool not found (run scripts/setup.sh)"
done
depmod_bin=$(PATH="$PATH:/usr/sbin:/sbin" command -v depmod) || die "depmod not found (install kmod)"

mkdir -p "$cache" "$outdir"

apt_updated=0
apt_update() {
  [ "$apt_updated" -eq 0 ] || return 0
  apt_updated=1
  say "updating the package lists (apt-get update)"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq >/dev/null || die "apt-get update failed"
}

# The newest cached .deb of package $1, or nothing.
cached_deb() {
  find "$cache" -maxdepth 1 -name "${1}_*.deb" -printf '%p\n' 2>/dev/null | sort -V | tail -n 1
}

# The real image package the meta package depends on (linux-image-6.1.0-N-cloud-amd64).
resolve_kernel_pkg() {
  apt-cache depends "$meta_pkg" 2>/dev/null |
    awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9].*-cloud-amd64$/ { print $2; exit }'
}

# Prints the path of the cached .deb of package $1, downloading it if needed.
fetch_deb() {
  local pkg=$1 deb
  deb=$(cached_deb "$pkg")
  if [ -n "$deb" ]; then
    echo "$deb"
    return 0
  fi
  say "downloading $pkg" >&2
  if ! (cd "$cache" && apt-get download -qq "$pkg" >/dev/null 2>&1); then
    apt_update >&2
    (cd "$cache" && apt-get download -qq "$pkg" >/dev/null 2>&1) || die "cannot download $pkg"
  fi
  deb=$(cached_deb "$pkg")
  [ -n "$deb" ] || die "apt-get download $pkg left no .deb in $cache"
  echo "$deb"
}

kernel_pkg=$(resolve_kernel_pkg)
if [ -z "$kernel_pkg" ]; then
  # No package lists (or no such package in them): use a cached kernel if there is one.
  kernel_pkg=$(find "$cache" -maxdepth 1 -name 'linux-image-*-cloud-amd64_*.deb' -printf '%f\n' |
    sort -V | tail -n 1 | sed 's/_.*//')
fi
if [ -z "$kernel_pkg" ]; then
  apt_update
  kernel_pkg=$(resolve_kernel_pkg)
  [ -n "$kernel_pkg" ] || die "cannot resolve $meta_pkg to a kernel image package"
fi
kernel_deb=$(fetch_deb "$kernel_pkg")
busybox_deb=$(fetch_deb busybox-static)
program_debs=()
for pkg in "${program_pkgs[@]}"; do
  program_debs+=("$(fetch_deb "$pkg")")
done

# The stamp names every .deb the outputs were made from, so a new package
# version (or a new package in the lists above) rebuilds them.
stamp="$outdir/.assets-stamp"
stamp_text="$(basename "$kernel_deb") $(basename "$busybox_deb")"
for deb in "${program_debs[@]}"; do
  stamp_text+=" $(basename "$deb")"
done
if [ -f "$stamp" ] && [ -f "$outdir/vmlinuz" ] && [ -f "$outdir/initramfs.cpio.gz" ] &&
  [ "$(cat "$stamp")" = "$stamp_text" ]; then
  fresh=1
  for dep in "${BASH_SOURCE[0]}" "$init_src" "$udhcpc_src" "$power_button_src" "$kernel_deb" "$busybox_deb" "${program_debs[@]}"; do
    [ "$dep" -nt "$stamp" ] && fresh=0
  done
  if [ "$fresh" -eq 1 ]; then
    say "up to date: $outdir ($kernel_pkg)"
    exit 0
  fi
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/vessel-assets.XXXXXX")
trap 'rm -rf "$work"' EXIT

say "unpacking $(basename "$kernel_deb")"
dpkg-deb -x "$kernel_deb" "$work/kernel"
dpkg-deb -x "$busybox_deb" "$work/busybox"
progs="$work/programs"
for deb in "${program_debs[@]}"; do
  dpkg-deb -x "$deb" "$progs"
done

vmlinuz=$(find "$work/kernel/boot" -maxdepth 1 -name 'vmlinuz-*' | head -n 1)
[ -n "$vmlinuz" ] || die "$kernel_pkg has no /boot/vmlinuz-*"
kver=${vmlinuz##*/vmlinuz-}
kmods="$work/kernel/lib/modules/$kver"
[ -d "$kmods" ] || die "$kernel_pkg has no /lib/modules/$kver"
busybox="$work/busybox/bin/busybox"
[ -x "$busybox" ] || die "busybox-static has no /bin/busybox"

# The package ships no modules.dep (the postinst makes it): make it here.
"$depmod_bin" -b "$work/kernel" "$kver" || die "depmod failed on $kver"

# Module name -> path relative to $kmods, from modules.dep.
declare -A mod_path mod_deps
while IFS= read -r line; do
  path=${line%%:*}
  name=${path##*/}
  name=${name%%.ko*}
  name=${name//-/_}
  mod_path[$name]=$path
  mod_deps[$path]=${line#*:}
done <"$kmods/modules.dep"

declare -A builtin
while IFS= read -r path; do
  name=${path##*/}
  name=${name%%.ko*}
  builtin[${name//-/_}]=1
done <"$kmods/modules.builtin"

# Depth-first post-order over modules.dep: dependencies before their users.
declare -A visited
load_order=()
visit() {
  local path=$1 dep
  [ -z "${visited[$path]:-}" ] || return 0
  visited[$path]=1
  for dep in ${mod_deps[$path]}; do
    visit "$dep"
  done
  load_order+=("$path")
}
builtin_list=()
for name in "${required_modules[@]}" "${optional_modules[@]}"; do
  if [ -n "${mod_path[$name]:-}" ]; then
    visit "${mod_path[$name]}"
  elif [ -n "${builtin[$name]:-}" ]; then
    builtin_list+=("$name")
  elif [[ " ${required_modules[*]} " == *" $name "* ]]; then
    die "$kver has no module $name and does not build it in"
  fi
done

# The initramfs tree.
root="$work/root"
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,run,root,etc,lib/modules/"$kver"}
cp "$busybox" "$root/bin/busybox"
while IFS= read -r applet; do
  [ "$applet" = bin/busybox ] && continue
  [ -d "$root/${applet%/*}" ] || mkdir -p "$root/${applet%/*}"
  ln -s /bin/busybox "$root/$applet"
done < <("$busybox" --list-full)
install -m 0755 "$init_src" "$root/init"
# udhcpc applies a DHCP lease through this script (address, route, DNS);
# Debian's busybox looks for it in /etc/udhcpc, others in /usr/share/udhcpc.
mkdir -p "$root/usr/share/udhcpc" "$root/etc/udhcpc"
install -m 0755 "$udhcpc_src" "$root/usr/share/udhcpc/default.script"
ln -s /usr/share/udhcpc/default.script "$root/etc/udhcpc/default.script"
# busybox acpid runs /etc/acpi/PWRF/00000080 when the power button is pressed.
mkdir -p "$root/etc/acpi/PWRF" "$root/var/log" "$root/var/run"
install -m 0755 "$power_button_src" "$root/etc/acpi/PWRF/00000080"

# resolve_in PATH: PATH (absolute, inside $progs) with its symbolic links
# followed inside $progs, never into the host's file system.
resolve_in() {
  local path=$1 target n
  for n in 1 2 3 4 5 6 7 8 9 10; do
    [ -L "$path" ] || {
      echo "$path"
      return 0
    }
    target=$(readlink "$path")
    case "$target" in
    /*) path="$progs$target" ;;
    *) path="$(dirname "$path")/$target" ;;
    esac
  done
  die "too many symbolic links at $1"
}
# copy_elf RELPATH: $progs/RELPATH (links followed) to $root/RELPATH; a file
# already copied under another name becomes a symbolic link to that copy.
declare -A copy_of
copy_elf() {
  local src
  src=$(resolve_in "$progs/$1")
  [ -f "$src" ] || die "$1 is not in the packages ${program_pkgs[*]}"
  mkdir -p "$root/$(dirname "$1")"
  rm -f "$root/$1" # never write through a busybox applet link
  if [ -n "${copy_of[$src]:-}" ]; then
    ln -s "/${copy_of[$src]}" "$root/$1"
    return 0
  fi
  copy_of[$src]=$1
  cp "$src" "$root/$1"
  chmod 0755 "$root/$1"
}
# The library directories searched for a DT_NEEDED name, as the loader's defaults.
lib_dirs=(lib/x86_64-linux-gnu usr/lib/x86_64-linux-gnu lib64 lib usr/lib)
declare -A copied
elf_queue=()
for prog in "${guest_programs[@]}"; do
  copy_elf "$prog"
  elf_queue+=("$prog")
done
for script in "${guest_scripts[@]}"; do
  [ -f "$progs/$script" ] || die "$script is not in the packages ${program_pkgs[*]}"
  head -c 2 "$progs/$script" | grep -q '^#!' || die "$script is not a script"
  mkdir -p "$root/$(dirname "$script")"
  rm -f "$root/$script"
  install -m 0755 "$progs/$script" "$root/$script"
done
while [ "${#elf_queue[@]}" -gt 0 ]; do
  elf=${elf_queue[0]}
  elf_queue=("${elf_queue[@]:1}")
  headers=$(readelf -d -l "$root/$elf" 2>/dev/null) || die "readelf cannot read $elf"
  interp=$(sed -n 's/.*Requesting program interpreter: \/\(.*\)\]$/\1/p' <<<"$headers")
  if [ -n "$interp" ] && [ -z "${copied[$interp]:-}" ]; then
    copied[$interp]=1
    copy_elf "$interp"
  fi
  while IFS= read -r soname; do
    [ -n "$soname" ] || continue
    [ -z "${copied[lib:$soname]:-}" ] || continue
    copied[lib:$soname]=1
    found=
    for dir in "${lib_dirs[@]}"; do
      if [ -e "$progs/$dir/$soname" ] || [ -L "$progs/$dir/$soname" ]; then
        found=$dir/$soname
        break
      fi
    done
    [ -n "$found" ] || die "$elf needs $soname, which none of the packages" \
      "${program_pkgs[*]} has: add its package to program_pkgs"
    copy_elf "$found"
    elf_queue+=("$found")
  done < <(sed -n 's/.*(NEEDED) *Shared library: \[\(.*\)\]$/\1/p' <<<"$headers")
done

list="$root/lib/modules/$kver/vessel-modules.list"
: >"$list"
for path in "${load_order[@]}"; do
  src="$kmods/$path"
  dst="$root/lib/modules/$kver/${path%.ko*}.ko"
  mkdir -p "$(dirname "$dst")"
  case "$path" in
  *.ko) cp "$src" "$dst" ;;
  *.ko.xz) xz -dc "$src" >"$dst" ;;
  *.ko.zst) zstd -qdc "$src" >"$dst" ;;
  *.ko.gz) gzip -dc "$src" >"$dst" ;;
  *) die "unknown module format: $path" ;;
  esac
  echo "${path%.ko*}.ko" >>"$list"
done
cp "$kmods/modules.builtin" "$kmods/modules.order" "$root/lib/modules/$kver/"
[ -f "$kmods/modules.builtin.modinfo" ] && cp "$kmods/modules.builtin.modinfo" "$root/lib/modules/$kver/"
# modules.dep for the subset, so that modprobe works inside the guest too.
"$depmod_bin" -b "$root" "$kver" || die "depmod failed on the initramfs tree"

# /dev/console must exist before /init runs (devtmpfs is mounted by /init).
# cpio cannot add a device node without root, so append a hand-made newc entry
# (a second archive in the same stream; the kernel unpacks them in turn).
newc_entry() { # name mode major minor
  local name=$1 namesize=$((${#1} + 1))
  printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X' \
    0 "$2" 0 0 1 0 0 0 0 "$3" "$4" "$namesize" 0
  printf '%s\0' "$name"
  # header (110 bytes) + name, padded to a multiple of 4
  local pad=$(((4 - (110 + namesize) % 4) % 4))
  head -c "$pad" /dev/zero
}

cpio_out="$work/initramfs.cpio"
# Fixed times, so that the same packages make the same archive.
find "$root" -exec touch -h -d @0 {} +
(cd "$root" && find . -mindepth 1 | LC_ALL=C sort |
  cpio --quiet -o -H newc -R 0:0 --reproducible >"$cpio_out")
{
  newc_entry dev/console $((0020600)) 5 1
  newc_entry 'TRAILER!!!' 0 0 0
} >>"$cpio_out"

gzip -6 -n -c "$cpio_out" >"$outdir/initramfs.cpio.gz.tmp"
cp "$vmlinuz" "$outdir/vmlinuz.tmp"
mv "$outdir/vmlinuz.tmp" "$outdir/vmlinuz"
mv "$outdir/initramfs.cpio.gz.tmp" "$outdir/initramfs.cpio.gz"
echo "$stamp_text" >"$stamp"

if [ "${#builtin_list[@]}" -gt 0 ]; then
  say "built into $kver: ${builtin_list[*]}"
fi
say "programs: ${guest_programs[*]} ${guest_scripts[*]} (with $(printf '%s\n' "${!copied[@]}" | sed 's/^lib://' |
  LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//'))"
say "modules: ${#load_order[@]} ($(for p in "${load_order[@]}"; do
  n=${p##*/}
  printf '%s ' "${n%%.ko*}"
done | sed 's/ $//'))"
say "built $outdir/vmlinuz ($(stat -c %s "$outdir/vmlinuz") bytes) and" \
  "initramfs.cpio.gz ($(stat -c %s "$outdir/initramfs.cpio.gz") bytes) for $kver" \
  "in $(awk -v a="$start_s" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s"
