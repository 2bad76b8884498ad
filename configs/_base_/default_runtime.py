# The project's runtime: mmseg's, plus this package's modules, its Runner and its safety
# hooks. DifNetRunner merges ConfigCheckHook (classes vs dataset, a checkpoint of another
# architecture), StopOnInvalidLossHook (NaN/Inf loss or weights) and SyncBuffersFromRank0Hook
# (validate the weights the checkpoint holds) and SaveOnSignalHook (SIGTERM/SIGUSR1: save
# at the next iteration, stop) into any custom_hooks, writes checkpoints
# atomically with a SHA-256, resumes from the newest valid one and locks the work dir.
_base_ = 'mmseg::_base_/default_runtime.py'
custom_imports = dict(imports=['mmseg_difnet'], allow_failed_imports=False)
runner_type = 'DifNetRunner'
# (CheckedLoadingHook, which reads every checkpoint of a run weights-only and verified, is in
# the schedule bases' default_hooks: mmengine refuses default_hooks in two sibling bases.)
# also here for code that builds mmengine's plain Runner (Runner.from_cfg) itself
custom_hooks = [dict(type='ConfigCheckHook'), dict(type='StopOnInvalidLossHook'),
                dict(type='SyncBuffersFromRank0Hook'), dict(type='SaveOnSignalHook')]
