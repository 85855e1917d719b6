"""Ranking for `ask` without an LLM: the passage that answers comes first."""

from __future__ import annotations

from jobs.crawl import PassageRanker, best_passage_answer, rank_passages, tokenize

DOCS = [
    (
        "https://shop.example/",
        "# Acme Shop\n\nWelcome to the Acme shop. We sell widgets, gadgets and gizmos for every home.\n\n"
        "## Newsletter\n\nSign up to our newsletter for news about widgets.",
    ),
    (
        "https://shop.example/shipping",
        "# Shipping\n\nWe ship worldwide. Orders usually arrive within five business days.\n\n"
        "## Returns\n\nYou can return any widget within 30 days for a full refund.",
    ),
    (
        "https://shop.example/pricing",
        "# Pricing\n\nThe standard widget costs 12 euros. The deluxe widget costs 30 euros and includes a "
        "lifetime warranty.\n\n## Payment\n\nWe accept cards and bank transfers.",
    ),
]


def test_the_answering_passage_ranks_first() -> None:
    ranked = rank_passages("How much does the deluxe widget cost?", DOCS, top_k=3)
    url, passage, score = ranked[0]
    assert url == "https://shop.example/pricing"
    assert "30 euros" in passage
    assert score > ranked[1][2] if len(ranked) > 1 else score > 0


def test_other_questions_find_their_pages() -> None:
    assert rank_passages("How long until my order arrives?", DOCS)[0][0] == "https://shop.example/shipping"
    assert "refund" in rank_passages("Can I get a refund on returns?", DOCS)[0][1]
    assert "bank transfers" in rank_passages("Which payment methods are accepted?", DOCS)[0][1]


def test_scores_are_descending_and_top_k_bounds() -> None:
    ranked = rank_passages("widget", DOCS, top_k=2)
    assert len(ranked) == 2
    assert ranked[0][2] >= ranked[1][2]


def test_a_question_of_stopwords_or_no_match_ranks_nothing() -> None:
    assert rank_passages("what is the", DOCS) == []
    assert rank_passages("zeppelin", DOCS) == []
    assert rank_passages("widget", []) == []


def test_boilerplate_repeated_across_pages_is_ranked_once() -> None:
    footer = "Contact us at hello@shop.example for any question about your order."
    docs = [(f"https://shop.example/{i}", f"# Page {i}\n\nSomething about page {i}.\n\n{footer}") for i in range(5)]
    ranked = rank_passages("contact email", docs, top_k=10)
    assert len([r for r in ranked if footer in r[1]]) == 1
    assert ranked[0][0] == "https://shop.example/0"


def test_other_languages_and_scripts() -> None:
    docs = [
        ("https://a.example/de", "# Versand\n\nDie Lieferung dauert drei Tage."),
        ("https://a.example/fr", "# Livraison\n\nLa livraison est gratuite dès 50 euros."),
        ("https://a.example/ja", "# 配送\n\n配送料は無料です。注文から三日で届きます。"),
    ]
    assert rank_passages("Wie lange dauert die Lieferung?", docs)[0][0] == "https://a.example/de"
    assert rank_passages("livraison gratuite ?", docs)[0][0] == "https://a.example/fr"
    assert rank_passages("配送料はいくらですか", docs)[0][0] == "https://a.example/ja"


def test_best_passage_answer_without_an_llm() -> None:
    answer = best_passage_answer("How much does the deluxe widget cost?", DOCS)
    assert answer["question"] == "How much does the deluxe widget cost?"
    assert answer["answer"] is not None and "30 euros" in answer["answer"]
    assert answer["sources"] == ["https://shop.example/pricing"]


def test_no_answer_is_said_plainly() -> None:
    assert best_passage_answer("zeppelin?", DOCS) == {"question": "zeppelin?", "answer": None, "sources": []}


def test_the_ranker_keeps_only_matching_passages_within_its_cap() -> None:
    ranker = PassageRanker("deluxe widget price", max_candidates=3)
    for i in range(50):
        ranker.add(f"https://shop.example/filler{i}", f"Unrelated text number {i} about widgets sold here.")
    for url, markdown in DOCS:
        ranker.add(url, markdown)
    top = ranker.top(5)
    assert len(top) <= 3
    assert top[0][0] == "https://shop.example/pricing"


def test_tokenize() -> None:
    assert tokenize("The Prices of QUERIES, boxes & snake_case!") == ["price", "query", "boxe", "snake", "case"]
    assert tokenize("\uff37\uff49\uff44\uff47\uff45\uff54 Stra\u00dfe") == ["widget", "strasse"]  # NFKC, case folding
    assert tokenize("東京都") == ["東京", "京都"]  # CJK bigrams
    assert tokenize("iPhone価格") == ["iphone", "価格"]
    assert tokenize("") == []
