"""SelfSupDataPreprocessor: view batching, BGR -> RGB and normalisation."""
import pytest
import torch
from mmengine.structures import BaseDataElement

from mmdense.models.data_preprocessors import SelfSupDataPreprocessor
from mmdense.registry import MODELS

MEAN = [123.675, 116.28, 103.53]
STD = [58.395, 57.12, 57.375]


def make_batch(num_views=2, batch_size=3, size=(5, 7), seed=0):
    """pseudo_collate layout: a list over views of lists over the batch of uint8 BGR tensors."""
    generator = torch.Generator().manual_seed(seed)
    inputs = [[torch.randint(0, 256, (3, *size), dtype=torch.uint8, generator=generator)
               for _ in range(batch_size)] for _ in range(num_views)]
    samples = []
    for i in range(batch_size):
        sample = BaseDataElement(metainfo=dict(img_path=f'{i}.jpg'))
        sample.view_boxes = torch.rand(num_views, 4, generator=generator)
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def by_hand(img_bgr: torch.Tensor) -> torch.Tensor:
    """(x_rgb - mean) / std for one (3, H, W) BGR image, channel by channel."""
    return torch.stack([(img_bgr[2 - c].double() - MEAN[c]) / STD[c] for c in range(3)]).float()


def test_multi_view_batch_is_stacked_per_view_and_normalised():
    preprocessor = MODELS.build(
        dict(type='SelfSupDataPreprocessor', mean=MEAN, std=STD, to_rgb=True))
    data = make_batch()
    boxes = [sample.view_boxes.clone() for sample in data['data_samples']]
    out = preprocessor(data, training=True)
    assert len(out['inputs']) == 2
    for v, view in enumerate(out['inputs']):
        assert view.shape == (3, 3, 5, 7) and view.dtype == torch.float32
        for n in range(3):
            torch.testing.assert_close(view[n], by_hand(data['inputs'][v][n]))
    assert [s.img_path for s in out['data_samples']] == ['0.jpg', '1.jpg', '2.jpg']
    for sample, box in zip(out['data_samples'], boxes):
        torch.testing.assert_close(sample.view_boxes, box)


def test_known_pixel_value():
    preprocessor = SelfSupDataPreprocessor(mean=MEAN, std=STD)
    bgr = torch.tensor([10, 20, 250], dtype=torch.uint8).view(3, 1, 1)
    out = preprocessor(dict(inputs=[[bgr]]))['inputs'][0]
    expected = [(250 - 123.675) / 58.395, (20 - 116.28) / 57.12, (10 - 103.53) / 57.375]
    torch.testing.assert_close(out.view(3), torch.tensor(expected))


def test_without_rgb_conversion_channel_order_is_kept():
    preprocessor = SelfSupDataPreprocessor(mean=[0, 0, 0], std=[1, 1, 1], to_rgb=False)
    data = make_batch(num_views=1, batch_size=2)
    out = preprocessor(data)['inputs'][0]
    torch.testing.assert_close(out, torch.stack(data['inputs'][0]).float())


@pytest.mark.parametrize('layout', ['list_of_images', 'tensor', 'list_of_view_tensors'])
def test_other_input_layouts(layout):
    preprocessor = SelfSupDataPreprocessor(mean=MEAN, std=STD)
    views = make_batch(num_views=2, batch_size=2)['inputs']
    if layout == 'list_of_images':  # one view, a list over the batch
        inputs, expected_views = views[0], views[:1]
    elif layout == 'tensor':  # one view, stacked
        inputs, expected_views = torch.stack(views[0]), views[:1]
    else:  # default_collate: a list over views of stacked tensors
        inputs, expected_views = [torch.stack(view) for view in views], views
    out = preprocessor(dict(inputs=inputs))
    assert out['data_samples'] is None
    assert len(out['inputs']) == len(expected_views)
    for got, view in zip(out['inputs'], expected_views):
        torch.testing.assert_close(got, torch.stack([by_hand(img) for img in view]))


def test_views_of_different_sizes_are_padded():
    preprocessor = SelfSupDataPreprocessor(mean=MEAN, std=STD, pad_value=0)
    small = torch.full((3, 4, 4), 100, dtype=torch.uint8)
    large = torch.full((3, 6, 5), 100, dtype=torch.uint8)
    out = preprocessor(dict(inputs=[[small, large]]))['inputs'][0]
    assert out.shape == (2, 3, 6, 5)
    torch.testing.assert_close(out[0, :, :4, :4], by_hand(small))
    assert (out[0, :, 4:] == 0).all() and (out[0, :, :, 4:] == 0).all()


def test_rejects_unknown_layouts():
    preprocessor = SelfSupDataPreprocessor(mean=MEAN, std=STD)
    with pytest.raises(TypeError, match='inputs must be'):
        preprocessor(dict(inputs='not images'))
