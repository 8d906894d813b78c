# VICRegL's ResNet schedule (the authors' main_vicregl.py, optimizers.py and utils.py, released
# R50 command): LARS base lr 0.2 per 256 (1.6 at 2048), momentum 0.9, eta 1e-3, weight decay
# 1e-6 (hard-coded; --weight-decay is only read for AdamW), 1-D parameters (biases, norm
# weights) excluded from decay and adaptation; per-step linear warm-up from 0 over 10 epochs
# (mmengine's LinearLR needs a positive start factor: 1e-4), then cosine to end_lr_ratio 0.001
# of the peak; 300 epochs. The authors train with fp16: `tools/train.py --amp` (GPU only).
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='LARS', lr=0.2 * 2048 / 256, momentum=0.9, weight_decay=1e-6,
                   trust_coef=0.001, exclude_1d=True))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-4, by_epoch=True, begin=0, end=10,
         convert_to_iter_based=True),
    # No `end`: the cosine runs to the loop's max_epochs.
    dict(type='CosineAnnealingLR', eta_min_ratio=0.001, by_epoch=True, begin=10,
         convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=300)
# `tools/train.py --auto-scale-lr` rescales lr linearly to the actual total batch.
auto_scale_lr = dict(base_batch_size=2048, enable=False)
