import pytest

from bayflow.errors import BayflowError, InvalidInput, VerificationFailed
from bayflow.ledger import errors

_CLASSES: list[type[BayflowError]] = [getattr(errors, name) for name in errors.__all__]
_FAILURES = [cls for cls in _CLASSES if issubclass(cls, VerificationFailed)]
_PARSE_ERRORS = [cls for cls in _CLASSES if issubclass(cls, InvalidInput)]


class TestLedgerErrors:
    """Each ledger error names one kind of problem and maps to one exit code."""

    def test_every_error_is_a_ledger_error(self) -> None:
        assert all(issubclass(cls, errors.LedgerError) for cls in _CLASSES)

    def test_every_concrete_error_is_a_parse_error_or_a_failed_check(self) -> None:
        concrete = set(_CLASSES) - {errors.LedgerError}
        assert concrete == set(_FAILURES) ^ set(_PARSE_ERRORS)

    def test_slugs_are_distinct(self) -> None:
        assert len({cls.slug for cls in _CLASSES}) == len(_CLASSES)

    def test_failed_checks_have_distinct_exit_codes_from_10_to_19(self) -> None:
        codes = [cls.exit_code for cls in _FAILURES]
        assert len(set(codes)) == len(codes)
        assert all(10 <= code <= 19 for code in codes)

    @pytest.mark.parametrize("cls", _PARSE_ERRORS)
    def test_parse_errors_keep_the_invalid_input_exit_code(self, cls: type[InvalidInput]) -> None:
        assert cls.exit_code == InvalidInput.exit_code
