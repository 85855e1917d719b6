"""What counts as a change: normalized text and fields, a bounded diff, and no baseline from garbage."""

from __future__ import annotations

from jobs.changes.compare import DIFF_MAX_BYTES, MARKDOWN_MAX_BYTES, Snapshot, compare


def page(markdown: str, price: float | None = 10.0, **extra: object) -> dict[str, object]:
    return {"url": "https://shop.example/p", "title": "P", "markdown": markdown, "links": ["https://x.example/"],
            "product": None if price is None else {"name": "P", "price": price, "images": []}, **extra}


def test_the_first_look_is_new_and_an_equal_one_is_same() -> None:
    first = Snapshot.of(page("# P\n\nSome text"), "job1")
    assert compare(None, first).status == "new"
    same = compare(first, Snapshot.of(page("#  P\n\n\nSome   text\n", links=["https://y.example/"]), "job2"))
    assert same.status == "same" and same.previous_job == "job1" and same.diff is None and same.fields == {}


def test_a_field_change_names_the_field_with_before_and_after() -> None:
    change = compare(Snapshot.of(page("text"), "a"), Snapshot.of(page("text", price=8.5), "b"))
    assert change.status == "changed"
    assert change.fields == {"product.price": {"before": 10.0, "after": 8.5}}
    assert change.diff is None


def test_a_product_that_disappears_is_every_field_it_had_going_to_null() -> None:
    change = compare(Snapshot.of(page("text"), "a"), Snapshot.of(page("text", price=None), "b"))
    assert change.fields == {"product.name": {"before": "P", "after": None},
                             "product.price": {"before": 10.0, "after": None}}


def test_the_diff_is_cut_at_its_bound_and_says_so() -> None:
    before = "\n".join(f"line {n} before" for n in range(5000))
    after = "\n".join(f"line {n} after" for n in range(5000))
    change = compare(Snapshot.of(page(before), "a"), Snapshot.of(page(after), "b"))
    assert change.diff is not None
    assert len(change.diff.encode()) <= DIFF_MAX_BYTES
    assert change.diff.splitlines()[-1].endswith(f"(diffs are cut at {DIFF_MAX_BYTES} bytes)")


def test_the_markdown_kept_is_bounded() -> None:
    snapshot = Snapshot.of(page("é" * MARKDOWN_MAX_BYTES), "a")
    assert len(snapshot.markdown.encode()) <= MARKDOWN_MAX_BYTES


def test_a_baseline_that_is_not_a_snapshot_is_none() -> None:
    for raw in (b"", b"nope", b"[]", b'{"markdown": 1, "fields": {}}', b'{"markdown": "x"}'):
        assert Snapshot.from_json(raw) is None
    snapshot = Snapshot.of(page("text"), "a")
    assert Snapshot.from_json(snapshot.to_json()) == snapshot
