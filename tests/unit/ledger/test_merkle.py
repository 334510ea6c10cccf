import base64
import json
from collections.abc import Callable, Sequence
from hashlib import sha256
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bayflow.ledger import merkle
from bayflow.ledger.errors import ConsistencyProofInvalid, InclusionProofInvalid
from bayflow.ledger.merkle import (
    EMPTY_ROOT,
    CompactRange,
    NodeID,
    consistency_proof,
    hash_children,
    hash_leaf,
    hash_reader_for_leaves,
    inclusion_proof,
    root_from_leaf_hashes,
    root_hash,
    split_stored_hash_index,
    stored_hash_count,
    stored_hash_index,
    verify_consistency,
    verify_inclusion,
)
from tests.strategies import leaf_hash_lists

VECTORS = Path(__file__).parents[3] / ".." / "shared" / "vectors" / "merkle"
needs_vectors = pytest.mark.skipif(
    not VECTORS.is_dir(), reason=f"the shared Merkle vectors are not checked out at {VECTORS}"
)


def _vector_files(kind: str) -> list[Path]:
    return sorted((VECTORS / kind).rglob("*.json")) if VECTORS.is_dir() else []


def _b64(value: str) -> bytes:
    return base64.b64decode(value)


def _vector_id(path: Path) -> str:
    return str(path.relative_to(VECTORS))


def _flip(data: bytes, position: int) -> bytes:
    return data[:position] + bytes((data[position] ^ 0x01,)) + data[position + 1 :]


# RFC 9162 / RFC 6962 reference tree: leaves are the 8 inputs of the CT test suite.
_REFERENCE_ENTRIES = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    b"\x50\x51\x52\x53\x54\x55\x56\x57",
    b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
]
_REFERENCE_ROOTS = {
    1: "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    2: "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    3: "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    4: "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    5: "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    6: "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    7: "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    8: "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
}


class TestHashing:
    """Leaves and interior nodes are hashed with RFC 9162's domain-separation prefixes."""

    def test_leaf_hash_prefixes_a_zero_byte(self) -> None:
        assert hash_leaf(b"abc") == sha256(b"\x00abc").digest()

    def test_node_hash_prefixes_a_one_byte(self) -> None:
        left, right = b"l" * 32, b"r" * 32
        assert hash_children(left, right) == sha256(b"\x01" + left + right).digest()

    def test_empty_tree_root_is_the_hash_of_nothing(self) -> None:
        assert root_from_leaf_hashes([]) == EMPTY_ROOT == sha256(b"").digest()

    @pytest.mark.parametrize(("size", "expected"), sorted(_REFERENCE_ROOTS.items()))
    def test_roots_match_the_rfc_reference_tree(self, size: int, expected: str) -> None:
        leaves = [hash_leaf(entry) for entry in _REFERENCE_ENTRIES[:size]]
        assert root_from_leaf_hashes(leaves).hex() == expected
        assert root_hash(size, hash_reader_for_leaves(leaves)).hex() == expected


@needs_vectors
class TestInclusionVectors:
    """Every transparency-dev inclusion vector gets the verdict it names."""

    @pytest.mark.parametrize("path", _vector_files("inclusion"), ids=_vector_id)
    def test_vector(self, path: Path) -> None:
        case = json.loads(path.read_text())
        arguments = (
            _b64(case["leafHash"]),
            case["leafIdx"],
            case["treeSize"],
            [_b64(node) for node in case["proof"] or []],
            _b64(case["root"]),
        )
        if case["wantErr"]:
            with pytest.raises(InclusionProofInvalid):
                verify_inclusion(*arguments)
        else:
            verify_inclusion(*arguments)

    def test_the_vector_set_is_complete(self) -> None:
        files = _vector_files("inclusion")
        assert len(files) > 90
        assert any(not json.loads(path.read_text())["wantErr"] for path in files)


@needs_vectors
class TestConsistencyVectors:
    """Every transparency-dev consistency vector gets the verdict it names."""

    @pytest.mark.parametrize("path", _vector_files("consistency"), ids=_vector_id)
    def test_vector(self, path: Path) -> None:
        case = json.loads(path.read_text())
        arguments = (
            case["size1"],
            case["size2"],
            [_b64(node) for node in case["proof"] or []],
            _b64(case["root1"]),
            _b64(case["root2"]),
        )
        if case["wantErr"]:
            with pytest.raises(ConsistencyProofInvalid):
                verify_consistency(*arguments)
        else:
            verify_consistency(*arguments)

    def test_the_vector_set_is_complete(self) -> None:
        files = _vector_files("consistency")
        assert len(files) > 90
        assert any(not json.loads(path.read_text())["wantErr"] for path in files)


class TestVerifyInclusion:
    """Inclusion verification rejects anything but the exact proof for the exact leaf."""

    leaves = tuple(hash_leaf(entry) for entry in _REFERENCE_ENTRIES[:7])

    def _proof(self, index: int) -> list[bytes]:
        return inclusion_proof(index, len(self.leaves), hash_reader_for_leaves(self.leaves))

    def test_accepts_the_generated_proof(self) -> None:
        root = root_from_leaf_hashes(self.leaves)
        verify_inclusion(self.leaves[5], 5, 7, self._proof(5), root)

    @pytest.mark.parametrize(("index", "size"), [(7, 7), (-1, 7), (0, 0)])
    def test_rejects_an_index_outside_the_tree(self, index: int, size: int) -> None:
        with pytest.raises(InclusionProofInvalid, match="outside"):
            verify_inclusion(self.leaves[0], index, size, [], EMPTY_ROOT)

    def test_rejects_a_proof_with_an_extra_hash(self) -> None:
        root = root_from_leaf_hashes(self.leaves)
        with pytest.raises(InclusionProofInvalid, match="needs"):
            verify_inclusion(self.leaves[5], 5, 7, [*self._proof(5), root], root)

    def test_rejects_a_short_hash_in_the_proof(self) -> None:
        proof = self._proof(5)
        proof[1] = proof[1][:31]
        with pytest.raises(InclusionProofInvalid, match="wrong length"):
            verify_inclusion(self.leaves[5], 5, 7, proof, root_from_leaf_hashes(self.leaves))

    def test_rejects_a_leaf_hash_of_the_wrong_length(self) -> None:
        with pytest.raises(InclusionProofInvalid, match="leaf hash"):
            verify_inclusion(b"x", 0, 1, [], b"x")


class TestVerifyConsistency:
    """Consistency verification settles the degenerate size pairs without hashing."""

    def test_equal_sizes_with_equal_roots_and_no_proof_are_consistent(self) -> None:
        verify_consistency(3, 3, [], b"r" * 32, b"r" * 32)

    def test_two_empty_trees_are_consistent(self) -> None:
        verify_consistency(0, 0, [], EMPTY_ROOT, EMPTY_ROOT)

    def test_empty_trees_must_have_the_empty_root(self) -> None:
        with pytest.raises(ConsistencyProofInvalid, match="different root"):
            verify_consistency(0, 0, [], b"r" * 32, b"r" * 32)

    def test_a_shrinking_tree_is_inconsistent(self) -> None:
        with pytest.raises(ConsistencyProofInvalid, match="cannot precede"):
            verify_consistency(5, 4, [], EMPTY_ROOT, EMPTY_ROOT)

    def test_proofs_from_the_empty_tree_are_refused(self) -> None:
        with pytest.raises(ConsistencyProofInvalid, match="empty tree"):
            verify_consistency(0, 4, [], EMPTY_ROOT, EMPTY_ROOT)

    def test_rejects_a_short_hash_in_the_proof(self) -> None:
        with pytest.raises(ConsistencyProofInvalid, match="wrong length"):
            verify_consistency(3, 4, [b"x"], EMPTY_ROOT, EMPTY_ROOT)


class TestProofProperties:
    """Generated proofs verify, and any single flipped bit makes them fail."""

    @given(leaf_hash_lists(), st.data())
    def test_every_leaf_inclusion_proof_verifies(
        self, leaves: list[bytes], data: st.DataObject
    ) -> None:
        reader = hash_reader_for_leaves(leaves)
        size = data.draw(st.integers(min_value=1, max_value=len(leaves)), label="size")
        root = root_hash(size, reader)
        for index in range(size):
            verify_inclusion(leaves[index], index, size, inclusion_proof(index, size, reader), root)

    @given(leaf_hash_lists(), st.data())
    def test_consistency_proofs_between_any_sizes_verify(
        self, leaves: list[bytes], data: st.DataObject
    ) -> None:
        reader = hash_reader_for_leaves(leaves)
        size2 = data.draw(st.integers(min_value=1, max_value=len(leaves)), label="size2")
        size1 = data.draw(st.integers(min_value=1, max_value=size2), label="size1")
        proof = consistency_proof(size1, size2, reader)
        verify_consistency(size1, size2, proof, root_hash(size1, reader), root_hash(size2, reader))

    @given(leaf_hash_lists(min_size=2), st.data())
    def test_flipping_any_byte_breaks_an_inclusion_proof(
        self, leaves: list[bytes], data: st.DataObject
    ) -> None:
        reader = hash_reader_for_leaves(leaves)
        size = len(leaves)
        index = data.draw(st.integers(min_value=0, max_value=size - 1), label="index")
        proof = inclusion_proof(index, size, reader)
        root = root_hash(size, reader)
        # The leaf, every proof hash and the root, as one flat byte string to pick a byte from.
        parts = [leaves[index], *proof, root]
        position = data.draw(st.integers(min_value=0, max_value=32 * len(parts) - 1))
        part, offset = divmod(position, 32)
        parts[part] = _flip(parts[part], offset)
        with pytest.raises(InclusionProofInvalid):
            verify_inclusion(parts[0], index, size, parts[1:-1], parts[-1])

    @given(leaf_hash_lists(min_size=2), st.data())
    def test_flipping_any_byte_breaks_a_consistency_proof(
        self, leaves: list[bytes], data: st.DataObject
    ) -> None:
        reader = hash_reader_for_leaves(leaves)
        size2 = data.draw(st.integers(min_value=2, max_value=len(leaves)), label="size2")
        size1 = data.draw(st.integers(min_value=1, max_value=size2 - 1), label="size1")
        parts = [
            root_hash(size1, reader),
            *consistency_proof(size1, size2, reader),
            root_hash(size2, reader),
        ]
        position = data.draw(st.integers(min_value=0, max_value=32 * len(parts) - 1))
        part, offset = divmod(position, 32)
        parts[part] = _flip(parts[part], offset)
        with pytest.raises(ConsistencyProofInvalid):
            verify_consistency(size1, size2, parts[1:-1], parts[0], parts[-1])

    @given(leaf_hash_lists(min_size=2), st.data())
    def test_a_proof_for_one_index_fails_at_another(
        self, leaves: list[bytes], data: st.DataObject
    ) -> None:
        reader = hash_reader_for_leaves(leaves)
        size = len(leaves)
        index = data.draw(st.integers(min_value=0, max_value=size - 1))
        other = data.draw(st.integers(min_value=0, max_value=size - 1).filter(lambda i: i != index))
        with pytest.raises(InclusionProofInvalid):
            verify_inclusion(
                leaves[index],
                other,
                size,
                inclusion_proof(index, size, reader),
                root_hash(size, reader),
            )


class TestProofGeneration:
    """Proof generation reads only the perfect subtrees it needs, in one batch."""

    def test_reads_logarithmically_many_hashes_in_one_call(self) -> None:
        leaves = [hash_leaf(i.to_bytes(4, "big")) for i in range(1000)]
        reader = hash_reader_for_leaves(leaves)
        calls: list[list[NodeID]] = []

        def counting(nodes: Sequence[NodeID]) -> list[bytes]:
            calls.append(list(nodes))
            return list(reader(nodes))

        inclusion_proof(999, 1000, counting)
        consistency_proof(377, 1000, counting)
        assert len(calls) == 2
        assert all(len(nodes) <= 2 * 10 for nodes in calls)

    def test_equal_sizes_give_an_empty_consistency_proof(self) -> None:
        reader = hash_reader_for_leaves([hash_leaf(b"a")])
        assert consistency_proof(1, 1, reader) == []

    @pytest.mark.parametrize(("size1", "size2"), [(0, 3), (4, 3), (-1, 2)])
    def test_refuses_impossible_consistency_requests(self, size1: int, size2: int) -> None:
        with pytest.raises(ValueError, match="no consistency proof"):
            consistency_proof(size1, size2, hash_reader_for_leaves([]))

    def test_refuses_an_index_outside_the_tree(self) -> None:
        with pytest.raises(ValueError, match="outside"):
            inclusion_proof(3, 3, hash_reader_for_leaves([]))

    def test_refuses_a_reader_that_returns_too_few_hashes(self) -> None:
        with pytest.raises(ValueError, match="returned 0 hashes"):
            inclusion_proof(0, 2, lambda _nodes: [])

    def test_in_memory_reader_refuses_nodes_beyond_the_tree(self) -> None:
        with pytest.raises(ValueError, match="does not have"):
            hash_reader_for_leaves([hash_leaf(b"a")])([NodeID(1, 0)])

    def test_root_of_a_negative_size_is_refused(self) -> None:
        with pytest.raises(ValueError, match="negative"):
            root_hash(-1, hash_reader_for_leaves([]))


class TestStoredHashes:
    """Stored hashes are numbered in the order the sequencer creates them."""

    def test_first_positions_follow_the_tlog_layout(self) -> None:
        # Leaf 0; leaf 1 and node (1, 0); leaf 2; leaf 3, node (1, 1) and node (2, 0).
        expected = [(0, 0), (0, 1), (1, 0), (0, 2), (0, 3), (1, 1), (2, 0), (0, 4)]
        assert [split_stored_hash_index(i) for i in range(8)] == expected
        assert [stored_hash_index(*node) for node in expected] == list(range(8))

    @given(st.integers(min_value=0, max_value=1 << 40))
    def test_index_and_split_are_inverse(self, position: int) -> None:
        assert stored_hash_index(*split_stored_hash_index(position)) == position

    def test_count_is_twice_the_size_minus_its_popcount(self) -> None:
        for size in range(200):
            assert stored_hash_count(size) == 2 * size - size.bit_count()

    @pytest.mark.parametrize(
        "call",
        [
            lambda: stored_hash_count(-1),
            lambda: stored_hash_index(-1, 0),
            lambda: split_stored_hash_index(-1),
        ],
    )
    def test_negative_arguments_are_refused(self, call: Callable[[], object]) -> None:
        with pytest.raises(ValueError, match="negative"):
            call()


class TestCompactRange:
    """A compact range appends leaves, reports the stored hashes they create, and knows the root."""

    @given(leaf_hash_lists(max_size=100))
    def test_appended_hashes_are_the_stored_hashes_in_order(self, leaves: list[bytes]) -> None:
        reader = hash_reader_for_leaves(leaves)
        compact = CompactRange()
        created = []
        for leaf in leaves:
            created.extend(compact.append(leaf))
        assert len(created) == stored_hash_count(len(leaves))
        nodes = [split_stored_hash_index(i) for i in range(len(created))]
        assert created == list(reader(nodes))
        assert compact.root() == root_from_leaf_hashes(leaves)

    @given(leaf_hash_lists(max_size=100), st.data())
    def test_restores_from_stored_hashes_and_continues(
        self, leaves: list[bytes], data: st.DataObject
    ) -> None:
        reader = hash_reader_for_leaves(leaves)
        split = data.draw(st.integers(min_value=0, max_value=len(leaves)))
        compact = CompactRange.from_hash_reader(split, reader)
        assert compact.root() == root_hash(split, reader)
        copy = compact.copy()
        for leaf in leaves[split:]:
            compact.append(leaf)
        assert compact.size == len(leaves)
        assert compact.root() == root_from_leaf_hashes(leaves)
        assert copy.size == split

    def test_frontier_names_one_subtree_per_set_bit(self) -> None:
        assert CompactRange.frontier(13) == [NodeID(3, 0), NodeID(2, 2), NodeID(0, 12)]

    def test_empty_range_has_the_empty_root(self) -> None:
        assert CompactRange().root() == EMPTY_ROOT
        assert CompactRange.from_hash_reader(0, hash_reader_for_leaves([])).hashes == ()

    @pytest.mark.parametrize(
        ("size", "hashes", "message"),
        [
            (-1, [], "negative"),
            (3, [b"x" * 32], "frontier hashes"),
            (1, [b"x"], "SHA-256"),
        ],
    )
    def test_refuses_an_inconsistent_frontier(
        self, size: int, hashes: list[bytes], message: str
    ) -> None:
        with pytest.raises(ValueError, match=message):
            CompactRange(size, hashes)

    def test_refuses_a_leaf_hash_of_the_wrong_length(self) -> None:
        with pytest.raises(ValueError, match="SHA-256"):
            CompactRange().append(b"short")

    def test_repr_shows_only_the_size(self) -> None:
        assert repr(CompactRange()) == "CompactRange(size=0)"

    def test_frontier_of_a_negative_size_is_refused(self) -> None:
        with pytest.raises(ValueError, match="negative"):
            CompactRange.frontier(-1)


def test_module_exports_exist() -> None:
    assert all(hasattr(merkle, name) for name in merkle.__all__)
