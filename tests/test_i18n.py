"""Italian and French translations (i18n/voip_axivox_queue.pot, i18n/it.po, i18n/fr.po).

* Every message Odoo extracts from the module now (Python ``_()``, field labels, help
  texts and selection values, views, menus, groups, data records, the softphone's JS
  ``_t()`` and OWL templates) is in the template and translated (non-empty, not fuzzy)
  in both languages: a new untranslated string fails here.
* Once loaded, the translations come out through the ORM, Python ``_()`` and the web
  client.

To add new messages: re-export the template from a database where the addon is installed
(``odoo-bin -d DB --i18n-export=i18n/voip_axivox_queue.pot --modules=voip_axivox_queue
--stop-after-init``), merge it into the catalogues (``msgmerge --no-fuzzy-matching -U
i18n/fr.po i18n/voip_axivox_queue.pot``, same for it.po), translate the empty msgstr,
and check with ``msgfmt -c --check-format -o /dev/null i18n/fr.po``.
"""
import os
import re

import polib

from odoo.exceptions import UserError
from odoo.modules.module import get_module_path
from odoo.tests import TransactionCase, tagged
from odoo.tools.translate import TranslationModuleReader

MODULE = "voip_axivox_queue"
LANGS = {"fr_FR": "fr", "it_IT": "it"}
# %(name)s, %s, {name}, and the element names of inline markup: a translation keeps them
# all.
PLACEHOLDER = re.compile(r"%\(\w+\)[sdfr]|%[sdfr]|\{\w*\}")
ELEMENT = re.compile(r"</?([a-zA-Z][\w-]*)")


def _translated(entry):
    return (
        bool(entry.msgstr.strip()) and not entry.obsolete and "fuzzy" not in entry.flags
    )


@tagged("post_install", "-at_install")
class TestI18n(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        i18n = os.path.join(get_module_path(MODULE), "i18n")
        cls.pot = polib.pofile(os.path.join(i18n, f"{MODULE}.pot"))
        cls.po = {
            lang: polib.pofile(os.path.join(i18n, f"{code}.po"))
            for lang, code in LANGS.items()
        }
        # Load the two languages the way "Settings > Languages > Add" does.
        for lang in LANGS:
            cls.env["res.lang"]._activate_lang(lang)
        cls.env["ir.module.module"]._load_module_terms(
            [MODULE], list(LANGS), overwrite=True
        )
        cls.env.invalidate_all()
        cls.env.registry.clear_all_caches()

    def tr(self, lang, msgid):
        """The translation of msgid in the .po file of lang (the expected value)."""
        entry = self.po[lang].find(msgid)
        self.assertTrue(
            entry and _translated(entry), f"{msgid!r} not translated for {lang}"
        )
        self.assertNotEqual(
            entry.msgstr, msgid, f"{msgid!r} kept in English for {lang}"
        )
        return entry.msgstr

    # (a) the files cover everything Odoo extracts
    # ---------------------------------------

    def test_every_message_is_in_the_template_and_translated(self):
        reader = TranslationModuleReader(self.env.cr, modules=[MODULE], lang="fr_FR")
        extracted = {}
        for module, _type, name, _res_id, source, _value, _comments in reader:
            if module == MODULE:
                extracted.setdefault(source, name)
        # The softphone's JS and OWL template strings and the models' _() are extracted
        # too.
        self.assertIn("Fold the softphone", extracted)  # static/src/softphone/*.js _t()
        self.assertIn(
            "Disconnect from all my queues", extracted
        )  # static/src/softphone/*.xml
        self.assertIn("Changes applied to the PBX.", extracted)  # models/*.py _()
        self.assertGreater(len(extracted), 250)

        problems = []
        template = {entry.msgid for entry in self.pot if not entry.obsolete}
        missing = sorted(set(extracted) - template)
        if missing:
            problems.append(
                "missing from i18n/%s.pot (re-export it with --i18n-export):" % MODULE
            )
            problems += [f"  {m!r} ({extracted[m]})" for m in missing]
        for lang, po in self.po.items():
            translated = {entry.msgid for entry in po if _translated(entry)}
            untranslated = sorted(set(extracted) - translated)
            if untranslated:
                problems.append(
                    "not translated (empty or fuzzy) in i18n/%s.po:" % LANGS[lang]
                )
                problems += [f"  {m!r} ({extracted[m]})" for m in untranslated]
        self.assertFalse(problems, "Messages of the module:\n" + "\n".join(problems))

    def test_po_files_keep_placeholders_and_headers(self):
        for lang, po in self.po.items():
            code = LANGS[lang]
            self.assertEqual(po.metadata.get("Language"), code)
            self.assertIn("charset=UTF-8", po.metadata.get("Content-Type", ""))
            self.assertIn("nplurals=2", po.metadata.get("Plural-Forms", ""))
            for entry in po:
                if not entry.msgstr:
                    continue
                with self.subTest(lang=lang, msgid=entry.msgid):
                    self.assertEqual(
                        sorted(PLACEHOLDER.findall(entry.msgstr)),
                        sorted(PLACEHOLDER.findall(entry.msgid)),
                    )
                    self.assertEqual(
                        sorted(ELEMENT.findall(entry.msgstr)),
                        sorted(ELEMENT.findall(entry.msgid)),
                    )
                    # dial codes are said as typed
                    self.assertEqual(entry.msgstr.count("*"), entry.msgid.count("*"))
                    self.assertEqual(entry.msgstr.count("#"), entry.msgid.count("#"))

    # (b) once loaded, Odoo speaks French and Italian
    # ---------------------------------------

    def test_field_labels_and_selection_values(self):
        for lang in LANGS:
            with self.subTest(lang=lang):
                Queue = self.env["axivox.queue"].with_context(lang=lang)
                fields = Queue.fields_get(
                    ["strategy", "extension", "login_code"], ["string", "selection"]
                )
                self.assertEqual(
                    fields["strategy"]["string"], self.tr(lang, "Strategy")
                )
                self.assertEqual(
                    fields["extension"]["string"], self.tr(lang, "Internal Extension")
                )
                self.assertEqual(
                    fields["login_code"]["string"],
                    self.tr(lang, "Agent Connection Code"),
                )
                self.assertEqual(
                    dict(fields["strategy"]["selection"])["ringall"],
                    self.tr(lang, "Call all available agents"),
                )
                # the event types of the queue report (data records)
                abandon = self.env.ref(f"{MODULE}.event_type_abandon").with_context(
                    lang=lang
                )
                self.assertEqual(abandon.name, self.tr(lang, "The caller quit"))

    def test_menus_and_views(self):
        for lang in LANGS:
            with self.subTest(lang=lang):
                root = self.env.ref(f"{MODULE}.menu_call_queues_root").with_context(
                    lang=lang
                )
                self.assertEqual(root.name, self.tr(lang, "Call Queues"))
                report = self.env.ref(f"{MODULE}.menu_call_queues_report").with_context(
                    lang=lang
                )
                self.assertEqual(report.name, self.tr(lang, "Queue Report"))
                arch = (
                    self.env["axivox.queue"]
                    .with_context(lang=lang)
                    .get_views([(False, "form")])["views"]["form"]["arch"]
                )
                self.assertIn(self.tr(lang, "Apply changes"), arch)

    def test_python_messages(self):
        for lang in LANGS:
            with self.subTest(lang=lang):
                Wizard = self.env["axivox.queue.report.wizard"].with_context(lang=lang)
                expected = self.tr(lang, "The report period must start before it ends.")
                with self.assertRaises(UserError) as caught:
                    Wizard.create(
                        {
                            "date_from": "2024-02-01 00:00:00",
                            "date_to": "2024-01-01 00:00:00",
                        }
                    )
                self.assertEqual(caught.exception.args[0], expected)
                # with a placeholder
                queue = (
                    self.env["axivox.queue"]
                    .with_context(lang=lang)
                    .new({"name": "Sales"})
                )
                self.assertEqual(
                    queue.action_open_connected()["name"],
                    self.tr(lang, "Agents of %s") % "Sales",
                )

    def test_webclient_translations(self):
        for lang in LANGS:
            with self.subTest(lang=lang):
                translations, lang_params = self.env[
                    "ir.http"
                ].get_translations_for_webclient([MODULE], lang)
                self.assertEqual(lang_params["code"], lang)
                messages = {
                    m["id"]: m["string"] for m in translations[MODULE]["messages"]
                }
                for msgid in (
                    "Fold the softphone",  # softphone_panel.js _t()
                    "Softphone: connected to %s queues",  # systray item _t()
                    "Disconnect from all my queues",  # queue_list.xml template
                    "Number to call",
                ):  # dial_pad.xml aria-label
                    self.assertEqual(messages.get(msgid), self.tr(lang, msgid), msgid)
                # Python-only messages stay on the server.
                self.assertNotIn("Changes applied to the PBX.", messages)
