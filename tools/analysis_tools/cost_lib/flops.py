# Copyright (c) mmseg-difnet contributors. Licensed under the Apache License 2.0.
import torch


def gflops(model, x: torch.Tensor) -> float:
    """GFLOPs of one tensor-mode forward of a segmentor on ``x`` (multiply-adds, as mmengine's
    ``FlopAnalyzer`` counts them). The walks are traced with ``impl='dense'`` meanwhile, so
    that P·y shows as matmul + softmax and is counted."""
    from mmengine.analysis import FlopAnalyzer
    walks = getattr(model.decode_head, 'walks', [])
    impls = [w.impl for w in walks]
    for w in walks:
        w.impl = 'dense'
    try:
        analyzer = FlopAnalyzer(model, (x, None, 'tensor'))
        analyzer.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
        return analyzer.total() / 1e9
    finally:
        for w, impl in zip(walks, impls):
            w.impl = impl
