"""The weighted k-NN probe: against lightly's knn_predict (an implementation we did not
write, same InstDisc/DINO rule), against a hand case, and end to end from a tools/train.py
checkpoint through tools/benchmarks/knn.py on the tiny ImageNet-layout data."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from lightly.utils.benchmarking import knn_predict

from mmdense.datasets.demo.classification import CLASSES, generate_classification_data
from mmdense.evaluation.knn import knn_votes, topk_accuracy
from mmdense.transfer.benchmark_results import results_table, summarise_work_dir

REPO = Path(__file__).resolve().parents[2]
DEMO_CONFIG = (REPO / 'configs' / 'benchmarks' / 'mmpretrain' /
               'resnet18_linear-steplr_1xb8-5e_demo-in1k.py')


@pytest.mark.parametrize('k, temperature', [(20, 0.07), (5, 0.5), (200, 0.1)])
def test_ranking_matches_lightly(k, temperature):
    torch.manual_seed(0)
    num_classes = 10
    bank = torch.randn(300, 16, dtype=torch.float64)
    labels = torch.randint(num_classes, (300, ))
    queries = torch.randn(50, 16, dtype=torch.float64)
    ours = knn_votes(queries, bank, labels, num_classes, k=k, temperature=temperature, chunk=7)
    # lightly takes L2-normalised features and the bank as (D, N).
    theirs = knn_predict(torch.nn.functional.normalize(queries, dim=1),
                         torch.nn.functional.normalize(bank, dim=1).t(), labels, num_classes,
                         knn_k=k, knn_t=temperature)
    assert torch.equal(ours.argsort(dim=1, descending=True), theirs)


def test_votes_by_hand():
    # Bank on the unit circle; the query at angle 0 has neighbours at 0.1 (class 1), 0.2
    # (class 0) and 2.0 rad (class 0); k=2 keeps the first two.
    angles = torch.tensor([0.1, 0.2, 2.0], dtype=torch.float64)
    bank = torch.stack([angles.cos(), angles.sin()], dim=1) * 3.0  # norm does not matter
    labels = torch.tensor([1, 0, 0])
    votes = knn_votes(torch.tensor([[1.0, 0.0]], dtype=torch.float64), bank, labels, 3, k=2,
                      temperature=0.5)
    expected = torch.tensor([[torch.exp(torch.cos(torch.tensor(0.2)) / 0.5),
                              torch.exp(torch.cos(torch.tensor(0.1)) / 0.5), 0.0]],
                            dtype=torch.float64)
    assert torch.allclose(votes, expected, rtol=1e-6)
    # Top-1 picks class 1; with 3 classes top-5 is left out, top-2 includes class 0.
    assert topk_accuracy(votes, torch.tensor([1]), (1, 2, 5)) == {'top1': 100.0, 'top2': 100.0}
    assert topk_accuracy(votes, torch.tensor([0]), (1, 2)) == {'top1': 0.0, 'top2': 100.0}
    with pytest.raises(ValueError, match='k >= 1'):
        knn_votes(bank, bank, labels, 3, k=0)


def test_knn_cli_from_training_checkpoint(pretrain_checkpoint, tmp_path):
    generate_classification_data(str(tmp_path / 'data' / 'demo_labelled'))
    work_dir = tmp_path / 'knn'
    result = subprocess.run(
        [sys.executable, str(REPO / 'tools' / 'benchmarks' / 'knn.py'), str(DEMO_CONFIG),
         str(pretrain_checkpoint), '--work-dir', str(work_dir), '--device', 'cpu'],
        cwd=tmp_path, capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=str(REPO)))
    assert result.returncode == 0, result.stderr[-3000:]
    assert 'k-NN (k=20, T=0.07) over 32 training images, 16 queries: top1' in result.stdout
    record = json.loads((work_dir / 'knn_results.json').read_text())
    assert record['bank_size'] == 32 and record['queries'] == 16
    assert record['num_classes'] == len(CLASSES) and record['feature_dim'] == 512
    assert 0.0 <= record['top1'] <= 100.0 and 'top5' not in record  # 4 classes
    assert record['pretrain'] == str(pretrain_checkpoint)
    # collect_results tabulates it.
    row = summarise_work_dir(str(work_dir))
    assert row['task'] == 'knn' and row['k-NN top-1'] == f"{record['top1']:.1f}"
    assert row['config'] == DEMO_CONFIG.stem
    assert '| Config | Work dir | Pretrain | k-NN top-1 |' in results_table([str(work_dir)])
    # A mis-sized backbone is refused with the reason, not probed half-loaded.
    bad = subprocess.run(
        [sys.executable, str(REPO / 'tools' / 'benchmarks' / 'knn.py'), str(DEMO_CONFIG),
         str(pretrain_checkpoint), '--work-dir', str(tmp_path / 'bad'),
         '--cfg-options', 'model.backbone.depth=34'],
        cwd=tmp_path, capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=str(REPO)))
    assert bad.returncode == 2, bad.stderr[-3000:]
    assert 'backbone tensors did not load' in bad.stderr
