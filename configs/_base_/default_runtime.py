default_scope = 'mmdense'

default_hooks = dict(
    runtime_info=dict(type='RuntimeInfoHook'),
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # Written atomically (temporary file, fsync, rename): a kill during a save leaves the
    # previous checkpoint intact. For remote `out_dir`s, set backend_args for that store.
    checkpoint=dict(type='CheckpointHook', interval=10, max_keep_ckpts=3,
                    backend_args=dict(backend='atomic_local')),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    # Stop on a NaN/Inf loss and never checkpoint non-finite weights (reads its device
    # flags at the logger's interval); put the generator states into every checkpoint, so
    # `--resume` continues exactly (docs/reliability.md).
    non_finite_loss=dict(type='NonFiniteLossHook'),
    rng_state=dict(type='RNGStateHook'),
)

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    # timeout (seconds): how long a collective waits for a rank that died or hangs
    # before raising, instead of blocking the other ranks forever.
    dist_cfg=dict(backend='nccl', timeout=1800),
)

log_processor = dict(window_size=10)
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='Visualizer', vis_backends=vis_backends, name='visualizer')
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=None, deterministic=False)
