"""Third-party PPK2 host software (the `ppk2-api` package) against the virtual PPK2 of
`landauer sim bench` on its pseudo-terminal: metadata, regulator, DUT power, streaming, currents."""
import sys
import time
from ppk2_api.ppk2_api import PPK2_API

ppk2 = PPK2_API(sys.argv[1], timeout=1, write_timeout=1, exclusive=True)
ppk2.get_modifiers()
assert ppk2.modifiers["Calibrated"] is not None, ppk2.modifiers
ppk2.use_source_meter()
ppk2.set_source_voltage(3300)
ppk2.toggle_DUT_power("ON")
ppk2.start_measuring()
samples = []
deadline = time.time() + 1.5
while time.time() < deadline:
    data = ppk2.get_data()
    if data != b"":
        s, _digital = ppk2.get_samples(data)
        samples += s
    time.sleep(0.002)
ppk2.stop_measuring()
assert len(samples) > 20_000, len(samples)  # 100 kS/s for 1.5 s; a Python reader keeps up with part of it
mean_uA = sum(samples) / len(samples)
# The reference board idles at about (10 mW + 1.5 mW) / 3.3 V ≈ 3485 µA; the meter adds its own few-% errors.
assert 3000 < mean_uA < 4000, mean_uA
print(f"ppk2-api: {len(samples)} samples, mean {mean_uA:.1f} µA")
print("ppk2-api: 1 passed, 0 failed")
