"""The trimap mIoU (mIoU within r pixels of a label boundary) on hand-made masks whose answers
are worked out by hand in the comments."""
import pytest
import torch

from mmseg_difnet.evaluation import PerWalkIoUMetric
from mmseg_difnet.evaluation.per_walk_metric import boundary_band


def _halves():
    label = torch.zeros(6, 6, dtype=torch.long)
    label[:, 3:] = 1  # columns 0-2 class a, 3-5 class b
    return label


def test_band_is_the_pixels_within_r_of_another_label():
    band1 = boundary_band(_halves(), 1)
    assert band1[:, [2, 3]].all() and not band1[:, [0, 1, 4, 5]].any()
    band2 = boundary_band(_halves(), 2)
    assert band2[:, 1:5].all() and not band2[:, [0, 5]].any()
    # Chebyshev distance: a diagonal neighbour counts; the image edge is not a boundary
    label = torch.zeros(5, 5, dtype=torch.long)
    label[0, 0] = 1
    assert boundary_band(label, 1).nonzero().tolist() == [[0, 0], [0, 1], [1, 0], [1, 1]]
    assert not boundary_band(torch.zeros(4, 4, dtype=torch.long), 3).any()


def _sample(label, pred, **stages):
    s = dict(gt_sem_seg=dict(data=label[None]), pred_sem_seg=dict(data=pred[None]))
    s.update({f'pred_stage_{k}': dict(data=v[None]) for k, v in stages.items()})
    return s


def _metrics(samples, **kwargs):
    metric = PerWalkIoUMetric(**kwargs)
    metric.dataset_meta = dict(classes=('a', 'b'))
    metric.process({}, samples)
    return metric.compute_metrics(metric.results)


def test_trimap_miou_by_hand():
    label = _halves()
    pred = torch.zeros(6, 6, dtype=torch.long)
    pred[:, 4:] = 1  # the boundary one column too far right
    m = _metrics([_sample(label, pred, x=torch.zeros(6, 6, dtype=torch.long))],
                 trimap_radii=(1, 2), classwise=True)
    # all pixels: a I=18 U=24 (75%), b I=12 U=18 (66.67%)
    assert m['mIoU'] == pytest.approx((75 + 200 / 3) / 2, abs=0.01)
    assert m['IoU.a'] == 75.0 and m['IoU.b'] == pytest.approx(66.67)
    # band 1 = columns 2-3: a I=6 U=12 (50%), b I=0 U=6 (0%)
    assert m['mIoU_band1'] == 25.0
    # band 2 = columns 1-4: a I=12 U=18 (66.67%), b I=6 U=12 (50%)
    assert m['mIoU_band2'] == pytest.approx((200 / 3 + 50) / 2, abs=0.01)
    # stage x predicts a everywhere: all pixels a 50%, b 0%; band 1: a 6/12, b 0
    assert m['mIoU_x'] == 25.0 and m['mIoU_x_band1'] == 25.0
    # band 2 (24 px, 12 of a): a I=12 U=24 (50%), b 0
    assert m['mIoU_x_band2'] == 25.0


def test_void_is_a_boundary_but_never_scored():
    label = torch.zeros(5, 5, dtype=torch.long)
    label[2, 2] = 255
    pred = torch.zeros(5, 5, dtype=torch.long)
    pred[2, 2] = 1  # wrong on the void pixel: not scored
    pred[0, 0] = 1  # wrong outside the band: not in the band's score
    m = _metrics([_sample(label, pred)], trimap_radii=(1,))
    assert m['mIoU_band1'] == 100.0  # 8 pixels around the void, all a, all right
    assert m['mIoU'] < 100  # (0, 0) counts over the whole image


def test_off_by_default_and_bad_radii():
    m = _metrics([_sample(_halves(), _halves())])
    assert m['mIoU'] == 100.0 and not [k for k in m if 'band' in k or k.startswith('IoU.')]
    with pytest.raises(ValueError, match=r'trimap_radii=\[0, 2\] has \[0\]'):
        PerWalkIoUMetric(trimap_radii=(0, 2))
