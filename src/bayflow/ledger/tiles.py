"""Tiles and entry bundles, as specified by c2sp.org/tlog-tiles.

A tile at level ``L`` holds up to 256 consecutive Merkle tree hashes from tree level ``8 * L``:
level 0 tiles hold leaf hashes, and each hash of a level ``L`` tile is the root of a full tile
at level ``L - 1``. Entry bundles hold the log entries behind a level 0 tile. Tiles are
immutable once full; the rightmost tile of each level may be *partial* (width 1–255).

This module computes names and contents only. Addressing of individual hashes uses
:class:`~bayflow.ledger.merkle.NodeID` from :mod:`bayflow.ledger.merkle`: node
``(level, n)`` lives in the tile at level ``level // 8``, and for levels that are not a
multiple of 8 it is recomputed from the ``2**(level % 8)`` tile hashes below it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Final

from bayflow.ledger.errors import MalformedTile
from bayflow.ledger.merkle import HASH_SIZE, HashReader, NodeID, hash_children

__all__ = [
    "MAX_ENTRY_SIZE",
    "TILE_HEIGHT",
    "TILE_WIDTH",
    "Tile",
    "TileReader",
    "decode_entry_bundle",
    "encode_entry_bundle",
    "hash_from_tile",
    "new_tiles",
    "read_hashes_from_tiles",
    "tile_data",
    "tile_for_node",
    "tiles_for_size",
]

TILE_HEIGHT: Final = 8
TILE_WIDTH: Final = 1 << TILE_HEIGHT
MAX_LEVEL: Final = 63
MAX_ENTRY_SIZE: Final = 0xFFFF
"""Entries are big-endian uint16 length-prefixed in bundles, so none can exceed 65,535 bytes."""

_PATH: Final = re.compile(
    r"tile/(?P<level>entries|0|[1-9][0-9]?)/(?P<n>(?:x[0-9]{3}/)*[0-9]{3})"
    r"(?:\.p/(?P<width>[1-9][0-9]{0,2}))?",
    re.ASCII,
)

TileReader = Callable[[Sequence["Tile"]], Sequence[bytes]]
"""Returns the contents of each requested tile, in request order (one batched fetch)."""


@dataclass(frozen=True, slots=True, order=True)
class Tile:
    """Tile ``n`` of level ``level``, ``width`` hashes wide; or, with ``entries``, its bundle.

    An entry bundle has the coordinates of the level 0 tile whose leaf hashes it hashes to,
    so ``entries`` is only allowed at level 0.
    """

    level: int
    n: int
    width: int = TILE_WIDTH
    entries: bool = field(default=False, kw_only=True)

    def __post_init__(self) -> None:
        if not 0 <= self.level <= MAX_LEVEL:
            raise MalformedTile(f"tile level must be between 0 and {MAX_LEVEL}")
        if self.n < 0:
            raise MalformedTile("tile index must not be negative")
        if not 1 <= self.width <= TILE_WIDTH:
            raise MalformedTile(f"tile width must be between 1 and {TILE_WIDTH}")
        if self.entries and self.level != 0:
            raise MalformedTile("entry bundles only exist for level 0 tiles")

    @classmethod
    def from_path(cls, path: str) -> Tile:
        """Parse ``tile/<L>/<N>[.p/<W>]`` or ``tile/entries/<N>[.p/<W>]`` strictly."""
        match = _PATH.fullmatch(path)
        if match is None:
            raise MalformedTile(f"{path!r} is not a tile path")
        groups = match["n"].split("/")
        # "x000/005" would be a second spelling of tile 5.
        if len(groups) > 1 and groups[0] == "x000":
            raise MalformedTile(f"{path!r} has a leading zero group")
        n = int("".join(group.removeprefix("x") for group in groups))
        width = TILE_WIDTH if match["width"] is None else int(match["width"])
        if width == TILE_WIDTH and match["width"] is not None:
            raise MalformedTile("a full tile has no .p/ suffix")
        if match["level"] == "entries":
            return cls(0, n, width, entries=True)
        return cls(int(match["level"]), n, width)

    @property
    def path(self) -> str:
        """The path below the log prefix, e.g. ``tile/1/x001/234.p/17``."""
        digits = f"{self.n:03d}"
        digits = "0" * (-len(digits) % 3) + digits
        groups = [digits[i : i + 3] for i in range(0, len(digits), 3)]
        index = "/".join([*(f"x{group}" for group in groups[:-1]), groups[-1]])
        level = "entries" if self.entries else str(self.level)
        suffix = "" if self.width == TILE_WIDTH else f".p/{self.width}"
        return f"tile/{level}/{index}{suffix}"

    @property
    def is_partial(self) -> bool:
        return self.width < TILE_WIDTH

    @property
    def start(self) -> int:
        """The first leaf index the tile spans: ``n * 256**(level + 1)``."""
        return self.n << TILE_HEIGHT * (self.level + 1)

    @property
    def end(self) -> int:
        """One past the last leaf the tile spans (for a partial tile, as far as it reaches)."""
        return self.start + (self.width << TILE_HEIGHT * self.level)

    @property
    def nodes(self) -> list[NodeID]:
        """The tree nodes whose hashes the tile holds, in order."""
        first = self.n << TILE_HEIGHT
        return [NodeID(self.level * TILE_HEIGHT, first + i) for i in range(self.width)]


def tiles_for_size(size: int) -> Iterator[Tile]:
    """Every hash tile of a tree of ``size`` leaves, level by level, full tiles then partial.

    A tree of 70,000 leaves has 273 full level 0 tiles, a level 0 tile of width 112, a full
    level 1 tile, a level 1 tile of width 17 and a level 2 tile of width 1 (tlog-tiles).
    """
    return new_tiles(0, size)


def new_tiles(old_size: int, new_size: int) -> Iterator[Tile]:
    """The hash tiles that growing the tree from ``old_size`` to ``new_size`` creates.

    These are the tiles a sequencer must write after integrating a batch: full tiles that
    were partial or missing before, and the new partial tile of each level that changed.
    Their entry bundles are the same coordinates at level 0 with ``entries=True``.
    """
    if not 0 <= old_size <= new_size:
        raise ValueError(f"a tree cannot grow from {old_size} to {new_size} leaves")
    level = 0
    while new_size >> TILE_HEIGHT * level:
        old = old_size >> TILE_HEIGHT * level
        new = new_size >> TILE_HEIGHT * level
        if old != new:
            for n in range(old >> TILE_HEIGHT, new >> TILE_HEIGHT):
                yield Tile(level, n)
            if new % TILE_WIDTH:
                yield Tile(level, new >> TILE_HEIGHT, new % TILE_WIDTH)
        level += 1


def tile_for_node(node: NodeID, size: int) -> Tile:
    """The tile of a tree of ``size`` leaves from which node ``node``'s hash can be computed.

    That is the full tile if the tree has it, otherwise the partial tile of this size.

    Raises:
        ValueError: the tree of ``size`` leaves does not contain the node.
    """
    level, n = node
    if level < 0 or n < 0 or (n + 1) << level > size:
        raise ValueError(f"a tree of size {size} has no node {tuple(node)}")
    tile_level, below = divmod(level, TILE_HEIGHT)
    first = n << below
    tile_n = first >> TILE_HEIGHT
    count = size >> TILE_HEIGHT * tile_level
    width = TILE_WIDTH if tile_n < count >> TILE_HEIGHT else count % TILE_WIDTH
    return Tile(tile_level, tile_n, width)


def hash_from_tile(tile: Tile, data: bytes, node: NodeID) -> bytes:
    """The hash of ``node`` computed from the contents ``data`` of ``tile``.

    Raises:
        MalformedTile: ``data`` is not ``tile.width`` hashes.
        ValueError: the node is not within the tile.
    """
    if tile.entries:
        raise ValueError("entry bundles hold entries, not hashes")
    if len(data) != tile.width * HASH_SIZE:
        raise MalformedTile(f"{tile.path} must hold {tile.width} hashes")
    tile_level, below = divmod(node.level, TILE_HEIGHT)
    first = (node.n << below) - (tile.n << TILE_HEIGHT)
    count = 1 << below
    if tile_level != tile.level or first < 0 or first + count > tile.width:
        raise ValueError(f"node {tuple(node)} is not in {tile.path}")
    hashes = [data[i * HASH_SIZE : (i + 1) * HASH_SIZE] for i in range(first, first + count)]
    # A perfect subtree: hash neighbours pairwise until one root remains.
    while len(hashes) > 1:
        hashes = [hash_children(hashes[i], hashes[i + 1]) for i in range(0, len(hashes), 2)]
    return hashes[0]


def tile_data(tile: Tile, read_hashes: HashReader) -> bytes:
    """The contents of hash tile ``tile``: its ``width`` hashes concatenated."""
    if tile.entries:
        raise ValueError("entry bundles are encoded with encode_entry_bundle")
    hashes = read_hashes(tile.nodes)
    if len(hashes) != tile.width or any(len(node) != HASH_SIZE for node in hashes):
        raise ValueError(f"hash reader returned the wrong hashes for {tile.path}")
    return b"".join(hashes)


def read_hashes_from_tiles(
    nodes: Sequence[NodeID], size: int, read_tiles: TileReader
) -> list[bytes]:
    """Answer a :data:`~bayflow.ledger.merkle.HashReader` request from the tiles of a tree.

    The tiles are fetched in one call and not authenticated here: this suits a store reading
    its own tiles. A client reading tiles from elsewhere must check the resulting root or
    proof against a verified checkpoint, which :mod:`bayflow.ledger.merkle`'s verifiers do.
    """
    if not nodes:
        return []
    tiles = [tile_for_node(node, size) for node in nodes]
    unique = sorted(set(tiles))
    contents = dict(zip(unique, read_tiles(unique), strict=True))
    return [
        hash_from_tile(tile, contents[tile], node) for tile, node in zip(tiles, nodes, strict=True)
    ]


def encode_entry_bundle(entries: Iterable[bytes]) -> bytes:
    """Concatenate entries, each prefixed with its big-endian uint16 length (tlog-tiles)."""
    parts = []
    for entry in entries:
        if len(entry) > MAX_ENTRY_SIZE:
            raise ValueError(f"an entry in a bundle is at most {MAX_ENTRY_SIZE} bytes")
        parts.append(len(entry).to_bytes(2, "big"))
        parts.append(entry)
    if not 1 <= len(parts) // 2 <= TILE_WIDTH:
        raise ValueError(f"an entry bundle holds 1 to {TILE_WIDTH} entries")
    return b"".join(parts)


def decode_entry_bundle(data: bytes, width: int | None = None) -> list[bytes]:
    """Split an entry bundle strictly: no truncated entry, no trailing bytes.

    With ``width`` (the bundle's tile width), the number of entries must match it.

    Raises:
        MalformedTile: the bundle is truncated, too long, or has the wrong number of entries.
    """
    entries: list[bytes] = []
    offset = 0
    view = memoryview(data)
    while offset < len(data):
        if len(entries) == TILE_WIDTH:
            raise MalformedTile(f"an entry bundle holds at most {TILE_WIDTH} entries")
        if offset + 2 > len(data):
            raise MalformedTile("entry bundle ends inside a length prefix")
        length = int.from_bytes(view[offset : offset + 2], "big")
        offset += 2
        if offset + length > len(data):
            raise MalformedTile("entry bundle ends inside an entry")
        entries.append(bytes(view[offset : offset + length]))
        offset += length
    if not entries:
        raise MalformedTile("an entry bundle is never empty")
    if width is not None and len(entries) != width:
        raise MalformedTile(f"entry bundle holds {len(entries)} entries, expected {width}")
    return entries
