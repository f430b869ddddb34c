#!/usr/bin/env bash
# Makes data/derive-fixture/linux-6.12.117-subset.tar.xz, the small real tree the derive test
# (kernels/tests/integration/derive.rs) runs on: seven real driver sources of Debian's 6.12.117
# with every header they include (from the compiler's dependency files), the generated headers
# of the configured build, the real scripts/mod sources, and the `make -n` lines of those
# objects. Run it on a finished `hcl-kernels derive` build directory of Debian's linux-source-6.12
# 6.12.117-1 with Debian's config-6.12.117+deb13-amd64:
#   kernels/tests/make-derive-fixture.sh ~/.cache/hcl-probe/derive/builds/6.12.117-<key> \
#       data/kernel-data data/derive-fixture/linux-6.12.117-subset.tar.xz
# (the second argument: a folder holding debian-trixie-6.12.117-1/ and debian-bookworm-6.1.176-1/
# with their modules.alias, plain or .xz)
set -euo pipefail

build=$(readlink -f "$1")
kernel_data=$(readlink -f "$2")
out=$3
src=$(readlink -f "$build/source")

# A modules.alias, plain or xz-compressed as in data/kernel-data.
aliases() { if [ -f "$1" ]; then cat "$1"; else xz -dc "$1.xz"; fi; }

# pci class and id tables (ahci), a composite module whose file names differ from the module's
# (sdhci-pci-core.o in sdhci_pci; its sdhci-pci-o2micro.o holds no table and must not be
# compiled), usb interface classes and a '-' in the file name (cdc-acm), a table in an
# #included .c (uhci-hcd.c includes uhci-pci.c), a built-in driver (virtio_pci, =y in Debian's
# 6.12 config), and an object whose tables are of other buses only (i2c-designware-platdrv:
# acpi and of), which must not be compiled either.
objects=(
  drivers/ata/ahci.o
  drivers/mmc/host/sdhci-pci-core.o
  drivers/mmc/host/sdhci-pci-o2micro.o
  drivers/usb/class/cdc-acm.o
  drivers/usb/host/uhci-hcd.o
  drivers/virtio/virtio_pci_common.o
  drivers/i2c/busses/i2c-designware-platdrv.o
)

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
top=$stage/linux-6.12.117-subset
mkdir -p "$top/src" "$top/build"

copy_src() { mkdir -p "$top/src/$(dirname "$1")" && cp -p "$src/$1" "$top/src/$1"; }
copy_build() { mkdir -p "$top/build/$(dirname "$1")" && cp -p "$build/$1" "$top/build/$1"; }

zstdcat "$build/.hcl-derive/listing.txt.zst" > "$stage/listing-full.txt"
: > "$top/listing.txt"
for o in "${objects[@]}"; do
  grep -F -- "-c -o $o " "$stage/listing-full.txt" | head -1 >> "$top/listing.txt"
  dep="$build/$(dirname "$o")/.$(basename "$o").d"
  if [ ! -f "$dep" ]; then
    # Objects the derivation did not compile have no dependency file: compile one here.
    cmd=$(grep -F -- "-c -o $o " "$stage/listing-full.txt" | head -1 | sed 's/.*; \(gcc [^;]* -c -o [^;]*\);.*/\1/')
    (cd "$build" && sh -c "$cmd")
  fi
  sed -e 's/^[^:]*://' -e 's/\\$//' "$dep" | tr ' ' '\n' | grep -v '^$' | while read -r f; do
    case "$f" in
      "$src"/*) copy_src "${f#"$src"/}" ;;
      /*) ;;  # the compiler's own headers
      *) copy_build "$f" ;;
    esac
  done
done
sed -i -e "s|$src|@SRCTREE@|g" -e "s|$build|@OBJTREE@|g" "$top/listing.txt"

copy_src Makefile
# modpost's sources and every header they include (the host compiler's own list).
copy_src scripts/mod/Makefile
for f in modpost file2alias sumversion symsearch; do
  gcc -MM -I "$build/scripts/mod" -I "$src/scripts/include" "$src/scripts/mod/$f.c"
done | sed -e 's/^[^:]*://' -e 's/\\$//' | tr ' ' '\n' | grep -v '^$' | sort -u | while read -r f; do
  f=$(readlink -f "$f")
  case "$f" in "$src"/*) copy_src "${f#"$src"/}" ;; esac
done
copy_build scripts/mod/devicetable-offsets.h
copy_build scripts/mod/elfconfig.h

# Known-good lines: Debian's real modules.alias of 6.12.117 for the modules; virtio_pci is
# built in there (no line), so its line comes from Debian 12's 6.1, where it is a module.
mkdir -p "$top/expected"
aliases "$kernel_data/debian-trixie-6.12.117-1/modules.alias" | grep -E ' (ahci|sdhci_pci|cdc_acm|uhci_hcd)$' |
  grep -E '^alias (pci|usb):' > "$top/expected/modules.alias"
aliases "$kernel_data/debian-bookworm-6.1.176-1/modules.alias" | grep -E ' virtio_pci$' |
  grep -E '^alias (pci|usb):' > "$top/expected/builtin.alias"

cat > "$top/SOURCE.txt" <<EOF
A subset of Debian's linux-source-6.12 6.12.117-1 (linux-source-6.12_6.12.117-1_all.deb,
sha256 9141325315c7f1eca682113d185a8c77c82814aa6e32f7e127e61d6106403835) configured with
Debian's config-6.12.117+deb13-amd64 by \`hcl-kernels derive\` (gcc 12.2.0, Debian 12):
src/: the driver sources of listing.txt and every file they include (from gcc's dependency
files), the top Makefile, scripts/mod and scripts/include; build/: the generated headers of the
build directory; listing.txt: their lines of \`make -n vmlinux_o modules\`, with
the source and build paths written @SRCTREE@ and @OBJTREE@.
expected/modules.alias: the pci/usb lines of ahci, sdhci_pci, cdc_acm and uhci_hcd in Debian's real
modules.alias of 6.12.117 (kernel-data/debian-trixie-6.12.117-1); expected/builtin.alias:
virtio_pci's line in Debian 12's 6.1.176 modules.alias (a module there, built in on 6.12).
Made by kernels/tests/make-derive-fixture.sh.
EOF

mkdir -p "$(dirname "$out")"
tar -C "$stage" --owner=0 --group=0 --numeric-owner --sort=name --mtime=2026-01-01 \
  -cf - linux-6.12.117-subset | xz -9e > "$out"
echo "$out: $(du -h "$out" | cut -f1), $(find "$top" -type f | wc -l) files"
