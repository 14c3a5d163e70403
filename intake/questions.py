"""The questionnaire in the clinic's words: what the patient reads for each code the safety
rules know, and for each part of the skin profile."""

from __future__ import annotations

from patients.models import HistoryItem, SkinProfile

Code = HistoryItem.Code
Category = HistoryItem.Category

SECTIONS: dict[str, dict[str, str]] = {
    Category.CONDITION: {
        "title": "Your health",
        "question": "Do you have, or have you had, any of these?",
        "details": "Tell us more (optional): since when, treatment",
    },
    Category.ALLERGY: {
        "title": "Allergies",
        "question": "Are you allergic to any of these?",
        "details": "What happened (optional): the reaction, when",
    },
    Category.MEDICATION: {
        "title": "Medicines",
        "question": "Do you take any of these medicines, or did you in the last 6 months?",
        "details": "Name and dose (optional)",
    },
    Category.PREVIOUS_TREATMENT: {
        "title": "Previous aesthetic treatments",
        "question": "Have you had any of these treatments?",
        "details": "When, where on the face, any reaction (optional)",
    },
}

WORDING: dict[str, str] = {
    Code.AUTOIMMUNE: "An autoimmune disease (for example lupus, rheumatoid arthritis)",
    Code.DIABETES: "Diabetes",
    Code.BLEEDING_DISORDER: "A bleeding or clotting disorder, or you bruise very easily",
    Code.KELOID: "Raised or thick scars (keloids)",
    Code.SKIN_INFECTION: "A skin infection on the face at the moment",
    Code.HERPES: "Cold sores (herpes)",
    Code.EPILEPSY: "Epilepsy",
    Code.CANCER: "Cancer, treated at the moment",
    Code.LOCAL_ANAESTHETIC: "Local anaesthetics (for example lidocaine, at the dentist)",
    Code.INGREDIENT: "An ingredient of skin injections (for example hyaluronic acid, vitamins)",
    Code.LATEX: "Latex (rubber gloves)",
    Code.ANTICOAGULANT: "Blood thinners (for example warfarin, aspirin, clopidogrel)",
    Code.ISOTRETINOIN: "Isotretinoin for acne (for example Roaccutane)",
    Code.IMMUNOSUPPRESSANT: "Medicines that lower the immune system (for example after a transplant)",
    Code.MESOTHERAPY: "Mesotherapy (skin injections of vitamins or hyaluronic acid)",
    Code.BOTULINUM_TOXIN: "Anti-wrinkle injections (botulinum toxin)",
    Code.DERMAL_FILLER: "Fillers",
    Code.CHEMICAL_PEEL: "Chemical peel",
    Code.LASER: "Laser or light (IPL) treatment",
    Code.MICRONEEDLING: "Microneedling",
    Code.OTHER: "Something else",
}

OTHER_LABEL = "What is it?"

PREGNANCY_CHOICES = [
    (SkinProfile.Pregnancy.NO, "No"),
    (SkinProfile.Pregnancy.PREGNANT, "I am pregnant"),
    (SkinProfile.Pregnancy.BREASTFEEDING, "I am breastfeeding"),
    (SkinProfile.Pregnancy.TRYING, "I am trying to conceive"),
    (SkinProfile.Pregnancy.NOT_APPLICABLE, "This does not apply to me"),
]


def tick_field(category: str, code: str) -> str:
    return f"{category}__{code}"


def details_field(category: str, code: str) -> str:
    return f"{category}__{code}__details"
