"""11. The Italian and French words of the Axivox page and of Odoo itself.

The glossary comes from Odoo's own translations (``odoo/addons/*/i18n/it.po`` and
``fr.po`` of Odoo 17: "Report" is *Rendiconto*, "Refresh" *Ricarica*, "Apply" *Applica*
/ *Appliquer*, "Delete" *Elimina* / *Supprimer*, "Export" *Esporta* / *Exporter*...) and
from the Axivox page our users know (its Italian edition titles the queue report
*Rendiconto*). In Italian telephony *in linea* means "on a call": an agent logged into a
queue is *connesso / connessa*; in French *connecté(e)*, never *en ligne*.
"""
import os
import re

import polib

from odoo.modules.module import get_module_path
from odoo.tests import TransactionCase, tagged

MODULE = "voip_axivox_queue"

# Exact messages: msgid -> the translation Odoo itself uses.
GLOSSARY = {
    "it": {
        "Report": "Rendiconto",
        "Reporting": "Rendiconto",
        "Refresh": "Ricarica",
        "Apply": "Applica",
        "Delete": "Elimina",
        "Period": "Periodo",
        "Export to CSV": "Esporta in CSV",
        "Phone": "Telefono",
    },
    "fr": {
        "Report": "Rapport",
        "Reporting": "Analyse",
        "Refresh": "Actualiser",
        "Apply": "Appliquer",
        "Delete": "Supprimer",
        "Period": "Période",
        "Export to CSV": "Exporter en CSV",
        "Phone": "Téléphone",
    },
}
# Words: (pattern in the English message, required pattern, forbidden pattern).
CONNECTED = re.compile(r"(?<![a-z])connected\b", re.I)
WORDS = {
    "it": [
        # (a call that connects a caller to an agent: "in comunicazione" / "en
        # relation")
        (
            CONNECTED,
            re.compile(r"conness[oaie]|connett|comunicazione", re.I),
            re.compile(r"in linea", re.I),
        ),
        (
            re.compile(r"\breport\b", re.I),
            re.compile(r"rendicont", re.I),
            re.compile(r"\breport\b", re.I),
        ),
    ],
    "fr": [
        (
            CONNECTED,
            re.compile(r"connect[ée]|relation", re.I),
            re.compile(r"en ligne", re.I),
        ),
        (re.compile(r"\breport\b", re.I), re.compile(r"rapport", re.I), None),
    ],
}


# One word per concept, in every message of the catalogue (no sample): the Axivox page's
# word where it has one (coda / file, agente / agent, connesso / connecté, Rendiconto,
# Strategia), Odoo's own otherwise (centralino in Italian, PBX in French; interno /
# poste for an extension).
# TERMS: (pattern of the English message, pattern its translation must then contain).
TERMS = {
    "it": [
        (r"\bagents?\b", r"agent[ei]"),
        (r"\bqueues?\b", r"\bcod[ae]\b"),
        (r"\bPBX\b", r"centralin[oi]"),
        (r"\bstrateg(y|ies)\b", r"strategi[ae]"),
        (r"\bextensions?\b", r"\bintern[oi]\b"),
    ],
    "fr": [
        (r"\bagents?\b", r"\bagents?\b"),
        (r"\bqueues?\b", r"\bfiles?\b"),
        (r"\bPBX\b", r"\bPBX\b"),
        (r"\bstrateg(y|ies)\b", r"stratégie"),
        (r"\bextensions?\b", r"\bpostes?\b"),
    ],
}
# BANNED: synonyms no translation may use (case-insensitive but for "PBX"), with the
# word to use instead.
BANNED = {
    "it": [
        (r"\boperator[ei]\b|\boperatric[ei]\b", "agente"),
        (r"(?-i:\bPBX\b)", "centralino"),
        (r"\bin linea\b", "connesso"),
        (r"\breport\b", "Rendiconto"),
        (r"\bmembr[oi]\b", "agente"),
        (r"\bestension[ei]\b", "interno"),
        (r"\bcollegat[oaie]\b", "connesso"),
        (r"\bpolitica\b", "strategia"),
    ],
    "fr": [
        (r"\bopérat(eur|rice)s?\b", "agent"),
        (r"\bstandard\b|\bIPBX\b|\bautocommutateur", "PBX"),
        (r"\ben ligne\b", "connecté"),
        (r"\bextensions?\b", "poste"),
        (r"\bmembres?\b", "agent"),
        (r"\bqueues?\b", "file"),
    ],
}
# Placeholders (%(queue)s, %s) and addresses are not words.
NOT_WORDS = re.compile(r"%\([a-z_]+\)[sd]|%[sd]|https?://\S+|\bqueue_log\b")


@tagged("post_install", "-at_install")
class TestGlossary(TransactionCase):
    def _catalogue(self, lang):
        path = os.path.join(get_module_path(MODULE), "i18n", f"{lang}.po")
        return [e for e in polib.pofile(path) if not e.obsolete and e.msgid]

    def test_glossary_terms(self):
        for lang, terms in GLOSSARY.items():
            entries = {e.msgid: e.msgstr for e in self._catalogue(lang)}
            for msgid, expected in terms.items():
                with self.subTest(lang=lang, msgid=msgid):
                    if msgid in entries:
                        self.assertEqual(entries[msgid], expected)
            self.assertGreaterEqual(
                len(set(terms) & set(entries)),
                5,
                "the glossary's terms are used by the addon",
            )

    def test_connected_and_report(self):
        for lang, rules in WORDS.items():
            for entry in self._catalogue(lang):
                for english, required, forbidden in rules:
                    if not english.search(entry.msgid):
                        continue
                    with self.subTest(lang=lang, msgid=entry.msgid):
                        self.assertRegex(entry.msgstr, required)
                        if forbidden:
                            self.assertNotRegex(entry.msgstr, forbidden)

    def test_one_word_per_concept(self):
        """Every message of it.po and fr.po: the concept's word is there, no banned
        synonym is."""
        for lang in ("it", "fr"):
            entries = self._catalogue(lang)
            self.assertGreater(len(entries), 300, "the whole catalogue is checked")
            for entry in entries:
                english = NOT_WORDS.sub(" ", entry.msgid)
                translated = NOT_WORDS.sub(" ", entry.msgstr)
                with self.subTest(lang=lang, msgid=entry.msgid):
                    for pattern, word in BANNED[lang]:
                        self.assertNotRegex(
                            translated,
                            re.compile(pattern, re.I),
                            f"say {word!r}",
                        )
                    for concept, required in TERMS[lang]:
                        if re.search(concept, english, re.I):
                            self.assertRegex(translated, re.compile(required, re.I))

    def test_the_words_reach_the_user(self):
        """Loaded in the database, the softphone's and the console's key words are the
        glossary's."""
        self.env["res.lang"]._activate_lang("it_IT")
        self.env["ir.module.module"]._load_module_terms(
            [MODULE], ["it_IT"], overwrite=True
        )
        Queue = self.env["axivox.queue"].with_context(lang="it_IT")
        selection = dict(Queue._fields["pbx_state"]._description_selection(Queue.env))
        self.assertEqual(selection["pending"], "Modifiche da applicare")
        menu = self.env.ref("voip_axivox_queue.menu_call_queues_report").with_context(
            lang="it_IT"
        )
        self.assertIn("Rendiconto", menu.name)
