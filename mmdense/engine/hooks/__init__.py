from .densecl_warmup_hook import DenseCLWarmupHook

__all__ = ['DenseCLWarmupHook']
