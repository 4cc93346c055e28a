"""The golden set (``tests/golden/``): data outputs of fixed configurations are byte-identical to
the manifest stored when results last changed on purpose. A refactoring that moves code, renames
things or replaces literals by named parameters must leave every one of these files as it was."""

from __future__ import annotations

import json

import pytest

from golden.generate import MANIFEST, run

pytestmark = pytest.mark.slow


def test_golden_outputs_are_byte_identical(tmp_path):
    expected = json.loads(MANIFEST.read_text())
    got = run(tmp_path)
    assert sorted(got) == sorted(expected), "the golden sweeps wrote a different set of files"
    changed = [name for name in expected if got[name] != expected[name]]
    assert not changed, (f"{len(changed)} of {len(expected)} golden files differ, e.g. {changed[:5]}; "
                         "if results changed on purpose, regenerate with `python tests/golden/generate.py DIR --write`")
