"""The README's two commands do what the README says: the first opens JupyterLab on lesson 00, with the
whole course in its file browser; the second is the command CI runs."""

from __future__ import annotations

import re
import shlex
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from lab_server import jupyterlab

ROOT = Path(__file__).resolve().parents[1]


def readme_commands() -> list[str]:
    """The commands in the README's "Two commands" block, without their comments."""
    section = (ROOT / "README.md").read_text().split("## Two commands", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.DOTALL).group(1)
    return [line.split("#", 1)[0].strip() for line in block.splitlines() if line.strip()]


def test_there_are_exactly_two_commands_and_ci_runs_the_second():
    first, second = readme_commands()
    assert first.startswith("uv run jupyter lab")
    ci = (ROOT / ".ci" / "run").read_text()
    assert f'"${{uv[@]}}" {second.removeprefix("uv ")}\n' in ci


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args):
        return None


@pytest.fixture(scope="module")
def readme_lab(tmp_path_factory):
    """The README's first command, run in this environment (``uv run`` -> this Python)."""
    args = shlex.split(readme_commands()[0])[2:]  # drop "uv run"
    with jupyterlab(args, cwd=ROOT, home=tmp_path_factory.mktemp("readme-lab")) as (url, token):
        yield url, token


def test_first_command_opens_lesson_00(readme_lab):
    url, token = readme_lab
    opener = urllib.request.build_opener(_NoRedirect)
    with pytest.raises(urllib.error.HTTPError) as redirect:
        opener.open(f"{url}/?token={token}", timeout=10)
    assert redirect.value.code == 302
    assert redirect.value.headers["Location"].split("?")[0].endswith("/lab/tree/notebooks/00_start_here.ipynb")


@pytest.mark.parametrize("path", ["notebooks/00_start_here.ipynb", "README.md", "docs/instructor_guide.md",
                                  "data/README.md"])
def test_first_command_shows_the_whole_course_in_the_file_browser(readme_lab, path):
    url, token = readme_lab
    with urllib.request.urlopen(f"{url}/api/contents/{path}?content=0&token={token}", timeout=10) as response:
        assert response.status == 200
