"""``make demo``: pre-train on the built-in demo data, transfer to mmseg, report (docs/demo.md).
Its scales are config files under ``configs/demo/``; the figure is :mod:`mmdense.demo.plot`."""
from .plot import plot_demo, similarity_map
from .report import aggregate_runs, results_table
from .run import load_scale, main, run_demo

__all__ = ['load_scale', 'run_demo', 'main', 'results_table', 'aggregate_runs', 'plot_demo',
           'similarity_map']
