"""The cache verifier's word tables: lexicon categories, negations, stopwords, number words.

Each table is one line of ``_SPEC``, parsed into ``{word: canon}``. ``LEXICONS`` are the
categories the guards compare (languages, code and formats, units, currencies, times, dates,
and each group of opposites); the others (negation, stop, number, nation) feed the text
analysis in ``router.cache.verify.profile``.
"""

from __future__ import annotations

import re

# Word tables, one per line ("name = canon: synonym …; canon2; …"; indented lines continue).
# The categories before "negation" must agree when each text names a value ("python" vs
# "java"); each group of opposites is a category of its own, so only true opposites clash.
_SPEC = """
language = english; spanish: español espanol; french: français francais; german: deutsch;
  italian; portuguese; chinese: mandarin cantonese; japanese; korean; russian; arabic; hindi;
  dutch; swedish; polish; turkish; greek; hebrew; latin; vietnamese; thai
code = python: py; javascript: js; typescript: ts; java; kotlin; scala; c++: cpp; c#: csharp;
  f#; golang; rust; ruby; php; swift; perl; haskell; lua; matlab; julia; dart; elixir; sql;
  mysql; postgres: postgresql; sqlite; bash; zsh; powershell; html; css; json; yaml: yml; xml;
  csv; toml; markdown; pdf; docx; excel: xlsx; png; jpeg: jpg; webp; gif; svg; mp3; mp4; wav;
  git; svn; npm; yarn; pnpm; pip; conda; vim; emacs
unit = km: kilometer kilometers kilometre kilometres; mile: miles mi; meter: meters metre
  metres; foot: feet ft; inch: inches; cm; mm; kg: kilogram kilograms kilos; lb: lbs pound
  pounds; gram: grams; oz: ounce ounces; liter: liters litre litres; gallon: gallons; ml;
  celsius: centigrade; fahrenheit; kelvin; mph; kph; cup: cups; tbsp: tablespoon tablespoons;
  tsp: teaspoon teaspoons; metric; imperial; kb; mb; gb; tb; hour: hours; minute: minutes;
  second: seconds; day: days; week: weeks; month: months; year: years
currency = usd: $ dollar dollars; eur: € euro euros; gbp: £ sterling; jpy: ¥ yen; cny: yuan
  rmb; inr: ₹ rupee rupees; cad; aud; chf: franc francs; btc: bitcoin; eth: ethereum
time = now: current currently latest today todays recent recently nowadays this_week; tomorrow;
  yesterday; tonight; next_week; last_week; next_month; last_month; next_year; last_year
date = january; february; march; april; june; july; august; september; october; november;
  december; monday; tuesday; wednesday; thursday; friday; saturday; sunday
opposite = asc: ascending increasing; desc: descending decreasing reverse reversed
opposite = more: increase gain; less: decrease lose
opposite = max: maximum largest biggest highest; min: minimum smallest lowest fewest
opposite = best: top; worst
opposite = cheap: cheapest cheaper; expensive: priciest
opposite = before; after
opposite = buy: purchase; sell
opposite = import; export
opposite = upload; download
opposite = encrypt: encode; decrypt: decode
opposite = enable; disable
opposite = install; uninstall
opposite = start; stop
opposite = male: man men boy boys; female: woman women girl girls
opposite = hot; cold
opposite = formal; informal: casual
opposite = beginner: beginners novice; expert: experts advanced
opposite = pros: advantages benefits; cons: disadvantages drawbacks
opposite = brief: short concise; detailed: detail long
opposite = sum: plus addition; product: multiply multiplication; difference: subtract minus;
  quotient: divide division
opposite = uppercase; lowercase
opposite = input; output
opposite = public; private
opposite = sync: synchronous; async: asynchronous
opposite = north; south; east; west
opposite = synonym: synonyms; antonym: antonyms
opposite = light; dark
opposite = solved; unsolved
opposite = local; remote
opposite = daily; weekly; monthly; yearly: annual
opposite = nearest: closest nearby; cheapest; fastest: quickest
opposite = morning; evening; night
negation = not no never none nobody nothing nowhere neither nor without unable non dont doesnt
  didnt isnt arent cant couldnt shouldnt wouldnt wont
stop = a an the of in on at to for from by with about as into over is are was were be been
  being am do does did doing have has had i me my we our you your he she it its they them their
  this that these those what which who whom whose how why when where can could should would
  will shall may might must and or but if then so than there here some any please tell give
  show explain find get make let s also just very really up out via vs versus
number = 0: zero; 1: one; 2: two; 3: three third; 4: four fourth; 5: five fifth; 6: six sixth;
  7: seven seventh; 8: eight eighth; 9: nine ninth; 10: ten tenth; 11: eleven; 12: twelve
  dozen; 13: thirteen; 14: fourteen; 15: fifteen; 16: sixteen; 17: seventeen; 18: eighteen;
  19: nineteen; 20: twenty; 30: thirty; 40: forty; 50: fifty; 60: sixty; 70: seventy;
  80: eighty; 90: ninety
nation = france: french; germany: german; spain: spanish; italy: italian; china: chinese;
  japan: japanese; america: american us usa; britain: british uk; england: english; russia:
  russian; india: indian; canada: canadian; mexico: mexican; brazil: brazilian; korea: korean;
  greece: greek; netherlands: dutch; sweden: swedish; turkey: turkish; ireland: irish
"""


def _parse(spec: str) -> list[tuple[str, dict[str, str]]]:
    """Each table line → (name, {word: canon}); a canon maps to itself, a bare word too."""
    tables = []
    for line in re.sub(r"\n\s+", " ", spec).strip().splitlines():
        name, _, body = line.partition(" = ")
        table: dict[str, str] = {}
        for group in body.split(";"):
            canon, colon, words = group.partition(":")
            for word in [*canon.split(), *words.split()] if colon else canon.split():
                table[word] = canon.strip() if colon else word
        tables.append((name, table))
    return tables


_TABLES = _parse(_SPEC)
_AUX = ("negation", "stop", "number", "nation")
LEXICONS = tuple((name, table) for name, table in _TABLES if name not in _AUX)
LEXICON_INDEX: dict[str, list[tuple[int, str]]] = {}  # word → [(LEXICONS position, canon)]
for _at, (_, _table) in enumerate(LEXICONS):
    for _word, _canon in _table.items():
        LEXICON_INDEX.setdefault(_word, []).append((_at, _canon))
_TABLE = dict(_TABLES)
NEGATIONS, STOPWORDS = frozenset(_TABLE["negation"]), frozenset(_TABLE["stop"])
DEMONYMS = _TABLE["nation"]
NUMBER_WORDS = {word: int(value) for word, value in _TABLE["number"].items() if word.isalpha()}
SCALES = {"hundred": 100, "thousand": 1_000, "million": 1_000_000, "billion": 1_000_000_000}
