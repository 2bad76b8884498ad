from .exporting import exporting
from .pretrained import explain_pretrained_failures
from .runtime import (
                      CfgOptionsAction,
                      check_data_roots,
                      for_one_process,
                      load_config,
                      prepare_for_device,
                      sync_bn_to_bn,
)
from .safe_load import allow_mmengine_checkpoints
from .walk_progress import walk_progress

__all__ = ['CfgOptionsAction', 'allow_mmengine_checkpoints', 'explain_pretrained_failures',
           'exporting', 'check_data_roots', 'for_one_process', 'load_config',
           'prepare_for_device', 'sync_bn_to_bn',
           'walk_progress']
