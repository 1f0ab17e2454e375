"""`nn.Linear` that stays fast for the 2 rows of a batch-1 guided step on CPU.

A guided step for one world runs the transformer and heads on 2 rows (conditional + unconditional). Each
layer's weight is far larger than the caches, so a 1-row step costs one read of the weight (a gemv); a 2-row
step should cost the same. On CPU, MKL's `x @ W.T` with 2 rows runs ~2x slower than that gemv. Measured on
the 2x model's shapes (1 thread, weights cold in cache), two ways reach gemv speed:
  * `W @ x.T` (the weight-major product, N = 2 columns): within ~10% of one gemv for in_features <= 4096;
  * for wider inputs (mlp1: 8192 -> 2048), where that product is slow too: the weight is walked in row
    blocks that fit in L2 and one matrix-vector product per row runs on each block (the weight is read from
    memory once for both rows).
For 3 to 32 rows (a guided step for 2 to 16 worlds, an unguided one for 3 to 32) the weight-major product
`W @ x.T` is also faster than `x @ W.T` with the weights cold (the 2x transformer, process CPU time, 1
thread: 8 rows 217 -> 178 ms, 16 rows 259 -> 239 ms, 32 rows 655 -> 621 ms). Everything else (GPU, training,
larger batches, bf16) is `F.linear`. Results equal `F.linear` up to float32 summation order.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

PAIR = 2  # rows of a batch-1 guided step
MIN_OUT = 256  # narrow layers are cheap either way
MAX_WEIGHT_MAJOR_ROWS = 32  # up to this many rows, W @ x.T beats x @ W.T on CPU
WIDE_IN = 4096  # above this many input features, the L2-blocked matrix-vector products win
BLOCK_BYTES = 1 << 20  # weight bytes per block in the blocked path (stays in a 1 MiB share of L2)


def small_batch_linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    n_out, n_in = weight.shape
    rows = x.numel() // n_in if n_in else 0
    if (
        not PAIR <= rows <= MAX_WEIGHT_MAJOR_ROWS or n_out < MIN_OUT or x.device.type != "cpu"
        or x.dtype != torch.float32 or weight.dtype != torch.float32
        or (torch.is_grad_enabled() and (x.requires_grad or weight.requires_grad))
    ):
        return F.linear(x, weight, bias)
    if rows > PAIR or n_in <= WIDE_IN:
        x2 = x.reshape(rows, n_in)  # (rows, in)
        out_t = weight @ x2.T if bias is None else torch.addmm(bias[:, None], weight, x2.T)  # (out, rows)
        return out_t.T.contiguous().view(*x.shape[:-1], n_out)
    x2 = x.reshape(PAIR, n_in)  # (2, in)
    out = torch.empty(PAIR, n_out, dtype=x.dtype)  # (2, out)
    block = max(16, BLOCK_BYTES // (n_in * weight.element_size()))
    for s in range(0, n_out, block):
        e = min(s + block, n_out)
        w = weight[s:e]  # (block, in): read from memory once, then from cache for the second row
        for r in range(PAIR):
            if bias is None:
                torch.mv(w, x2[r], out=out[r, s:e])
            else:
                torch.addmv(bias[s:e], w, x2[r], out=out[r, s:e])
    return out.view(*x.shape[:-1], n_out)


class SmallBatchLinear(nn.Linear):
    """Drop-in `nn.Linear` (same parameters and state-dict keys) using `small_batch_linear`."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return small_batch_linear(x, self.weight, self.bias)
