"""The rule language: parse trees, error positions, every operator, morphology, shipped rules."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import REPO, SHARED
from monitor.errors import RuleError
from monitor.index import inflections, tokenize
from monitor.query import And, Meta, Near, Not, Or, SetRef, Term, parse_query
from monitor.rules import Rule, RuleSet, compile_rules, load_rules, match, parse_rule_file
from monitor.text import fold

T = lambda *w, **kw: Term(tuple(w), **kw)  # noqa: E731


@pytest.mark.parametrize(
    "query, tree",
    [
        ("offensive", T("offensive", source="offensive")),
        ("a b", And((T("a", source="a"), T("b", source="b")))),
        ("a AND b OR c", Or((And((T("a", source="a"), T("b", source="b"))), T("c", source="c")))),
        ("a OR b c", Or((T("a", source="a"), And((T("b", source="b"), T("c", source="c")))))),
        ("a AND NOT b", And((T("a", source="a"), Not(T("b", source="b"))))),
        ("a -b", And((T("a", source="a"), Not(T("b", source="b"))))),
        ("a -\"b c\"", And((T("a", source="a"), Not(T("b", "c", source='"b c"'))))),
        ('"cease fire"', T("cease", "fire", source='"cease fire"')),
        ("cease-fire", T("cease-fire", source="cease-fire")),
        ("offensiv*", T("offensiv*", prefix=True, source="offensiv*")),
        ("=наступ", T("наступ", exact=True, source="=наступ")),
        ("a NEAR/3 b", Near(T("a", source="a"), T("b", source="b"), 3)),
        ("a ONEAR/2 b", Near(T("a", source="a"), T("b", source="b"), 2, ordered=True)),
        ("(a OR b) NEAR/5 c", Near(Or((T("a", source="a"), T("b", source="b"))), T("c", source="c"), 5)),
        ("title:a", T("a", fields=("title",), source="a")),
        ("title:(a OR b)", Or((T("a", fields=("title",), source="a"), T("b", fields=("title",), source="b")))),
        ("a place:UA-63", And((T("a", source="a"), Meta("place", "UA-63")))),
        ("a lang:UK feed:Kyiv-Wire", And((T("a", source="a"), Meta("lang", "uk"), Meta("feed", "kyiv-wire")))),
        ("@kharkiv AND a", And((SetRef("kharkiv", 1), T("a", source="a")))),
        ("a and b", And((T("a", source="a"), T("and", source="and"), T("b", source="b")))),
    ],
)
def test_parse_tree(query, tree):
    assert parse_query(query) == tree


@pytest.mark.parametrize(
    "query, column, words",
    [
        ("", 1, "empty"),
        ("a AND", 6, "ends too early"),
        ("(a OR b", 1, "closing ')'"),
        ("a OR b)", 7, "unexpected ')'"),
        ("a NEAR b", 3, "needs a distance"),
        ("a NEAR/0 b", 3, "1 to 100"),
        ("a NEAR/200 b", 3, "1 to 100"),
        ("a NEAR/2 (b AND c)", 3, "joins words"),
        ("a NEAR/2 NOT b", 10, "unexpected 'NOT'"),
        ('a "b c', 3, "unterminated phrase"),
        ("colour:red", 1, "unknown field"),
        ("place:", 7, "needs a value"),
        ("NOT a", 1, "only NOT"),
        ("of*fensive", 3, "wildcard"),
        ("of* OR x", 1, "at least 3 letters"),
        ('"big of*"', 1, "at least 3 letters"),
        ("()", 2, "empty parentheses"),
        ("a @", 3, "set reference"),
        ("a OR OR b", 6, "unexpected 'OR'"),
        ("a NOT", 6, "needs something"),
        ('"cease* fire"', 1, "only end the last word"),
        ('"=наступ ворога"', 1, "single word"),
        ("a OR -b", 6, "only NOT"),
        ("text:lang:uk", 6, "filter of the whole article"),
    ],
)
def test_bad_query_position(query, column, words):
    with pytest.raises(RuleError) as info:
        parse_query(query, file="r.yaml", line=3)
    assert info.value.column == column, str(info.value)
    assert words in str(info.value) and str(info.value).startswith(f"r.yaml:3:{column}:")


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.sampled_from(list('ab "()-*@:=/ ANDORTNEАРн0123456789\tёʼ’title')), max_size=40))
@pytest.mark.slow
def test_parser_never_crashes(query):
    try:
        parse_query(query)
    except RuleError:
        pass


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=30))
def test_parser_never_crashes_on_any_text(query):
    try:
        parse_query(query)
    except RuleError:
        pass


def rule(query: str, **kw) -> RuleSet:
    return RuleSet([Rule(name="r", query=query, node=parse_query(query), **kw)])


def hit(query: str, title: str = "", text: str = "", **kw) -> bool:
    meta = {k: kw.pop(k) for k in ("lang", "feed", "places") if k in kw}
    return bool(match(rule(query, **kw), title=title, text=text, **meta))


@pytest.mark.parametrize(
    "query, text, expected",
    [
        ("ceasefire", "A ceasefire was agreed", True),
        ("ceasefire", "The ceasefires held", False),
        ("ceasefire*", "The ceasefires held", True),
        ("a AND b", "a then b", True),
        ("a AND b", "only a", False),
        ("a OR b", "only b", True),
        ("a NOT b", "a and b", False),
        ("a NOT b", "a alone", True),
        ("a -b", "a alone", True),
        ('"cease fire"', "a cease fire now", True),
        ('"cease fire"', "fire, cease", False),
        ("cease-fire", "a cease fire now", True),
        ("cease-fire", "a cease-fire now", True),
        ("counteroffensive", "the counter-offensive began", True),
        ('"counter offensive"', "the counter-offensive began", True),
        ("truce NEAR/3 broken", "the truce was quickly broken", True),
        ("truce NEAR/3 broken", "broken promises made the truce", False),
        ("truce NEAR/1 broken", "truce broken", True),
        ("truce NEAR/3 broken", "broken is the truce", True),  # NEAR/n: at most n positions apart
        ("truce NEAR/2 broken", "broken is the truce", False),
        ("truce ONEAR/3 broken", "broken is the truce", False),
        ("truce ONEAR/3 broken", "the truce is broken", True),
        ("(truce OR ceasefire) NEAR/2 \"energy facilities\"", "ceasefire on energy facilities", True),
        ("Ukraine", "Ukraine's army", True),
        ("kyiv", "КИЇВ Kyiv", True),
        ("Київ", "у києві", True),
        ("=Київ", "у києві", False),
        ("перемир'я", "енергетичне перемир’я", True),
        ("перемир'я", "енергетичне перемирʼя", True),
        ("ёлка", "елка", True),
        ("U.S.", "U.S. sanctions", True),
        ('"cease fire agreement"', "The cease-fire agreement held", True),
        ('"cease fire agreement"', "The ceasefire agreement held", True),
        ("U.S.", "tell us more", False),
        ("attack* NEAR/5 (drone OR attack)", "The attack was repelled.", False),  # one word is not both sides
        ("attack* NEAR/5 (drone OR attack)", "The attack by a drone was repelled.", True),
        ("елка", "ёлка", True),
    ],
)
def test_operators(query, text, expected):
    assert hit(query, text=text) is expected


def test_field_scopes_and_metadata():
    assert hit("title:ceasefire", title="Ceasefire", text="nothing")
    assert not hit("title:ceasefire", title="Talks", text="ceasefire")
    assert hit("text:ceasefire", title="Talks", text="ceasefire")
    assert hit("ceasefire lang:uk", text="ceasefire", lang="uk")
    assert not hit("ceasefire lang:uk", text="ceasefire", lang="en")
    assert hit("ceasefire place:UA-63", text="ceasefire", places={"UA-63"})
    assert not hit("ceasefire place:UA-63", text="ceasefire", places={"UA-30"})
    assert hit("ceasefire feed:kyiv-wire", text="ceasefire", feed="Kyiv-Wire")
    assert not hit("ceasefire", title="ceasefire", fields=("text",))
    assert not hit("ceasefire", text="ceasefire", lang="en", languages=("uk",))


@pytest.mark.parametrize(
    "term, matches, traps",
    [
        ("наступ", ["наступ", "наступу", "наступом", "наступі", "наступів"], ["наступного", "наступний", "наступати", "наступила"]),
        ("контрнаступ", ["контрнаступу", "контрнаступом"], ["наступ"]),
        ("перемир'я", ["перемир'я", "перемир'ям"], ["мир"]),
        ("Харків", ["харкова", "харкові", "харковом"], ["харкав", "харкати", "харківський"]),
        ("наступление", ["наступления", "наступлении", "наступлением", "наступлению"], ["наступившем", "наступила", "наступить"]),
        ("перемирие", ["перемирия", "перемирии", "перемирием"], ["мир", "перемирить"]),
        ("курск", ["курске", "курска", "курском"], ["курский"]),
    ],
)
def test_inflections_and_traps(term, matches, traps):
    forms = inflections(term)
    for word in matches:
        assert fold(word) in forms, word
    for word in traps:
        assert fold(word) not in forms, word


def test_provenance_terms_field_snippet():
    rules = rule('ceasefire* OR truce OR "cease fire"')
    text = "Officials said " + "nothing new. " * 20 + "A ceasefire was agreed, then a truce announced."
    (m,) = match(rules, title="Daily briefing", text=text)
    assert m.field == "text" and set(m.terms) == {"ceasefire*", "truce", '"cease fire"'}  # "cease fire" also means ceasefire
    assert m.snippet.startswith("…") and "A ceasefire was agreed" in m.snippet
    (t,) = match(rules, title="Truce talks", text="a cease fire is near")
    assert t.field == "title" and t.snippet == "Truce talks" and set(t.terms) == {"truce", '"cease fire"'}


def test_snippet_after_characters_that_fold_longer():
    rules = rule("drone*")
    text = "Свідки кажуть… " * 60 + "Drones hit Kharkiv at night. " + "Ще новини № 5… " * 30
    (m,) = match(rules, title="", text=text)
    assert "Drones hit Kharkiv" in m.snippet


def test_rule_with_a_wordless_branch_is_always_evaluated():
    assert hit("Kharkiv OR place:UA-63", text="Вночі ворог обстріляв місто", places={"UA-63"})
    assert hit("drone OR (lang:uk -спорт)", text="Новини дня", lang="uk")
    assert not hit("drone OR (lang:uk -спорт)", text="Новини спорт", lang="uk")


def test_tokenize_positions_and_compounds():
    tokens = tokenize("The counter-offensive, Ukraine’s перемир’я.")
    assert tokens.words == ["the", "counter-offensive", "ukraine's", "перемир'я"]
    assert tokens.extra == [(1, "counteroffensive"), (1, "counter"), (1, "offensive"), (2, "ukraine")]
    assert tokens.offsets(3) == (33, 42) and tokens.capitalised(2) and not tokens.capitalised(0) is False


# ------------------------------------------------------------------------------------ rule files


def test_sets_are_shared_by_rules(tmp_path):
    (tmp_path / "sets.yaml").write_text("sets:\n  kharkiv: [Kharkiv, Kharkov, Харків, Харьков]\n", encoding="utf-8")
    (tmp_path / "strikes.yaml").write_text(
        "rules:\n  - name: kharkiv-strikes\n    query: '@kharkiv NEAR/5 (strike* OR удар)'\n"
        "  - name: kharkiv-title\n    query: 'title:@kharkiv'\n", encoding="utf-8")
    rules = load_rules(tmp_path)
    assert {m.rule for m in match(rules, title="Удар по Харкову", text="")} == {"kharkiv-strikes", "kharkiv-title"}
    assert {m.rule for m in match(rules, title="News", text="Strikes on Kharkov overnight")} == {"kharkiv-strikes"}


@pytest.mark.parametrize(
    "text, line, words",
    [
        ("name: x\nkeywords: [a, b\n", 2, "not valid YAML"),
        ("- a\n- b\n", 1, "mapping"),
        ("name: x\nkeywords: []\n", 2, "keywords"),
        ("name: x\nquery: a\ncolour: red\n", 3, "unknown key"),
        ("name: x\nquery: a\nfields: [body]\n", 3, "fields"),
        ("name: x\nquery: a\nkeywords: [b]\n", 1, "one of them"),
        ("name: x\nquery: a AND\n", 2, "ends too early"),
        ("query: a\n", 1, "needs a `name`"),
        ("rules:\n  - name: x\n    query: a\nsets:\n  s: []\n", 5, "empty"),
        ("name: x\nquery: a\npriority: high\n", 3, "priority"),
    ],
)
def test_bad_rule_files(text, line, words):
    with pytest.raises(RuleError, match=words) as info:
        parse_rule_file(text, "rules/x.yaml")
    assert info.value.line == line


def test_unknown_set_and_duplicates(tmp_path):
    (tmp_path / "a.yaml").write_text("name: a\nquery: '@nowhere'\n")
    with pytest.raises(RuleError, match="unknown set @nowhere") as info:
        load_rules(tmp_path)
    assert (info.value.line, info.value.column) == (2, 9)  # the @ in the file, after "query: '"
    (tmp_path / "a.yaml").write_text("name: same\nkeywords: [a]\n")
    (tmp_path / "b.yaml").write_text("name: same\nkeywords: [b]\n")
    with pytest.raises(RuleError, match="also defined"):
        load_rules(tmp_path)


# ------------------------------------------------------------------------------- shipped rules


@pytest.fixture(scope="module")
def shipped():
    return load_rules(REPO / "rules")


@pytest.mark.slow
def test_shipped_rules_have_descriptions(shipped):
    names = {r.name for r in shipped.rules}
    assert {"offensive", "ceasefire"} <= names and len(names) >= 6
    assert all(len(r.description) > 40 for r in shipped.rules)


@pytest.mark.parametrize(
    "title, text, rules",
    [
        ("Posts deemed offensive on social media", "", set()),
        ("Zelensky warns of an offensive on Sumy", "", {"offensive"}),
        ("До наступления темноты", "", set()),
        ("ВСУ поздравили с наступающим Новым годом", "", set()),
        ("З наступом холодів ціни зросли", "", set()),
        ("Armistice Day parade", "", set()),
        ("Russia launches new offensive near Pokrovsk", "", {"offensive"}),
        ("Ukraine's counter-offensive in Zaporizhzhia", "", {"offensive"}),
        ("Minister's offensive remarks spark row", "", set()),
        ("Offensive coordinator fired after loss", "", set()),
        ("Platform removes offensive content", "", set()),
        ("Quarterback praises offensive line", "The offensive line gave him time.", set()),
        ("Cease-fire collapses; truce talks halted", "", {"ceasefire"}),
        ("Наступного тижня відбудеться саміт", "", set()),
        ("Наступление на Покровск продолжается", "", {"offensive"}),
        ("В Киеве наступила весна", "", set()),
        ("Контрнаступ ЗСУ на Курщині", "", {"offensive"}),
        ("Енергетичне перемир’я", "", {"ceasefire"}),
        ("Кремль отверг идею прекращения огня", "", {"ceasefire"}),
    ],
)
def test_shipped_rules(shipped, title, text, rules):
    assert {m.rule for m in match(shipped, title=title, text=text)} >= rules
    assert {m.rule for m in match(shipped, title=title, text=text)} & {"offensive", "ceasefire"} == rules


def _scores(shipped, path):
    tp = fp = fn = 0
    for line in path.read_text(encoding="utf-8").splitlines():
        case = json.loads(line)
        got = {m.rule for m in match(shipped, title=case["title"], text=case["text"], lang=case["lang"])} & {"offensive", "ceasefire"}
        want = set(case["rules"])
        tp, fp, fn = tp + len(got & want), fp + len(got - want), fn + len(want - got)
    precision, recall = tp / max(1, tp + fp), tp / max(1, tp + fn)
    return 2 * precision * recall / max(1e-9, precision + recall)


def test_rules_f1_on_the_dev_set(shipped):
    path = SHARED / "eval" / "match_dev.jsonl"
    if not path.exists():
        pytest.fail(f"{path} is missing: ../shared must sit beside the clone")
    assert _scores(shipped, path) >= 0.95


def test_rules_f1_on_the_held_out_set(shipped):
    # Written by someone who never saw the rules; its first, blind score was 0.903 (see the issue note).
    assert _scores(shipped, REPO / "tests" / "data" / "match_heldout.jsonl") >= 0.95


@pytest.mark.parametrize(
    "text, topic, word",
    [
        ("Russian troops advanced two kilometres towards Pokrovsk.", True, False),  # the topic, not the word
        ("Russia launched a new offensive on Sumy.", True, True),
        ("ЗСУ продовжують наступ на Курщині.", True, True),
        ("Окупанти штурмували позиції біля Часового Яру.", True, False),
        ("The minister's charm offensive in Beijing.", False, False),
        ("С наступлением зимы удары по энергетике участились.", False, False),
    ],
)
def test_optional_keyword_rule_beside_the_topic(shipped, text, topic, word):
    """rules/optional/offensive-word.yaml is the literal keyword, for users who want only it; rules/
    is read without its subfolders, so it is not loaded unless copied in."""
    keyword = load_rules(REPO / "rules" / "optional")
    assert "offensive-word" not in {r.name for r in shipped.rules}
    assert ("offensive" in {m.rule for m in match(shipped, title="", text=text)}) is topic
    assert ("offensive-word" in {m.rule for m in match(keyword, title="", text=text)}) is word


@pytest.mark.parametrize(
    "query, text, hit",
    [
        # a word that only follows another in a phrase is read off the text, in every written form
        ('"attack on kyiv"', "A drone attack on Kyiv's outskirts.", True),  # kyiv at kyiv's
        ('"attack on kyiv"', "An attack on the Kyiv region.", False),
        ('"halt to the fighting"', "They agreed a halt to the fighting.", True),
        ('"counter offensive in"', "The counter-offensive in Kherson.", True),
        # the same word standing alone elsewhere in the rule is looked up as usual
        ('"attack on kyiv" OR (kyiv NEAR/2 drones)', "Drones over Kyiv.", True),
        # a rule anchored on its rarer part still holds where the common part is
        ('(the OR a) ONEAR/1 offensive', "A new push, then the offensive.", True),
        ('(the OR a) ONEAR/1 offensive', "The push, then a retreat.", False),
    ],
)
def test_phrases_read_following_words_off_the_text(query, text, hit):
    ruleset = compile_rules([Rule(name="r", query=query, node=parse_query(query))])
    assert bool(match(ruleset, title="", text=text)) is hit


@settings(max_examples=300, deadline=None)
# YAML's other line breaks (NEL, LS, PS, CR) do not survive PyYAML's own dump and load: not ours to map.
@given(st.text(alphabet=st.sampled_from(list("ab ()\"'\\*@:#-\tёʼ’\n"))
               | st.characters(blacklist_characters="\x85\u2028\u2029\r"), min_size=1, max_size=60),
       st.sampled_from([None, "'", '"', "|", ">"]), st.integers(min_value=20, max_value=80))
@pytest.mark.slow
def test_every_character_of_a_query_maps_back_to_where_the_file_has_it(value, style, width):
    """However YAML writes the query (plain, quoted, folded, literal; wrapped at any width), each
    character the parser sees comes from a character of the file that reads as it."""
    import yaml

    from monitor.position import value_spots

    text = yaml.safe_dump({"query": value}, default_style=style, width=width, allow_unicode=True)
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    node = root.value[0][1]
    assert node.value == value or style in ("|", ">")  # a block scalar may keep other line breaks
    spots = value_spots(text, node, node.value)
    assert spots is not None and len(spots) == len(node.value), text
    for char, spot in zip(node.value, spots):
        if char.isspace():
            assert spot is None
        elif node.style == '"' and text[spot] == "\\":
            continue  # an escape: the caret goes under its backslash
        else:
            assert text[spot] == char, (text, char, spot)


# ------------------------------------------------------------------------------------ matching cost


def _find_word_by_word(index, tokens) -> dict[int, list[int]]:
    """TermIndex.find as it was written first: every word of the text looked up in turn. The quicker
    find must give the same ids, positions and order (the order of a match's terms comes from it)."""
    found: dict[int, list[int]] = {}
    for position, form in enumerate(tokens.words):
        for wid in index.lookup(form):
            found.setdefault(wid, []).append(position)
    extra: dict[int, set[int]] = {}
    for position, form in tokens.extra:
        for wid in index.lookup(form):
            extra.setdefault(wid, set()).add(position)
    for wid, positions in extra.items():
        found[wid] = sorted(positions.union(found.get(wid, ())))
    return found


@pytest.mark.slow
def test_find_gives_what_looking_up_word_by_word_gives(shipped):
    from conftest import read_corpus
    from monitor.places import load_gazetteer

    gazetteer = load_gazetteer()
    truth = json.loads(read_corpus("articles", "scrapinghub-aeb", "ground-truth.json"))
    texts = [article["articleBody"] for article in truth.values()]
    texts += [json.loads(line)["text"] for path in sorted((REPO / "tests" / "data" / "real").glob("*.jsonl"))
              for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    for text in texts:
        for prepared in (False, True):
            tokens = tokenize(text)
            if prepared:
                tokens.prepare((gazetteer.index, shipped.index))
            for index in (gazetteer.index, shipped.index):
                got = index.find(tokens)
                assert list(got.items()) == list(_find_word_by_word(index, tokens).items())


def test_tagging_scans_each_field_once_for_places_and_rules(shipped, monkeypatch):
    # finding where a field's words stand costs a pass over all its words, as much as all the look-ups
    # of a find: the places and the rules share it
    from monitor.index import Tokens
    from monitor.places import load_gazetteer
    from monitor.rules import tag

    scans = []
    scan = Tokens._scan
    monkeypatch.setattr(Tokens, "_scan", lambda self, wanted: (scans.append(self), scan(self, wanted))[1])
    matches, places = tag(shipped, load_gazetteer(), title="Russian offensive near Kharkiv",
                          text="Russian troops launched an offensive in Kharkiv Oblast; the counter-offensive "
                               "stalled near Kupiansk, officials said.")
    assert "offensive" in {m.rule for m in matches} and "UA-63" in places
    assert len(scans) == len(set(map(id, scans))) == 2
