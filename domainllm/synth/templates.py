"""Description templates with paraphrase: ``[a|b|c]`` picks one alternative, ``{slot}`` is filled.

Every template has an id (kept in ``meta.template`` for leakage checks and upweighting). Ids in
``HELD_OUT`` are used only by the evaluation suites (stage ``suites``), never by synth versions.
The skeleton of a rendered description (alternatives chosen, slots unfilled) is returned too, so
tests can check that no wording repeats word for word more than a few times.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

ALT_RE = re.compile(r"\[([^\[\]]*)\]")
SLOT_RE = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class Template:
    """A description pattern: its id, complexity level and text."""

    id: str
    complexity: str
    text: str


def _t(group: str, level: str, *texts: str) -> dict[str, Template]:
    return {f"{group}.{i}": Template(f"{group}.{i}", level, t) for i, t in enumerate(texts)}


PLAIN: dict[str, Template] = {
    **_t(
        "L1",
        "L1",
        "{tone} {biz} [in|based in|located in|serving|around] {place}[| for {aud}| with {offer}]",
        "[a|my|our|the] [new |small |local |]{biz} for {aud}[| in {city}]",
        "{city} {biz}[| with {offer}| for {aud}| - {tone}]",
        "{biz}[,| -| /] {tone}[,| -| /] {city}[| area]",
        "[new|small|local|independent|family-run] {biz} [known for|focused on|doing|selling] "
        "{offer}",
        "{tone} {biz}[| for {aud}| that does {offer}| near {city}]",
        "[name for|domain for|names for|ideas for|a domain name for] [a|my|our|the] {tone} {biz}",
        "{biz} [in|near|outside|close to] {city}[ doing {offer}| for {aud}| -- {tone} vibe| -- "
        "{tone} feel]",
    ),
    **_t(
        "L2",
        "L2",
        "[We are opening|I'm starting|We run|I'm launching] a {tone} {biz} in {place} "
        "[for|aimed at|serving] {aud}.",
        "[Looking for|Need|Help me find] [a domain|domain names|a good name] for [my|our] {biz} "
        "in {place} that [offers|specializes in|is known for] {offer}.",
        "{Tone} {biz} [offering|with|specializing in|known for] {offer} for {aud} [in|around|"
        "across] {place}.",
        "[My|Our|The] {biz} [focuses on|is all about|does|mostly sells|lives for] {offer}[, mostly "
        "for {aud}| for {aud}|, popular with {aud}].",
        "[A|One|This|Our new] {biz} in {place} [that wants|hoping|trying|aiming] to [feel|look|"
        "come across as] {tone} [to|for|among] {aud}.",
        "[Domain ideas|Name ideas|Suggestions|Brand names] [please|wanted|needed|welcome] for a "
        "{tone} {biz}[:| -|,] {offer}, [based in|located in|out of|in] {place}.",
    ),
    **_t(
        "L3",
        "L3",
        "[We're|We are] a {tone} {biz} based in {place}. [We offer|Our specialities are|We're "
        "known for] {offer} and {offer2}[, and we're|. We are] {extra}. [Our customers are "
        "mostly|We mainly serve|Most of our clients are] {aud}.",
        "[I'm|We're] [launching|opening|starting] a {biz} in {place} [next month|this spring|"
        "later this year]. [The idea is|The plan is|The goal is] to [offer|bring] {offer} to "
        "{aud} [with a|in a] {tone} [feel|style|vibe]. [It will be|We'll be] {extra}.",
        "[Our|My] {biz} has served {aud} in {place} for [years|a decade|a long time]. [We're "
        "rebranding|We need a fresh online presence|We're finally building a website] and want "
        "[something|a name that feels] {tone}. [We're best known for|People come for] {offer}.",
        "{Tone} {biz} for {aud}. [Based in|Located in|Serving|Found in] {place}. [Specialities|"
        "Highlights|Known for|Best sellers|What we do]: {offer}[,| and| plus] {offer2}.",
    ),
}

TECHNICAL: dict[str, Template] = _t(
    "tech",
    "L3",
    "[API-first|Cloud-native|Developer-focused|Privacy-first] {biz} [offering|building|"
    "selling] {offer} with {tech} [and|plus] {tech2}.",
    "[B2B|Enterprise|Self-serve] {biz} for {aud}: {offer}, {tech}, [usage-based|per-seat|"
    "flat-rate] pricing.",
    "We are a {tone} {biz} [shipping|selling|building] {offer}. [Our edge is|The product has|"
    "Key features:] {tech} [and|plus] {tech2}.",
)

TECH_FEATURES = (
    "an open-source SDK",
    "end-to-end encryption",
    "a REST and GraphQL API",
    "real-time analytics",
    "on-device machine learning",
    "SOC 2 compliance",
    "offline-first sync",
    "single sign-on",
    "webhooks for every event",
)
TECH_INDUSTRIES = (
    "software_startup",
    "cybersecurity",
    "fintech",
    "web_design",
    "drone_services",
    "podcast_studio",
    "solar_energy",
    "marketing_agency",
)

CONSTRAINT_BASE: dict[str, Template] = _t(
    "con",
    "L2",
    "{tone} {biz} in {place}.",
    "[We run|I'm opening] a {biz} for {aud} in {place}.",
    "[My|Our] {biz} [does|offers] {offer}.",
)

EDGE: dict[str, Template] = {
    **_t("short", "L1", "{word}", "{word}!", "{Word}", "{word}?"),
    **_t(
        "sym",
        "L1",
        "{emoji} {biz} [+|&|and] {offer2} [@|in|//] {city} {emoji2}",
        "{biz} & co. [—|--|::] {offer} [(24/7)|(est. 2019)|(we deliver)] [!!!|!!|?!]",
        "#{root} #{cityroot} #{toneroot}[| #smallbusiness| #shoplocal| #newbiz]",
        "{biz}[???|?!|...] in {city} [:) :)|:D|lol|;)]",
        "[★★★|☆☆☆|***] {tone} {biz} [★★★|☆☆☆|***] [→|->|=>] {aud}",
        "{emoji}{emoji}{emoji} {biz} {emoji2} {city}[| {emoji2}| !!]",
    ),
    **_t(
        "amb",
        "L1",
        "[something|a business|a project] [with|around] {root} [maybe|I think|probably]? [or|and "
        "also] {root2}? [not sure yet|still deciding|who knows]",
        "[a shop. kind of.|it's a shop-ish thing|a store, sort of]",
        "[idk|not sure|no idea yet|hmm], [like|maybe|probably] a {tone} [thing|project|idea] "
        "for {aud}",
        "It's [complicated|hard to explain|a mix]: part {biz}, part {biz2}[, and maybe online "
        "too|, maybe more later|, not sure which comes first].",
        "[name for my thing|need a name|domain for a project]",
        "[we do stuff|we help out|we make things|we offer services] [for people|for locals|"
        "for anyone] [in|around|near] {city}",
    ),
}

LONG_SENTENCES = (
    "[We are|We're] a {tone} {biz} [based in|rooted in] {place}.",
    "[We offer|Our menu of services includes|We specialise in] {offer} and {offer2}.",
    "[Most of our customers are|We mainly serve|Our regulars are] {aud}.",
    "[The business is|We are] {extra}.",
    "[Last year|Recently] we [expanded|grew] [from a market stall|out of a garage|from a "
    "side project] into a [proper|full-time] business.",
    "[We care about|We believe in|Our values are] [fair prices|honest work|craft and "
    "community] and [it shows|people notice|customers tell us so].",
    "[We want|We'd like|We need] a [name|domain] that feels {tone} [but not|without being] "
    "[cheesy|generic|too corporate].",
    "[Competitors|Other shops] [nearby|in town] use [long|forgettable|confusing] names, so "
    "[short|memorable|easy to spell] matters.",
    "[Eventually|One day|In a few years] we [hope|plan] to open a second location.",
)

NON_ENGLISH: dict[str, Template] = {
    **_t(
        "es",
        "L2",
        "[Busco|Necesito|Quiero] [un nombre de dominio|nombres de dominio|ideas de dominio] "
        "para {biz} en {city}[.| por favor.|, algo corto.]",
        "{biz} en {city} para [familias|estudiantes|turistas|jubilados][.|, estilo moderno.|"
        ", ambiente acogedor.]",
        "[Abrimos|Vamos a abrir|Acabamos de abrir] {biz} en {city}[| y buscamos un nombre|: "
        "¿ideas de dominio?]",
        "Ideas de nombre para {biz}[ en {city}| cerca de {city}|, estilo moderno|, algo familiar]",
    ),
    **_t(
        "fr",
        "L2",
        "[Je cherche|Nous cherchons|On cherche] un nom de domaine [pour|:] {biz} à {city}"
        "[.| svp.|, court si possible.]",
        "{biz} [à|près de] {city}, [ambiance chaleureuse|pour les familles|pour les étudiants|"
        "style moderne].",
        "[Nous ouvrons|On lance|J'ouvre] {biz} à {city}[| et il nous faut un nom| : des idées "
        "de domaine ?]",
        "Idées de nom pour {biz}[ à {city}| près de {city}|, style moderne|, ambiance familiale]",
    ),
    **_t(
        "de",
        "L2",
        "Domainnamen gesucht: {biz} in {city}[, familienfreundlich| für Studenten| für "
        "Touristen|, modern|, gemütlich].",
        "[Wir eröffnen|Ich eröffne|Bald neu:] {biz} in {city}[| und brauchen einen Namen|: "
        "Ideen für eine Domain?]",
        "Namensideen für {biz}[ in {city}| nahe {city}|, modern|, familiär]",
    ),
    **_t(
        "pt",
        "L2",
        "[Procuro|Preciso de] nomes de domínio para {biz} em {city}[.|, algo curto.]",
        "{biz} em {city} para [famílias|estudantes|turistas][.|, estilo moderno.]",
        "[Vamos abrir|Abrimos|Estou abrindo] {biz} em {city}[| e precisamos de um nome|: "
        "ideias de domínio?]",
    ),
}

# Held out of training: used only by the edge suite (stage `suites`).
HELD_OUT_EDGE: dict[str, Template] = {
    **_t(
        "ho_it",
        "L2",
        "Cerco nomi di dominio: {biz_it} a {city}.",
        "{biz_it} a {city} per [famiglie|studenti|turisti].",
    ),
    **_t("ho_nl", "L2", "Ik zoek een domeinnaam voor {biz_nl} in {city}."),
    **_t(
        "ho_sym",
        "L1",
        "{biz} /// {city} /// {emoji}{emoji2}",
        "~*~ {biz} ~*~ ({aud})",
        "{biz} → {offer} ✔✔✔",
    ),
    **_t(
        "ho_amb",
        "L1",
        "[help!!|hmm] [not decided|undecided] between {biz} and {biz2}",
        "a thing with {root}s, you know?",
        "whatever is trendy in {city} right now",
    ),
    **_t("ho_short", "L1", "{WORD}", "{word}..."),
    **_t("ho_long", "L3", "{long}"),
}
HELD_OUT_LONG_SENTENCES = (
    "[Picture|Imagine] a {tone} {biz} [tucked away in|on the edge of] {place}.",
    "[People|Visitors] [come back for|rave about] {offer}, [and|but] {offer2} [is|are] "
    "[catching up|a close second].",
    "[Our team is small|We are three people], [so|which means] [every detail|every order] "
    "[matters|gets attention].",
    "[We host|Every month we run] [workshops|open evenings|pop-ups] for {aud}.",
    "[Before this|Originally] [I worked in finance|we were teachers|I was a nurse], "
    "[which|and that] [shapes how we work|explains our focus on care].",
    "[The name should|Whatever we choose must] [work on a shop sign|be easy to say on the "
    "phone|fit on a coffee cup].",
)

# (es, fr, de, pt, it, nl) names of some industries for the non-English templates.
TRANSLATIONS: dict[str, tuple[str, ...]] = {
    "coffee_shop": ("cafetería", "café", "Café", "cafeteria", "caffetteria", "koffiebar"),
    "bakery": ("panadería", "boulangerie", "Bäckerei", "padaria", "panetteria", "bakkerij"),
    "florist": (
        "floristería",
        "boutique de fleurs",
        "Blumenladen",
        "floricultura",
        "fioraio",
        "bloemenwinkel",
    ),
    "bookstore": ("librería", "librairie", "Buchhandlung", "livraria", "libreria", "boekhandel"),
    "yoga_studio": (
        "estudio de yoga",
        "studio de yoga",
        "Yogastudio",
        "estúdio de ioga",
        "studio di yoga",
        "yogastudio",
    ),
    "restaurant": (
        "restaurante",
        "restaurant",
        "Restaurant",
        "restaurante",
        "ristorante",
        "restaurant",
    ),
    "pet_grooming": (
        "peluquería canina",
        "salon de toilettage",
        "Hundesalon",
        "pet shop de banho",
        "toelettatura per cani",
        "hondentrimsalon",
    ),
    "dental_clinic": (
        "clínica dental",
        "cabinet dentaire",
        "Zahnarztpraxis",
        "clínica dentária",
        "studio dentistico",
        "tandartspraktijk",
    ),
    "law_firm": (
        "bufete de abogados",
        "cabinet d'avocats",
        "Anwaltskanzlei",
        "escritório de advocacia",
        "studio legale",
        "advocatenkantoor",
    ),
    "hotel": ("hotel boutique", "hôtel de charme", "Pension", "pousada", "albergo", "hotel"),
    "gym": ("gimnasio", "salle de sport", "Fitnessstudio", "academia", "palestra", "sportschool"),
    "ice_cream": ("heladería", "glacier", "Eisdiele", "sorveteria", "gelateria", "ijssalon"),
    "travel_agency": (
        "agencia de viajes",
        "agence de voyages",
        "Reisebüro",
        "agência de viagens",
        "agenzia di viaggi",
        "reisbureau",
    ),
    "organic_farm": (
        "granja ecológica",
        "ferme bio",
        "Biohof",
        "fazenda orgânica",
        "fattoria biologica",
        "biologische boerderij",
    ),
    "tea_house": ("tetería", "salon de thé", "Teestube", "casa de chá", "sala da tè", "theehuis"),
}
LANG_INDEX = {"es": 0, "fr": 1, "de": 2, "pt": 3, "it": 4, "nl": 5}
NON_ENGLISH_PREFIXES = frozenset({"es", "fr", "de", "pt", "ho_it", "ho_nl"})
EMOJI = ("✨", "🌿", "☕", "🔥", "💡", "🎉", "🐾", "🌸", "📚", "🏡", "⭐", "🚀")

ALL: dict[str, Template] = {**PLAIN, **TECHNICAL, **CONSTRAINT_BASE, **EDGE, **NON_ENGLISH}
HELD_OUT: frozenset[str] = frozenset(HELD_OUT_EDGE)


def choose(text: str, rng: random.Random) -> str:
    """Resolve every ``[a|b]`` group to one alternative."""
    return ALT_RE.sub(lambda m: rng.choice(m.group(1).split("|")), text)


def _article(text: str) -> str:
    # "a eco-friendly" -> "an eco-friendly" (but "a university", "a one-off" stay)
    return re.sub(r"\b([Aa]) (?=[aeioAEIO]|u(?!ni|s))", r"\1n ", text)


def fill(skeleton: str, slots: dict[str, str], english: bool = True) -> str:
    """Fill ``{slot}``s; the first letter is capitalised unless the template starts lowercase."""
    text = SLOT_RE.sub(lambda m: slots[m.group(1)], skeleton)
    text = _article(text) if english else text
    text = re.sub(r"\s+", " ", text).strip()
    return text[0].upper() + text[1:] if text[:1].isalpha() and skeleton[:1] != "{" else text


def render(tpl: Template, slots: dict[str, str], rng: random.Random) -> tuple[str, str]:
    """(description, skeleton) for one template."""
    skeleton = choose(tpl.text, rng)
    english = tpl.id.split(".")[0] not in NON_ENGLISH_PREFIXES
    return fill(skeleton, slots, english), skeleton
