# The ViT-B/16 encoder shared by the ViT pre-training configs: mmseg's VisionTransformer with
# exactly the architecture of mmseg::vit/vit_deit-b16_upernet_8xb2-160k_ade20k-512x512.py (and
# of configs/benchmarks/mmdet/*vit*), so the extracted checkpoint is a key filter of the
# pre-training one: same class, same keys (patch_embed.projection, layers.i.attn.attn.*,
# layers.i.ffn.layers.*, cls_token, pos_embed; no final norm, as the UPerNet config).
# Only the last block's patch tokens are output (out_indices=(11, )): the 14x14 grid at 224 px
# is the dense map; the class token is dropped by the backbone (output_cls_token=False).
vit_backbone = dict(
    type='mmseg.VisionTransformer',
    img_size=224,
    patch_size=16,
    in_channels=3,
    embed_dims=768,
    num_layers=12,
    num_heads=12,
    mlp_ratio=4,
    out_indices=(11, ),
    qkv_bias=True,
    drop_rate=0.0,
    attn_drop_rate=0.0,
    drop_path_rate=0.0,  # MoCo v3 pre-trains without stochastic depth
    with_cls_token=True,
    output_cls_token=False,
    final_norm=False,
    norm_cfg=dict(type='LN', eps=1e-6),
    act_cfg=dict(type='GELU'),
    # LayerNorm computes the same in train and eval; kept explicit as every pre-training
    # backbone (mmseg's default is already False).
    norm_eval=False,
    interpolate_mode='bicubic')
