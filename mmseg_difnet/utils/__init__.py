from .runtime import check_data_roots, default_work_dir, prepare_for_device, sync_bn_to_bn

__all__ = ['check_data_roots', 'default_work_dir', 'prepare_for_device', 'sync_bn_to_bn']
