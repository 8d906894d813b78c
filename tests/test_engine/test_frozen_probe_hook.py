"""Frozen-feature probes during training: the k-NN and label-propagation probes agree with
the stand-alone tools on the same weights, leave the training backbone untouched, and the
hook runs them before training and at its interval, into the log, scalars.json and
TensorBoard."""
import glob
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from mmdet.models.backbones import ResNet

from mmdense.apis import main as train_main
from mmdense.datasets.demo.classification import generate_classification_data
from mmdense.datasets.demo.davis import generate_davis_demo_data
from mmdense.evaluation.davis_benchmark import main as davis_main
from mmdense.evaluation.frozen_backbone import load_backbone_state
from mmdense.evaluation.knn import knn_votes, topk_accuracy
from mmdense.evaluation.knn_probe import KNNProbe
from mmdense.evaluation.label_propagation_probe import LabelPropagationProbe
from mmdense.utils import ConfigError

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope='module')
def probe_data(tmp_path_factory):
    root = tmp_path_factory.mktemp('probe_data')
    return dict(imagenet=generate_classification_data(str(root), num_train=16, num_val=8),
                davis=generate_davis_demo_data(str(root), num_val=2, num_frames=5))


def _training_backbone(checkpoint):
    """The demo backbone as training holds it: train mode, gradients on."""
    backbone = ResNet(18, norm_eval=False)
    backbone.load_state_dict(load_backbone_state(str(checkpoint)), strict=False)
    backbone.train()
    return backbone


def test_probes_leave_the_training_backbone_untouched(probe_data, pretrain_checkpoint):
    backbone = _training_backbone(pretrain_checkpoint)
    before = {k: v.clone() for k, v in backbone.state_dict().items()}
    knn = KNNProbe(probe_data['imagenet'])
    first = knn(backbone)
    davis = LabelPropagationProbe(probe_data['davis'])
    scores = davis(backbone)
    assert 0 <= first['knn_top1'] <= 100 and knn(backbone) == first  # deterministic
    assert set(scores) == {'davis_jf', 'davis_j', 'davis_f'}
    assert all(0 <= v <= 100 for v in scores.values())
    assert scores['davis_jf'] == pytest.approx((scores['davis_j'] + scores['davis_f']) / 2)
    assert backbone.training and all(m.training for m in backbone.modules())
    assert all(p.requires_grad for p in backbone.parameters())
    after = backbone.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # BN statistics included


def test_knn_probe_is_the_knn_rule_on_its_features(probe_data, pretrain_checkpoint):
    """Features recomputed here with the same preprocessing give the probe's number."""
    backbone = _training_backbone(pretrain_checkpoint)
    probe = KNNProbe(probe_data['imagenet'], k=5, temperature=0.1)
    data = probe._images()
    model = ResNet(18, out_indices=(3, ))
    model.load_state_dict(backbone.state_dict())
    model.eval()
    with torch.no_grad():
        bank = model(data['train'][0])[-1].mean(dim=(2, 3))
        queries = model(data['val'][0])[-1].mean(dim=(2, 3))
    votes = knn_votes(queries, bank, data['train'][1], 4, k=5, temperature=0.1)
    expected = topk_accuracy(votes, data['val'][1], (1, ))['top1']
    assert probe(backbone)['knn_top1'] == pytest.approx(expected)


def test_label_propagation_probe_matches_the_benchmark_tool(probe_data, pretrain_checkpoint,
                                                            tmp_path):
    out = tmp_path / 'davis'
    results = davis_main(['--davis-root', probe_data['davis'], '--checkpoint',
                          str(pretrain_checkpoint), '--out', str(out), '--short-side', '64',
                          '--device', 'cpu'])
    probe = LabelPropagationProbe(probe_data['davis'], short_side=64)
    scores = probe(_training_backbone(pretrain_checkpoint))
    assert scores['davis_jf'] == pytest.approx(100 * results['JF'], abs=1e-9)
    assert scores['davis_j'] == pytest.approx(100 * results['J'], abs=1e-9)


def test_demo_data_roots_are_checked(tmp_path):
    with pytest.raises(ConfigError, match='must end in imagenet'):
        KNNProbe(str(tmp_path / 'cls'), demo_data={})
    with pytest.raises(ConfigError, match='must end in DAVIS'):
        LabelPropagationProbe(str(tmp_path / 'videos'), demo_data={})
    with pytest.raises(ConfigError, match='meta/train.txt'):
        KNNProbe(str(tmp_path))(ResNet(18))
    probe = KNNProbe(str(tmp_path / 'x' / 'imagenet'), demo_data=dict(num_train=4, num_val=2))
    assert len(probe._images()['val'][1]) == 2


def test_hook_logs_probes_before_training_and_at_its_interval(probe_data, tmp_path):
    config = tmp_path / 'densecl_with_probes.py'
    config.write_text(
        f"_base_ = {str(REPO / 'configs' / 'densecl' / 'densecl_r18_demo.py')!r}\n"
        "custom_hooks = [dict(type='DenseCLWarmupHook', start_iters=2),\n"
        "                dict(type='FrozenProbeHook', interval=2, probes=[\n"
        f"                    dict(type='KNNProbe', data_root={probe_data['imagenet']!r}),\n"
        "                    dict(type='LabelPropagationProbe',\n"
        f"                         davis_root={probe_data['davis']!r})])]\n")
    work_dir = tmp_path / 'run'
    options = [f'train_dataloader.dataset.data_root={tmp_path / "d"}',
               'train_dataloader.dataset.num_images=4', 'train_dataloader.batch_size=2',
               'model.queue_len=2', 'train_dataloader.num_workers=0', 'train_cfg.max_epochs=3',
               'default_hooks.logger.interval=1', 'default_hooks.checkpoint.interval=3',
               'custom_hooks.0.start_iters=2', 'randomness.seed=0']
    train_main([str(config), '--work-dir', str(work_dir), '--tensorboard', '--cfg-options',
                *options, 'experiment_name=probe_run', 'visualizer.name=probe_run'])
    # The same run without the probes trains to the same weights: probing draws nothing
    # from the global random generators training uses.
    plain = tmp_path / 'plain'
    train_main([str(REPO / 'configs' / 'densecl' / 'densecl_r18_demo.py'), '--work-dir',
                str(plain), '--cfg-options', *options, 'experiment_name=plain_run',
                'visualizer.name=plain_run'])
    probed_state = torch.load(work_dir / 'epoch_3.pth', weights_only=False)['state_dict']
    plain_state = torch.load(plain / 'epoch_3.pth', weights_only=False)['state_dict']
    assert all(torch.equal(probed_state[k], plain_state[k]) for k in plain_state)
    log = '\n'.join(Path(p).read_text() for p in glob.glob(str(work_dir / '*' / '*.log')))
    # Before training, after epoch 2 (the interval) and after the last epoch, 3.
    assert [line.split('Probe (')[1].split(')')[0] for line in log.splitlines()
            if 'Probe (' in line] == ['epoch 0, iter 0', 'epoch 2, iter 4', 'epoch 3, iter 6']
    scalars = [json.loads(line) for path in glob.glob(str(work_dir / '*/vis_data/scalars.json'))
               for line in open(path)]
    probed = [s for s in scalars if 'probe/knn_top1' in s]
    assert [s['step'] for s in probed] == [0, 4, 6]
    assert all(0 <= s['probe/davis_jf'] <= 100 and s['probe/seconds'] > 0 for s in probed)
    # TensorBoard got them too.
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    events = glob.glob(str(work_dir / '*' / 'vis_data' / '**' / 'events.out.tfevents.*'),
                       recursive=True)
    assert events
    accumulator = EventAccumulator(str(Path(events[0]).parent))
    accumulator.Reload()
    assert 'probe/knn_top1' in accumulator.Tags()['scalars']
    assert np.isfinite([e.value for e in accumulator.Scalars('probe/davis_jf')]).all()
