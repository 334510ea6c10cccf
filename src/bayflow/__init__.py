"""Bayflow: trusted data flow across the Guangdong–Hong Kong–Macao Greater Bay Area.

The data stays, the proof crosses. The package map:

- ``bayflow.errors``   one exception hierarchy for everything below
- ``bayflow.config``   settings; the only reader of the environment
- ``bayflow.clock``    injectable time
- ``bayflow.crypto``   the only importer of cryptographic primitives
- ``bayflow.ledger``   the verification ledger (C2SP transparency log)
- ``bayflow.identity`` Corp ID: organisations, people, keys, mandates, signatures
- ``bayflow.consent``  consent artefacts and their lifecycle
- ``bayflow.exchange`` consented, end-to-end encrypted data interchange
- ``bayflow.compliance`` cross-boundary rules, identifier scanner, de-identification
- ``bayflow.market``   data products, offers and contracts
- ``bayflow.store``    persistence: the only importer of SQLAlchemy and Alembic
- ``bayflow.api``      the HTTP API (FastAPI)
- ``bayflow.cli``      the ``bayflow`` command
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
