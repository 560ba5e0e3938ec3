"""The request bodies /docs shows: the predict and feedback routes read raw JSON (for speed), so
their OpenAPI bodies are written here from what the champion's scorer says a row holds.

>>> body = predict_body({"tenure": {"kind": "number", "type": "number or null"}}, 5000)
>>> body["content"]["application/json"]["schema"]["properties"]["rows"]["items"]["properties"]
{'tenure': {'type': ['number', 'null'], 'description': 'number or null'}}
"""

from __future__ import annotations

TYPES = {"number": ["number", "null"], "category": ["string", "null"]}


def predict_body(fields: dict[str, dict], most_rows: int) -> dict:
    """The OpenAPI request body of /v1/predict for rows holding `fields` (a scorer's `fields()`)."""
    columns = {name: _column(spec) for name, spec in fields.items()}
    example = {name: _example(spec) for name, spec in fields.items()}
    rows = {"type": "array", "minItems": 1, "maxItems": most_rows, "items": {"type": "object", "properties": columns},
            "description": "one object per row; a missing field reads as a blank cell (GET /v1/schema: the live "
                           "fields of every arm)"}
    return _body({"type": "object", "required": ["rows"], "properties": {"rows": rows}}, {"rows": [example]})


def feedback_body(labels: list[str] | None) -> dict:
    """The OpenAPI request body of /v1/feedback: true labels by request id (or the entity id)."""
    label = {"type": "string", "enum": labels} if labels else {"type": ["number", "string"]}
    one = {"type": "object", "required": ["label"], "properties": {
        "request_id": {"type": "string", "description": "as /v1/predict answered it"},
        "entity": {"type": "string", "description": "or the row's id (the card's id column)"}, "label": label}}
    schema = {"oneOf": [one, {"type": "object", "required": ["feedback"],
                              "properties": {"feedback": {"type": "array", "items": one}}}]}
    return _body(schema, {"request_id": "…", "label": labels[0] if labels else 1.0})


def _column(spec: dict) -> dict:
    column = {"type": TYPES.get(spec.get("kind"), ["number", "string", "null"]), "description": spec.get("type", "")}
    if spec.get("levels"):
        column["examples"] = list(spec["levels"])[:20]
    return column


def _example(spec: dict):
    """The scorer's example value, else a category's first level, else 0."""
    if "example" in spec:
        return spec["example"]
    levels = spec.get("levels")
    return (levels[0] if levels else None) if spec.get("kind") == "category" else 0


def _body(schema: dict, example: dict) -> dict:
    return {"required": True, "content": {"application/json": {"schema": schema, "example": example}}}
