"""The hash chain: any change, deletion or reordering of a record shows."""

from __future__ import annotations

from gateway.domain.audit import GENESIS, ChainLink, chain_hash, verify_chain


def chain(*contents: bytes) -> list[ChainLink]:
    links, previous = [], GENESIS
    for n, content in enumerate(contents, start=1):
        link = ChainLink(n, previous, chain_hash(previous, content), content)
        links.append(link)
        previous = link.hash
    return links


def test_an_intact_chain_holds():
    assert verify_chain(chain(b"a", b"b", b"c")) == (3, None)
    assert verify_chain([]) == (0, None)


def test_a_changed_record_breaks_the_chain_there():
    links = chain(b"a", b"b", b"c")
    links[1] = ChainLink(2, links[1].previous, links[1].hash, b"B")
    count, problem = verify_chain(links)
    assert count == 1
    assert problem is not None
    assert (problem.sequence, problem.reason) == (2, "its content was changed")


def test_a_deleted_record_shows_even_when_hashes_are_recomputed_after_it():
    links = chain(b"a", b"b", b"c")
    del links[1]
    count, problem = verify_chain(links)
    assert count == 1
    assert problem is not None
    assert problem.sequence == 3


def test_a_deleted_first_record_and_reordering_show():
    links = chain(b"a", b"b", b"c")
    assert verify_chain(links[1:])[1] is not None
    assert verify_chain([links[0], links[2], links[1]])[1] is not None


def test_a_rewritten_chain_tail_does_not_hide_a_change():
    links = chain(b"a", b"b", b"c")
    forged = chain(b"a", b"B", b"c")  # an attacker recomputes every hash after the change
    assert verify_chain(forged) == (3, None)  # consistent in itself...
    assert forged[2].hash != links[2].hash  # ...but the head no longer matches a kept copy
