"""AdamW with the original's two parameter groups."""
from __future__ import annotations

import inspect

import torch
from torch import nn

NO_DECAY_MODULES = (nn.LayerNorm, nn.Embedding)


def parameter_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """Decay everything except biases and the weights of LayerNorm/Embedding modules (the original's rule:
    GroupNorm weights and raw parameters are decayed). Parameters sorted by full name."""
    no_decay: set[str] = set()
    for module_name, module in model.named_modules():
        for name, _ in module.named_parameters(recurse=False):
            full = f"{module_name}.{name}" if module_name else name
            if name.endswith("bias") or (name == "weight" and isinstance(module, NO_DECAY_MODULES)):
                no_decay.add(full)
    params = dict(model.named_parameters())
    trainable = sorted(n for n, p in params.items() if p.requires_grad)
    decay_names = [n for n in trainable if n not in no_decay]
    no_decay_names = [n for n in trainable if n in no_decay]
    return [
        {"params": [params[n] for n in decay_names], "weight_decay": weight_decay, "names": decay_names},
        {"params": [params[n] for n in no_decay_names], "weight_decay": 0.0, "names": no_decay_names},
    ]


def build_optimizer(model: nn.Module, lr: float, weight_decay: float) -> torch.optim.AdamW:
    groups = [{k: v for k, v in g.items() if k != "names"} for g in parameter_groups(model, weight_decay)]
    kwargs = {}
    if "fused" in inspect.signature(torch.optim.AdamW).parameters and torch.cuda.is_available():
        kwargs["fused"] = True
    return torch.optim.AdamW(groups, lr=lr, **kwargs)
