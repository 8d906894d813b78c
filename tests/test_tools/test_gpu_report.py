"""The prepared GPU report runs end to end on the CPU in its dry mode (no GPU in CI)."""
import os.path as osp
import re
import subprocess
import sys

from mmdense.analysis.gpu_report import render_report

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def test_dry_run_writes_the_whole_table(tmp_path):
    out = tmp_path / 'report.md'
    subprocess.run(['bash', osp.join(ROOT, 'tools', 'analysis', 'gpu_report.sh'), '--dry-run',
                    '--out', str(out), '--work-dir', str(tmp_path / 'work')], check=True,
                   cwd=ROOT, env={'PYTHON': sys.executable, 'PATH': '/usr/bin:/bin'},
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=600)
    text = out.read_text()
    assert text.startswith('# mmdense GPU report\n')
    assert 'device: cpu (dry run' in text
    steps = re.findall(r'^\| (DenseCL|MoCo v2|PixPro|mmpretrain DenseCL) \| 2 \| (on|off) '
                       r'\| ([\d.]+) \| (\d+) \| (-|[\d.]+) \| (-|[\d.]+) \|$', text, re.M)
    assert sorted((m, last) for m, last, *_ in steps) == sorted(
        (m, last) for m in ('DenseCL', 'MoCo v2', 'PixPro', 'mmpretrain DenseCL')
        for last in ('on', 'off'))
    assert all(float(ms) > 0 for _, _, ms, *_ in steps)
    # The ratio is given on the mmpretrain rows only.
    assert all((ratio != '-') == (m == 'mmpretrain DenseCL') for m, *_, ratio in steps)
    e2e = re.findall(r'^\| (CPU augmentation|device augmentation) \| ([\d.]+) % \| ([\d.]+) '
                     r'\| \d+ \|$', text, re.M)
    assert [name for name, *_ in e2e] == ['CPU augmentation', 'device augmentation']
    assert all(0 <= float(share) <= 100 for _, share, _ in e2e)
    assert re.search(r'^Time per part: steps \d+ s, end to end \d+ s\.$', text, re.M)


def test_render_report_marks_missing_configs():
    text = render_report(dict(device='x'), [
        dict(method='DenseCL', batch=64, channels_last=True, step_ms=20.0, images_per_s=3200.0,
             peak_mb=20480.0),
        dict(method='mmpretrain DenseCL', batch=64, channels_last=True, step_ms=25.0,
             images_per_s=2560.0, peak_mb=None, ratio=0.8)],
        [dict(setting='device augmentation', config='nope.py', missing=True)], {'steps': 1.0})
    assert '| DenseCL | 64 | on | 20.0 | 3200 | 20.0 | - |' in text
    assert '| mmpretrain DenseCL | 64 | on | 25.0 | 2560 | - | 0.800 |' in text
    assert '| device augmentation | config nope.py not found | - | - |' in text
