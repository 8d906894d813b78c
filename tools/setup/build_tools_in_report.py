"""Print ``name==version`` for each build tool a ``pip install --report`` would install.

Used by ``setup_env.sh`` in check mode (``MMDENSE_SETUP_CHECK=1``): a resolved step installs
only these for real, so a later step meets the build tools a full set-up would leave behind.
Standard library only: it runs in a throwaway venv.

Usage::

    python build_tools_in_report.py REPORT.json requirements/build.txt
"""
import json
import re
import sys


def requirement_names(path: str) -> set:
    """Lower-case project names of a requirements file (comments and specifiers dropped)."""
    names = set()
    with open(path) as f:
        for line in f:
            line = line.split('#')[0].strip()
            if line:
                names.add(re.split(r'[<>=!~;\[ ]', line)[0].lower())
    return names


def main(report_path: str, build_requirements: str) -> None:
    names = requirement_names(build_requirements)
    with open(report_path) as f:
        report = json.load(f)
    for item in report.get('install', []):
        meta = item['metadata']
        if meta['name'].lower() in names:
            print(f"{meta['name']}=={meta['version']}")


if __name__ == '__main__':
    main(*sys.argv[1:3])
