# The frozen-feature probes of the demo-scale pre-training configs (configs/demo/default/*):
# FrozenProbeHook (docs/evaluation.md, "Probes during training") before training and every 5
# epochs. Their data is the demo's own, written on first use under data/demo_probes (outside
# the pre-training data_root, which holds only generated image splits): an ImageNet-layout
# classification split (object category of each scene; k-NN), 4 synthetic DAVIS clips
# (label propagation) and the k-NN validation images as held-out images (correspondence).
# A config uses it as `custom_hooks = [..., {{_base_.probe_hook}}]`.
probe_hook = dict(
    type='FrozenProbeHook',
    interval=5,
    probes=[
        dict(type='KNNProbe', data_root='data/demo_probes/imagenet', image_size=64,
             demo_data=dict(num_train=128, num_val=64)),
        dict(type='LabelPropagationProbe', davis_root='data/demo_probes/DAVIS',
             max_sequences=4, demo_data=dict(num_train=1, num_val=4, num_frames=8)),
        dict(type='CorrespondenceProbe', image_dir='data/demo_probes/imagenet/val',
             num_images=32, view_size=96),
    ])
