#!/usr/bin/env bash
# Cross-compiles the firmware sources (units, wire protocol, engine) for a Cortex-M4
# (armv7em-none-none-eabi) with Embedded Swift, so they stay in the subset that runs on the MCU:
# no Foundation, no existentials, typed throws, specialised generics.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-"${TMPDIR:-/tmp}/landauer-firmware-armv7em.o"}
swiftc -target armv7em-none-none-eabi -enable-experimental-feature Embedded -wmo -parse-as-library -Osize \
  -Xcc -fno-stack-protector -Xfrontend -function-sections -module-name LandauerFirmware \
  -c $(find "$here/LandauerFirmware" -name '*.swift' | sort) -o "$out"
echo "embedded: $(wc -c < "$out") bytes of armv7em object code in $out"
