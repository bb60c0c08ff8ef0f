"""Third-party SCPI client (pyvisa with the pyvisa-py backend) against the virtual analyzer of
`landauer sim bench`, over its raw TCP socket and over its pseudo-terminal."""
import sys
import pyvisa

tcp_address, pty_path = sys.argv[1], sys.argv[2]
host, port = tcp_address.rsplit(":", 1)
rm = pyvisa.ResourceManager("@py")
passed = 0
for resource in (f"TCPIP0::{host}::{port}::SOCKET", f"ASRL{pty_path}::INSTR"):
    inst = rm.open_resource(resource, read_termination="\n", write_termination="\n", timeout=5000)
    inst.write("*RST;*CLS")  # one instrument behind both ports: start from its power-on settings
    idn = inst.query("*IDN?").strip()
    assert idn.startswith("Keysight Technologies,N6705C,"), idn
    inst.write("NOT:A:COMMAND")
    err = inst.query("SYST:ERR?").strip()
    assert err.startswith("-113,"), err
    assert inst.query("SYST:ERR?").strip() == '0,"No error"'
    for c in ("SENS:SWE:POIN 50,(@1)", "SENS:SWE:TINT 20E-6,(@1)", "TRIG:ACQ:SOUR IMM,(@1)", "INIT:ACQ (@1)"):
        inst.write(c)
    currents = inst.query_ascii_values("FETC:ARR:CURR? (@1)")
    assert len(currents) == 50, len(currents)
    # The reference board idles at about (10 mW + 1.5 mW) / 3.3 V ≈ 3.5 mA.
    assert all(3.0e-3 < i < 4.0e-3 for i in currents), currents[:5]
    inst.write("FORM REAL")
    binary = inst.query_binary_values("FETC:ARR:CURR? (@1)", datatype="f", is_big_endian=True)
    assert len(binary) == 50
    assert inst.query("SYST:ERR?").strip() == '0,"No error"'
    inst.close()
    print(f"pyvisa {resource}: {idn}; {len(currents)} points, mean {sum(currents) / len(currents) * 1e3:.4f} mA")
    passed += 1
print(f"scpi-pyvisa: {passed} passed, 0 failed")
