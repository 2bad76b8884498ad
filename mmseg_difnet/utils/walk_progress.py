# Copyright (c) mmseg-difnet contributors. Licensed under the Apache License 2.0.
"""Say why a large image is slow, and show the walks' progress: P·y costs O(N²) time in the
N nodes of the diffusion grid (times in docs/troubleshooting.md)."""
import contextlib
import time
from typing import Callable, Iterator


@contextlib.contextmanager
def walk_progress(model, warn_nodes: int = 10000, out: Callable[[str], None] = print
                  ) -> Iterator[None]:
    """While active, a forward pass whose diffusion grid has more than ``warn_nodes`` nodes
    prints the grid, the reason and one line per walk (elapsed time). No effect on a model
    without walks."""
    walks = list(getattr(getattr(model, 'decode_head', None), 'walks', []))
    state = dict(big=False, t0=0.0)

    def before_first(module, args):
        h, w = args[1].shape[-2:]  # y: (B, K, h, w)
        state.update(big=h * w > warn_nodes, t0=time.perf_counter())
        if state['big']:
            out(f'the diffusion grid is {w}×{h} = {h * w:,} nodes: each of the {len(walks)} '
                f'walks computes P·y, O(N²) in the nodes, so this image takes minutes on a '
                'CPU (--max-side resizes it first).')

    def after(t):
        def hook(module, args, output):
            if state['big']:
                out(f'walk {t + 1}/{len(walks)} done, {time.perf_counter() - state["t0"]:.0f} s')
        return hook

    handles = [walks[0].register_forward_pre_hook(before_first)] if walks else []
    handles += [w.register_forward_hook(after(t)) for t, w in enumerate(walks)]
    try:
        yield
    finally:
        for h in handles:
            h.remove()
