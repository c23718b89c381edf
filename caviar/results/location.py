"""Storage URIs must not carry credentials: they would be copied everywhere the URI goes.

A URI is written into sweep.yaml and every Parquet footer, printed on the terminal, quoted in
error messages and put on a submitted job's command line. pyarrow accepts
``s3://KEY:SECRET@bucket/x`` and ``?access_key=...&secret_key=...``; caviar refuses both, without
quoting the URI, and points to the credential chain instead (environment variables, profiles,
instance roles), which pyarrow and every cloud SDK read by themselves.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl

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
