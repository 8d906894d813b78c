"""tools/analysis/benchmark_dense_loss.py runs and reports what it measured."""
import importlib.util
from pathlib import Path

TOOL = Path(__file__).resolve().parents[2] / 'tools' / 'analysis' / 'benchmark_dense_loss.py'


def test_reports_equal_losses_and_less_held_memory_than_plain_autograd(capsys):
    spec = importlib.util.spec_from_file_location('benchmark_dense_loss', TOOL)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    results = tool.main(['--batch-size', '4', '--cells', '9', '--queue-len', '512',
                         '--dim', '16', '--chunk-size', '8', '--repeats', '1'])
    plain, fused, chunked = (results[k] for k in
                             ('plain autograd', 'info_nce', 'info_nce chunk=8'))
    assert abs(plain['loss'] - fused['loss']) < 1e-5 and abs(plain['loss'] - chunked['loss']) < 1e-5
    # Plain autograd holds at least the 36 x 513 fp32 logits; info_nce the 36 x (16 + 1)
    # gradients.
    assert plain['held'] >= 36 * 513 * 4
    assert fused['held'] == chunked['held'] == 36 * 17 * 4
    out = capsys.readouterr().out
    assert '36 query cells x 512 negatives' in out and '| info_nce chunk=8 |' in out
