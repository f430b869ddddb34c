#!/usr/bin/env bash
# Regenerates data/kernel-source/: the few kernel source files the binding conditions of the
# shipped profiles are read from (hcl-kernels build-shipped parses them; see
# kernels/src/conditions/), for each Debian kernel source package a profile was built from, plus
# the `CONFIG_DRM_*_FORCE_PROBE` values of the kernels' configs.
#
# Source: Debian's linux-source-<series> packages (the kernel tree with Debian's patches applied),
# fetched with apt-get download from the suites below into $HCL_KSRC_CACHE (default
# ~/.cache/hcl-probe/kernel-source; about 600 MB). Only the files listed in FILES are kept,
# xz-compressed, under <package version>/ with their path in the tree.
# Configs: the /boot/config-* of the kernel packages in $HCL_DEB_CACHE (default
# ~/.cache/hcl-probe/debs, see kernels/tests/fetch-debian-packages.sh) and the Qubes dom0 configs
# of data/kernel-data/qubes-derived/<profile>/: for qubes-6.18 and qubes-7.1 the config.zst
# that `hcl-kernels derive` wrote, i.e. config-base + config-qubes + config-rust merged as
# Qubes' spec does.
set -euo pipefail

out="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$out/../.." && pwd)"
cache="${HCL_KSRC_CACHE:-$HOME/.cache/hcl-probe/kernel-source}"
debs="${HCL_DEB_CACHE:-$HOME/.cache/hcl-probe/debs}"
# Debian's archive through a private apt state (kernels/tests/debian-apt.sh).
. "$repo/kernels/tests/debian-apt.sh"

# package=version of each source tree.
packages=(
  linux-source-6.1=6.1.176-1
  linux-source-6.12=6.12.117-1
  linux-source-7.2=7.2.13-1
  linux-source-7.3=7.3.4-1~bpo13+1
  linux-source-6.18=6.18.15-1~bpo13+1
  linux-source-7.1=7.1.8-2
)
# Versions the suites' indices no longer list (superseded there), fetched from the archive's pool
# and checked against the SHA-256 that `hcl-kernels derive` recorded when it derived the Qubes
# profiles' data from them (data/kernel-data/qubes-derived/<profile>/provenance.json).
declare -A pool_sha256=(
  [linux-source-6.18=6.18.15-1~bpo13+1]=1638c9e5f4307c722231d8000e30cd2fa2fb71f55e081ff9eecfd0a756955c18
  [linux-source-7.1=7.1.8-2]=a0c35d195ca5d51ae9cc04ce66c94b56a1d91b253f4ad080d7e8101ed0eeb292
)
FILES=(
  drivers/gpu/drm/i915/i915_pci.c
  include/drm/i915_pciids.h
  include/drm/intel/i915_pciids.h
  include/drm/intel/xe_pciids.h
  include/drm/intel/pciids.h
  drivers/gpu/drm/xe/xe_pci.c
  drivers/gpu/drm/amd/amdgpu/amdgpu_discovery.c
  drivers/gpu/drm/nouveau/nvkm/engine/device/base.c
  drivers/net/wireless/intel/iwlwifi/pcie/drv.c
  Documentation/gpu/amdgpu/apu-asic-info-table.csv
  Documentation/gpu/amdgpu/dgpu-asic-info-table.csv
)

debian_apt "$cache" extract.sh

{
  echo "Kernel source files the binding conditions of the shipped profiles are read from."
  echo
  echo "Made by data/kernel-source/extract.sh from Debian's linux-source-<series> packages (the"
  echo "tree with Debian's patches applied); each file kept as it is in the tree, xz-compressed."
  echo "Which tree serves which profile: debian-12 6.1.176-1; debian-13 and qubes-6.12 6.12.117-1"
  echo "(the Qubes profile's pci/usb data was derived from that same tree); debian-sid 7.2.13-1;"
  echo "debian-13-backports 7.3.4-1~bpo13+1; qubes-6.18 6.18.15-1~bpo13+1 (trixie-backports: the"
  echo "closest 6.18 source reachable here, Qubes builds kernel.org 6.18.44) and qubes-7.1 7.1.8-2"
  echo "(sid: the same upstream release Qubes builds); both are the trees their pci/usb data was"
  echo "derived from (data/kernel-data/qubes-derived/); the suites' indices no longer list these"
  echo "two versions, so they come from the archive's pool, checked against the SHA-256 recorded"
  echo "when that data was derived. RHEL profiles have none: no AlmaLinux source is reachable"
  echo "from here, so their conditions are unknown."
  echo "force-probe.tsv: CONFIG_DRM_I915_FORCE_PROBE / CONFIG_DRM_XE_FORCE_PROBE per profile, from"
  echo "the config each profile's kernel was built with (Qubes: the merged config of"
  echo "data/kernel-data/qubes-derived/<profile>/)."
  echo
  echo "Packages:"
} >"$out/SOURCE.txt"

cd "$cache"
for spec in "${packages[@]}"; do
  name=${spec%%=*}
  version=${spec#*=}
  deb=$(ls "$cache/${name}_${version/\~/%7e}_all.deb" "$cache/${name}_${version}_all.deb" 2>/dev/null | head -1 || true)
  if [ -z "$deb" ] && [ -n "${pool_sha256[$spec]:-}" ]; then
    file="${name}_${version}_all.deb"
    curl -fsS -o "$cache/$file.part" "$debian_mirror/pool/main/l/linux/${file/\~/%7e}"
    echo "${pool_sha256[$spec]}  $cache/$file.part" | sha256sum -c --quiet -
    mv "$cache/$file.part" "$cache/$file"
    deb="$cache/$file"
    echo "extract.sh: $file from the pool, sha256 as pinned"
  fi
  if [ -z "$deb" ]; then
    apt-get "${apt_opts[@]}" -q download "$spec"
    # apt-get names the file with the version's '~' as is or as %7e, by apt version.
    deb=$(ls "$cache/${name}_${version/\~/%7e}_all.deb" "$cache/${name}_${version}_all.deb" 2>/dev/null | head -1 || true)
    [ -n "$deb" ] || { echo "extract.sh: $spec downloaded but not found in $cache" >&2; exit 1; }
  fi
  series=${name#linux-source-}
  dest="$out/$version"
  rm -rf "$dest"
  mkdir -p "$dest"
  members=()
  for f in "${FILES[@]}"; do members+=("linux-source-$series/$f"); done
  # Only the listed members; tar exits non-zero for those absent in this series.
  dpkg-deb --fsys-tarfile "$deb" | tar -xO "./usr/src/linux-source-$series.tar.xz" |
    tar -xJ -C "$dest" --strip-components=1 "${members[@]}" 2>/dev/null || true
  find "$dest" -type f -exec xz -9e {} +
  sha=$(sha256sum "$deb" | cut -d' ' -f1)
  echo "  $name $version ($(basename "$deb") sha256:$sha): $(cd "$dest" && find . -type f | sort | sed 's|^\./||; s|\.xz$||' | tr '\n' ' ')" >>"$out/SOURCE.txt"
  echo "extract.sh: $name $version: $(find "$dest" -type f | wc -l) files"
done

# The force_probe defaults.
config_of() { # deb-glob
  local deb
  deb=$(ls $debs/$1 2>/dev/null | head -1)
  [ -n "$deb" ] || { echo "extract.sh: no $1 in $debs (run kernels/tests/fetch-debian-packages.sh)" >&2; exit 1; }
  dpkg-deb --fsys-tarfile "$deb" | tar -xO --wildcards --no-anchored --wildcards-match-slash 'boot/config-*' 'usr/lib/modules/*/config' 2>/dev/null || true
}
qubes_config() { # profile
  for d in "$repo/data/kernel-data/qubes-derived/$1"; do
    if [ -f "$d/config.xz" ]; then xz -dc "$d/config.xz"; return; fi
    # hcl-kernels derive's final .config (the Qubes configs merged).
    if [ -f "$d/config.zst" ]; then zstd -qdc "$d/config.zst"; return; fi
    if [ -f "$d/config" ]; then cat "$d/config"; return; fi
  done
  echo "extract.sh: no $1 config found" >&2
  exit 1
}
{
  printf '#profile\toption\tvalue\tfrom\n'
  for entry in \
    "debian-12 linux-image-6.1.0-50-amd64_6.1.176-1_amd64.deb" \
    "debian-13 linux-image-6.12.117+deb13-amd64_6.12.117-1_amd64.deb" \
    "debian-13-backports linux-base-7.3.4+deb13-amd64_7.3.4-1~bpo13+1_amd64.deb" \
    "debian-sid linux-base-7.2.13+deb14-amd64_7.2.13-1_amd64.deb" \
    "qubes-6.12 qubes-derived/qubes-6.12/config" \
    "qubes-6.18 qubes-derived/qubes-6.18/config.zst" \
    "qubes-7.1 qubes-derived/qubes-7.1/config.zst"; do
    read -r profile from <<<"$entry"
    case $profile in
      qubes-*) text=$(qubes_config "$profile") ;;
      *) text=$(config_of "$from") ;;
    esac
    for opt in CONFIG_DRM_I915_FORCE_PROBE CONFIG_DRM_XE_FORCE_PROBE; do
      line=$(grep -E "^$opt=|^# $opt is not set" <<<"$text" || true)
      value=$(sed -n "s/^$opt=\"\\(.*\\)\"$/\\1/p" <<<"$line")
      [ -n "$line" ] || value="(not set)"
      printf '%s\t%s\t%s\t%s\n' "$profile" "$opt" "${value:-}" "$from"
    done
  done
} >"$out/force-probe.tsv"
echo "extract.sh: wrote $out/SOURCE.txt and force-probe.tsv"
