"""EASE (Steck, "Embarrassingly Shallow Autoencoders for Sparse Data", WWW 2019): the item x
item weights B that best rebuild X from X (||X - XB||^2 + ||Lambda^1/2 B||^2, diag(B) = 0), in
closed form: P = (X^T X + Lambda)^-1, B = -P / diag(P). Lambda is l2 I plus, with `dropout`
p > 0, p / (1 - p) diag(X^T X): the emphasized-denoising regularizer of Steck, "Autoencoders
that don't overfit towards the identity" (NeurIPS 2020), which shrinks a popular movie's
weights more; p = 0 is plain EASE.

The inverse is dense, movies x movies: 4 m^2 bytes and about m^3 flops. 3,000 movies: 36 MB and
about a second; 20,000 movies: 1.6 GB and minutes, where it stops fitting this machine. Past
that: train on the movies with enough interactions (the others get item-kNN or nothing), or a
sparse approximation of the inverse (SANSA), or a low-rank model (ALS)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.linalg import LinAlgError, lapack

from movievote.recommend.interactions import Interactions
from movievote.recommend.item_item import ItemItemModel

# chosen on MovieLens 100K's validation split (benchmarks/eval_recommender.py)
L2 = 500.0
DROPOUT = 0.67

_BLOCK = 512


class EASE:
    name = "EASE"

    def __init__(self, l2: float = L2, dropout: float = DROPOUT) -> None:
        if l2 <= 0:
            raise ValueError("l2 must be positive")
        if not 0 <= dropout < 1:
            raise ValueError("dropout must be in [0, 1)")
        self.l2 = l2
        self.dropout = dropout

    def fit(self, interactions: Interactions) -> ItemItemModel:
        return ItemItemModel(interactions, self.weights(interactions.matrix))

    def weights(self, x: sp.csr_array) -> npt.NDArray[np.float32]:
        """B for the members x movies matrix `x` (what `fit` serves; a training process
        computes this alone, recommend/training.py)."""
        gram = np.ascontiguousarray((x.T @ x).toarray(), np.float32)
        diagonal = np.diag_indices_from(gram)
        gram[diagonal] += self.l2 + self.dropout / (1 - self.dropout) * gram[diagonal]
        p = inverse_spd(gram)
        p /= -np.diag(p)[None, :]  # B[i, j] = -P[i, j] / P[j, j]
        np.fill_diagonal(p, 0.0)
        return p


def inverse_spd(a: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """The inverse of a symmetric positive definite float32 matrix, in place (Cholesky: half
    the work of a general inverse, and no second m x m buffer)."""
    fortran = a.T  # the same matrix (symmetric), in the order LAPACK overwrites in place
    factor, info = lapack.spotrf(fortran, lower=False, overwrite_a=True, clean=False)
    if info:
        raise LinAlgError(f"not positive definite (spotrf info {info})")
    inverse, info = lapack.spotri(factor, lower=False, overwrite_c=True)
    if info:
        raise LinAlgError(f"singular (spotri info {info})")
    result: npt.NDArray[np.float32] = inverse.T  # C order; its lower triangle holds the inverse
    m = len(result)
    for start in range(0, m, _BLOCK):  # mirror the lower triangle into the upper, a block at a time
        end = min(start + _BLOCK, m)
        diagonal = result[start:end, start:end]
        diagonal[...] = np.tril(diagonal) + np.tril(diagonal, -1).T
        result[start:end, end:] = result[end:, start:end].T
    return result
