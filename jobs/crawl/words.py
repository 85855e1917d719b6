"""Words for passage ranking: a small tokenizer that is safe for any language.

Text is NFKC-normalized and case-folded; a token is a run of Unicode letters
or digits. Chinese and Japanese have no spaces between words, so their runs
become overlapping character bigrams (as Lucene's CJK analyzer does). English
stopwords are dropped and English plurals folded ("prices" is "price"); other
languages keep every word as it is. Scripts without spaces that are not CJK
(Thai, Lao, Khmer) are kept as whole runs: weaker matches, never wrong ones.
"""

from __future__ import annotations

import re
import unicodedata

_CJK_CHARS = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TOKEN = re.compile(rf"[{_CJK_CHARS}]+|[^\W_{_CJK_CHARS}]+")
_CJK_RUN = re.compile(rf"[{_CJK_CHARS}]+")

# Only the commonest English function words: "no", "not" and "how" stay out of the
# way of ranking, and any other language keeps every word.
_STOPWORDS_TEXT = """
    a about above after again all also am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further
    had has have having he her here hers herself him himself his how i if in into is it its itself
    just me more most my myself no nor not now of off on once only or other our ours ourselves out
    over own same she should so some such than that the their theirs them themselves then there
    these they this those through to too under until up very was we were what when where which
    while who whom why will with would you your yours yourself yourselves
"""
STOPWORDS: frozenset[str] = frozenset(_STOPWORDS_TEXT.split())


def tokenize(text: str) -> list[str]:
    """The ranking terms of `text`, in order, repeats kept."""
    terms: list[str] = []
    for token in _TOKEN.findall(unicodedata.normalize("NFKC", text).casefold()):
        if _CJK_RUN.fullmatch(token):
            terms.extend(token if len(token) == 1 else (token[i : i + 2] for i in range(len(token) - 1)))
        elif token not in STOPWORDS:
            terms.append(_fold_plural(token))
    return terms


def _fold_plural(word: str) -> str:
    """English plural to singular, as Lucene's EnglishMinimalStemmer (S-stemmer); ASCII words only."""
    if len(word) < 3 or not word.endswith("s") or not word.isascii():
        return word
    if word[-2] in "us":
        return word
    if word[-2] == "e" and len(word) > 3:
        if word[-3] == "i" and word[-4] not in "ae":
            return word[:-3] + "y"
        if word[-3] in "iaoe":
            return word
    return word[:-1]
