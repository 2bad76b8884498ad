from .exporting import exporting
from .output_paths import output_dir_error, output_file_error
from .runtime import (
                      CfgOptionsAction,
                      check_data_roots,
                      for_one_process,
                      load_config,
                      prepare_for_device,
                      sync_bn_to_bn,
)
from .unwrap import unwrap_model
from .walk_progress import walk_progress

__all__ = ['CfgOptionsAction', 'check_data_roots', 'exporting', 'for_one_process', 'load_config',
           'output_dir_error', 'output_file_error', 'prepare_for_device', 'sync_bn_to_bn',
           'unwrap_model', 'walk_progress']
