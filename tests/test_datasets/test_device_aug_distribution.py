"""End to end, the device pipeline (worker crop + flip, batched photometric ops in the data
preprocessor) gives views distributed as the CPU pipeline's: per view and channel, the mean,
the standard deviation and the mean horizontal gradient (sharpness, which the blur changes) of
many draws of one image pass two-sample KS tests, and the same test rejects a device pipeline
whose jitter or blur probability is wrong."""
import os.path as osp
import random

import numpy as np
import pytest
import torch
from mmengine.config import Config
from scipy.stats import ks_2samp

from mmdense.datasets.demo.scenes import render_scene
from mmdense.registry import MODELS, TRANSFORMS

DATASETS = osp.join(osp.dirname(__file__), '..', '..', 'configs', '_base_', 'datasets')
DRAWS = 400
P_MIN = 1e-3  # 18 KS tests per pair of pipelines


def view_statistics(config: str, image: np.ndarray, seed: int, edit=None) -> torch.Tensor:
    """``(V, DRAWS, 3 channels, 3 statistics)`` of the normalised views the model receives."""
    cfg = Config.fromfile(osp.join(DATASETS, config))
    if edit is not None:
        edit(cfg)
    multi_view, pack = (TRANSFORMS.build(t) for t in cfg.train_pipeline[1:])
    np.random.seed(seed)
    random.seed(seed)
    torch.manual_seed(seed)
    preprocessor = MODELS.build(cfg.data_preprocessor)
    items = [pack(multi_view(dict(img=image, img_shape=image.shape[:2])))
             for _ in range(DRAWS)]
    views = [[item['inputs'][v] for item in items] for v in range(2)]
    data = dict(inputs=views, data_samples=[item['data_samples'] for item in items])
    out = preprocessor(data, training=True)['inputs']
    return torch.stack([
        torch.stack([v.mean((2, 3)), v.std((2, 3)),
                     (v[..., 1:] - v[..., :-1]).abs().mean((2, 3))], dim=-1) for v in out])


def smallest_p(a: torch.Tensor, b: torch.Tensor, view: int | None = None) -> float:
    views = range(a.shape[0]) if view is None else [view]
    return min(ks_2samp(a[v, :, c, s].numpy(), b[v, :, c, s].numpy()).pvalue
               for v in views for c in range(3) for s in range(3))


@pytest.fixture(scope='module', autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope='module')
def image() -> np.ndarray:
    return render_scene(np.random.default_rng(0), 96, 'street')[0]


def set_prob(op_index: int, prob: float):
    def edit(cfg):
        for ops in cfg.data_preprocessor.photometric.transforms:
            ops[op_index]['prob'] = prob
    return edit


@pytest.mark.parametrize('family', ['mocov2', 'byol'])
def test_device_views_are_distributed_as_cpu_views(image, family):
    cpu = view_statistics(f'demo_{family}.py', image, seed=0)
    device = view_statistics(f'demo_{family}_device-aug.py', image, seed=1)
    assert cpu.shape == device.shape == (2, DRAWS, 3, 3)
    assert smallest_p(cpu, device) > P_MIN
    # The test can tell: too little jitter is rejected on both views ...
    less_jitter = view_statistics(f'demo_{family}_device-aug.py', image, 2, set_prob(0, 0.4))
    assert smallest_p(cpu, less_jitter, view=0) < P_MIN
    assert smallest_p(cpu, less_jitter, view=1) < P_MIN
    if family == 'byol':
        # ... and so is a view 1 that is not always blurred (MoCo's demo blur is too weak,
        # sigma <= 0.57 px, for these statistics to see).
        no_blur = view_statistics(f'demo_{family}_device-aug.py', image, 2, set_prob(2, 0.))
        assert smallest_p(cpu, no_blur, view=0) < P_MIN
