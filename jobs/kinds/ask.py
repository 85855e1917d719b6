"""The `ask` job: answer questions from the pages of a crawl or batch (or a site crawled first).

Passages are ranked with BM25 (no downloaded model). Without an LLM the answer
is the best passage itself; with one, the model answers from the top
passages and cites them. A site crawled first is crawled inside this one
worker (`jobs.kinds.local_crawl`): a few pages, whose Markdown the ranking
holds in memory, unlike a `crawl` job, which spreads over every worker.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from jobs.crawl import best_passage_answer, rank_passages
from jobs.fetch.addresses import AddressPolicy
from jobs.kinds.local_crawl import CrawlTally, crawl_site
from jobs.kinds.page_work import PageOutcome
from jobs.kinds.spread import CrawlLimits
from jobs.lifecycle.attempt import JobOutcome, JobRun
from jobs.llm.prompts import fit_passages
from jobs.models import AskRequest, CrawlRequest, Format
from jobs.store.pages import all_pages
from jobs.store.records import load_job

if TYPE_CHECKING:
    from jobs.llm import LLMClient

# Pages of a source job read into memory for ranking, at most.
MAX_SOURCE_PAGES = 2_000
TOP_PASSAGES = 6


async def run_ask(
    run: JobRun,
    request: dict[str, Any],
    work_for: Any,
    policy: AddressPolicy,
    limits: CrawlLimits,
    llm: LLMClient | None,
    owner: str,
) -> JobOutcome:
    spec = AskRequest.model_validate(request)
    env = run.env
    docs: list[tuple[str, str]] = []
    if spec.job is not None:
        source = await load_job(env.redis, env.queue.keys, spec.job)
        if source is None or source.owner != owner or source.type not in ("crawl", "batch"):
            from jobs.errors import ExtractionError

            raise ExtractionError(f"job {spec.job} is not a crawl or batch of yours (or it expired)")
        await run.progress("fetch", 10, f"Reading the pages of job {spec.job}")
        for page in await all_pages(env.redis, env.queue.keys, spec.job, at_most=MAX_SOURCE_PAGES):
            if page.get("markdown"):
                docs.append((str(page.get("url")), str(page["markdown"])))
    else:
        crawl = CrawlRequest(url=spec.url or "", limit=spec.limit, max_depth=3, formats=[Format.MARKDOWN])

        async def keep(outcome: PageOutcome, depth: int, tally: CrawlTally) -> None:
            if outcome.markdown:
                docs.append((outcome.final_url or outcome.url, outcome.markdown))
            await run.page(outcome.url, outcome.status, outcome.title, depth=depth)

        await crawl_site(run, crawl, work_for(crawl), policy, limits, keep)
    await run.progress("extract", 70, f"Ranking passages of {len(docs)} pages")
    answers: list[dict[str, Any]] = []
    usage: dict[str, int] = {}
    for question in spec.questions:
        if llm is not None and llm.configured:
            ranked = rank_passages(question, docs, top_k=TOP_PASSAGES)
            await run.progress("llm", 80, f"Asking the model: {question[:80]}")
            given = [(url, passage) for url, passage, _ in ranked]
            answer, sources, spent = await llm.answer(question, given)
            if not sources:
                # A model that cites no passage still answered from the pages it was given: name them,
                # in rank order (those that fit its token budget, as `answer` cut them).
                sources = list(dict.fromkeys(url for url, _ in fit_passages(given, llm.config.token_budget)))
            for name, value in spent.to_dict().items():
                usage[name] = usage.get(name, 0) + value
            answers.append({"question": question, "answer": answer, "sources": sources})
        else:
            answers.append(dict(best_passage_answer(question, docs)))
    await run.progress("store", 95, f"Answered {len(answers)} questions", defer=True)
    result: dict[str, Any] = {"answers": answers, "pages": len(docs)}
    if usage:
        result["usage"] = usage
    return JobOutcome(orjson.dumps(result), {"questions": len(answers), "pages": len(docs)})
