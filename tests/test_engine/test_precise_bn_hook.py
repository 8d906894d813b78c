"""Precise BN: after the hook every training BN holds the mean of the per-batch means and
unbiased variances of its inputs over the batches used (computed here directly from the
recorded inputs), in one process and averaged over two gloo processes; it runs on the
iteration before each validation and at the end, before the checkpoint is written."""
import os
import socket

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from mmengine.evaluator import BaseMetric, Evaluator
from mmengine.model import BaseModel
from mmengine.registry import DATASETS
from mmengine.runner import Runner
from torch import nn
from torch.utils.data import Dataset

from mmdense.engine.hooks import PreciseBNHook, update_bn_stats


def _direct_stats(inputs):
    """Mean over batches of each channel's batch mean and unbiased variance."""
    means, variances = [], []
    for x in inputs:
        flat = x.transpose(0, 1).reshape(x.shape[1], -1)
        means.append(flat.mean(dim=1))
        variances.append(flat.var(dim=1, unbiased=True))
    return torch.stack(means).mean(0), torch.stack(variances).mean(0)


class TinyNet(BaseModel):
    """BN on the input, a convolution, a BN after it, and a frozen BN that must not move."""

    def __init__(self):
        super().__init__()
        self.bn_in = nn.BatchNorm2d(3)
        self.conv = nn.Conv2d(3, 4, 3)
        self.bn_mid = nn.BatchNorm2d(4)
        self.frozen = nn.BatchNorm2d(4)

    def train(self, mode=True):
        super().train(mode)
        self.frozen.eval()  # as norm_eval / frozen stages do
        return self

    def forward(self, inputs, data_samples=None, mode='tensor'):
        out = self.frozen(self.bn_mid(self.conv(self.bn_in(inputs))))
        return dict(loss=out.pow(2).mean()) if mode == 'loss' else out


def _record_inputs(model):
    seen = {'bn_in': [], 'bn_mid': []}
    handles = [getattr(model, name).register_forward_pre_hook(
        lambda m, args, name=name: seen[name].append(args[0].detach().clone()))
        for name in seen]
    return seen, handles


def _batches(seed, count, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    return [dict(inputs=torch.randn(5, 3, 6, 6, generator=g, dtype=dtype) * (i + 1) + i)
            for i in range(count)]


def test_statistics_are_the_average_of_the_batches():
    torch.manual_seed(0)
    model = TinyNet().double().train()
    frozen_before = model.frozen.running_mean.clone(), model.frozen.running_var.clone()
    momentum = model.bn_mid.momentum
    seen, handles = _record_inputs(model)
    used = update_bn_stats(model, iter(_batches(0, 10)), 4)
    for handle in handles:
        handle.remove()
    assert used == 4 and len(seen['bn_in']) == 4
    for name in seen:
        mean, var = _direct_stats(seen[name])
        bn = getattr(model, name)
        torch.testing.assert_close(bn.running_mean, mean, rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(bn.running_var, var, rtol=1e-12, atol=1e-12)
    # The EMA momentum is restored, and a BN in eval mode keeps its statistics.
    assert model.bn_mid.momentum == momentum
    assert torch.equal(model.frozen.running_mean, frozen_before[0])
    assert torch.equal(model.frozen.running_var, frozen_before[1])
    # Fewer batches than asked: the average is over those there are.
    assert update_bn_stats(model, iter(_batches(1, 2)), 200) == 2


def _worker(rank, port, out):
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    dist.init_process_group('gloo', rank=rank, world_size=2)
    torch.manual_seed(0)  # same weights on both ranks, as DDP keeps them
    model = TinyNet().double().train()
    seen, _ = _record_inputs(model)
    update_bn_stats(model, iter(_batches(10 + rank, 3)), 3)
    torch.save(dict(seen=seen, mean=model.bn_mid.running_mean, var=model.bn_mid.running_var),
               f'{out}/rank{rank}.pth')
    dist.destroy_process_group()


def test_statistics_are_averaged_over_processes(tmp_path):
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    mp.spawn(_worker, args=(port, str(tmp_path)), nprocs=2)
    ranks = [torch.load(tmp_path / f'rank{r}.pth') for r in range(2)]
    # Equal batch counts per rank: the mean over ranks of per-rank averages is the average
    # over all six batches of both ranks.
    mean, var = _direct_stats(ranks[0]['seen']['bn_mid'] + ranks[1]['seen']['bn_mid'])
    for result in ranks:
        torch.testing.assert_close(result['mean'], mean, rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(result['var'], var, rtol=1e-12, atol=1e-12)


@DATASETS.register_module(name='PreciseBNToyData', force=True)
class ToyData(Dataset):

    def __len__(self):
        return 8

    def __getitem__(self, index):
        g = torch.Generator().manual_seed(index)
        return dict(inputs=torch.randn(3, 6, 6, generator=g) + index)


class BNValue(BaseModel):
    """TinyNet with a val step that records the BN mean it evaluates with."""

    def __init__(self):
        super().__init__()
        self.net = TinyNet()
        self.evaluated_with = []

    def forward(self, inputs, data_samples=None, mode='tensor'):
        if mode == 'loss':
            return self.net(inputs, mode='loss')
        self.evaluated_with.append(self.net.bn_mid.running_mean.clone())
        return [dict()]


class NoMetric(BaseMetric):
    """A metric that measures nothing: the test only needs the validation loop to run."""

    def process(self, data_batch, data_samples):
        self.results.append(0)

    def compute_metrics(self, results):
        return {}


def test_runs_before_each_validation_and_the_last_checkpoint(tmp_path, monkeypatch):
    calls = []
    original = update_bn_stats

    def spy(model, batches, num_iters, forward=None):
        used = original(model, batches, num_iters, forward)
        calls.append(model.net.bn_mid.running_mean.clone())
        return used

    monkeypatch.setattr('mmdense.engine.hooks.precise_bn_hook.update_bn_stats', spy)
    model = BNValue()
    loader = dict(dataset=dict(type='PreciseBNToyData'), batch_size=4,
                  sampler=dict(type='InfiniteSampler', shuffle=True),
                  collate_fn=dict(type='default_collate'))
    runner = Runner(
        model=model, work_dir=str(tmp_path), train_dataloader=loader,
        val_dataloader=dict(loader, sampler=dict(type='DefaultSampler', shuffle=False)),
        val_evaluator=Evaluator([NoMetric()]), val_cfg=dict(),
        train_cfg=dict(by_epoch=False, max_iters=7, val_interval=3),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        custom_hooks=[dict(type='mmdense.PreciseBNHook', num_iters=2)],
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=7)),
        default_scope='mmdense', cfg=dict(train_dataloader=loader))
    runner.train()
    # Validation after iterations 3 and 6, and the end at 7: three runs; each validation
    # used the statistics precise BN had just set.
    assert len(calls) == 3
    assert len(model.evaluated_with) >= 2
    assert torch.equal(model.evaluated_with[0], calls[0])
    # The checkpoint written after the last iteration holds the precise statistics.
    saved = torch.load(tmp_path / 'iter_7.pth', weights_only=False)['state_dict']
    assert torch.equal(saved['net.bn_mid.running_mean'], calls[-1])


def test_rejects_a_non_positive_count():
    with pytest.raises(ValueError, match='num_iters'):
        PreciseBNHook(num_iters=0)
