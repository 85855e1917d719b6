"""`scrapestream`'s job commands: submit and follow, read, control and watch jobs over HTTP.

Every command talks to the HTTP API through the SDK (`service.client`), never
to Redis: it works from any machine that can reach the server. The server and
key come from `--url` / `--api-key`, else `SCRAPESTREAM_URL` / `SCRAPESTREAM_API_KEY`.
"""

from .parser import add_job_commands

__all__ = ["add_job_commands"]
