# SHIM: moved to caviar.search.next_spec; removed at merge.
from caviar.search.next_spec import (
    inside_note,
    range_comment,
    spec_text,
    write_zoom,
    zoom_spec,
)

__all__ = [
    "inside_note",
    "range_comment",
    "spec_text",
    "write_zoom",
    "zoom_spec",
]
