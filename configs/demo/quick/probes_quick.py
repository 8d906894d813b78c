# The demo's probes at the quick scale (configs/demo/quick/*): the probes of
# ../../_base_/probes/demo_probes.py on the smallest data that exercises each (16/8 k-NN
# images, one clip of 4 frames, 4 view pairs). tools/demo.py moves their data under its
# --data-root, as it does the default scale's.
quick_probes = [
    dict(type='KNNProbe', data_root='data/demo_probes/quick/imagenet', image_size=64, k=5,
         demo_data=dict(num_train=16, num_val=8)),
    dict(type='LabelPropagationProbe', davis_root='data/demo_probes/quick/DAVIS',
         max_sequences=1, demo_data=dict(num_train=1, num_val=1, num_frames=4)),
    dict(type='CorrespondenceProbe', image_dir='data/demo_probes/quick/imagenet/val',
         num_images=4, view_size=64),
]
