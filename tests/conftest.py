"""Shared test set-up: CPU threads kept low so the suite behaves the same on 2 cores."""

import torch

torch.set_num_threads(2)


def placed_with_thread_counts(shape, dtype, errs, gain=None, seed: int = 3) -> list:
    """``engine.add_sparse_errors_`` of ``errs`` on zeros of ``shape``, once with one
    torch thread and once with two, from the same seed (the thread count restored)."""
    from bplight.numerics import engine

    out = []
    threads = torch.get_num_threads()
    try:
        for n in (1, 2):
            torch.set_num_threads(n)
            y = torch.zeros(shape, dtype=dtype)
            out.append(engine.add_sparse_errors_(y, errs, torch.Generator().manual_seed(seed),
                                                 gain))
    finally:
        torch.set_num_threads(threads)
    return out
