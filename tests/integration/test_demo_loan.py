"""The reference scenario end to end, and proof that the hub never held a payload."""

from pathlib import Path

import pytest

from tests.integration.conftest import bayflow, cli_env

pytestmark = pytest.mark.slow

# Strings that occur only inside the providers' payloads (see bayflow.cli.demo).
PAYLOAD_MARKERS = [b"Kwai Chung warehouse", b"total_sales_cny", b"kwh,amount_hkd"]


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
        assert "The story ends as SCENARIO.md tells it." in out

        (home,) = tmp_path.glob("bayflow-demo-*")
        # The providers' files hold the markers: the search below would find them.
        provider_bytes = b"".join(p.read_bytes() for p in home.rglob("*.json")) + b"".join(
            p.read_bytes() for p in home.rglob("*.csv")
        )
        assert all(marker in provider_bytes for marker in PAYLOAD_MARKERS[:2])
        # The hub's database files (with SQLite's write-ahead log) hold none of them.
        hub_files = list((home / "hub").glob("bayflow.db*"))
        assert hub_files
        stored = b"".join(p.read_bytes() for p in hub_files)
        for marker in PAYLOAD_MARKERS:
            assert marker not in stored
