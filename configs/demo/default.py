# `make demo` at its default scale (docs/demo.md), about 15 minutes on 2 CPU cores: DenseCL,
# MoCo v2 and PixPro pre-trained 3 times (seeds 0, 1, 2), the frozen-feature probes of every
# backbone and of random init, and FCN-R18 fine-tuned from each, two jobs at a time. Each named
# config is the complete record of its runs (`tools/train.py
# configs/demo/default/densecl_r18_demo-default.py` is the demo's first DenseCL run);
# tools/demo.py only sets data roots, work dirs and seeds. Paths are relative to this file.
name = 'default'
pretrain = {
    'DenseCL': 'default/densecl_r18_demo-default.py',
    'MoCo v2': 'default/mocov2_r18_demo-default.py',
    'PixPro': 'default/pixpro_r18_demo-default.py',
}
finetune = '../benchmarks/mmseg/fcn_r18-d8_1xb4-150it_demo-ade20k-64x64.py'
# Transfer protocols run from every start: 'fine-tuned' (every weight trains) and/or 'frozen'
# (frozen_stages=4: only the FCN heads train).
protocols = ['fine-tuned']
runs = 3
labelled = dict(num_train=96, num_val=48, image_size=64)
# The random-init row's probes: this row's backbone (architecture and initialisation: mmdet's
# ResNet-18 with its Kaiming fan-out init, the scheme of mmseg's random-init FCN) and probes,
# before any training, with each run's seed.
random_init_from = 'MoCo v2'
# The comparison the verdict is about, fixed before the demo was first run (docs/demo.md):
# each method against random init on these metrics, Welch's t-test over the runs at `alpha`;
# `pairs` are also compared with each other (DenseCL's claim over its global baseline).
verdict = dict(headline=['corr_res4', 'davis_jf'], methods=['DenseCL', 'PixPro'],
               baseline='Random init', alpha=0.05, pairs=[['DenseCL', 'MoCo v2']])
