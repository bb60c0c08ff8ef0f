#!/usr/bin/env bash
# Builds the STM32F405 firmware images with Embedded Swift, one command, no network:
#
#   landauer-virtual  the port on the integer model front end (Virtual/): what QEMU's
#                     netduinoplus2 machine boots in CI (Tests/LandauerDriversTests/QEMUBoard*.swift)
#   landauer-virtual-step  the same with constant-step model devices (seeded device-to-device steps)
#   landauer-board    the port on the reference board's converters and switches (Board/): for a
#                     real STM32F405VG board; it cannot run in QEMU, but it is built every time
#
# Each image is one whole-module Swift compilation (the engine sources from ../LandauerFirmware,
# the port from Port/, and Virtual/ or Board/), two small C files (Startup/: vectors, reset,
# memcpy/memset), linked by the toolchain's ld.lld with the linker script STM32F405.ld and
# libgcc's soft-float and 64-bit division helpers. Nothing else is linked.
#
# Needs: the Swift 6 toolchain (swiftc, clang, ld.lld, llvm-objcopy), and the Debian packages
# gcc-arm-none-eabi (libgcc.a) and binutils-arm-none-eabi (arm-none-eabi-size).
#
# Usage: Firmware/STM32/build.sh [--if-stale] [virtual|virtual-step|board ...]
#   --if-stale   rebuild an image only when a source is newer than it (used by the QEMU test)
#   Output in Firmware/STM32/.build/ (override with LANDAUER_FIRMWARE_OUT): NAME.elf, NAME.bin,
#   NAME.map. Prints text/data/bss and the size of each .bin.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
firmware=$(cd "$here/.." && pwd)
out=${LANDAUER_FIRMWARE_OUT:-"$here/.build"}
mkdir -p "$out"

if_stale=0
images=()
for arg in "$@"; do
  case "$arg" in
    --if-stale) if_stale=1 ;;
    virtual|virtual-step|board) images+=("$arg") ;;
    *) echo "usage: $0 [--if-stale] [virtual|virtual-step|board ...]" >&2; exit 2 ;;
  esac
done
[ ${#images[@]} -gt 0 ] || images=(virtual virtual-step board)

swiftc_bin=$(command -v swiftc) || { echo "error: swiftc is not on PATH (install Swift 6 from swift.org)" >&2; exit 1; }
toolchain=$(dirname "$(readlink -f "$swiftc_bin")")
clang="$toolchain/clang"
lld="$toolchain/ld.lld"
objcopy="$toolchain/llvm-objcopy"
for tool in "$clang" "$lld" "$objcopy"; do
  [ -x "$tool" ] || { echo "error: $tool is missing from the Swift toolchain" >&2; exit 1; }
done
command -v arm-none-eabi-gcc >/dev/null && command -v arm-none-eabi-size >/dev/null || {
  echo "error: arm-none-eabi-gcc / arm-none-eabi-size missing: apt-get install gcc-arm-none-eabi binutils-arm-none-eabi" >&2
  exit 1
}
# libgcc for the core's ABI: Thumb-2, VFPv4-SP available, base (soft-float) calling convention,
# which is what Swift's armv7em-none-none-eabi target uses.
libgcc=$(arm-none-eabi-gcc -mthumb -march=armv7e-m+fp -mfloat-abi=softfp -print-libgcc-file-name)
[ -f "$libgcc" ] || { echo "error: libgcc.a not found ($libgcc)" >&2; exit 1; }

# Sources in a fixed order (the build is reproducible: same sources, same bytes).
sources() { find "$@" -name '*.swift' | LC_ALL=C sort; }

swift_flags=(
  -target armv7em-none-none-eabi -enable-experimental-feature Embedded
  -enable-experimental-feature Extern -swift-version 6
  -wmo -parse-as-library -Osize -Xfrontend -disable-stack-protector
  -Xfrontend -function-sections -Xcc -fno-stack-protector
  -file-prefix-map "$firmware=Firmware"
)
c_flags=(
  --target=armv7em-none-eabi -mcpu=cortex-m4 -mthumb -mfloat-abi=softfp -mfpu=fpv4-sp-d16
  -Os -std=c11 -ffreestanding -fno-builtin -fno-stack-protector -ffunction-sections -fdata-sections
  -Wall -Wextra -Werror -ffile-prefix-map="$firmware=Firmware"
)

build_image() {
  local name=$1 defines=$2; shift 2
  local elf="$out/$name.elf" bin="$out/$name.bin"
  local swift_sources
  swift_sources=$(sources "$firmware/LandauerFirmware" "$here/Port" "$@")
  if [ "$if_stale" = 1 ] && [ -f "$elf" ] && [ -f "$bin" ] \
    && [ -z "$(find "$firmware/LandauerFirmware" "$here" -newer "$elf" -type f \( -name '*.swift' -o -name '*.c' -o -name '*.ld' -o -name build.sh \) -not -path "$out/*" | head -1)" ]; then
    echo "$name: up to date ($elf)"
  else
    local work="$out/$name.work"
    rm -rf "$work"
    mkdir -p "$work"
    # shellcheck disable=SC2086
    swiftc "${swift_flags[@]}" $defines -module-name Landauer -c $swift_sources -o "$work/swift.o"
    "$clang" "${c_flags[@]}" -c "$here/Startup/startup.c" -o "$work/startup.o"
    "$clang" "${c_flags[@]}" -c "$here/Startup/runtime.c" -o "$work/runtime.o"
    "$lld" -T "$here/STM32F405.ld" --gc-sections --no-undefined --strip-debug --build-id=none \
      -Map "$out/$name.map" -o "$elf" \
      "$work/startup.o" "$work/runtime.o" "$work/swift.o" "$libgcc"
    "$objcopy" -O binary "$elf" "$bin"
    rm -rf "$work"
  fi
  arm-none-eabi-size -A "$elf" >/dev/null  # a readable ELF, or fail here
  local sizes
  sizes=$(arm-none-eabi-size -B "$elf" | awk 'NR == 2 { printf "text %d B, data %d B, bss %d B", $1, $2, $3 }')
  echo "$name: $sizes; $(wc -c < "$bin" | tr -d ' ') B in $bin (flash at 0x08000000)"
}

for image in "${images[@]}"; do
  case "$image" in
    virtual) build_image landauer-virtual "" "$here/Virtual" ;;
    virtual-step) build_image landauer-virtual-step "-D LANDAUER_CONSTANT_STEP" "$here/Virtual" ;;
    board) build_image landauer-board "" "$here/Board" ;;
  esac
done
