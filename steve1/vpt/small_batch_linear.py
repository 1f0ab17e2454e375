"""`nn.Linear` that stays fast for the 2-8 rows of a guided step on CPU.

On CPU, MKL's sgemm with very few rows (M = 2..8) runs 2-3x slower than the matrix-vector product it reduces
to, so a guided step (2 rows: conditional + unconditional) would pay far more than one extra row. For those
shapes, without autograd, `SmallBatchLinear` walks the weight in row blocks small enough to stay in cache and
runs one matrix-vector product per input row on each block: the weight is read from memory once for all rows.
Everything else (GPU, training, larger batches) is plain `F.linear`. Results equal `F.linear` up to float32
summation order.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

MAX_ROWS = 8  # above this, gemm is efficient enough
MIN_OUT = 256  # narrow layers are cheap either way
BLOCK_ROWS = 256  # weight rows per block: 256 x 2048 fp32 = 2 MiB, cache-resident while every row uses it


def small_batch_linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    rows = x.numel() // x.shape[-1] if x.shape[-1] else 0
    n_out = weight.shape[0]
    if (
        rows < 2 or rows > MAX_ROWS or n_out < MIN_OUT or x.device.type != "cpu"
        or x.dtype != torch.float32 or weight.dtype != torch.float32
        or (torch.is_grad_enabled() and (x.requires_grad or weight.requires_grad))
    ):
        return F.linear(x, weight, bias)
    x2 = x.reshape(rows, -1)  # (rows, in)
    out = torch.empty(rows, n_out, dtype=x.dtype)  # (rows, out)
    for s in range(0, n_out, BLOCK_ROWS):
        e = min(s + BLOCK_ROWS, n_out)
        w = weight[s:e]
        for r in range(rows):
            if bias is None:
                torch.mv(w, x2[r], out=out[r, s:e])
            else:
                torch.addmv(bias[s:e], w, x2[r], out=out[r, s:e])
    return out.view(*x.shape[:-1], n_out)


class SmallBatchLinear(nn.Linear):
    """Drop-in `nn.Linear` (same parameters and state-dict keys) using `small_batch_linear`."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return small_batch_linear(x, self.weight, self.bias)
