"""LLMClient: structured extraction and cited answers over one OpenAI-compatible Chat Completions endpoint."""

from __future__ import annotations

import asyncio
import enum
import logging
import re
from typing import TYPE_CHECKING, Any

import openai
from openai.types.chat import ChatCompletion

from jobs.errors import LLMError
from jobs.llm.config import OPENAI_BASE_URL, LLMConfig
from jobs.llm.prompts import answer_messages, extraction_messages, fit_passages, repair_messages
from jobs.llm.replies import cite, parse_json_reply, strip_reasoning
from jobs.llm.schema import answer_problems, check_schema, qualifies_for_strict
from jobs.llm.usage import LLMUsage
from jobs.retry_timing import backoff_delay_s, retry_after_s

if TYPE_CHECKING:
    from types import TracebackType

    from openai.types.chat import ChatCompletionMessageParam
    from openai.types.chat.completion_create_params import ResponseFormat

logger = logging.getLogger("scrapestream.llm")

NO_API_KEY = "not-needed"
"""Sent when only a base URL is configured: local servers take any key, and the SDK insists on one."""
RESPONSE_FORMAT_NAME = "extraction"
NO_PASSAGES_ANSWER = "There were no passages to answer from."
MAX_RETRY_DELAY_S = 8.0
REFUSAL_STATUSES = frozenset({400, 415, 422, 500, 501})
_STATUS_HINTS = {
    401: "; check OPENAI_API_KEY",
    403: "; check OPENAI_API_KEY",
    404: "; check OPENAI_BASE_URL and OPENAI_MODEL",
}

# Servers word a refused response_format in many ways; any of these in the error counts.
_ABOUT_RESPONSE_FORMAT = re.compile(
    r"response[_ .-]?format|json[_ -]?schema|json[_ -]?object|structured[_ -]?output|guided[_ -]|grammar",
    re.IGNORECASE,
)
# ...and these mean "not this schema" (OpenAI: "Invalid schema for response_format ..."), not "not this mode".
_ABOUT_THIS_SCHEMA = re.compile(r"invalid (json )?schema|schema (is )?(invalid|not valid)", re.IGNORECASE)


class OutputMode(enum.IntEnum):
    """The fallback ladder, best first. A client only ever moves down it."""

    JSON_SCHEMA = 0
    JSON_OBJECT = 1
    PROMPT = 2


class _FormatRefused(Exception):
    """The server refused the response_format asked for; the caller tries the next rung."""

    def __init__(self, *, about_schema: bool) -> None:
        super().__init__("response_format refused")
        self.about_schema = about_schema


class LLMClient:
    """One endpoint and model; remembers which rung of the ladder the server takes.

    Not configured (no model, or neither base URL nor key), it opens nothing and every
    call raises LLMError: callers check `configured` and skip LLM work.
    """

    def __init__(self, config: LLMConfig) -> None:
        self.config = config
        self._mode = OutputMode.JSON_SCHEMA
        self._sdk: openai.AsyncOpenAI | None = None
        if config.configured:
            self._sdk = openai.AsyncOpenAI(
                api_key=config.api_key or NO_API_KEY,
                base_url=config.base_url or OPENAI_BASE_URL,
                timeout=config.timeout_s,
                max_retries=0,  # attempts are counted here: bounded, and never after a timeout
            )

    @property
    def configured(self) -> bool:
        return self._sdk is not None

    @property
    def output_mode(self) -> OutputMode:
        """The best rung this server is not known to refuse."""
        return self._mode

    async def aclose(self) -> None:
        if self._sdk is not None:
            await self._sdk.close()

    async def __aenter__(self) -> LLMClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def extract(
        self, page_text: str, schema: dict[str, Any], prompt: str | None, *, url: str
    ) -> tuple[Any, LLMUsage]:
        """Data from the page that validates against `schema`, and the tokens it took; LLMError otherwise."""
        self._require_sdk()
        try:
            schema = check_schema(schema)
        except ValueError as exc:
            raise LLMError(f"the extraction schema was refused: {exc}") from exc
        messages = extraction_messages(page_text, schema, prompt, url=url, token_budget=self.config.token_budget)
        completion, mode = await self._complete_json(messages, schema, self._mode)
        usage = LLMUsage.of(completion.usage)
        reply = _reply_text(completion)
        answer, problems = _judge(reply, schema)
        if not problems:
            return answer, usage
        logger.info("LLM answer for %s rejected (%s); asking for a repair", url, problems[0])
        messages = [*messages, *repair_messages(reply, problems)]
        completion, _ = await self._complete_json(messages, schema, mode)
        usage += LLMUsage.of(completion.usage)
        answer, problems = _judge(_reply_text(completion), schema)
        if problems:
            what = "was not JSON" if answer is _NOT_JSON else "did not match the schema"
            raise LLMError(f"the model's answer {what} after one repair attempt: {'; '.join(problems)}")
        return answer, usage

    async def answer(self, question: str, passages: list[tuple[str, str]]) -> tuple[str, list[str], LLMUsage]:
        """An answer from the ranked (url, text) passages only; [k] in it is the k-th cited URL."""
        self._require_sdk()
        if not question.strip():
            raise LLMError("there is no question to answer")
        fitted = fit_passages(passages, self.config.token_budget)
        if not fitted:  # a crawl that found no text: an honest answer, without asking the model
            return NO_PASSAGES_ANSWER, [], LLMUsage()
        completion = await self._send(answer_messages(question, fitted), None)
        text, cited = cite(strip_reasoning(_reply_text(completion)), [url for url, _ in fitted])
        if not text:
            raise LLMError("the model's answer was empty")
        return text, cited, LLMUsage.of(completion.usage)

    async def _complete_json(
        self, messages: list[ChatCompletionMessageParam], schema: dict[str, Any], mode: OutputMode
    ) -> tuple[ChatCompletion, OutputMode]:
        """Walk down the ladder from `mode` until a rung is taken; remember the rungs refused."""
        strict = qualifies_for_strict(schema)
        while True:
            try:
                return await self._send(messages, _response_format(mode, schema, strict=strict)), mode
            except _FormatRefused as refused:
                if mode is OutputMode.JSON_SCHEMA and strict and refused.about_schema:
                    strict = False  # strict mode's subset is narrower than what qualifies_for_strict guessed
                    continue
                mode = OutputMode(mode + 1)
                if not refused.about_schema:
                    if mode > self._mode:
                        logger.info("LLM server refused a response_format; using %s from now on", mode.name)
                    self._mode = max(self._mode, mode)

    async def _send(
        self, messages: list[ChatCompletionMessageParam], response_format: ResponseFormat | None
    ) -> ChatCompletion:
        """One request, with up to max_attempts transport attempts: the one place openai errors become LLMError."""
        sdk = self._require_sdk()
        attempt = 1
        while True:
            try:
                async with asyncio.timeout(self.config.timeout_s):  # the SDK's timeout is per read, not per call
                    completion = await sdk.chat.completions.create(
                        model=self.config.model,
                        messages=messages,
                        response_format=openai.omit if response_format is None else response_format,
                    )
                if not isinstance(completion, ChatCompletion):  # the SDK hands back any JSON body as it is
                    raise LLMError("the LLM server's answer is not a chat completion")
                return completion
            except (TimeoutError, ValueError, openai.OpenAIError) as exc:  # ValueError: a body that is not JSON
                if response_format is not None and _refuses_response_format(exc):
                    raise _FormatRefused(about_schema=bool(_ABOUT_THIS_SCHEMA.search(_error_text(exc)))) from exc
                if attempt >= self.config.max_attempts or not _worth_retrying(exc):
                    raise LLMError(_describe(exc, self.config, attempt)) from exc
                delay = _retry_delay(exc, attempt, self.config.retry_backoff_s)
            logger.info("LLM request failed (attempt %d of %d); retrying", attempt, self.config.max_attempts)
            await asyncio.sleep(delay)
            attempt += 1

    def _require_sdk(self) -> openai.AsyncOpenAI:
        if self._sdk is None:
            raise LLMError("no LLM is configured: set OPENAI_MODEL, and OPENAI_BASE_URL or OPENAI_API_KEY")
        return self._sdk


_NOT_JSON = object()


def _judge(reply: str, schema: dict[str, Any]) -> tuple[Any, list[str]]:
    """The parsed answer and its problems; `_NOT_JSON` and the reason when there is no JSON at all."""
    try:
        answer = parse_json_reply(reply)
    except ValueError as exc:
        return _NOT_JSON, [f"the reply is not valid JSON: {exc}"]
    try:
        return answer, answer_problems(answer, schema)
    except ValueError as exc:
        raise LLMError(f"the extraction schema cannot be used: {exc}") from exc


def _reply_text(completion: ChatCompletion) -> str:
    """The answer's text, unless the model refused or was cut off. Tool calls are never read."""
    choices = getattr(completion, "choices", None)  # the SDK does not validate what a server sends
    if not choices:
        raise LLMError("the LLM server answered with no choices")
    choice = choices[0]
    message = getattr(choice, "message", None)
    refusal = getattr(message, "refusal", None)
    finish_reason = getattr(choice, "finish_reason", None)
    if refusal:
        raise LLMError(f"the model refused: {_clip(str(refusal))}")
    if finish_reason == "content_filter":
        raise LLMError("the model's answer was withheld by the server's content filter")
    if finish_reason == "length":
        raise LLMError("the model's answer was cut off at its output token limit; a partial answer is not used")
    content = getattr(message, "content", None)
    return content if isinstance(content, str) else ""


def _response_format(mode: OutputMode, schema: dict[str, Any], *, strict: bool) -> ResponseFormat | None:
    if mode is OutputMode.JSON_SCHEMA:
        return {
            "type": "json_schema",
            "json_schema": {"name": RESPONSE_FORMAT_NAME, "schema": schema, "strict": strict},
        }
    if mode is OutputMode.JSON_OBJECT:
        return {"type": "json_object"}
    return None


def _refuses_response_format(exc: Exception) -> bool:
    return (
        isinstance(exc, openai.APIStatusError)
        and exc.status_code in REFUSAL_STATUSES
        and bool(_ABOUT_RESPONSE_FORMAT.search(_error_text(exc)))
    )


def _error_text(exc: Exception) -> str:
    if not isinstance(exc, openai.APIError):
        return str(exc)
    return " ".join((exc.message, exc.param or "", str(exc.body)[:4000]))


def _worth_retrying(exc: Exception) -> bool:
    """Resets and overload, yes; a timeout, no: it already cost timeout_s, and the next would likely too."""
    if isinstance(exc, TimeoutError | openai.APITimeoutError):
        return False
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code in (408, 409, 429) or exc.status_code >= 500
    return isinstance(exc, openai.APIConnectionError)


def _retry_delay(exc: Exception, attempt: int, backoff_s: float) -> float:
    """Exponential backoff, or the server's Retry-After when longer; never over MAX_RETRY_DELAY_S."""
    delay = backoff_delay_s(attempt, base_s=backoff_s, cap_s=MAX_RETRY_DELAY_S)
    asked = retry_after_s(exc.response.headers.get("retry-after")) if isinstance(exc, openai.APIStatusError) else None
    return delay if asked is None else min(max(delay, asked), MAX_RETRY_DELAY_S)


def _describe(exc: Exception, config: LLMConfig, attempts: int) -> str:
    after = f" (after {attempts} attempts)" if attempts > 1 else ""
    if isinstance(exc, TimeoutError | openai.APITimeoutError):
        return f"the LLM server did not answer within {config.timeout_s:g} s"
    if isinstance(exc, openai.APIStatusError):
        hint = _STATUS_HINTS.get(exc.status_code, "")
        return f"the LLM server answered HTTP {exc.status_code}: {_clip(exc.message)}{hint}{after}"
    if isinstance(exc, openai.APIConnectionError):
        # The cause names the server's address, which is the operator's business, not the client's: it is logged.
        logger.warning("LLM server unreachable%s: %r", after, exc.__cause__ or exc)
        return f"could not reach the LLM server{after}: {type(exc.__cause__ or exc).__name__}"
    return f"the LLM server's answer could not be used: {_clip(str(exc))}"


def _clip(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
