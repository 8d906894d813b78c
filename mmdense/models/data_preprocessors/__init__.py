from .selfsup_data_preprocessor import SelfSupDataPreprocessor

__all__ = ['SelfSupDataPreprocessor']
