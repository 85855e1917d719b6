"""An OpenAI-compatible Chat Completions server on loopback, scripted per test; it records every request.

What it supports is set per test: `full()` honours json_schema, `no_json_schema()`
refuses it with a 400 as vLLM or LM Studio word it, `no_response_format()` refuses
any response_format and answers in prose with the JSON in a ```json fence, as a
plain chat model does. Scripted `Reply`s are served in order, then the canned answer.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.support.servers import serve_in_thread

NOT_SUPPORTED = "response_format type {kind!r} is not supported by this server"
UNRECOGNIZED = "Unrecognized request argument supplied: response_format"


@dataclass
class Reply:
    """One scripted answer. `content=None` serves the canned answer; `hold` answers only when released."""

    content: str | None = None
    finish_reason: str = "stop"
    refusal: str | None = None
    tool_calls: list[dict[str, Any]] | None = None
    status: int = 200
    error: Any = None  # the JSON body of an error answer; a generic one when None
    hold: bool = False
    raw: bytes | None = None  # a body served as it is, as application/json
    headers: dict[str, str] | None = None  # extra headers of an error answer (Retry-After)


@dataclass
class StubLLM:
    canned: Any = None
    refusals: dict[str, tuple[int, Any]] = field(default_factory=dict)  # response_format type -> (status, body)
    refuse_strict: tuple[int, Any] | None = None  # json_schema with strict: true -> (status, body)
    replies: list[Reply] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)  # every chat completion body received
    served_usage: list[dict[str, int]] = field(default_factory=list)
    other_requests: list[str] = field(default_factory=list)  # "METHOD /path" of anything else
    base_url: str = ""
    released: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def full(self) -> StubLLM:
        """A server that supports every response_format."""
        self.refusals = {}
        return self

    def no_json_schema(self, status: int = 400, body: Any = None) -> StubLLM:
        self.refusals = {"json_schema": (status, body or _error(NOT_SUPPORTED.format(kind="json_schema")))}
        return self

    def no_response_format(self) -> StubLLM:
        self.refusals = {kind: (400, _error(UNRECOGNIZED)) for kind in ("json_schema", "json_object", "text")}
        return self

    @property
    def response_formats(self) -> list[Any]:
        """The response_format of each request received, None where there was none."""
        return [body.get("response_format") for body in self.requests]

    async def _completions(self, request: Request) -> Response:
        body = await request.json()
        response_format = body.get("response_format")
        with self._lock:  # the server runs in a thread of its own
            self.requests.append(body)
            refused = self._refusal(response_format)
            reply = None if refused else self.replies.pop(0) if self.replies else Reply()
        if refused:
            return JSONResponse(refused[1], status_code=refused[0])
        assert reply is not None
        if reply.hold:
            await asyncio.to_thread(self.released.wait)  # set by the test, or at the latest by serve_stub's exit
        if reply.raw is not None:
            return Response(reply.raw, media_type="application/json")
        if reply.status != 200:
            return JSONResponse(reply.error or _error("internal error", "server_error"), status_code=reply.status,
                                headers=reply.headers)
        content = reply.content
        if content is None and reply.refusal is None and reply.tool_calls is None:
            content = self._render(response_format is not None)
        usage = {"prompt_tokens": len(json.dumps(body["messages"])) // 4, "completion_tokens": len(content or "") // 4}
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        with self._lock:
            self.served_usage.append(usage)
            number = len(self.served_usage)
        message: dict[str, Any] = {"role": "assistant", "content": content, "refusal": reply.refusal}
        if reply.tool_calls is not None:
            message["tool_calls"] = reply.tool_calls
        return JSONResponse(
            {
                "id": f"chatcmpl-stub-{number}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body["model"],
                "choices": [{"index": 0, "message": message, "finish_reason": reply.finish_reason, "logprobs": None}],
                "usage": usage,
            }
        )

    def _refusal(self, response_format: Any) -> tuple[int, Any] | None:
        if not isinstance(response_format, dict):
            return None
        kind = response_format.get("type")
        if kind in self.refusals:
            return self.refusals[kind]
        strict = kind == "json_schema" and response_format.get("json_schema", {}).get("strict")
        return self.refuse_strict if strict else None

    def _render(self, structured: bool) -> str:
        answer = json.dumps(self.canned)
        if structured:
            return answer
        fenced = json.dumps(self.canned, indent=2)
        return f"Sure! Here is the data you asked for:\n\n```json\n{fenced}\n```\n\nAnything else?"

    async def _other(self, request: Request) -> Response:
        with self._lock:
            self.other_requests.append(f"{request.method} {request.url.path}")
        return Response(status_code=404)

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/v1/chat/completions", self._completions, methods=["POST"]),
                Route("/{path:path}", self._other, methods=["GET", "POST", "PUT", "DELETE"]),
            ]
        )


def serve_stub(stub: StubLLM) -> Iterator[StubLLM]:
    with serve_in_thread(stub.app()) as base_url:
        stub.base_url = f"{base_url}/v1"
        try:
            yield stub
        finally:
            stub.released.set()  # let held answers finish, so the server can stop


def _error(message: str, kind: str = "invalid_request_error") -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": None, "code": None}}
