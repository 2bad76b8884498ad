# Pascal Context, 59 classes (background ignored: PascalContextDataset59 reduces label 0),
# mmseg's pascal_context_59 protocol, with the pipeline of context60_321x321.py: for comparison
# with mmseg's model zoo (its *_pascal-context-59 rows). Not the paper's protocol, which is
# context60_321x321.py: mmseg's own DeepLabV3-R101 scores 46.55 on 60 classes, 52.61 on 59.
_base_ = './context60_321x321.py'
train_dataloader = dict(dataset=dict(type='PascalContextDataset59'))
val_dataloader = dict(dataset=dict(type='PascalContextDataset59'))
test_dataloader = val_dataloader
