"""The waiting list: patients who would take an earlier slot, offered the slots that free up.

services.py writes (add, remove, offer a freed slot in waves, claim), selectors.py reads
(the front desk's page, the refills figure), emails.py builds the offer email, forms.py and
views.py are the pages. The models live in scheduling/models.py.
"""
