"""Names, addresses, medical histories and products the generated patients and courses use."""

from __future__ import annotations

import unicodedata

from patients.models import HistoryItem


def name_lists() -> tuple[list[str], list[str], list[str]]:
    """Female first names, male first names and surnames of several languages, so that
    search meets accents, apostrophes and hyphens (Faker is a test dependency)."""
    from faker.providers.person.de_DE import Provider as German
    from faker.providers.person.en_GB import Provider as British
    from faker.providers.person.es_ES import Provider as Spanish
    from faker.providers.person.fr_FR import Provider as French
    from faker.providers.person.it_IT import Provider as Italian
    from faker.providers.person.pl_PL import Provider as Polish

    providers = [British, French, Spanish, Italian, German, Polish]
    female, male, last = set(), set(), set()
    for provider in providers:
        female.update(getattr(provider, "first_names_female", ()))
        male.update(getattr(provider, "first_names_male", ()))
        last.update(getattr(provider, "last_names", ()))

    def clean(names: set[str]) -> list[str]:
        return sorted(name for name in names if 1 < len(name) <= 40)

    return clean(female), clean(male), clean(last)


def email_part(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(char for char in decomposed if char.isascii() and (char.isalnum() or char == ".")).lower()


CITIES = [
    ("London", "SW1A"), ("London", "N1"), ("London", "SE15"), ("Brighton", "BN1"), ("Guildford", "GU1"),
    ("Reading", "RG1"), ("Oxford", "OX1"), ("Cambridge", "CB2"), ("Croydon", "CR0"), ("Kingston", "KT1"),
]  # fmt: skip
# UK mobile ranges that phonenumbers accepts (076 is pagers, 0791 partly unallocated).
MOBILE_PREFIXES = [f"7{a}{b}" for a in "4589" for b in "0123456789" if (a, b) != ("9", "1")]
LETTERS = "ABDEFGHJLNPQRSTUWXYZ"  # the letters of a postcode's inward code
STREETS = ["High Street", "Station Road", "Church Lane", "Park Avenue", "Victoria Road", "Mill Lane", "The Green"]
HISTORY = [
    (HistoryItem.Category.ALLERGY, HistoryItem.Code.LOCAL_ANAESTHETIC, "Lidocaine", "Hives after dental work", 4),
    (HistoryItem.Category.ALLERGY, HistoryItem.Code.OTHER, "Penicillin", "Rash", 10),
    (HistoryItem.Category.ALLERGY, HistoryItem.Code.LATEX, "Latex", "Contact dermatitis", 3),
    (HistoryItem.Category.ALLERGY, HistoryItem.Code.INGREDIENT, "Hyaluronic acid", "Swelling after filler", 2),
    (HistoryItem.Category.CONDITION, HistoryItem.Code.HERPES, "Cold sores", "Two or three a year", 12),
    (HistoryItem.Category.CONDITION, HistoryItem.Code.DIABETES, "Type 2 diabetes", "Diet controlled", 5),
    (HistoryItem.Category.CONDITION, HistoryItem.Code.KELOID, "Keloid scars", "After ear piercing", 2),
    (HistoryItem.Category.CONDITION, HistoryItem.Code.AUTOIMMUNE, "Hashimoto's thyroiditis", "", 4),
    (HistoryItem.Category.CONDITION, HistoryItem.Code.OTHER, "Asthma", "Inhaler when needed", 10),
    (HistoryItem.Category.MEDICATION, HistoryItem.Code.ANTICOAGULANT, "Aspirin", "75 mg daily", 5),
    (HistoryItem.Category.MEDICATION, HistoryItem.Code.ANTICOAGULANT, "Apixaban", "5 mg twice daily", 1),
    (HistoryItem.Category.MEDICATION, HistoryItem.Code.OTHER, "Levothyroxine", "50 micrograms daily", 6),
    (HistoryItem.Category.MEDICATION, HistoryItem.Code.OTHER, "Combined contraceptive pill", "", 12),
    (HistoryItem.Category.MEDICATION, HistoryItem.Code.ISOTRETINOIN, "Isotretinoin", "Course finished", 1),
    (HistoryItem.Category.PREVIOUS_TREATMENT, HistoryItem.Code.BOTULINUM_TOXIN, "Botox", "Forehead", 10),
    (HistoryItem.Category.PREVIOUS_TREATMENT, HistoryItem.Code.DERMAL_FILLER, "Lip filler", "No reaction", 6),
    (HistoryItem.Category.PREVIOUS_TREATMENT, HistoryItem.Code.CHEMICAL_PEEL, "Glycolic peel", "Redness", 6),
    (HistoryItem.Category.PREVIOUS_TREATMENT, HistoryItem.Code.MESOTHERAPY, "Mesotherapy course", "Bruising", 5),
]  # fmt: skip
FORMULARY = [
    # product, manufacturer, presentation, ingredients (name, category)
    ("NCTF 135 HA", "Filorga", "5 vials of 3 ml", [("Hyaluronic acid", "hyaluronic_acid"), ("Vitamin C", "vitamin")]),
    ("Meso-Wharton P199", "Fusion", "5 vials of 1.5 ml", [("Peptide complex", "peptide")]),
    ("Dermaheal SR", "Caregen", "10 vials of 5 ml", [("Amino acid complex", "amino_acid")]),
    ("Jalupro", "Professional Derma", "2 vials of 3 ml", [("Glycine", "amino_acid"), ("Proline", "amino_acid")]),
]
