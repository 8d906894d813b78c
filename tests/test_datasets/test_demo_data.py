"""Synthetic demo data: determinism, atomic generation, and the demo config end to end."""
import hashlib
import multiprocessing
import os
import os.path as osp
import time

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate

from mmdense.datasets import DemoUnlabeledDataset
from mmdense.datasets.demo.scenes import SCENE_TYPES, generate_demo_data, main, render_scene
from mmdense.registry import DATASETS, MODELS

CONFIG = osp.join(osp.dirname(__file__), '..', '..', 'configs', '_base_', 'datasets',
                  'demo_mocov2.py')


def tree_digest(folder: str) -> dict[str, str]:
    """sha256 of every file under ``folder``, by relative path."""
    digests = {}
    for dirpath, _, filenames in os.walk(folder):
        for name in filenames:
            path = osp.join(dirpath, name)
            with open(path, 'rb') as f:
                digests[osp.relpath(path, folder)] = hashlib.sha256(f.read()).hexdigest()
    return digests


def test_default_demo_split_is_fast_complete_and_imagenet_style(tmp_path):
    start = time.perf_counter()
    split = generate_demo_data(str(tmp_path / 'demo'))
    assert time.perf_counter() - start < 10
    assert split == osp.join(str(tmp_path / 'demo'), 'unlabeled')
    lines = open(osp.join(split, 'meta', 'train.txt')).read().splitlines()
    assert len(lines) == 64
    relative_path, label = lines[5].split()
    assert relative_path.split('/')[0] == SCENE_TYPES[int(label)]
    assert relative_path.endswith('.JPEG')
    image = cv2.imread(osp.join(split, 'train', relative_path))
    assert image.shape == (96, 96, 3)
    assert os.listdir(tmp_path / 'demo') == ['unlabeled']  # no temporary folder left


def test_generation_is_deterministic_for_a_seed(tmp_path):
    first = tree_digest(generate_demo_data(str(tmp_path / 'a'), num_images=8, image_size=32))
    second = tree_digest(generate_demo_data(str(tmp_path / 'b'), num_images=8, image_size=32))
    other = tree_digest(
        generate_demo_data(str(tmp_path / 'c'), num_images=8, image_size=32, seed=1))
    assert len(first) == 10 and first == second  # 8 images, the list, the stamp
    assert first['meta/train.txt'] == other['meta/train.txt']
    assert all(first[key] != other[key] for key in first if key.endswith('.JPEG'))


def test_existing_data_of_other_arguments_is_refused_not_reused(tmp_path):
    root = str(tmp_path / 'demo')
    split = generate_demo_data(root, num_images=4, image_size=32)
    assert generate_demo_data(root, num_images=4, image_size=32) == split  # same: reused
    with pytest.raises(FileExistsError, match=r'unlabeled holds other generated data.*'
                       r'num_images=4.*num_images=8.*delete it'):
        generate_demo_data(root, num_images=8, image_size=32)
    os.remove(osp.join(split, '.generator'))  # data from before the stamp existed
    with pytest.raises(FileExistsError, match='no stamp'):
        generate_demo_data(root, num_images=4, image_size=32)


def test_scenes_have_several_occluding_objects_over_a_textured_background():
    object_fractions, visible_counts = [], []
    for index in range(16):
        image, categories = render_scene(np.random.default_rng([0, index]), 96,
                                         SCENE_TYPES[index % 4])
        assert image.dtype == np.uint8 and image.shape == (96, 96, 3)
        assert image.std() > 10
        background = image[categories == 0]
        assert len(background) == 0 or background.std() > 3  # not a flat fill
        object_fractions.append((categories > 0).mean())
        visible_counts.append(len(np.unique(categories[categories > 0])))
    assert 0.1 < np.mean(object_fractions) < 0.9
    assert np.mean(visible_counts) >= 2


def _generate_after_barrier(barrier, root, queue):
    barrier.wait()
    queue.put(generate_demo_data(root, num_images=24, image_size=48))


def test_concurrent_generators_end_with_one_complete_tree(tmp_path):
    root = str(tmp_path / 'race')
    context = multiprocessing.get_context('fork')
    barrier, queue = context.Barrier(2), context.Queue()
    workers = [
        context.Process(target=_generate_after_barrier, args=(barrier, root, queue))
        for _ in range(2)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert [worker.exitcode for worker in workers] == [0, 0]
    assert {queue.get(timeout=5), queue.get(timeout=5)} == {osp.join(root, 'unlabeled')}
    assert os.listdir(root) == ['unlabeled']
    reference = generate_demo_data(str(tmp_path / 'reference'), num_images=24, image_size=48)
    assert tree_digest(osp.join(root, 'unlabeled')) == tree_digest(reference)


def test_cli_writes_once(tmp_path, capsys):
    root = str(tmp_path / 'cli')
    main(['--root', root, '--num-images', '4', '--image-size', '32'])
    assert 'Wrote' in capsys.readouterr().out
    main(['--root', root, '--num-images', '4', '--image-size', '32'])
    assert 'already exists' in capsys.readouterr().out
    assert len(os.listdir(osp.join(root, 'unlabeled', 'train', SCENE_TYPES[0]))) == 1


def test_demo_dataset_generates_itself_on_first_use(tmp_path):
    root = str(tmp_path / 'demo')
    dataset = DemoUnlabeledDataset(data_root=root, num_images=6, image_size=32)
    assert len(dataset) == 6
    assert osp.isfile(dataset.get_data_info(5)['img_path'])
    assert len(DemoUnlabeledDataset(data_root=root, num_images=6, image_size=32)) == 6
    with pytest.raises(FileExistsError, match='num_images=6 .*num_images=99'):
        DemoUnlabeledDataset(data_root=root, num_images=99, image_size=32)
    assert len(DemoUnlabeledDataset(data_root=root, num_images=6, image_size=32,
                                    indices=4)) == 4


def test_demo_config_gives_two_normalised_64px_views(tmp_path):
    cfg = Config.fromfile(CONFIG)
    assert cfg.train_dataloader.batch_size == 8
    cfg.train_dataloader.dataset.data_root = str(tmp_path / 'demo')
    cfg.train_dataloader.dataset.num_images = 4
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    torch.manual_seed(0)
    np.random.seed(0)
    batch = pseudo_collate([dataset[0], dataset[1]])
    views = batch['inputs']
    assert len(views) == 2 and len(views[0]) == 2
    assert all(t.shape == (3, 64, 64) and t.dtype == torch.uint8 for view in views for t in view)
    boxes = batch['data_samples'][0].view_boxes
    assert boxes.shape == (2, 4) and not torch.equal(boxes[0], boxes[1])

    preprocessor = MODELS.build(cfg.data_preprocessor)
    out = preprocessor(batch)
    assert [tuple(t.shape) for t in out['inputs']] == [(2, 3, 64, 64)] * 2
    mean = torch.tensor(cfg.data_preprocessor.mean).view(3, 1, 1)
    std = torch.tensor(cfg.data_preprocessor.std).view(3, 1, 1)
    expected = (views[1][0].flip(0).float() - mean) / std  # view 1 of sample 0, BGR -> RGB
    torch.testing.assert_close(out['inputs'][1][0], expected)
    assert out['data_samples'][0].view_boxes is not None


def test_demo_dataset_does_not_write_into_someone_elses_folder(tmp_path):
    """Pointed at a folder of real images, the demo dataset refuses instead of adding demo
    images there; folders that hold only generated demo trees are fine."""
    mine = tmp_path / 'mine'
    (mine / 'train' / 'n01').mkdir(parents=True)
    (mine / 'train' / 'n01' / 'a.JPEG').write_bytes(b'not really a jpeg')
    dataset = DemoUnlabeledDataset(data_root=str(mine), num_images=2, image_size=32,
                                   lazy_init=True, pipeline=[])
    with pytest.raises(ValueError, match=r"data_root='.*mine' holds \['train'\], not demo data.*"
                                         r"_delete_=True"):
        dataset.full_init()
    assert not (mine / 'unlabeled').exists()
    # The layout `make demo` leaves (one stamped tree per scale) is demo data, not foreign.
    generate_demo_data(str(tmp_path / 'demo' / 'default'), 2, 32)
    ok = DemoUnlabeledDataset(data_root=str(tmp_path / 'demo'), num_images=2, image_size=32,
                              pipeline=[])
    assert len(ok) == 2
