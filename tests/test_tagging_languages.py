"""The initiatives by name in the languages beyond the eleven the rules began with.

Each case is one initiative's usual name as the press of one language prints it, with a word
for one of the war's sides, on a day inside the initiative's window: the rules alone, without
the model, must know it. These headlines were written to cover the names, one or two per
language; they check the rule file's vocabulary, not the tagger's quality, which is measured
on real pages (tests/fixtures/tagging/corpus.jsonl, docs/tagging.md).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from peacewatch.tagging.classifier import ItemText, classify
from peacewatch.tagging.rules import load_ruleset
from peacewatch.tagging.ruleset import RuleSet

ROOT = Path(__file__).parent.parent

NAMES = [
    ("african-peace-mission-2023", "2023-06-17", "ar", "مبادرة القادة الأفارقة للسلام في أوكرانيا"),
    (
        "african-peace-mission-2023",
        "2023-06-17",
        "ka",
        "აფრიკელი ლიდერების სამშვიდობო ინიციატივა უკრაინისთვის",
    ),
    ("african-peace-mission-2023", "2023-06-17", "hi", "यूक्रेन पर अफ्रीकी नेताओं की शांति पहल"),
    ("alaska-summit-2025", "2025-08-15", "sv", "Putin på toppmötet i Anchorage"),
    ("alaska-summit-2025", "2025-08-15", "et", "Putin Anchorage'i tippkohtumisel"),
    ("alaska-summit-2025", "2025-08-15", "lt", "Aliaskos viršūnių susitikimas: Trumpas ir Putinas"),
    ("black-sea-grain-initiative", "2022-08-01", "kk", "Қара теңіз астық бастамасы және Ресей"),
    ("black-sea-grain-initiative", "2022-08-01", "ja", "黒海穀物イニシアチブとロシア"),
    (
        "black-sea-grain-initiative",
        "2022-08-01",
        "tr",
        "Karadeniz Tahıl Girişimi: Ukrayna'dan ilk gemi yola çıktı",
    ),
    (
        "brazil-china-6pt",
        "2024-05-23",
        "et",
        "Hiina ja Brasiilia kuuepunktiline rahuplaan Ukrainale",
    ),
    ("brazil-china-6pt", "2024-05-23", "hr", "Kinesko-brazilski plan od šest točaka za Ukrajinu"),
    ("brazil-china-6pt", "2024-05-23", "tr", "Çin ve Brezilya'dan Ukrayna için altı maddelik plan"),
    ("burgenstock-summit-2024", "2024-06-15", "hu", "Zelenszkij a bürgenstocki békecsúcson"),
    ("burgenstock-summit-2024", "2024-06-15", "tr", "Bürgenstock zirvesinde Zelenski"),
    ("burgenstock-summit-2024", "2024-06-15", "hi", "बर्गेनस्टॉक सम्मेलन में ज़ेलेंस्की"),
    ("china-12pt", "2023-02-24", "ko", "중국의 12개항 우크라이나 평화안"),
    ("china-12pt", "2023-02-24", "sr", "Zelenski o kineskom mirovnom planu"),
    ("china-12pt", "2023-02-24", "lv", "Zelenskis par Ķīnas miera plānu"),
    ("coalition-of-willing", "2025-03-15", "id", "Koalisi Sukarela dukung Zelensky"),
    ("coalition-of-willing", "2025-03-15", "be", "Кааліцыя ахвотных сабралася дзеля Украіны"),
    ("coalition-of-willing", "2025-03-15", "ro", "Coaliția de voință se reunește pentru Ucraina"),
    ("indonesia-prabowo-2023", "2023-06-03", "sr", "Индонежански мировни план за Украјину"),
    ("indonesia-prabowo-2023", "2023-06-03", "ms", "Pelan damai Prabowo untuk Ukraine"),
    ("indonesia-prabowo-2023", "2023-06-03", "uz", "Prabovoning Ukraina bo‘yicha tinchlik rejasi"),
    ("istanbul-communique-2022", "2022-03-30", "ka", "პუტინი სტამბოლის კომუნიკეზე"),
    ("istanbul-communique-2022", "2022-03-30", "sr", "Путин о истанбулским договорима"),
    ("istanbul-communique-2022", "2022-03-30", "fi", "Putin Istanbulin sopimuksista"),
    ("istanbul-talks-2025", "2025-05-16", "vi", "Hòa đàm Istanbul: Ukraine và Nga"),
    ("istanbul-talks-2025", "2025-05-16", "zh", "俄罗斯与乌克兰在伊斯坦布尔举行直接谈判"),
    ("istanbul-talks-2025", "2025-05-16", "ko", "이스탄불서 러시아·우크라이나 직접 협상"),
    ("jeddah-meeting-2023", "2023-08-05", "nl", "Vredesoverleg over Oekraïne in Saudi-Arabië"),
    ("jeddah-meeting-2023", "2023-08-05", "sk", "Rokovania o Ukrajine v Džidde"),
    ("jeddah-meeting-2023", "2023-08-05", "sr", "Састанак у Џеди о Украјини"),
    ("minsk-agreements", "2015-02-12", "ar", "اتفاقات مينسك: وقف إطلاق النار في أوكرانيا"),
    ("minsk-agreements", "2015-02-12", "sl", "Minski sporazum: premirje v Ukrajini"),
    ("minsk-agreements", "2015-02-12", "sq", "Putin për Minsk 2"),
    ("partial-truces", "2025-03-25", "vi", "Lệnh ngừng bắn năng lượng giữa Nga và Ukraine"),
    ("partial-truces", "2025-03-25", "et", "Energiarelvarahu Venemaa ja Ukraina vahel"),
    ("partial-truces", "2025-04-19", "hu", "Putyin húsvéti tűzszünetet hirdetett"),
    ("putin-terms-2024", "2024-06-14", "ms", "Putin letak syarat gencatan senjata kepada Ukraine"),
    ("putin-terms-2024", "2024-06-14", "sq", "Kushtet e Putinit për bisedime paqeje"),
    ("putin-terms-2024", "2024-06-14", "vi", "Điều kiện của Putin cho đàm phán hòa bình"),
    (
        "qatar-children-mediation",
        "2024-04-01",
        "ja",
        "カタールの仲介で子どもたちがウクライナに帰還",
    ),
    (
        "qatar-children-mediation",
        "2024-04-01",
        "sr",
        "Katar posreduje između Rusije i Ukrajine oko dece",
    ),
    (
        "qatar-children-mediation",
        "2024-04-01",
        "mk",
        "Со посредство на Катар деца вратени во Украина",
    ),
    ("saudi-talks-2025", "2025-02-18", "id", "Perundingan AS-Rusia di Riyadh"),
    ("saudi-talks-2025", "2025-02-18", "ja", "米国とロシアがリヤドで高官協議"),
    (
        "saudi-talks-2025",
        "2025-02-18",
        "hu",
        "Az Egyesült Államok és Oroszország tárgyalása Rijádban",
    ),
    (
        "trilateral-talks-2026",
        "2026-01-24",
        "sk",
        "Trojstranné rokovania USA, Ukrajiny a Ruska v Abú Zabí",
    ),
    (
        "trilateral-talks-2026",
        "2026-01-24",
        "sl",
        "Tristranski pogovori ZDA, Ukrajine in Rusije v Abu Dabiju",
    ),
    ("trilateral-talks-2026", "2026-01-24", "fi", "Zelenskyi kolmenvälisistä neuvotteluista"),
    ("ua-peace-formula", "2023-03-01", "az", "Zelenskinin sülh formulu Ukrayna"),
    ("ua-peace-formula", "2023-03-01", "sl", "Zelenskega mirovna formula za Ukrajino"),
    ("ua-peace-formula", "2023-03-01", "be", "Формула міру Зяленскага Украіна"),
    ("us-28pt-plan", "2025-11-22", "ko", "젤렌스키, 28개항 종전안 검토"),
    ("us-28pt-plan", "2025-11-22", "sr", "Трампов мировни план од 28 тачака за Украјину"),
    ("us-28pt-plan", "2025-11-22", "ro", "Zelenski, despre planul în 28 de puncte"),
    (
        "us-ua-20pt-framework",
        "2025-12-24",
        "ka",
        "ზელენსკიმ 20-პუნქტიანი სამშვიდობო გეგმა წარადგინა",
    ),
    ("us-ua-20pt-framework", "2025-12-24", "et", "Ukraina ja USA 20-punktiline rahuplaan"),
    (
        "us-ua-20pt-framework",
        "2025-12-24",
        "mk",
        "Зеленски го претстави мировниот план од 20 точки",
    ),
    ("vatican-zuppi-mission", "2023-06-06", "sv", "Påvens sändebud Zuppi träffade Zelenskyj"),
    ("vatican-zuppi-mission", "2023-06-06", "sr", "Mirovna misija kardinala Cupija u Ukrajini"),
    ("vatican-zuppi-mission", "2023-06-06", "ka", "პაპის ემისარი ძუპი ზელენსკის შეხვდა"),
]


@pytest.fixture(scope="module")
def rules_alone() -> RuleSet:
    return replace(load_ruleset(ROOT / "config"), model=None)


@pytest.mark.parametrize(("initiative", "day", "language", "title"), NAMES)
def test_the_rules_know_the_name(
    rules_alone: RuleSet, initiative: str, day: str, language: str, title: str
) -> None:
    tags = [
        tag.id for tag in classify(ItemText(title=title, published=day), rules_alone).initiatives
    ]
    assert tags == [initiative], language
