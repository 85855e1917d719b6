"""A webhook receiver on loopback that checks every delivery with the reference verifier."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.support.servers import serve_in_thread


@dataclass(frozen=True)
class Delivery:
    headers: dict[str, str]
    body: bytes
    verified: bool
    problem: str  # why the reference verifier refused it; "" when verified

    @property
    def id(self) -> str:
        return self.headers["webhook-id"]

    @property
    def timestamp(self) -> int:
        return int(self.headers["webhook-timestamp"])


@dataclass
class Receiver:
    """Answers each POST with the next scripted (status, headers), then 200; records what came."""

    secret: str
    answers: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)
    url: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    async def _hook(self, request: Request) -> Response:
        body = await request.body()
        headers = dict(request.headers)
        try:
            Webhook(self.secret).verify(body, headers)
            verified, problem = True, ""
        except WebhookVerificationError as exc:
            verified, problem = False, str(exc)
        with self._lock:  # the server runs in its own thread
            self.deliveries.append(Delivery(headers, body, verified, problem))
            status, extra = self.answers.pop(0) if self.answers else (200, {})
        return Response(b"thanks" if status < 300 else b"nope", status_code=status, headers=extra)

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/hook", self._hook, methods=["POST"])])


def serve_receiver(receiver: Receiver) -> Iterator[Receiver]:
    with serve_in_thread(receiver.app()) as base_url:
        receiver.url = f"{base_url}/hook"
        yield receiver
