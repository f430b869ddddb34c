#!/usr/bin/env bash
# Benchmark of the observation stick: build time and image size (`hcl-probe stick build`), then
# power-on to power-off in QEMU (q35, OVMF, TCG) and, per kernel, the seconds from kernel start
# to its report (what `hcl-probe stick results` prints). Same kernels and machine as the test
# tests/tests/stick_qemu.rs. Needs the cached packages (kernels/tests/fetch-debian-packages.sh),
# qemu-system-x86 and ovmf. Usage: probe/benches/stick.sh [WORKDIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
work="${1:-$(mktemp -d)}"
D="${HCL_DEB_CACHE:-$HOME/.cache/hcl-probe/debs}"
RUSTFLAGS='-C target-feature=+crt-static' CARGO_TARGET_DIR=target/stick-init \
  cargo build -q --locked -p hcl-probe --no-default-features --profile stick-init --target x86_64-unknown-linux-gnu
cargo build -q --locked --release -p hcl-probe
init=target/stick-init/x86_64-unknown-linux-gnu/stick-init/hcl-probe
rm -f "$work/stick.img"
start=$(date +%s.%N)
target/release/hcl-probe stick build --out "$work/stick.img" \
  --kernel "$D/linux-image-6.1.0-50-amd64_6.1.176-1_amd64.deb" \
  --kernel "$D/linux-binary-7.3.4+deb13-amd64_7.3.4-1~bpo13+1_amd64.deb,$D/linux-modules-7.3.4+deb13-amd64_7.3.4-1~bpo13+1_amd64.deb,$D/linux-base-7.3.4+deb13-amd64_7.3.4-1~bpo13+1_amd64.deb" \
  --loader "$D/systemd-boot-efi_252.39-1~deb12u2_amd64.deb" --init "$init" --append console=ttyS0,115200
echo "build: $(echo "$(date +%s.%N) - $start" | bc) s wall; image $(du -m --apparent-size "$work/stick.img" | cut -f1) MiB"
cp /usr/share/OVMF/OVMF_VARS_4M.fd "$work/vars.fd"
truncate -s 32M "$work/disk.img"
start=$(date +%s.%N)
qemu-system-x86_64 -machine q35 -accel tcg -m 2048 -smp 2 -nodefaults -no-user-config -display none \
  -serial "file:$work/serial.log" \
  -drive if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd \
  -drive "if=pflash,format=raw,unit=1,file=$work/vars.fd" \
  -device qemu-xhci,id=xhci -drive "if=none,id=stick,format=raw,file=$work/stick.img" \
  -device usb-storage,bus=xhci.0,drive=stick -device usb-kbd,bus=xhci.0 -device usb-tablet,bus=xhci.0 \
  -netdev user,id=n0,restrict=on -device e1000e,netdev=n0 \
  -drive "if=none,id=disk,format=raw,file=$work/disk.img" -device ide-hd,drive=disk,bus=ide.0 \
  -audiodev none,id=snd0 -device intel-hda -device hda-duplex,audiodev=snd0
echo "power-on to power-off (both kernels): $(echo "$(date +%s.%N) - $start" | bc) s"
target/release/hcl-probe stick results "$work/stick.img" | grep -E '^  0[0-9] .*devices:' | sed -E 's/^  (..) ([^ ]+) .*\(report ([0-9.]+) s after kernel start\)/kernel \1 \2: report \3 s after kernel start/'
