"""``bplight train`` under DistributedDataParallel: 2 CPU processes (gloo), the memristor
state identical on both ranks, the analog read noise independent per rank, every
generator checkpointed, and a resumed run equal to an uninterrupted one."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import torch
import torch.multiprocessing as mp
from test_train_cli import make_pattern_mnist

WORLD = 2


def _rank_main(rank: int, port: int, root: str, out: str) -> None:
    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(WORLD),
                      MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    import torch.distributed as dist

    from bplight.cli import main
    from bplight.data import datasets as ds_mod
    from bplight.experiments import train as train_mod

    ds_mod.local_source_dirs = lambda name: []
    built: list[torch.nn.Module] = []
    real = train_mod.build_run_model

    def capture(*a, **k):
        built.append(real(*a, **k))
        return built[-1]

    train_mod.build_run_model = capture
    common = ["--data-root", root, "--batch-size", "32", "--subset", "96", "--no-baseline",
              "--quiet", "--device", "cpu", "--lr", "0.1"]

    def final() -> dict:
        m = built[-1]
        return {"state": {k: v.clone() for k, v in m.state_dict().items()},
                "hw_rng": m.bplight_hw.get_state(), "writer": m.bplight_writer.get_state()}

    assert main(["train", "--epochs", "2", "--run-dir", f"{out}/straight", *common]) == 0
    straight = final()
    assert main(["train", "--epochs", "1", "--run-dir", f"{out}/split", *common]) == 0
    assert main(["train", "--resume", f"{out}/split", "--epochs", "2", "--data-root", root,
                 "--quiet"]) == 0
    from bplight.experiments.ddp import average_norm_statistics

    bn = torch.nn.BatchNorm1d(3)
    bn.running_mean.fill_(float(rank))
    bn.running_var.fill_(2.0 + rank)
    average_norm_statistics(bn)
    torch.save({"straight": straight, "resumed": final(), "bn": bn.state_dict()},
               f"{out}/rank{rank}.pt")
    dist.destroy_process_group()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_ranks_share_the_memristor_state_and_resume_exactly(tmp_path: Path) -> None:
    root = tmp_path / "data"
    make_pattern_mnist(root, n_train=96, n_test=64)
    mp.spawn(_rank_main, args=(_free_port(), str(root), str(tmp_path)), nprocs=WORLD,
             join=True)
    r0, r1 = (torch.load(tmp_path / f"rank{r}.pt", weights_only=False) for r in range(WORLD))
    for key in ("straight", "resumed"):
        a, b = r0[key]["state"], r1[key]["state"]
        mem = [k for k in a if "mem_levels" in k or "mem_codes" in k]
        assert mem and a.keys() == b.keys()
        for k in a:  # weights, biases and the memristor cells: the same on both ranks
            assert torch.equal(a[k], b[k]), k
        assert torch.equal(r0[key]["writer"]["cell_write_counts"],
                           r1[key]["writer"]["cell_write_counts"])
        # the read noise of the two ranks comes from different generators
        assert any(not torch.equal(r0[key]["hw_rng"][k], r1[key]["hw_rng"][k])
                   for k in r0[key]["hw_rng"])
    for r in (r0, r1):  # resumed after epoch 1 == trained straight through, on each rank
        for k, v in r["straight"]["state"].items():
            assert torch.equal(v, r["resumed"]["state"][k]), k
        for k, v in r["straight"]["hw_rng"].items():
            assert torch.equal(v, r["resumed"]["hw_rng"][k]), k
    for r in (r0, r1):  # BatchNorm statistics averaged over the ranks
        assert r["bn"]["running_mean"].tolist() == [0.5] * 3
        assert r["bn"]["running_var"].tolist() == [2.5] * 3
    summary = json.loads((tmp_path / "straight" / "summary.json").read_text())
    resumed = json.loads((tmp_path / "split" / "summary.json").read_text())
    assert summary["world_size"] == WORLD and summary["memristor"]["cell_writes"] > 0
    assert resumed["test_accuracy"] == summary["test_accuracy"]
    assert resumed["memristor"] == summary["memristor"]
    ckpt = torch.load(tmp_path / "split" / "checkpoint-hardware.pt", weights_only=True)
    assert ckpt["world_size"] == WORLD and len(ckpt["hw_rng_ranks"]) == WORLD
    assert len(ckpt["torch_rng_ranks"]) == WORLD
