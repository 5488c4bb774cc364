"""Names that fit a person's origin, and the spelling variants real records show.

Faker supplies Latin-script names where it has them (British, Romanian, Polish,
Vietnamese with diacritics, romanised Chinese, Yoruba for Nigeria). For origins where
Faker has no Latin-script names, or where the point is the transliteration variants
(Arabic, Tigrinya, Amharic, Pashto/Dari, Persian, Kurdish, Albanian), the lists below
are curated: each *canonical* spelling may have variants that other agencies write.
Name pools are plain tuples built once per run; nothing here holds mutable state.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import import_module

__all__ = [
    "NAME_ORIGINS",
    "NICKNAMES",
    "TRANSLITERATIONS",
    "NamePool",
    "build_name_pools",
    "ethiopic_abbreviation",
    "family_name_first",
]

# Curated variant groups: the first spelling is canonical (the true name in the truth
# files); the others are what another agency may have written down.
_VARIANT_GROUPS: tuple[tuple[str, ...], ...] = (
    ("Mohammed", "Mohamed", "Muhammad", "Mohammad", "Mohamad", "Muhammed"),
    ("Ahmed", "Ahmad", "Ahmet"),
    ("Yousif", "Yousef", "Yusuf", "Youssef"),
    ("Hussein", "Hussain", "Husain", "Hosein"),
    ("Abdallah", "Abdalla", "Abdullah"),
    ("Osman", "Othman", "Usman"),
    ("Abdelrahman", "Abdulrahman", "Abdel Rahman", "Abdurahman"),
    ("Ibrahim", "Ebrahim", "Ibraheem"),
    ("Suleiman", "Sulaiman", "Soliman", "Suleyman"),
    ("Omar", "Umar"),
    ("Khalid", "Khaled"),
    ("Mustafa", "Mostafa", "Mustapha"),
    ("Hassan", "Hasan"),
    ("Aisha", "Aysha", "Ayesha"),
    ("Fatima", "Fatma", "Fatimah"),
    ("Mariam", "Maryam", "Meriam"),
    ("Zainab", "Zaynab", "Zeinab"),
    ("Khadija", "Khadijah", "Khadidja"),
    ("Ishag", "Ishaq", "Ishak"),
    ("Haroun", "Harun", "Haroon"),
    ("Elsheikh", "El Sheikh", "Alsheikh"),
    ("Noorullah", "Nurullah", "Noor Ullah"),
    ("Zabihullah", "Zabiullah", "Zabihollah"),
    ("Mirwais", "Mirwaiz", "Mir Wais"),
    ("Sayed", "Sayyed", "Syed"),
    ("Ahmadi", "Ahmady"),
    ("Mohammadi", "Mohammady", "Mohamadi"),
    ("Haidari", "Haideri", "Heydari"),
    ("Hakimi", "Hakeemi"),
    ("Noori", "Nouri", "Nuri"),
    ("Stanikzai", "Stanekzai"),
    ("Hosseini", "Husseini", "Hoseini"),
    ("Rezaei", "Rezaie", "Rezaee"),
    ("Ghorbani", "Qorbani"),
    ("Jafari", "Jaafari", "Jafary"),
    ("Saeed", "Saeid", "Said"),
    ("Al-Enezi", "Alenezi", "Al Anezi", "Enezi"),
    ("Al-Shammari", "Alshammari", "Shammari"),
    ("Al-Dhafiri", "Aldhafiri", "Al Dhafeeri"),
    ("Mahmoud", "Mahmood", "Mahmud"),
    ("Salih", "Saleh", "Salah"),
    ("Haider", "Haidar", "Hayder"),
    ("Hoxha", "Hodja", "Hoxa", "Hoca"),
    ("Xhafa", "Xafa", "Dzhafa"),
    ("Xhuljo", "Xhulio", "Julio"),
    ("Endri", "Endrit"),
    ("Klajdi", "Klaidi", "Klajdí"),
    ("Çela", "Cela", "Chela"),
    ("Krasniqi", "Krasniki", "Krasniqui"),
    ("Kristian", "Kristjan", "Christian"),
    ("Fatjon", "Fation"),
    ("Xhensila", "Xhenisla", "Jensila"),
    ("Gebremedhin", "Ghebremedhin", "Gebre Medhin"),
    ("Gebrehiwet", "Ghebrehiwet", "Gebre Hiwet"),
    ("Gebreyesus", "Ghebreyesus", "Gebre Yesus"),
    ("Ghebremichael", "Gebremichael", "Gebre Michael"),
    ("Weldemariam", "Woldemariam", "Welde Mariam"),
    ("Woldegiorgis", "Weldegiorgis", "Wolde Giorgis"),
    ("Tesfay", "Tesfaye", "Tesfai"),
    ("Yohannes", "Yohanes", "Johannes"),
    ("Mekonnen", "Mekonen", "Makonnen"),
    ("Merhawi", "Mehrawi"),
    ("Filmon", "Filimon", "Philemon"),
    ("Semere", "Semre"),
    ("Hiwet", "Hiwot"),
    ("Luwam", "Luam"),
)

TRANSLITERATIONS: Mapping[str, tuple[str, ...]] = {group[0]: group[1:] for group in _VARIANT_GROUPS}

# Nicknames and short forms (both directions are used: a record may hold either).
NICKNAMES: Mapping[str, tuple[str, ...]] = {
    "Robert": ("Bob", "Rob", "Robbie"),
    "William": ("Will", "Bill", "Billy"),
    "Thomas": ("Tom", "Tommy"),
    "James": ("Jim", "Jamie"),
    "Elizabeth": ("Liz", "Beth", "Lizzie"),
    "Katherine": ("Kate", "Katie"),
    "Daniel": ("Dan", "Danny"),
    "Michael": ("Mike", "Mikey"),
    "Christopher": ("Chris",),
    "Jessica": ("Jess",),
    "Rebecca": ("Becky", "Becca"),
    "Samuel": ("Sam", "Sammy"),
    "Alexander": ("Alex",),
    "Joshua": ("Josh",),
    "Matthew": ("Matt",),
    "Jonathan": ("Jon", "Jonny"),
    "Nicholas": ("Nick",),
    "Benjamin": ("Ben",),
    "Charlotte": ("Lottie", "Charlie"),
    "Victoria": ("Vicky", "Tori"),
    "Jennifer": ("Jenny", "Jen"),
    "Mohammed": ("Mo", "Mohd"),
    "Abdelrahman": ("Abdo",),
    "Kristian": ("Kris",),
    "Abdallah": ("Abdi",),
    "Yohannes": ("Johnny",),
}

# Curated (forenames_male, forenames_female, surnames) for origins Faker cannot serve.
_CURATED: Mapping[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "arabic_sudan": (
        (
            "Mohammed",
            "Ahmed",
            "Abdallah",
            "Osman",
            "Omar",
            "Ali",
            "Ibrahim",
            "Yousif",
            "Mustafa",
            "Hamza",
            "Adam",
            "Khalid",
            "Abdelrahman",
            "Hassan",
            "Hussein",
            "Ishag",
        ),
        ("Fatima", "Amna", "Mariam", "Aisha", "Hawa", "Khadija", "Sara", "Zainab", "Malak"),
        (
            "Abdelrahman",
            "Mohammed",
            "Ahmed",
            "Osman",
            "Hassan",
            "Yousif",
            "Ibrahim",
            "Adam",
            "Ishag",
            "Abakar",
            "Haroun",
            "Suleiman",
            "Elsheikh",
            "Abdallah",
            "Khalid",
        ),
    ),
    "arabic_gulf_iraq": (
        (
            "Ali",
            "Hussein",
            "Ahmed",
            "Mohammed",
            "Karwan",
            "Rebwar",
            "Dilshad",
            "Hawkar",
            "Sarkawt",
            "Mustafa",
            "Abbas",
            "Haider",
            "Omar",
            "Saeed",
        ),
        ("Zainab", "Fatima", "Mariam", "Shilan", "Nazdar", "Aisha", "Noor"),
        (
            "Ali",
            "Hussein",
            "Abdallah",
            "Mahmoud",
            "Rashid",
            "Salih",
            "Aziz",
            "Karim",
            "Al-Saadi",
            "Al-Jubouri",
            "Al-Enezi",
            "Al-Shammari",
            "Al-Dhafiri",
            "Haider",
        ),
    ),
    "pashto_dari": (
        (
            "Ahmad",
            "Mohammed",
            "Ali",
            "Hamid",
            "Rahim",
            "Karim",
            "Jawad",
            "Farid",
            "Noorullah",
            "Zabihullah",
            "Mirwais",
            "Habib",
            "Naveed",
            "Sayed",
            "Bilal",
            "Asadullah",
        ),
        ("Zahra", "Fatima", "Mariam", "Parwana", "Nargis", "Shabnam", "Laila", "Freshta"),
        (
            "Ahmadi",
            "Rahimi",
            "Karimi",
            "Mohammadi",
            "Hakimi",
            "Noori",
            "Popal",
            "Safi",
            "Stanikzai",
            "Wardak",
            "Hotak",
            "Sultani",
            "Amiri",
            "Haidari",
            "Jalali",
            "Khan",
        ),
    ),
    "persian": (
        (
            "Reza",
            "Amir",
            "Mehdi",
            "Hussein",
            "Ali",
            "Mohammed",
            "Arash",
            "Saeed",
            "Omid",
            "Behnam",
            "Kian",
            "Dariush",
        ),
        ("Mariam", "Zahra", "Fatima", "Niloufar", "Parisa", "Shirin", "Sara", "Roya"),
        (
            "Hosseini",
            "Rezaei",
            "Mohammadi",
            "Ahmadi",
            "Karimi",
            "Moradi",
            "Jafari",
            "Rahimi",
            "Kazemi",
            "Ghorbani",
            "Haidari",
            "Sadeghi",
        ),
    ),
    "albanian": (
        (
            "Endri",
            "Ardit",
            "Kristian",
            "Erion",
            "Klajdi",
            "Besnik",
            "Arben",
            "Dritan",
            "Elton",
            "Fatjon",
            "Florian",
            "Gentian",
            "Ilir",
            "Jurgen",
            "Kledi",
            "Marjo",
            "Renaldo",
            "Xhuljo",
            "Sokol",
            "Ervis",
        ),
        (
            "Ana",
            "Elona",
            "Arta",
            "Blerta",
            "Denisa",
            "Klea",
            "Megi",
            "Sara",
            "Xhensila",
            "Anisa",
            "Jonida",
        ),
        (
            "Hoxha",
            "Shehu",
            "Gjoka",
            "Leka",
            "Marku",
            "Dervishi",
            "Kola",
            "Prifti",
            "Çela",
            "Meta",
            "Hysa",
            "Krasniqi",
            "Berisha",
            "Gashi",
            "Dushku",
            "Lika",
            "Zeneli",
            "Xhafa",
        ),
    ),
    "tigrinya": (
        (
            "Yonas",
            "Dawit",
            "Filmon",
            "Merhawi",
            "Semere",
            "Abel",
            "Robel",
            "Tesfalem",
            "Kidane",
            "Mehari",
            "Biniam",
            "Samuel",
            "Henok",
            "Natnael",
            "Yohannes",
        ),
        (
            "Helen",
            "Selam",
            "Saba",
            "Senait",
            "Luwam",
            "Ruta",
            "Feven",
            "Hiwet",
            "Eden",
            "Winta",
            "Yordanos",
            "Mebrat",
        ),
        (
            "Gebremedhin",
            "Gebrehiwet",
            "Gebreyesus",
            "Weldemariam",
            "Woldegiorgis",
            "Tesfay",
            "Haile",
            "Tekle",
            "Kidane",
            "Berhane",
            "Ghebremichael",
            "Mehari",
            "Abraha",
            "Habte",
            "Asmerom",
            "Andemariam",
        ),
    ),
    "amharic": (
        (
            "Abebe",
            "Dawit",
            "Kebede",
            "Tesfay",
            "Yohannes",
            "Biruk",
            "Mulugeta",
            "Getachew",
            "Tamrat",
            "Ermias",
        ),
        ("Almaz", "Tigist", "Meseret", "Hanna", "Bethlehem", "Selamawit", "Mekdes"),
        (
            "Tesfay",
            "Kebede",
            "Alemu",
            "Bekele",
            "Girma",
            "Haile",
            "Tadesse",
            "Mekonnen",
            "Woldegiorgis",
            "Gebremedhin",
        ),
    ),
}

# (Faker locale, male forename attribute, female forename attribute, surname attribute)
_FAKER: Mapping[str, tuple[str, str, str, str]] = {
    "english": ("en_GB", "first_names_male", "first_names_female", "last_names"),
    "romanian": ("ro_RO", "first_names_male", "first_names_female", "last_names"),
    "polish": ("pl_PL", "first_names_male", "first_names_female", "male_last_names"),
    "vietnamese": ("vi_VN", "first_names_male", "first_names_female", "last_names"),
    "chinese": ("zh_CN", "first_romanized_names", "first_romanized_names", "last_romanized_names"),
    "yoruba": ("yo_NG", "first_names_male", "first_names_female", "last_names"),
}

NAME_ORIGINS: tuple[str, ...] = (*_FAKER, *_CURATED)


@dataclass(frozen=True)
class NamePool:
    """The names one origin draws from."""

    origin: str
    forenames_male: tuple[str, ...]
    forenames_female: tuple[str, ...]
    surnames: tuple[str, ...]
    # Origins that write the family name first (so agencies swap the order more often).
    family_name_first: bool = False


def _faker_names(locale: str, attribute: str) -> tuple[str, ...]:
    provider = import_module(f"faker.providers.person.{locale}").Provider
    values: Iterable[str] = getattr(provider, attribute)
    # Some locales weight names in an OrderedDict; the keys are the names.
    names = tuple(dict.fromkeys(str(value) for value in values if str(value).isprintable()))
    # Compound Faker entries ('Anne-Marie', 'de la Cruz') stay; empty ones are dropped.
    return tuple(name for name in names if name.strip())


def build_name_pools() -> dict[str, NamePool]:
    """Every origin's name pool; deterministic (sorted input lists, no randomness)."""
    pools: dict[str, NamePool] = {}
    for origin, (locale, male, female, surname) in _FAKER.items():
        pools[origin] = NamePool(
            origin=origin,
            forenames_male=_faker_names(locale, male),
            forenames_female=_faker_names(locale, female),
            surnames=_faker_names(locale, surname),
            family_name_first=origin in ("vietnamese", "chinese"),
        )
    for origin, (male_names, female_names, surnames) in _CURATED.items():
        pools[origin] = NamePool(origin, male_names, female_names, surnames)
    return pools


def ethiopic_abbreviation(surname: str) -> str | None:
    """The G/ and W/ short forms Eritrean and Ethiopian records use, or None.

    'Gebremedhin' is often written 'G/Medhin', 'Weldemariam' 'W/Mariam'.
    """
    for prefix, short in (("Ghebre", "G/"), ("Gebre", "G/"), ("Wolde", "W/"), ("Welde", "W/")):
        if surname.startswith(prefix) and len(surname) > len(prefix) + 1:
            rest = surname[len(prefix) :].strip()
            return f"{short}{rest[0].upper()}{rest[1:]}"
    return None


def family_name_first(forename: str, surname: str) -> tuple[str, str]:
    """The two name fields as an agency writes them when it takes the order the other way."""
    return surname, forename
