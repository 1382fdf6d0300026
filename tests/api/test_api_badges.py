"""Badges: the SVG is well-formed XML in the flat style, the JSON follows the shields endpoint schema."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from app.web.badges import COLOURS, migration_badge, migration_colour

SVG = "{http://www.w3.org/2000/svg}"
# https://shields.io/badges/endpoint-badge: required keys, and the optional ones we send.
SHIELDS_REQUIRED = {"schemaVersion", "label", "message"}
SHIELDS_KEYS = SHIELDS_REQUIRED | {"color", "labelColor", "isError", "namedLogo", "logoSvg", "logoColor",
                                   "logoWidth", "style", "cacheSeconds"}


def texts(svg: bytes) -> list[str]:
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    return [t.text for t in root.iter(f"{SVG}text")]


def test_migration_svg(scanned, client) -> None:
    response = client.get("/badge/migration.svg")
    assert response.headers["content-type"].startswith("image/svg+xml")
    assert texts(response.content) == ["chainsaw", "chainsaw", "3/6 · 50%", "3/6 · 50%"]
    assert COLOURS["yellowgreen"] in response.text
    assert response.headers["etag"]


def test_group_badge(scanned, client) -> None:
    svg = client.get("/badge/migration.svg", params={"group": "apps"})
    assert texts(svg.content) == ["chainsaw · apps", "chainsaw · apps", "1/2 · 50%", "1/2 · 50%"]  # not the overall one
    shield = client.get("/api/badge/migration", params={"group": "infrastructure"}).json()
    assert (shield["label"], shield["message"]) == ("chainsaw · infrastructure", "2/4 · 50%")


def test_unknown_group_is_a_404(scanned, client) -> None:
    response = client.get("/api/badge/migration", params={"group": "nope"})
    assert response.status_code == 404
    assert "nope" in response.json()["error"]["message"]
    svg = client.get("/badge/migration.svg", params={"group": "nope"})
    assert svg.status_code == 404 and texts(svg.content)[2] == "unknown group"


def test_endpoint_json_follows_the_shields_schema(scanned, client) -> None:
    for url in ("/api/badge/migration", "/api/badge/blockers"):
        body = client.get(url).json()
        assert SHIELDS_REQUIRED <= body.keys() <= SHIELDS_KEYS
        assert body["schemaVersion"] == 1
        assert all(isinstance(body[k], str) and body[k] for k in ("label", "message", "color"))
        assert body["cacheSeconds"] >= 300  # shields ignores anything lower
    assert client.get("/api/badge/migration").json()["label"] == "chainsaw"


def test_blockers_badge_svg(scanned, client) -> None:
    labels = texts(client.get("/badge/blockers.svg").content)
    assert labels[0] == "blockers"


def test_badge_304(scanned, client) -> None:
    etag = client.get("/badge/migration.svg").headers["etag"]
    assert client.get("/badge/migration.svg", headers={"If-None-Match": etag}).status_code == 304


def test_no_scan_yet_is_grey(client) -> None:
    body = client.get("/api/badge/migration").json()
    assert body["message"] == "no scan yet" and body["color"] == "lightgrey"


def test_colour_by_percent_and_escaping() -> None:
    assert [migration_colour(p) for p in (0, 10, 30, 60, 80, 100)] == [
        "red", "orange", "yellow", "yellowgreen", "green", "brightgreen"]
    assert migration_badge(11, 18, 61).message == "11/18 · 61%"
    from app.web.badges import flat_svg

    ET.fromstring(flat_svg('<a&"b>', "x", "#fff"))  # escaped: still parses


# The shields endpoint schema (https://shields.io/badges/endpoint-badge) as JSON Schema;
# shields validates with Joi, which refuses keys it does not know.
SHIELDS_SCHEMA = {
    "type": "object",
    "required": ["schemaVersion", "label", "message"],
    "additionalProperties": False,
    "properties": {
        "schemaVersion": {"const": 1},
        "label": {"type": "string"},
        "message": {"type": "string", "minLength": 1},
        "color": {"type": "string"},
        "labelColor": {"type": "string"},
        "isError": {"type": "boolean"},
        "namedLogo": {"type": "string"},
        "logoSvg": {"type": "string"},
        "logoColor": {"type": "string"},
        "logoWidth": {"type": "number"},
        "style": {"enum": ["plastic", "flat", "flat-square", "for-the-badge", "social"]},
        "cacheSeconds": {"type": "integer", "minimum": 300},
    },
}


def test_endpoint_json_validates_against_the_shields_schema(scanned, client) -> None:
    import jsonschema_rs  # schemathesis' own validator, already installed with it

    for url in ("/api/badge/migration", "/api/badge/migration?group=apps", "/api/badge/blockers"):
        jsonschema_rs.validate(SHIELDS_SCHEMA, client.get(url).json())
    assert client.get("/api/badge/migration").json()["color"] in COLOURS  # a colour shields knows by name
