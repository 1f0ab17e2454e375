"""VPT's recurrent transformer: residual blocks of memory attention + pointwise MLP, per-layer KV cache.

Each layer keeps `maxlen = attention_memory_size - timesteps` cached (projected) keys and values. A frame
attends to itself and the `maxlen - 1` frames before it ("clipped causal"), with a learned relative-position
bias (`b_nd`, 10 basis functions mixed per query by `r_layer`) and logits scaled by 1/head_dim (muP),
not 1/sqrt(head_dim).

Hidden state, one entry per layer: `(state_mask, (K, V))`
  state_mask: bool (B, 1, maxlen), which cache rows hold real frames; None for a fresh state (nothing valid)
  K, V:       (B, maxlen, hidsize) cached projected keys / values (zeros in a fresh state)

Reference quirks kept:
  * the attention sub-layer's skip connection carries LayerNorm(x), not x (y = LN(x) + attn(LN(x)));
  * `first` is honoured only at step 0 of a call (a `first` later in the call is ignored) unless the caller
    passes `honour_every_first=True`, an opt-in extension that resets memory at every flagged step.
Difference (no effect in fp32): attention logits and the softmax are always computed in float32, as original
VPT; STEVE-1's vendored copy computed them in the autocast dtype, where the -1e9 mask becomes -inf in fp16.
"""
from __future__ import annotations

import functools

import torch
import torch.nn.functional as F
from torch import nn

from steve1.vpt.config import N_REL_BASIS, PolicyConfig
from steve1.vpt.layers import linear_layer
from steve1.vpt.small_batch_linear import SmallBatchLinear

MASKED_LOGIT = -1e9  # additive bias of a masked key (as the reference)

LayerState = tuple[torch.Tensor | None, tuple[torch.Tensor, torch.Tensor]]
State = list[LayerState]


@functools.lru_cache(maxsize=64)
def _band_tables(t: int, maxlen: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Clipped-causal band and relative-distance index for t queries over maxlen + t keys.

    Query j sits at key position maxlen + j; its distance to key k is d = maxlen + j - k.
    band (t, maxlen + t) bool: 0 <= d < maxlen.
    rel_index (t, maxlen + t) long: d inside the band, else maxlen
    (which points at an all-zero column appended to the relative-bias table).
    The tables are cached, so they are built outside inference mode: an inference tensor in the cache would
    break every later forward pass that records gradients.
    """
    with torch.inference_mode(False):
        j = torch.arange(t, device=device)[:, None]
        k = torch.arange(maxlen + t, device=device)[None, :]
        d = maxlen + j - k
        band = (d >= 0) & (d < maxlen)
        return band, torch.where(band, d, torch.full_like(d, maxlen))


def episode_index(first: torch.Tensor, honour_every_first: bool) -> torch.Tensor:
    """(B, t) bool -> (B, t) long: episode starts seen so far in this call (0 = still the cached episode).

    Faithful mode looks only at first[:, 0], so the count is first[:, 0] at every step.
    """
    if honour_every_first:
        return first.long().cumsum(dim=1)
    return first[:, :1].long().expand_as(first)


class AttentionWeights(nn.Module):
    """Parameters of one attention layer, named as VPT's `SelfAttentionLayer` (`r.orc_block.*`)."""

    def __init__(self, hidsize: int, heads: int, maxlen: int):
        super().__init__()
        self.q_layer = SmallBatchLinear(hidsize, hidsize)
        self.k_layer = SmallBatchLinear(hidsize, hidsize, bias=False)
        self.v_layer = SmallBatchLinear(hidsize, hidsize, bias=False)
        self.proj_layer = SmallBatchLinear(hidsize, hidsize)
        self.r_layer = SmallBatchLinear(hidsize, N_REL_BASIS * heads)
        self.b_nd = nn.Parameter(torch.randn(N_REL_BASIS, maxlen) * 0.2)  # (basis, distance)


class MemoryAttention(nn.Module):
    """Multi-head attention of t new frames over [maxlen cached frames, t new frames]; returns attn(h)."""

    def __init__(self, hidsize: int, heads: int, maxlen: int):
        super().__init__()
        self.heads, self.maxlen = heads, maxlen
        self.orc_block = AttentionWeights(hidsize, heads, maxlen)

    def forward(
        self, h: torch.Tensor, episode: torch.Tensor, state: LayerState
    ) -> tuple[torch.Tensor, LayerState]:
        """h (B, t, E) normalised input; episode (B, t) from `episode_index`; state of this layer."""
        if h.shape[1] == 1 and self.maxlen > 1:
            return self._single_step(h, episode, state)
        return self._chunk(h, episode, state)

    def _chunk(
        self, h: torch.Tensor, episode: torch.Tensor, state: LayerState
    ) -> tuple[torch.Tensor, LayerState]:
        """Any t: the clipped-causal band and relative bias as (t, maxlen + t) tables."""
        w = self.orc_block
        B, t, E = h.shape
        H, maxlen = self.heads, self.maxlen
        D = E // H
        L = maxlen + t
        state_mask, (k_cache, v_cache) = state
        if state_mask is None:
            state_mask = torch.zeros(B, 1, maxlen, dtype=torch.bool, device=h.device)

        q = w.q_layer(h)  # (B, t, E)
        k_full = torch.cat([k_cache.to(h.dtype), w.k_layer(h)], dim=1)  # (B, L, E)
        v_full = torch.cat([v_cache.to(h.dtype), w.v_layer(h)], dim=1)  # (B, L, E)

        # Which keys each query may see: the band, and cached keys only if still in this episode and valid.
        band, rel_index = _band_tables(t, maxlen, h.device)
        cache_ok = state_mask & (episode == 0)[:, :, None]  # (B, t, maxlen)
        new_ok = episode[:, :, None] == episode[:, None, :]  # (B, t, t)
        allowed = band & torch.cat([cache_ok, new_ok], dim=2)  # (B, t, L)

        # Relative-position bias: rel[b, h, j, k] = sum_n R[b, j, h, n] * b_nd[n, d(j, k)], 0 off the band.
        r = w.r_layer(h).float().view(B, t, H, N_REL_BASIS).transpose(1, 2)  # (B, H, t, 10)
        rel_by_distance = F.pad(r @ w.b_nd.float(), (0, 1))  # (B, H, t, maxlen + 1), last column zero
        rel = rel_by_distance.gather(3, rel_index.expand(B, H, t, L))  # (B, H, t, L)
        bias = rel + torch.where(allowed, 0.0, MASKED_LOGIT)[:, None]  # (B, H, t, L) float32

        qh = q.view(B, t, H, D).transpose(1, 2).reshape(B * H, t, D).float()
        kh = k_full.view(B, L, H, D).transpose(1, 2).reshape(B * H, L, D).float()
        vh = v_full.view(B, L, H, D).transpose(1, 2).reshape(B * H, L, D)
        logits = torch.baddbmm(bias.reshape(B * H, t, L), qh, kh.transpose(1, 2), alpha=1.0 / D)
        attn = torch.softmax(logits, dim=2).to(vh.dtype) @ vh  # (B*H, t, D)
        out = w.proj_layer(attn.view(B, H, t, D).transpose(1, 2).reshape(B, t, E))  # (B, t, E)

        # New state: keep the last maxlen keys/values; cache rows stay valid unless a new episode began.
        last = episode[:, -1]  # (B,)
        n_new = min(t, maxlen)
        new_mask = torch.cat(
            [
                state_mask[:, :, t:] & (last == 0)[:, None, None],
                (episode[:, t - n_new:] == last[:, None])[:, None, :],
            ],
            dim=2,
        )  # (B, 1, maxlen)
        return out, (new_mask, (k_full[:, -maxlen:], v_full[:, -maxlen:]))


    def _single_step(
        self, h: torch.Tensor, episode: torch.Tensor, state: LayerState
    ) -> tuple[torch.Tensor, LayerState]:
        """`forward` for t = 1 (every agent step), with the band tables reduced to vectors.

        The query sits at key position maxlen of [maxlen cached, 1 new]; the band (distance < maxlen) drops
        cached key 0, so the keys it sees are exactly the next cache [cached 1..maxlen-1, new], at distances
        maxlen-1 .. 0 (the relative bias reversed). Cached keys are masked (additively, as `forward`) when
        invalid or when this step starts an episode; the new key is always visible. Dropping key 0, whose
        weight in `forward` is exp(-1e9) = 0, leaves the result unchanged up to float32 summation order.
        """
        w = self.orc_block
        B, _, E = h.shape
        H, maxlen = self.heads, self.maxlen
        D = E // H
        state_mask, (k_cache, v_cache) = state
        x = h[:, 0]  # (B, E)
        q = w.q_layer(x)  # (B, E)
        k_next = torch.cat([k_cache[:, 1:].to(h.dtype), w.k_layer(x)[:, None]], dim=1)  # (B, maxlen, E)
        v_next = torch.cat([v_cache[:, 1:].to(h.dtype), w.v_layer(x)[:, None]], dim=1)  # (B, maxlen, E)

        new_episode = episode[:, 0] != 0  # (B,)
        if state_mask is None:
            cache_ok = torch.zeros(B, maxlen - 1, dtype=torch.bool, device=h.device)
        else:
            cache_ok = state_mask[:, 0, 1:] & ~new_episode[:, None]  # (B, maxlen - 1)
        allowed = F.pad(cache_ok, (0, 1), value=True)  # (B, maxlen): the new key is always visible

        r = w.r_layer(x).float().view(B, H, N_REL_BASIS)  # (B, H, 10)
        rel = (r @ w.b_nd.float()).flip(-1).transpose(1, 2)  # (B, maxlen, H): key j is at distance maxlen-1-j
        bias = rel + torch.where(allowed, 0.0, MASKED_LOGIT)[:, :, None]  # (B, maxlen, H) float32

        # Both products read the cache in its own (B, maxlen, E) layout, as one bmm each (a head-major bmm
        # would first copy the cache; multiply + sum would write a cache-sized temporary). The query goes in
        # as a block-diagonal (E, H) matrix per row, so column h sums head h's part of each key; the output
        # product gives every head's weights on every column, and the diagonal blocks are the heads' outputs.
        # H times the needed multiplies, but these products are memory-bound: the 2x model at 16 rows,
        # 1 thread, this part of a layer 16.6 -> 7.2 ms, the whole transformer 269 -> 252 ms (2 rows: same).
        eye = torch.eye(H, device=h.device).view(1, H, 1, H)
        q_blocks = (q.float().view(B, H, D, 1) * eye).view(B, E, H)  # (B, E, H)
        with torch.autocast(h.device.type, enabled=False):  # logits in float32 under autocast too
            logits = bias + torch.bmm(k_next.float(), q_blocks) / D  # (B, maxlen, H)
        weights = torch.softmax(logits, dim=1).to(v_next.dtype)  # (B, maxlen, H)
        per_head = torch.bmm(weights.transpose(1, 2), v_next)  # (B, H, E): head h's weights on all columns
        attn = per_head.view(B, H, H, D).diagonal(dim1=1, dim2=2)  # (B, D, H): head h's weights on its own
        out = w.proj_layer(attn.transpose(1, 2).reshape(B, E))[:, None]  # (B, 1, E)

        new_mask = torch.cat([cache_ok, torch.ones(B, 1, dtype=torch.bool, device=h.device)], dim=1)
        return out, (new_mask[:, None], (k_next, v_next))


class RecurrentBlock(nn.Module):
    """h = LN(x); y = h + attn(h); z = y + mlp1(mlp0(y))  (the LN(x) skip is the reference's)."""

    def __init__(self, config: PolicyConfig, attention: nn.Module | None = None):
        """attention: the `r` sub-layer, called as attention(h, episode, state) -> (out, state); default the
        policy's `MemoryAttention` (the IDM passes its own, non-causal one)."""
        super().__init__()
        hid, wide = config.hidsize, config.hidsize * config.pointwise_ratio
        self.mlp0 = linear_layer(hid, wide, norm=True, bias=False, relu=True)
        self.mlp1 = linear_layer(wide, hid, norm=False, bias=True, relu=False)
        self.pre_r_ln = nn.LayerNorm(hid)
        if attention is None:
            attention = MemoryAttention(hid, config.attention_heads, config.maxlen)
        self.r = attention

    def forward(
        self, x: torch.Tensor, episode: torch.Tensor, state: LayerState
    ) -> tuple[torch.Tensor, LayerState]:
        h = self.pre_r_ln(x)
        a, state = self.r(h, episode, state)
        y = h + a
        return y + self.mlp1(self.mlp0(y)), state


class RecurrentStack(nn.Module):
    """The `recurrent_layer` of VPT: n_recurrence_layers blocks, each with its own memory."""

    def __init__(self, config: PolicyConfig):
        super().__init__()
        self.config = config
        self.blocks = nn.ModuleList(RecurrentBlock(config) for _ in range(config.n_recurrence_layers))

    def initial_state(self, batch_size: int, device=None, dtype=torch.float32) -> State:
        shape = (batch_size, self.config.maxlen, self.config.hidsize)
        return [
            (None, (torch.zeros(shape, device=device, dtype=dtype), torch.zeros_like(k)))
            for k in (torch.zeros(shape, device=device, dtype=dtype) for _ in self.blocks)
        ]

    def forward(
        self, x: torch.Tensor, first: torch.Tensor, state: State, honour_every_first: bool = False
    ) -> tuple[torch.Tensor, State]:
        """x (B, T, E), first (B, T) bool -> (B, T, E), new state."""
        episode = episode_index(first, honour_every_first)
        new_state = []
        for block, layer_state in zip(self.blocks, state, strict=True):
            x, layer_state = block(x, episode, layer_state)
            new_state.append(layer_state)
        return x, new_state
