"""Bank spectra, read margin and the largest vector a bank supports (issue 9), API and
``bplight hardware show --spectra`` / ``bplight hardware max-vector``."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bplight.cli import main
from bplight.config import load_spec
from bplight.devices import microring as mr
from bplight.photonics.crosstalk import bank_leak, bank_model
from bplight.photonics.scaling import bank_spectra, max_vector_size, read_margin

ADD_DROP = ["photonics.ring_model=add_drop"]


def test_spectra_at_the_carriers() -> None:
    spec = load_spec("bplight-16b", ADD_DROP)
    sp = bank_spectra(spec, points=20001)
    bank = bank_model(spec)
    assert np.all(sp.through + sp.drop <= 1.0 + 1e-12)  # passive
    for i in (0, 3):  # digit +1 rings sit on their carriers
        j = int(np.argmin(np.abs(sp.wavelength_m - sp.carriers_m[i])))
        assert sp.digits[i] == 1
        assert sp.drop[j] == pytest.approx(float(mr.drop_transmission(0.0, bank.r1, bank.r2,
                                                                      bank.a)), rel=0.05)
        assert sp.through[j] < 0.05
    np.testing.assert_allclose(sp.resonances_m - sp.carriers_m,
                               bank.detuning_m[sp.digits + 1])
    with pytest.raises(ValueError, match="digits must be 16 integers"):
        bank_spectra(spec, digits=np.zeros(3))


def test_read_margin_and_max_vector() -> None:
    ideal = load_spec("bplight-16b")
    assert read_margin(ideal) == 0.5
    res = max_vector_size(ideal)
    assert res.wavelengths == 18 and "FSR" in res.limit  # 18 nm FSR at 1 nm spacing
    ring = load_spec("bplight-16b", ADD_DROP)
    st = bank_leak(ring)
    assert read_margin(ring) == pytest.approx(0.5 - st.mean - 3 * st.std)
    res = max_vector_size(ring)
    # the leak narrows each read's noise margin: the link budget hits the RIN cap at
    # 9 carriers (before the leak alone, at 12, would)
    assert res.wavelengths == 8 and "RIN" in res.limit
    margins = [r["read_margin"] for r in res.rows]
    assert all(a > b for a, b in zip(margins, margins[1:], strict=False))
    assert all(r["feasible"] for r in res.rows[:-1]) and not res.rows[-1]["feasible"]
    # 2-b passes at 5 GS/s: the RIN cap stops the exact reads early
    two = max_vector_size(load_spec("bplight-16b", ["forward.dac_bits=2",
                                                    "forward.ring_bits=2"]))
    assert two.wavelengths < 18 and "RIN" in two.limit


def test_cli_spectra_and_max_vector(tmp_path, capsys) -> None:
    png = tmp_path / "spectra.png"
    assert main(["hardware", "show", "--spectra", "-o", str(png), "--set",
                 "photonics.ring_model=add_drop"]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    out = capsys.readouterr().out
    assert "resonance" in out and "+314 pm" in out
    assert main(["hardware", "max-vector", "--bits", "2", "--rate", "1e9", "--json"]) == 0
    info = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert info["dac_bits"] == 2 and info["rate_hz"] == 1e9
    assert info["max_wavelengths"] == len(info["rows"]) - ("FSR" not in info["limit"])


def test_hardware_show_ring_block(capsys) -> None:
    assert main(["hardware", "show", "--json"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["ring"] is None
    assert main(["hardware", "show", "--json", "--set", "photonics.ring_model=add_drop"]) == 0
    ring = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["ring"]
    spec = load_spec("bplight-16b", ADD_DROP)
    assert ring["gain"] == pytest.approx(bank_model(spec).gain)
    assert ring["read_margin"] == pytest.approx(read_margin(spec))
    assert ring["tuning"]["load_latency_s"] == spec.photonics.ring_thermal_time_constant_s
