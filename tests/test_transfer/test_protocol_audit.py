"""The mmdense column of docs/transfer_protocols.md: what each built benchmark config holds.

One dict per benchmark config below mirrors the rows of its table in
``docs/transfer_protocols.md`` (the dict key is named in each row). The values are read from
``Config.fromfile`` and from the model built on CPU (SyncBN layers construct without CUDA),
so a change of the configs or of the mmdet/mmseg bases they inherit shows up here. Where the
document lists a difference to fix, the dict holds today's value: when a fix is applied,
change the dict entry and the table row together.
"""
import re
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import MODELS, DefaultScope
from torch import nn

REPO = Path(__file__).resolve().parents[2]
BENCHMARKS = REPO / 'configs' / 'benchmarks'
DOC = REPO / 'docs' / 'transfer_protocols.md'

IMAGENET_RGB = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], bgr_to_rgb=True)
SYNCBN = 'SyncBatchNorm'
VOC_IOUS = [0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95]

# --- detection: MoCo / DenseCL / PixPro detectron2 configs --------------------------------
VOC_C4 = dict(
    config='mmdet/faster-rcnn_r50-c4_syncbn_8xb2-24k_voc0712.py',
    input=IMAGENET_RGB,
    pad_size_divisor=32,
    style='pytorch',
    stem='7x7',
    backbone_stages=3,
    frozen_stages=-1,
    norm_eval=False,
    norm=dict(backbone=SYNCBN, res5_head=SYNCBN, extra_norm=SYNCBN, box_head=None,
              mask_head=None),
    res5_head='ResLayerExtraNorm',
    rpn_train=dict(nms_pre=12000, max_per_img=2000, nms=0.7),
    rpn_test=dict(nms_pre=6000, max_per_img=1000, nms=0.7),
    rpn_allowed_border=-1,
    rpn_sampler=dict(num=256, pos_fraction=0.5),
    roi_align=dict(box=(14, 0, True), mask=None),
    box_head=dict(type='BBoxHead', convs=0, fcs=0, in_channels=2048, with_avg_pool=True),
    mask_head=None,
    rcnn_sampler=dict(num=512, pos_fraction=0.25, add_gt_as_proposals=True),
    rcnn_match_low_quality=False,
    rcnn_test=dict(score_thr=0.05, nms=0.5, max_per_img=100),
    train_pipeline=['LoadImageFromFile', 'LoadAnnotations', 'RandomChoiceResize', 'RandomFlip',
                    'mmdense.KeepDifficultBoxes', 'PackDetInputs'],
    train_scales=[(1333, s) for s in range(480, 801, 32)],
    flip=0.5,
    test_scale=(1333, 800),
    gpus=8,
    batch_per_gpu=2,
    optimizer=dict(type='SGD', lr=0.02, momentum=0.9, weight_decay=1e-4),
    norm_decay_mult=0.0,
    warmup=dict(start_factor=0.001, end=100),
    steps=dict(milestones=[18000, 22000], gamma=0.1, by_epoch=False),
    loop=dict(type='IterBasedTrainLoop', max_iters=24000, val_interval=24000),
    evaluator=dict(type='VOCMetric', metric='mAP', eval_mode='11points', iou_thrs=VOC_IOUS),
    precise_bn_iters=200,
    amp=False,
)
COCO_C4_1X = dict(
    VOC_C4,
    config='mmdet/mask-rcnn_r50-c4_syncbn_8xb2-1x_coco.py',
    norm=dict(backbone=SYNCBN, res5_head=SYNCBN, extra_norm=SYNCBN, box_head=None,
              mask_head=None),
    rpn_allowed_border=-1,
    mask_head=dict(convs=0, conv_out_channels=256, in_channels=2048, mask_size=14),
    train_pipeline=['LoadImageFromFile', 'LoadAnnotations', 'RandomChoiceResize', 'RandomFlip',
                    'PackDetInputs'],
    train_scales=[(1333, s) for s in range(640, 801, 32)],
    warmup=dict(start_factor=0.001, end=1000),
    steps=dict(milestones=[8, 11], gamma=0.1, by_epoch=True),
    loop=dict(type='EpochBasedTrainLoop', max_epochs=12, val_interval=12),
    evaluator=dict(type='CocoMetric', metric=['bbox', 'segm']),
)
COCO_FPN_1X = dict(
    COCO_C4_1X,
    config='mmdet/mask-rcnn_r50_fpn_syncbn_8xb2-1x_coco.py',
    backbone_stages=4,
    norm=dict(backbone=SYNCBN, fpn=SYNCBN, box_head=SYNCBN, mask_head=SYNCBN),
    res5_head=None,
    rpn_train=dict(nms_pre=2000, max_per_img=1000, nms=0.7),
    rpn_test=dict(nms_pre=1000, max_per_img=1000, nms=0.7),
    rpn_allowed_border=-1,
    roi_align=dict(box=(7, 0, True), mask=(14, 0, True)),
    box_head=dict(type='Shared4Conv1FCBBoxHead', convs=4, fcs=1, conv_out_channels=256,
                  fc_out_channels=1024, in_channels=256, with_avg_pool=False),
    mask_head=dict(convs=4, conv_out_channels=256, in_channels=256, mask_size=28),
    rcnn_match_low_quality=False,
)
COCO_FPN_2X = dict(
    COCO_FPN_1X,
    config='mmdet/mask-rcnn_r50_fpn_syncbn_8xb2-2x_coco.py',
    steps=dict(milestones=[16, 22], gamma=0.1, by_epoch=True),
    loop=dict(type='EpochBasedTrainLoop', max_epochs=24, val_interval=24),
)

# --- segmentation: DenseCL's mmseg fork, SlotCon's mmseg configs, mmseg's own --------------
CITYSCAPES_FCN = dict(
    config='mmseg/fcn_r50-d8_syncbn_4xb2-40k_cityscapes-769x769.py',
    input=IMAGENET_RGB,
    pad_to=(769, 769),
    backbone_type='ResNet',
    model_pretrained=None,
    stem='7x7',
    style='pytorch',
    frozen_stages=-1,
    norm_eval=False,
    strides=(1, 2, 1, 1),
    dilations=(1, 1, 2, 4),
    contract_dilation=True,
    block_dilations=dict(layer3=[1, 2, 2, 2, 2, 2], layer4=[2, 4, 4]),
    norm=dict(backbone=SYNCBN, decode_head=SYNCBN, auxiliary_head=SYNCBN),
    decode_head=dict(type='FCNHead', in_index=3, channels=512, num_convs=2, concat_input=True,
                     dropout_ratio=0.1, num_classes=19, align_corners=True),
    auxiliary_head=dict(type='FCNHead', in_index=2, channels=256, num_convs=1,
                        concat_input=False, dropout_ratio=0.1, loss_weight=0.4),
    train_resize=dict(scale=(2049, 1025), ratio_range=(0.5, 2.0)),
    crop=dict(crop_size=(769, 769), cat_max_ratio=0.75),
    train_pipeline=['LoadImageFromFile', 'LoadAnnotations', 'RandomResize', 'RandomCrop',
                    'RandomFlip', 'PhotoMetricDistortion', 'PackSegInputs'],
    flip=0.5,
    test_scale=(2049, 1025),
    test_cfg=dict(mode='slide', crop_size=(769, 769), stride=(513, 513)),
    gpus=4,
    batch_per_gpu=2,
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=5e-4),
    poly=dict(power=0.9, eta_min=1e-4),
    loop=dict(type='IterBasedTrainLoop', max_iters=40000, val_interval=4000),
    evaluator=dict(type='IoUMetric', iou_metrics=['mIoU']),
    amp=False,
)
VOC12_FCN = dict(
    CITYSCAPES_FCN,
    config='mmseg/fcn_r50-d8_syncbn_4xb4-20k_voc12aug-512x512.py',
    pad_to=(512, 512),
    decode_head=dict(CITYSCAPES_FCN['decode_head'], num_classes=21, align_corners=False),
    train_resize=dict(scale=(2048, 512), ratio_range=(0.5, 2.0)),
    crop=dict(crop_size=(512, 512), cat_max_ratio=0.75),
    train_pipeline=['LoadImageFromFile', 'LoadAnnotations', 'RandomResize', 'RandomCrop',
                    'RandomFlip', 'PhotoMetricDistortion', 'Pad', 'PackSegInputs'],
    train_sets=[('SegmentationClass', 'ImageSets/Segmentation/train.txt'),
                ('SegmentationClassAug', 'ImageSets/Segmentation/aug.txt')],
    test_scale=(2048, 512),
    test_cfg=dict(mode='whole'),
    batch_per_gpu=4,
    loop=dict(type='IterBasedTrainLoop', max_iters=20000, val_interval=2000),
)
ADE_FCN = dict(
    VOC12_FCN,
    config='mmseg/fcn_r50-d8_syncbn_4xb4-80k_ade20k-512x512.py',
    decode_head=dict(CITYSCAPES_FCN['decode_head'], num_classes=150, align_corners=False),
    train_pipeline=['LoadImageFromFile', 'LoadAnnotations', 'RandomResize', 'RandomCrop',
                    'RandomFlip', 'PhotoMetricDistortion', 'PackSegInputs'],
    train_sets=None,
    reduce_zero_label=True,
    loop=dict(type='IterBasedTrainLoop', max_iters=80000, val_interval=8000),
)
ADE_UPERNET = dict(
    ADE_FCN,
    config='mmseg/upernet_r50_syncbn_4xb4-160k_ade20k-512x512.py',
    strides=(1, 2, 2, 2),
    dilations=(1, 1, 1, 1),
    block_dilations=dict(layer3=[1] * 6, layer4=[1, 1, 1]),
    decode_head=dict(type='UPerHead', in_index=[0, 1, 2, 3], channels=512,
                     pool_scales=(1, 2, 3, 6), dropout_ratio=0.1, num_classes=150,
                     align_corners=False),
    loop=dict(type='IterBasedTrainLoop', max_iters=160000, val_interval=16000),
)

DETECTION = [VOC_C4, COCO_C4_1X, COCO_FPN_1X, COCO_FPN_2X]
SEGMENTATION = [CITYSCAPES_FCN, VOC12_FCN, ADE_FCN, ADE_UPERNET]
# Not transfer protocols of the papers: CPU demos, frozen/linear probes, test-server runs.
NOT_AUDITED = re.compile(r'_demo|linear_|_frozen|voc12test')

_CONFIGS = {}
_MODELS = {}


def config(expected: dict) -> Config:
    if expected['config'] not in _CONFIGS:
        _CONFIGS[expected['config']] = Config.fromfile(str(BENCHMARKS / expected['config']))
    return _CONFIGS[expected['config']]


def model(expected: dict) -> nn.Module:
    """The config's model, built once per config (an R50 detector takes seconds on CPU)."""
    if expected['config'] not in _MODELS:
        cfg = config(expected)
        with DefaultScope.overwrite_default_scope(cfg.default_scope):
            _MODELS[expected['config']] = MODELS.build(cfg.model)
    return _MODELS[expected['config']]


def norm_class(module) -> str:
    """The one norm class a module uses, or None when it has no norm layer."""
    names = {type(m).__name__ for m in module.modules()
             if isinstance(m, (nn.modules.batchnorm._BatchNorm, nn.GroupNorm, nn.LayerNorm))}
    assert len(names) <= 1, names
    return names.pop() if names else None


def stem_and_style(backbone) -> tuple:
    """('7x7' or 'deep', 'pytorch' or 'caffe') read from the layers, not the config."""
    stem = 'deep' if backbone.deep_stem else 'x'.join(map(str, backbone.conv1.kernel_size))
    first = backbone.layer2[0]
    style = 'pytorch' if first.conv2.stride == (2, 2) and first.conv1.stride == (1, 1) \
        else 'caffe'
    return stem, style


def check_input(expected: dict, built: nn.Module) -> None:
    preprocessor = built.data_preprocessor
    assert preprocessor.mean.flatten().tolist() == pytest.approx(expected['input']['mean'])
    assert preprocessor.std.flatten().tolist() == pytest.approx(expected['input']['std'])
    conversion = getattr(preprocessor, '_channel_conversion', None)
    if conversion is None:  # mmseg's SegDataPreProcessor names it without the underscore
        conversion = preprocessor.channel_conversion
    assert conversion is expected['input']['bgr_to_rgb']


def check_gpus_and_batch(expected: dict, cfg: Config) -> None:
    gpus, per_gpu = re.search(r'_(\d+)xb(\d+)-', expected['config']).groups()
    assert (int(gpus), int(per_gpu)) == (expected['gpus'], expected['batch_per_gpu'])
    assert cfg.train_dataloader.batch_size == expected['batch_per_gpu']
    assert cfg.optim_wrapper.type == ('AmpOptimWrapper' if expected['amp'] else 'OptimWrapper')
    assert cfg.get('auto_scale_lr') is None or not cfg.auto_scale_lr.enable
    optimizer = cfg.optim_wrapper.optimizer
    assert {k: optimizer[k] for k in expected['optimizer']} == expected['optimizer']
    assert cfg.optim_wrapper.get('clip_grad') is None


def train_pipelines(cfg: Config) -> list:
    dataset = cfg.train_dataloader.dataset
    datasets = dataset.datasets if dataset.type == 'ConcatDataset' else [dataset]
    return [d.pipeline for d in datasets]


def transform(pipeline: list, name: str) -> dict:
    (found, ) = [t for t in pipeline if t.type == name]
    return found


def test_every_protocol_config_is_audited():
    configs = {f'{p.parent.name}/{p.name}' for p in BENCHMARKS.glob('mm*/*.py')
               if p.parent.name in ('mmdet', 'mmseg') and not NOT_AUDITED.search(p.name)}
    assert configs == {e['config'] for e in DETECTION + SEGMENTATION}


def test_document_has_a_section_per_config():
    text = DOC.read_text()
    assert text.startswith("# Transfer protocols against the authors' configs")
    headings = re.findall(r'^## (.+)$', text, flags=re.M)
    assert headings[-1] == 'Differences to fix'
    for expected in DETECTION + SEGMENTATION:
        assert any(expected['config'] in h for h in headings), expected['config']


@pytest.mark.parametrize('expected', DETECTION, ids=lambda e: Path(e['config']).stem)
def test_detection_protocol(expected):
    cfg, built = config(expected), model(expected)
    check_input(expected, built)
    assert built.data_preprocessor.pad_size_divisor == expected['pad_size_divisor']

    backbone = built.backbone
    assert stem_and_style(backbone) == (expected['stem'], expected['style'])
    assert backbone.num_stages == expected['backbone_stages']
    assert backbone.frozen_stages == expected['frozen_stages']
    assert backbone.norm_eval is expected['norm_eval']
    assert all(p.requires_grad for p in built.parameters())
    assert cfg.model.backbone.init_cfg.type == 'Pretrained'

    roi_head = built.roi_head
    shared = getattr(roi_head, 'shared_head', None)
    parts = dict(backbone=backbone, box_head=roi_head.bbox_head,
                 mask_head=roi_head.mask_head if roi_head.with_mask else None)
    if expected['res5_head']:
        assert type(shared).__name__ == expected['res5_head']
        assert shared.norm_eval is False
        assert cfg.model.roi_head.shared_head.init_cfg.type == 'Pretrained'
        res5 = shared.layer4
        assert len(res5) == 3 and res5[0].conv2.stride == (2, 2)  # stride in the 3x3 conv
        assert res5[0].conv1.stride == (1, 1)
        parts.update(res5_head=res5, extra_norm=getattr(shared, shared.extra_norm_name))
    else:
        assert shared is None
        parts['fpn'] = built.neck
    assert {k: norm_class(v) if v is not None else None for k, v in parts.items()} == \
        expected['norm']

    train_cfg, test_cfg = built.train_cfg, built.test_cfg
    for key, got in (('rpn_train', train_cfg.rpn_proposal), ('rpn_test', test_cfg.rpn)):
        assert dict(nms_pre=got.nms_pre, max_per_img=got.max_per_img,
                    nms=got.nms.iou_threshold) == expected[key]
    assert train_cfg.rpn.allowed_border == expected['rpn_allowed_border']
    sampler = train_cfg.rpn.sampler
    assert dict(num=sampler.num, pos_fraction=sampler.pos_fraction) == expected['rpn_sampler']
    sampler = train_cfg.rcnn.sampler
    assert {k: sampler[k] for k in expected['rcnn_sampler']} == expected['rcnn_sampler']
    assert train_cfg.rcnn.assigner.match_low_quality is expected['rcnn_match_low_quality']
    rcnn = test_cfg.rcnn
    assert dict(score_thr=rcnn.score_thr, nms=rcnn.nms.iou_threshold,
                max_per_img=rcnn.max_per_img) == expected['rcnn_test']

    def roi_align(extractor):
        if extractor is None:
            return None
        layer = extractor.roi_layers[0]
        return layer.output_size[0], layer.sampling_ratio, layer.aligned

    mask_extractor = None
    if roi_head.with_mask and not roi_head.share_roi_extractor:
        mask_extractor = roi_head.mask_roi_extractor
    assert dict(box=roi_align(roi_head.bbox_roi_extractor), mask=roi_align(mask_extractor)) == \
        expected['roi_align']
    box = roi_head.bbox_head
    got = dict(type=type(box).__name__, convs=getattr(box, 'num_shared_convs', 0),
               fcs=getattr(box, 'num_shared_fcs', 0), in_channels=box.in_channels,
               with_avg_pool=box.with_avg_pool)
    if got['convs']:
        got.update(conv_out_channels=box.conv_out_channels, fc_out_channels=box.fc_out_channels)
    assert got == expected['box_head']
    if expected['mask_head'] is None:
        assert not roi_head.with_mask
    else:
        mask = roi_head.mask_head
        assert dict(convs=mask.num_convs, conv_out_channels=mask.conv_out_channels,
                    in_channels=mask.in_channels, mask_size=train_cfg.rcnn.mask_size) == \
            expected['mask_head']

    for pipeline in train_pipelines(cfg):
        assert [t.type for t in pipeline] == expected['train_pipeline']
        resize = pipeline[2]
        scales = resize.scales if resize.type == 'RandomChoiceResize' else [resize.scale]
        assert [tuple(s) for s in scales] == expected['train_scales'] and resize.keep_ratio
        assert transform(pipeline, 'RandomFlip').prob == expected['flip']
    for loader in (cfg.val_dataloader, cfg.test_dataloader):
        resize = transform(loader.dataset.pipeline, 'Resize')
        assert tuple(resize.scale) == expected['test_scale'] and resize.keep_ratio

    check_gpus_and_batch(expected, cfg)
    paramwise = cfg.optim_wrapper.get('paramwise_cfg') or {}
    assert paramwise.get('norm_decay_mult', 1.0) == expected['norm_decay_mult']
    warmup, steps = cfg.param_scheduler
    assert warmup.type == 'LinearLR' and warmup.by_epoch is False and warmup.begin == 0
    assert dict(start_factor=warmup.start_factor, end=warmup.end) == expected['warmup']
    assert steps.type == 'MultiStepLR'
    assert dict(milestones=steps.milestones, gamma=steps.gamma, by_epoch=steps.by_epoch) == \
        expected['steps']
    assert {k: cfg.train_cfg[k] for k in expected['loop']} == expected['loop']
    for evaluator in (cfg.val_evaluator, cfg.test_evaluator):
        assert {k: evaluator[k] for k in expected['evaluator']} == expected['evaluator']


@pytest.mark.parametrize('expected', DETECTION, ids=lambda e: Path(e['config']).stem)
def test_detection_precise_bn(expected):
    """detectron2's TEST.PRECISE_BN (NUM_ITER 200) as a custom hook of the config."""
    hooks = [h for h in config(expected).get('custom_hooks') or [] if 'PreciseBN' in h.type]
    if not hooks:
        pytest.xfail('no PreciseBN custom hook in the config yet (being added)')
    (hook, ) = hooks
    assert hook.get('num_iters') == expected['precise_bn_iters']


@pytest.mark.parametrize('expected', SEGMENTATION, ids=lambda e: Path(e['config']).stem)
def test_segmentation_protocol(expected):
    cfg, built = config(expected), model(expected)
    check_input(expected, built)
    assert tuple(built.data_preprocessor.size) == expected['pad_to']
    assert cfg.model.get('pretrained') == expected['model_pretrained']
    assert cfg.model.backbone.init_cfg.type == 'Pretrained'

    backbone = built.backbone
    assert type(backbone).__name__ == expected['backbone_type']
    assert stem_and_style(backbone) == (expected['stem'], expected['style'])
    assert backbone.frozen_stages == expected['frozen_stages']
    assert backbone.norm_eval is expected['norm_eval']
    assert all(p.requires_grad for p in built.parameters())
    assert tuple(backbone.strides) == expected['strides']
    assert tuple(backbone.dilations) == expected['dilations']
    assert backbone.contract_dilation is expected['contract_dilation']
    for name, dilations in expected['block_dilations'].items():
        assert [b.conv2.dilation[0] for b in getattr(backbone, name)] == dilations
    parts = dict(backbone=backbone, decode_head=built.decode_head,
                 auxiliary_head=built.auxiliary_head)
    assert {k: norm_class(v) for k, v in parts.items()} == expected['norm']

    decode = cfg.model.decode_head
    assert {k: decode[k] for k in expected['decode_head']} == expected['decode_head']
    assert built.decode_head.align_corners is expected['decode_head']['align_corners']
    aux = dict(cfg.model.auxiliary_head, loss_weight=cfg.model.auxiliary_head.loss_decode.
               loss_weight)
    assert {k: aux[k] for k in expected['auxiliary_head']} == expected['auxiliary_head']
    assert cfg.model.auxiliary_head.align_corners is expected['decode_head']['align_corners']

    for pipeline in train_pipelines(cfg):
        assert [t.type for t in pipeline] == expected['train_pipeline']
        resize = transform(pipeline, 'RandomResize')
        assert dict(scale=tuple(resize.scale), ratio_range=tuple(resize.ratio_range)) == \
            expected['train_resize'] and resize.keep_ratio
        crop = transform(pipeline, 'RandomCrop')
        assert dict(crop_size=tuple(crop.crop_size), cat_max_ratio=crop.cat_max_ratio) == \
            expected['crop']
        assert transform(pipeline, 'RandomFlip').prob == expected['flip']
        assert transform(pipeline, 'LoadAnnotations').get('reduce_zero_label', False) is \
            expected.get('reduce_zero_label', False)
    if expected.get('train_sets'):
        datasets = cfg.train_dataloader.dataset.datasets
        assert [(d.data_prefix.seg_map_path, d.ann_file) for d in datasets] == \
            expected['train_sets']
    for loader in (cfg.val_dataloader, cfg.test_dataloader):
        resize = transform(loader.dataset.pipeline, 'Resize')
        assert tuple(resize.scale) == expected['test_scale'] and resize.keep_ratio
    test_cfg = dict(built.test_cfg)
    assert {k: tuple(v) if isinstance(v, (list, tuple)) else v for k, v in test_cfg.items()} == \
        expected['test_cfg']

    check_gpus_and_batch(expected, cfg)
    assert not (cfg.optim_wrapper.get('paramwise_cfg') or {})
    (poly, ) = cfg.param_scheduler  # no warm-up
    assert poly.type == 'PolyLR' and poly.by_epoch is False and poly.begin == 0
    assert 'end' not in poly  # the Runner sets it to train_cfg.max_iters
    assert dict(power=poly.power, eta_min=poly.eta_min) == expected['poly']
    assert {k: cfg.train_cfg[k] for k in expected['loop']} == expected['loop']
    for evaluator in (cfg.val_evaluator, cfg.test_evaluator):
        assert {k: evaluator[k] for k in expected['evaluator']} == expected['evaluator']
    hooks = [h.type for h in cfg.get('custom_hooks') or []]
    assert not any('PreciseBN' in h for h in hooks)  # mmseg (and the authors) have none


@pytest.mark.parametrize('expected', DETECTION + SEGMENTATION,
                         ids=lambda e: Path(e['config']).stem)
def test_every_norm_layer_is_torch_syncbn(expected):
    """mmcv's 'SyncBN' (mmengine's thin subclass) is torch's SyncBatchNorm: exact SyncBN,
    where MoCo used detectron2's naiveSyncBN (the same statistics at equal per-GPU batches)."""
    norms = [m for m in model(expected).modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    assert norms and all(isinstance(m, torch.nn.SyncBatchNorm) for m in norms)
    assert all(m.momentum == 0.1 and m.eps == 1e-5 and m.affine for m in norms)
