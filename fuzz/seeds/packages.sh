#!/usr/bin/env bash
# Seeds of the `ko`, `deb` and `rpm` targets from real kernel packages: a few small real modules
# of Debian's kernels (plain, and compressed as Debian ships them or as other distros do), and
# tiny packages that dpkg-deb and rpmbuild make from those modules and slices of the real
# packages' text files (modules.builtin, modules.builtin.modinfo, modules.order, config).
# Needs the packages of kernels/tests/fetch-debian-packages.sh ($HCL_DEB_CACHE), dpkg-deb,
# rpmbuild, xz, zstd. Usage: fuzz/seeds/packages.sh OUT (writes OUT/{ko,deb,rpm}/).
set -euo pipefail
out=$(realpath -m "$1")
cache=${HCL_DEB_CACHE:-$HOME/.cache/hcl-probe/debs}
deb61=$cache/linux-image-6.1.0-50-amd64_6.1.176-1_amd64.deb
deb612=$cache/linux-image-6.12.117+deb13-amd64_6.12.117-1_amd64.deb
deb73=$cache/linux-modules-7.3.4+deb13-amd64_7.3.4-1~bpo13+1_amd64.deb
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$out/ko" "$out/deb" "$out/rpm"

v61=6.1.0-50-amd64
m61=./lib/modules/$v61
mods61="kernel/drivers/pci/pci-pf-stub.ko kernel/drivers/platform/x86/intel/intel-smartconnect.ko
  kernel/drivers/pwm/pwm-lpss-platform.ko kernel/drivers/usb/misc/isight_firmware.ko"
dpkg-deb --fsys-tarfile "$deb61" | tar -x -C "$work" \
  $(for m in $mods61; do echo "$m61/$m"; done) \
  "$m61/modules.builtin" "$m61/modules.builtin.modinfo" "$m61/modules.order" "./boot/config-$v61"
dpkg-deb --fsys-tarfile "$deb612" | tar -x -C "$work" \
  ./usr/lib/modules/6.12.117+deb13-amd64/kernel/drivers/pci/pci-pf-stub.ko.xz
dpkg-deb --fsys-tarfile "$deb73" | tar -x -C "$work" \
  ./usr/lib/modules/7.3.4+deb13-amd64/kernel/drivers/i2c/busses/i2c-ccgx-ucsi.ko.xz
l61=$work/lib/modules/$v61

# Modules: as shipped (6.1 plain, 6.12/7.3 xz), and zstd/gzip as other distros ship them.
for m in $mods61; do cp "$l61/$m" "$out/ko/debian-6.1-$(basename "$m")"; done
cp "$work"/usr/lib/modules/6.12*/kernel/drivers/pci/pci-pf-stub.ko.xz "$out/ko/debian-6.12-pci-pf-stub.ko.xz"
cp "$work"/usr/lib/modules/7.3*/kernel/drivers/i2c/busses/i2c-ccgx-ucsi.ko.xz "$out/ko/debian-7.3-i2c-ccgx-ucsi.ko.xz"
zstd -q -19 -c "$l61/kernel/drivers/pci/pci-pf-stub.ko" > "$out/ko/zstd-pci-pf-stub.ko.zst"
gzip -9 -n -c "$l61/kernel/drivers/pwm/pwm-lpss-platform.ko" > "$out/ko/gzip-pwm-lpss-platform.ko.gz"

# A tree of two modules and slices of the real text files.
tree=$work/tree
mkdir -p "$tree/lib/modules/$v61/kernel/drivers/pci" "$tree/lib/modules/$v61/kernel/drivers/usb/misc" \
  "$tree/boot" "$tree/lib/firmware" "$tree/DEBIAN"
cp "$l61/kernel/drivers/pci/pci-pf-stub.ko" "$tree/lib/modules/$v61/kernel/drivers/pci/"
cp "$l61/kernel/drivers/usb/misc/isight_firmware.ko" "$tree/lib/modules/$v61/kernel/drivers/usb/misc/"
head -n 12 "$l61/modules.builtin" > "$tree/lib/modules/$v61/modules.builtin"
# The first 40 NUL-terminated records of modules.builtin.modinfo.
python3 -c 'import sys; d=open(sys.argv[1],"rb").read().split(b"\0"); sys.stdout.buffer.write(b"\0".join(d[:40])+b"\0")' \
  "$l61/modules.builtin.modinfo" > "$tree/lib/modules/$v61/modules.builtin.modinfo"
printf 'kernel/drivers/usb/misc/isight_firmware.ko\nkernel/drivers/pci/pci-pf-stub.ko\n' \
  > "$tree/lib/modules/$v61/modules.order"
head -n 30 "$work/boot/config-$v61" > "$tree/boot/config-$v61"
printf 'fw' > "$tree/lib/firmware/isight.fw"
ln -s isight.fw "$tree/lib/firmware/isight-link.fw"
# The real package's control file, less the fields a small package cannot keep.
dpkg-deb -f "$deb61" Package Version Architecture Maintainer Description > "$tree/DEBIAN/control"
for z in xz gzip zstd none; do
  dpkg-deb --root-owner-group -Z"$z" --build "$tree" "$out/deb/dpkg-deb-6.1-$z.deb" >/dev/null
done

# rpms: the same modules under a RHEL-style version, xz and zstd payloads as rpmbuild writes.
if command -v rpmbuild >/dev/null; then
  v=5.14.0-570.el9.x86_64
  src=$work/rpmsrc
  mkdir -p "$src/lib/modules/$v/extra" "$src/lib/firmware"
  cp "$l61/kernel/drivers/pci/pci-pf-stub.ko" "$src/lib/modules/$v/extra/"
  xz -c "$l61/kernel/drivers/usb/misc/isight_firmware.ko" > "$src/lib/modules/$v/extra/isight_firmware.ko.xz"
  printf 'fw' > "$src/lib/firmware/isight.fw"
  for payload in w2.xzdio w19.zstdio; do
    top=$work/top-$payload
    cat > "$work/spec" <<SPEC
Name: kernel-modules-extra
Version: 5.14.0
Release: 570.el9
Summary: fuzz seed
License: GPL-2.0
AutoReqProv: no
%description
seed
%install
cp -a $src/. %{buildroot}/
%files
/lib/modules/$v/extra/pci-pf-stub.ko
/lib/modules/$v/extra/isight_firmware.ko.xz
/lib/firmware/isight.fw
SPEC
    rpmbuild -bb --quiet --define "_topdir $top" --define "_binary_payload $payload" \
      --define '__os_install_post %{nil}' --define '__spec_install_post %{nil}' \
      --define 'debug_package %{nil}' --define '_build_id_links none' "$work/spec" >/dev/null 2>&1
    cp "$top"/RPMS/*/*.rpm "$out/rpm/rpmbuild-$payload.rpm"
  done
fi
ls -la "$out"/ko "$out"/deb "$out"/rpm
