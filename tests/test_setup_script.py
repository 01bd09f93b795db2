"""scripts/setup.sh's choice of torch build: a local CPU wheel that pip's configuration
provides is found (and a CUDA wheel or another version is not), and a CPU-only machine
never falls through to pip's default (CUDA) build without checking."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def fcw():
    spec = importlib.util.spec_from_file_location("find_cpu_wheel",
                                                  ROOT / "scripts" / "find_cpu_wheel.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


def wheel(d: Path, version: str, requires: list[str]) -> Path:
    path = d / f"torch-{version}-cp311-cp311-manylinux_2_28_x86_64.whl"
    meta = "Metadata-Version: 2.1\nName: torch\nVersion: {}\n{}\n".format(
        version, "".join(f"Requires-Dist: {r}\n" for r in requires))
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(f"torch-{version.split('+')[0]}.dist-info/METADATA", meta)
    return path


def test_cpu_wheel_of_the_pin_is_found(fcw, tmp_path: Path) -> None:
    cuda = wheel(tmp_path, "2.13.0",
                 ["filelock", 'nvidia-cublas-cu12==12.8; platform_system == "Linux"'])
    cpu = wheel(tmp_path, "2.13.0+cpu", ["filelock", "sympy>=1.13"])
    wheel(tmp_path, "2.12.0+cpu", ["filelock"])
    assert not fcw.is_cpu_wheel(cuda) and fcw.is_cpu_wheel(cpu)
    assert fcw.find_cpu_wheel("torch==2.13.0", [tmp_path]) == cpu
    assert fcw.find_cpu_wheel("torch==2.11.0", [tmp_path]) is None
    cpu.unlink()
    assert fcw.find_cpu_wheel("torch==2.13.0", [tmp_path]) is None  # only CUDA left


def test_triton_marks_a_cuda_build(fcw, tmp_path: Path) -> None:
    w = wheel(tmp_path, "2.13.0", ["triton==3.4.0"])
    assert not fcw.is_cpu_wheel(w)
    (tmp_path / "torch-2.13.0-broken.whl").write_bytes(b"not a zip")
    assert fcw.find_cpu_wheel("torch==2.13.0", [tmp_path]) is None


def test_find_links_from_env_and_pip_config(fcw, tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    conf = f"global.find-links='{b}'\n:env:.find-links='{a}'\nglobal.index-url='https://x'\n"
    dirs = fcw.find_links_dirs({"PIP_FIND_LINKS": f"{a} https://remote/wheels"}, conf)
    assert dirs == [a, b]  # remote links and missing folders are not local wheels


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_setup_script_never_installs_cuda_silently() -> None:
    """The CPU-only branch of setup.sh tries the local wheel, then PyTorch's CPU index,
    and installs pip's default build only after checking it resolves to no CUDA."""
    text = (ROOT / "scripts" / "setup.sh").read_text()
    assert subprocess.run(["bash", "-n", str(ROOT / "scripts" / "setup.sh")]).returncode == 0
    branch = text[text.index('say "no NVIDIA GPU'):text.index("exit 1\n}")]
    order = [branch.index(s) for s in ("local_cpu_wheel", "$CPU_INDEX", "resolves_to_cuda")]
    assert order == sorted(order)
    default_installs = [line for line in branch.splitlines()
                        if line.strip() == 'pip install "$TORCH"']
    assert len(default_installs) == 1
    assert branch.index('if [ "$rc" = 1 ]') < branch.index('pip install "$TORCH"')
    assert "--quiet" not in text.replace("--quiet --report", "")  # progress is shown
