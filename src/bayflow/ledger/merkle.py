"""Merkle tree hashing and proofs of RFC 9162 (Certificate Transparency 2.0), Section 2.1.

Everything here is pure: no I/O, no storage. Three groups of functions:

- **Hashing** (RFC 9162 §2.1.1): :func:`hash_leaf`, :func:`hash_children`, :data:`EMPTY_ROOT`,
  :func:`root_from_leaf_hashes`.
- **Verification** (§2.1.3.2 and §2.1.4.2): :func:`verify_inclusion` and
  :func:`verify_consistency` return ``None`` or raise. They are the hot path of offline proof
  checking, so they work on raw ``bytes`` with :func:`hashlib.sha256` and no intermediate objects.
- **Generation for a stored tree** (§2.1.3.1 and §2.1.4.1): the tree is seen through a
  :data:`HashReader` that returns the hashes of *perfect* subtrees, addressed as
  ``NodeID(level, n)`` — the subtree of ``2**level`` leaves starting at leaf
  ``n * 2**level``. These are exactly the "stored hashes" of the Go checksum database
  (``golang.org/x/mod/sumdb/tlog``) and the hashes that c2sp.org/tlog-tiles serves, so a store
  can answer from tiles. A proof in a tree of ``N`` leaves needs O(log N) of them, fetched in a
  single batched call.

The sequencer side is :class:`CompactRange`: it holds the right edge of the tree (one perfect
subtree per set bit of the size), and each :meth:`CompactRange.append` returns the new stored
hashes the store must persist. :func:`stored_hash_index` numbers stored hashes in the order they
are produced, for stores that keep them in one flat sequence.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from hashlib import sha256
from typing import Final, NamedTuple

from bayflow.ledger.errors import ConsistencyProofInvalid, InclusionProofInvalid

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "CompactRange",
    "HashReader",
    "NodeID",
    "consistency_proof",
    "hash_children",
    "hash_leaf",
    "hash_reader_for_leaves",
    "inclusion_proof",
    "root_from_leaf_hashes",
    "root_hash",
    "split_stored_hash_index",
    "stored_hash_count",
    "stored_hash_index",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE: Final = 32

# RFC 9162 §2.1.1 domain separation: leaves and interior nodes can never collide.
_LEAF_PREFIX: Final = b"\x00"
_NODE_PREFIX: Final = b"\x01"

EMPTY_ROOT: Final = sha256(b"").digest()
"""MTH({}) = SHA-256() — the root hash of the empty tree (RFC 9162 §2.1.1)."""


class NodeID(NamedTuple):
    """A perfect subtree: the ``n``-th run of ``2**level`` leaves, from leaf ``n * 2**level``.

    Level 0 nodes are leaf hashes. This is the ``(level, n)`` addressing of tlog stored hashes;
    the field is ``n`` rather than ``index`` because tuples already have an ``index`` method.
    """

    level: int
    n: int


HashReader = Callable[[Sequence[NodeID]], Sequence[bytes]]
"""Returns the hash of each requested perfect subtree, in request order.

Proof generation asks for everything it needs in one call, so a database or tile store can
answer with a single batched lookup.
"""


def _hash_leaf(entry: bytes) -> bytes:
    return sha256(_LEAF_PREFIX + entry).digest()


def _hash_children(left: bytes, right: bytes) -> bytes:
    return sha256(_NODE_PREFIX + left + right).digest()


def hash_leaf(entry: bytes) -> bytes:
    """MTH({d}) = SHA-256(0x00 || d), the hash of one log entry (RFC 9162 §2.1.1)."""
    return _hash_leaf(entry)


def hash_children(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right), the hash of an interior node (RFC 9162 §2.1.1)."""
    return _hash_children(left, right)


def root_from_leaf_hashes(leaf_hashes: Iterable[bytes]) -> bytes:
    """MTH(D[n]) for the given leaf hashes, in one pass and O(log n) memory."""
    compact = CompactRange()
    for leaf_hash in leaf_hashes:
        compact.append(leaf_hash)
    return compact.root()


# Verification.


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that ``leaf_hash`` is leaf ``index`` of the tree of ``size`` leaves with ``root``.

    This is RFC 9162 §2.1.3.2, restated: the proof's first ``inner`` hashes climb from the leaf
    to the point where the paths of ``index`` and of the last leaf ``size - 1`` meet, taking
    each sibling from the side given by the bits of ``index``; the remaining ``border`` hashes
    are the left siblings along the tree's right border. Both counts follow from the two
    indices alone, so a proof of any other length is rejected before hashing.

    Raises:
        InclusionProofInvalid: the proof does not bind the leaf to the root.
    """
    if not 0 <= index < size:
        raise InclusionProofInvalid(f"leaf index {index} is outside a tree of size {size}")
    inner = (index ^ (size - 1)).bit_length()
    border = (index >> inner).bit_count()
    if len(proof) != inner + border:
        raise InclusionProofInvalid(
            f"inclusion proof has {len(proof)} hashes; index {index} in a tree of size {size} "
            f"needs {inner + border}"
        )
    if len(leaf_hash) != HASH_SIZE:
        raise InclusionProofInvalid("leaf hash is not a SHA-256 hash")
    node = leaf_hash
    bits = index
    for sibling in proof:
        if len(sibling) != HASH_SIZE:
            raise InclusionProofInvalid("inclusion proof holds a hash of the wrong length")
        if inner:
            inner -= 1
            if bits & 1:
                node = sha256(_NODE_PREFIX + sibling + node).digest()
            else:
                node = sha256(_NODE_PREFIX + node + sibling).digest()
            bits >>= 1
        else:
            # Above the meeting point the leaf is always in a right subtree.
            node = sha256(_NODE_PREFIX + sibling + node).digest()
    if node != root:
        raise InclusionProofInvalid("inclusion proof leads to a different root hash")


def verify_consistency(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes
) -> None:
    """Check that the tree of ``size2`` leaves with ``root2`` extends the one with ``root1``.

    RFC 9162 §2.1.4.2. Two cases are settled without hashing:

    - equal sizes need an empty proof and equal roots (for size 0, the empty-tree root);
    - ``size1 == 0 < size2`` is rejected: every tree extends the empty one, so such a "proof"
      proves nothing, and a caller that accepts a first checkpoint must say so explicitly.

    Raises:
        ConsistencyProofInvalid: the proof does not show that the second tree appends to the first.
    """
    if size1 == size2 or not 0 < size1 < size2:
        _verify_trivial_consistency(size1, size2, proof, root1, root2)
        return
    if any(len(node) != HASH_SIZE for node in proof):
        raise ConsistencyProofInvalid("consistency proof holds a hash of the wrong length")
    # (1): Skip the levels where the old tree's last leaf is a right child: the old root's
    # rightmost perfect subtree starts above them. If the old tree is itself perfect, the
    # proof omits its root, so the old root is the starting node.
    shift = _trailing_ones(size1 - 1)
    first = size1 - 1 >> shift
    last = size2 - 1 >> shift
    seed, rest = (root1, proof) if first == 0 else (proof[0] if proof else b"", proof[1:])
    # (2): The remaining hashes split, as in verify_inclusion, into `inner` hashes below the
    # meeting point of the two trees' last leaves and `border` hashes above it.
    inner = (first ^ last).bit_length()
    border = (first >> inner).bit_count()
    if not proof or len(rest) != inner + border:
        raise ConsistencyProofInvalid(
            f"consistency proof has the wrong number of hashes for sizes {size1} and {size2}"
        )
    old, new = _chain_consistency(seed, rest, first, inner)
    # (3): Both reconstructed roots must match.
    if old != root1:
        raise ConsistencyProofInvalid("consistency proof does not lead to the first root hash")
    if new != root2:
        raise ConsistencyProofInvalid("consistency proof does not lead to the second root hash")


def _verify_trivial_consistency(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes
) -> None:
    """The cases of :func:`verify_consistency` that need no hashing, or are refused."""
    if not 0 <= size1 <= size2:
        raise ConsistencyProofInvalid(f"tree size {size1} cannot precede tree size {size2}")
    if size1 < size2:
        raise ConsistencyProofInvalid("a consistency proof from the empty tree proves nothing")
    if proof:
        raise ConsistencyProofInvalid("trees of equal size need an empty consistency proof")
    if root1 != root2 or (size1 == 0 and root1 != EMPTY_ROOT):
        raise ConsistencyProofInvalid("trees of equal size have different root hashes")


def _chain_consistency(
    seed: bytes, proof: Sequence[bytes], first: int, inner: int
) -> tuple[bytes, bytes]:
    """Climb from ``seed`` to the old and the new root at once (RFC 9162 §2.1.4.2, step 6)."""
    old = new = seed
    for sibling in proof:
        if inner:
            inner -= 1
            if first & 1:
                old = sha256(_NODE_PREFIX + sibling + old).digest()
                new = sha256(_NODE_PREFIX + sibling + new).digest()
            else:
                # Right siblings exist only in the new tree.
                new = sha256(_NODE_PREFIX + new + sibling).digest()
            first >>= 1
        else:
            old = sha256(_NODE_PREFIX + sibling + old).digest()
            new = sha256(_NODE_PREFIX + sibling + new).digest()
    return old, new


def _trailing_ones(value: int) -> int:
    return (~value & (value + 1)).bit_length() - 1


# Generation from stored hashes.


def _perfect_nodes(start: int, end: int) -> list[NodeID]:
    """The perfect subtrees that make up the RFC 9162 subtree D[start:end], left to right.

    Every subtree the RFC's recursion reaches starts at a multiple of the largest power of two
    not above its size, so it splits along the binary digits of ``end - start``.
    """
    nodes = []
    size = end - start
    while size:
        level = size.bit_length() - 1
        nodes.append(NodeID(level, start >> level))
        start += 1 << level
        size -= 1 << level
    return nodes


def _fold(hashes: Sequence[bytes]) -> bytes:
    # MTH of a subtree is its perfect parts hashed together from the right.
    node = hashes[-1]
    for left in reversed(hashes[:-1]):
        node = _hash_children(left, node)
    return node


def _read_ranges(ranges: Sequence[tuple[int, int]], read_hashes: HashReader) -> list[bytes]:
    """MTH(D[start:end]) for each range, with one call to ``read_hashes``."""
    plans = [_perfect_nodes(start, end) for start, end in ranges]
    wanted = [node for plan in plans for node in plan]
    hashes = read_hashes(wanted)
    if len(hashes) != len(wanted):
        raise ValueError(f"hash reader returned {len(hashes)} hashes for {len(wanted)} nodes")
    result = []
    offset = 0
    for plan in plans:
        result.append(_fold(hashes[offset : offset + len(plan)]))
        offset += len(plan)
    return result


def root_hash(size: int, read_hashes: HashReader) -> bytes:
    """MTH(D[size]) of a stored tree; at most one stored hash per set bit of ``size``."""
    if size < 0:
        raise ValueError("tree size must not be negative")
    if size == 0:
        return EMPTY_ROOT
    return _read_ranges([(0, size)], read_hashes)[0]


def inclusion_proof(index: int, size: int, read_hashes: HashReader) -> list[bytes]:
    """PATH(index, D[size]) of RFC 9162 §2.1.3.1, leaf's sibling first.

    Raises:
        ValueError: ``index`` is not a leaf of a tree of ``size`` leaves.
    """
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is outside a tree of size {size}")
    ranges = []
    start, end = 0, size
    while end - start > 1:
        split = start + (1 << ((end - start - 1).bit_length() - 1))
        if index < split:
            ranges.append((split, end))
            end = split
        else:
            ranges.append((start, split))
            start = split
    ranges.reverse()
    return _read_ranges(ranges, read_hashes)


def consistency_proof(size1: int, size2: int, read_hashes: HashReader) -> list[bytes]:
    """PROOF(size1, D[size2]) of RFC 9162 §2.1.4.1, deepest node first.

    Equal sizes give the empty proof. ``size1 == 0`` is refused, matching
    :func:`verify_consistency`.

    Raises:
        ValueError: the sizes are not ``0 < size1 <= size2``.
    """
    if not 0 < size1 <= size2:
        raise ValueError(f"no consistency proof from size {size1} to size {size2}")
    ranges = []
    start, end = 0, size2
    # SUBPROOF's flag b: true while the current subtree is still a prefix of the old tree's
    # left spine, whose root the verifier already knows.
    known = True
    while size1 != end:
        split = start + (1 << ((end - start - 1).bit_length() - 1))
        if size1 <= split:
            ranges.append((split, end))
            end = split
        else:
            ranges.append((start, split))
            start = split
            known = False
    if not known:
        ranges.append((start, end))
    ranges.reverse()
    return _read_ranges(ranges, read_hashes)


def hash_reader_for_leaves(leaf_hashes: Sequence[bytes]) -> HashReader:
    """A :data:`HashReader` over an in-memory list of leaf hashes.

    It computes every stored hash up front (about ``2 * len(leaf_hashes)`` of them), so it
    suits tests and small in-memory ledgers, not a tree of millions of leaves.
    """
    levels: list[list[bytes]] = [list(leaf_hashes)]
    while len(levels[-1]) > 1:
        below = levels[-1]
        levels.append([_hash_children(below[i], below[i + 1]) for i in range(0, len(below) - 1, 2)])

    def read(nodes: Sequence[NodeID]) -> list[bytes]:
        try:
            return [levels[level][n] for level, n in nodes]
        except IndexError:
            raise ValueError("requested a subtree the tree does not have") from None

    return read


# Stored hashes, for the sequencer.


def stored_hash_count(size: int) -> int:
    """How many stored hashes a tree of ``size`` leaves has: leaf ``n`` adds ``1 + t`` hashes,
    where ``t`` is the number of subtrees it completes (the trailing one bits of ``n``)."""
    if size < 0:
        raise ValueError("tree size must not be negative")
    count = 0
    while size:
        count += size
        size >>= 1
    return count


def stored_hash_index(level: int, n: int) -> int:
    """The position of node ``(level, n)`` in the sequence of stored hashes.

    The node is completed by leaf ``((n + 1) << level) - 1``, whose hashes follow all the
    stored hashes of the tree before it, leaf hash first and then one per level.
    """
    if level < 0 or n < 0:
        raise ValueError("level and n must not be negative")
    return stored_hash_count(((n + 1) << level) - 1) + level


def split_stored_hash_index(position: int) -> NodeID:
    """The inverse of :func:`stored_hash_index`."""
    if position < 0:
        raise ValueError("stored hash position must not be negative")
    # stored_hash_count(n) = 2n - popcount(n), so the leaf is close to position / 2.
    leaf = position // 2
    while stored_hash_count(leaf) > position:
        leaf -= 1
    while stored_hash_count(leaf + 1) <= position:
        leaf += 1
    level = position - stored_hash_count(leaf)
    return NodeID(level, leaf >> level)


class CompactRange:
    """The right edge of a Merkle tree: enough to append leaves and compute the root.

    It holds one perfect subtree hash per set bit of the tree size, largest (leftmost) first —
    the nodes :meth:`frontier` names. A sequencer restores it from storage with
    :meth:`from_hash_reader`, appends leaves, and persists what :meth:`append` returns.
    """

    __slots__ = ("_hashes", "_size")

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()) -> None:
        if size < 0:
            raise ValueError("tree size must not be negative")
        if len(hashes) != size.bit_count():
            raise ValueError(f"a tree of size {size} has {size.bit_count()} frontier hashes")
        if any(len(node) != HASH_SIZE for node in hashes):
            raise ValueError("frontier hashes must be SHA-256 hashes")
        self._size = size
        self._hashes = list(hashes)

    @staticmethod
    def frontier(size: int) -> list[NodeID]:
        """The perfect subtrees whose hashes make up the right edge of a tree of ``size``."""
        if size < 0:
            raise ValueError("tree size must not be negative")
        return _perfect_nodes(0, size)

    @classmethod
    def from_hash_reader(cls, size: int, read_hashes: HashReader) -> CompactRange:
        nodes = cls.frontier(size)
        return cls(size, list(read_hashes(nodes)) if nodes else [])

    @property
    def size(self) -> int:
        return self._size

    @property
    def hashes(self) -> tuple[bytes, ...]:
        return tuple(self._hashes)

    def append(self, leaf_hash: bytes) -> list[bytes]:
        """Add one leaf and return the stored hashes it creates.

        Item ``i`` of the result is node ``(i, old_size >> i)``: the leaf hash, then the hash
        of each perfect subtree the leaf completes. Positions in the flat stored-hash sequence
        run on from ``stored_hash_index(0, old_size)``.
        """
        if len(leaf_hash) != HASH_SIZE:
            raise ValueError("leaf hash must be a SHA-256 hash")
        created = [leaf_hash]
        node = leaf_hash
        bits = self._size
        # Each trailing one bit of the old size is a perfect subtree the new leaf now pairs with.
        while bits & 1:
            node = sha256(_NODE_PREFIX + self._hashes.pop() + node).digest()
            created.append(node)
            bits >>= 1
        self._hashes.append(node)
        self._size += 1
        return created

    def root(self) -> bytes:
        """MTH(D[size]), the root hash of the tree so far."""
        if not self._hashes:
            return EMPTY_ROOT
        return _fold(self._hashes)

    def copy(self) -> CompactRange:
        return CompactRange(self._size, self._hashes)

    def __repr__(self) -> str:
        return f"CompactRange(size={self._size})"
