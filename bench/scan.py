"""Scanner throughput and accuracy on a seeded synthetic corpus, and Presidio beside it.

Generates a mixed corpus (Simplified and Traditional Chinese, English, mixed; identifiers,
near-miss decoys and ordinary business text) of at least ``--megabytes`` MB in memory, then:

- scans it with every detector but PERSON_NAME (the issue's throughput goal), on one core,
  timed by process CPU time so that other load on the machine does not count;
- scans it with PERSON_NAME alone (its own figure);
- scores both scans against the generator's labels: precision, recall and F1 per type;
- when presidio-analyzer and spaCy are importable, runs Presidio's default pattern
  recognizers over a blank spaCy pipeline (no model can be downloaded) on a sample of the
  same corpus, and scores it the same way; otherwise reports ``"presidio": "not installed"``.

    python bench/scan.py [--megabytes 50] [--seed 1] [--filler-rate 0.8]

``--filler-rate`` is the share of sentences with no identifier; the default gives about
3,000 labelled identifiers a MB. The figures depend on that density, so it is printed too.
"""

from __future__ import annotations

import argparse
import importlib
import time
from collections import Counter
from datetime import date
from typing import Any

from _common import emit, log
from bayflow.compliance.entities import EntityType
from bayflow.compliance.evaluation import Score, report_json
from bayflow.compliance.scanner import Scanner
from bayflow.compliance.synthetic import Document, SyntheticGenerator

_TODAY = date(2025, 6, 30)
# Presidio's entity names for the types it has a recognizer for.
_PRESIDIO_TYPES = {
    "PHONE_NUMBER": EntityType.PHONE,
    "EMAIL_ADDRESS": EntityType.EMAIL,
    "CREDIT_CARD": EntityType.BANK_CARD,
}

_Span = tuple[EntityType, int, int]


def _scores(gold: set[_Span], found: set[_Span], types: set[EntityType]) -> dict[str, Any]:
    gold = {g for g in gold if g[0] in types}
    tp = Counter(s[0] for s in gold & found)
    fp = Counter(s[0] for s in found - gold)
    fn = Counter(s[0] for s in gold - found)
    return report_json({t: Score(tp[t], fp[t], fn[t]) for t in sorted(types)})


def _timed_scan(scanner: Scanner, text: str) -> tuple[float, set[_Span]]:
    start = time.process_time()
    findings = scanner.scan(text)
    elapsed = time.process_time() - start
    return elapsed, {(f.entity_type, f.start, f.end) for f in findings}


def _presidio(corpus: Document, sample_bytes: int) -> dict[str, Any] | str:
    try:
        analyzer_module = importlib.import_module("presidio_analyzer")
        nlp_module = importlib.import_module("presidio_analyzer.nlp_engine")
        spacy = importlib.import_module("spacy")
    except ImportError:
        return "not installed"
    # Presidio's e-mail recognizer asks tldextract for the Public Suffix List, which it
    # fetches over the network on first use; offline it logs the failures and falls back to
    # the snapshot it ships. Use that snapshot from the start, and keep nothing on disk.
    tldextract = importlib.import_module("tldextract")
    tldextract.extract = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)
    # Whole documents only, so that no label is cut: the sample ends at the first line break
    # after ``sample_bytes`` bytes of UTF-8.
    head = len(corpus.text.encode()[:sample_bytes].decode(errors="ignore"))
    cut = corpus.text.find("\n", head)
    sample = corpus.text[: cut + 1 if cut != -1 else len(corpus.text)]
    gold = {
        (label.entity_type, label.start, label.end)
        for label in corpus.labels
        if label.end <= len(sample)
    }
    engine = nlp_module.SpacyNlpEngine(models=[{"lang_code": "en", "model_name": "blank"}])
    engine.nlp = {"en": spacy.blank("en")}
    analyzer = analyzer_module.AnalyzerEngine(nlp_engine=engine, supported_languages=["en"])
    found: set[_Span] = set()
    start = time.process_time()
    for line_start, line in _lines(sample):
        for result in analyzer.analyze(text=line, language="en"):
            kind = _PRESIDIO_TYPES.get(result.entity_type)
            if kind is not None:
                found.add((kind, line_start + result.start, line_start + result.end))
    elapsed = time.process_time() - start
    size = len(sample.encode())
    types = {t for t in EntityType if t is not EntityType.PERSON_NAME}
    return {
        "sample_megabytes": round(size / 1e6, 2),
        "mb_per_s": round(size / 1e6 / elapsed, 3),
        "f1": {t: s["f1"] for t, s in _scores(gold, found, types).items()},
        "recognizers": "default pattern recognizers, blank spaCy 'en' pipeline",
    }


def _lines(text: str) -> list[tuple[int, str]]:
    out = []
    position = 0
    for line in text.splitlines(keepends=True):
        out.append((position, line))
        position += len(line)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=float, default=50)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--filler-rate", type=float, default=0.8)
    parser.add_argument("--presidio-sample-megabytes", type=float, default=1)
    args = parser.parse_args()

    log(f"generating a {args.megabytes} MB corpus (seed {args.seed})")
    generator = SyntheticGenerator(args.seed, filler_rate=args.filler_rate)
    corpus = generator.corpus(int(args.megabytes * 1e6))
    size = len(corpus.text.encode())
    gold = {(label.entity_type, label.start, label.end) for label in corpus.labels}

    identifiers = set(EntityType) - {EntityType.PERSON_NAME}
    log("scanning with every detector but PERSON_NAME")
    elapsed, found = _timed_scan(Scanner(identifiers, today=_TODAY), corpus.text)
    log("scanning with PERSON_NAME alone")
    names_elapsed, names = _timed_scan(Scanner([EntityType.PERSON_NAME], today=_TODAY), corpus.text)
    scores = _scores(gold, found, identifiers) | _scores(gold, names, {EntityType.PERSON_NAME})
    log("Presidio on a sample, if installed")
    presidio = _presidio(corpus, int(args.presidio_sample_megabytes * 1e6))

    emit(
        "scan",
        {
            "corpus_megabytes": round(size / 1e6, 2),
            "labelled_identifiers_per_mb": round(len(corpus.labels) / (size / 1e6)),
            "seed": args.seed,
            "filler_rate": args.filler_rate,
            "mb_per_s_without_person_name": round(size / 1e6 / elapsed, 2),
            "mb_per_s_person_name_only": round(size / 1e6 / names_elapsed, 2),
            "f1": {t: s["f1"] for t, s in scores.items()},
            "precision": {t: s["precision"] for t, s in scores.items()},
            "recall": {t: s["recall"] for t, s in scores.items()},
            "presidio": presidio,
            "cores": 1,
        },
    )


if __name__ == "__main__":
    main()
