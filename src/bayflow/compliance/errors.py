"""Errors raised by the transfer rules engine in :mod:`bayflow.compliance`.

::

    ConfigurationError (bayflow.errors)
    ├── RulesTableInvalid          the rules table is not well-formed, or refers to unknowns
    └── CalendarIncomplete         a working-day count reaches a year with no holiday data
    InvalidInput (bayflow.errors)
    ├── InvalidTransfer            a transfer description is ill-formed
    ├── InvalidContract            a standard contract's details are ill-formed
    └── InvalidPseudonym           a reported volume pseudonym is not a keyed hash
    Conflict (bayflow.errors)
    └── ContractStateConflict      a contract cannot move to that filing status now
"""

from __future__ import annotations

from bayflow.errors import ConfigurationError, Conflict, InvalidInput

__all__ = [
    "CalendarIncomplete",
    "ContractStateConflict",
    "InvalidContract",
    "InvalidPseudonym",
    "InvalidTransfer",
    "RulesTableInvalid",
]


class RulesTableInvalid(ConfigurationError):
    """The rules table failed the loader's checks; the message names the rule and the field."""

    slug = "rules-table-invalid"
    title = "Transfer rules table invalid"


class CalendarIncomplete(ConfigurationError):
    """A deadline would fall in a year the public-holiday data does not cover."""

    slug = "calendar-incomplete"
    title = "Public-holiday calendar incomplete"


class InvalidTransfer(InvalidInput):
    slug = "invalid-transfer"
    title = "Invalid transfer description"


class InvalidContract(InvalidInput):
    slug = "invalid-contract"
    title = "Invalid standard contract"


class InvalidPseudonym(InvalidInput):
    slug = "invalid-pseudonym"
    title = "Invalid volume pseudonym"


class ContractStateConflict(Conflict):
    slug = "contract-state-conflict"
    title = "Standard contract state conflict"
