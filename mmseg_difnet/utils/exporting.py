# Copyright (c) mmseg-difnet contributors. Licensed under the Apache License 2.0.
"""Whether the model is being recorded for export rather than run."""
import torch


def exporting() -> bool:
    """True while ``torch.onnx.export`` (either exporter), ``torch.export`` or the JIT tracer
    records the model: then ops without an ONNX form take their export paths, and checks
    whose ``if`` would read tensor data (the graph cannot branch on it) skip themselves."""
    return (torch.onnx.is_in_onnx_export() or torch.compiler.is_exporting()
            or torch.jit.is_tracing())
