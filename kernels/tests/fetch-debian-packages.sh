#!/usr/bin/env bash
# Downloads the real Debian kernel packages of the four Debian candidate kernels: the importer tests
# read debian-12's single linux-image .deb (plain .ko) and debian-13-backports' split
# linux-modules + linux-base pair (.ko.xz) (kernels/tests/integration/import_binary.rs), and
# kernels/tests/make-kmod-roots.sh makes the kmod differential tests' oracle from all four
# (debian-12, debian-13, debian-13-backports, debian-sid); the bootable stick test also needs 7.3.4's
# linux-binary (its vmlinuz) and bookworm's systemd-boot-efi. About 415 MB; each package is skipped
# when already in the cache. When Debian's archive no longer carries a version (sid and backports
# move on), point HCL_DEBIAN_MIRROR and HCL_DEBIAN_SECURITY_MIRROR at snapshot.debian.org
# (https://snapshot.debian.org/archive/debian/20261126T000000Z/ and .../debian-security/...).
# Uses a private apt state under the cache dir, so the system's apt config is untouched.
# Cache dir: $HCL_DEB_CACHE, default $HOME/.cache/hcl-probe/debs.
set -euo pipefail

cache="${HCL_DEB_CACHE:-$HOME/.cache/hcl-probe/debs}"
# Debian's archive through a private apt state (mirror: this machine's apt sources, or
# HCL_DEBIAN_MIRROR / HCL_DEBIAN_SECURITY_MIRROR).
. "$(dirname "$0")/debian-apt.sh"

# package=version, file name as apt-get download writes it (':' in versions becomes %3a).
packages=(
  "linux-image-6.1.0-50-amd64=6.1.176-1 linux-image-6.1.0-50-amd64_6.1.176-1_amd64.deb"
  "linux-modules-7.3.4+deb13-amd64=7.3.4-1~bpo13+1 linux-modules-7.3.4+deb13-amd64_7.3.4-1~bpo13+1_amd64.deb"
  "linux-base-7.3.4+deb13-amd64=7.3.4-1~bpo13+1 linux-base-7.3.4+deb13-amd64_7.3.4-1~bpo13+1_amd64.deb"
  "linux-image-6.12.117+deb13-amd64=6.12.117-1 linux-image-6.12.117+deb13-amd64_6.12.117-1_amd64.deb"
  "linux-modules-7.2.13+deb14-amd64=7.2.13-1 linux-modules-7.2.13+deb14-amd64_7.2.13-1_amd64.deb"
  "linux-base-7.2.13+deb14-amd64=7.2.13-1 linux-base-7.2.13+deb14-amd64_7.2.13-1_amd64.deb"
  # The bootable stick test (probe/tests/stick_qemu.rs): 7.3.4's signed vmlinuz and the loader.
  "linux-binary-7.3.4+deb13-amd64=7.3.4-1~bpo13+1 linux-binary-7.3.4+deb13-amd64_7.3.4-1~bpo13+1_amd64.deb"
  "systemd-boot-efi=252.39-1~deb12u2 systemd-boot-efi_252.39-1~deb12u2_amd64.deb"
)

mkdir -p "$cache"
missing=()
for entry in "${packages[@]}"; do
  read -r spec file <<<"$entry"
  [ -s "$cache/$file" ] || missing+=("$spec")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "fetch-debian-packages: all packages present in $cache"
  exit 0
fi

debian_apt "$cache/.apt" fetch-debian-packages
cd "$cache"
apt-get "${apt_opts[@]}" -q download "${missing[@]}"
echo "fetch-debian-packages: downloaded ${#missing[@]} package(s) into $cache"
