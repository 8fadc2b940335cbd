"""Inputs for bench/fuzz.py: the corpus, APDUs generated from the codec's plan, and mutations.

Everything here is driven by one ``random.Random``, so a seed gives the same inputs on every
run. Mutations work on two levels: on the element tree (re-serialized with correct lengths,
so the result frames and reaches the decoder's checks) and on raw bytes (bit flips,
truncations, length and tag octets: what reaches the framer).
"""

from __future__ import annotations

import random
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from apdu_examples import full_apdu  # noqa: E402
from paths import CAPTURES  # noqa: E402

from isoill.codec import plan  # noqa: E402
from isoill.codec.ber import INDEFINITE, NeedMore, encode_header, read_header  # noqa: E402
from isoill.codec.encoder import encode, encode_node  # noqa: E402
from isoill.codec.errors import FramingError  # noqa: E402
from isoill.codec.schema import Field, Kind, Node  # noqa: E402

#: Nesting depths for the deep-nesting mutation: around the framer's and decoder's limits, and
#: beyond them; deep nests alone (:func:`deeply_nested`) go further.
NEST_DEPTHS = (4, 63, 64, 65, 127, 128, 129, 500)
DEPTHS = (*NEST_DEPTHS, 1000, 10_000)
INTERESTING_OCTETS = (0x00, 0x01, 0x1F, 0x20, 0x7F, 0x80, 0x81, 0x82, 0x84, 0x88, 0x89, 0xFF)
EXTENSION_OIDS = tuple(plan.EXTENSIONS)
MAX_GENERATED_DEPTH = 12


def trees(inputs: list[bytes]) -> list[Tree]:
    """The element trees of well-formed inputs (the corpus: donors of spliced elements)."""
    found = [parse(data) for data in inputs]
    return [tree for tree in found if tree is not None]


def corpus() -> list[bytes]:
    """The yaz-illclient captures and every APDU type of tests/apdu_examples.py in six
    variants."""
    captures = sorted(CAPTURES.glob("*.ber"))
    examples = [encode(full_apdu(name, variant)) for name in plan.APDUS for variant in range(6)]
    return [path.read_bytes() for path in captures] + examples


# --- APDUs generated from the plan ------------------------------------------------------------


def generated(rng: random.Random) -> bytes:
    """A random ILL-APDU built from the plan: mostly well-formed, values often odd."""
    return _element(rng.choice(list(plan.APDUS.values())), rng, 0)


def _header(key: int, constructed: bool, length: int | None, rng: random.Random) -> bytes:
    """Identifier and length octets; ``length`` None is the indefinite form. Sometimes in a
    longer form than needed, as BER allows."""
    head = encode_header(key, constructed, 0)[:-1]
    if length is None:
        return head + b"\x80"
    if rng.random() < 0.05:
        size = rng.choice((1, 2, 4))
        if length < 1 << (8 * size):
            return head + bytes((0x80 | size,)) + length.to_bytes(size, "big")
    return head + encode_header(0, False, length)[1:]


def _wrap(key: int, body: bytes, rng: random.Random) -> bytes:
    if rng.random() < 0.15:
        return _header(key, True, None, rng) + body + b"\x00\x00"
    return _header(key, True, len(body), rng) + body


def _element(node: Node, rng: random.Random, depth: int) -> bytes:
    body = _contents(node, rng, depth)
    for wrapper in reversed(node.wrappers):
        body = _wrap(wrapper, body, rng)
    return body


def _contents(node: Node, rng: random.Random, depth: int) -> bytes:
    kind = node.kind
    if kind is Kind.CHOICE:
        return _element(rng.choice(_shallow(node.fields, depth)).node, rng, depth + 1)
    if kind is Kind.ANY:
        if depth < MAX_GENERATED_DEPTH and rng.random() < 0.5:
            return _element(plan.EXTERNAL, rng, depth + 1)
        return _header(0x04 << 2, False, 3, rng) + b"abc"
    if kind is Kind.TEXT:
        key = rng.choice(list(node.text_tags))
        raw = _text(rng)
        if rng.random() < 0.05:  # a constructed string in two segments
            cut = rng.randrange(len(raw) + 1)
            parts = b"".join(_header(key, False, len(p), rng) + p for p in (raw[:cut], raw[cut:]))
            return _wrap(key, parts, rng)
        return _header(key, False, len(raw), rng) + raw
    assert node.tag is not None
    if kind is Kind.EXTERNAL and rng.random() < 0.6:
        return _wrap(node.tag, _extension(node, rng, depth), rng)
    if kind in (Kind.SEQUENCE, Kind.EXTERNAL):
        members = [
            _element(member.node, rng, depth + 1)
            for member in node.fields
            if not member.optional or (depth < MAX_GENERATED_DEPTH and rng.random() < 0.5)
        ]
        if rng.random() < 0.05:
            rng.shuffle(members)  # BER lets a SEQUENCE's components come in any order
        return _wrap(node.tag, b"".join(members), rng)
    if kind is Kind.SEQUENCE_OF:
        assert node.element is not None
        count = 0 if depth >= MAX_GENERATED_DEPTH else rng.choice((0, 1, 1, 2, 3))
        items = b"".join(_element(node.element, rng, depth + 1) for _ in range(count))
        return _wrap(node.tag, items, rng)
    value = _primitive(node, rng)
    return _header(node.tag, False, len(value), rng) + value


def _shallow(fields: tuple[Field, ...], depth: int) -> tuple[Field, ...]:
    """CHOICE alternatives; past the depth limit, those that do not nest when there are any."""
    if depth < MAX_GENERATED_DEPTH:
        return fields
    flat = tuple(f for f in fields if f.node.kind not in (Kind.SEQUENCE, Kind.CHOICE, Kind.ANY))
    return flat or fields


def _extension(node: Node, rng: random.Random, depth: int) -> bytes:
    """EXTERNAL contents: a registered syntax's OID and a generated value of it."""
    oid = rng.choice(EXTENSION_OIDS)
    syntax = plan.EXTENSIONS[oid]
    reference = encode_node(node.fields[0].node, oid)
    inner = _element(syntax, rng, depth + 1) if depth < MAX_GENERATED_DEPTH else b"\x05\x00"
    return reference + _wrap(0 << 2 | 2, inner, rng)


def _text(rng: random.Random) -> bytes:
    choice = rng.random()
    if choice < 0.6:
        return rng.choice((b"Dune", b"RESPLIB", b"20250101", b"", b"x" * 200))
    return rng.randbytes(rng.randrange(0, 40))


def _primitive(node: Node, rng: random.Random) -> bytes:
    kind = node.kind
    odd = rng.random() < 0.1
    if odd:
        return rng.randbytes(rng.randrange(0, 12))
    if kind in (Kind.INTEGER, Kind.ENUMERATED):
        named = [value for _, value in node.named_values]
        number = rng.choice(named) if named and rng.random() < 0.8 else rng.randrange(-300, 300)
        size = (number if number >= 0 else ~number).bit_length() // 8 + 1
        return number.to_bytes(size, "big", signed=True)
    if kind is Kind.BOOLEAN:
        return rng.choice((b"\xff", b"\x00", b"\x01"))
    if kind is Kind.NULL:
        return b""
    if kind is Kind.OID:
        return encode_node(node, rng.choice(EXTENSION_OIDS))[2:]
    if kind is Kind.STRING:
        return rng.choice((b"20250101", b"20251399", b"101530", b"250000", b"2025", b"123", b""))
    return rng.randbytes(rng.randrange(0, 8))  # OCTET STRING, BIT STRING


# --- the element tree -------------------------------------------------------------------------

#: An element: identifier octets, and either its contents (primitive) or its children. Empty
#: identifier octets mark an element kept already serialized (a deep nest).
Tree = tuple[bytes, "bytes | list[Tree]"]


def parse(data: bytes) -> Tree | None:
    """``data`` as one element tree, or None if it is not exactly one well-formed element."""
    try:
        tree, end = _parse(data, 0, 0)
    except (NeedMore, FramingError, IndexError, RecursionError):
        return None
    return tree if end == len(data) else None


def _parse(data: bytes, pos: int, depth: int) -> tuple[Tree, int]:
    if depth > 200:
        raise RecursionError
    _, constructed, length, content = read_header(data, pos)
    identifier = data[pos : _length_at(data, pos)]
    if not constructed:
        end = content + length
        if end > len(data):
            raise IndexError
        return (identifier, data[content:end]), end
    kids: list[Tree] = []
    pos = content
    while True:
        if length == INDEFINITE and data[pos : pos + 2] == b"\x00\x00":
            return (identifier, kids), pos + 2
        if length != INDEFINITE and pos >= content + length:
            if pos != content + length:
                raise IndexError
            return (identifier, kids), pos
        if pos >= len(data):
            raise IndexError
        kid, pos = _parse(data, pos, depth + 1)
        kids.append(kid)


def _length_at(data: bytes, pos: int) -> int:
    pos += 1
    if data[pos - 1] & 0x1F == 0x1F:
        while data[pos] & 0x80:
            pos += 1
        pos += 1
    return pos


def serialize(tree: Tree) -> bytes:
    identifier, body = tree
    if not identifier:
        assert isinstance(body, bytes)
        return body
    octets = body if isinstance(body, bytes) else b"".join(serialize(kid) for kid in body)
    return identifier + encode_header(0, False, len(octets))[1:] + octets


def _paths(tree: Tree, path: tuple[int, ...] = ()) -> list[tuple[int, ...]]:
    """Every element's path (child indexes from the root), the root first."""
    _, body = tree
    found = [path]
    if isinstance(body, list):
        for i, kid in enumerate(body):
            found += _paths(kid, (*path, i))
    return found


def _get(tree: Tree, path: tuple[int, ...]) -> Tree:
    for i in path:
        body = tree[1]
        assert isinstance(body, list)
        tree = body[i]
    return tree


def _set(tree: Tree, path: tuple[int, ...], new: list[Tree]) -> Tree:
    """``tree`` with the element at ``path`` replaced by ``new`` (none, one or several)."""
    if not path:
        return new[0] if new else tree
    identifier, body = tree
    assert isinstance(body, list)
    kids = list(body)
    if len(path) == 1:
        kids[path[0] : path[0] + 1] = new
    else:
        kids[path[0]] = _set(kids[path[0]], path[1:], new)
    return (identifier, kids)


# --- mutations --------------------------------------------------------------------------------


class Mutator:
    """Mutants of a base input, each one to four mutations deep."""

    def __init__(self, rng: random.Random, donors: list[Tree], base: bytes) -> None:
        self.rng = rng
        self.donors = donors  # where spliced elements come from
        self.base = base
        self.tree = parse(base)

    def mutant(self) -> bytes:
        rng = self.rng
        tree = self.tree if rng.random() < 0.6 else None
        if tree is not None:
            for _ in range(rng.randint(1, 3)):
                tree = rng.choice(TREE_MUTATIONS)(self, tree)
            data = bytearray(serialize(tree))
            if rng.random() < 0.3:
                self._bytes(data)
        else:
            data = bytearray(self.base)
            for _ in range(rng.randint(1, 4)):
                self._bytes(data)
        return bytes(data)

    def _bytes(self, data: bytearray) -> None:
        rng = self.rng
        if not data:
            data += rng.randbytes(rng.randrange(1, 8))
            return
        pos = rng.randrange(len(data))
        op = rng.randrange(8)
        if op == 0:
            data[pos] ^= 1 << rng.randrange(8)
        elif op == 1:
            data[pos] = rng.choice(INTERESTING_OCTETS)
        elif op == 2:
            del data[pos:]
        elif op == 3:
            del data[pos : pos + rng.randint(1, 8)]
        elif op == 4:
            data[pos:pos] = rng.randbytes(rng.randint(1, 8))
        elif op == 5:  # a run of the input repeated or moved
            start = rng.randrange(len(data))
            data[pos:pos] = data[start : start + rng.randint(1, 64)]
        elif op == 6:  # a length octet after an identifier
            data[pos : pos + 1] = rng.choice(
                (b"\x80", b"\x84\x40\x00\x00\x00", b"\x88" + b"\xff" * 8, b"\x89", b"\x82\xff")
            )
        else:  # a long-form tag, possibly over-long or with a leading zero octet
            data[pos : pos + 1] = rng.choice((b"\x1f\x80\x01", b"\x7f" + b"\xff" * 6, b"\xbf\x2e"))

    def _path(self, tree: Tree) -> tuple[int, ...]:
        return self.rng.choice(_paths(tree))

    def _donor_element(self) -> Tree:
        donor = self.rng.choice(self.donors)
        return _get(donor, self._path(donor))

    def delete(self, tree: Tree) -> Tree:
        return _set(tree, self._path(tree), [])

    def duplicate(self, tree: Tree) -> Tree:
        path = self._path(tree)
        return _set(tree, path, [_get(tree, path)] * 2) if path else tree

    def splice(self, tree: Tree) -> Tree:
        path = self._path(tree)
        donated = self._donor_element()
        new = [donated] if self.rng.random() < 0.5 or not path else [_get(tree, path), donated]
        return _set(tree, path, new)

    def retag(self, tree: Tree) -> Tree:
        path = self._path(tree)
        _, body = _get(tree, path)
        constructed = isinstance(body, list)
        rng = self.rng
        key = rng.choice((rng.randrange(64) << 2 | rng.randrange(4), 0x04 << 2, 8 << 2, 16 << 2))
        identifier = encode_header(key, constructed, 0)[:-1]
        if rng.random() < 0.2:
            identifier = bytes((identifier[0] ^ 0x20,)) + identifier[1:]  # constructed bit
        return _set(tree, path, [(identifier, body)])

    def revalue(self, tree: Tree) -> Tree:
        """A primitive's contents replaced: empty, huge integers, odd dates and OIDs."""
        primitives = [p for p in _paths(tree) if isinstance(_get(tree, p)[1], bytes)]
        if not primitives:
            return tree
        path = self.rng.choice(primitives)
        rng = self.rng
        odd = (b"", b"\x80", b"\xff" * 9, b"\x00" * 9, b"99999999", b"20250230", b"\x88\x80")
        value = rng.choice((*odd, rng.randbytes(rng.randrange(1, 30))))
        return _set(tree, path, [(_get(tree, path)[0], value)])

    def nest(self, tree: Tree) -> Tree:
        """An element wrapped in many constructed layers."""
        path = self._path(tree)
        element = _get(tree, path)
        depth = self.rng.choice(NEST_DEPTHS)
        identifier = self.rng.choice((b"\xa0", b"\x30", b"\x28", element[0] or b"\xa0"))
        identifier = bytes((identifier[0] | 0x20,)) + identifier[1:]
        return _set(tree, path, [(b"", layers(identifier, serialize(element), depth))])


TREE_MUTATIONS: tuple[Callable[[Mutator, Tree], Tree], ...] = (
    Mutator.delete,
    Mutator.duplicate,
    Mutator.splice,
    Mutator.retag,
    Mutator.revalue,
    Mutator.revalue,
    Mutator.delete,
    Mutator.splice,
    Mutator.retag,
    Mutator.revalue,
    Mutator.nest,
)


def deeply_nested(rng: random.Random, depth: int) -> bytes:
    """An ILL-Request header over ``depth`` constructed layers, indefinite or definite."""
    core = b"\x04\x00"
    if rng.random() < 0.5:
        return b"\x61\x80\x30\x80" + b"\xa0\x80" * depth + core + b"\x00\x00" * (depth + 2)
    return layers(b"\x61", layers(b"\x30", layers(b"\xa0", core, depth), 1), 1)


def layers(identifier: bytes, core: bytes, depth: int) -> bytes:
    """``core`` inside ``depth`` elements of ``identifier``, definite lengths; linear time."""
    heads = []
    size = len(core)
    for _ in range(depth):
        head = identifier + encode_header(0, False, size)[1:]
        heads.append(head)
        size += len(head)
    return b"".join(reversed(heads)) + core
