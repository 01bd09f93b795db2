"""Datasets (MNIST, Fashion-MNIST, CIFAR-10): catalogue, loaders, batching and fetching.

* :func:`load_dataset` -> :class:`ImageDataset` (float32 [N, C, H, W], int64 [N]).
* :func:`make_loaders` -> (train, test) :class:`TensorBatches` yielding (x, y) batches.
* :func:`bplight.data.fetch.fetch` downloads / copies a dataset into ``<root>/<name>/``;
  :func:`add_data_parser` registers the ``bplight data`` CLI subcommand. (``fetch`` is
  deliberately not re-exported here, so that ``bplight.data.fetch`` stays the module.)
"""

from __future__ import annotations

from bplight.data.datasets import (
    ImageDataset,
    TensorBatches,
    extract_cifar_archive,
    load_dataset,
    locate_dataset,
    make_loaders,
    read_cifar_batch,
    read_idx,
)
from bplight.data.fetch import SOURCES, add_data_parser
from bplight.data.sources import (
    DATASET_NAMES,
    DATASETS,
    ChecksumError,
    DataError,
    DatasetFormatError,
    DatasetNotFoundError,
    DatasetSpec,
    RemoteFile,
    UnknownDatasetError,
    canonical_name,
    dataset_dir,
    dataset_info,
    resolve_root,
)

__all__ = [
    "DATASETS",
    "DATASET_NAMES",
    "SOURCES",
    "ChecksumError",
    "DataError",
    "DatasetFormatError",
    "DatasetNotFoundError",
    "DatasetSpec",
    "ImageDataset",
    "RemoteFile",
    "TensorBatches",
    "UnknownDatasetError",
    "add_data_parser",
    "canonical_name",
    "dataset_dir",
    "dataset_info",
    "extract_cifar_archive",
    "load_dataset",
    "locate_dataset",
    "make_loaders",
    "read_cifar_batch",
    "read_idx",
    "resolve_root",
]
