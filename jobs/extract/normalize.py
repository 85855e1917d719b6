"""Turn the many ways shops write a price, a currency or a stock state into one form."""

from __future__ import annotations

import html
import math
import re
from typing import Any

_PLAIN_NUMBER = re.compile(r"\s*\d+(?:\.\d+)?\s*")
_NUMBER = re.compile(r"\d[\d.,'\s\u00a0\u202f\u2009]*")
_DIGITS = re.compile(r"\D")
_GROUPING = re.compile(r"[\s'\u00a0\u202f\u2009]")
_SPACES = re.compile(r"\s+")
_GTIN_LENGTHS = (8, 12, 13, 14)
_WORD_BREAKS = re.compile(r"[^a-z0-9]+")

# Symbols for when the page gives a price like "€12" and no currency code. "$" is
# ambiguous (USD, CAD, AUD ...) but USD is by far the likeliest reading.
_SYMBOLS: dict[str, str] = {
    "€": "EUR",
    "£": "GBP",
    "¥": "JPY",
    "₹": "INR",
    "₽": "RUB",
    "₩": "KRW",
    "₺": "TRY",
    "₴": "UAH",
    "₪": "ILS",
    "₫": "VND",
    "฿": "THB",
    "₱": "PHP",
    "zł": "PLN",
    "kč": "CZK",
    "us$": "USD",
    "c$": "CAD",
    "a$": "AUD",
    "r$": "BRL",
    "$": "USD",
}

# schema.org ItemAvailability names, keyed by their letters only, lower case, plus the
# spellings OpenGraph and shops use ("in stock", "oos", "available for order").
_AVAILABILITY: dict[str, str] = {
    name.lower(): name
    for name in (
        "BackOrder",
        "Discontinued",
        "InStock",
        "InStoreOnly",
        "LimitedAvailability",
        "MadeToOrder",
        "OnlineOnly",
        "OutOfStock",
        "PreOrder",
        "PreSale",
        "Reserved",
        "SoldOut",
    )
} | {
    "oos": "OutOfStock",
    "outofstock": "OutOfStock",
    "unavailable": "OutOfStock",
    "notavailable": "OutOfStock",
    "available": "InStock",
    "availablefororder": "BackOrder",
    "pending": "PreOrder",
    "preorderable": "PreOrder",
    "backordered": "BackOrder",
}


def text_value(value: Any) -> str | None:
    """A clean string from a string, a number, or the first of a list; HTML entities decoded."""
    if isinstance(value, list):
        value = next((item for item in value if isinstance(item, str | int | float)), None)
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return str(value)
    if not isinstance(value, str):
        return None
    if "&" in value:
        value = html.unescape(value)
    value = _SPACES.sub(" ", value[:10_000]).strip()
    return value or None


def parse_price(value: Any) -> float | None:
    """A number from 19.99, "19.99", "$1,299.00", "1.299,00 €", "1 299,50", "CHF 1'299.-"."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) and value >= 0 else None
    text = text_value(value)
    if text is None:
        return None
    if _PLAIN_NUMBER.fullmatch(text):  # schema.org's own form: "." is the decimal mark
        return float(text)
    match = _NUMBER.search(text)
    if match is None:
        return None
    number = _GROUPING.sub("", match.group()).rstrip(".,")
    last_dot, last_comma = number.rfind("."), number.rfind(",")
    if last_dot >= 0 and last_comma >= 0:  # both: the later one is the decimal mark
        decimal = "." if last_dot > last_comma else ","
        grouping = "," if decimal == "." else "."
        number = number.replace(grouping, "").replace(decimal, ".")
    elif last_comma >= 0 or last_dot >= 0:
        mark = "," if last_comma >= 0 else "."
        head, _, tail = number.rpartition(mark)
        if number.count(mark) > 1 or (len(tail) == 3 and head not in ("", "0")):
            number = number.replace(mark, "")  # "1,299" or "1.299.000": grouping
        else:
            number = f"{head.replace(mark, '')}.{tail}"  # "19,99" or "19.9": decimals
    try:
        price = float(number)
    except ValueError:
        return None
    return price if math.isfinite(price) else None


def parse_currency(value: Any, price_text: Any = None) -> str | None:
    """An ISO 4217 code from "usd", "EUR", "€"; else guessed from a price like "£12"."""
    text = text_value(value)
    if text is not None:
        code = text.strip().upper()
        if len(code) == 3 and code.isascii() and code.isalpha():
            return code
        symbol = _SYMBOLS.get(text.strip().lower())
        if symbol is not None:
            return symbol
    price = text_value(price_text)
    if price is not None and not price.replace(".", "").replace(",", "").isdigit():
        lowered = price.lower()
        for symbol, code in _SYMBOLS.items():  # multi-letter symbols come before "$"
            if symbol in lowered:
                return code
        letters = re.search(r"\b([A-Z]{3})\b", price)
        if letters is not None:
            return letters.group(1)
    return None


def parse_availability(value: Any) -> str | None:
    """ "InStock" from "https://schema.org/InStock", "instock", "in stock", "in_stock" ..."""
    text = text_value(value)
    if text is None:
        return None
    name = text.rstrip("/").rsplit("/", 1)[-1].rsplit("#", 1)[-1].rsplit(":", 1)[-1]
    words = [word for word in _WORD_BREAKS.split(name.lower()) if word]
    if not words:
        return None
    known = _AVAILABILITY.get("".join(words))
    if known is not None:
        return known
    if any(char.isupper() for char in name[1:]) and " " not in name:  # already PascalCase
        return name[0].upper() + name[1:]
    return "".join(word.capitalize() for word in words)


def parse_gtin(value: Any, length: int | None = None) -> str | None:
    """The digits of a GTIN-8/12/13/14 ("4006381333931", "0 12345 67890 5", 4006381333931).

    A GTIN written as a JSON number has lost its leading zeros (gtin12 012345678905
    becomes 12345678905), so they are put back: to `length` for gtin8/12/13/14, else
    to the next valid GTIN length.
    """
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = text_value(value)
    if text is None:
        return None
    digits = _DIGITS.sub("", text)
    if not digits or len(digits) > 14:
        return None
    target = length or next(size for size in _GTIN_LENGTHS if size >= len(digits))
    return digits.zfill(target) if len(digits) >= 6 else None


def parse_rating(value: Any) -> float | None:
    """A rating like 4.5, "4.5", "4,5" or "4.5 out of 5" (its first number)."""
    return parse_price(value)


def parse_count(value: Any) -> int | None:
    """A count like 212, "212", "1,204" or "1.204 reviews"."""
    number = parse_price(value)
    if number is None:
        return None
    return int(number) if number < 2**53 else None
