"""OpenMMLab packaging: the wheel ships configs, tools and the model index under
``mmdense/.mim``, and a config in a folder of its own inherits ``mmdense::`` and trains."""
import os
import os.path as osp
import shutil
import subprocess
import sys
import zipfile

import pytest
from mmengine.config import Config

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


@pytest.fixture(scope='module')
def wheel(tmp_path_factory):
    """A wheel built from a copy of this checkout (tracked and new files, as committed next)."""
    tmp = tmp_path_factory.mktemp('wheel')
    files = subprocess.run(['git', 'ls-files', '-co', '--exclude-standard'], cwd=ROOT, check=True,
                           capture_output=True, text=True).stdout.split()
    src = tmp / 'src'
    for name in files:
        if osp.isfile(osp.join(ROOT, name)):
            os.makedirs(src / osp.dirname(name), exist_ok=True)
            shutil.copy2(osp.join(ROOT, name), src / name)
    env = dict(os.environ, PIP_CONSTRAINT=osp.join(ROOT, 'requirements', 'constraints.txt'))
    subprocess.run([sys.executable, '-m', 'pip', 'wheel', '-q', '--no-deps', '--no-build-isolation',
                    '-w', str(tmp / 'dist'), str(src)], check=True, env=env, timeout=600,
                   capture_output=True)
    path, = (tmp / 'dist').glob('mmdense-*.whl')
    return path


def test_wheel_ships_configs_tools_and_model_index(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in ('mmdense/.mim/model-index.yml', 'mmdense/.mim/tools/train.py',
                 'mmdense/.mim/tools/dist_train.sh',
                 'mmdense/.mim/configs/densecl/densecl_r50_8xb32-coslr-200e_in1k.py',
                 'mmdense/.mim/configs/_base_/default_runtime.py',
                 'mmdense/.mim/configs/benchmarks/mmseg/'
                 'fcn_r50-d8_syncbn_4xb4-20k_voc12aug-512x512.py',
                 'mmdense/.mim/configs/densecl/metafile.yml'):
        assert name in names, name
    assert not any('__pycache__' in n for n in names)


def test_config_outside_the_repo_inherits_mmdense_and_trains(wheel, tmp_path):
    site = tmp_path / 'site'
    subprocess.run([sys.executable, '-m', 'pip', 'install', '-q', '--no-deps', '--target',
                    str(site), str(wheel)], check=True, timeout=300, capture_output=True)
    project = tmp_path / 'project'
    project.mkdir()
    (project / 'my_densecl.py').write_text(
        "_base_ = 'mmdense::densecl/densecl_r18_demo.py'\n"
        "model = dict(queue_len=2)\n"
        "train_dataloader = dict(batch_size=2, num_workers=0,\n"
        "                        dataset=dict(data_root='demo', num_images=4, image_size=64))\n"
        "train_cfg = dict(max_epochs=1)\n"
        "default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=1))\n")
    env = dict(os.environ, PYTHONPATH=str(site))
    # OpenMMLab's launcher: `mim train` finds the installed package and runs the
    # tools/train.py the wheel ships under .mim/.
    proc = subprocess.run([sys.executable, '-m', 'mim', 'train', 'mmdense', 'my_densecl.py',
                           '--work-dir', 'work'], cwd=project, env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert 'Training finished successfully' in proc.stdout
    assert (project / 'work' / 'epoch_1.pth').is_file()
    # The process imported the installed wheel, not this checkout.
    where = subprocess.run([sys.executable, '-c', 'import mmdense; print(mmdense.__file__)'],
                           cwd=project, env=env, capture_output=True, text=True, check=True)
    assert where.stdout.strip().startswith(str(site))


def test_checkout_trains_a_config_of_ones_own_from_another_folder(tmp_path):
    """The editable install of `make setup`: tools/train.py from the checkout, the config and
    the run in a folder of their own."""
    (tmp_path / 'mine.py').write_text(
        "_base_ = 'mmdense::mocov2/mocov2_r18_demo.py'\n"
        "model = dict(queue_len=2)\n"
        "train_dataloader = dict(batch_size=2, num_workers=1,\n"
        "                        dataset=dict(data_root='demo', num_images=4, image_size=64))\n"
        "train_cfg = dict(max_epochs=1)\n")
    proc = subprocess.run([sys.executable, osp.join(ROOT, 'tools', 'train.py'), 'mine.py',
                           '--work-dir', 'work'], cwd=tmp_path, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert (tmp_path / 'work' / 'epoch_1.pth').is_file()


def test_editable_install_resolves_mmdense_bases(tmp_path):
    """`make setup` installs mmdense editable; `mmdense::` resolves through its .mim links."""
    import mmdense  # noqa: F401  (registers the scope)
    (tmp_path / 'mine.py').write_text("_base_ = 'mmdense::pixpro/pixpro_r18_demo.py'\n"
                                      "model = dict(momentum=0.995)\n")
    cfg = Config.fromfile(tmp_path / 'mine.py')
    assert cfg.model.type == 'PixPro' and cfg.model.momentum == 0.995
    assert cfg.model.backbone.depth == 18
