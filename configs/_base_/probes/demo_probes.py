# The frozen-feature probes of the demo-scale pre-training configs (configs/demo/{default,long,
# curves}/*): FrozenProbeHook (docs/evaluation.md, "Probes during training"). Their data is the
# demo's own, written on first use under data/demo_probes (outside the pre-training data_root,
# which holds only generated image splits; tools/demo.py moves it under its --data-root): an
# ImageNet-layout classification split (object category of each scene; k-NN), 4 synthetic
# DAVIS clips (label propagation) and the k-NN validation images as held-out images
# (correspondence). A config uses the list with its own interval,
# `dict(type='FrozenProbeHook', interval=N, probes={{_base_.demo_probes}})`, or the hook of
# the 20-epoch curves configs, `{{_base_.probe_hook}}` (every 5 epochs).
demo_probes = [
    dict(type='KNNProbe', data_root='data/demo_probes/imagenet', image_size=64,
         demo_data=dict(num_train=128, num_val=64)),
    dict(type='LabelPropagationProbe', davis_root='data/demo_probes/DAVIS',
         max_sequences=4, demo_data=dict(num_train=1, num_val=4, num_frames=8)),
    dict(type='CorrespondenceProbe', image_dir='data/demo_probes/imagenet/val',
         num_images=32, view_size=96),
]
probe_hook = dict(type='FrozenProbeHook', interval=5, probes=demo_probes)
