"""Print the path of a CPU build of a pinned torch wheel among pip's find-links, if any.

    python scripts/find_cpu_wheel.py torch==2.13.0     # exit 0 and the path, or exit 1

Used by ``scripts/setup.sh`` on machines without an NVIDIA GPU: machines whose pip is
configured with a local wheel directory (``PIP_FIND_LINKS`` or ``find-links`` in
pip.conf, as on this project's CI machines) install that wheel instead of reaching for
an index. A wheel counts as a CPU build when its metadata requires no ``nvidia-*`` or
``triton`` package. Only the wheels' metadata is read (cheap, no network).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

CUDA_REQUIREMENT = re.compile(r"^Requires-Dist: *(nvidia-|triton)", re.M | re.I)


def find_links_dirs(env: dict[str, str] | None = None, pip_config: str | None = None
                    ) -> list[Path]:
    """The local directories pip's configuration lists as find-links."""
    env = dict(os.environ) if env is None else env
    values = env.get("PIP_FIND_LINKS", "").split()
    if pip_config is None:
        pip_config = subprocess.run([sys.executable, "-m", "pip", "config", "list"],
                                    capture_output=True, text=True).stdout
    for line in pip_config.splitlines():
        key, _, value = line.partition("=")
        if key.strip().endswith("find-links"):
            values += value.strip().strip("'\"").split()
    out: list[Path] = []
    for v in values:
        if v.startswith(("http://", "https://")):
            continue  # remote: not "already provided locally"
        p = Path(v.removeprefix("file://"))
        if p.is_dir() and p not in out:
            out.append(p)
    return out


def is_cpu_wheel(path: Path) -> bool:
    """True when the wheel's METADATA requires no CUDA package."""
    try:
        with zipfile.ZipFile(path) as z:
            meta = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
            text = z.read(meta).decode("utf-8", "replace")
    except (OSError, StopIteration, zipfile.BadZipFile):
        return False
    return CUDA_REQUIREMENT.search(text) is None


def find_cpu_wheel(pin: str, dirs: list[Path]) -> Path | None:
    """A CPU wheel of ``pin`` (``torch==X`` or ``torch``) in ``dirs``, newest name first."""
    name, _, version = pin.partition("==")
    name = name.strip().lower().replace("-", "_")
    for d in dirs:
        for whl in sorted(d.glob(f"{name}-*.whl"), reverse=True):
            wver = whl.name.split("-")[1]
            if version and wver.split("+")[0] != version.strip():
                continue
            if is_cpu_wheel(whl):
                return whl
    return None


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: find_cpu_wheel.py torch==VERSION", file=sys.stderr)
        return 2
    wheel = find_cpu_wheel(argv[0], find_links_dirs())
    if wheel is None:
        return 1
    print(wheel)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
