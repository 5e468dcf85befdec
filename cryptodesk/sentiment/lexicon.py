"""Sentiment lexicons: VADER's general English lexicon plus our crypto vocabulary.

Two sources, merged into one :class:`Lexicon`:

- **VADER** (Hutto & Gilbert 2014, MIT licence): ``vader_lexicon.txt`` and
  ``emoji_utf8_lexicon.txt`` as shipped inside the ``vaderSentiment`` package. We read the files
  from the installed package (``importlib.resources``) rather than copy them into our tree, so
  the licence and the upstream version stay with the package. Without the package the lexicon
  falls back to the crypto vocabulary alone and says so in :attr:`Lexicon.notes`: scoring keeps
  working (offline scoring must never fail), only with a smaller vocabulary.
- **CryptoDesk's crypto lexicon** (``resources/sentiment/crypto_lexicon_v1.tsv``, shipped as ``cryptodesk.resources``):
  slang (moon, rekt, rug, FUD, HODL ...), market words, phrases ("rug pull", "to the moon") and
  emoji. Its entries override VADER's. The file is versioned; the version and a content hash go
  into :attr:`Lexicon.identity`, which is stored with every set of scores so a score can always
  be traced to the words that produced it.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from importlib import resources

from cryptodesk.sentiment.errors import SentimentError

CRYPTO_LEXICON_VERSION = 1
CRYPTO_LEXICON_FILE = f"crypto_lexicon_v{CRYPTO_LEXICON_VERSION}.tsv"
MAX_PHRASE_WORDS = 3
# Emoji valence from VADER's emoji descriptions is a sum of word valences; clip it like a word.
VALENCE_LIMIT = 4.0
_EMOJI_VARIATION = "\ufe0f"


@dataclass(frozen=True)
class Lexicon:
    """Term -> valence (VADER scale, -4..4): single tokens and multi-word phrases."""

    words: dict[str, float]
    phrases: dict[tuple[str, ...], float]
    identity: dict[str, object]
    notes: list[str] = field(default_factory=list)


def crypto_lexicon_text(version: int = CRYPTO_LEXICON_VERSION) -> str:
    """The raw text of the crypto lexicon shipped in the package."""
    from cryptodesk.resources import resource_path

    try:
        return resource_path("sentiment", f"crypto_lexicon_v{version}.tsv").read_text(
            encoding="utf-8")
    except (FileNotFoundError, OSError) as exc:
        raise SentimentError(
            f"crypto lexicon v{version} is missing from the installation ({exc}); reinstall CryptoDesk"
        ) from None


def parse_lexicon_tsv(text: str, name: str = "lexicon") -> dict[str, float]:
    """Parse ``term<TAB>valence[<TAB>note]`` lines; ``#`` starts a comment line.

    Terms are lower-cased and their internal whitespace normalised to one space; a malformed
    line raises :class:`SentimentError` naming the line, because a silently skipped entry would
    change scores without anyone noticing.
    """
    out: dict[str, float] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) < 2:
            raise SentimentError(f"{name}, line {number}: expected 'term<TAB>valence'")
        term = " ".join(parts[0].replace(_EMOJI_VARIATION, "").lower().split())
        try:
            valence = float(parts[1])
        except ValueError:
            raise SentimentError(f"{name}, line {number}: valence {parts[1]!r} is not a number") from None
        if not term or not -VALENCE_LIMIT <= valence <= VALENCE_LIMIT:
            raise SentimentError(f"{name}, line {number}: empty term or valence outside [-4, 4]")
        if len(term.split(" ")) > MAX_PHRASE_WORDS:
            raise SentimentError(f"{name}, line {number}: phrases have at most {MAX_PHRASE_WORDS} words")
        out[term] = valence
    return out


def _vader_texts() -> tuple[str, str, str] | None:
    """(lexicon text, emoji text, package version), or None when vaderSentiment is absent."""
    try:
        base = resources.files("vaderSentiment")
        lexicon = base.joinpath("vader_lexicon.txt").read_text(encoding="utf-8")
        emoji = base.joinpath("emoji_utf8_lexicon.txt").read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError, OSError):
        return None
    from importlib.metadata import PackageNotFoundError, version

    try:
        pkg_version = version("vaderSentiment")
    except PackageNotFoundError:  # metadata missing in an unusual install: the hash identifies it
        pkg_version = "unknown"
    return lexicon, emoji, pkg_version


def _parse_vader(text: str) -> dict[str, float]:
    """VADER's own format: ``token<TAB>mean<TAB>sd<TAB>ratings``; later lines win, as in VADER."""
    out: dict[str, float] = {}
    for line in text.splitlines():
        parts = line.split("\t")
        if len(parts) >= 2 and parts[0]:
            try:
                out[parts[0].lower()] = float(parts[1])
            except ValueError:
                continue
    return out


def _emoji_valences(emoji_text: str, words: dict[str, float]) -> dict[str, float]:
    """Valence of each emoji from its description ("face with tears of joy"): VADER scores an
    emoji by replacing it with its description, so the sum of the description's word valences
    is the closest single-token equivalent."""
    out: dict[str, float] = {}
    for line in emoji_text.splitlines():
        parts = line.split("\t")
        if len(parts) < 2:
            continue
        emoji = parts[0].replace(_EMOJI_VARIATION, "")
        total = sum(words.get(w, 0.0) for w in re.findall(r"[a-z']+", parts[1].lower()))
        if emoji and total:
            out[emoji] = max(-VALENCE_LIMIT, min(VALENCE_LIMIT, total))
    return out


def load_lexicon(*, use_vader: bool = True, crypto_version: int = CRYPTO_LEXICON_VERSION) -> Lexicon:
    """Merge VADER (when installed and wanted) with the crypto lexicon; crypto entries win."""
    notes: list[str] = []
    identity: dict[str, object] = {}
    words: dict[str, float] = {}
    vader = _vader_texts() if use_vader else None
    if vader is not None:
        lex_text, emoji_text, pkg_version = vader
        words.update(_parse_vader(lex_text))
        words.update(_emoji_valences(emoji_text, words))
        identity["vader"] = {
            "version": pkg_version,
            "sha256": hashlib.sha256((lex_text + emoji_text).encode("utf-8")).hexdigest()[:16],
        }
    elif use_vader:
        notes.append(
            "vaderSentiment is not installed: scoring with the crypto lexicon only "
            "(pip install vaderSentiment for the general English vocabulary)"
        )
        identity["vader"] = None
    crypto_text = crypto_lexicon_text(crypto_version)
    crypto = parse_lexicon_tsv(crypto_text, CRYPTO_LEXICON_FILE)
    identity["crypto"] = {
        "version": crypto_version,
        "sha256": hashlib.sha256(crypto_text.encode("utf-8")).hexdigest()[:16],
    }
    phrases: dict[tuple[str, ...], float] = {}
    for term, valence in crypto.items():
        parts = tuple(term.split(" "))
        if len(parts) > 1:
            phrases[parts] = valence
        else:
            words[term] = valence
    return Lexicon(words=words, phrases=phrases, identity=identity, notes=notes)
