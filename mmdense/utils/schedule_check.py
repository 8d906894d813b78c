"""Warn when a pinned learning-rate schedule no longer matches the length of the run.

MMEngine fills a scheduler's missing ``end`` with the loop's ``max_epochs``/``max_iters``
(and ``CosineAnnealingLR`` takes ``T_max = end - begin``), so the shipped schedules leave
both out and follow ``--cfg-options train_cfg.max_epochs=N``. A schedule with ``end``,
``T_max`` or ``milestones`` written out does not: changing the run length then trains the
last part at the final rate, or cuts the decay off. This says so before training starts.
"""
from typing import List

__all__ = ['schedule_mismatches']

# Schedulers that end at the base value (warm-ups): stopping before the run ends is their job.
_RETURN_TO_BASE = ('LinearLR', 'ConstantLR', 'LinearMomentum', 'ConstantMomentum')


def _returns_to_base(scheduler: dict) -> bool:
    kind = str(scheduler.get('type', '')).split('.')[-1]
    return kind in _RETURN_TO_BASE and scheduler.get('end_factor', 1.0) == 1.0


def _loop_length(train_cfg: dict):
    """``(length, 'epoch' | 'iteration')`` of the training loop, or None if unknown."""
    loop_type = str(train_cfg.get('type', ''))
    if 'max_iters' in train_cfg and 'Epoch' not in loop_type:
        return train_cfg['max_iters'], 'iteration'
    if 'max_epochs' in train_cfg and 'Iter' not in loop_type:
        return train_cfg['max_epochs'], 'epoch'
    return None


def schedule_mismatches(cfg) -> List[str]:
    """One message per scheduler whose pinned length disagrees with the loop's.

    Args:
        cfg: A training config (pre-training or downstream).

    Returns:
        list[str]: Messages naming ``param_scheduler.<i>`` and the fix; empty when the
        schedule follows the loop.
    """
    loop = _loop_length(cfg.get('train_cfg') or {})
    schedulers = cfg.get('param_scheduler') or []
    if isinstance(schedulers, dict):
        schedulers = [schedulers]
    if loop is None:
        return []
    length, unit = loop
    messages, ends, in_unit = [], [], 0
    for i, scheduler in enumerate(schedulers):
        if not isinstance(scheduler, dict):
            continue
        name = f"param_scheduler.{i} ({scheduler.get('type')})"
        in_loop_unit = bool(scheduler.get('by_epoch', True)) == (unit == 'epoch')
        begin = scheduler.get('begin', 0)
        end = scheduler.get('end')
        t_max = scheduler.get('T_max')
        # Warm-ups return to the base value, so they do not decide where the schedule ends.
        counts = in_loop_unit and not _returns_to_base(scheduler)
        in_unit += counts
        if isinstance(end, (int, float)) and counts:
            ends.append((end, name))
        elif isinstance(end, (int, float)) and in_loop_unit and end > length:
            messages.append(
                f'{name} warms up until {unit} {end} but the run has {length} {unit}s: it never '
                'reaches the base learning rate; shorten its `end`.')
        if isinstance(t_max, (int, float)) and in_loop_unit:
            span = (end if isinstance(end, (int, float)) else length) - begin
            if t_max != span:
                messages.append(
                    f'{name} has T_max={t_max} but runs for {span} {unit}s ({begin} to '
                    f'{begin + span}): the cosine does not reach its minimum where the schedule '
                    f'ends; drop T_max (it defaults to end - begin).')
        milestones = scheduler.get('milestones')
        if milestones and in_loop_unit and max(milestones) >= length:
            messages.append(
                f'{name} has milestones {list(milestones)} but the run has {length} {unit}s: '
                f'the steps at or after {unit} {length} never happen; scale them to the run '
                f'(train_cfg.max_{unit.replace("iteration", "iter")}s).')
    # A scheduler without `end` runs to the end of the loop, so the schedule as a whole can
    # only stop early when every decaying scheduler counting in the loop's unit has one.
    if ends and len(ends) == in_unit:
        last, name = max(ends)
        key = f'train_cfg.max_{"epochs" if unit == "epoch" else "iters"}'
        if last < length:
            messages.append(
                f'{name} ends at {unit} {last} but {key}={length}: the last {length - last} '
                f'{unit}s keep its final value; drop `end` (and `T_max`) from param_scheduler to '
                f'follow the run length, or set them to {length}.')
        elif last > length:
            messages.append(
                f'{name} ends at {unit} {last} but {key}={length}: the schedule is cut off '
                f'{last - length} {unit}s before it ends; drop `end` (and `T_max`) from '
                f'param_scheduler to follow the run length, or set them to {length}.')
    return messages
