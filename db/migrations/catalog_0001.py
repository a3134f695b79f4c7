"""Capability catalog seeded by revision 0001.

Frozen with that revision: later catalog changes belong in new revisions.
Synonyms are phrases people actually type, since full-text search matches them.
Format: `id: Display name`, indented description lines, then `~ synonym; synonym`.
"""

from __future__ import annotations

_CATALOG_TEXT = """
code-generation: Code generation
    Writes source code from a description, a specification or an example. Covers new
    functions, scripts and whole modules.
    ~ write code; generate code; build an app; write a script; programming; coding assistant
code-review: Code review
    Reads code changes and points out bugs, risks and style problems. Suggests concrete fixes.
    ~ review my code; review a pull request; find bugs; code feedback; lint
translation: Translation
    Translates text between human languages while keeping tone and meaning.
    ~ translate; translate to spanish; translate this document; localization; interpreter
travel-booking: Travel booking
    Searches and books flights, hotels, trains and rental cars. Handles changes and
    cancellations.
    ~ book a flight; find a hotel; plan a trip; book a train; rent a car; vacation
image-generation: Image generation
    Creates pictures, illustrations and logos from a text prompt.
    ~ draw a picture; generate an image; make a logo; create artwork; illustration
web-search: Web search
    Searches the public web and returns relevant pages with short summaries.
    ~ search the web; google it; look it up online; find websites; browse
payments: Payments
    Sends, receives and reconciles payments and invoices through payment providers.
    ~ pay an invoice; send money; process a payment; refund; billing; checkout
scheduling: Scheduling
    Finds free time and books meetings and appointments across calendars.
    ~ schedule a meeting; book an appointment; calendar; find a time; reschedule
summarization: Summarization
    Condenses long documents, threads or transcripts into short summaries.
    ~ summarize; tl;dr; summarize this article; key points; meeting notes
data-analysis: Data analysis
    Explores datasets, computes statistics and draws charts to answer questions.
    ~ analyze data; make a chart; spreadsheet analysis; statistics; analyze csv; dashboard
customer-support: Customer support
    Answers customer questions, resolves common issues and escalates the rest.
    ~ help desk; answer customer questions; support tickets; live chat; faq bot
email: Email
    Reads, drafts, sorts and sends email on a user's behalf.
    ~ write an email; reply to email; inbox triage; send an email; newsletter
document-extraction: Document extraction
    Pulls structured fields out of PDFs, scans, forms and receipts.
    ~ extract data from pdf; read an invoice; ocr; parse a form; scan receipts
speech-to-text: Speech to text
    Transcribes spoken audio into text, with speakers and timestamps.
    ~ transcribe audio; transcription; dictation; voice to text; meeting transcript
text-to-speech: Text to speech
    Reads text aloud in a natural synthetic voice.
    ~ read aloud; voice over; generate speech; narration; speak this text
research: Research
    Investigates a topic across many sources and writes up findings with citations.
    ~ research a topic; literature review; find sources; deep research; fact check
legal-review: Legal review
    Reviews contracts and legal documents and flags risky or unusual clauses.
    ~ review a contract; legal advice; nda review; terms of service; compliance check
accounting: Accounting
    Keeps books, categorises expenses and prepares financial statements and tax figures.
    ~ bookkeeping; do my taxes; expense report; balance sheet; reconcile accounts
recruiting: Recruiting
    Sources candidates, screens resumes and schedules interviews.
    ~ hire someone; screen resumes; find candidates; job posting; interview scheduling
marketing-copy: Marketing copy
    Writes ads, landing pages, product descriptions and social media posts.
    ~ write an ad; social media post; product description; copywriting; slogan; seo content
sql: SQL
    Writes and optimises SQL queries against relational databases.
    ~ write a sql query; query the database; database; optimize a query; postgres
devops: DevOps
    Builds, deploys and operates software: CI pipelines, containers, infrastructure and
    monitoring.
    ~ deploy my app; ci/cd; kubernetes; docker; infrastructure as code; monitoring
security-audit: Security audit
    Looks for vulnerabilities in code, dependencies and configurations and reports how to fix
    them.
    ~ find vulnerabilities; penetration test; security review; pentest; audit dependencies
shopping: Shopping
    Finds products, compares prices and places orders.
    ~ buy something; compare prices; find a deal; order online; gift ideas
weather: Weather
    Gives current conditions and forecasts for any place.
    ~ weather forecast; will it rain; temperature; weather tomorrow; storm warning
maps-navigation: Maps and navigation
    Finds places and plans routes by car, transit, bike or on foot.
    ~ directions; find a restaurant nearby; route planning; how do i get to; map
math: Math
    Solves equations and numeric problems step by step and checks proofs.
    ~ solve an equation; calculate; calculus; algebra; math homework
tutoring: Tutoring
    Teaches a subject at the learner's pace with explanations, exercises and feedback.
    ~ teach me; help with homework; learn a language; exam prep; explain a concept
health-info: Health information
    Explains symptoms, conditions and medications in plain language; not a substitute for a
    doctor.
    ~ symptom checker; medical question; what does this medication do; nutrition; fitness advice
content-moderation: Content moderation
    Flags spam, abuse and policy violations in text and images.
    ~ moderate comments; detect spam; filter hate speech; nsfw detection; trust and safety
sentiment-analysis: Sentiment analysis
    Classifies the tone and opinion of reviews, posts and messages.
    ~ analyze reviews; customer feedback; opinion mining; detect emotion; brand monitoring
data-entry: Data entry
    Fills forms, updates spreadsheets and copies records between systems.
    ~ fill out a form; update a spreadsheet; crm updates; copy data; data cleanup
"""


def _parse(text: str) -> tuple[tuple[str, str, str, tuple[str, ...]], ...]:
    entries: list[tuple[str, str, str, tuple[str, ...]]] = []
    for block in _blocks(text):
        header, *body = block
        capability_id, display_name = (part.strip() for part in header.split(":", 1))
        description = " ".join(line.strip() for line in body if not line.strip().startswith("~"))
        synonyms = next(line.strip()[1:] for line in body if line.strip().startswith("~"))
        phrases = tuple(phrase.strip() for phrase in synonyms.split(";"))
        entries.append((capability_id, display_name, description, phrases))
    return tuple(entries)


def _blocks(text: str) -> list[list[str]]:
    blocks: list[list[str]] = []
    for line in text.strip().splitlines():
        if line.startswith(" "):
            blocks[-1].append(line)
        else:
            blocks.append([line])
    return blocks


# (id, display name, description, synonyms)
CATALOG = _parse(_CATALOG_TEXT)
