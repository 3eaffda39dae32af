"""The error catalogue: every error is a NerveError defined in nerve/errors.py, and every code
it can carry is listed in the one Error schema of the OpenAPI document."""

from __future__ import annotations

import importlib
import pkgutil
from typing import get_args

import nerve
from nerve import errors


def _import_every_module() -> None:
    for module in pkgutil.walk_packages(nerve.__path__, "nerve."):
        if ".migrations." not in module.name:
            importlib.import_module(module.name)


def test_every_error_class_is_defined_in_errors_py() -> None:
    _import_every_module()
    strays = [
        f"{cls.__module__}.{cls.__qualname__}"
        for cls in errors.error_classes()
        if cls.__module__ != "nerve.errors"
    ]
    assert strays == []


def test_every_code_is_listed_with_its_meaning_in_the_error_schema() -> None:
    listed = errors.codes()
    schema_codes = errors.error_schema()["properties"]["error"]["properties"]["code"]["enum"]
    assert set(schema_codes) == set(listed)
    assert {cls.code for cls in errors.error_classes()} <= set(listed)
    assert set(get_args(errors.RejectionCode)) == set(errors.REJECTIONS) <= set(listed)
    assert all(meaning for meaning in listed.values())


def test_a_rejection_takes_its_status_and_default_message_from_the_list() -> None:
    missing = errors.Rejected("missing_write_key")
    assert (missing.code, missing.status) == ("missing_write_key", 401)
    assert missing.message == errors.REJECTIONS["missing_write_key"][1]
    too_big = errors.Rejected("event_too_large", "message is larger than 10 bytes")
    assert (too_big.status, too_big.message) == (413, "message is larger than 10 bytes")


def test_an_invalid_flow_is_an_invalid_request_with_its_problems() -> None:
    problems = [{"path": "nodes[0].wait", "reason": "not a duration"}]
    error = errors.InvalidFlow(problems)
    assert isinstance(error, errors.InvalidInput)
    assert error.as_dict() == {
        "code": "invalid_flow",
        "message": "the flow is invalid",
        "details": problems,
    }
    assert str(error) == "nodes[0].wait: not a duration"  # what logs and dead letters show
