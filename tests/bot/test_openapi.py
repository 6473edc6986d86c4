"""/openapi.json: every HTTP route is described, and real responses (including errors) match it."""

from __future__ import annotations

import re

import jsonschema
import pytest

from bot.openapi import spec
from tests.bot.conftest import app_of, consent, new_session, send

SPEC = spec()


def template(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


def test_document_basics() -> None:
    assert SPEC["openapi"].startswith("3.1")
    jsonschema.Draft202012Validator.check_schema({"$defs": SPEC["components"]["schemas"]})
    ids = [op["operationId"] for item in SPEC["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids))


async def test_every_route_is_described(client) -> None:
    documented = {(template(path), method.upper()) for path, item in SPEC["paths"].items() for method in item}
    routes = set()
    for route in app_of(client).router.routes():
        info = route.resource.get_info() if route.resource else {}
        path = info.get("path") or info.get("formatter") or info.get("prefix")
        if route.method in {"HEAD", "OPTIONS"} or path.startswith(("/static", "/socket.io", "/staff", "/ops", "/log")):
            continue
        routes.add((template(path), route.method))
    assert routes == documented


async def check(resp, path: str, method: str) -> None:
    """The status is documented for the operation and the JSON body matches the documented schema."""
    operation = SPEC["paths"][path][method]
    assert str(resp.status) in operation["responses"], (path, method, resp.status)
    documented = operation["responses"][str(resp.status)]
    content = documented.get("content")
    if not content:
        assert await resp.read() == b""
        return
    if "application/json" in content:
        assert resp.content_type == "application/json"
        schema = {**content["application/json"]["schema"], "components": SPEC["components"]}
        jsonschema.validate(await resp.json(), schema, cls=jsonschema.Draft202012Validator)
    else:
        assert resp.content_type in content


async def test_openapi_is_served(client) -> None:
    resp = await client.get("/openapi.json")
    await check(resp, "/openapi.json", "get")
    assert await resp.json() == SPEC


async def test_responses_match_the_description(client) -> None:
    sid = new_session()
    hook = "/webhooks/rest/webhook"
    await check(await client.get("/"), "/", "get")
    await check(await client.get("/datenschutz"), "/datenschutz", "get")
    await check(await client.get("/widget.js"), "/widget.js", "get")
    await check(await client.get("/widget.css"), "/widget.css", "get")
    await check(await client.get("/healthz"), "/healthz", "get")
    await check(await client.get("/readyz"), "/readyz", "get")
    await check(await client.post(hook, data=b""), hook, "post")
    await check(await client.post(hook, json={"sender": sid, "message": "x" * 1001}), hook, "post")
    await check(await client.post(hook, data=b"x" * 100_000), hook, "post")
    await check(await client.post(hook, json={"sender": sid, "message": "Hallo"},
                                  headers={"Origin": "https://evil.example"}), hook, "post")
    await check(await client.post("/api/v1/consent", json={"session_id": sid}), "/api/v1/consent", "post")
    await check(await client.post("/api/v1/consent", json={}), "/api/v1/consent", "post")
    reply = await send(client, sid, "Hallo")
    messages = await reply.json()
    schema = {**SPEC["paths"][hook]["post"]["responses"]["200"]["content"]["application/json"]["schema"],
              "components": SPEC["components"]}
    jsonschema.validate(messages, schema, cls=jsonschema.Draft202012Validator)
    history = f"/api/v1/conversations/{sid}/messages"
    await check(await client.get(history), "/api/v1/conversations/{session_id}/messages", "get")
    await check(await client.get(f"/api/v1/conversations/{new_session()}/messages"),
                "/api/v1/conversations/{session_id}/messages", "get")
    feedback = {"session_id": sid, "message_id": messages[0]["message_id"], "rating": "up"}
    await check(await client.post("/api/v1/feedback", json=feedback), "/api/v1/feedback", "post")
    await check(await client.post("/api/v1/feedback", json={**feedback, "message_id": "x"}),
                "/api/v1/feedback", "post")
    await check(await client.post("/api/v1/feedback", json={**feedback, "comment": "x" * 5000}),
                "/api/v1/feedback", "post")
    await check(await client.delete(f"/api/v1/conversations/{new_session()}"),
                "/api/v1/conversations/{session_id}", "delete")


@pytest.mark.parametrize("n", [21])
async def test_rate_limit_response_matches(client, n) -> None:
    sid = new_session()
    await consent(client, sid)
    for _ in range(n - 1):
        await send(client, sid, "Hallo")
    resp = await send(client, sid, "Hallo")
    await check(resp, "/webhooks/rest/webhook", "post")
    assert resp.status == 429
