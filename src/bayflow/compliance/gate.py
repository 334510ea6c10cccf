"""The rules engine as the exchange's transfer gate.

:class:`RulesTransferGate` implements :class:`bayflow.exchange.gate.TransferGate`. For each
request the exchange is about to route it describes the transfer (from the parties' Corp ID
records and the data product), adds the exporter's stored year-to-date volumes and the lineage
of data it received under GBA Standard Contracts, and asks the engine. It then:

0. allows a transfer that stays inside one jurisdiction and has no restricted lineage;
1. refuses when a prohibition matched (R13: GBA-SC data leaving the GBA);
2. allows when a route is ``exempt``;
3. allows when a GBA Standard Contract route applies and a contract between the two parties is
   in force with no filing overdue;
4. refuses otherwise: the mechanism the decision needs (security assessment, national standard
   contract, certification, Macao PDPA authorisation, or a GBA SC not registered) is not one
   the hub can see in place. The message names the routes and cites the rules.

The exchange does not know whether an exporter is a CIIO or holds notified important data;
the gate describes every transfer as neither. A CIIO, or data notified as important, must not
be published through the exchange until the hub records those facts.

Every decision the gate takes on an allowed transfer comes back as a
:class:`~bayflow.exchange.gate.GateDecision`: the decision's RFC 8785 JSON, with a note of the
route the gate let it go under, which the exchange stores and anchors with the request. A
refused transfer records nothing (the request's transaction is rolled back); its refusal
message cites the rules instead.
Not legal advice: the gate blocks on the table's reading, and a person decides on the rest.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Final

import rfc8785

from bayflow.compliance.contracts import LINEAGE_TAG
from bayflow.compliance.engine import RulesEngine
from bayflow.compliance.interfaces import ComplianceState
from bayflow.compliance.models import (
    DECISION_SCHEMA,
    DataDescription,
    Decision,
    ExporterDescription,
    PartyDescription,
    Purpose,
    Region,
    Route,
    TransferDescription,
    Verdict,
    gba_date,
    gba_year,
)
from bayflow.compliance.service import HUB_ISSUER
from bayflow.exchange.errors import TransferRefused
from bayflow.exchange.gate import GateDecision, Transfer
from bayflow.logs import get_logger

__all__ = ["RulesTransferGate", "describe"]

_log = get_logger("bayflow.compliance.gate")

# Purpose codes of consents that name one of the Provisions' situations. Any other code (the
# scenario's credit assessment among them) is "other": no situational exemption is assumed.
_PURPOSES: Final = {
    "contract_with_individual": Purpose.CONTRACT_WITH_INDIVIDUAL,
    "cross_border_hr": Purpose.CROSS_BORDER_HR,
    "emergency": Purpose.EMERGENCY,
}


def describe(transfer: Transfer, *, restricted: bool) -> TransferDescription:
    """The engine's view of an exchange transfer."""
    sensitive = frozenset(transfer.sensitive_categories)
    return TransferDescription(
        exporter=ExporterDescription(
            organisation=transfer.exporter,
            jurisdiction=Region(transfer.exporter_jurisdiction.value),
            city=transfer.exporter_city,
        ),
        recipient=PartyDescription(
            organisation=transfer.recipient,
            jurisdiction=Region(transfer.recipient_jurisdiction.value),
            city=transfer.recipient_city,
        ),
        data=DataDescription(
            personal_information=transfer.personal_information,
            sensitive_categories=sensitive - {"minor-under-14"},
            minors_under_14="minor-under-14" in sensitive,
            lineage=frozenset({LINEAGE_TAG}) if restricted else frozenset(),
        ),
        purpose=_PURPOSES.get(transfer.purpose_code, Purpose.OTHER),
    )


class RulesTransferGate:
    """Decides each exchange transfer with the rules engine; raises ``TransferRefused``."""

    def __init__(self, engine: RulesEngine, state: ComplianceState) -> None:
        self._engine = engine
        self._state = state

    def decide(self, transfer: Transfer, *, now: datetime) -> Decision:
        restricted = transfer.personal_information and any(
            contract.in_force_on(gba_date(now))
            and contract.restricts(transfer.exporter, transfer.product)
            for contract in self._state.contracts_received_by(transfer.exporter)
        )
        description = describe(transfer, restricted=restricted)
        volumes = self._state.volumes(transfer.exporter, gba_year(now))
        return self._engine.decide(description, volumes, now=now, requested_by=None)

    def check(self, transfer: Transfer, *, now: datetime) -> GateDecision | None:
        # (0) Nothing crosses and nothing restricted: no cross-boundary rule to apply.
        if not transfer.crosses_boundary and not transfer.personal_information:
            return None
        decision = self.decide(transfer, now=now)
        if not transfer.crosses_boundary and decision.verdict is not Verdict.PROHIBITED:
            return self._allowed(
                decision, f"stays in {transfer.exporter_jurisdiction}: no cross-boundary route"
            )
        # (1) A prohibition overrides every other route.
        if decision.verdict is Verdict.PROHIBITED:
            raise self._refusal(transfer, decision, "prohibited")
        # (2) An exemption needs no mechanism.
        if decision.verdict is Verdict.EXEMPT:
            exempt = decision.route(Route.EXEMPT)
            assert exempt is not None  # an exempt verdict lists its route
            _log.info(
                "transfer allowed",
                product=transfer.product,
                rules=",".join(exempt.rules),
                rules_version=decision.rules_version,
            )
            return self._allowed(decision, f"{Route.EXEMPT.value} ({', '.join(exempt.rules)})")
        # (3) A GBA Standard Contract route with a usable contract between the parties.
        today = gba_date(now)
        for option in decision.routes:
            if not option.route.is_gba_standard_contract:
                continue
            for contract in self._state.contracts_between(transfer.exporter, transfer.recipient):
                if contract.route is option.route and contract.usable_on(today):
                    _log.info("transfer allowed", product=transfer.product, contract=contract.id)
                    return self._allowed(
                        decision,
                        f"{option.route.value} ({', '.join(option.rules)}), contract {contract.id}",
                    )
        # (4) The mechanism the decision needs is not in place.
        raise self._refusal(transfer, decision, "needs a mechanism not in place")

    @staticmethod
    def _allowed(decision: Decision, basis: str) -> GateDecision:
        """The decision as the exchange records it; the anchored JSON names the basis too."""
        noted = replace(decision, notes=(*decision.notes, f"exchange gate allowed it: {basis}"))
        exporter, recipient = decision.transfer.exporter, decision.transfer.recipient
        assert exporter.organisation is not None  # the gate names both parties
        assert recipient.organisation is not None
        return GateDecision(
            id=decision.id,
            body=rfc8785.dumps(noted.to_json()),
            schema=DECISION_SCHEMA,
            issuer=decision.requested_by or HUB_ISSUER,
            exporter=exporter.organisation,
            recipient=recipient.organisation,
            verdict=decision.verdict.value,
            rules_version=decision.rules_version,
            decided_at=decision.decided_at,
            basis=f"{basis} [rules {decision.rules_version}]",
        )

    @staticmethod
    def _refusal(transfer: Transfer, decision: Decision, why: str) -> TransferRefused:
        if decision.routes:
            needs = "; ".join(
                f"{o.route.value} ({', '.join(o.rules)}: {o.citations[0]})" for o in decision.routes
            )
        else:
            needs = "no rule in the table covers it"
        return TransferRefused(
            f"transfer of {transfer.product} from {transfer.exporter_jurisdiction} to "
            f"{transfer.recipient_jurisdiction} refused ({why}): {needs} "
            f"[rules {decision.rules_version}; not legal advice]",
            detail=(
                "Register and file a GBA Standard Contract where one is offered "
                "(bayflow compliance contract add), or complete the mechanism the rules name."
            ),
        )
