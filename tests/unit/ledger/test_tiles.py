from collections.abc import Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bayflow.ledger.errors import MalformedTile
from bayflow.ledger.merkle import (
    NodeID,
    hash_leaf,
    hash_reader_for_leaves,
    inclusion_proof,
    root_hash,
)
from bayflow.ledger.tiles import (
    MAX_ENTRY_SIZE,
    TILE_WIDTH,
    Tile,
    decode_entry_bundle,
    encode_entry_bundle,
    hash_from_tile,
    new_tiles,
    read_hashes_from_tiles,
    tile_data,
    tile_for_node,
    tiles_for_size,
)


def _leaves(size: int) -> list[bytes]:
    return [hash_leaf(i.to_bytes(4, "big")) for i in range(size)]


class TestTilePaths:
    """Tile paths use the x-prefixed three-digit groups of c2sp.org/tlog-tiles."""

    @pytest.mark.parametrize(
        ("tile", "path"),
        [
            (Tile(0, 0), "tile/0/000"),
            (Tile(0, 5, 17), "tile/0/005.p/17"),
            (Tile(1, 1234067), "tile/1/x001/x234/067"),
            (Tile(2, 1000, 1), "tile/2/x001/000.p/1"),
            (Tile(63, 999), "tile/63/999"),
            (Tile(0, 1234067, 255, entries=True), "tile/entries/x001/x234/067.p/255"),
        ],
    )
    def test_formats_and_parses(self, tile: Tile, path: str) -> None:
        assert tile.path == path
        assert Tile.from_path(path) == tile

    @given(
        st.integers(min_value=0, max_value=63),
        st.integers(min_value=0, max_value=1 << 56),
        st.integers(min_value=1, max_value=TILE_WIDTH),
    )
    def test_paths_round_trip(self, level: int, n: int, width: int) -> None:
        tile = Tile(level, n, width)
        assert Tile.from_path(tile.path) == tile
        entries = Tile(0, n, width, entries=True)
        assert Tile.from_path(entries.path) == entries

    @pytest.mark.parametrize(
        "path",
        [
            "tile/0/5",
            "tile/0/0005",
            "tile/00/005",
            "tile/64/000",
            "tile/0/001/234",
            "tile/0/x000/005",
            "tile/0/x001/x234",
            "tile/0/005.p/0",
            "tile/0/005.p/256",
            "tile/0/005.p/017",
            "tile/0/005.p/300",
            "tile/data/005",
            "/tile/0/005",
            "tile/0/005/",
            "tile/-1/005",
            "tile/0/\u0660\u0660\u0665",
        ],
    )
    def test_rejects_non_canonical_paths(self, path: str) -> None:
        with pytest.raises(MalformedTile):
            Tile.from_path(path)

    @pytest.mark.parametrize("fields", [(-1, 0, 1), (64, 0, 1), (0, -1, 1), (0, 0, 0), (0, 0, 257)])
    def test_constructor_upholds_the_ranges(self, fields: tuple[int, int, int]) -> None:
        with pytest.raises(MalformedTile):
            Tile(*fields)

    def test_entry_bundles_only_exist_at_level_zero(self) -> None:
        with pytest.raises(MalformedTile, match="level 0"):
            Tile(1, 0, entries=True)

    def test_spans_are_measured_in_leaves(self) -> None:
        assert (Tile(0, 2).start, Tile(0, 2).end) == (512, 768)
        assert (Tile(1, 1, 17).start, Tile(1, 1, 17).end) == (65536, 65536 + 17 * 256)
        assert Tile(1, 1, 17).is_partial
        assert not Tile(1, 1).is_partial


class TestTilesForSize:
    """A tree has exactly the tiles the spec lists for its size."""

    def test_spec_example_of_seventy_thousand_leaves(self) -> None:
        tiles = list(tiles_for_size(70_000))
        assert len(tiles) == 273 + 1 + 1 + 1 + 1
        assert [t.path for t in tiles if t.is_partial or t.level > 0] == [
            "tile/0/273.p/112",
            "tile/1/000",
            "tile/1/001.p/17",
            "tile/2/000.p/1",
        ]

    def test_spec_example_of_256_leaves(self) -> None:
        assert [t.path for t in tiles_for_size(256)] == ["tile/0/000", "tile/1/000.p/1"]

    def test_empty_tree_has_no_tiles(self) -> None:
        assert list(tiles_for_size(0)) == []

    @given(st.lists(st.integers(min_value=0, max_value=200_000), min_size=1, max_size=5))
    def test_new_tiles_over_any_growth_end_with_the_tiles_of_the_final_size(
        self, sizes: list[int]
    ) -> None:
        written: dict[tuple[int, int], Tile] = {}
        previous = 0
        for size in sorted(sizes):
            for tile in new_tiles(previous, size):
                written[tile.level, tile.n] = tile
            previous = size
        assert sorted(written.values()) == sorted(tiles_for_size(previous))

    def test_growing_within_a_tile_rewrites_only_partial_tiles(self) -> None:
        assert [t.path for t in new_tiles(300, 301)] == ["tile/0/001.p/45"]
        assert list(new_tiles(300, 300)) == []

    def test_completing_a_tile_writes_it_and_the_level_above(self) -> None:
        assert [t.path for t in new_tiles(255, 256)] == ["tile/0/000", "tile/1/000.p/1"]

    def test_shrinking_is_refused(self) -> None:
        with pytest.raises(ValueError, match="cannot grow"):
            list(new_tiles(5, 4))


class TestTileHashes:
    """Tile contents reproduce every stored hash, and proofs read from tiles match."""

    @pytest.mark.parametrize("size", [1, 255, 256, 257, 70_000])
    def test_proofs_from_tiles_match_proofs_from_leaves(self, size: int) -> None:
        reader = hash_reader_for_leaves(_leaves(size))
        contents = {tile: tile_data(tile, reader) for tile in tiles_for_size(size)}
        fetches: list[int] = []

        def read_tiles(tiles: Sequence[Tile]) -> list[bytes]:
            fetches.append(len(tiles))
            return [contents[tile] for tile in tiles]

        def from_tiles(nodes: Sequence[NodeID]) -> list[bytes]:
            return read_hashes_from_tiles(nodes, size, read_tiles)

        assert root_hash(size, from_tiles) == root_hash(size, reader)
        indices = {0, size // 2, size - 1}
        for index in indices:
            assert inclusion_proof(index, size, from_tiles) == inclusion_proof(index, size, reader)
        assert len(fetches) <= 1 + len(indices)
        assert max(fetches) <= 3 * 2  # Two tiles a level, at most three levels.

    def test_tile_for_node_prefers_the_full_tile(self) -> None:
        assert tile_for_node(NodeID(0, 3), 300) == Tile(0, 0)
        assert tile_for_node(NodeID(0, 299), 300) == Tile(0, 1, 44)
        assert tile_for_node(NodeID(3, 1), 300) == Tile(0, 0)
        assert tile_for_node(NodeID(8, 0), 300) == Tile(1, 0, 1)

    @pytest.mark.parametrize("node", [NodeID(0, 300), NodeID(2, 75), NodeID(-1, 0)])
    def test_tile_for_node_refuses_nodes_outside_the_tree(self, node: NodeID) -> None:
        with pytest.raises(ValueError, match="has no node"):
            tile_for_node(node, 300)

    def test_hash_from_tile_checks_the_tile_length(self) -> None:
        with pytest.raises(MalformedTile, match="must hold 2 hashes"):
            hash_from_tile(Tile(0, 0, 2), b"\x00" * 63, NodeID(0, 0))

    @pytest.mark.parametrize("node", [NodeID(0, 2), NodeID(8, 0), NodeID(2, 0)])
    def test_hash_from_tile_refuses_nodes_outside_the_tile(self, node: NodeID) -> None:
        with pytest.raises(ValueError, match="is not in"):
            hash_from_tile(Tile(0, 0, 2), b"\x00" * 64, node)

    def test_entry_bundles_hold_no_hashes(self) -> None:
        bundle = Tile(0, 0, 2, entries=True)
        with pytest.raises(ValueError, match="entries"):
            hash_from_tile(bundle, b"\x00" * 64, NodeID(0, 0))
        with pytest.raises(ValueError, match="encode_entry_bundle"):
            tile_data(bundle, hash_reader_for_leaves(_leaves(2)))

    def test_tile_data_checks_what_the_reader_returns(self) -> None:
        with pytest.raises(ValueError, match="wrong hashes"):
            tile_data(Tile(0, 0, 2), lambda nodes: [b"short" for _ in nodes])


class TestEntryBundles:
    """Entry bundles are uint16 length-prefixed entries, decoded strictly."""

    @given(st.lists(st.binary(max_size=300), min_size=1, max_size=TILE_WIDTH))
    def test_round_trip(self, entries: list[bytes]) -> None:
        bundle = encode_entry_bundle(entries)
        assert decode_entry_bundle(bundle, width=len(entries)) == entries

    def test_encoding_is_big_endian_length_then_bytes(self) -> None:
        assert encode_entry_bundle([b"ab", b""]) == b"\x00\x02ab\x00\x00"

    def test_the_largest_entry_fits(self) -> None:
        entry = b"x" * MAX_ENTRY_SIZE
        assert decode_entry_bundle(encode_entry_bundle([entry])) == [entry]

    @pytest.mark.parametrize(
        "entries", [[b"x" * (MAX_ENTRY_SIZE + 1)], [], [b""] * (TILE_WIDTH + 1)]
    )
    def test_encoding_refuses_what_a_bundle_cannot_hold(self, entries: list[bytes]) -> None:
        with pytest.raises(ValueError, match=r"at most|1 to"):
            encode_entry_bundle(entries)

    @pytest.mark.parametrize(
        ("data", "width", "message"),
        [
            (b"", None, "never empty"),
            (b"\x00", None, "length prefix"),
            (b"\x00\x03ab", None, "inside an entry"),
            (b"\x00\x01a\x00", None, "length prefix"),
            (b"\x00\x01a", 2, "expected 2"),
            (b"\x00\x00" * (TILE_WIDTH + 1), None, "at most"),
        ],
    )
    def test_decoding_rejects_malformed_bundles(
        self, data: bytes, width: int | None, message: str
    ) -> None:
        with pytest.raises(MalformedTile, match=message):
            decode_entry_bundle(data, width)
