# `tools/demo.py --long` (docs/demo.md), about an hour on 2 CPU cores: the default scale with
# 40 pre-training epochs instead of 12, FCN-R18 for 300 iterations, and both transfer protocols.
_base_ = './default.py'

name = 'long'
pretrain = {
    'DenseCL': 'long/densecl_r18_demo-long.py',
    'MoCo v2': 'long/mocov2_r18_demo-long.py',
    'PixPro': 'long/pixpro_r18_demo-long.py',
}
finetune = '../benchmarks/mmseg/fcn_r18-d8_1xb4-300it_demo-ade20k-64x64.py'
protocols = ['fine-tuned', 'frozen']
