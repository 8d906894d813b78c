"""Bad image files: clear errors by default, skip with a warning on request."""
import io
import logging
from pathlib import Path

import numpy as np
import pytest
from mmengine.logging import MMLogger
from PIL import Image

from mmdense.datasets import UnlabeledImageDataset
from mmdense.datasets.transforms import BadImageError, LoadImageFromFile
from mmdense.registry import TRANSFORMS
from mmdense.utils import register_all_modules


def _encode(img: Image.Image, fmt: str, **kwargs) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kwargs)
    return buf.getvalue()


def _rgb(size=(24, 16)) -> Image.Image:
    rng = np.random.default_rng(0)
    return Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8))


def write_good_and_bad(folder: Path) -> dict:
    """Write one file per case; return {name: expected reason or None when good}."""
    folder.mkdir(parents=True, exist_ok=True)
    jpeg = _encode(_rgb(), 'JPEG')
    png = _encode(_rgb(), 'PNG')
    files = {
        'good.jpg': (jpeg, None),
        'gray.png': (_encode(_rgb().convert('L'), 'PNG'), None),
        'rgba.png': (_encode(_rgb().convert('RGBA'), 'PNG'), None),
        'cmyk.jpg': (_encode(_rgb().convert('CMYK'), 'JPEG'), None),
        'deep16.png': (_encode(Image.fromarray(
            (np.arange(16 * 24, dtype=np.uint16).reshape(16, 24) * 150)), 'PNG'), None),
        'tiny.jpg': (_encode(_rgb((5, 3)), 'JPEG'), None),
        'empty.jpg': (b'', 'zero-byte'),
        'cut.jpg': (jpeg[:len(jpeg) // 2], 'truncated JPEG'),
        'cut.png': (png[:len(png) // 2], 'truncated PNG'),
        'noise.jpg': (b'this is not an image at all' * 4, 'cannot be decoded'),
    }
    for name, (data, _) in files.items():
        (folder / name).write_bytes(data)
    return {name: reason for name, (_, reason) in files.items()}


@pytest.fixture(scope='module')
def image_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp('bad_images')
    return folder, write_good_and_bad(folder)


def test_registry_resolves_checked_loader():
    register_all_modules()
    assert isinstance(TRANSFORMS.build(dict(type='LoadImageFromFile')), LoadImageFromFile)


def test_each_file_loads_as_bgr_uint8_or_raises_naming_it(image_dir):
    folder, cases = image_dir
    load = LoadImageFromFile()
    for name, reason in cases.items():
        path = str(folder / name)
        if reason is None:
            img = load(dict(img_path=path))['img']
            assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3, name
        else:
            with pytest.raises(BadImageError, match=reason) as info:
                load(dict(img_path=path))
            assert info.value.path == path and 'skip_bad_images=True' in str(info.value)
    # Grayscale replicated to 3 equal channels; 16 bits scaled down to 8.
    gray = load(dict(img_path=str(folder / 'gray.png')))['img']
    assert np.array_equal(gray[..., 0], gray[..., 2])
    deep = load(dict(img_path=str(folder / 'deep16.png')))['img']
    src = np.array(Image.open(folder / 'deep16.png'))
    assert np.array_equal(deep[..., 0], (src >> 8).astype(np.uint8))
    # CMYK converted to the same colours PIL gives (not inverted), as BGR.
    cmyk = load(dict(img_path=str(folder / 'cmyk.jpg')))['img']
    ref = np.array(Image.open(folder / 'cmyk.jpg').convert('RGB'))
    assert np.abs(cmyk[..., ::-1].astype(int) - ref).max() <= 2
    # RGBA: alpha dropped, colours kept.
    rgba = load(dict(img_path=str(folder / 'rgba.png')))['img']
    assert np.array_equal(rgba[..., ::-1], np.array(Image.open(folder / 'rgba.png'))[..., :3])


def test_missing_listed_file(tmp_path):
    with pytest.raises(BadImageError, match='missing on disk') as info:
        LoadImageFromFile()(dict(img_path=str(tmp_path / 'gone.jpg')))
    assert 'gone.jpg' in str(info.value)


def test_empty_folder_error_names_folder(tmp_path):
    with pytest.raises(ValueError, match='No image files') as info:
        UnlabeledImageDataset(data_prefix=dict(img_path=str(tmp_path)))
    assert str(tmp_path) in str(info.value)


def _dataset(folder: Path, names, **kwargs):
    list_file = folder / f'list_{len(names)}.txt'
    list_file.write_text('\n'.join(names) + '\n')
    crop = [
        dict(type='LoadImageFromFile'),
        dict(type='RandomResizedCropWithBox', size=8, scale=(0.2, 1.)),
    ]
    register_all_modules()
    return UnlabeledImageDataset(ann_file=str(list_file), data_prefix=dict(img_path=str(folder)),
                                 pipeline=crop, **kwargs)


def test_small_image_is_cropped_to_size(image_dir):
    folder, _ = image_dir
    out = _dataset(folder, ['tiny.jpg'])[0]
    assert out['img'].shape == (8, 8, 3)


def test_dataset_raises_by_default_and_skips_on_request(image_dir, caplog):
    folder, _ = image_dir
    names = ['good.jpg', 'cut.jpg', 'missing.jpg']
    with pytest.raises(BadImageError, match='cut.jpg'):
        _dataset(folder, names)[1]

    dataset = _dataset(folder, names, skip_bad_images=True, max_refetch=50)
    np.random.seed(0)
    logger = MMLogger.get_current_instance()
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger.addHandler(handler)
    try:
        outputs = [dataset[1], dataset[2]]
    finally:
        logger.removeHandler(handler)
    # Each bad item was replaced by the only good image.
    assert all(out['img_path'].endswith('good.jpg') for out in outputs)
    warnings = [r.getMessage() for r in records if r.levelno == logging.WARNING]
    assert any('cut.jpg' in w and 'truncated JPEG' in w for w in warnings)
    assert any('missing.jpg' in w for w in warnings)
    assert dataset.num_skipped_images >= 2
    assert f'{dataset.num_skipped_images} bad image(s) skipped' in warnings[-1]


def test_verify_dataset_lists_every_bad_file(image_dir, tmp_path, capsys):
    import subprocess
    import sys
    folder, cases = image_dir
    config = tmp_path / 'scan.py'
    config.write_text(
        'train_dataloader = dict(dataset=dict(type="UnlabeledImageDataset", ann_file="", '
        f'data_prefix=dict(img_path={str(folder)!r}), pipeline=[]))\n')
    from mmdense.utils.dataset_verification import verify_dataset, verify_dataset_main
    bad = dict(verify_dataset(str(config)))
    expected = {str(folder / n): r for n, r in cases.items() if r is not None}
    assert set(bad) == set(expected)
    for path, reason in expected.items():
        assert reason in bad[path]
    assert verify_dataset_main([str(config)]) == 1
    assert capsys.readouterr().out.count('BAD ') == len(expected)
    # The CLI wrapper: exit status 0 on a clean folder.
    clean = tmp_path / 'clean'
    clean.mkdir()
    (clean / 'a.jpg').write_bytes((folder / 'good.jpg').read_bytes())
    repo = Path(__file__).resolve().parents[2]
    override = f'train_dataloader.dataset.data_prefix.img_path={clean}'
    proc = subprocess.run([sys.executable, str(repo / 'tools/misc/verify_dataset.py'), str(config),
                           '--cfg-options', override],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and 'All images are readable' in proc.stdout, proc.stderr[-2000:]
