"""Install mmdense. The pinned stack (torch, mmcv built from source, mmdet, mmseg)
is installed by ``make setup`` (tools/setup/setup_env.sh); see README.md."""
import os
import os.path as osp
import shutil
import sys

from setuptools import find_packages, setup

ROOT = osp.dirname(osp.abspath(__file__))
# What OpenMMLab packages ship under <package>/.mim/: `mmdense::` config bases, `mim train
# mmdense` and the model index read them from the installed package.
MIM_FILES = ('configs', 'tools', 'model-index.yml')


def read_version() -> str:
    namespace: dict = {}
    with open(osp.join(ROOT, 'mmdense', 'version.py')) as f:
        exec(f.read(), namespace)
    return namespace['__version__']


def read_requirements(name: str) -> list:
    path = osp.join(ROOT, 'requirements', name)
    with open(path) as f:
        lines = (line.split('#')[0].strip() for line in f)
        return [line for line in lines if line]


def add_mim_extension() -> None:
    """Fill ``mmdense/.mim`` with the configs, tools and model index.

    Symlinks for an editable install (edits to configs take effect at once), copies for a
    wheel or sdist (which must carry the files themselves); nothing for other commands.
    """
    if {'develop', 'editable_wheel'} & set(sys.argv):
        mode = 'symlink'
    elif {'bdist_wheel', 'sdist', 'build'} & set(sys.argv):
        mode = 'copy'
    else:
        return
    mim_path = osp.join(ROOT, 'mmdense', '.mim')
    os.makedirs(mim_path, exist_ok=True)
    for name in MIM_FILES:
        src, dst = osp.join(ROOT, name), osp.join(mim_path, name)
        if osp.islink(dst) or osp.isfile(dst):
            os.remove(dst)
        elif osp.isdir(dst):
            shutil.rmtree(dst)
        if mode == 'symlink':
            os.symlink(osp.relpath(src, mim_path), dst)
        elif osp.isdir(src):
            shutil.copytree(src, dst, ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))
        else:
            shutil.copyfile(src, dst)


if __name__ == '__main__':
    add_mim_extension()
    setup(
        name='mmdense',
        version=read_version(),
        description='OpenMMLab-style toolbox for dense self-supervised visual pre-training '
        '(DenseCL, PixPro, MoCo v2)',
        long_description=open(osp.join(ROOT, 'README.md')).read(),
        long_description_content_type='text/markdown',
        packages=find_packages(exclude=('configs', 'tools', 'tests', 'docs')),
        package_data={'mmdense': [f'.mim/{name}/**/*' for name in MIM_FILES[:2]] +
                      ['.mim/model-index.yml']},
        # PEP 604 unions (`X | None`) in signatures need 3.10.
        python_requires='>=3.10',
        # mmcv 2.1.0 must be built from source with its ops, so it is not declared here:
        # pip would try to build it in an isolated environment without the needed fixes.
        install_requires=[r for r in read_requirements('runtime.txt')
                          if not r.startswith('torch')],
        extras_require={'tests': read_requirements('tests.txt')},
        license='Apache License 2.0',
        zip_safe=False,
    )
