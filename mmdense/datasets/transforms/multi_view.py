"""Several independently augmented views of one image."""
from collections.abc import Callable

from mmcv.transforms import BaseTransform, Compose
from mmengine.registry import DefaultScope

from mmdense.registry import TRANSFORMS
from .loading import materialize_image


@TRANSFORMS.register_module()
class MultiView(BaseTransform):
    """Run view pipelines on one loaded image and gather their outputs per view.

    ``num_views[i]`` views come from ``transforms[i]``, in order: MoCo's two
    views of one pipeline are ``num_views=2, transforms=[pipeline]``; BYOL's
    asymmetric pair is ``num_views=[1, 1], transforms=[pipeline1, pipeline2]``.

    Every view pipeline starts from a shallow copy of ``results``. In the
    output, ``img`` and every key that some view added or replaced (e.g.
    ``view_box``, ``img_shape``, ``flip``) become lists of length V (the total
    number of views), holding each view's value (None where a view lacks the
    key); other keys stay as they were. Because views share the input's
    objects, view transforms must not modify arrays in place.

    A JPEG that ``LoadImageFromFile(reduced_decode=True)`` left undecoded
    (``lazy_img``) is shared by the views, so its decodes are too; it is decoded at
    full size first unless every view pipeline starts with a transform that takes it
    (``accepts_lazy_img``, e.g. ``RandomResizedCropWithBox``), and dropped from the
    output.

    View transforms are built in the current default scope, or in ``'mmdense'``
    when none is set (nested wrappers such as mmcv's ``RandomApply`` build
    their transforms through the default scope, so one is needed).

    Args:
        num_views: Views per pipeline: an int when there is one pipeline, or a
            list with one count per pipeline.
        transforms: One list of transform configs (or callables) per pipeline.
    """

    def __init__(self, num_views: int | list[int], transforms: list[list[dict | Callable]]) -> None:
        super().__init__()
        self.num_views = [num_views] if isinstance(num_views, int) else list(num_views)
        if len(self.num_views) != len(transforms):
            raise ValueError(f'num_views {num_views} needs one pipeline per entry, got '
                             f'{len(transforms)} pipelines')
        if any(n < 1 for n in self.num_views):
            raise ValueError(f'num_views must be positive, got {num_views}')
        scope = None if DefaultScope.get_current_instance() else 'mmdense'
        with DefaultScope.overwrite_default_scope(scope):
            self.pipelines = [
                Compose([TRANSFORMS.build(t) if isinstance(t, dict) else t for t in pipeline])
                for pipeline in transforms
            ]

    def transform(self, results: dict) -> dict | None:
        """Make the views.

        Args:
            results: Result dict with a loaded ``img``.

        Returns:
            dict | None: ``results`` with per-view lists, or None when a view
            pipeline rejected the sample (the dataset then draws another).
        """
        if 'lazy_img' in results:
            if self._takes_lazy_img:
                results['lazy_img'].views_to_come = sum(self.num_views)
            else:
                results = materialize_image(results)
                if results is None:
                    return None
        views = []
        for pipeline, count in zip(self.pipelines, self.num_views):
            for _ in range(count):
                view = pipeline(results.copy())
                if view is None:
                    return None
                views.append(view)
        per_view_keys = {'img'} | {
            key
            for view in views for key, value in view.items()
            if key not in results or value is not results[key]
        }
        merged = results.copy()
        merged.pop('lazy_img', None)  # releases the encoded file and its decodes
        for key in sorted(per_view_keys):
            merged[key] = [view.get(key) for view in views]
        return merged

    @property
    def _takes_lazy_img(self) -> bool:
        return all(
            pipeline.transforms and getattr(pipeline.transforms[0], 'accepts_lazy_img', False)
            for pipeline in self.pipelines)

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(num_views={self.num_views}, pipelines={self.pipelines})'
