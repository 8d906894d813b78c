"""tools/analysis/benchmark_dense_loss.py runs and reports what it measured."""
import importlib.util
from pathlib import Path

TOOL = Path(__file__).resolve().parents[2] / 'tools' / 'analysis' / 'benchmark_dense_loss.py'


def test_reports_equal_losses_and_less_held_memory_when_tiled(capsys):
    spec = importlib.util.spec_from_file_location('benchmark_dense_loss', TOOL)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    results = tool.main(['--batch-size', '4', '--cells', '9', '--queue-len', '512',
                         '--dim', '16', '--chunk-size', '8', '--repeats', '1'])
    plain, tiled = results['untiled'], results['chunk_size=8']
    assert abs(plain['loss'] - tiled['loss']) < 1e-5
    # Untiled holds the 36 x 513 fp32 logits; tiled only the inputs.
    assert plain['held'] >= 36 * 513 * 4 > tiled['held']
    out = capsys.readouterr().out
    assert '36 query cells x 512 negatives' in out and 'tiled / untiled: time' in out
