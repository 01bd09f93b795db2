"""Training on several processes (``torchrun``, DistributedDataParallel).

``torchrun --nproc-per-node N -m bplight train ...`` starts N ranks; :func:`init` joins
them into one process group (gloo on CPU, NCCL on CUDA; rank r uses ``cuda:LOCAL_RANK``).
What each rank holds:

* **the same model and the same memristor state.** Every rank builds the model from the
  same seed; DistributedDataParallel averages the gradients over the ranks before the
  optimizer step, so every rank asks for the same weights, and the memristor writer's
  generator is seeded identically on every rank, so every rank writes the same cells
  with the same programming noise: one array's writes, not one per replica.
* **its own analog read noise.** The numerical engine's generator of rank r is seeded
  with ``seed + r * RANK_SEED_STRIDE`` (rank 0 keeps the run's seed), so the read noise
  of the ranks is independent, as N chips (or N tiles) reading their own inputs.
* **its share of every batch.** A global batch of ``--batch-size`` images is split
  among the ranks (rank r takes images r, r+N, ...), so the run trains on the same
  global batches as a single process (a last batch of fewer images than ranks is
  skipped); the test set is split the same way and the counts are summed over the
  ranks.

BatchNorm running statistics (gathered by each rank on its share) are averaged over the
ranks at the end of every epoch. Rank 0 writes the run directory. Its checkpoints hold
every rank's generators (the numerical engine's and torch's, gathered from all ranks)
beside the shared writer's, so
``--resume`` continues each rank exactly; a run is resumed with the number of ranks it
was started with.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import torch
import torch.distributed as dist

from bplight.errors import InputError

RANK_SEED_STRIDE = 7919
"""Seed offset between the analog read-noise generators of consecutive ranks."""


def active() -> bool:
    """Whether this process is one rank of an initialised process group of > 1 ranks."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def rank() -> int:
    return dist.get_rank() if active() else 0


def world_size() -> int:
    return dist.get_world_size() if active() else 1


def is_main() -> bool:
    return rank() == 0


def init() -> bool:
    """Join the process group ``torchrun`` describes in the environment (``WORLD_SIZE``
    > 1, ``RANK``, ``MASTER_ADDR``, ``MASTER_PORT``); False (and nothing done) without
    one. Idempotent."""
    size = int(os.environ.get("WORLD_SIZE", "1") or 1)
    if size <= 1:
        return False
    if dist.is_initialized():
        return True
    if not dist.is_available():
        raise InputError("WORLD_SIZE is set but this torch build has no torch.distributed; "
                         "run without torchrun")
    backend = "nccl" if torch.cuda.is_available() else "gloo"
    if backend == "nccl":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    dist.init_process_group(backend=backend)
    return True


def device_for(name: str) -> str:
    """``--device auto`` under torchrun with CUDA: this rank's ``cuda:LOCAL_RANK``."""
    if active() and name == "auto" and torch.cuda.is_available():
        return f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}"
    return name


def barrier() -> None:
    if active():
        dist.barrier()


def gather(obj: Any) -> list[Any]:
    """``obj`` of every rank, in rank order (``[obj]`` in a single process)."""
    if not active():
        return [obj]
    out: list[Any] = [None] * world_size()
    dist.all_gather_object(out, obj)
    return out


def all_finite(value: torch.Tensor) -> bool:
    """Whether ``value`` is finite on every rank (so all ranks stop together)."""
    ok = torch.tensor([1.0 if bool(torch.isfinite(value).all()) else 0.0],
                      device=value.device)
    if active():
        dist.all_reduce(ok, op=dist.ReduceOp.MIN)
    return bool(ok.item() > 0)


def sum_over_ranks(*values: float) -> list[float]:
    """Each value summed over the ranks (the values themselves in a single process)."""
    if not active():
        return list(values)
    t = torch.tensor(values, dtype=torch.float64)
    if dist.get_backend() == "nccl":
        t = t.cuda()
    dist.all_reduce(t)
    return [float(v) for v in t.cpu().tolist()]


class RankShard:
    """This rank's share of each batch of ``loader``: images r, r+N, ... of every
    global batch (the whole batch in a single process). A global batch of fewer images
    than ranks (a short last batch) is skipped on every rank."""

    def __init__(self, loader: Any) -> None:
        self.loader = loader
        self.rank, self.size = rank(), world_size()

    def __len__(self) -> int:
        return len(self.loader)

    def set_epoch(self, epoch: int) -> None:
        self.loader.set_epoch(epoch)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        for x, y in self.loader:
            if x.shape[0] < self.size:
                continue
            yield x[self.rank::self.size], y[self.rank::self.size]


def average_norm_statistics(model: torch.nn.Module) -> None:
    """Average the BatchNorm running statistics over the ranks (each rank gathered them
    on its own share of the batches), so every rank evaluates and checkpoints the same
    model. Called at the end of every epoch."""
    if not active():
        return
    from torch.nn.modules.batchnorm import _BatchNorm

    for m in model.modules():
        if isinstance(m, _BatchNorm) and m.track_running_stats:
            for buf in (m.running_mean, m.running_var):
                if buf is not None:
                    dist.all_reduce(buf)
                    buf.div_(world_size())


def wrap(model: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    """``model`` in DistributedDataParallel when running on several ranks (buffers, such
    as the memristor state, are not broadcast: every rank writes the same cells)."""
    if not active():
        return model
    from torch.nn.parallel import DistributedDataParallel

    ids = [device.index] if device.type == "cuda" else None
    return DistributedDataParallel(model, device_ids=ids, broadcast_buffers=False)
