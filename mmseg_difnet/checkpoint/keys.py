# Copyright (c) mmseg-difnet contributors. Licensed under the Apache License 2.0.
"""The state-dict key helpers that the fit checks and the seed mapping share."""
from typing import Dict, List


def strip_module_prefix(state: Dict[str, object]) -> Dict[str, object]:
    """``state`` with the ``module.`` prefix of a DDP-wrapped model's keys removed: mmengine's
    ``revise_keys`` default, which it applies only while loading; the fit checks read the
    keys before anything is loaded."""
    return {k[len('module.'):] if k.startswith('module.') else k: v for k, v in state.items()}


def show_keys(keys: List[str], n: int = 5) -> str:
    """'3 (a, b, c)': how many keys, and the first ``n`` of them."""
    return f'{len(keys)} ({", ".join(keys[:n])}{", ..." if len(keys) > n else ""})'
