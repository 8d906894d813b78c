# `make demo` at its default scale (docs/demo.md). A scale names the pre-training configs (one
# table row each), the fine-tuning config and the labelled split the demo writes; each named
# config is the complete record of its runs (`tools/train.py
# configs/demo/default/densecl_r18_demo-default.py` is the demo's DenseCL pre-training);
# tools/demo.py only sets data roots, work dirs and seeds. Paths are relative to this file.
name = 'default'
pretrain = {
    'DenseCL': 'default/densecl_r18_demo-default.py',
    'MoCo v2': 'default/mocov2_r18_demo-default.py',
}
finetune = '../benchmarks/mmseg/fcn_r18-d8_1xb4-300it_demo-ade20k-64x64.py'
labelled = dict(num_train=96, num_val=48, image_size=64)
