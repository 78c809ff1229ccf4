"""Training EASE away from the serving process's event loop: in a child process.

Why not a thread: scipy's LAPACK wrappers keep the GIL while they run, and the Cholesky
factorisation and inverse are most of the training (measured at 2,000 movies: `spotrf`
0.16 s and `spotri` 0.26 s, each stalling the event loop for as long; the sparse product and
numpy's own loops let go of it). So `fit_in_process` starts `python -m
movievote.recommend.training`, sends it the interaction matrix (a few MB of .npz on its
stdin), and reads EASE's weights back (a .npy on its stdout, 4 m^2 bytes): the child uses one
BLAS thread at a lower priority (nice 10), so serving keeps the other core and wins any
contest for it, and the training's peak memory (the gram, its inverse) leaves with the child.

`fit_in_thread` (the model fitted in a worker thread) is what the tests inject where the
model, not the process, is under test.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import sys
from pathlib import Path

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from movievote.recommend.base import Recommender, Trainer
from movievote.recommend.ease import EASE
from movievote.recommend.interactions import Interactions
from movievote.recommend.item_item import ItemItemModel

ONE_THREAD = {name: "1" for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}
NICENESS = 10
_PACKAGE_PARENT = str(Path(__file__).resolve().parents[2])  # where `movievote` is imported from


class TrainingFailed(RuntimeError):
    """The training process failed (its stderr's last lines are the message)."""


async def fit_in_thread(trainer: Trainer, interactions: Interactions) -> Recommender:
    """The model fitted in a worker thread (tests; the GIL is held through LAPACK)."""
    return await asyncio.to_thread(trainer.fit, interactions)


async def fit_in_process(
    trainer: Trainer, interactions: Interactions, *, timeout_seconds: float = 600
) -> Recommender:
    """EASE fitted in a child process (see the module's docstring); other trainers, which
    are cheap, in a thread. The child is killed if this is cancelled or times out."""
    if not isinstance(trainer, EASE):
        return await fit_in_thread(trainer, interactions)
    x = interactions.matrix
    payload = io.BytesIO()
    np.savez(
        payload,
        indptr=x.indptr,
        indices=x.indices,
        data=x.data,
        shape=np.array(x.shape, np.int64),
        l2=np.float64(trainer.l2),
        dropout=np.float64(trainer.dropout),
    )
    path = os.pathsep.join(p for p in (_PACKAGE_PARENT, os.environ.get("PYTHONPATH", "")) if p)
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "movievote.recommend.training",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, **ONE_THREAD, "PYTHONPATH": path},
    )
    try:
        async with asyncio.timeout(timeout_seconds):
            out, err = await child.communicate(payload.getvalue())
    except BaseException:  # cancelled (shutdown) or too slow: the child goes too
        if child.returncode is None:
            child.kill()
            await child.wait()
        raise
    if child.returncode != 0:
        tail = err.decode(errors="replace").strip().splitlines()[-5:]
        raise TrainingFailed(f"training exited {child.returncode}: " + " | ".join(tail))
    weights = _weights_from(out, interactions.n_movies)
    return ItemItemModel(interactions, weights)


def _weights_from(npy: bytes, movies: int) -> npt.NDArray[np.float32]:
    """The weights in the child's .npy, as a read-only view of its bytes (no second copy)."""
    header = io.BytesIO(npy)
    if np.lib.format.read_magic(header) == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(header)
    else:
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(header)
    if shape != (movies, movies) or dtype != np.float32 or fortran:
        raise TrainingFailed(f"training sent {dtype} {shape}, not float32 {movies} x {movies}")
    weights: npt.NDArray[np.float32] = np.frombuffer(
        npy, np.float32, count=movies * movies, offset=header.tell()
    ).reshape(movies, movies)
    return weights


def main() -> None:
    """The child: an interaction matrix in (.npz on stdin), EASE's weights out (.npy)."""
    with contextlib.suppress(OSError):  # not allowed here: train at the same priority
        os.nice(NICENESS)
    sent = np.load(io.BytesIO(sys.stdin.buffer.read()), allow_pickle=False)
    x = sp.csr_array(
        (sent["data"], sent["indices"], sent["indptr"]), shape=tuple(int(n) for n in sent["shape"])
    )
    weights = EASE(l2=float(sent["l2"]), dropout=float(sent["dropout"])).weights(x)
    np.save(sys.stdout.buffer, weights, allow_pickle=False)
    sys.stdout.buffer.flush()


if __name__ == "__main__":
    main()
