"""Concurrent `POST /v1/score` requests are scored together, each getting its own answer."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from service.schemas import ScoreResponse
from service.scoring import CoalescingScorer
from tests.conftest import counting_app


class Recording:
    """A stand-in model: `assess` records each call's texts and answers with the text itself."""

    def __init__(self, fail_on: str | None = None) -> None:
        self.calls: list[list[str]] = []
        self.fail_on = fail_on

    def assess(self, texts, explain=True):
        self.calls.append(list(texts))
        if self.fail_on in texts:
            raise RuntimeError(f"cannot score {self.fail_on!r}")
        return [f"assessed {t}" for t in texts]


def test_a_lone_request_is_scored_at_once():
    model = Recording()

    async def run():
        return await CoalescingScorer().assess(model, "one")

    assert asyncio.run(run()) == "assessed one"
    assert model.calls == [["one"]]


def test_concurrent_requests_share_calls_and_get_their_own_answers():
    model = Recording()
    texts = [f"comment {i}" for i in range(20)]

    async def run():
        scorer = CoalescingScorer(max_gather=8)
        return await asyncio.gather(*(scorer.assess(model, t) for t in texts))

    assert asyncio.run(run()) == [f"assessed {t}" for t in texts]
    assert sorted(t for call in model.calls for t in call) == sorted(texts)
    assert len(model.calls) < len(texts) and max(map(len, model.calls)) <= 8


def test_an_error_fails_only_the_request_at_fault():
    model = Recording(fail_on="bad")

    async def run():
        scorer = CoalescingScorer()
        return await asyncio.gather(*(scorer.assess(model, t) for t in ["a", "bad", "c"]), return_exceptions=True)

    a, bad, c = asyncio.run(run())
    assert (a, c) == ("assessed a", "assessed c")
    assert isinstance(bad, RuntimeError) and "bad" in str(bad)


def test_concurrent_http_requests_answer_each_comment(models_dir, model):
    app, calls = counting_app(models_dir, model)
    texts = ["you are an idiot and a disgrace", "thank you for this balanced article", "what the fuck",
             "i will kill you and burn your house"] * 3

    async def run():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await asyncio.gather(*(client.post("/v1/score", json={"text": t, "id": str(i)})
                                          for i, t in enumerate(texts)))

    responses = asyncio.run(run())
    assert all(r.status_code == 200 for r in responses)
    for i, (text, response) in enumerate(zip(texts, responses)):
        body = response.json()
        assert ScoreResponse.model_validate(body).model_dump() == body  # the documented contract, exactly
        (expected,) = model.assess([text])
        assert body["id"] == str(i)
        assert body["scores"] == pytest.approx(expected.scores)
        assert body["decision"] == expected.decision.decision
        assert body["reasons"] == expected.decision.reasons
        assert [(s["start"], s["end"], s["category"]) for s in body["spans"]] == [
            (s.start, s.end, s.category) for s in expected.spans]
    assert sum(map(len, calls)) == len(texts)


def test_one_comment_answers_as_the_same_comment_in_a_large_batch(models_dir, model):
    from fastapi.testclient import TestClient

    from moderation.model import _KERNEL_DOCS

    texts = ["you are an idiot and a disgrace", "thank you for this balanced article", "what the fuck",
             "i will kill you and burn your house", "Calling them 'dogs' is disgraceful", "İstanbul sh1t f u c k"]
    texts = (texts * (_KERNEL_DOCS // len(texts) + 2))[: _KERNEL_DOCS + 5]  # scored through the chunked path
    app, _ = counting_app(models_dir, model)
    with TestClient(app) as client:
        batch = client.post("/v1/score/batch", json={"comments": [{"id": str(i), "text": t} for i, t in enumerate(texts)]})
        assert batch.status_code == 200
        for i, (text, expected) in enumerate(zip(texts, batch.json()["results"])):
            single = client.post("/v1/score", json={"text": text, "id": str(i)})
            assert single.status_code == 200 and single.json() == expected
