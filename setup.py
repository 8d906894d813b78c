"""Install mmdense. The pinned stack (torch, mmcv built from source, mmdet, mmseg)
is installed by ``make setup`` (tools/setup/setup_env.sh); see README.md."""
import os.path as osp

from setuptools import find_packages, setup


def read_version() -> str:
    namespace: dict = {}
    with open(osp.join(osp.dirname(__file__), 'mmdense', 'version.py')) as f:
        exec(f.read(), namespace)
    return namespace['__version__']


def read_requirements(name: str) -> list:
    path = osp.join(osp.dirname(__file__), 'requirements', name)
    with open(path) as f:
        lines = (line.split('#')[0].strip() for line in f)
        return [line for line in lines if line]


setup(
    name='mmdense',
    version=read_version(),
    description='OpenMMLab-style toolbox for dense self-supervised visual pre-training '
    '(DenseCL, PixPro, MoCo v2)',
    long_description=open('README.md').read() if osp.exists('README.md') else '',
    long_description_content_type='text/markdown',
    packages=find_packages(exclude=('configs', 'tools', 'tests', 'docs')),
    # PEP 604 unions (`X | None`) in signatures need 3.10.
    python_requires='>=3.10',
    # mmcv 2.1.0 must be built from source with its ops, so it is not declared here:
    # pip would try to build it in an isolated environment without the needed fixes.
    install_requires=[r for r in read_requirements('runtime.txt') if not r.startswith('torch')],
    extras_require={'tests': read_requirements('tests.txt')},
    license='Apache License 2.0',
    zip_safe=False,
)
