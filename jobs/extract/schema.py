"""Microdata and RDFa as JSON-LD-shaped nodes, so one reader serves every syntax.

extruct gives microdata as `{"type", "properties"}` items and RDFa as expanded,
flat JSON-LD (`{"@id", "@type": [IRI], IRI: [{"@value"} | {"@id"}]}`). Both become
plain nested dicts keyed by schema.org property names, with `@type` as local names.
Every walk is bounded by MAX_JSON_DEPTH and MAX_JSON_NODES: the input is hostile.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from typing import Any

from jobs.extract.text_caps import MAX_JSON_DEPTH, MAX_JSON_NODES

Node = dict[str, Any]

PRODUCT_TYPES = frozenset({"Product", "ProductGroup", "ProductModel", "IndividualProduct", "SomeProducts"})


def local_name(iri: str) -> str:
    """`https://schema.org/Product`, `schema:Product`, `Product` -> `Product`."""
    return iri.rstrip("/").rsplit("/", 1)[-1].rsplit("#", 1)[-1].rsplit(":", 1)[-1]


def type_names(node: Node) -> set[str]:
    """The local names of a node's `@type` (a string or a list of them)."""
    types = node.get("@type")
    if isinstance(types, str):
        return {local_name(types)}
    if isinstance(types, list):
        return {local_name(item) for item in types[:20] if isinstance(item, str)}
    return set()


def find_typed(items: Iterable[Any], wanted: frozenset[str]) -> Iterator[Node]:
    """Nodes whose type is in `wanted`, breadth first: top-level ones before nested ones
    (a page's product comes before the products it lists as related)."""
    queue: deque[tuple[Any, int]] = deque((item, 0) for item in items)
    visited = 0
    while queue and visited < MAX_JSON_NODES:
        value, depth = queue.popleft()
        visited += 1
        children: Iterable[Any]
        if isinstance(value, dict):
            if type_names(value) & wanted:
                yield value
            children = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth < MAX_JSON_DEPTH:
            queue.extend((child, depth + 1) for child in children if isinstance(child, dict | list))


def index_by_id(items: Iterable[Any]) -> dict[str, Node]:
    """Top-level nodes by `@id`, to follow references like `"offers": {"@id": "#offer"}`."""
    return {
        item["@id"]: item
        for item in items
        if isinstance(item, dict) and isinstance(item.get("@id"), str) and len(item) > 1
    }


def microdata_to_jsonld(items: Iterable[Any]) -> list[Node]:
    """extruct microdata items as JSON-LD-shaped nodes."""
    budget = [MAX_JSON_NODES]
    return [node for item in items if isinstance(node := _microdata_value(item, 0, budget), dict)]


def _microdata_value(value: Any, depth: int, budget: list[int]) -> Any:
    budget[0] -= 1
    if depth > MAX_JSON_DEPTH or budget[0] < 0:
        return None
    if isinstance(value, list):
        return [_microdata_value(item, depth + 1, budget) for item in value]
    if not isinstance(value, dict):
        return value
    node: Node = {}
    kind = value.get("type")
    if kind is not None:
        node["@type"] = [local_name(t) for t in kind] if isinstance(kind, list) else local_name(str(kind))
    if "id" in value:
        node["@id"] = value["id"]
    properties = value.get("properties")
    if isinstance(properties, dict):
        for key, item in properties.items():
            node[key] = _microdata_value(item, depth + 1, budget)
    elif "value" in value:  # an item used as a property value with a text value
        return value["value"]
    return node


def rdfa_to_jsonld(nodes: Iterable[Any]) -> list[Node]:
    """extruct's expanded RDFa graph as nested JSON-LD-shaped nodes, references followed."""
    flat = [node for node in nodes if isinstance(node, dict)]
    by_id = index_by_id(flat)
    referenced = {
        ref["@id"]
        for node in flat
        for key, values in node.items()
        if not key.startswith("@") and isinstance(values, list)
        for ref in values
        if isinstance(ref, dict) and "@id" in ref
    }
    budget = [MAX_JSON_NODES]
    # Roots first: nodes nobody points to (a Product, not its Offer).
    roots = [node for node in flat if node.get("@id") not in referenced]
    roots += [node for node in flat if node.get("@id") in referenced]
    return [_rdfa_node(node, by_id, 0, budget, frozenset()) for node in roots]


def _rdfa_node(
    node: Node, by_id: dict[str, Node], depth: int, budget: list[int], seen: frozenset[str]
) -> Node:
    node_id = node.get("@id")
    seen = seen | {node_id} if isinstance(node_id, str) else seen
    result: Node = {}
    types = node.get("@type")
    if isinstance(types, list):
        result["@type"] = [local_name(t) for t in types if isinstance(t, str)]
    if isinstance(node_id, str) and not node_id.startswith("_:"):
        result["@id"] = node_id
    for key, values in node.items():
        if key.startswith("@") or not isinstance(values, list):
            continue
        converted = []
        for value in values:
            budget[0] -= 1
            if budget[0] < 0 or not isinstance(value, dict):
                break
            if "@value" in value:
                converted.append(value["@value"])
            elif isinstance(ref := value.get("@id"), str):
                target = by_id.get(ref)
                if target is not None and ref not in seen and depth < MAX_JSON_DEPTH:
                    converted.append(_rdfa_node(target, by_id, depth + 1, budget, seen))
                elif not ref.startswith("_:"):
                    converted.append(ref)  # an IRI value, e.g. https://schema.org/InStock
        if converted:
            result[local_name(key)] = converted[0] if len(converted) == 1 else converted
    return result
