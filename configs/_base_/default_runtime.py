# The project's runtime: mmseg's, plus this package's modules and its safety hooks (clear
# errors instead of silent wrong results: classes vs dataset, a checkpoint of another
# architecture, a NaN/Inf loss).
_base_ = 'mmseg::_base_/default_runtime.py'
custom_imports = dict(imports=['mmseg_difnet'], allow_failed_imports=False)
custom_hooks = [dict(type='ConfigCheckHook'), dict(type='StopOnInvalidLossHook')]
