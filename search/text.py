"""Words, stems, Markdown-to-plain-text and highlighted snippets: the same on every backend."""

from __future__ import annotations

import html
import itertools
import re
from functools import lru_cache

import snowballstemmer

WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)?", re.UNICODE)

# Words a question carries that say nothing about the incident ("why did the pods not start").
# Kept short on purpose: "down", "not", "no" and "after" matter in operations text, but as
# any-word terms they match nearly everything, so they only count inside "quoted phrases".
_STOPWORD_TEXT = (
    "a about above after again against all am an and any are as at be because been before "
    "being below between both but by can could did do does doing down during each few for "
    "from further had has have having he her here hers how i if in into is it its itself "
    "just me more most my no nor not now of off on once only or other our ours out over own "
    "same she should so some such than that the their theirs them then there these they this "
    "those through to too under until up very was we were what when where which while who "
    "whom why will with would you your yours ever still get got went seen see happen "
    "happened anything something someone let lets us took take nobody everybody everyone "
    "anyone stuff thing things whole like really lot lots kind sort basically"
)
STOPWORDS = frozenset(_STOPWORD_TEXT.split())

_stemmer = snowballstemmer.stemmer("english")


def words(text: str) -> list[str]:
    """Lower-cased words of `text`, apostrophes kept inside a word ("didn't")."""
    return [word.lower() for word in WORD.findall(text)]


# A compound token: word characters joined by ".", "/", ":", "@" or "_" (file names, paths,
# hosts, versions: "logo.png", "HTTP/1.1", "kube_proxy"), camelCase ("CoreDNS"), or a number in
# the plural ("503s"). PostgreSQL's parser keeps such tokens whole ('logo.png', 'http/1.1',
# '503s'), SQLite's splits only some of them: `compound_parts` gives every backend their parts.
_COMPOUND = re.compile(r"[^\W_]+(?:[./:@_]+[^\W_]+)+|[^\W\d_]*[a-z][A-Z][^\W_]*|\b\d+s\b")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_NUMBER_PLURAL = re.compile(r"^(\d+)s$")


def split_compound(token: str) -> list[str]:
    """The lower-cased parts of one token: "HTTP/1.1" → http, 1, 1; "CoreDNS" → core, dns;
    "NullPointerException" → null, pointer, exception; "503s" → 503; a plain word → itself."""
    plural = _NUMBER_PLURAL.match(token)
    if plural:
        return [plural.group(1)]
    return [w.lower() for piece in WORD.findall(token) for w in _CAMEL.split(piece) if w]


def compound_parts(text: str) -> str:
    """The parts of every compound token of `text`, one compound per line, so that a search
    for a part finds the compound ("dns" finds CoreDNS, "503" finds 503s, "logo png" finds
    /img/logo.png) on every backend. Search documents index this beside their fields
    (search/index.py); queries split their compounds the same way (search/query.py)."""
    seen: set[str] = set()
    lines = []
    for match in _COMPOUND.finditer(text):
        token = match.group()
        if "://" in token or token.lower().startswith("www."):
            continue  # an address: its parts ("https", "com", path words) find nothing useful
        parts = split_compound(token)
        line = " ".join(parts)
        if len(parts) > 1 and all(len(part) == 1 or part.isdigit() for part in parts):
            continue  # "e.g.", "12:05", "10.0.0.1": nothing anyone searches by its parts
        if (len(parts) > 1 or parts != [token.lower()]) and line not in seen:
            seen.add(line)
            lines.append(line)
    return "\n".join(lines)


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    return _stemmer.stemWord(word.lower().replace("’", "'"))


_MARKDOWN_NOISE = [
    (re.compile(r"```[^\n]*"), " "),  # code fences (the code itself stays searchable)
    # Images → alt text, links → their text. The bracketed text may not hold another "[",
    # nor the address a "(" or a line end: each try then stops at the next bracket, so a run
    # of thousands of "[" costs linear time, not quadratic (issue 10: bounded work).
    (re.compile(r"!\[([^\[\]\n]{0,1000})\]\([^()\n]{0,2000}\)"), r"\1"),
    (re.compile(r"\[([^\[\]\n]{0,1000})\]\([^()\n]{0,2000}\)"), r"\1"),
    # Raw HTML stays as written: the reading view shows it as text (PRODUCT.md, "One set of rules
    # for every way in"), so a snippet quotes "<script> tags" as the reader sees them.
    (re.compile(r"^\s{0,3}(#{1,6}|>|[-*+]|\d+\.)\s+", re.MULTILINE), ""),  # block markers
    (re.compile(r"^[ \t]*\|?[ \t:|-]+\|[ \t:|-]*$", re.MULTILINE), " "),  # table rules, one line
    (re.compile(r"[*_`~|]+"), " "),  # emphasis, code spans, table pipes
    (re.compile(r"[ \t]+"), " "),
]


def plain_text(markdown: str) -> str:
    """Markdown reduced to the words a reader sees: good enough to index and quote from."""
    text = markdown
    for pattern, replacement in _MARKDOWN_NOISE:
        text = pattern.sub(replacement, text)
    return text.strip()


SNIPPET_WORDS = 32


Phrases = frozenset[tuple[str, ...]]


def _hits(tokens: list[str], stems: frozenset[str], phrases: Phrases) -> dict[int, str]:
    """The words of `tokens` (a text's words, in order) to <mark>, by index, each with what it
    matched (a stem, or a phrase's stems joined): what the index matched, marked the way it
    matched it.

    - a word whose stem is in `stems` ("kube" for kubernetes, via the thesaurus);
    - a compound whose part's stem is ("CoreDNS" for dns, "503s" for 503: the index finds a
      compound by its parts, `compound_parts`);
    - each word of a run whose stems are one of `phrases` ("out of memory" for oom).
    """
    # Stemming every word of a long report is the slow part: only words that start like a
    # query stem can stem to it (Snowball keeps a word's first two letters).
    starts = {s[:2] for s in stems}
    hits: dict[int, str] = {}
    for i, word in enumerate(tokens):
        if word[:2].lower() in starts and (found := stem(word)) in stems:
            hits[i] = found
        elif _maybe_compound(word):
            for part in split_compound(word):
                if part[:2] in starts and (found := stem(part)) in stems:
                    hits[i] = found
                    break
    firsts = {phrase[0][:2] for phrase in phrases}
    for i, word in enumerate(tokens):
        if word[:2].lower() not in firsts:
            continue
        for phrase in phrases:
            run = range(i, i + len(phrase))
            if run.stop <= len(tokens) and all(
                stem(tokens[j]) == part for j, part in zip(run, phrase, strict=True)
            ):
                hits.update({j: " ".join(phrase) for j in run if j not in hits})
    return hits


def _maybe_compound(word: str) -> bool:
    """Whether one word may be camelCase ("CoreDNS") or a plural number ("503s"): a cheap
    look first (most words are lower case, Capitalized or CAPITALS), the patterns after."""
    if not word[0].isdigit() and (word.islower() or word.isupper() or word.istitle()):
        return False
    return bool(_CAMEL.search(word) or _NUMBER_PLURAL.match(word))


def snippet(
    text: str,
    stems: frozenset[str],
    *,
    size: int = SNIPPET_WORDS,
    phrases: Phrases = frozenset(),
) -> str:
    """The `size`-word passage of `text` with the most distinct query stems, as safe HTML.

    Every character of `text` is escaped; matching words are wrapped in <mark> (`_hits`: the
    words typed, their thesaurus equivalents, compounds by their parts, `phrases` as runs).
    Without a match, the passage is the start of the text.
    """
    tokens = WORD.findall(text)  # strings, not match objects: a report has thousands
    if not tokens:
        return html.escape(text[:240])
    hit_stems = _hits(tokens, stems, phrases)
    best_start, best_score = 0, 0
    for first_hit in sorted(hit_stems):
        start = max(0, min(first_hit - 3, len(tokens) - size))  # a little context before
        distinct = {s for i, s in hit_stems.items() if start <= i < start + size}
        if len(distinct) > best_score:  # ties keep the earliest passage
            best_start, best_score = start, len(distinct)
    end = min(best_start + size, len(tokens))
    # Only the quoted passage needs the words' places in the text.
    matches = itertools.islice(WORD.finditer(text), best_start, end)
    out: list[str] = ["… "] if best_start > 0 else []
    cursor = -1
    for i, match in enumerate(matches, start=best_start):
        if cursor < 0:
            cursor = match.start() if best_start else 0
        out.append(html.escape(text[cursor : match.start()]))
        word = html.escape(match.group())
        out.append(f"<mark>{word}</mark>" if i in hit_stems else word)
        cursor = match.end()
    if end < len(tokens):
        out.append(" …")
    else:
        out.append(html.escape(text[cursor:]))
    return re.sub(r"\s+", " ", "".join(out)).strip()


def marked(text: str, stems: frozenset[str], phrases: Phrases = frozenset()) -> str:
    """All of `text` as safe HTML, the words `_hits` finds wrapped in <mark> (a title, a
    failure mode's path, a service's name: short, so every word is looked at)."""
    matches = list(WORD.finditer(text))
    hits = _hits([match.group() for match in matches], stems, phrases)
    out: list[str] = []
    cursor = 0
    for i, match in enumerate(matches):
        out.append(html.escape(text[cursor : match.start()]))
        word = html.escape(match.group())
        out.append(f"<mark>{word}</mark>" if i in hits else word)
        cursor = match.end()
    out.append(html.escape(text[cursor:]))
    return "".join(out)


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")


def without_repeats(text: str) -> str:
    """`text` with each sentence kept once: a report that restates its summary in its body
    (older templates had a "## Summary" section) quotes it once, not twice. Sentences are
    compared by their words, ignoring case and punctuation."""
    seen: set[tuple[str, ...]] = set()
    kept: list[str] = []
    for sentence in _SENTENCE_END.split(text):
        key = tuple(words(sentence))
        if not key:
            continue
        if len(key) > 3 and key in seen:  # "Yes." twice is no repetition worth removing
            continue
        seen.add(key)
        kept.append(sentence.strip())
    return "\n".join(kept)


def trigrams(word: str) -> set[str]:
    """pg_trgm's trigrams of one word: padded with two spaces before and one after."""
    padded = f"  {word.lower()} "
    return {padded[i : i + 3] for i in range(len(padded) - 2)}


def similarity(a: str, b: str) -> float:
    """pg_trgm's similarity(): shared trigrams over all trigrams of both words."""
    ta, tb = trigrams(a), trigrams(b)
    return len(ta & tb) / len(ta | tb) if ta and tb else 0.0
