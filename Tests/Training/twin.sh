#!/usr/bin/env bash
# The virtual-twin acceptance, measured on every `make test` (release build). Characterise a
# virtual board with soft-bounds devices whose device-to-device draws and stuck cells come from a
# seed the fitting never sees (it sees only what the board client measures), fit a profile, then
# train 64-32-10 on the digits for 10 epochs with the meter on, on the original and on the twin
# (three runs each, below).
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
# A board's accuracy and update energy vary from one training seed to the next (about ±2 points and
# ±10 % here), and a twin's from one draw of its devices to the next: each side is the mean of three
# runs — the original with training seeds 1–3, the twin with board seeds 1–3 (training seed 1).
for s in 1 2 3; do
  "$bin" train --board "$original" --meter sim --epochs 10 --seed "$s" --json 2>/dev/null >"original-$s.json"
  "$bin" train --board "sim:?device=profile:twin&adc-range=0.05&seed=$s" --meter sim --epochs 10 --json 2>/dev/null >"twin-$s.json"
done
python3 - <<'PY'
import json, sys
def load(side):
    runs = [json.load(open('%s-%d.json' % (side, s))) for s in (1, 2, 3)]
    acc = sum(r['epochs'][-1]['testAccuracy'] for r in runs) / 3
    energy = {}
    for r in runs:
        for p in r['measured']['phases']:
            energy[p['name']] = energy.get(p['name'], 0) + p['joules'] / 3
    return acc, energy, [r['epochs'][-1]['testAccuracy'] for r in runs]
acc_a, pa, each_a = load('original'); acc_b, pb, each_b = load('twin')
ok = True
d = abs(acc_a - acc_b) * 100
print('twin: mean test accuracy original %.1f %% %s, twin %.1f %% %s, difference %.1f points (bound 3)' % (
    acc_a * 100, [round(x * 100, 1) for x in each_a], acc_b * 100, [round(x * 100, 1) for x in each_b], d))
ok &= d <= 3
for name in ['free', 'nudged', 'update', 'readout']:
    r = pb[name] / pa[name] - 1
    print('twin: %-8s mean energy original %.4g J, twin %.4g J, %+.1f %% (bound 10 %%)' % (name, pa[name], pb[name], r * 100))
    ok &= abs(r) <= 0.10
sys.exit(0 if ok else 1)
PY
