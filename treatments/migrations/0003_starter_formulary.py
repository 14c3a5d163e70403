"""Seed a starter formulary so a new clinic can begin: common mesotherapy ingredients and a
few widely used products. Batches are not seeded: they are stock, entered as it arrives.
Existing rows (matched by name) are left as the manager edited them."""

from django.db import migrations

INGREDIENTS = [
    # name, category, purposes
    ("Hyaluronic acid (non cross-linked)", "hyaluronic_acid", ["hydration", "fine_lines"]),
    ("Vitamin A (retinol)", "vitamin", ["regeneration", "fine_lines"]),
    ("Vitamin B3 (niacinamide)", "vitamin", ["pigmentation", "radiance"]),
    ("Vitamin B5 (panthenol)", "vitamin", ["hydration", "regeneration"]),
    ("Vitamin B7 (biotin)", "vitamin", ["regeneration"]),
    ("Vitamin C (ascorbic acid)", "vitamin", ["radiance", "pigmentation", "antioxidant"]),
    ("Vitamin E (tocopherol)", "vitamin", ["antioxidant", "hydration"]),
    ("Organic silicon", "mineral", ["firmness"]),
    ("Zinc", "mineral", ["regeneration"]),
    ("Magnesium", "mineral", ["regeneration"]),
    ("Copper", "mineral", ["firmness", "regeneration"]),
    ("Glycine", "amino_acid", ["firmness", "regeneration"]),
    ("L-proline", "amino_acid", ["firmness", "regeneration"]),
    ("L-lysine", "amino_acid", ["firmness", "regeneration"]),
    ("L-leucine", "amino_acid", ["regeneration"]),
    ("L-arginine", "amino_acid", ["regeneration", "radiance"]),
    ("Copper tripeptide-1 (GHK-Cu)", "peptide", ["firmness", "regeneration"]),
    ("Acetyl hexapeptide-8", "peptide", ["fine_lines"]),
    ("Palmitoyl pentapeptide-4", "peptide", ["fine_lines", "firmness"]),
    ("Glutathione", "antioxidant", ["pigmentation", "radiance", "antioxidant"]),
    ("Alpha-lipoic acid", "antioxidant", ["antioxidant", "radiance"]),
    ("Coenzyme Q10", "antioxidant", ["antioxidant", "fine_lines"]),
    ("Tranexamic acid", "other", ["pigmentation"]),
    ("DMAE (dimethylaminoethanol)", "other", ["firmness"]),
]

PRODUCTS = [
    # name, manufacturer, presentation, ingredients
    ("NCTF 135 HA", "Filorga", "5 vials of 3 ml", [
        "Hyaluronic acid (non cross-linked)", "Vitamin A (retinol)", "Vitamin B3 (niacinamide)",
        "Vitamin B5 (panthenol)", "Vitamin C (ascorbic acid)", "Vitamin E (tocopherol)", "Glycine", "L-proline",
        "L-lysine", "Zinc", "Magnesium", "Glutathione", "Alpha-lipoic acid", "Coenzyme Q10",
    ]),
    ("Jalupro Classic", "Professional Derma", "kit: 1 vial of amino acids + 1 vial of 3 ml hyaluronic acid", [
        "Hyaluronic acid (non cross-linked)", "Glycine", "L-proline", "L-lysine", "L-leucine",
    ]),
    ("Dermaheal SB", "Caregen", "10 vials of 5 ml", [
        "Hyaluronic acid (non cross-linked)", "Copper tripeptide-1 (GHK-Cu)", "Vitamin B7 (biotin)",
        "Vitamin C (ascorbic acid)", "L-arginine",
    ]),
    ("Hyaluronic acid 1.5%", "Mesoestetic", "10 ampoules of 2 ml", ["Hyaluronic acid (non cross-linked)"]),
    ("Vitamin C 20%", "Mesoestetic", "10 ampoules of 5 ml", ["Vitamin C (ascorbic acid)"]),
    ("Tranexamic acid 5%", "Mesoestetic", "10 ampoules of 5 ml", ["Tranexamic acid"]),
    ("Organic silicon 0.5%", "Toskani", "5 vials of 5 ml", ["Organic silicon"]),
    ("DMAE 3%", "Toskani", "5 vials of 5 ml", ["DMAE (dimethylaminoethanol)"]),
    ("Peptide complex", "Toskani", "5 vials of 5 ml", [
        "Acetyl hexapeptide-8", "Palmitoyl pentapeptide-4", "Hyaluronic acid (non cross-linked)",
    ]),
]  # fmt: skip


def forwards(apps, schema_editor):
    Ingredient = apps.get_model("treatments", "Ingredient")
    Product = apps.get_model("treatments", "Product")
    by_name = {}
    for name, category, purposes in INGREDIENTS:
        ingredient, _ = Ingredient.objects.get_or_create(
            name=name, defaults={"category": category, "purposes": purposes}
        )
        by_name[name] = ingredient
    for name, manufacturer, presentation, ingredient_names in PRODUCTS:
        product, created = Product.objects.get_or_create(
            name=name, manufacturer=manufacturer, defaults={"presentation": presentation}
        )
        if created:
            product.ingredients.set([by_name[ingredient] for ingredient in ingredient_names])


def backwards(apps, schema_editor):
    # The formulary may have been edited and used since: leave it.
    pass


class Migration(migrations.Migration):
    dependencies = [("treatments", "0002_roles")]

    operations = [migrations.RunPython(forwards, backwards)]
