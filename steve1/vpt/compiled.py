"""`torch.compile` of the guided single step (the agent's per-tick call), behind an option.

On CUDA, `mode="reduce-overhead"` replays the step as a CUDA graph: one launch instead of a few hundred small
kernels, which is what bounds a batch-1 step on a fast GPU. CUDA-graph outputs live in a pool that the next
replay overwrites, so every tensor the caller keeps (log-probs, the recurrent state that feeds the next step)
is cloned out of it, and each call marks a new step first.

The step is compiled with static shapes: each distinct number of worlds, and the first step (whose state has
no mask yet), is one compilation. Compilation takes minutes on a CPU; it pays on a GPU. Results equal the
eager step up to float32 summation order.
"""
from __future__ import annotations

from collections.abc import Callable

import torch

from steve1.vpt.policy import GuidedOutput, VPTPolicy

COMPILE_MODES = ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")
_CUDAGRAPH_MODES = ("reduce-overhead", "max-autotune")


def _clone_state(state):
    return [(None if m is None else m.clone(), (k.clone(), v.clone())) for m, (k, v) in state]


def compiled_guided_step(policy: VPTPolicy, mode: str = "reduce-overhead",
                         backend: str = "inductor") -> Callable[..., GuidedOutput]:
    """A drop-in for `policy.guided_step` (same arguments and outputs), compiled with `mode`."""
    if mode not in COMPILE_MODES:
        raise ValueError(f"unknown compile mode {mode!r}; use one of {list(COMPILE_MODES)}")
    kwargs = {"backend": backend, "dynamic": False}
    if backend == "inductor":
        kwargs["mode"] = mode
    step = torch.compile(policy.guided_step, **kwargs)
    graphs = mode in _CUDAGRAPH_MODES and backend == "inductor"

    def guided_step(img, goal, state, cond_scale, first=None) -> GuidedOutput:
        if graphs and img.device.type == "cuda":
            torch.compiler.cudagraph_mark_step_begin()
            out = step(img, goal, state, float(cond_scale), first)
            return GuidedOutput(out.logp_camera.clone(), out.logp_buttons.clone(), _clone_state(out.state),
                                out.vpred.clone())
        return step(img, goal, state, float(cond_scale), first)

    return guided_step
