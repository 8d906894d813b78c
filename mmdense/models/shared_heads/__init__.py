from .res_layer_extra_norm import ResLayerExtraNorm

__all__ = ['ResLayerExtraNorm']
