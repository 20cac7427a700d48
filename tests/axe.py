"""axe-core (Deque's accessibility rules engine) for the browser tests, installed from npm at test time.

``axe_source()`` installs ``axe-core`` into ``.cache/npm/axe-core`` (git-ignored) the first time and returns its
script; without node and npm the calling test skips. ``axe_violations(page, context)`` injects it into a
Playwright page and returns the WCAG 2.1 A and AA violations (rule ids, with the failing elements).
"""

from __future__ import annotations

import functools
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".cache" / "npm" / "axe-core"  # its own prefix: the hub test installs into another, maybe at the same time
#: The axe-core release the tests use (a minor-version range: new rules arrive with minor versions).
AXE_CORE = "axe-core@~4.14.0"
#: WCAG 2.1 levels A and AA, the standard US (ADA Title II) and EU public bodies must meet.
WCAG21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]

_RUN = """async ([context, tags]) => {
    const results = await axe.run(context || document, {runOnly: {type: 'tag', values: tags},
                                                        resultTypes: ['violations']});
    return results.violations.map(v => ({id: v.id, help: v.help,
        nodes: v.nodes.map(n => n.target.join(' ') + ': ' + n.html.slice(0, 160))}));
}"""


@functools.cache
def axe_source() -> str:
    """The axe-core script, installed from npm into .cache/npm if it is not there yet."""
    script = CACHE / "node_modules" / "axe-core" / "axe.min.js"
    if not script.is_file():
        npm = shutil.which("npm")
        if npm is None or shutil.which("node") is None:
            pytest.skip("node and npm are not installed: axe-core comes from npm (apt-get install nodejs npm)")
        CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run([npm, "install", "--prefix", str(CACHE), "--no-audit", "--no-fund", AXE_CORE],
                       check=True, capture_output=True, timeout=300)
    return script.read_text(encoding="utf-8")


def axe_violations(page, context: dict | None = None) -> list[dict]:
    """WCAG 2.1 A/AA violations axe finds on ``page`` (within ``context``: axe's include/exclude selectors)."""
    if not page.evaluate("typeof axe !== 'undefined'"):
        page.add_script_tag(content=axe_source())
    return page.evaluate(_RUN, [context, WCAG21_AA])


def summary(violations: list[dict]) -> str:
    """The violations as lines a person can act on: rule, what it asks, where."""
    return "\n".join(f"{v['id']} ({v['help']}): " + "; ".join(v["nodes"][:4]) for v in violations)
