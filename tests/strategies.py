"""Hypothesis strategies shared across the test suite."""

from __future__ import annotations

import string

from hypothesis import strategies as st

from bayflow.ledger.checkpoint import Checkpoint
from bayflow.ledger.merkle import hash_leaf

hashes = st.binary(min_size=32, max_size=32)
"""Any SHA-256-sized byte string."""

entries = st.binary(max_size=64)
"""A log entry: arbitrary bytes, kept short so trees build quickly."""


@st.composite
def leaf_hash_lists(draw: st.DrawFn, min_size: int = 1, max_size: int = 70) -> list[bytes]:
    """Leaf hashes of a random tree: distinct entries hashed as RFC 9162 leaves."""
    size = draw(st.integers(min_value=min_size, max_value=max_size))
    return [hash_leaf(i.to_bytes(4, "big") + draw(entries)) for i in range(size)]


key_names = st.text(
    alphabet=string.ascii_letters + string.digits + "./-_:", min_size=1, max_size=40
)
"""Key names and origins that are valid and look like the spec's schema-less URLs."""

note_lines = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cc", "Cs"),  # No control characters, no lone surrogates.
    ),
    min_size=1,
    max_size=40,
)
"""One non-empty line of note text, any Unicode except control characters."""

note_texts = st.lists(note_lines | st.just(""), min_size=1, max_size=6).map(
    lambda lines: "".join(f"{line}\n" for line in lines)
)
"""Note text: lines (some empty) each ending in a newline."""

tree_sizes = st.integers(min_value=0, max_value=(1 << 64) - 1)

checkpoints = st.builds(
    Checkpoint,
    origin=note_lines,
    size=tree_sizes,
    root_hash=hashes,
    extensions=st.lists(note_lines, max_size=3).map(tuple),
)
"""Any well-formed checkpoint body."""

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
"""I-JSON scalars: RFC 8785 canonicalises exactly these (integers within ±2**53)."""

json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=8,
)
"""Any I-JSON value, nested a little."""


def json_records(min_size: int = 0, max_size: int = 20) -> st.SearchStrategy[dict[str, object]]:
    """A JSON object with up to ``max_size`` top-level fields, as a record to commit to."""
    return st.dictionaries(st.text(max_size=12), json_values, min_size=min_size, max_size=max_size)
