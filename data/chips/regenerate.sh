#!/usr/bin/env bash
# Regenerates data/chips/nvidia.tsv from the pci.ids of Debian's `pci.ids` package (sid), and
# prints the pci.ids name of every curated row of amdgpu-gc.tsv for review (the names are the
# key between pci.ids and the kernel's amdgpu documentation; see that file's header).
# nvidia.tsv: NVIDIA (10de) devices whose pci.ids name starts with a chip name of the
# Maxwell-to-Blackwell families (GM, GP, GV, TU, GA, AD, GH, GB + three digits), audio, USB
# and other non-GPU functions left out: `device<TAB>chip<TAB>pci.ids name`.
# Downloads go to $HCL_CHIPS_CACHE (default ~/.cache/hcl-probe/chips).
set -euo pipefail

out="$(cd "$(dirname "$0")" && pwd)"
cache="${HCL_CHIPS_CACHE:-$HOME/.cache/hcl-probe/chips}"
mirror="${HCL_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
keyring=/usr/share/keyrings/debian-archive-keyring.gpg

mkdir -p "$cache/lists/partial" "$cache/archives/partial"
echo "deb [signed-by=$keyring] $mirror sid main" >"$cache/sources.list"
apt_opts=(
  -o "Dir::Etc::SourceList=$cache/sources.list"
  -o "Dir::Etc::SourceParts=/dev/null"
  -o "Dir::State::Lists=$cache/lists"
  -o "Dir::Cache=$cache"
  -o "APT::Sandbox::User=root"
)
apt-get "${apt_opts[@]}" -qq update
cd "$cache"
rm -f pci.ids_*.deb
apt-get "${apt_opts[@]}" -q download pci.ids
deb=$(ls pci.ids_*.deb | head -1)
version=$(dpkg-deb -f "$deb" Version)
ids=$(dpkg-deb --fsys-tarfile "$deb" | tar -xO ./usr/share/misc/pci.ids)

{
  printf '# From pci.ids of Debian package pci.ids %s (sid); made by data/chips/regenerate.sh.\n' "$version"
  printf '#device\tchip\tname\n'
  awk '
    /^10de/ { nv = 1; next }
    /^[0-9a-f]/ { nv = 0 }
    nv && /^\t[0-9a-f][0-9a-f][0-9a-f][0-9a-f]  / {
      id = substr($0, 2, 4); name = substr($0, 8)
      if (name ~ /Audio|USB|UCSI|[Bb]ridge|NVSwitch|Serial|SMBus|PCIe host/) next
      if (match(name, /^(GM|GP|GV|TU|GA|AD|GH|GB)[0-9][0-9][0-9]/)) {
        chip = substr(name, 1, 5)
        if (substr(name, 6, 1) ~ /[0-9]/) next
        printf "%s\t%s\t%s\n", id, chip, name
      }
    }' <<<"$ids" | LC_ALL=C sort
} >"$out/nvidia.tsv"
echo "regenerate.sh: $(grep -vc '^#' "$out/nvidia.tsv") NVIDIA devices (pci.ids $version)"

echo "amdgpu-gc.tsv rows against pci.ids $version:"
grep -v '^#' "$out/amdgpu-gc.tsv" | while IFS=$'\t' read -r dev _ _ name _; do
  have=$(awk -v d="$dev" '/^1002/{a=1;next} /^[0-9a-f]/{a=0} a && substr($0,2,4)==d {print substr($0,8); exit}' <<<"$ids")
  [ "$have" = "$name" ] && mark=ok || mark=DIFFERS
  printf '  %s %-7s %s\n' "$dev" "$mark" "${have:-(absent)}"
done
