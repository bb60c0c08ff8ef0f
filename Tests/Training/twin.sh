#!/usr/bin/env bash
# The virtual-twin acceptance (release build; NOT yet run by `make test`: on the default board the
# accuracy holds, 2.2 points, but the update energy misses by 10.1 % — the fit overestimates the
# cycle-to-cycle spread by about a quarter; issue 9). Characterise a
# virtual board with soft-bounds devices whose device-to-device draws and stuck cells come from a
# seed the fitting never sees (it sees only what the board client measures), fit a profile, then
# train 64-32-10 on the digits for 10 epochs with the meter on, on the original and on the twin.
# The twin must predict the original's test accuracy within 3 percentage points and its calibrated
# energy per phase within 10 %. Prints both runs' figures; exits non-zero when a bound is missed.
set -euo pipefail
cd "$(dirname "$0")/../.."
swift build -c release --product landauer >/dev/null
bin=$PWD/.build/release/landauer
ws=$(mktemp -d)
trap 'rm -rf "$ws"' EXIT
original="${TWIN_BOARD:-sim:?device=soft-bounds&seed=40961&stuck=0.02&adc-range=0.05}"
cd "$ws"
"$bin" characterize map --board "$original" --json >map.json
"$bin" characterize pulse --board "$original" --pulses-per-step 4 --json >pulse.json
pulse=$(python3 -c "import json; print(json.load(open('pulse.json'))['runId'])")
"$bin" fit "$pulse" --name twin --json >profile.json
"$bin" train --board "$original" --meter sim --epochs 10 --json 2>/dev/null >original.json
"$bin" train --board 'sim:?device=profile:twin&adc-range=0.05' --meter sim --epochs 10 --json 2>/dev/null >twin.json
python3 - <<'PY'
import json, sys
a = json.load(open('original.json')); b = json.load(open('twin.json'))
ok = True
acc_a, acc_b = a['epochs'][-1]['testAccuracy'], b['epochs'][-1]['testAccuracy']
d = abs(acc_a - acc_b) * 100
print('twin: test accuracy original %.1f %%, twin %.1f %%, difference %.1f points (bound 3)' % (acc_a * 100, acc_b * 100, d))
ok &= d <= 3
pa = {p['name']: p['joules'] for p in a['measured']['phases']}
pb = {p['name']: p['joules'] for p in b['measured']['phases']}
for name in ['free', 'nudged', 'update', 'readout']:
    r = pb[name] / pa[name] - 1
    print('twin: %-8s energy original %.4g J, twin %.4g J, %+.1f %% (bound 10 %%)' % (name, pa[name], pb[name], r * 100))
    ok &= abs(r) <= 0.10
sys.exit(0 if ok else 1)
PY
