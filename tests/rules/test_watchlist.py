"""The issue-3 reviewer's categories on the watchlist and capex rules, in several languages,
each with hard negatives (own invented headlines)."""

from __future__ import annotations

import pytest

from rules import Document, RuleSet
from watcher.config import RulesConfig
from watcher.ruleload import load_ruleset


@pytest.fixture(scope="module")
def default_rules() -> RuleSet:
    return load_ruleset(RulesConfig())


def found(rs: RuleSet, text: str) -> set[str]:
    return {m.rule for m in rs.match(Document(text=text))}


@pytest.mark.parametrize(
    ("rule", "text", "hit"),
    [
        # Google is context for the ambiguous "Gemini"; Arabic spellings
        ("google-ai", "Google's Gemini gets an update", True),
        ("google-ai", "Gemini de Google reçoit une mise à jour", True),
        ("google-ai", "Googles Gemini bekommt ein neues Update", True),
        ("google-ai", "Gemini от Google получил обновление", True),
        ("google-ai", "구글 제미나이 업데이트 공개", True),
        ("google-ai", "グーグルのジェミニがアップデート", True),
        ("google-ai", "GoogleのGeminiが更新された", True),
        ("google-ai", "جوجل تطلق جيميني 2.5", True),
        ("google-ai", "غوغل تطلق جيمناي الجديد للمطورين", True),
        ("google-ai", "Gemini is an air sign in astrology", False),
        ("google-ai", "Google searches for Gemini horoscope spiked this week", False),
        (
            "google-ai",
            "NASA's Gemini program paved the way for Apollo, a Google Doodle recalls",
            False,
        ),
        ("google-ai", "Gemini season starts: what the stars say about your week", False),
        # Llama models are Meta-AI context
        ("meta-ai", "Meta unveils LLaMA4 Scout", True),
        ("meta-ai", "Meta veröffentlicht Llama 4", True),
        ("meta-ai", "Meta publie Llama 3.3 pour les développeurs", True),
        ("meta-ai", "メタがラマ4を公開", True),
        ("meta-ai", "A meta-analysis of Llama 3 evaluations", False),
        ("meta-ai", "The llama farm reached its meta goal of 4 animals", False),
        # the verb "grok" is not xAI's Grok
        ("xai", "I grok the idea of AI", False),
        ("xai", "Engineers finally grok why AI models hallucinate", False),
        ("xai", "Engineers finally grok why ChatGPT hallucinates", False),
        ("xai", "GROK IS DOWN, MUSK SAYS", True),
        ("xai", "Musk's Grok gets an update", True),
        ("xai", "xAI releases Grok 4", True),
        ("xai", "The chatbot Grok was criticised for its answers", True),
        ("xai", "ماسك يطلق نسخة جديدة من غروك", True),
        ("xai", "马斯克的Grok聊天机器人更新", True),
    ],
)
def test_watchlist_context(default_rules: RuleSet, rule: str, text: str, hit: bool) -> None:
    assert (rule in found(default_rules, text)) is hit, found(default_rules, text)


@pytest.mark.parametrize(
    ("text", "hit"),
    [
        # Turkish forms of yatırmak / ayırmak
        ("Microsoft yapay zeka veri merkezlerine 80 milyar dolar yatıracak", True),
        ("Şirket, yapay zeka altyapısına 3 milyar dolar yatırdı", True),
        ("Holding, yapay zeka için yeni veri merkezlerine 5 milyar dolar ayıracak", True),
        ("Hastaneye yatırılan iş insanı 2 milyar dolarlık yapay zeka girişimini sattı", False),
        # an amount attached to a non-AI sector more closely than to the AI subject
        (
            "Saudi Aramco capex to reach $50 billion in oil and gas; AI data center plans also "
            "announced",
            False,
        ),
        (
            "Aramco will invest $10 billion in AI data centers, on top of its oil and gas capex",
            True,
        ),
        (
            "Microsoft will spend $80 billion on AI data centers, while Exxon spends $30 billion on oil",
            True,
        ),
        ("Vale to spend $6 billion on iron ore mines; an AI pilot is also planned", False),
        ("沙特阿美将在石油和天然气领域投资500亿美元，同时宣布了人工智能数据中心计划。", False),
        ("サウジアラムコは石油・ガスに500億ドルを投資し、AIデータセンター計画も発表した。", False),
        (
            "Petrobras vai investir 100 bilhões de dólares em petróleo e gás; também anunciou IA.",
            False,
        ),
        ("Сбербанк вложит 100 млрд рублей в дата-центры для искусственного интеллекта.", True),
    ],
)
def test_capex_turkish_verbs_and_sector_veto(default_rules: RuleSet, text: str, hit: bool) -> None:
    assert ("capex" in found(default_rules, text)) is hit, found(default_rules, text)
