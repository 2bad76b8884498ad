# The DifNet paper's schedule (Sec. 5.1; rates from the authors' code): SGD, momentum 0.9,
# weight decay 5e-4, lr 2.5e-4 × 10 for all parameters with poly 0.9 decay, batch 16, 200
# epochs. Iterations are set per dataset (VOC aug: 132,275; Pascal Context: 62,475).
_base_ = 'mmseg::_base_/schedules/schedule_160k.py'
optim_wrapper = dict(optimizer=dict(type='SGD', lr=2.5e-3, momentum=0.9, weight_decay=5e-4))
