#!/usr/bin/env bash
# Makes the kmod trees that the kmod differential tests use as their oracle
# (kernels/tests/integration/kmod_differential.rs, probe/tests/integration/kmod_oracle.rs, the
# lookup bench): for each of the four Debian kernels, its real packages (fetched by
# fetch-debian-packages.sh) are extracted and `depmod -b` of this machine's kmod indexes them; the
# indexes `modprobe -d ROOT -S RELEASE -R` reads are kept:
#   $HCL_KMOD_ROOTS/<release>/lib/modules/<release>/modules.{alias,dep,builtin,builtin.alias}.bin
# (default $HOME/.cache/hcl-probe/kmod-roots; usr/lib/modules is a link to lib/modules, for a kmod
# whose module directory is /usr/lib/modules). A finished tree is moved into place whole, and
# skipped on the next run. Needs dpkg-deb and depmod (Debian package kmod).
set -euo pipefail
export PATH="$PATH:/usr/sbin:/sbin"

debs="${HCL_DEB_CACHE:-$HOME/.cache/hcl-probe/debs}"
roots="${HCL_KMOD_ROOTS:-$HOME/.cache/hcl-probe/kmod-roots}"
# release, then its package files in the cache (7.x: linux-modules + linux-base).
kernels=(
  "6.1.0-50-amd64 linux-image-6.1.0-50-amd64_6.1.176-1_amd64.deb"
  "6.12.117+deb13-amd64 linux-image-6.12.117+deb13-amd64_6.12.117-1_amd64.deb"
  "7.3.4+deb13-amd64 linux-modules-7.3.4+deb13-amd64_7.3.4-1~bpo13+1_amd64.deb linux-base-7.3.4+deb13-amd64_7.3.4-1~bpo13+1_amd64.deb"
  "7.2.13+deb14-amd64 linux-modules-7.2.13+deb14-amd64_7.2.13-1_amd64.deb linux-base-7.2.13+deb14-amd64_7.2.13-1_amd64.deb"
)
indexes=(modules.alias.bin modules.dep.bin modules.builtin.bin modules.builtin.alias.bin)

# One kernel: extract its packages, run depmod, keep the indexes, move the tree into place.
make_one() {
  local ver=$1 work pkg tree out f i
  shift
  work=$(mktemp -d "$roots/.work.XXXXXX")
  pkg="$work/pkg"
  for f in "$@"; do
    [ -s "$debs/$f" ] || { echo "make-kmod-roots: $debs/$f missing; run kernels/tests/fetch-debian-packages.sh" >&2; rm -rf "$work"; return 1; }
    dpkg-deb -x "$debs/$f" "$pkg"
  done
  # 6.1 installs into lib/modules, 6.12+ into usr/lib/modules: make both paths lead to the tree.
  if [ -d "$pkg/usr/lib/modules/$ver" ]; then
    mkdir -p "$pkg/lib" && ln -sfn ../usr/lib/modules "$pkg/lib/modules"
    tree="$pkg/usr/lib/modules/$ver"
  else
    mkdir -p "$pkg/usr/lib" && ln -sfn ../../lib/modules "$pkg/usr/lib/modules"
    tree="$pkg/lib/modules/$ver"
  fi
  depmod -b "$pkg" "$ver"
  out="$work/root/lib/modules/$ver"
  mkdir -p "$out" "$work/root/usr/lib"
  for i in "${indexes[@]}"; do cp "$tree/$i" "$out/"; done
  ln -s ../../lib/modules "$work/root/usr/lib/modules"
  rm -rf "${roots:?}/$ver"
  mv "$work/root" "$roots/$ver"
  rm -rf "$work"
  echo "make-kmod-roots: $roots/$ver ($(depmod -V | head -1))"
}

mkdir -p "$roots"
pids=()
for entry in "${kernels[@]}"; do
  read -r ver files <<<"$entry"
  [ -f "$roots/$ver/lib/modules/$ver/modules.alias.bin" ] && continue
  # shellcheck disable=SC2086 # file names have no spaces
  make_one "$ver" $files &
  pids+=($!)
done
failed=0
for p in "${pids[@]}"; do wait "$p" || failed=1; done
[ "$failed" = 0 ] || { echo "make-kmod-roots: failed" >&2; exit 1; }
echo "make-kmod-roots: ${#pids[@]} tree(s) made, all ${#kernels[@]} in $roots"
