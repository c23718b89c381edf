"""The installed version of caviar (sweep.yaml records it; ``caviar --version`` prints it)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("caviar-sweep")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"
