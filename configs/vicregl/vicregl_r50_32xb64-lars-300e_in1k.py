# VICRegL R50, alpha 0.75, the authors' released recipe (README, SLURM command): 300 epochs on
# ImageNet-1k, 32 GPUs x 64 = 2048, two 224 px crops of scale (0.08, 1), LARS base lr 0.2 per
# 256, wd 1e-6, 10 warm-up epochs, cosine to lr / 1000 (lars_coslr-300e_vicregl.py).
_base_ = [
    '../_base_/models/vicregl_r50.py',
    '../_base_/datasets/imagenet_vicregl.py',
    '../_base_/schedules/lars_coslr-300e_vicregl.py',
    '../_base_/default_runtime.py',
]

model = dict(alpha=0.75)
default_hooks = dict(checkpoint=dict(interval=10, max_keep_ckpts=3))
