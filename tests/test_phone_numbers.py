"""Caller numbers read with the ``phonenumbers`` library, as production has it.

The addon requires ``phonenumbers`` (``external_dependencies``): Odoo's
``phone_validation`` then reads each country's own rules. These cases are the ones the
plain fallback rule of ``e164`` gets wrong, so they fail if the library is missing or
no longer used.
"""
from odoo.tests import TransactionCase, tagged

from odoo.addons.phone_validation.tools import phone_validation

from ..models.res_partner import e164


@tagged("post_install", "-at_install")
class TestPhoneNumbersLibrary(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.belgium = cls.env.ref("base.be")
        cls.france = cls.env.ref("base.fr")
        cls.ivory_coast = cls.env.ref("base.ci")

    def test_library_in_use(self):
        import phonenumbers  # noqa: F401  (the requirement itself: an ImportError fails)

        self.assertTrue(phone_validation.phone_parse("+32 475 12 34 56", "BE"))

    def test_national_prefix_in_brackets(self):
        # "+32 (0)475 …": the 0 in brackets is dropped; the plain rule would keep it.
        self.assertEqual(e164("+32 (0)475 12 34 56", self.belgium), "+32475123456")
        self.assertEqual(e164("+33 (0)1 23 45 67 89", self.france), "+33123456789")

    def test_country_rules(self):
        # Côte d'Ivoire's ten-digit numbers keep their leading 0 after +225.
        self.assertEqual(e164("07 07 12 34 56", self.ivory_coast), "+2250707123456")

    def test_short_numbers_are_not_made_international(self):
        self.assertEqual(e164("1234", self.france), "1234")

    def test_contact_matched_through_its_written_form(self):
        partner = self.env["res.partner"].create(
            {
                "name": "Lotte Janssens",
                "country_id": self.belgium.id,
                "mobile": "+32 (0)475 12 34 56",
            }
        )
        self.assertEqual(partner.axivox_mobile_e164, "+32475123456")
        found = self.env["res.partner"].search(
            [("axivox_mobile_e164", "=", e164("0475/12.34.56", self.belgium))]
        )
        self.assertEqual(found, partner)
