"""Scope set-up so configs with ``default_scope='mmdense'`` find every module."""
import datetime
import warnings

from mmengine import DefaultScope


def register_all_modules(init_default_scope: bool = True) -> None:
    """Import every mmdense module that registers into a registry.

    Args:
        init_default_scope: Whether to make ``'mmdense'`` the current default scope.
            When another scope is current, a uniquely named ``'mmdense'`` scope is
            created so that mmdense modules win lookups without a prefix.
    """
    import mmdense.datasets  # noqa: F401
    import mmdense.engine  # noqa: F401
    import mmdense.models  # noqa: F401
    import mmdense.transfer  # noqa: F401  (the C4 shared head of the detection protocols)

    if not init_default_scope:
        return
    never_created = (DefaultScope.get_current_instance() is None
                     or not DefaultScope.check_instance_created('mmdense'))
    if never_created:
        DefaultScope.get_instance('mmdense', scope_name='mmdense')
        return
    current_scope = DefaultScope.get_current_instance()
    if current_scope.scope_name != 'mmdense':
        warnings.warn(f'The current default scope "{current_scope.scope_name}" is not '
                      '"mmdense"; `register_all_modules` creates a new default scope '
                      'named "mmdense".')
        new_instance_name = f'mmdense-{datetime.datetime.now()}'
        DefaultScope.get_instance(new_instance_name, scope_name='mmdense')
