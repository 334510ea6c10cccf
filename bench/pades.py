"""PAdES: B-B and B-T signatures, and B-T verifications, per second on a one-page PDF.

Each signature is a full ``bayflow.identity.pdf.sign_pdf`` call: parse the PDF, add a signature
field, size and embed the CMS container, write the incremental update. B-T adds a signature
time-stamp from the hub's own RFC 3161 authority in the same process (no HTTP), so the gap
between the two figures is the cost of building and signing a time-stamp token. Verification
is ``verify_pdf`` on a B-T document: pyHanko's signature, chain, time-stamp and difference
checks against the hub's CA.

    python bench/pades.py [-n N]
"""

from __future__ import annotations

import argparse
import time
from io import BytesIO
from typing import Any

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.writer import PageObject, PdfFileWriter

from _common import emit, log
from bayflow.clock import utcnow
from bayflow.crypto.pki import OrganisationalCA, SignerSubject
from bayflow.crypto.tsa import LocalTimeStamper, TimestampAuthority
from bayflow.identity.pdf import sign_pdf, verify_pdf


def one_page_pdf() -> bytes:
    writer = PdfFileWriter(stream_xrefs=False)
    font = writer.add_object(
        generic.DictionaryObject(
            {
                pdf_name("/Type"): pdf_name("/Font"),
                pdf_name("/Subtype"): pdf_name("/Type1"),
                pdf_name("/BaseFont"): pdf_name("/Helvetica"),
            }
        )
    )
    resources = generic.DictionaryObject(
        {pdf_name("/Font"): generic.DictionaryObject({pdf_name("/F1"): font})}
    )
    content = writer.add_object(
        generic.StreamObject(stream_data=b"BT /F1 18 Tf 72 720 Td (Loan agreement) Tj ET")
    )
    writer.insert_page(PageObject(content, (0, 0, 595, 842), resources))
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


def bench_pades(n: int) -> dict[str, Any]:
    """Sign a one-page PDF ``n`` times at each level and verify it ``n`` times; rates per second."""
    now = utcnow()
    ca = OrganisationalCA.generate(now=now)
    signer = ca.issue_signing_certificate(
        SignerSubject(
            person_name="Chen Wei",
            organisation_name="Qianhai Bayline Logistics Co., Ltd.",
            organisation_identifier="NTRCN-91440300MA5G7K2P0C",
            country="CN",
            role="Director",
        ),
        now=now,
    )
    timestamper = LocalTimeStamper(TimestampAuthority(ca.issue_timestamping_certificate(now=now)))
    pdf = one_page_pdf()

    # One of each first: it warms imports and the time-stamper's size-estimate cache, and
    # proves the benchmark measures signatures that verify.
    verify_pdf(sign_pdf(pdf, signer), [ca.certificate_pem])
    verify_pdf(sign_pdf(pdf, signer, level="B-T", timestamper=timestamper), [ca.certificate_pem])

    start = time.perf_counter()
    for _ in range(n):
        sign_pdf(pdf, signer)
    bb_elapsed = time.perf_counter() - start

    start = time.perf_counter()
    for _ in range(n):
        signed = sign_pdf(pdf, signer, level="B-T", timestamper=timestamper)
    bt_elapsed = time.perf_counter() - start

    roots = [ca.certificate_pem]
    start = time.perf_counter()
    for _ in range(n):
        verify_pdf(signed, roots)
    verify_elapsed = time.perf_counter() - start

    return {
        "pades_bb_sign_per_s": round(n / bb_elapsed, 1),
        "pades_bt_sign_per_s": round(n / bt_elapsed, 1),
        "pades_bt_verify_per_s": round(n / verify_elapsed, 1),
        "pdf_bytes": len(pdf),
        "bt_signed_pdf_bytes": len(signed),
        "signatures": n,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=300, help="signatures per level")
    args = parser.parse_args()
    log(f"signing a one-page PDF {args.n} times at B-B and at B-T")
    emit("pades", bench_pades(args.n))


if __name__ == "__main__":
    main()
