import pytest

import bayflow.errors as errors_module
from bayflow.errors import BayflowError, InvalidIdentifier, InvalidInput


def _all_error_classes() -> list[type[BayflowError]]:
    # A class with two Bayflow parents (LedgerError and VerificationFailed) is reached twice.
    found: dict[type[BayflowError], None] = {}
    pending: list[type[BayflowError]] = [BayflowError]
    while pending:
        cls = pending.pop()
        if cls not in found:
            found[cls] = None
            pending.extend(cls.__subclasses__())
    return list(found)


class TestBayflowError:
    """Errors carry a stable problem type, a message and diagnostics."""

    def test_problem_type_is_a_stable_urn_built_from_the_slug(self) -> None:
        assert InvalidInput("x").problem_type == "urn:bayflow:problem:invalid-input"

    def test_subclass_is_caught_by_its_parent(self) -> None:
        with pytest.raises(InvalidInput):
            raise InvalidIdentifier("USCC 123: length is 3, expected 18")

    def test_diagnostics_add_the_detail_after_the_message(self) -> None:
        error = BayflowError("it failed", detail="because of this")
        assert error.diagnostics() == "it failed\n\nbecause of this"
        assert BayflowError("it failed").diagnostics() == "it failed"

    def test_every_error_class_has_its_own_slug(self) -> None:
        slugs = [cls.slug for cls in _all_error_classes()]
        assert len(slugs) == len(set(slugs)), sorted(slugs)

    def test_exit_codes_are_never_zero(self) -> None:
        assert all(cls.exit_code != 0 for cls in _all_error_classes())

    def test_the_module_exports_what_it_defines(self) -> None:
        defined = {
            name
            for name, value in vars(errors_module).items()
            if isinstance(value, type) and value.__module__ == errors_module.__name__
        }
        assert sorted(errors_module.__all__) == sorted(defined)
