"""The reference scenario end to end, and proof that the hub never held a payload."""

from pathlib import Path

import pytest

from tests.integration.conftest import bayflow, cli_env

pytestmark = pytest.mark.slow

# Strings that occur only inside the providers' payloads and the VAT summary Pearl River anchors
# field by field (see bayflow.cli.demo).
PAYLOAD_MARKERS = [
    b"Kwai Chung warehouse",
    b"total_sales_cny",
    b"kwh,amount_hkd",
    b"largest_customer_uscc",
]


class TestDemoLoan:
    """`bayflow demo loan` walks SCENARIO.md on real processes and exits 0."""

    def test_the_story_runs_and_the_hub_database_holds_no_plaintext(self, tmp_path: Path) -> None:
        env = cli_env(tmp_path / "unused", TMPDIR=str(tmp_path))
        result = bayflow("demo", "loan", "--keep", env=env)
        assert result.returncode == 0, result.stdout + result.stderr
        out = result.stdout
        assert "refused, as it should be" in out  # Li Na, and the fetch after revocation
        assert "24 records decrypted by the bank" in out
        assert "12 records decrypted by the bank" in out
        assert " v1 revoked: " in out
        # Compliance (SCENARIO step 4): volumes as pseudonyms, the hub's decision, anchored.
        assert "4000 individuals in " in out
        assert "sent as keyed pseudonyms" in out
        assert "CN Zhuhai -> HK Hong Kong: exempt (rules " in out
        assert "gba_standard_contract_hk [V] via R10" in out
        assert "source: Provisions Art. 5(4)" in out
        assert "File within 10 working days" in out
        assert "stored by the hub; its SHA-256 " in out
        assert "the decision hashes to its digest, which is entry " in out
        # Each cross-boundary access names the gate's decision, anchored.
        assert "vat-einvoices: delivered, under exempt (R" in out
        assert "the gate's decision dec_" in out
        assert "electricity-bills: delivered, inside Hong Kong" in out
        # Selective disclosure (SCENARIO step 6), verified with the network refused.
        assert "(record-fields, vat-annual-summary/1)" in out
        assert "disclosed period, total_sales_cny, total_tax_cny in " in out
        assert '"verified": true' in out
        assert "with the network refused" in out
        assert "verify exits 17, as it should: " in out
        assert "The story ends as SCENARIO.md tells it." in out

        (home,) = tmp_path.glob("bayflow-demo-*")
        # The providers' files hold the markers: the search below would find them.
        provider_bytes = b"".join(p.read_bytes() for p in home.rglob("*.json")) + b"".join(
            p.read_bytes() for p in home.rglob("*.csv")
        )
        assert all(marker in provider_bytes for marker in PAYLOAD_MARKERS[:2])
        assert PAYLOAD_MARKERS[3] in provider_bytes
        # The bank received three fields of the summary, and nothing else of it.
        disclosed = b"".join(p.read_bytes() for p in (home / "bank").glob("summary*"))
        assert b"total_sales_cny" in disclosed
        assert PAYLOAD_MARKERS[3] not in disclosed
        customer = (home / "pearlriver-customers-2026.txt").read_text("utf-8").split()[0]
        # The hub's database files (with SQLite's write-ahead log) hold none of them.
        hub_files = list((home / "hub").glob("bayflow.db*"))
        assert hub_files
        stored = b"".join(p.read_bytes() for p in hub_files)
        for marker in PAYLOAD_MARKERS:
            assert marker not in stored
        # Volumes reached the hub as pseudonyms: no customer's identifier is in its database.
        assert customer.encode() not in stored
