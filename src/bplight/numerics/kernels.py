"""Compiled CPU kernels (numba) for fast mode's hot loop: placing the discrete wrong reads
of a product on its outputs.

Fast mode draws each product's wrong reads as a Poisson process over the output elements
(:func:`bplight.numerics.engine.add_sparse_errors_`): tens of millions per VGG-8 step at
``bplight-16b``. Done with array operations, each wrong read costs several passes over
arrays of one entry per read (a position draw, a value array, ``index_add_`` scattering
at random over tens of MB); here one loop draws and adds each read where it lands.

* **Blocks.** The outputs are cut in blocks of :data:`BLOCK_ELEMS` elements (rows of
  ``inner`` pixels; 256 KiB of float32, inside a core's L2 cache). The caller draws the
  wrong reads of each (block, value) as one Poisson count (a Poisson process split into
  parts is independent Poisson counts), so the kernel adds block after block: the
  scattered additions hit the cache.
* **Positions.** Each read lands on a uniform row of its block (and, with a fold table
  ``pix``, on a pixel drawn from it: a pixel listed ``f`` times takes ``f`` times the
  reads), from a SplitMix64 stream (Steele, Lea and Flood 2014) seeded by the caller's
  torch generator, bounded without bias by Lemire's multiply-and-reject method (Lemire
  2019, "Fast random integer generation in an interval").
* **Threads.** ``nogil``: the caller cuts a large product's blocks into tasks, each with
  its own seed, that two threads take in turn (:func:`run_tasks`), so the result does
  not depend on the thread count or on which thread runs which task.

numba is a dependency of bplight; where it cannot be imported (or ``BPLIGHT_NUMBA=0``),
:data:`AVAILABLE` is False and the engine places the reads with numpy and torch
operations instead (the same distribution, a different random stream).
"""

from __future__ import annotations

import functools
import math
import os

import numpy as np

try:  # pragma: no cover - exercised through AVAILABLE
    if os.environ.get("BPLIGHT_NUMBA", "1") == "0":
        raise ImportError("disabled by BPLIGHT_NUMBA=0")
    import numba
    from numba.cpython.unsafe.numbers import leading_zeros
except ImportError:  # pragma: no cover
    numba = None

AVAILABLE = numba is not None
"""Whether the compiled kernels are used (numba importable and not disabled)."""

BLOCK_ELEMS = 1 << 16
"""Output elements per block of :func:`place_reads` (256 KiB of float32: a block stays
in a core's 1-2 MiB L2 cache while its reads are added; measured on the 2-core Xeon:
2^14 and 2^18 were no faster)."""

WARM_LINES = 64
"""A block whose reads number at least its elements / this (one per 4 cache lines of
float32) is read in order before its reads are added. Measured on the 2-core Xeon,
32 MiB output, 0.05-1 reads per element: 1.5-4.5 ns per read instead of 2.5-14 ns (the
scattered additions otherwise each wait on a cache miss)."""

TASK_BLOCKS = 8
"""Blocks of :func:`place_reads` per task of a product placed on two threads
(:func:`run_tasks`): 2^19 output elements, a few hundred thousand reads at most rates
(~0.1-1 ms), so that the threads share the work evenly however fast each runs."""

WRITE_TASK_WEIGHTS = 1 << 14
"""Weights per piece of the memristor writer's pass (:func:`write_in_tasks`), at most
(~0.1 ms at ~5 ns a weight measured on the 2-core Xeon: LeNet-5's 61k weights make
pieces enough for two threads to share them evenly)."""

if AVAILABLE:
    _U = numba.uint64
    _GOLDEN = np.uint64(0x9E3779B97F4A7C15)
    _M1 = np.uint64(0xBF58476D1CE4E5B9)
    _M2 = np.uint64(0x94D049BB133111EB)
    _LOW = np.uint64(0xFFFFFFFF)
    _TWO32 = np.uint64(1 << 32)

    @numba.njit(inline="always")
    def _next(s):  # SplitMix64: (new state, 64 random bits)
        s = s + _GOLDEN
        z = s
        z = (z ^ (z >> _U(30))) * _M1
        z = (z ^ (z >> _U(27))) * _M2
        return s, z ^ (z >> _U(31))

    @numba.njit(inline="always")
    def _below(s, x, bound):
        """Uniform in [0, bound), 0 < bound < 2^32, from the 32 random bits ``x`` (and, in
        the rare case Lemire's method rejects them, more from the stream ``s``)."""
        m = x * bound
        low = m & _LOW
        if low < bound:
            t = (_TWO32 - bound) % bound
            while low < t:
                s, z = _next(s)
                m = (z >> _U(32)) * bound
                low = m & _LOW
        return s, m >> _U(32)

    @numba.njit(nogil=True, cache=True)
    def _place(flat, rates, values, block_rows, rows, inner, pix, seed, b0, b1, sink):
        np.random.seed(np.uint32(seed & _LOW))  # numba's per-thread generator: the counts
        s = _U(seed)
        line = _U(max(1, 64 // flat.itemsize))  # elements per 64-byte cache line
        n_pix = _U(pix.shape[0])
        width = _U(inner)
        counts = np.empty(values.shape[0], dtype=np.int64)
        for b in range(b0, b1):
            row0 = b * block_rows
            rows_b = _U(min(block_rows, rows - row0))
            total = 0
            for c in range(values.shape[0]):
                counts[c] = np.random.poisson(rates[c] * float(rows_b))
                total += counts[c]
            base = _U(row0) * width
            end = base + rows_b * width
            if _U(total) * _U(WARM_LINES) >= end - base:
                # read the block in order first (a line each): its lines come in at
                # streaming speed, not one cache miss per scattered read
                acc = flat[base]
                for i in range(base, end, line):
                    acc += flat[i]
                sink[0] += acc
            for c in range(values.shape[0]):
                v = values[c]
                todo = counts[c]
                while todo > 0:  # each 64-bit draw: two 32-bit halves
                    s, z = _next(s)
                    s, r = _below(s, z >> _U(32), rows_b)
                    if n_pix == 0:  # two reads
                        flat[base + r] += v
                        if todo > 1:
                            s, r = _below(s, z & _LOW, rows_b)
                            flat[base + r] += v
                        todo -= 2
                    else:  # a read's row and pixel
                        s, k = _below(s, z & _LOW, n_pix)
                        flat[base + r * width + _U(pix[k])] += v
                        todo -= 1


def block_rows(inner: int) -> int:
    """Rows of ``inner`` elements per block of :func:`place_reads`."""
    return max(1, BLOCK_ELEMS // inner)


def place_reads(flat: np.ndarray, rates: np.ndarray, values: np.ndarray, rows_per_block: int,
                inner: int, pix: np.ndarray | None, seed: int, blocks: tuple[int, int]) -> None:
    """Add to ``flat`` (a contiguous 1-D float array of rows of ``inner`` elements), in
    blocks ``blocks = (first, end)`` of ``rows_per_block`` rows, wrong reads of each value
    ``values[c]``: a Poisson(``rates[c]`` × rows of the block) count per block (numba's
    generator, seeded with the low 32 bits of ``seed``), each read on a uniform row of
    the block (with a fold table ``pix``: and a pixel drawn from ``pix``, ``rates`` then
    per row of ``len(pix)`` slots), from a SplitMix64 stream seeded with ``seed``.
    Releases the GIL."""
    rows = flat.shape[0] // inner
    p = np.empty(0, dtype=np.int64) if pix is None else pix.astype(np.int64, copy=False)
    _place(flat, rates, values.astype(flat.dtype, copy=False), rows_per_block, rows, inner,
           p, np.uint64(seed % (1 << 64)), blocks[0], blocks[1], np.zeros(1, flat.dtype))


def run_tasks(tasks: list) -> None:
    """Run the calls ``tasks`` (kernels that release the GIL; each must give the same
    result whichever thread runs it and in whatever order) on two threads that take
    them in turn from the list as each finishes its last (the caller's thread and a
    new one), where torch may use two threads and there are several; one after the
    other otherwise. An exception of any is raised here, after all have stopped.

    Taking the tasks as they come, not half each, matters on a machine whose cores are
    all busy: right after a parallel torch operation, PyTorch's OpenMP workers keep
    spinning for a while (libgomp's ``GOMP_SPINCOUNT``), so a new thread first gets part
    of a core; with fixed halves the caller waited for it (measured on the 2-core Xeon:
    a second thread with a fixed half gained almost nothing)."""
    import torch

    if torch.get_num_threads() < 2 or len(tasks) < 2:
        for task in tasks:
            task()
        return
    import itertools
    import threading

    turn = itertools.count()  # next() on it is atomic under the GIL
    failed: list[BaseException] = []

    def work() -> None:
        for i in turn:
            if i >= len(tasks) or failed:
                return
            try:
                tasks[i]()
            except BaseException as e:  # re-raised in the caller's thread
                failed.append(e)
                return

    thread = threading.Thread(target=work, name="bplight-kernel")
    thread.start()
    try:
        work()
    finally:
        thread.join()
    if failed:
        raise failed[0]


if AVAILABLE:

    @numba.njit(nogil=True, cache=True)
    def _top_slices(flat, stride, count, scale, levels, slot_of_length, hist):
        for j in range(count):
            c = np.rint(abs(np.float64(flat[j * stride])) / scale * levels)
            # the code as a 64-bit integer: beyond int64, all 64 bits set (the top
            # slice); not finite, 0
            if c < 9.0e18:
                code = np.int64(c)
            else:
                code = np.int64(-1) if c < np.inf else np.int64(0)
            hist[slot_of_length[64 - leading_zeros(code)]] += 1


if AVAILABLE:

    @numba.njit(cache=True)
    def _read_error_classes(s_read, weight, reads, kmax, inverse, max_mean, counts):
        pk = np.empty(kmax)
        total = 0.0
        sparse = 0.0
        root_half = math.sqrt(0.5)
        for c in range(s_read.shape[0]):
            s = max(s_read[c], 1e-30)
            prev = 0.5 * math.erfc(0.5 / s * root_half)  # P(n > 1/2)
            p_wrong = 2.0 * prev
            var = 0.0
            pk[:] = 0.0
            for k in range(1, kmax + 1):
                tail = 0.5 * math.erfc((k + 0.5) / s * root_half)  # P(n > k + 1/2)
                pk[k - 1] = prev - tail  # P(round(n) = k)
                var += k * k * pk[k - 1]
                prev = tail
                if tail < 1e-17 and kmax * kmax * tail < 1e-17 * var:
                    break  # each later P(round(n) = j) < 1e-16 (never drawn), and
                    # together they add less than var's last bit
            contrib = reads * weight[c] * 2.0 * var
            total += contrib
            if reads * p_wrong <= max_mean:
                sparse += contrib
                for k in range(kmax):
                    if pk[k] >= 1e-16:
                        counts[inverse[c, k]] += reads * 2.0 * pk[k]
        return total, sparse


def read_error_classes(s_read: np.ndarray, weight: np.ndarray, reads: int, kmax: int,
                       inverse: np.ndarray, max_mean: float, counts: np.ndarray
                       ) -> tuple[float, float]:
    """:func:`bplight.numerics.engine._discrete_read_errors`' sums in one pass over the
    pass classes c (``s_read``, ``weight``: 1-D): each read's error round(N(0, s_c²)), from
    the normal tails P(n > k + 1/2) = erfc((k + 1/2) / (s sqrt 2)) / 2, k = 0 .. ``kmax``.
    Returns the error variance of ``reads`` reads per class weighted by ``weight`` (all
    classes, and the sparse ones: ``reads`` P(round(n) != 0) <= ``max_mean``) and adds to
    ``counts[inverse[c, k - 1]]`` a sparse class's expected wrong reads of |error| k
    (2 ``reads`` P(round(n) = k), where that probability is at least 1e-16)."""
    total, sparse = _read_error_classes(s_read, weight, float(reads), kmax, inverse,
                                        float(max_mean), counts)
    return float(total), float(sparse)


@functools.lru_cache(maxsize=64)
def _slot_of_length(bits: int, n: int) -> np.ndarray:
    """Histogram slot of a code by its bit length L (0 .. 64): its leading slice + 1,
    (L - 1) // bits + 1 capped at n; 0 for L = 0 (a lookup, not a division per code)."""
    return np.array([0] + [min((length - 1) // bits, n - 1) + 1 for length in range(1, 65)],
                    dtype=np.int64)


if AVAILABLE:

    @numba.njit(cache=True)
    def _occupancy(hist, count, bits):
        n = hist.shape[0] - 1
        out = np.empty(n)
        keep = 1.0 - 2.0**-bits
        above = 0.0  # the cumulative sum from the top, as np.cumsum(at_top[::-1]) adds
        for k in range(n - 1, -1, -1):
            at_top = hist[k + 1] / count
            above += at_top
            out[k] = at_top + (above - at_top) * keep
        return out


def slice_occupancy(flat: np.ndarray, stride: int, count: int, scale: float, mag_bits: int,
                    bits: int, n: int) -> np.ndarray:
    """:func:`bplight.numerics.engine.slice_occupancy` from :func:`top_slice_histogram`,
    in the same arithmetic (the same floats)."""
    hist = top_slice_histogram(flat, stride, count, scale, mag_bits, bits, n)
    return _occupancy(hist, float(max(count, 1)), bits)


def top_slice_histogram(flat: np.ndarray, stride: int, count: int, scale: float,
                        mag_bits: int, bits: int, n: int) -> np.ndarray:
    """Histogram (length n + 1) of the leading ``bits``-wide slice + 1 of the codes
    ``rint(|x| / scale × (2^mag_bits - 1))`` (float64) of ``count`` elements
    ``flat[::stride]``; slot 0 for a zero or non-finite code: what
    :func:`bplight.numerics.engine.slice_occupancy` counts, without intermediate arrays."""
    hist = np.zeros(n + 1, dtype=np.int64)
    _top_slices(flat, stride, count, float(scale), float(2**mag_bits - 1),
                _slot_of_length(bits, n), hist)
    return hist


if AVAILABLE:

    @numba.njit(inline="always")
    def _new_code(key, w, held, w_range, fm, m, code, stochastic):
        """The code the optimizer asks for: ``code`` plus the increment ``(w - held) /
        w_range`` in grid steps (clipped to ±m), rounded stochastically (floor(x + U),
        53 random bits: SplitMix64's output for the counter ``key``) or to the nearest
        integer (half to even), clamped to ±m."""
        x = min(max((w - held) / w_range * fm, -fm), fm)
        if stochastic:
            _, z = _next(key)
            q = math.floor(x + float(np.int64(z >> _U(11))) * 2.0**-53)
        else:
            q = np.int64(np.rint(x))
        return min(max(code + q, -m), m)



    @numba.njit(inline="always")
    def _held_code(levels, r, sig, n):
        """The analog code the cells of weight ``r`` hold (``n`` cells a side):
        held_weights' terms, in its order and dtype (bit for bit its values)."""
        code = levels[r, 0] - levels[r, n]
        for k in range(1, n):
            code = code + (levels[r, k] - levels[r, n + k]) * sig[k]
        return code

    @numba.njit(inline="always")
    def _held_code_gain(levels, gain, r, sig, n):
        """:func:`_held_code` of cells with device gains ``gain``."""
        code = levels[r, 0] * gain[r, 0] - levels[r, n] * gain[r, n]
        for k in range(1, n):
            code = code + (levels[r, k] * gain[r, k]
                           - levels[r, n + k] * gain[r, n + k]) * sig[k]
        return code

    @numba.njit(nogil=True, cache=True)
    def _write(w, held, w_range, codes, levels, gain, counts, m, stochastic, seed, noise,
               exact_extremes, cell_bits, sig, inv_m):
        # two streams: the rounding's uniforms by counter (weight i: SplitMix64 at
        # seed + i golden gammas), the programming noise's in sequence from another seed
        base = _U(seed)
        s = base ^ _U(0x5851F42D4C957F2D)
        spare, has_spare = 0.0, False  # the polar method's second normal
        fm = float(m)
        n = levels.shape[1] // 2
        mask = (1 << cell_bits) - 1
        sd = levels.dtype.type(noise)
        gained = gain.shape[0] > 0
        changed = 0
        written = 0
        for i in range(w.shape[0]):
            a = codes[i]
            b = _new_code(base + _U(i) * _GOLDEN, w[i], held[i], w_range, fm, m, a,
                          stochastic)
            if b != a:
                changed += 1
                for side in range(2):  # "+" cells hold positive codes, "-" negative
                    ma = (a if a > 0 else 0) if side == 0 else (-a if a < 0 else 0)
                    mb = (b if b > 0 else 0) if side == 0 else (-b if b < 0 else 0)
                    for k in range(n):
                        if (ma ^ mb) >> (cell_bits * k) == 0:
                            break  # no higher digit of this side changes
                        da = (ma >> (cell_bits * k)) & mask
                        db = (mb >> (cell_bits * k)) & mask
                        if da != db:
                            j = side * n + k
                            level = levels.dtype.type(db)
                            if noise > 0.0 and not (exact_extremes and (db == 0 or db == mask)):
                                if has_spare:
                                    normal, has_spare = spare, False
                                else:  # Marsaglia's polar method: two normals a draw
                                    r = 0.0
                                    while r >= 1.0 or r == 0.0:
                                        s, z = _next(s)
                                        u = float(np.int64(z >> _U(32))) * 2.0**-31 - 1.0
                                        v = float(np.int64(z & _LOW)) * 2.0**-31 - 1.0
                                        r = u * u + v * v
                                    f = math.sqrt(-2.0 * math.log(r) / r)
                                    normal, spare, has_spare = u * f, v * f, True
                                level = level + levels.dtype.type(normal) * sd
                            levels[i, j] = level
                            counts[i, j] += 1
                            written += 1
                codes[i] = b
                if gained:
                    held[i] = _held_code_gain(levels, gain, i, sig, n) * inv_m[0] * w_range
                else:
                    held[i] = _held_code(levels, i, sig, n) * inv_m[0] * w_range
            w[i] = held[i]
        return changed, written


def write(w: np.ndarray, held: np.ndarray, w_range: np.floating, codes: np.ndarray,
          levels: np.ndarray, gain: np.ndarray | None, counts: np.ndarray, bits: int,
          cell_bits: int, stochastic: bool, noise: float, exact_extremes: bool,
          seed: int) -> tuple[int, int]:
    """The memristor writer's whole step for one piece of a layer, in one pass over its
    weights (the write policy ``changed``, linear cells): each weight's new code (as
    :func:`_new_code`); where it changes, each cell whose digit changes is
    re-programmed to its digit plus N(0, ``noise``²) levels (none at level 0 or the top
    one with ``exact_extremes``; normals by Marsaglia's polar method from the SplitMix64
    stream seeded with ``seed``, which also gives the stochastic rounding),
    its write count raised, the code stored and the held weight recomputed from the
    cells (:func:`bplight.numerics.update.held_weights`' arithmetic, bit for bit); every
    weight ``w`` is set to what its cells hold. ``levels``, ``counts`` (and ``gain``, the
    device gains, or None): [weights, 2 × cells]. Returns (weights whose code changed,
    cells written). What :func:`bplight.devices.memristor.program` does for those cells,
    with the noise from another generator."""
    m = 2 ** (bits - 1) - 1
    n = levels.shape[1] // 2
    dt = levels.dtype
    sig = np.array([2.0 ** (cell_bits * k) for k in range(n)], dtype=dt)
    g = np.empty((0, levels.shape[1]), dtype=dt) if gain is None else gain
    changed, written = _write(w, held, w_range, codes, levels, g, counts, m, stochastic,
                              np.uint64(seed % (1 << 64)), float(noise), exact_extremes,
                              cell_bits, sig, np.array([1.0 / m], dtype=dt))
    return int(changed), int(written)



# --- PyTorch's OpenMP threads ------------------------------------------------------------
#
# On a machine whose cores torch keeps busy, a thread of our own barely runs in parallel:
# after each parallel operation PyTorch's OpenMP workers spin, waiting for the next one
# (libgomp's GOMP_SPINCOUNT), on the very cores it would need. The kernels' tasks are
# therefore handed to those workers themselves: ``GOMP_parallel`` (the entry point a
# compiler emits for ``#pragma omp parallel``, which libgomp, LLVM's libomp and Intel's
# libiomp5 all export) runs a compiled C callback (a numba ``cfunc``) on the team torch's
# own operations use, and each thread takes the tasks t = its number, + team size, ...
# Where the runtime cannot be found (no OpenMP, not Linux, ``BPLIGHT_OMP_TEAM=0``) the
# tasks run on Python threads (:func:`run_tasks`): the same result, as every task has
# its own seed and its own part of the output.

TEAM_ENABLED = AVAILABLE and os.environ.get("BPLIGHT_OMP_TEAM", "1") != "0"
"""Whether tasks may run on PyTorch's OpenMP threads (``BPLIGHT_OMP_TEAM=0``: never)."""

_OPENMP_NAMES = ("libgomp", "libiomp", "libomp")


def _openmp_library() -> str | None:
    """Path of the OpenMP runtime PyTorch runs on, from the libraries this process has
    loaded (``/proc/self/maps``): the one in torch's own folder, else the only one; None
    where there is no such list (not Linux) or no single answer."""
    import torch

    try:
        with open("/proc/self/maps") as f:
            paths = {line.split(maxsplit=5)[5].strip() for line in f
                     if len(line.split(maxsplit=5)) == 6}
    except OSError:
        return None
    found = sorted(p for p in paths if os.path.basename(p).startswith(_OPENMP_NAMES))
    torch_dir = os.path.dirname(os.path.realpath(torch.__file__))
    own = [p for p in found if os.path.realpath(p).startswith(torch_dir + os.sep)]
    if len(own) == 1:
        return own[0]
    return found[0] if len(found) == 1 else None


@functools.lru_cache(maxsize=1)
def openmp_runtime() -> tuple | None:
    """``(GOMP_parallel, omp_get_thread_num, omp_get_num_threads)`` of PyTorch's OpenMP
    runtime (ctypes functions), or None where the tasks run on Python threads instead."""
    if not TEAM_ENABLED:
        return None
    import ctypes

    import torch

    if not torch._C.has_openmp or "parallel backend: OpenMP" not in \
            torch.__config__.parallel_info():
        return None
    path = _openmp_library()
    if path is None:
        return None
    try:
        lib = ctypes.CDLL(path)  # (already loaded: the same handle)
        parallel, thread_num, num_threads = (lib.GOMP_parallel, lib.omp_get_thread_num,
                                             lib.omp_get_num_threads)
    except (OSError, AttributeError):
        return None
    parallel.restype = None
    parallel.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_uint, ctypes.c_uint]
    for fn in (thread_num, num_threads):
        fn.restype, fn.argtypes = ctypes.c_int, []
    return parallel, thread_num, num_threads


if AVAILABLE:
    from llvmlite import ir
    from numba.core import cgutils
    from numba.extending import intrinsic

    @intrinsic
    def _address(typingctx, addr):
        """The integer ``addr`` as a ``void*`` (for ``numba.carray``)."""
        def codegen(context, builder, signature, args):
            return builder.inttoptr(args[0], cgutils.voidptr_t)
        return numba.types.voidptr(addr), codegen

    @intrinsic
    def _call_int(typingctx, addr):
        """The C function ``int f(void)`` at the integer address ``addr``, called (an
        OpenMP query: its address comes with the data, so that nothing of this process
        is compiled into the cached code)."""
        def codegen(context, builder, signature, args):
            fn = builder.inttoptr(args[0], ir.FunctionType(ir.IntType(32), []).as_pointer())
            return builder.sext(builder.call(fn, []), ir.IntType(64))
        return numba.types.int64(addr), codegen

    @numba.njit(cache=True)
    def _place_tasks(desc, dt):
        d = numba.carray(desc, PLACE_FIELDS)
        flat = numba.carray(_address(d[0]), (d[1],), dt)
        rates = numba.carray(_address(d[2]), (d[3],), np.float64)
        values = numba.carray(_address(d[4]), (d[3],), dt)
        pix = numba.carray(_address(d[8]), (d[9],), np.int64)
        tasks = numba.carray(_address(d[11]), (d[10], 3), np.int64)
        sink = np.zeros(1, dtype=dt)
        for t in range(_call_int(d[12]), d[10], _call_int(d[13])):
            _place(flat, rates, values, d[5], d[6], d[7], pix, _U(tasks[t, 0]), tasks[t, 1],
                   tasks[t, 2], sink)

    @numba.njit(cache=True)
    def _write_tasks(desc, dt):
        d = numba.carray(desc, WRITE_FIELDS)
        tasks = numba.carray(_address(d[1]), (d[0], 10), np.int64)
        ranges = numba.carray(_address(d[2]), (d[3],), dt)
        cells = d[4]
        results = numba.carray(_address(d[10]), (d[0], 2), np.int64)
        sig = numba.carray(_address(d[11]), (cells // 2,), dt)
        inv_m = numba.carray(_address(d[12]), (1,), dt)
        noise = numba.carray(_address(d[13]), (1,), np.float64)
        k, team_size = _call_int(d[14]), _call_int(d[15])
        total = tasks[d[0] - 1, 9] + tasks[d[0] - 1, 6]
        lo, hi = total * k // team_size, total * (k + 1) // team_size
        for t in range(d[0]):
            if tasks[t, 9] < lo or tasks[t, 9] >= hi:
                continue  # (a piece belongs to the thread whose share holds its start)
            n = tasks[t, 6]
            w = numba.carray(_address(tasks[t, 0]), (n,), dt)
            held = numba.carray(_address(tasks[t, 1]), (n,), dt)
            codes = numba.carray(_address(tasks[t, 2]), (n,), np.int64)
            levels = numba.carray(_address(tasks[t, 3]), (n, cells), dt)
            gain = numba.carray(_address(tasks[t, 4]), (n if d[5] else 0, cells), dt)
            counts = numba.carray(_address(tasks[t, 5]), (n, cells), np.int32)
            changed, written = _write(w, held, ranges[tasks[t, 8]], codes, levels, gain,
                                      counts, d[6], d[7] != 0, _U(tasks[t, 7]), noise[0],
                                      d[8] != 0, d[9], sig, inv_m)
            results[t, 0] = changed
            results[t, 1] = written


# the C callbacks GOMP_parallel runs on each thread: one per kernel and dtype (cached)
def _team_place_float32(desc):
    _place_tasks(desc, np.float32)


def _team_place_float64(desc):
    _place_tasks(desc, np.float64)


def _team_write_float32(desc):
    _write_tasks(desc, np.float32)


def _team_write_float64(desc):
    _write_tasks(desc, np.float64)


PLACE_FIELDS = 14
"""Entries of :func:`place_in_tasks`' descriptor (int64): flat's address and length,
rates' address, values' number, values' address, rows per block, rows, inner, the fold
table's address and length, the tasks' number and the address of their table (seed,
first block, end block), and the addresses of ``omp_get_thread_num`` and
``omp_get_num_threads``. Each thread takes tasks t = its number, + team size, ..."""

WRITE_FIELDS = 16
"""Entries of :func:`write_in_tasks`' descriptor (int64): the tasks' number and the
address of their table (addresses of the weights, held weights, codes, levels, gains and
counts, the length, the seed, the range's index, the weights before it), the ranges'
address and number, cells per weight, gains present, m, stochastic, exact extremes,
cell bits, the addresses of the results, the significances, 1 / m and the programming
noise, and those of ``omp_get_thread_num`` and ``omp_get_num_threads``. Thread k of K
takes the pieces that start in the k-th K-th of all the weights (pieces differ in size:
a layer's last is its remainder)."""


@functools.cache
def _team(kind: str, dtype: str):
    """The C callback (``numba.cfunc``, compiled once and cached on disk) that runs
    :func:`place_in_tasks`' (``kind`` "place") or :func:`write_in_tasks`' ("write")
    tasks on an OpenMP thread, for arrays of ``dtype``."""
    fn = globals()[f"_team_{kind}_{dtype}"]
    return numba.cfunc(numba.types.void(numba.types.CPointer(numba.types.int64)),
                       cache=True)(fn)


def _omp_addresses() -> list[int]:
    """Addresses of ``omp_get_thread_num`` and ``omp_get_num_threads`` of the runtime."""
    import ctypes

    _, thread_num, num_threads = openmp_runtime()
    return [ctypes.cast(f, ctypes.c_void_p).value for f in (thread_num, num_threads)]


def _on_team(team, desc: np.ndarray, tasks: int) -> bool:
    """Run the ``cfunc`` ``team`` on PyTorch's OpenMP threads (as many as torch uses, at
    most ``tasks``); False where there is no runtime or a single thread."""
    import torch

    runtime = openmp_runtime()
    threads = min(torch.get_num_threads(), tasks)
    if runtime is None or threads < 2:
        return False
    runtime[0](team.address, desc.ctypes.data, threads, 0)  # (releases the GIL)
    return True


def place_in_tasks(flat: np.ndarray, rates: np.ndarray, values: np.ndarray,
                   rows_per_block: int, inner: int, pix: np.ndarray | None,
                   seeds: list[int], bounds: list[tuple[int, int]]) -> None:
    """:func:`place_reads` of each task ``(seeds[i], bounds[i])`` (disjoint blocks): on
    PyTorch's OpenMP threads where possible, else on Python threads (:func:`run_tasks`);
    the same result either way."""
    values = np.ascontiguousarray(values, dtype=flat.dtype)
    rates = np.ascontiguousarray(rates, dtype=np.float64)
    p = np.empty(0, dtype=np.int64) if pix is None else np.ascontiguousarray(pix,
                                                                             dtype=np.int64)
    if len(bounds) > 1 and flat.flags.c_contiguous and openmp_runtime() is not None:
        table = np.array([[seed, b0, b1] for seed, (b0, b1) in zip(seeds, bounds,
                                                                    strict=True)],
                         dtype=np.int64)  # (seeds below 2^63: the callers' draws)
        desc = np.array([flat.ctypes.data, flat.size, rates.ctypes.data, rates.size,
                         values.ctypes.data, rows_per_block, flat.shape[0] // inner, inner,
                         p.ctypes.data, p.size, len(table), table.ctypes.data,
                         *_omp_addresses()], dtype=np.int64)
        if _on_team(_team("place", flat.dtype.name), desc, len(table)):
            return
    if len(bounds) == 1:  # (the common small product: straight to the kernel)
        _place(flat, rates, values, rows_per_block, flat.shape[0] // inner, inner, p,
               np.uint64(seeds[0]), bounds[0][0], bounds[0][1], np.zeros(1, flat.dtype))
        return
    run_tasks([functools.partial(place_reads, flat, rates, values, rows_per_block, inner,
                                 p, seed, b) for seed, b in zip(seeds, bounds, strict=True)])


WRITE_GROUP_WEIGHTS = 1 << 18
"""Without the OpenMP team, the writer's pieces run in groups of at least this many
weights, two threads taking the groups in turn (a model with fewer: one thread; a
thread's ~0.1 ms start is then small against a group's ~1 ms)."""


def write_in_tasks(pieces: list[tuple[np.ndarray, ...]], ranges: np.ndarray, seeds: list[int],
                   bits: int, cell_bits: int, stochastic: bool, noise: float,
                   exact_extremes: bool) -> list[tuple[int, int]]:
    """:func:`write` of each piece ``(w, held, codes, levels, gain or None, counts,
    range index)`` (disjoint weights; ``ranges``: the layers' ranges, in the levels'
    dtype) with seed ``seeds[i]``: on PyTorch's OpenMP threads where possible (C-contiguous
    pieces, int64 codes, int32 counts), else on Python threads in groups of
    :data:`WRITE_GROUP_WEIGHTS`. Returns each piece's (weights whose code changed, cells
    written); the same result either way."""
    dt = pieces[0][3].dtype
    ranges = np.ascontiguousarray(ranges)
    fits = ranges.dtype == dt and all(
        w.dtype == dt and held.dtype == dt and codes.dtype == np.int64
        and counts.dtype == np.int32 and (gain is None or gain.dtype == dt)
        and all(a is None or a.flags.c_contiguous for a in (w, held, codes, levels, gain, counts))
        for w, held, codes, levels, gain, counts, _ in pieces)
    if len(pieces) > 1 and fits and openmp_runtime() is not None:
        cells = pieces[0][3].shape[1]
        empty = np.empty((0, cells), dtype=dt)
        starts = np.cumsum([0] + [p[0].size for p in pieces[:-1]])
        table = np.array([[w.ctypes.data, held.ctypes.data, codes.ctypes.data,
                           levels.ctypes.data, (empty if gain is None else gain).ctypes.data,
                           counts.ctypes.data, w.size, seed, layer, start]
                          for (w, held, codes, levels, gain, counts, layer), seed, start
                          in zip(pieces, seeds, starts, strict=True)], dtype=np.int64)
        results = np.zeros((len(pieces), 2), dtype=np.int64)
        m = 2 ** (bits - 1) - 1
        sig = np.array([2.0 ** (cell_bits * k) for k in range(cells // 2)], dtype=dt)
        inv_m = np.array([1.0 / m], dtype=dt)
        noise_a = np.array([noise], dtype=np.float64)
        desc = np.array([len(table), table.ctypes.data, ranges.ctypes.data, ranges.size,
                         cells, pieces[0][4] is not None, m, stochastic, exact_extremes,
                         cell_bits, results.ctypes.data, sig.ctypes.data, inv_m.ctypes.data,
                         noise_a.ctypes.data, *_omp_addresses()], dtype=np.int64)
        if _on_team(_team("write", dt.name), desc, len(table)):
            return [(int(c), int(w)) for c, w in results]
    done = [(0, 0)] * len(pieces)

    def run(first: int, end: int) -> None:
        for i in range(first, end):
            w, held, codes, levels, gain, counts, layer = pieces[i]
            done[i] = write(w, held, ranges[layer], codes, levels, gain, counts, bits,
                            cell_bits, stochastic, noise, exact_extremes, seeds[i])

    groups, first, size = [], 0, 0
    for i, piece in enumerate(pieces):
        size += piece[0].size
        if size >= WRITE_GROUP_WEIGHTS or i == len(pieces) - 1:
            groups.append(functools.partial(run, first, i + 1))
            first, size = i + 1, 0
    run_tasks(groups)
    return done
