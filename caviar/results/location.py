"""Where a sweep lives: a local path or a URI (s3://...), opened as a pyarrow filesystem.

Storage URIs must not carry credentials: they would be copied everywhere the URI goes.

A URI is written into sweep.yaml and every Parquet footer, printed on the terminal, quoted in
error messages and put on a submitted job's command line. pyarrow accepts
``s3://KEY:SECRET@bucket/x`` and ``?access_key=...&secret_key=...``; caviar refuses both, without
quoting the URI, and points to the credential chain instead (environment variables, profiles,
instance roles), which pyarrow and every cloud SDK read by themselves.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pyarrow.fs as pafs

from caviar.errors import SpecError

# Query parameters that carry a secret in pyarrow's (and fsspec's) filesystem URIs.
SECRET_PARAMETERS = frozenset(
    {
        "access_key",
        "secret_key",
        "session_token",
        "password",
        "token",
        "sas_token",
        "account_key",
        "credentials",
        "client_secret",
    }
)
# ``user@`` or ``user:password@`` before the host (a secret may contain '/', '+' or '=').
_USERINFO = re.compile(r"[^/?#@]*@|[^/?#@]*:[^?#]*@")


def has_credentials(uri: str) -> bool:
    """Whether ``scheme://...`` names a user, a password or a secret query parameter."""
    _, sep, rest = uri.partition("://")
    if not sep:
        return False
    if _USERINFO.match(rest):
        return True
    _, _, query = rest.partition("?")
    names = {name.lower() for name, _ in parse_qsl(query, keep_blank_values=True)}
    return bool(names & SECRET_PARAMETERS)


def check_no_credentials(uri: str, where: str = "storage") -> None:
    """SpecError (which never quotes the URI) if ``uri`` carries credentials."""
    if has_credentials(uri):
        raise SpecError(
            where,
            "the URI holds credentials (user:password@ or a secret query parameter), which "
            "caviar would copy into sweep.yaml, Parquet files and logs; remove them and give them "
            "through the environment or the credential chain instead (AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY, AWS_PROFILE, an instance role; GOOGLE_APPLICATION_CREDENTIALS)",
        )


def open_location(uri: str) -> tuple[pafs.FileSystem, str]:
    """A filesystem and path for a local path or a URI such as s3://bucket/prefix.

    For s3:// the standard ``AWS_ENDPOINT_URL`` (or ``AWS_ENDPOINT_URL_S3``) environment variable
    points at an S3-compatible server (MinIO, moto, Ceph) unless the URI says
    ``?endpoint_override=``.
    """
    if "://" not in uri:
        return pafs.LocalFileSystem(), str(Path(uri).expanduser().resolve())
    check_no_credentials(uri)  # before anything can quote the URI
    if uri.startswith("s3://"):
        return _s3_location(uri)
    filesystem, path = pafs.FileSystem.from_uri(uri)
    return filesystem, path.rstrip("/")


def _s3_location(uri: str) -> tuple[pafs.FileSystem, str]:
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    if endpoint and "endpoint_override=" not in uri:
        path = uri[len("s3://") :].split("?", 1)[0].rstrip("/")
        scheme, _, host = endpoint.partition("://")
        if not host:
            scheme, host = "https", endpoint
        options: dict[str, Any] = {"endpoint_override": host.rstrip("/"), "scheme": scheme}
        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        if region:
            options["region"] = region
        return pafs.S3FileSystem(**options), path
    filesystem, path = pafs.FileSystem.from_uri(uri)
    return filesystem, path.rstrip("/")


def join_uri(base: str, *parts: str) -> str:
    """``base`` with path ``parts`` appended, before its query string (``s3://b/p?region=r``)."""
    path, mark, query = base.partition("?") if "://" in base else (base, "", "")
    return "/".join([path.rstrip("/"), *parts]) + mark + query
