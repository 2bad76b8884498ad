from setuptools import find_packages, setup

version = {}
exec(open('mmseg_difnet/version.py').read(), version)

setup(
    name='mmseg-difnet',
    version=version['__version__'],
    description='DifNet (Jiang et al., NeurIPS 2018) as an MMSegmentation 1.x plugin',
    long_description=open('README.md', encoding='utf-8').read(),
    long_description_content_type='text/markdown',
    packages=find_packages(include=['mmseg_difnet', 'mmseg_difnet.*']),
    package_data={'mmseg_difnet.visualization': ['diffusion_page.html']},  # the page's template
    python_requires='>=3.8',
    # Runtime requirements only; the tested versions are pinned in
    # requirements/constraints.txt (mmcv must be the full build with ops).
    install_requires=['mmsegmentation>=1.2.0', 'mmcv>=2.0.0rc4', 'mmengine>=0.10.0',
                      'ftfy', 'regex', 'simplejpeg'],
    extras_require={'mmpretrain': ['mmpretrain>=1.0.0'],
                    'densecrf': ['pydensecrf2']},  # post_processor=dict(type='DenseCRF')
    license='Apache License 2.0',
)
