# Copyright (c) mmseg-difnet contributors. Licensed under the Apache License 2.0.
from mmseg.datasets.transforms import LoadAnnotations
from mmseg.registry import TRANSFORMS


@TRANSFORMS.register_module()
class LoadAnnotationsChecked(LoadAnnotations):
    """mmseg's ``LoadAnnotations``; a label file that cannot be decoded raises an error
    naming the file (mmseg's own fails with the decoder's message, without the path).

    Without a ``seg_map_path`` (an image given to ``inference_model`` or
    ``MMSegInferencer``, which drop only transforms named ``LoadAnnotations`` from the test
    pipeline) there is no label to load and the results pass through.
    """

    def transform(self, results: dict) -> dict:
        if results.get('seg_map_path') is None:
            return results
        return super().transform(results)

    def _load_seg_map(self, results: dict) -> None:
        try:
            super()._load_seg_map(results)
        except Exception as e:  # the decoder's errors vary with the backend
            raise OSError(
                f'cannot read the label file {results.get("seg_map_path")!r} '
                f'({type(e).__name__}: {e}). Re-create it with the dataset converter '
                '(README.md, "Data"), or remove its name from the split file.') from e
