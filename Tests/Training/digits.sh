#!/usr/bin/env bash
# The training acceptance, measured on every `make test`: 64-32-10 on the digits for 10 epochs with
# every default, built with -c release (a debug build trains ~100× slower), on the virtual board
# with ideal devices and no noise (≥ 95 % test accuracy after the 10th epoch) and with soft-bounds
# ReRAM-like devices, thermal and read noise and device-to-device variation (≥ 90 %).
# Prints each run's accuracy and speed; exits non-zero when a floor is missed.
set -euo pipefail
cd "$(dirname "$0")/../.."
swift build -c release --product landauer >/dev/null
check() { # board floor
  .build/release/landauer train --board "$1" --epochs 10 --json 2>/dev/null | python3 -c "
import json, sys
d = json.load(sys.stdin)
last = d['epochs'][-1]
acc = last['testAccuracy']
print('digits 64-32-10, 10 epochs, board %s: test accuracy %.1f %%, %d samples/s (floor %.0f %%)' % ('$1', acc * 100, last['samplesPerSecond'], $2 * 100))
sys.exit(0 if acc >= $2 else 1)
"
}
check 'sim:?profile=ideal&adc-range=0.05' 0.95
check 'sim:?device=soft-bounds&adc-range=0.05' 0.90
