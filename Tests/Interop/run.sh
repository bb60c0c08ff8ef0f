#!/usr/bin/env bash
# Third-party clients against `landauer sim bench`: pyvisa (SCPI over TCP and a pty) and the
# ppk2-api package (PPK2 over a pty). Installs them into a virtual environment under .build/.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
venv="$root/.build/interop-venv"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv" 2>/dev/null || {
    sudo=$([ "$(id -u)" = 0 ] || echo sudo)
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv >/dev/null
    python3 -m venv "$venv"
  }
fi
"$venv/bin/python" -c "import pyvisa, pyvisa_py, ppk2_api, serial" 2>/dev/null || \
  "$venv/bin/pip" install -q "pyvisa>=1.13" pyvisa-py pyserial ppk2-api
landauer=$(cd "$root" && swift build --show-bin-path)/landauer
out=$(mktemp)
"$landauer" sim bench --scpi n6705 > "$out" 2>&1 &
bench=$!
trap 'kill $bench 2>/dev/null || true; rm -f "$out"' EXIT
for _ in $(seq 100); do [ -s "$out" ] && break; sleep 0.1; done
endpoints=$(head -n 1 "$out")
field() { "$venv/bin/python" -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$endpoints" "$1"; }
"$venv/bin/python" "$root/Tests/Interop/scpi_pyvisa.py" "$(field scpi)" "$(field scpi_pty)"
"$venv/bin/python" "$root/Tests/Interop/ppk2_api_client.py" "$(field ppk2)"
echo "interop: 3 passed, 0 failed"
