# `tools/demo.py --quick`: the smallest scale, about a minute; every step runs, the numbers mean
# nothing (tests/test_demo/test_demo_quick.py). Paths are relative to this file.
_base_ = './default.py'

name = 'quick'
pretrain = {
    'DenseCL': 'quick/densecl_r18_demo-quick.py',
    'MoCo v2': 'quick/mocov2_r18_demo-quick.py',
    'PixPro': 'quick/pixpro_r18_demo-quick.py',
}
finetune = 'quick/fcn_r18-d8_1xb4-4it_demo-quick.py'
protocols = ['fine-tuned', 'frozen']
runs = 1
labelled = dict(num_train=8, num_val=4, image_size=64)
