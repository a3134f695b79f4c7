"""A deterministic generator of realistic agents for the search benchmark.

Same seed, same 100,000 agents: names, descriptions, tags, protocols and
capabilities are drawn from small vocabularies tied to each capability, so text
search, filters and natural-language find see the skew a real registry has
(some capabilities and words are far more common than others).
"""

from __future__ import annotations

import random
import string
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

# Per capability: words for names and tags, then (indented) phrases for descriptions.
_VOCABULARY_TEXT = """
code-generation: code dev python typescript rust
    writes Python and TypeScript functions
    scaffolds services from a spec
    generates unit tests
code-review: review lint python pr quality
    reviews pull requests for bugs
    flags risky changes in Python code
    suggests fixes in code review
translation: translate lingo polyglot spanish french
    translates documents between English, Spanish and French
    localizes apps into forty languages
    keeps tone when translating marketing text
travel-booking: travel trip flight hotel lisbon
    books flights and hotels in Europe
    plans trips to Lisbon, Porto and Madrid
    finds cheap flights and rebooks cancellations
image-generation: image art logo pixel studio
    draws illustrations and logos
    generates product images from a prompt
    creates artwork in many styles
web-search: search web browse scout finder
    searches the web and summarizes pages
    finds sources for any question
    browses websites for fresh facts
payments: pay invoice billing ledger checkout
    pays invoices and reconciles payments
    handles refunds and checkout
    sends money through payment providers
scheduling: calendar meeting schedule slot agenda
    books meetings across calendars
    finds a time that suits everyone
    reschedules appointments automatically
summarization: summary digest brief notes tldr
    summarizes long reports
    turns meeting transcripts into notes
    writes short digests of news
data-analysis: data chart stats insight csv
    analyzes CSV files and draws charts
    answers questions about spreadsheets
    builds dashboards from sales data
customer-support: support helpdesk care ticket chat
    answers customer questions around the clock
    triages support tickets
    runs live chat for online shops
email: mail inbox email reply outreach
    drafts replies and sorts the inbox
    sends newsletters
    triages email by urgency
document-extraction: ocr pdf extract forms receipts
    extracts fields from PDF invoices
    reads scanned forms and receipts
    parses contracts into structured data
speech-to-text: transcribe voice audio dictation captions
    transcribes podcasts and meetings
    captions videos with speaker labels
    turns voice notes into text
text-to-speech: voice narrator speech audio reader
    reads articles aloud
    records voice overs
    narrates audiobooks in natural voices
research: research scholar cite sources analyst
    researches topics with citations
    writes literature reviews
    fact checks claims against sources
legal-review: legal contract nda compliance counsel
    reviews contracts and flags risky clauses
    checks NDAs and terms of service
    summarizes legal documents
accounting: books tax ledger expense finance
    keeps the books for small businesses
    prepares tax figures
    categorises expenses and receipts
recruiting: hire talent recruit resume jobs
    screens resumes
    sources candidates for engineering roles
    schedules interviews
marketing-copy: copy ads brand seo social
    writes ads and landing pages
    drafts social media posts
    creates SEO product descriptions
sql: sql query postgres database warehouse
    writes SQL queries for Postgres
    optimizes slow database queries
    explains query plans
devops: deploy kubernetes docker ci ops
    deploys apps to Kubernetes
    maintains CI pipelines
    monitors infrastructure and alerts on call
security-audit: security audit vuln pentest shield
    audits code for vulnerabilities
    scans dependencies for CVEs
    runs penetration tests
shopping: shop deal price cart buyer
    compares prices across stores
    finds deals and orders online
    suggests gift ideas
weather: weather forecast storm climate rain
    gives weather forecasts anywhere
    warns about storms
    reports current conditions
maps-navigation: maps route navigator transit nearby
    plans routes by car and transit
    finds restaurants nearby
    gives turn by turn directions
math: math algebra calculus solver proof
    solves equations step by step
    checks proofs
    helps with calculus homework
tutoring: tutor teach homework exam learn
    teaches languages at your pace
    prepares students for exams
    explains concepts with exercises
health-info: health nutrition fitness symptom wellness
    explains symptoms and medications
    gives nutrition advice
    plans fitness routines
content-moderation: moderation spam safety filter guard
    flags spam and abuse
    filters hate speech
    moderates comments and images
sentiment-analysis: sentiment opinion mood reviews brand
    analyzes reviews for sentiment
    monitors brand mentions
    detects emotion in messages
data-entry: entry forms crm records sheet
    fills forms and updates spreadsheets
    copies records into the CRM
    cleans up contact data
"""


def _parse_vocabulary(text: str) -> dict[str, tuple[list[str], list[str]]]:
    vocabulary: dict[str, tuple[list[str], list[str]]] = {}
    phrases: list[str] = []
    for line in text.strip().splitlines():
        if line.startswith(" "):
            phrases.append(line.strip())
        else:
            capability_id, words = line.split(":", 1)
            phrases = []
            vocabulary[capability_id] = (words.split(), phrases)
    return vocabulary


VOCABULARY = _parse_vocabulary(_VOCABULARY_TEXT)
ADJECTIVES = [
    "swift",
    "quiet",
    "amber",
    "nova",
    "atlas",
    "echo",
    "lumen",
    "orbit",
    "clever",
    "bright",
    "steady",
    "polar",
    "cobalt",
    "silver",
    "rapid",
    "gentle",
    "bold",
    "prime",
    "zen",
    "vivid",
]
ROLES = ["agent", "assistant", "bot", "helper", "pilot", "desk", "works", "labs", "hub", "copilot"]
ID_ALPHABET = string.digits + string.ascii_letters
TYPES = ["assistant", "autonomous", "tool", "orchestrator", "service"]
TYPE_WEIGHTS = [35, 15, 25, 5, 20]
PROTOCOLS = ["grpc", "http", "mcp", "a2a", "websocket"]
STATUSES = ["online", "offline", "busy", "maintenance"]
STATUS_WEIGHTS = [30, 62, 6, 2]
# Capability popularity: a few are very common, most are not.
CAPABILITIES = sorted(VOCABULARY)
CAPABILITY_WEIGHTS = [1.0 / (rank + 1) ** 0.7 for rank in range(len(CAPABILITIES))]


@dataclass(frozen=True, slots=True)
class GeneratedAgent:
    agent_id: str
    display_name: str
    description: str
    agent_type: str
    tags: list[str]
    protocols: list[str]
    capabilities: list[str]
    capability_trust: list[float]
    status: str
    trust_score: float
    verified: bool
    created_at: datetime


def generate(count: int, seed: int = 20261126) -> Iterator[GeneratedAgent]:
    rng = random.Random(seed)
    epoch = datetime(2026, 1, 1, tzinfo=UTC)
    order = CAPABILITIES[:]
    rng.shuffle(order)  # which capabilities are popular is part of the seed
    for index in range(count):
        offered: set[str] = set()
        while len(offered) < rng.choice([1, 1, 2, 2, 3]):
            offered.add(rng.choices(order, weights=CAPABILITY_WEIGHTS)[0])
        capabilities = sorted(offered)
        main = rng.choice(capabilities)
        words = VOCABULARY[main][0]
        parts = [rng.choice(ADJECTIVES), rng.choice(words), rng.choice(ROLES)]
        name = " ".join(part.title() for part in parts)
        if rng.random() < 0.5:
            name += f" {index % 997}"
        sentences = [rng.choice(VOCABULARY[c][1]) for c in capabilities]
        language = rng.choice(["English", "Spanish", "German", "Portuguese"])
        description = f"{name.split()[0]} {'; '.join(sentences)}. Available in {language}."
        tags = sorted(
            {rng.choice(VOCABULARY[c][0]) for c in capabilities} | {rng.choice(ADJECTIVES)}
        )
        trust = round(min(100.0, rng.betavariate(2, 5) * 100), 2)
        yield GeneratedAgent(
            agent_id="ag_" + "".join(rng.choices(ID_ALPHABET, k=16)),
            display_name=name,
            description=description[:500],
            agent_type=rng.choices(TYPES, weights=TYPE_WEIGHTS)[0],
            tags=tags,
            protocols=sorted(set(rng.sample(PROTOCOLS, rng.randint(1, 3)))),
            capabilities=capabilities,
            capability_trust=[round(rng.random() * 100, 2) for _ in capabilities],
            status=rng.choices(STATUSES, weights=STATUS_WEIGHTS)[0],
            trust_score=trust,
            verified=rng.random() < 0.1,
            created_at=epoch + timedelta(seconds=index * 60),
        )
