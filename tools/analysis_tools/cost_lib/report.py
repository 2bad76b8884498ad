# Copyright (c) mmseg-difnet contributors. Licensed under the Apache License 2.0.
"""The markdown tables of a benchmark JSON (``tools/analysis_tools/benchmark.py``)."""
from typing import Dict

from .compiled_cost import compiled_markdown
from .deploy_cost import deploy_markdown
from .inference_cost import models_markdown
from .propagation_cost import diffusion_markdown


def markdown(results: Dict) -> str:
    """The tables of the sections measured."""
    parts = []
    if 'inference' in results:
        parts.append(models_markdown(results))
    if 'diffusion' in results:
        parts.append(diffusion_markdown(results))
    if 'deploy' in results:
        parts.append(deploy_markdown(results))
    if 'compiled' in results:
        parts.append(compiled_markdown(results['compiled']))
    return '\n\n'.join(parts)
