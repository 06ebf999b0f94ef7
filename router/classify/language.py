"""Which encoder can read a text: English (the static stage and MiniLM) or another language.

all-MiniLM-L6-v2 and the static model distilled from it read English only: on text in another
language their best centroid is noise (it used to be ``chat``). This check is cheap (no
model, a few microseconds) and errs towards "not English" only on clear evidence: a text
whose letters are mostly outside ASCII, or Latin-script text with more function words of
another language than of English. Code and maths, whose letters are few and ASCII, read as
English.
"""

from __future__ import annotations

import re

# Share of letters outside ASCII above which a text is not English (accented names and the
# odd "café" stay well below it).
NON_ASCII_SHARE = 0.15
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
_ASCII_LETTER = re.compile("[A-Za-z]")


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_ENGLISH = _words(
    "the a an and or of to in on for with is are was were be been it this that these "
    "those what which who whom how why when where do does did can could would should will "
    "i you he she we they my your me us them not no yes please write give make tell "
    "explain about from by as at if then than there here have has had "
)
# Frequent function words of the Latin-script languages of chatbot traffic, none of them an
# English word as well ("was", "die", "come" are left out): Spanish, Portuguese, Italian,
# French, German, Dutch, Turkish, Polish, Indonesian and Vietnamese written without accents.
_OTHER = _words(
    "el los las del que por para una uno como pero más muy es está qué cuál cómo dónde "
    "puedes puede hola gracias sobre entre porque también hacer escribe de la un quién "
    "tiene cuántos hazme não um uma são está você isso esse essa como faz qual quais "
    "obrigado olá quem foi tudo bem boa noite até dos das em ao il gli che di della sono "
    "perché questo questa ciao grazie cosa scrivi chi ha per tutto bene le les des du est "
    "et une dans avec qui sur pas ce cette je tu vous nous mais ou comment pourquoi quel "
    "quelle bonjour merci faire écris peux combien toi bonne der das und ist nicht ich du "
    "sie wir ein eine einen auf für zu wie den dem des im bei dir welche alles diese "
    "warum wer kannst bitte danke hallo schreib gibt mir het een en ik je niet bir ve bu "
    "ne nasıl için mi çok ile jest nie się jak czy dla yang itu ini apa hangi yıl kaç iyi "
    "tidak dengan untuk bisa và là của có không cho một những "
)


def reads_as_english(text: str) -> bool:
    """Whether the English encoders can read ``text`` (see the module docstring)."""
    if text.isascii():  # most requests: no per-character loop
        if _ASCII_LETTER.search(text) is None:
            return True
    else:
        letters = 0
        foreign = 0
        for ch in text:
            if ch.isalpha():
                letters += 1
                foreign += not ch.isascii()
        if letters == 0:
            return True
        if foreign / letters > NON_ASCII_SHARE:
            return False
    english = other = 0
    for word in _WORD.findall(text.lower()):
        english += word in _ENGLISH
        # A word with a non-ASCII letter ("é", "não", "über") is strong evidence.
        other += 2 * (not word.isascii()) or word in _OTHER
    return other <= english
