"""Throughput and memory measurements (training steps, data pipelines, what a graph keeps for
backward) and the mmpretrain reference models they compare against; used by ``tools/analysis/``
and the tests, not by training."""
