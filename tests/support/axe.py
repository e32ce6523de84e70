"""axe-core (the accessibility engine, from the npm registry, an exact version): find it in the
cache outside git, or install it there once (`scripts/fetch-axe-core`), and run it in a page."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

AXE_VERSION = "4.14.1"
CACHE = (
    Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "fhir-rehab" / f"axe-core-{AXE_VERSION}"
)
AXE_JS = CACHE / "node_modules" / "axe-core" / "axe.min.js"
HOW_TO_GET = (
    f"axe-core {AXE_VERSION} is needed for the accessibility checks: run `scripts/fetch-axe-core` "
    "(npm install into ~/.cache/fhir-rehab), or point FHIR_REHAB_AXE_JS at an axe.min.js."
)


def locate_axe() -> Path:
    """axe.min.js of the pinned version, installed into the cache with npm if it is not there."""
    given = os.environ.get("FHIR_REHAB_AXE_JS")
    if given and Path(given).is_file():
        return Path(given)
    if AXE_JS.is_file():
        return AXE_JS
    npm = shutil.which("npm")
    if npm is None:
        raise FileNotFoundError(HOW_TO_GET)
    CACHE.mkdir(parents=True, exist_ok=True)
    subprocess.run(  # noqa: S603 - fixed arguments
        [
            npm,
            "install",
            "--prefix",
            str(CACHE),
            "--no-save",
            "--no-audit",
            "--no-fund",
            "--silent",
            f"axe-core@{AXE_VERSION}",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if not AXE_JS.is_file():
        raise FileNotFoundError(HOW_TO_GET)
    return AXE_JS


def axe_violations(page: Any) -> list[str]:
    """Run axe-core (WCAG 2.0/2.1 A and AA rules) on the page; each violation as one readable line."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(locate_axe()))
    found = page.evaluate(
        """async () => {
            const result = await axe.run(document, {runOnly: {type: 'tag',
                values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}});
            return result.violations.map(v => v.id + ': ' + v.help + ' (' +
                v.nodes.map(n => n.target.join(' ')).slice(0, 3).join(', ') + ')');
        }"""
    )
    return list(found)
