"""The formulary in Administration: managers keep ingredients, products and batches.
Clinical records (consultations, plans, sessions, photos) are not here: their pages audit
every read, the admin would not."""

from django.contrib import admin

from clinic.admin import ClinicModelAdmin, ClinicTabularInline
from treatments.models import Batch, Ingredient, Product


@admin.register(Ingredient)
class IngredientAdmin(ClinicModelAdmin):
    list_display = ["name", "category", "purposes_display"]
    list_filter = ["category"]
    search_fields = ["name"]

    @admin.display(description="used for")
    def purposes_display(self, obj: Ingredient) -> str:
        return ", ".join(obj.get_purposes_display())


# A recall is made on the batch's page (treatments:batch_recall): it lists who received the lot
# and notifies them. Here its fields are only shown.
RECALL_FIELDS = ["recalled_at", "recall_reason", "recalled_by"]


class BatchInline(ClinicTabularInline):
    model = Batch
    extra = 0
    fields = ["lot_number", "expiry_date", "quantity_in_stock", "received_on", *RECALL_FIELDS]
    readonly_fields = RECALL_FIELDS
    show_change_link = True


@admin.register(Product)
class ProductAdmin(ClinicModelAdmin):
    list_display = ["name", "manufacturer", "presentation", "low_stock_threshold", "is_active"]
    list_filter = ["is_active", "manufacturer"]
    search_fields = ["name", "manufacturer", "ingredients__name"]
    filter_horizontal = ["ingredients"]
    inlines = [BatchInline]


@admin.register(Batch)
class BatchAdmin(ClinicModelAdmin):
    list_display = ["product", "lot_number", "expiry_date", "quantity_in_stock", "recalled_at"]
    list_filter = ["product", "recalled_at"]
    search_fields = ["lot_number", "product__name"]
    list_select_related = ["product"]
    date_hierarchy = "expiry_date"
    readonly_fields = RECALL_FIELDS
