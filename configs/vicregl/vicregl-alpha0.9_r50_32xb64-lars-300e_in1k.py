# VICRegL R50 with alpha 0.9 (the authors' second released ResNet-50): more weight on the
# global term, the recipe of vicregl_r50_32xb64-lars-300e_in1k.py otherwise.
_base_ = './vicregl_r50_32xb64-lars-300e_in1k.py'

model = dict(alpha=0.9)
