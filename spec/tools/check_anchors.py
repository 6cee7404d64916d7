#!/usr/bin/env python3
"""Checks that every `section` anchor in spec/requirements/*.yaml exists in the pinned bLIP text.

Usage: python3 spec/tools/check_anchors.py <path to a lightning/blips clone>
The commit is read from each YAML file's `spec.commit`. Anchors follow GitHub's heading slugs
(lower case, punctuation other than `-` and `_` dropped, spaces to `-`). Needs PyYAML."""
import os, re, subprocess, sys
import yaml

def slug(heading):
    h = re.sub(r'[^\w\- ]', '', heading.strip().lower())
    return h.replace(' ', '-')

def anchors(repo, commit, path):
    text = subprocess.run(['git', '-C', repo, 'show', f'{commit}:{path}'], capture_output=True, text=True, check=True).stdout
    text = re.sub(r'```.*?```', '', text, flags=re.S)   # headings inside code blocks do not count
    return {slug(h) for h in re.findall(r'^#+ (.*)$', text, re.M)}

def main():
    repo = sys.argv[1]
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'requirements')
    bad = 0
    for name in sorted(os.listdir(here)):
        data = yaml.safe_load(open(os.path.join(here, name)))
        known = {}
        for req in data['requirements']:
            path, anchor = req['section'].split('#', 1)
            if path not in known:
                known[path] = anchors(repo, data['spec']['commit'], path)
            if anchor not in known[path]:
                bad += 1
                print(f"{req['id']}: no heading {req['section']}")
    print('all anchors found' if not bad else f'{bad} missing anchors')
    sys.exit(1 if bad else 0)

if __name__ == '__main__':
    main()
