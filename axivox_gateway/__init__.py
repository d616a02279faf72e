"""The gateway between an Axivox / Asterisk PBX and the addon (runs outside Odoo)."""
