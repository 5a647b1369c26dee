"""English personal names and street addresses, by rule.

An address is a house number with a street name and a street type ("27 Linden Street Apt 4",
"#7-11 Blackwood St", "14 Oak Rd"), with its flat or unit when one follows. A street named
without a house number ("the lights on Main Street") is a public place, not anyone's home,
and stays visible: that keeps 311 texts, which name streets all the time, readable.

A name is taken three ways, each chosen because it rarely fires on anything else in civic
text: after a cue ("my name is", "contact:"), after a title ("Ms. Spence", "Officer Diaz"),
or as a capitalised first name from a list written here from general knowledge followed by a
capitalised surname ("Mark Cardarelli", "John Q. Smith"). A first name alone ("spoke with
Diane") is not taken: it identifies nobody. Capitalised pairs followed by a word for a place
("Betty Ann Ong Recreation Center", "Martin Luther King Blvd") name a place, not a person.
"""

from __future__ import annotations

import re

from civicpulse.understanding.redaction.rules import Take


def _word_set(words: str) -> frozenset[str]:
    return frozenset(words.split())


_STREET_TYPES = (
    r"Street|St|Avenue|Ave|Av|Road|Rd|Boulevard|Blvd|Drive|Dr|Lane|Ln|Place|Pl|Court|Ct"
    r"|Terrace|Ter|Way|Square|Sq|Parkway|Pkwy|Highway|Hwy|Circle|Cir|Alley|Row|Close"
    r"|Crescent|Cres|Gardens|Grove|Mews|Wharf|Plaza|Path|Walk|Park|Hill|Green|Heights|Pike"
    r"|Turnpike|Expressway|Broadway"
)
_UNIT = r"(?:Apt|Apartment|Unit|Suite|Ste|Flat|Fl|Floor|Room|Rm|No|#)"
_STREET_WORD = (
    r"(?!(?:On|At|In|Near|By|Of|To|From|And|Is|Was|Out)\b)"
    r"(?:[A-Z][A-Za-z'’\.\-]*|\d{1,3}(?i:st|nd|rd|th))"
)
# A number after these counts lamp posts, routes or boxes, not houses ("Light 6 Harvey Ave").
_NOT_COUNTER = "".join(
    f"(?<!(?i:{word}) )" for word in ("light", "lamp", "column", "route", "exit", "post", "pole",
                                      "gate", "box", "bus")
)
_ADDRESS = re.compile(
    # "Flat 3, 27 Mill Road"
    rf"(?:(?<=[Nn]o\.)|(?<![\w$£€.,/]))(?<!\d:){_NOT_COUNTER}"
    rf"(?:{_UNIT}\.?\s*#?\s*\w{{1,4}},?\s+)?"
    # 27, 8-4, #7-11, 12B; not "the 200s" (a block of a street, shared by many)
    r"#?\s?\d{1,5}(?:[A-Za-z](?<![0-9]s))?(?:\s?[-–]\s?\d{1,5}[A-Za-z]?)?"
    r"\s+(?:(?:N|S|E|W|North|South|East|West)\.?\s+)?"
    rf"(?:(?:{_STREET_WORD}\s+){{1,3}}(?i:{_STREET_TYPES})|Broadway)\b\.?"
    rf"(?:,?\s*{_UNIT}\.?\s*#?\s*[A-Za-z]?\d{{1,5}}[A-Za-z]?\b)?"
)

# Common first names of the English-speaking world, written from general knowledge. Words
# that are also ordinary capitalised words (May, June, Will, Bill, Grace, Rose, Hope, Art)
# are left out: they start sentences and month names.
_FIRST_NAMES = _word_set(
    'Aaron Adam Adrian Aidan Alan Albert Alex Alexander Alexandra Alice Alicia Alison Allison '
    'Amanda Amber Amy Andrea Andrew Angela Anita Ann Anna Anne Annie Anthony Antonio Arthur '
    'Ashley Barbara Barry Ben Benjamin Beth Betty Beverly Bob Bobby Bonnie Brad Bradley Brandon '
    'Brenda Brian Bridget Bruce Bryan Carl Carla Carlos Carmen Carol Caroline Carolyn Catherine '
    'Charles Charlie Cheryl Chris Christina Christine Christopher Cindy Claire Clara Colin Connor '
    'Craig Cynthia Dale Dan Dana Daniel Danielle Danny Darren David Dave Dean Debbie Deborah '
    'Debra Denise Dennis Derek Diana Diane Donald Donna Doris Dorothy Doug Douglas Dylan Ed Eddie '
    'Edward Eileen Elaine Eleanor Elizabeth Ellen Emily Emma Eric Erica Erin Ethan Eugene Evelyn '
    'Fiona Frances Francis Frank Fred Frederick Gail Gary Gavin Gene George Gerald Gloria Gordon '
    'Greg Gregory Hannah Harold Harry Heather Helen Henry Holly Howard Ian Irene Isabel Jack '
    'Jacob Jacqueline Jake James Jamie Jane Janet Janice Jason Jean Jeff Jeffrey Jennifer Jenny '
    'Jeremy Jerry Jesse Jessica Jill Jim Jimmy Joan Joanne Joe Joel John Johnny Jon Jonathan '
    'Jordan Jose Joseph Josh Joshua Joyce Juan Judith Judy Julia Julie Justin Karen Kate '
    'Katherine Kathleen Kathryn Kathy Katie Keith Kelly Ken Kenneth Kevin Kim Kimberly Kyle Larry '
    'Laura Lauren Lawrence Leah Lee Leonard Leslie Linda Lisa Liz Lois Lori Louis Louise Lucy '
    'Luis Luke Lynn Maggie Manuel Marcus Margaret Maria Marie Marilyn Mario Marion Mark Martha '
    'Martin Mary Matt Matthew Megan Melissa Michael Michelle Mike Monica Nancy Natalie Nathan '
    'Neil Nicholas Nick Nicole Noah Norma Oliver Olivia Owen Pamela Pat Patricia Patrick Paul '
    'Paula Peggy Peter Phil Philip Phillip Rachel Ralph Randy Ray Raymond Rebecca Richard Rick '
    'Rita Rob Robert Robin Roger Ron Ronald Rosa Ruby Russell Ruth Ryan Sally Samantha Samuel '
    'Sandra Sara Sarah Scott Sean Sharon Shawn Sheila Shirley Simon Sophie Stephanie Stephen '
    'Steve Steven Stuart Sue Susan Tammy Teresa Terry Theresa Thomas Tim Timothy Tina Todd Tom '
    'Tommy Tony Tracy Travis Troy Tyler Valerie Vanessa Victor Victoria Vincent Virginia Walter '
    'Wayne Wendy William Willie Zachary Aisha Ahmed Ali Mohammed Muhammad Fatima Priya Raj Wei '
    'Mei Ming Hui Yan Jun Olga Ivan Dmitri Sergei Pierre Jacques Francois Hans Klaus Giovanni '
    'Marco Luca Pablo Miguel Diego Javier Sofia Lucia Elena Ana Rosa Sean Siobhan Niamh Aoife '
    'Declan Ciaran Liam Connor Seamus'
)
_TITLE = (
    r"(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Officer|Sgt|Sergeant|Det|Detective|Inspector|Councillor"
    r"|Councilor)"
)
_SURNAME = r"(?:Mc|Mac|O'|D')?[A-Z][a-z]+(?:[\-'][A-Z][a-z]+)?"
_TITLED = re.compile(rf"\b{_TITLE}\.?\s+(?P<name>(?:[A-Z][a-z]+\s+)?{_SURNAME})\b")
_FULL = re.compile(
    rf"\b(?P<name>(?P<first>[A-Z][a-z]+)(?:\s+[A-Z]\.)?\s+{_SURNAME})\b"
)
_CUE_NAME = re.compile(
    r"(?:\b[Mm]y name is|\bI am|\bI'm|\bThis is|\b[Nn]ame\s*:|\b[Cc]ontact(?: person)?\s*:"
    rf"|\b[Cc]ontact\s+(?=[A-Z]))\s*(?:{_TITLE}\.?\s+)?"
    r"(?P<name>[A-Z][a-z]+(?:['\-][A-Z]?[a-z]+)*(?:\s[A-Z]\.)?"
    r"(?:\s[A-Z][a-z]*(?:['\-][A-Z]?[a-z]+)*){0,2})"
)
# Capitalised words after "I am"/"This is" that are not names.
_NOT_NAME = re.compile(
    r"^(?:The|A|An|Very|Not|So|Writing|Calling|Here|Still|Again|Really|Concerned|Tired|Sick|Just"
    r"|Also|Sorry|Unable|Going|Living|Your|My|Our|Their|This|That|It|In|On|At|From|Reporting"
    r"|Requesting|Asking|Having|Looking|Trying|Happy|Glad|Aware|Located|Outside|Inside)\b"
)
# Words that make a capitalised run the name of a place, an institution or a thing.
_PLACE_WORDS = _word_set(
    'Street St Avenue Ave Road Rd Boulevard Blvd Drive Dr Lane Ln Place Pl Court Ct Terrace Way '
    'Square Sq Parkway Highway Circle Alley Row Park Playground Field Fields Center Centre School '
    'Elementary Academy College University Library Hall Bridge Tower Church Hospital Station '
    'Building Plaza Memorial Recreation Community Pool Garden Gardens House Museum Theater '
    'Theatre Market Stadium Arena Institute Foundation Company Inc Corp LLC Department Dept '
    "Office Court Street's Common Green Wharf Pier Beach Island Bay River Pond Lake Hill Heights "
    "Tunnel Highway Expressway Hotel Apartments Towers Commons Village Estate Road's Line Bus "
    "Avenue's High Middle Chinese Road."
)
_FOLLOWING_WORDS = re.compile(r"(?:\s+[A-Z][A-Za-z'\.]*){1,3}|\s+[a-z]+")
_PLACE_WORDS_LOWER = frozenset(w.lower() for w in _PLACE_WORDS)
# San Francisco and Boston residents often leave the street type out ("669 Ellis has a cord",
# "871 Turk back of building"): a number of 2 to 5 digits and one capitalised word is taken
# when what follows reads as the end of a place (a preposition of place, a verb, punctuation).
_BARE_ADDRESS = re.compile(
    r"(?<![\w$£€.,/#:-])(?:\d{2,5}\s+|\d{1,5}\s+(?:South|North|East|West)\s+)"
    r"(?P<street>(?:[A-Z][a-z]*['’])?[A-Z][a-z]+(?:\s(?:Ness|Street|St))?)"
    r"(?=\s*(?:[.,;)]|$)|\s+(?:between|at|near|and|on|in|back|has|is|was|Reported|corner|nor|parking)\b)"
)
_NOT_STREET = _word_set(
    'Tents Tent People Bags Units Bricks Items Cars Bikes Carts Days Hours Minutes Weeks Years Am '
    'Pm Feet Ft Percent Inches Calls Times Trees Lights Lamps Poles Signs Bins Cases January '
    'February March April May June July August September October November December Monday Tuesday '
    'Wednesday Thursday Friday Saturday Sunday'
)


def find_addresses(text: str, take: Take) -> None:
    for m in _ADDRESS.finditer(text):
        start = m.start()
        if text[start] == "#":
            start += 1
        take(start + (len(text[start:m.end()]) - len(text[start:m.end()].lstrip())),
             m.end() - (1 if m.group().endswith(",") else 0), "address")
    for m in _BARE_ADDRESS.finditer(text):
        if m.group("street") not in _NOT_STREET:
            take(m.start(), m.end(), "address")


def _is_place(text: str, end: int, name: str) -> bool:
    if any(word.rstrip(".") in _PLACE_WORDS for word in name.split()):
        return True
    after = _FOLLOWING_WORDS.match(text, end)
    return bool(
        after and any(w.rstrip(".,").lower() in _PLACE_WORDS_LOWER for w in after.group().split())
    )


def find_names(text: str, take: Take) -> None:
    for m in _CUE_NAME.finditer(text):
        name = m.group("name")
        if _NOT_NAME.match(name) or _is_place(text, m.end("name"), name):
            continue
        take(m.start("name"), m.end("name"), "name")
    for m in _TITLED.finditer(text):
        if not _is_place(text, m.end("name"), m.group("name")):
            take(m.start("name"), m.end("name"), "name")
    # searched by hand, not with finditer: a capitalised word before a name ("Call Peter
    # Hollingsworth") makes a pair of its own, and finditer would go on after it, past the name
    at = 0
    while (pair := _FULL.search(text, at)) is not None:
        if pair.group("first") not in _FIRST_NAMES:
            at = pair.end("first")
            continue
        at = pair.end()
        if not _is_place(text, pair.end(), pair.group("name")):
            take(pair.start("name"), pair.end("name"), "name")
