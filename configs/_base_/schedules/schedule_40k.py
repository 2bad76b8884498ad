# mmseg's 40k schedule (SGD lr 0.01, poly, a checkpoint every 40k/5 iterations) with this
# package's checkpoint loading: every checkpoint a run loads (load_from, resume, pretrained
# weights; by path or URL) read weights-only and verified, under any Runner (mim test builds
# mmengine's plain one); in default_hooks so that a config's own custom_hooks keep it.
_base_ = 'mmseg::_base_/schedules/schedule_40k.py'
default_hooks = dict(checked_loading=dict(type='CheckedLoadingHook'))
