"""Every fine-tuning benchmark config builds, and its Pretrained inits load every backbone
tensor; every demo config (fine-tunes and probes) loads a tools/train.py checkpoint. The
frozen probes' own checks are in test_frozen_probes.py and test_linear_classification.py."""
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import MODELS, DefaultScope

from mmdense.transfer.backbone_extraction import extract_backbone, save_backbone
from mmdense.transfer.downstream_train import set_pretrained

REPO = Path(__file__).resolve().parents[2]
BENCHMARKS = REPO / 'configs' / 'benchmarks'
PROTOCOL_CONFIGS = sorted(
    p for package in ('mmdet', 'mmseg') for p in (BENCHMARKS / package).glob('*.py')
    if '_demo' not in p.name and not p.name.startswith('linear_') and '_frozen' not in p.name)
DEMO_CONFIGS = sorted(BENCHMARKS.glob('*/*_demo*.py'))
C4 = ('faster-rcnn_r50-c4_syncbn_8xb2-24k_voc0712.py', 'mask-rcnn_r50-c4_syncbn_8xb2-1x_coco.py')
# Configs whose model equals another's (same backbone and init) are checked through it:
# building and initialising an R50 detector costs seconds on CPU.
FCN_CITYSCAPES = 'mmseg/fcn_r50-d8_syncbn_4xb2-40k_cityscapes-769x769.py'
SAME_MODEL_AS = {
    'mmdet/mask-rcnn_r50_fpn_syncbn_8xb2-2x_coco.py':
    'mmdet/mask-rcnn_r50_fpn_syncbn_8xb2-1x_coco.py',
    'mmseg/fcn_r50-d8_syncbn_4xb4-20k_voc12aug-512x512.py': FCN_CITYSCAPES,
    'mmseg/fcn_r50-d8_syncbn_4xb4-80k_ade20k-512x512.py': FCN_CITYSCAPES,
    # The VOC test-server submission: the VOC FCN with a test loader and format_only.
    'mmseg/fcn_r50-d8_syncbn_4xb4-20k_voc12aug-512x512_voc12test.py': FCN_CITYSCAPES,
}
BUILT_CONFIGS = [p for p in PROTOCOL_CONFIGS
                 if f'{p.parent.name}/{p.name}' not in SAME_MODEL_AS]


@pytest.fixture(scope='module')
def r50_backbone(tmp_path_factory) -> Path:
    """An extracted R50 backbone with random weights *and* BN statistics."""
    from mmdet.models.backbones import ResNet
    torch.manual_seed(0)
    state = ResNet(50).state_dict()
    for key, value in state.items():
        if value.is_floating_point():
            # Not the init defaults (e.g. BN weight 1, running_var 1), so equality below
            # can only come from the file.
            value.copy_(torch.rand_like(value) + 0.5)
    training_ckpt = {'state_dict': {f'backbone.{k}': v for k, v in state.items()}}
    path = tmp_path_factory.mktemp('r50') / 'r50_backbone.pth'
    return Path(save_backbone(extract_backbone(training_ckpt), str(path), 'mmdet'))


def build(cfg: Config) -> torch.nn.Module:
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        return MODELS.build(cfg.model)


def test_protocol_configs_are_all_there():
    names = {p.name for p in PROTOCOL_CONFIGS}
    assert names == {
        'faster-rcnn_r50-c4_syncbn_8xb2-24k_voc0712.py', 'mask-rcnn_r50-c4_syncbn_8xb2-1x_coco.py',
        'mask-rcnn_r50_fpn_syncbn_8xb2-1x_coco.py', 'mask-rcnn_r50_fpn_syncbn_8xb2-2x_coco.py',
        'fcn_r50-d8_syncbn_4xb2-40k_cityscapes-769x769.py',
        'fcn_r50-d8_syncbn_4xb4-20k_voc12aug-512x512.py',
        'fcn_r50-d8_syncbn_4xb4-80k_ade20k-512x512.py',
        'upernet_r50_syncbn_4xb4-160k_ade20k-512x512.py',
        'fcn_r50-d8_syncbn_4xb4-20k_voc12aug-512x512_voc12test.py'
    }


@pytest.mark.parametrize('config', sorted(SAME_MODEL_AS), ids=lambda p: p)
def test_configs_sharing_a_model(config):
    cfg = Config.fromfile(str(BENCHMARKS / config))
    other = Config.fromfile(str(BENCHMARKS / SAME_MODEL_AS[config]))
    assert cfg.model.backbone == other.model.backbone
    if config.startswith('mmdet'):
        assert cfg.model == other.model
    else:  # only the number of classes of the heads differs
        assert cfg.model.pretrained is None
        for head in ('decode_head', 'auxiliary_head'):
            a, b = dict(cfg.model[head]), dict(other.model[head])
            a.pop('num_classes'), b.pop('num_classes'), a.pop('align_corners'), b.pop(
                'align_corners')
            assert a == b


@pytest.mark.parametrize('config', BUILT_CONFIGS, ids=lambda p: p.stem)
def test_protocol_config_loads_every_backbone_tensor(config, r50_backbone):
    cfg = Config.fromfile(str(config))
    # Protocol settings inherited from mmdet/mmseg and overridden where needed.
    backbone_cfg = cfg.model.backbone
    assert backbone_cfg.type == 'ResNet' and backbone_cfg.depth == 50
    assert backbone_cfg.frozen_stages == -1 and backbone_cfg.norm_eval is False
    assert backbone_cfg.norm_cfg == dict(type='SyncBN', requires_grad=True)
    assert backbone_cfg.get('style', 'pytorch') == 'pytorch'
    expected_inits = 2 if config.name in C4 else 1
    assert set_pretrained(cfg, str(r50_backbone)) == expected_inits

    model = build(cfg)
    model.init_weights()
    source = torch.load(r50_backbone)['state_dict']
    loaded = {k: v for k, v in model.backbone.state_dict().items()}
    if config.name in C4:
        head = model.roi_head.shared_head
        # res5 of the RoI head carries layer4.* names, like the backbone file.
        loaded.update({k: v for k, v in head.state_dict().items() if k.startswith('layer4.')})
        assert set(head.state_dict()) - set(source) == {
            f'bn_extra.{n}' for n in ('weight', 'bias', 'running_mean', 'running_var',
                                      'num_batches_tracked')}
        assert isinstance(head.bn_extra, torch.nn.SyncBatchNorm)
        assert model.data_preprocessor._channel_conversion  # BGR -> RGB, torchvision-style
        assert torch.allclose(model.data_preprocessor.std.flatten(),
                              torch.tensor([58.395, 57.12, 57.375]))
        assert model.backbone.num_stages == 3
    assert set(loaded) == set(source), (set(loaded) ^ set(source))  # none missing/unexpected
    for key, value in source.items():
        assert torch.equal(loaded[key], value), key
    assert all(type(m) is not torch.nn.BatchNorm2d for m in model.modules())


def test_mmseg_configs_replace_the_deep_stem_and_keep_dilations():
    cfg = Config.fromfile(
        str(BENCHMARKS / 'mmseg' / 'fcn_r50-d8_syncbn_4xb2-40k_cityscapes-769x769.py'))
    assert cfg.model.pretrained is None  # mmseg's open-mmlab://resnet50_v1c is not loaded
    assert cfg.model.backbone.dilations == (1, 1, 2, 4)
    assert cfg.model.backbone.strides == (1, 2, 1, 1)
    assert cfg.train_cfg.max_iters == 40000 and cfg.crop_size == (769, 769)
    voc = Config.fromfile(
        str(BENCHMARKS / 'mmseg' / 'fcn_r50-d8_syncbn_4xb4-20k_voc12aug-512x512.py'))
    assert voc.train_cfg.max_iters == 20000 and voc.crop_size == (512, 512)


def test_voc_detection_schedule_and_metric():
    cfg = Config.fromfile(str(BENCHMARKS / 'mmdet' / C4[0]))
    assert cfg.train_cfg.max_iters == 24000
    assert cfg.param_scheduler[1].milestones == [18000, 22000]
    assert cfg.val_evaluator.eval_mode == '11points'
    assert cfg.val_evaluator.iou_thrs[0] == 0.5 and cfg.val_evaluator.iou_thrs[5] == 0.75
    assert [d.ann_file for d in cfg.train_dataloader.dataset.datasets] == [
        'VOC2007/ImageSets/Main/trainval.txt', 'VOC2012/ImageSets/Main/trainval.txt']
    two_x = Config.fromfile(str(BENCHMARKS / 'mmdet' / 'mask-rcnn_r50_fpn_syncbn_8xb2-2x_coco.py'))
    assert two_x.train_cfg.max_epochs == 24 and two_x.param_scheduler[1].milestones == [16, 22]
    assert two_x.model.neck.norm_cfg.type == 'SyncBN'
    assert two_x.model.roi_head.mask_head.norm_cfg.type == 'SyncBN'


@pytest.mark.parametrize('config', DEMO_CONFIGS, ids=lambda p: p.stem)
def test_demo_config_loads_the_pretraining_checkpoint(config, pretrain_checkpoint, tmp_path):
    """From a tools/train.py checkpoint: every backbone (and res5) tensor is the online one's."""
    from mmdense.transfer.downstream_train import build_downstream_cfg
    cfg = build_downstream_cfg([str(config), str(pretrain_checkpoint), '--work-dir', str(tmp_path)])
    assert (tmp_path / 'pretrain_backbone.pth').is_file()
    model = build(cfg)
    model.init_weights()
    state = torch.load(pretrain_checkpoint, weights_only=False)['state_dict']
    source = {k[len('backbone.'):]: v for k, v in state.items() if k.startswith('backbone.')}
    loaded = dict(model.backbone.state_dict())
    if 'faster-rcnn' in config.name:
        loaded.update({k: v for k, v in model.roi_head.shared_head.state_dict().items()
                       if k.startswith('layer4.')})
    assert set(loaded) == set(source)
    for key, value in source.items():
        assert torch.equal(loaded[key], value), key
