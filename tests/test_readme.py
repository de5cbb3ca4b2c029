"""The README's examples run as written: its first commands and its Python snippets."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_opens_with_the_two_commands() -> None:
    first_block = re.search(r"```bash\n(.*?)```", README.read_text(), flags=re.S).group(1)
    commands = [line.split("#")[0].strip() for line in first_block.strip().splitlines()]
    assert commands == ["python3 dev.py app", "python3 dev.py test"]
    ci = (README.parent / ".ci" / "run").read_text()
    assert "python3 dev.py test" in ci


@pytest.mark.parametrize("index", range(len(_python_blocks())))
def test_python_snippet_runs(index: int, zviz_home: Path, tmp_path: Path) -> None:
    script = tmp_path / "snippet.py"
    script.write_text(_python_blocks()[index])
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr[-2000:]
