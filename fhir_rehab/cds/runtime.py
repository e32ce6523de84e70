"""Per-app CDS Hooks state: settings, the store, the JWT verifier and a pooled HTTP session."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import requests
from flask import Flask

from fhir_rehab.cds.settings import CdsSettings
from fhir_rehab.cds.store import CdsStore, FileCdsStore, RedisCdsStore
from fhir_rehab.cds.trust import ClientJwtVerifier
from fhir_rehab.launch.idtoken import JwksCache

EXTENSION_KEY = "fhir_rehab.cds"


@dataclass
class CdsRuntime:
    settings: CdsSettings
    store: CdsStore
    verifier: ClientJwtVerifier
    http: requests.Session
    app_version: str


def open_store(config: Mapping[str, Any], instance_path: str) -> CdsStore:
    """The same kind of store as the sessions: Redis when SESSION_REDIS is set, else files."""
    if config.get("SESSION_REDIS") is not None:
        return RedisCdsStore(config["SESSION_REDIS"])
    if config.get("SESSION_REDIS_URL"):
        import redis

        return RedisCdsStore(redis.Redis.from_url(config["SESSION_REDIS_URL"]))
    if config.get("CDS_STORE_DIR"):
        return FileCdsStore(config["CDS_STORE_DIR"])
    sessions = config.get("SESSION_DIR")
    return FileCdsStore(Path(sessions).parent / "cds" if sessions else Path(instance_path) / "cds")


def app_version() -> str:
    """The installed distribution's version (named in each card's source)."""
    try:
        return version("fhir-rehab")
    except PackageNotFoundError:
        return "unknown"


def init_cds(app: Flask) -> CdsRuntime:
    settings = CdsSettings.from_config(app.config)
    store = open_store(app.config, app.instance_path)
    http = requests.Session()
    verifier = ClientJwtVerifier(settings, store, http=http, jwks_cache=JwksCache(), clock=time.time)
    runtime = CdsRuntime(settings, store, verifier, http, app_version())
    app.extensions[EXTENSION_KEY] = runtime
    return runtime


def get_cds_runtime(app: Flask) -> CdsRuntime:
    runtime = app.extensions.get(EXTENSION_KEY)
    return runtime if isinstance(runtime, CdsRuntime) else init_cds(app)
