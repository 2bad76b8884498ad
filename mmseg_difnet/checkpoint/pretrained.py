# Copyright (c) mmseg-difnet contributors. Licensed under the Apache License 2.0.
"""An error that says what to do when ImageNet weights (``torchvision://...`` in the
configs' ``init_cfg``) cannot be fetched, e.g. on a machine without internet."""
from mmengine.runner.checkpoint import (
    CheckpointLoader,
    get_torchvision_models,
    load_from_torchvision,
)


def _load_from_torchvision(filename, map_location=None):
    try:
        return load_from_torchvision(filename, map_location=map_location)
    except Exception as e:  # no network, a proxy, an unknown model name...
        name = filename.split('://', 1)[1]
        url = get_torchvision_models().get(name, f'(no torchvision model named {name!r})')
        raise RuntimeError(
            f'cannot fetch the pretrained weights {filename!r} ({type(e).__name__}: {e}). '
            f'Download {url} where there is internet and point the config at the file, for '
            'the seed and the similarity backbones: --cfg-options '
            'model.backbone.init_cfg.checkpoint=/path/to/file.pth '
            'model.neck.backbone.init_cfg.checkpoint=/path/to/file.pth') from e


def explain_pretrained_failures() -> None:
    """Wrap mmengine's ``torchvision://`` loader so that a failure names the fix."""
    CheckpointLoader.register_scheme(prefixes=('torchvision://', 'modelzoo://'), force=True)(
        _load_from_torchvision)
