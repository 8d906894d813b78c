"""BatchedPhotometricAugment: the sampled parameters follow the configured probabilities and
ranges; the stream is fixed by the seed, differs per rank and resumes from its state; the data
preprocessor applies it to training batches only, leaving geometry alone."""
import math
import os.path as osp
from types import SimpleNamespace

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import IterBasedTrainLoop
from mmengine.structures import BaseDataElement

from mmdense.engine.hooks import RNGStateHook
from mmdense.models.data_preprocessors import photometric_augment
from mmdense.registry import MODELS

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DATASETS = osp.join(ROOT, 'configs', '_base_', 'datasets')
NUM = 20000  # samples per view in the statistical tests


def build_augment(name: str, seed: int = 0):
    cfg = Config.fromfile(osp.join(DATASETS, name)).data_preprocessor.photometric
    return MODELS.build(dict(type='BatchedPhotometricAugment', seed=seed, **cfg))


def cpu_view_probabilities(name: str) -> list[dict]:
    """Per view, the probability of each photometric transform in a worker config."""
    cfg = Config.fromfile(osp.join(DATASETS, name))
    multi_view = cfg.train_pipeline[1]
    counts = multi_view.num_views
    counts = [counts] if isinstance(counts, int) else counts
    views = []
    for count, pipeline in zip(counts, multi_view.transforms):
        probs = dict(ColorJitter=0., RandomGrayscale=0., GaussianBlur=0., Solarize=0.)
        for t in pipeline:
            if t['type'] == 'RandomApply':
                probs[t['transforms'][0]['type']] = t['prob']
            elif t['type'] == 'RandomGrayscale':
                probs['RandomGrayscale'] = t['prob']
        views.extend([probs] * count)
    return views


def assert_binomial(successes: int, n: int, p: float):
    """Within 5 standard deviations of n p (exact at p in {0, 1})."""
    assert abs(successes - n * p) <= 5 * math.sqrt(n * p * (1 - p)) + 1e-9, (successes, n, p)


def assert_uniform(values: torch.Tensor, low: float, high: float, bins: int = 10):
    values = values.double()
    assert low <= values.min() and values.max() <= high
    width = high - low
    assert values.min() < low + 0.01 * width and values.max() > high - 0.01 * width
    counts = torch.histc(values, bins=bins, min=low, max=high)
    for count in counts.tolist():
        assert_binomial(int(count), len(values), 1 / bins)


@pytest.mark.parametrize('device_cfg, cpu_cfg', [
    ('imagenet_mocov2_device-aug.py', 'imagenet_mocov2.py'),
    ('imagenet_byol_device-aug.py', 'imagenet_byol.py'),
    ('demo_mocov2_device-aug.py', 'demo_mocov2.py'),
    ('demo_byol_device-aug.py', 'demo_byol.py'),
])
def test_probabilities_follow_the_cpu_config(device_cfg, cpu_cfg):
    """MoCo v2: jitter 0.8, grey 0.2, blur 0.5 on both views; BYOL: blur 1.0 / 0.1, solarize
    0 / 0.2; each the worker config's probability, and realised at that rate."""
    augment = build_augment(device_cfg)
    names = dict(BatchedColorJitter='ColorJitter', BatchedRandomGrayscale='RandomGrayscale',
                 BatchedGaussianBlur='GaussianBlur', BatchedSolarize='Solarize')
    expected = cpu_view_probabilities(cpu_cfg)
    params = augment.sample([NUM] * augment.num_views)
    assert augment.num_views == len(expected) == 2
    for ops, view_params, probs in zip(augment.view_ops, params, expected):
        configured = dict.fromkeys(probs, 0.)
        for op, op_params in zip(ops, view_params):
            configured[names[type(op).__name__]] = op.prob
            assert_binomial(int(op_params['apply'].sum()), NUM, op.prob)
        assert configured == probs
    if 'byol' in device_cfg:
        assert [p['GaussianBlur'] for p in expected] == [1.0, 0.1]
        assert [p['Solarize'] for p in expected] == [0., 0.2]
    else:
        assert expected[0] == dict(ColorJitter=0.8, RandomGrayscale=0.2, GaussianBlur=0.5,
                                   Solarize=0.)


def test_jitter_factors_and_order_follow_their_ranges():
    jitter, _, blur = build_augment('imagenet_mocov2_device-aug.py').view_ops[0]
    generator = torch.Generator().manual_seed(0)
    params = jitter.sample(NUM, generator)
    for column, (low, high) in enumerate([(0.6, 1.4), (0.6, 1.4), (0.6, 1.4), (-0.1, 0.1)]):
        assert_uniform(params['factors'][:, column], low, high)
    # Every order of the four ops, each about 1/24 of the time.
    orders = [tuple(o) for o in params['order'].tolist()]
    assert all(sorted(o) == [0, 1, 2, 3] for o in orders)
    assert len(set(orders)) == 24
    for order in set(orders):
        assert_binomial(orders.count(order), NUM, 1 / 24)
    # Per position, each op equally often (no op tends to come first).
    for position in range(4):
        for op in range(4):
            assert_binomial(int((params['order'][:, position] == op).sum()), NUM, 1 / 4)
    sigma = blur.sample(NUM, generator)['sigma']
    assert sigma.dtype == torch.float64
    assert_uniform(sigma, 0.1, 2.0)


def test_disabled_jitter_op_gets_its_neutral_factor():
    jitter = MODELS.build(dict(type='BatchedColorJitter', brightness=0.4, hue=0.))
    factors = jitter.sample(100, torch.Generator().manual_seed(0))['factors']
    assert torch.all(factors[:, 1:3] == 1) and torch.all(factors[:, 3] == 0)
    assert factors[:, 0].std() > 0


def views_batch(n=6, size=16, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return [torch.randint(0, 256, (n, 3, size, size), generator=generator).float()
            for _ in range(2)]


def test_same_seed_same_output_and_ranks_differ(monkeypatch):
    views = views_batch()
    a = build_augment('imagenet_byol_device-aug.py', seed=3)
    b = build_augment('imagenet_byol_device-aug.py', seed=3)
    first = [a(views), a(views)]
    assert all(torch.equal(x, y) for x, y in zip(first[0], b(views)))
    assert all(torch.equal(x, y) for x, y in zip(first[1], b(views)))
    assert not torch.equal(first[0][0], first[1][0])  # the step changes the draws
    other_seed = build_augment('imagenet_byol_device-aug.py', seed=4)(views)
    assert not torch.equal(other_seed[0], first[0][0])
    monkeypatch.setattr(photometric_augment, 'get_rank', lambda: 1)
    rank1 = build_augment('imagenet_byol_device-aug.py', seed=3)(views)
    assert not torch.equal(rank1[0], first[0][0])


def test_default_seed_is_the_run_seed():
    with torch.random.fork_rng():
        torch.manual_seed(1234)  # as MMEngine's randomness.seed=1234 does
        assert build_augment('imagenet_mocov2_device-aug.py', seed=None).seed == 1234


def test_state_dict_resumes_the_stream():
    views = views_batch()
    straight = build_augment('imagenet_mocov2_device-aug.py', seed=5)
    for _ in range(3):
        straight(views)
    state = straight.state_dict()
    assert state == dict(seed=5, step=3)
    expected = [straight(views) for _ in range(2)]
    resumed = build_augment('imagenet_mocov2_device-aug.py', seed=99)
    resumed.load_state_dict(state)
    for want in expected:
        assert all(torch.equal(x, y) for x, y in zip(resumed(views), want))


def test_rng_state_hook_saves_and_restores_it():
    """Through RNGStateHook, as a resumed Runner uses it (restored at the first iteration)."""
    preprocessor = MODELS.build(
        Config.fromfile(osp.join(DATASETS, 'imagenet_mocov2_device-aug.py')).data_preprocessor)
    augment = preprocessor.photometric
    runner = SimpleNamespace(model=SimpleNamespace(data_preprocessor=preprocessor),
                             train_loop=IterBasedTrainLoop.__new__(IterBasedTrainLoop))
    for _ in range(4):
        augment.sample([2, 2])
    checkpoint = {}
    hook = RNGStateHook()
    hook.before_save_checkpoint(runner, checkpoint)
    assert checkpoint['rng_state']['photometric'] == augment.state_dict()
    next_params = augment.sample([2, 2])
    augment.load_state_dict(dict(seed=0, step=0))
    hook.after_load_checkpoint(runner, checkpoint)
    hook.before_train_iter(runner, 0)
    assert augment.state_dict() == checkpoint['rng_state']['photometric']
    again = augment.sample([2, 2])
    assert torch.equal(again[0][0]['factors'], next_params[0][0]['factors'])
    assert torch.equal(again[1][2]['sigma'], next_params[1][2]['sigma'])


def packed_batch(n=4, size=24):
    generator = torch.Generator().manual_seed(0)
    views = [[torch.randint(0, 256, (3, size, size), generator=generator, dtype=torch.uint8)
              for _ in range(n)] for _ in range(2)]
    boxes = [torch.rand(2, 4, generator=generator) for _ in range(n)]
    return dict(inputs=views, data_samples=[BaseDataElement(view_boxes=b) for b in boxes])


def test_preprocessor_augments_training_batches_only():
    cfg = Config.fromfile(osp.join(DATASETS, 'imagenet_byol_device-aug.py')).data_preprocessor
    plain_cfg = cfg.copy()
    plain_cfg.pop('photometric')
    device, plain = MODELS.build(cfg), MODELS.build(plain_cfg)
    data = packed_batch()
    boxes = [s.view_boxes.clone() for s in data['data_samples']]
    evaluated = device(packed_batch(), training=False)
    for got, want in zip(evaluated['inputs'], plain(packed_batch())['inputs']):
        assert torch.equal(got, want)
    assert device.photometric.step == 0
    trained = device(data, training=True)
    assert device.photometric.step == 1
    assert [tuple(v.shape) for v in trained['inputs']] == [(4, 3, 24, 24)] * 2
    # View 1 is always blurred (BYOL): it changed.
    assert not torch.equal(trained['inputs'][0], plain(packed_batch())['inputs'][0])
    for sample, box in zip(trained['data_samples'], boxes):
        assert torch.equal(sample.view_boxes, box)


def test_preprocessor_output_is_the_ops_output_normalised():
    """BGR in, ops on RGB, then the usual BGR -> RGB and normalisation."""
    cfg = Config.fromfile(osp.join(DATASETS, 'imagenet_mocov2_device-aug.py')).data_preprocessor
    preprocessor = MODELS.build(cfg)
    reference = build_augment('imagenet_mocov2_device-aug.py', seed=preprocessor.photometric.seed)
    data = packed_batch()
    rgb = [torch.stack(view)[:, [2, 1, 0]].float() for view in data['inputs']]
    expected = reference(rgb)
    out = preprocessor(data, training=True)['inputs']
    mean = torch.tensor(cfg.mean).view(1, 3, 1, 1)
    std = torch.tensor(cfg.std).view(1, 3, 1, 1)
    for got, want in zip(out, expected):
        torch.testing.assert_close(got, (want - mean) / std)


def test_wrong_number_of_views_is_refused():
    augment = build_augment('imagenet_mocov2_device-aug.py')
    with pytest.raises(ValueError, match='configured for 2 views, the batch has 3'):
        augment.sample([2, 2, 2])
